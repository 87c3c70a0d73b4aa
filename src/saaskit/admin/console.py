# SQLAdmin views are configured by class attributes (lists, dicts): its declarative API.
# ruff: noqa: RUF012
"""The console on SQLAdmin: its login, its views, its actions, its audit trail.

SQLAdmin gives the list, search, filter and detail pages of any SQLAlchemy model, its
own login hook and page layout. What it does not do, done here:

- **Who**: the login takes the kit's credentials (the password through the kit's user
  service, rate limited like ``POST /auth/login``, a second factor when the host gives
  one) and admits active superusers only; every request re-reads the user, so a
  superuser demoted or deactivated is out at their next click. The console's session is
  its own cookie (``saaskit_admin``, ``SameSite=Strict``, its path only), separate from
  the API's tokens.
- **CSRF**: see :mod:`saaskit.admin.security` (SQLAdmin has no protection of its own).
- **Changes go through the kit's services**: the model views are read-only (editing a
  user row directly would skip the cache, the session revocation and the hooks); the
  console's changes are its own POST forms (deactivate, verify, impersonate, reset 2FA,
  replay a webhook event), each calling the service that audits it with the superuser as
  the actor. A host that adds writable views of its own gets them audited too
  (:class:`KitAuditBackend`, SQLAdmin's audit hook).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from markupsafe import Markup, escape
from sqladmin import Admin, BaseView, ModelView, expose
from sqladmin.audit import AuditBackend, AuditEntry
from sqladmin.authentication import AuthenticationBackend
from sqladmin.filters import AllUniqueStringValuesFilter, OperationColumnFilter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from saaskit.admin.charts import bar_chart
from saaskit.admin.security import CSRF_FIELD, OriginCheckMiddleware, check_csrf, csrf_token
from saaskit.admin.stats import activity, user_picture
from saaskit.db.mixins import normalize_email
from saaskit.exceptions import InvalidCredentials, RateLimited, SaaSKitError
from saaskit.ratelimit import RateLimitRule
from saaskit.signing_key import signing_key
from saaskit.store.keys import user_tag

__all__ = ["ADMIN_ACTIONS", "ConsoleAuth", "KitAuditBackend", "build_console"]

logger = logging.getLogger("saaskit.admin")

TEMPLATES = Path(__file__).parent / "templates"
COOKIE = "saaskit_admin"
ADMIN_ACTIONS = ("admin_login", "admin_logout", "admin_record_changed", "webhook_replayed")
"""The console's own audit actions (its changes are audited by the services they call)."""


class ConsoleAuth(AuthenticationBackend):
    """The console's login: the kit's credentials, superusers only, a second factor."""

    def __init__(
        self,
        kit: Any,
        *,
        path: str,
        session_minutes: int,
        second_factor: Any | None,
    ) -> None:
        # A key of its own for the console's cookie, derived from the kit's signing key.
        super().__init__(
            secret_key=f"{signing_key(kit.settings)}:admin-console",
            session_cookie=COOKIE,
            max_age=session_minutes * 60,
            path=path,
            same_site="strict",
            https_only=bool(kit.settings.is_production),
        )
        self.kit = kit
        self.lifetime = session_minutes * 60
        self.second_factor = second_factor

    async def login(self, request: Request) -> bool:
        """Check the form: CSRF token, password, superuser, second factor; audited."""
        form = await request.form()
        client = self.kit.client_info(request)
        if not check_csrf(request.session, form.get(CSRF_FIELD)):
            return False
        email = str(form.get("username") or "").strip()[:320]
        password = str(form.get("password") or "")[:4096]
        code = str(form.get("code") or "").strip()[:64]
        account = normalize_email(email)
        try:
            await self.kit.limiter.hit(RateLimitRule.LOGIN_ACCOUNT, account)
            await self.kit.limiter.hit(RateLimitRule.LOGIN_IP, client.ip)
            user = await self.kit.users.authenticate(account, password)
        except (InvalidCredentials, RateLimited) as error:
            await self._failed(client, email, type(error).__name__)
            return False
        if not (user.is_active and user.is_superuser):
            await self._failed(client, email, "not_superuser", user.id)
            return False
        second = self.second_factor
        if (
            second is not None
            and await second.required(user)
            and not (code and await second.verify(user, code))
        ):
            await self._failed(client, email, "second_factor", user.id)
            return False
        await self.kit.limiter.reset(RateLimitRule.LOGIN_ACCOUNT, account)
        request.session.clear()  # a new session: no fixation, a fresh CSRF token
        sid = secrets.token_hex(16)
        # The cookie is signed, not stored: this record is what logout deletes, so a copy
        # of the cookie taken before the logout stops working with it.
        await self.kit.store.put(_session_key(user.id, sid), b"1", ttl=self.lifetime)
        request.session.update({"uid": user.id, "at": int(time.time()), "sid": sid})
        csrf_token(request.session)
        await self.kit.audit.record(
            "admin_login", actor_id=user.id, target_id=user.id, client=client
        )
        return True

    async def _failed(
        self, client: Any, email: str, reason: str, user_id: int | None = None
    ) -> None:
        await self.kit.audit.record(
            "admin_login",
            outcome="failure",
            actor_id=user_id,
            target_id=user_id,
            client=client,
            detail={"email": email.lower(), "reason": reason},
        )

    async def logout(self, request: Request) -> bool:
        """End the console session (audited)."""
        uid, sid = request.session.get("uid"), request.session.get("sid")
        request.session.clear()
        if isinstance(uid, int) and isinstance(sid, str):
            await self.kit.store.delete(_session_key(uid, sid))
        if isinstance(uid, int):
            await self.kit.audit.record(
                "admin_logout", actor_id=uid, target_id=uid, client=self.kit.client_info(request)
            )
        return False  # to the login page

    async def authenticate(self, request: Request) -> bool:
        """An active superuser's session, younger than the console's session lifetime."""
        uid, at = request.session.get("uid"), request.session.get("at")
        sid = request.session.get("sid")
        if not isinstance(uid, int) or not isinstance(at, int) or not isinstance(sid, str):
            return False
        if at + self.lifetime < time.time() or not await self.kit.store.get(_session_key(uid, sid)):
            request.session.clear()
            return False
        user = await self.kit.users.get(uid)
        if user is None or not user.is_active or not user.is_superuser:
            request.session.clear()
            return False
        request.state.admin_user = user
        return True

    async def get_user_id(self, request: Request) -> Any:
        """The superuser's id (SQLAdmin's audit and authorization hooks read it)."""
        return request.session.get("uid")


class KitAuditBackend(AuditBackend):
    """SQLAdmin's audit hook writing to the kit's audit log (a host's writable views)."""

    def __init__(self, kit: Any) -> None:
        self.kit = kit

    async def log(self, entry: AuditEntry, request: Request) -> None:
        """One ``admin_record_changed`` event: which record, which fields (no values)."""
        await self.kit.audit.record(
            "admin_record_changed",
            actor_id=request.session.get("uid"),
            client=self.kit.client_info(request),
            detail={
                "action": entry.action,
                "view": entry.identity,
                "pk": entry.pk,
                "fields": sorted(entry.changes or ()),
            },
        )


def _session_key(user_id: int, sid: str) -> str:
    """The store key of a live console session (in the user's hash slot)."""
    return f"{user_tag(user_id)}:admin:{sid}"


def _admin(request: Request) -> Any:
    return request.state.admin_user


def _utc(value: Any) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M}"


def _link(url: str, text: object) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url, text)


def _read_only(view: type[ModelView]) -> None:
    view.can_create = view.can_edit = view.can_delete = False
    view.can_export = False
    view.page_size = 25


def build_console(
    kit: Any,
    app: Starlette,
    *,
    path: str,
    title: str,
    session_minutes: int,
    allowed_origins: Sequence[str],
    second_factor: Any | None,
) -> Admin:
    """The :class:`sqladmin.Admin` of ``kit`` on ``app`` (see :func:`saaskit.admin.mount_admin`)."""
    auth = ConsoleAuth(kit, path=path, session_minutes=session_minutes, second_factor=second_factor)
    admin = Admin(
        app,
        session_maker=kit.session_factory,
        base_url=path,
        title=title,
        templates_dir=str(TEMPLATES),
        authentication_backend=auth,
        audit_backend=KitAuditBackend(kit),
        middlewares=[Middleware(OriginCheckMiddleware, allowed_origins=allowed_origins)],
    )
    admin.templates.env.globals["csrf_token"] = lambda request: csrf_token(request.session)
    admin.templates.env.globals["csrf_field"] = CSRF_FIELD
    admin.templates.env.globals["second_factor"] = second_factor is not None
    admin.templates.env.filters["epoch"] = lambda value: _utc(
        datetime.fromtimestamp(int(value), UTC)
    )
    for view in _views(kit, second_factor, path.rstrip("/")):
        admin.add_view(view)
    return admin


async def _form(request: Request) -> dict[str, str] | None:
    """The POSTed form if its CSRF token is the session's, else None."""
    form = await request.form()
    if not check_csrf(request.session, form.get(CSRF_FIELD)):
        return None
    return {key: str(value) for key, value in form.items()}


def _refused() -> Response:
    return Response("CSRF token missing or wrong.", status_code=403, media_type="text/plain")


def _views(kit: Any, second_factor: Any | None, base: str) -> list[type[Any]]:
    user_model = kit.user_model
    models = kit.models
    tables = models.tables
    impersonation = kit.features.built("impersonation") if "impersonation" in kit.features else None

    class UserAdmin(ModelView, model=user_model):
        name, name_plural, icon = "User", "Users", "fa-solid fa-user"
        column_list = [
            user_model.id,
            user_model.email,
            user_model.full_name,
            user_model.is_active,
            user_model.is_verified,
            user_model.is_superuser,
            user_model.created_at,
        ]
        column_details_exclude_list = [user_model.hashed_password]
        column_searchable_list = [user_model.email, user_model.full_name]
        column_sortable_list = [user_model.id, user_model.email, user_model.created_at]
        column_default_sort = (user_model.id, True)
        column_filters = [
            OperationColumnFilter(user_model.is_active),
            OperationColumnFilter(user_model.is_superuser),
        ]
        column_formatters = {
            user_model.email: lambda m, a: _link(f"{base}/user/{m.id}/profile", m.email),
        }

        async def _page(self, request: Request, template: str, **context: Any) -> Response:
            return await self.templates.TemplateResponse(request, template, context)

        @expose("/{pk:int}/profile", methods=["GET"])
        async def profile(self, request: Request) -> Response:
            picture = await user_picture(kit, int(request.path_params["pk"]))
            if picture is None:
                return Response("No such user.", status_code=404, media_type="text/plain")
            chart = bar_chart(
                f"AI tokens per day and model, the last {len(picture.ai_days)} days",
                picture.ai_days,
                picture.ai_daily or {"no usage": [0] * len(picture.ai_days)},
                chart_id="ai-daily",
            )
            return await self._page(
                request,
                "saaskit_admin/user.html",
                ai_chart=Markup(chart),  # noqa: S704 - bar_chart escapes every label
                title=picture.user.email,
                subtitle="User",
                p=picture,
                utc=_utc,
                can_impersonate=impersonation is not None,
                can_reset_2fa=hasattr(second_factor, "reset"),
                message=request.query_params.get("done"),
            )

        async def _change(self, request: Request, changes: dict[str, Any], done: str) -> Response:
            if await _form(request) is None:
                return _refused()
            pk = int(request.path_params["pk"])
            try:
                await kit.users.update(
                    pk, changes, actor_id=_admin(request).id, client=kit.client_info(request)
                )
            except SaaSKitError as error:
                return Response(error.message, status_code=400, media_type="text/plain")
            return RedirectResponse(f"{base}/user/{pk}/profile?done={done}", status_code=303)

        @expose("/{pk:int}/deactivate", methods=["POST"])
        async def deactivate(self, request: Request) -> Response:
            return await self._change(request, {"is_active": False}, "deactivated")

        @expose("/{pk:int}/activate", methods=["POST"])
        async def activate(self, request: Request) -> Response:
            return await self._change(request, {"is_active": True}, "activated")

        @expose("/{pk:int}/verify", methods=["POST"])
        async def verify(self, request: Request) -> Response:
            return await self._change(request, {"is_verified": True}, "verified")

        @expose("/{pk:int}/reset-2fa", methods=["POST"])
        async def reset_2fa(self, request: Request) -> Response:
            if await _form(request) is None:
                return _refused()
            if not hasattr(second_factor, "reset"):
                return Response("No second factor configured.", status_code=404)
            pk = int(request.path_params["pk"])
            await cast(Any, second_factor).reset(
                pk, actor_id=_admin(request).id, client=kit.client_info(request)
            )
            await kit.audit.record(
                "second_factor_reset",
                actor_id=_admin(request).id,
                target_id=pk,
                client=kit.client_info(request),
            )
            return RedirectResponse(f"{base}/user/{pk}/profile?done=2fa-reset", status_code=303)

        @expose("/{pk:int}/impersonate", methods=["POST"])
        async def impersonate(self, request: Request) -> Response:
            form = await _form(request)
            if form is None:
                return _refused()
            if impersonation is None:
                return Response("Impersonation is off.", status_code=404)
            pk = int(request.path_params["pk"])
            reason = form.get("reason", "").strip()
            if not 3 <= len(reason) <= 500:
                return Response(
                    "A reason (3 to 500 characters) is required.",
                    status_code=400,
                    media_type="text/plain",
                )
            try:
                started = await impersonation.start(
                    _admin(request), pk, reason, client=kit.client_info(request)
                )
            except SaaSKitError as error:
                return Response(error.message, status_code=403, media_type="text/plain")
            response = await self._page(
                request,
                "saaskit_admin/impersonation.html",
                title="Impersonation",
                subtitle=f"Acting as user {pk}",
                started=started,
                pk=pk,
            )
            response.headers["Cache-Control"] = "no-store"
            return response

        @expose("/{pk:int}/end-impersonation", methods=["POST"])
        async def end_impersonation(self, request: Request) -> Response:
            form = await _form(request)
            if form is None:
                return _refused()
            if impersonation is None:
                return Response("Impersonation is off.", status_code=404)
            pk = int(request.path_params["pk"])
            try:
                await impersonation.end(
                    form.get("session_id", ""),
                    pk,
                    by=_admin(request).id,
                    client=kit.client_info(request),
                )
            except SaaSKitError as error:
                return Response(error.message, status_code=400, media_type="text/plain")
            return RedirectResponse(
                f"{base}/user/{pk}/profile?done=impersonation-ended", status_code=303
            )

    views: list[type[Any]] = [UserAdmin]

    if "organization" in tables:
        org = tables["organization"]

        class OrganizationAdmin(ModelView, model=org):
            name, name_plural, icon = "Organization", "Organizations", "fa-solid fa-building"
            column_list = [org.id, org.name, org.slug, org.created_at]
            column_searchable_list = [org.name, org.slug]
            column_default_sort = (org.id, True)

        views.append(OrganizationAdmin)

    sub = models.subscription

    class SubscriptionAdmin(ModelView, model=sub):
        name, name_plural, icon = "Subscription", "Subscriptions", "fa-solid fa-credit-card"
        column_list = [
            sub.id,
            sub.owner_kind,
            sub.owner_id,
            sub.plan,
            sub.status,
            sub.quantity,
            sub.current_period_end,
            sub.cancel_at_period_end,
            sub.stripe_subscription_id,
        ]
        column_searchable_list = [sub.stripe_subscription_id, sub.stripe_customer_id, sub.plan]
        column_filters = [AllUniqueStringValuesFilter(sub.status)]
        column_default_sort = (sub.id, True)

    event = models.webhook_event

    class WebhookEventAdmin(ModelView, model=event):
        name, name_plural, icon = "Webhook event", "Webhook events", "fa-solid fa-bolt"
        column_list = [
            event.id,
            event.stripe_event_id,
            event.type,
            event.status,
            event.attempts,
            event.last_error,
            event.created_at,
            event.processed_at,
        ]
        column_searchable_list = [event.stripe_event_id, event.type]
        column_filters = [AllUniqueStringValuesFilter(event.status)]
        column_default_sort = (event.id, True)
        column_formatters = {
            event.status: lambda m, a: (
                _link(f"{base}/webhook-event/{m.id}/replay", Markup("failed &middot; replay"))
                if m.status == "failed"
                else m.status
            ),
        }

        @expose("/{pk:int}/replay", methods=["GET", "POST"])
        async def replay(self, request: Request) -> Response:
            from sqlalchemy import select

            pk = int(request.path_params["pk"])
            async with kit.session_factory() as db:
                row = await db.scalar(select(event).where(event.id == pk))
            if row is None:
                return Response("No such event.", status_code=404, media_type="text/plain")
            outcome = None
            if request.method == "POST":
                if await _form(request) is None:
                    return _refused()
                billing = kit.features.built("billing")
                if billing is None:
                    outcome = "Billing is not enabled."
                elif row.status != "failed":
                    outcome = f"Only failed events are replayed (this one is {row.status})."
                else:
                    try:
                        done = await billing.webhooks.process(row.stripe_event_id)
                        outcome = "Processed." if done else "Not processed (done elsewhere)."
                        result = "success"
                    except Exception as error:  # recorded on the row by the processor
                        outcome = f"Failed again: {type(error).__name__}."
                        result = "failure"
                    await kit.audit.record(
                        "webhook_replayed",
                        outcome=result,
                        actor_id=_admin(request).id,
                        client=kit.client_info(request),
                        detail={"event_id": row.stripe_event_id, "type": row.type},
                    )
                    async with kit.session_factory() as db:
                        row = await db.scalar(select(event).where(event.id == pk))
            return await self.templates.TemplateResponse(
                request,
                "saaskit_admin/replay.html",
                {
                    "title": f"Webhook event {row.stripe_event_id}",
                    "subtitle": row.type,
                    "row": row,
                    "outcome": outcome,
                    "utc": _utc,
                },
            )

    audit = models.audit_event

    class AuditAdmin(ModelView, model=audit):
        name, name_plural, icon = "Audit event", "Audit log", "fa-solid fa-list"
        column_list = [
            audit.id,
            audit.created_at,
            audit.action,
            audit.outcome,
            audit.actor_id,
            audit.target_id,
            audit.impersonator_id,
            audit.ip,
            audit.detail,
        ]
        column_searchable_list = [audit.action]
        column_filters = [
            AllUniqueStringValuesFilter(audit.action),
            AllUniqueStringValuesFilter(audit.outcome),
            OperationColumnFilter(audit.actor_id),
            OperationColumnFilter(audit.target_id),
            OperationColumnFilter(audit.impersonator_id),
        ]
        column_default_sort = (audit.id, True)
        column_formatters = {
            audit.detail: lambda m, a: escape(str(m.detail))[:160] if m.detail else "",
        }

    usage = models.ai_usage

    class AIUsageAdmin(ModelView, model=usage):
        name, name_plural, icon = "AI usage", "AI usage", "fa-solid fa-robot"
        column_list = [
            usage.month,
            usage.model,
            usage.owner_kind,
            usage.owner_id,
            usage.user_id,
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.requests,
        ]
        column_searchable_list = [usage.model, usage.month]
        column_default_sort = (usage.month, True)

    daily = tables["ai_daily_usage"]

    class AIDailyUsageAdmin(ModelView, model=daily):
        name, name_plural, icon = "AI usage per day", "AI usage per day", "fa-solid fa-robot"
        column_list = [
            daily.day,
            daily.model,
            daily.owner_kind,
            daily.owner_id,
            daily.user_id,
            daily.prompt_tokens,
            daily.completion_tokens,
            daily.requests,
        ]
        column_searchable_list = [daily.model, daily.day]
        column_default_sort = (daily.day, True)

    class ActivityView(BaseView):
        name, icon = "Activity", "fa-solid fa-chart-column"

        @expose("/activity", methods=["GET"], identity="activity")
        async def activity_page(self, request: Request) -> Response:
            try:
                days = min(max(int(request.query_params.get("days", "30")), 7), 90)
            except ValueError:
                days = 30
            data = await activity(kit, days=days)
            charts = [
                bar_chart(
                    "Signups per day", data.days, {"signups": data.signups}, chart_id="signups"
                ),
                bar_chart(
                    "Logins per day",
                    data.days,
                    {"logins": data.logins, "failed logins": data.failed_logins},
                    chart_id="logins",
                ),
                bar_chart(
                    "AI tokens per day and model",
                    data.days,
                    data.ai_tokens or {"no usage": [0] * len(data.days)},
                    chart_id="ai-usage",
                ),
            ]
            return await self.templates.TemplateResponse(
                request,
                "saaskit_admin/activity.html",
                {
                    "title": "Activity",
                    "subtitle": f"The last {days} days",
                    "charts": [Markup(chart) for chart in charts],  # noqa: S704 - escaped
                    "data": data,
                },
            )

    # Fixed URLs (SQLAdmin derives them from the model's class name, the host's own for
    # the users): /admin/user/..., /admin/audit/...
    named: list[tuple[type[Any], str]] = [
        (UserAdmin, "user"),
        (SubscriptionAdmin, "subscription"),
        (WebhookEventAdmin, "webhook-event"),
        (AuditAdmin, "audit"),
        (AIUsageAdmin, "ai-usage"),
        (AIDailyUsageAdmin, "ai-daily-usage"),
    ]
    if "organization" in tables:
        named.append((OrganizationAdmin, "organization"))
    for view, identity in named:
        view.identity = identity
        _read_only(view)
    views += [
        SubscriptionAdmin,
        WebhookEventAdmin,
        AuditAdmin,
        AIUsageAdmin,
        AIDailyUsageAdmin,
        ActivityView,
    ]
    return views
