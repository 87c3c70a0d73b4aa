"""The :class:`SaaSKit` facade.

One object that wires settings, database, store, services, dependencies and routers
for a host FastAPI app.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from saaskit.ai.meters import FLUSH_METERS, FlushMeters, MeterReporter, MeterSink
from saaskit.ai.models import AIMeterOutboxMixin
from saaskit.ai.quotas import OwnerQuotaResolver, QuotaResolver
from saaskit.ai.wiring import AIFeature
from saaskit.apikeys.service import ApiKeyService
from saaskit.apikeys.wiring import ApiKeysFeature
from saaskit.audit.service import AuditLog
from saaskit.audit.wiring import AuditFeature
from saaskit.auth.client import ClientResolver
from saaskit.auth.credentials import Authenticator
from saaskit.auth.dependencies import AuthDependencies, Authenticate
from saaskit.auth.passwords import PasswordHasher, PwdlibHasher
from saaskit.auth.ratelimit import RateLimiter
from saaskit.auth.recovery import AccountRecovery
from saaskit.auth.service import AuthService
from saaskit.auth.wiring import AuthParts, build_auth
from saaskit.billing.gateway import BillingGateway
from saaskit.billing.gating import PlanDependency, PlanGates
from saaskit.billing.plans import PlanCatalog
from saaskit.billing.wiring import BillingFeature
from saaskit.cache import ResponseCache
from saaskit.db.engine import create_engine, create_read_router, create_session_factory
from saaskit.email import EmailRenderer, EmailSender, Mailer, create_sender
from saaskit.env_names import warn_unknown_variables as warn_unknown_variables
from saaskit.features import DataEraser, DataExporter, Feature, FeatureRegistry
from saaskit.health import HealthFeature
from saaskit.hooks import Hooks
from saaskit.impersonation.wiring import ImpersonationFeature
from saaskit.mfa.service import MfaService
from saaskit.mfa.wiring import MfaFeature
from saaskit.models import User as DefaultUser
from saaskit.models import tables as default_tables
from saaskit.oauth.service import OAuthService
from saaskit.oauth.wiring import OAuthFeature
from saaskit.observability.metrics import (
    NULL_RECORDER,
    PrometheusRecorder,
    Recorder,
    enable_metrics,
    recorder,
)
from saaskit.orgs.dependencies import OptionalOrgDependency, OrgDependencies, OrgDependency
from saaskit.orgs.service import OrgService
from saaskit.orgs.wiring import OrgsFeature
from saaskit.passkeys.wiring import PasskeysFeature
from saaskit.privacy.wiring import PrivacyFeature
from saaskit.settings import SaaSKitSettings
from saaskit.store import Store, create_store
from saaskit.tables import KitModels, declare_feature_tables, models_for
from saaskit.tasks.definitions import email_tasks
from saaskit.tasks.runner import InProcessRunner, TaskRunner, TransientError
from saaskit.types import UserT
from saaskit.users.schemas import UserCreate, UserRead, UserUpdate
from saaskit.users.service import UserService

if TYPE_CHECKING:
    from saaskit.ai.service import AIService
    from saaskit.billing.service import BillingService

logger = logging.getLogger("saaskit")
ServiceT = TypeVar("ServiceT")


class SaaSKit(Generic[UserT]):
    """Auth, users and more for a FastAPI app, configured by one settings object.

    Example:
        ```python
        from fastapi import Depends, FastAPI
        from saaskit import SaaSKit, SaaSKitSettings
        from saaskit.models import User

        kit = SaaSKit(SaaSKitSettings())
        app = FastAPI(lifespan=kit.lifespan)
        kit.install(app)

        @app.get("/hello")
        async def hello(user: User = Depends(kit.current_active_user)) -> dict[str, str]:
            return {"hello": user.email}
        ```

    Args:
        settings: the configuration (default: read from ``SAASKIT_*`` / ``.env``).
        user_model: the host's user model built on :class:`~saaskit.db.UserMixin`
            (default: :class:`saaskit.models.User`).
        user_read_schema: response model for users (add the host's own columns).
        user_create_schema: registration body (add the host's own columns).
        user_update_schema: ``PATCH /users/me`` body.
        models: saaskit's tables on the host metadata, from
            :func:`saaskit.db.build_models` (default: built on the user model's base).
        store: shared-state backend (default: Redis if ``redis_url`` is set, else memory).
        password_hasher: hashing strategy (default: pwdlib bcrypt from settings).
        email_sender: where emails go (default: SMTP if configured, else the log).
        task_runner: background work (default: ``settings.tasks.backend``: in-process,
            or Celery for ``saaskit worker`` processes).
        ai_quotas: each user's monthly AI tokens (default: the billing plan's
            ``ai_tokens`` quota, else ``settings.ai.default_monthly_tokens``).
        billing_gateway: the payment provider (default: Stripe, when billing is enabled).
    """

    @overload
    def __init__(
        self: SaaSKit[DefaultUser],
        settings: SaaSKitSettings | None = None,
        *,
        user_model: None = None,
        user_read_schema: type[BaseModel] = UserRead,
        user_create_schema: type[UserCreate] = UserCreate,
        user_update_schema: type[UserUpdate] = UserUpdate,
        models: KitModels | None = None,
        store: Store | None = None,
        password_hasher: PasswordHasher | None = None,
        email_sender: EmailSender | None = None,
        task_runner: TaskRunner | None = None,
        ai_quotas: QuotaResolver | OwnerQuotaResolver | None = None,
        billing_gateway: BillingGateway | None = None,
        features: Sequence[Feature[Any]] = (),
    ) -> None: ...

    @overload
    def __init__(
        self,
        settings: SaaSKitSettings | None = None,
        *,
        user_model: type[UserT],
        user_read_schema: type[BaseModel] = UserRead,
        user_create_schema: type[UserCreate] = UserCreate,
        user_update_schema: type[UserUpdate] = UserUpdate,
        models: KitModels | None = None,
        store: Store | None = None,
        password_hasher: PasswordHasher | None = None,
        email_sender: EmailSender | None = None,
        task_runner: TaskRunner | None = None,
        ai_quotas: QuotaResolver | OwnerQuotaResolver | None = None,
        billing_gateway: BillingGateway | None = None,
        features: Sequence[Feature[Any]] = (),
    ) -> None: ...

    def __init__(
        self,
        settings: SaaSKitSettings | None = None,
        *,
        user_model: type[Any] | None = None,
        user_read_schema: type[BaseModel] = UserRead,
        user_create_schema: type[UserCreate] = UserCreate,
        user_update_schema: type[UserUpdate] = UserUpdate,
        models: KitModels | None = None,
        store: Store | None = None,
        password_hasher: PasswordHasher | None = None,
        email_sender: EmailSender | None = None,
        task_runner: TaskRunner | None = None,
        ai_quotas: QuotaResolver | OwnerQuotaResolver | None = None,
        billing_gateway: BillingGateway | None = None,
        features: Sequence[Feature[Any]] = (),
    ) -> None:
        self.settings = settings or SaaSKitSettings()
        self._features = FeatureRegistry(
            _compose(default_features(billing_gateway, ai_quotas), features)
        )
        warn_unknown_variables(sections=self._features.sections())
        # The no-op recorder unless this kit's settings enable metrics.
        self.metrics: Recorder = NULL_RECORDER
        if self.settings.metrics.enabled:
            self.metrics = enable_metrics()
        if self.settings.sentry.dsn is not None:
            from saaskit.errortracking import init_sentry

            init_sentry(self.settings)  # process-wide: the SDK has one client
        self.user_model: type[UserT] = cast("type[UserT]", user_model or DefaultUser)
        self.models = declare_feature_tables(
            models or models_for(self.user_model, DefaultUser, default_tables),
            self.user_model,
            self._features,
        )
        self.user_read_schema = user_read_schema
        self.user_create_schema = user_create_schema
        self.user_update_schema = user_update_schema
        self.engine: AsyncEngine = create_engine(self.settings)
        # Failed statements and connections count in saaskit_database_errors_total.
        event.listen(self.engine.sync_engine, "handle_error", _count_database_error)
        self.session_factory = create_session_factory(self.engine)
        # Lag-tolerant reads (lists, audit, usage) go to a replica when one is configured.
        self.reads = create_read_router(self.settings, self.engine)
        self.store: Store = store or create_store(self.settings.redis_url, self.settings.store)
        self.cache = ResponseCache(self.store)  # host routes' response cache (saaskit.cache)
        self.passwords: PasswordHasher = password_hasher or PwdlibHasher(self.settings.auth)
        self.email_sender: EmailSender = email_sender or create_sender(
            self.settings.email, production=self.settings.is_production
        )
        self.mailer = Mailer(
            self.email_sender,
            EmailRenderer(self.settings.email, project_name=self.settings.project_name),
            self.settings.email,
        )
        self.tasks = email_tasks(self.mailer)
        self.runner: TaskRunner = task_runner or self._default_runner()
        self.hooks: Hooks[UserT] = Hooks()
        self._features.declare(self.hooks)
        self.audit = AuditLog(self.models.audit_event, self.session_factory, reads=self.reads)
        self.limiter = RateLimiter(self.store, self.settings.rate_limit)
        self.client_info = ClientResolver(self.settings.http.trusted_proxies)
        parts: AuthParts[UserT] = build_auth(
            self.settings,
            self.user_model,
            store=self.store,
            session_factory=self.session_factory,
            reads=self.reads,
            passwords=self.passwords,
            runner=self.runner,
            limiter=self.limiter,
            audit=self.audit,
            hooks=self.hooks,
        )
        self.tokens = parts.tokens
        self.sessions = parts.sessions
        self.users: UserService[UserT] = parts.users
        self.recovery: AccountRecovery[UserT] = parts.recovery
        self.auth: AuthService[UserT] = parts.auth
        self.authenticator: Authenticator[UserT] = parts.authenticator
        self.dependencies: AuthDependencies[UserT] = parts.dependencies
        self.current_user = self.dependencies.current_user
        self.current_active_user = self.dependencies.current_active_user
        self.current_verified_user = self.dependencies.current_verified_user
        self.current_superuser = self.dependencies.current_superuser
        self.current_reauthenticated_user = self.dependencies.current_reauthenticated_user
        self.optional_user = self.dependencies.optional_user
        self.current_session_user = self.dependencies.current_session_user
        self.plans = PlanCatalog(
            self.settings.billing, self.models.subscription, self.session_factory
        )
        self.gates: PlanGates[UserT] = PlanGates(self.plans, self.current_active_user)
        # Every enabled feature's service, in order (billing's when enabled; AI's on use).
        self._features.build(self, self.tasks)
        if self.settings.ai.meter_event_name and self._billing is not None:
            self.tasks[FLUSH_METERS.name] = FLUSH_METERS.handler(self._flush_meters)
        if self.settings.tracing.enabled:
            from saaskit.observability.tracing import enable_tracing

            # The Redis store's client (the in-process store has none).
            enable_tracing(self.engine, getattr(self.store, "_client", None))

    @cached_property
    def meters(self) -> MeterReporter:
        """Sends metered AI usage to Stripe billing meters (``ai.meter_event_name``).

        ``await kit.meters.flush()`` sends the pending outbox rows (the
        ``billing.flush_meters`` task and ``saaskit billing flush-meters`` call it).
        """
        if not self.settings.ai.meter_event_name:
            raise RuntimeError("AI usage is not metered; set SAASKIT_AI__METER_EVENT_NAME")
        billing = self.billing
        sink = billing.gateway
        if not hasattr(sink, "send_meter_event"):
            raise TypeError(
                f"the billing gateway {type(sink).__name__} cannot send meter events "
                "(it needs a send_meter_event method, as StripeGateway has)"
            )
        return MeterReporter(
            cast("type[AIMeterOutboxMixin]", self.models.tables["ai_meter_outbox"]),
            self.session_factory,
            cast(MeterSink, sink),
            billing.customers.customer_id,
        )

    async def _flush_meters(self, task: FlushMeters) -> None:
        result = await self.meters.flush(task.limit)
        if result.unavailable:  # the runner retries later (the rows wait their backoff)
            raise TransientError("Stripe is unavailable; meter events wait in the outbox")

    def _default_runner(self) -> TaskRunner:
        if self.settings.tasks.backend == "celery":
            from saaskit.tasks.celery import CeleryRunner

            return CeleryRunner(self.celery_app, self.tasks, self.settings.tasks)
        return InProcessRunner(self.tasks)

    @cached_property
    def celery_app(self) -> Any:
        """The Celery app of this kit (needs ``saaskit[celery]``).

        Its broker and queue come from ``settings.tasks``; its one task runs
        ``kit.tasks`` in ``saaskit worker``.
        """
        from saaskit.tasks.celery import build_celery_app

        return build_celery_app(self)

    @overload
    def feature(self, feature: type[Feature[ServiceT]]) -> ServiceT: ...

    @overload
    def feature(self, feature: str) -> Any: ...

    def feature(self, feature: type[Feature[Any]] | str) -> Any:
        """A feature's service: ``kit.feature(NotesFeature)`` (typed) or ``kit.feature("notes")``.

        Args:
            feature: the feature's class or name.

        Returns:
            Its service, built on first use for a lazy feature.

        Raises:
            KeyError: the kit has no such feature.
            RuntimeError: the settings do not enable it.
        """
        name = feature if isinstance(feature, str) else feature.name
        return self._features.service(self, name)

    @property
    def features(self) -> FeatureRegistry:
        """This kit's features, in order (the kit's own first)."""
        return self._features

    def feature_settings(self, name: str) -> BaseModel:
        """Feature ``name``'s settings section (from ``SAASKIT_<NAME>__*``)."""
        return self._features.settings_of(self.settings, name)

    def data_exporters(self) -> list[DataExporter]:
        """What a privacy export of a user gathers, from every built feature."""
        return self._features.exporters()

    def data_erasers(self) -> list[DataEraser]:
        """What erasing a user's data runs, from every built feature."""
        return self._features.erasers()

    @property
    def packaged_models(self) -> bool:
        """Whether the kit uses saaskit's default models (and so its packaged migrations)."""
        return self.models is default_tables

    @property
    def _billing(self) -> BillingService[UserT] | None:
        billing: BillingService[UserT] | None = self._features.built("billing")
        return billing

    @property
    def orgs(self) -> OrgService:
        """Organizations, members and invitations (``SAASKIT_ORGS__ENABLED``, default on)."""
        service: OrgService = self.feature(OrgsFeature)
        return service

    def _org_dependencies(self) -> OrgDependencies:
        self.orgs  # noqa: B018 - built on first use; raises when switched off
        feature = self._features.named(OrgsFeature.name)
        deps = getattr(feature, "dependencies", None)
        if not isinstance(deps, OrgDependencies):
            raise RuntimeError("the orgs feature was replaced by one without dependencies")
        return deps

    @property
    def current_org(self) -> OrgDependency:
        """Dependency: the caller's organization and membership (404 for a non-member).

        The organization is named by the path's ``org_id`` or the ``X-Organization`` header.
        """
        return self._org_dependencies().current_org

    @property
    def optional_org(self) -> OptionalOrgDependency:
        """Dependency: like :attr:`current_org` when the request names an organization.

        ``None`` when neither the path (``org_id``) nor the ``X-Organization`` header names
        one; a named organization the caller is not a member of is a 404.
        """
        return self._org_dependencies().optional_org

    def require_org_permission(self, permission: str) -> OrgDependency:
        """Dependency: :attr:`current_org` if the caller's role has ``permission`` (else 403)."""
        return self._org_dependencies().require_org_permission(permission)

    def require_org_role(self, *roles: str) -> OrgDependency:
        """Dependency: :attr:`current_org` if the caller's role is one of ``roles`` (else 403)."""
        return self._org_dependencies().require_org_role(*roles)

    @property
    def api_keys(self) -> ApiKeyService:
        """API keys of users and organizations (``SAASKIT_API_KEYS__ENABLED``, default on)."""
        service: ApiKeyService = self.feature(ApiKeysFeature)
        return service

    @property
    def mfa(self) -> MfaService[UserT]:
        """Two-factor authentication (``SAASKIT_MFA__ENABLED``, default on)."""
        service: MfaService[UserT] = self.feature(MfaFeature)
        return service

    @property
    def oauth(self) -> OAuthService:
        """Sign-in with providers (on when ``SAASKIT_OAUTH__PROVIDERS`` names one)."""
        service: OAuthService = self.feature(OAuthFeature)
        return service

    def require_scopes(self, *scopes: str) -> Authenticate[UserT]:
        """Dependency: the principal, if its credential grants every one of ``scopes``.

        A login session grants everything; an API key grants its scopes (403 otherwise).
        Organization keys are accepted (``principal.organization_id`` says which
        organization the call is for): ``Depends(kit.require_scopes("reports:read"))``.
        """
        return Authenticate(self.authenticator, active=True, scopes=scopes, organization_keys=True)

    @property
    def billing(self) -> BillingService[UserT]:
        """Checkout, portal, sync and webhooks (``settings.billing.enabled`` only)."""
        if self._billing is None:
            raise RuntimeError(
                "billing is not enabled; set SAASKIT_BILLING__ENABLED=true and "
                "SAASKIT_BILLING__SECRET_KEY (see the Billing docs)"
            )
        return self._billing

    def authenticate(
        self,
        *,
        auto_error: bool = True,
        active: bool = True,
        verified: bool = False,
        superuser: bool = False,
        scopes: Collection[str] = (),
        methods: Collection[str] | None = None,
        organization_keys: bool = False,
        impersonation: bool | None = None,
    ) -> Authenticate[UserT]:
        """Dependency: the request's :class:`~saaskit.auth.credentials.Principal`.

        ``Depends(kit.authenticate(scopes={"reports:read"}))`` for a principal,
        ``Depends(kit.authenticate(verified=True).user)`` for its user;
        ``auto_error=False`` lets anonymous requests in (``None``);
        ``organization_keys=True`` accepts organization API keys (they act for an
        organization, not a person); ``impersonation=False`` refuses a superuser acting
        as the user (403 ``impersonation_forbidden``). See
        :class:`~saaskit.auth.dependencies.Authenticate`.
        """
        return Authenticate(
            self.authenticator,
            auto_error=auto_error,
            active=active,
            verified=verified,
            superuser=superuser,
            scopes=scopes,
            methods=methods,
            organization_keys=organization_keys,
            impersonation=impersonation,
        )

    def require_plan(self, *plans: str) -> PlanDependency:
        """Dependency: the user is on one of ``plans`` (402 / 403 ``plan_required``)."""
        return self.gates.require_plan(*plans)

    def require_active_subscription(self) -> PlanDependency:
        """Dependency: the user has an entitled subscription (402 otherwise)."""
        return self.gates.require_active_subscription()

    def require_feature(self, feature: str) -> PlanDependency:
        """Dependency: the user's plan grants ``feature`` (402 / 403 otherwise)."""
        return self.gates.require_feature(feature)

    def require_org_plan(self, *plans: str) -> PlanDependency:
        """Dependency: the caller's organization is on one of ``plans``.

        402 / 403 ``plan_required`` otherwise; 404 for a non-member (:attr:`current_org`).
        """
        return self.gates.for_owner(self._org_dependencies().owner()).require_plan(*plans)

    def require_org_feature(self, feature: str) -> PlanDependency:
        """Dependency: the plan of the caller's organization grants ``feature``."""
        return self.gates.for_owner(self._org_dependencies().owner()).require_feature(feature)

    @cached_property
    def auth_router(self) -> APIRouter:
        """Register, login, refresh, logout, sessions (mount at ``/api/v1/auth``)."""
        from saaskit.auth.router import build_auth_router

        return build_auth_router(self)

    @cached_property
    def users_router(self) -> APIRouter:
        """``/me`` and superuser administration (mount at ``/api/v1/users``)."""
        from saaskit.users.router import build_users_router

        return build_users_router(self)

    @property
    def audit_router(self) -> APIRouter:
        """``GET /audit`` for superusers (mount at ``/api/v1/audit``)."""
        return self._router("audit")

    @property
    def health_router(self) -> APIRouter:
        """``/health`` and ``/health/ready`` (mount at the root)."""
        return self._router("health")

    @property
    def ai(self) -> AIService:
        """AI chat with per-user metering and quotas: ``await kit.ai.chat(user.id, messages)``.

        Usable from host code too (``kit.ai.record_usage``, ``kit.ai.metered``); the
        ``openai`` package (``saaskit[ai]``) is needed only to call a provider.
        """
        service: AIService = self._features.service(self, "ai")
        return service

    @property
    def ai_router(self) -> APIRouter:
        """``POST /chat`` and ``GET /usage`` (mount at ``/api/v1/ai``)."""
        return self._router("ai")

    @property
    def billing_router(self) -> APIRouter:
        """Plans, checkout, portal, subscription, sync, webhook (``/api/v1/billing``)."""
        return self._router("billing")

    def _router(self, name: str) -> APIRouter:
        router = self._features.router(self, name)
        assert router is not None  # the kit's own features all have one
        return router

    def install(self, app: FastAPI) -> None:
        """Mount every router under ``settings.api_prefix`` and add the middleware.

        Adds: the body-size limit, CORS when origins are configured, request ids, and
        saaskit's error handlers (unless ``settings.http.install_error_handlers`` is
        false); with ``settings.metrics`` the metrics middleware and page, with
        ``settings.tracing`` the OpenTelemetry instrumentation. The app's OpenAPI then
        lists, on every route that uses a kit dependency (the host's routes too), the
        errors it can answer (401, 402, 403) with :class:`~saaskit.errors.ErrorResponse`,
        and its 422s in that shape when the handlers are installed.
        """
        from saaskit.cors import install_cors
        from saaskit.errors import install_error_handlers
        from saaskit.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware
        from saaskit.observability.requestid import RequestIdMiddleware
        from saaskit.openapi import document_errors

        prefix = self.settings.api_prefix
        # Authentication and users are the kit's core (every feature's routes depend on
        # them); then each enabled feature mounts its router, in order.
        app.include_router(self.auth_router, prefix=f"{prefix}/auth", tags=["auth"])
        app.include_router(self.users_router, prefix=f"{prefix}/users", tags=["users"])
        self._features.install(self, app)
        if self.settings.http.install_error_handlers:
            install_error_handlers(app)
        # The OpenAPI of every route, the host's included, lists the errors of the kit's
        # dependencies it uses, in saaskit's error shape.
        document_errors(app, error_handlers=self.settings.http.install_error_handlers)
        if self.settings.sentry.dsn is not None:
            from saaskit.errortracking import SentryContextMiddleware

            app.add_middleware(SentryContextMiddleware)  # request and user ids on errors
        # The last middleware added is the outermost: the body-size limit goes innermost so
        # its 413 still passes through CORS and the security headers.
        app.add_middleware(BodySizeLimitMiddleware, max_bytes=self.settings.http.max_body_bytes)
        install_cors(app, self.settings.cors)  # never credentials through "*"
        request_id_header = self.settings.log.request_id_header
        if self.settings.http.security_headers:  # it gives request ids too: one layer
            app.add_middleware(
                SecurityHeadersMiddleware,
                hsts=self.settings.is_production,
                request_id_header=request_id_header,
            )
        else:
            app.add_middleware(RequestIdMiddleware, header=request_id_header)
        if isinstance(self.metrics, PrometheusRecorder):
            from saaskit.middleware import install_metrics

            install_metrics(app, self.settings.metrics, self.metrics)
        if self.settings.tracing.enabled:
            from saaskit.observability.tracing import instrument_app

            metrics = self.settings.metrics
            instrument_app(
                app,
                excluded_urls=metrics.path if metrics.enabled else None,
                http_clients=self._traced_http_clients(),
            )

    def _traced_http_clients(self) -> list[Any]:
        """The httpx client of the Stripe gateway (when billing uses saaskit's own)."""
        gateway = self._billing.gateway if self._billing is not None else None
        client = getattr(getattr(gateway, "_http", None), "_client", None)
        return [client] if client is not None else []

    @asynccontextmanager
    async def lifespan(self, app: FastAPI | None = None) -> AsyncIterator[None]:
        """Use as ``FastAPI(lifespan=kit.lifespan)``: closes pools and threads on exit.

        Once started it calls :func:`gc.freeze` (unless ``http.gc_freeze`` is off): the
        objects built at import and startup are never garbage, and a full collection
        that re-scans them all was the largest source of tail latency under load.
        """
        port = None
        if isinstance(self.metrics, PrometheusRecorder) and self.settings.metrics.port:
            from saaskit.observability.metrics_port import MetricsPort

            port = MetricsPort(self.settings.metrics, self.metrics)
            await port.start()
        if self.settings.http.gc_freeze:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if port is not None:
                await port.stop()
            await self.aclose()
            if isinstance(self.metrics, PrometheusRecorder):
                self.metrics.process_exited(os.getpid())

    async def aclose(self) -> None:
        """Release the database pool, the store connection and the hashing threads."""
        await self.runner.close()
        await self._features.aclose()  # the services built (AI's only once used)
        await self.reads.dispose()
        await self.engine.dispose()
        await self.store.close()
        self.passwords.close()


def _count_database_error(_context: Any) -> None:
    recorder().database_error()


def default_features(
    billing_gateway: BillingGateway | None = None,
    ai_quotas: QuotaResolver | OwnerQuotaResolver | None = None,
) -> list[Feature[Any]]:
    """The kit's own features, in the order their routers are mounted.

    Args:
        billing_gateway: the payment provider (default: Stripe).
        ai_quotas: each owner's monthly AI tokens (default: from the plans).

    Returns:
        Audit, health, billing, AI, organizations, API keys, impersonation, 2FA, privacy,
        OAuth login and passkeys (authentication and users are the kit's core).
    """
    return [
        AuditFeature(),
        HealthFeature(),
        BillingFeature(billing_gateway),
        AIFeature(ai_quotas),
        OrgsFeature(),
        ApiKeysFeature(),
        ImpersonationFeature(),
        MfaFeature(),
        PrivacyFeature(),
        OAuthFeature(),
        PasskeysFeature(),
    ]


def _compose(own: list[Feature[Any]], extra: Sequence[Feature[Any]]) -> list[Feature[Any]]:
    """Order the kit's features: its own, then the host's.

    A host feature named like one of the kit's replaces it in place
    (``BillingFeature(gateway=...)``).
    """
    replacing = {feature.name: feature for feature in extra}
    composed = [replacing.pop(feature.name, feature) for feature in own]
    return [*composed, *(feature for feature in extra if feature.name in replacing)]
