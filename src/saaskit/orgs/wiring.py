"""The organizations feature's contribution to the kit (on by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from typing_extensions import override

from saaskit.billing.owners import OwnerProfile
from saaskit.email.mailer import Mailer
from saaskit.email.rendering import build_link
from saaskit.features import Feature, FeatureHost, FeatureRegistry, read_section
from saaskit.orgs.accounts import LastOwnerRule, PersonalOrg
from saaskit.orgs.dependencies import OrgDependencies
from saaskit.orgs.errors import (
    AlreadyMember,
    InvitationEmailMismatch,
    InvitationInvalid,
    LastOwner,
    MemberNotFound,
    OrgHasSubscription,
    OrgMfaRequired,
    OrgNotFound,
    OrgPermissionDenied,
    OrgsBlockAccountDeletion,
    SeatLimitReached,
    SlugTaken,
    UnknownRole,
)
from saaskit.orgs.models import ORG_TABLES, InvitationMixin, MembershipMixin, OrganizationMixin
from saaskit.orgs.schemas import OrgsSettings
from saaskit.orgs.seats import SEATS_TASK, SeatSync
from saaskit.orgs.service import ACTIONS, SEND_INVITATION, OrgService, SendInvitation
from saaskit.ratelimit import RateLimiter
from saaskit.settings import SaaSKitSettings
from saaskit.store import Store
from saaskit.tasks.runner import TaskFunction
from saaskit.types import Owner

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

__all__ = ["ORG_KIND", "OrgBillingOwners", "OrgsFeature"]

ORG_KIND: Literal["organization"] = "organization"
"""The billing owner kind of an organization (``?owner=organization:3``)."""

ADMIN_PREFIX = "/admin/orgs"
"""Where the superusers' routes are mounted, under the API prefix."""

INVITATION_PATH = "/invitations/accept"
"""The frontend page an invitation link opens (``frontend_url`` + this + ``?token=``)."""


class OrgsKit(FeatureHost, Protocol):
    """What the organizations feature is built from (:class:`saaskit.SaaSKit` has it)."""

    @property
    def store(self) -> Store: ...

    @property
    def mailer(self) -> Mailer: ...

    @property
    def limiter(self) -> RateLimiter: ...

    @property
    def user_model(self) -> type[Any]: ...

    @property
    def features(self) -> FeatureRegistry: ...

    @property
    def auth(self) -> Any:
        """The kit's :class:`~saaskit.auth.service.AuthService` (``register``)."""
        ...

    @property
    def users(self) -> Any:
        """The kit's :class:`~saaskit.users.service.UserService` (``update``)."""
        ...

    @property
    def current_superuser(self) -> Any:
        """Dependency: the signed-in superuser (403 for anyone else)."""
        ...

    @property
    def dependencies(self) -> Any:
        """The kit's :class:`~saaskit.auth.dependencies.AuthDependencies`."""
        ...


class OrgBillingOwners:
    """Billing's view of organizations: members with ``billing:manage`` manage it."""

    def __init__(self, service: OrgService) -> None:
        self.service = service

    async def profile(self, owner_id: int, /) -> OwnerProfile | None:
        """The organization's name and creation time for its Stripe customer."""
        async with self.service.session_factory() as db:
            org = await db.get(self.service.organization, owner_id)
        if org is None:
            return None
        return OwnerProfile(email=None, name=org.name, created_at=org.created_at)

    async def checkout_quantity(self, owner_id: int, plan: Any, requested: int, /) -> int:
        """The seats a checkout buys: the seat count when the quantity follows members.

        With ``sync_seat_quantity`` and a plan whose ``seat_mode`` is ``members``, the
        subscription starts at the organization's seat count (the quantity job keeps it
        there); otherwise (manual seats) the quantity asked for.
        """
        if self.service.settings.sync_seat_quantity and plan.seat_mode == "members":
            return max(1, await self.service.seat_count(owner_id))
        return requested

    async def can_manage(self, user: Any, owner_id: int, /) -> bool:
        """Whether ``user`` is a member of the organization with ``billing:manage``.

        Raises:
            OrgMfaRequired: the organization requires two-factor authentication and the
                member has none (403, as on the organization's own routes).
        """
        try:
            ctx = await self.service.context(owner_id, int(user.id))
        except OrgNotFound:
            return False
        if ctx.mfa_blocked:  # billing is the organization's too: its 2FA policy applies
            raise OrgMfaRequired()
        return ctx.allows("billing:manage")


class OrgsFeature(Feature[OrgService]):
    """Organizations: ``/api/v1/orgs``, ``kit.current_org``, billing per organization.

    On by default; ``SAASKIT_ORGS__ENABLED=false`` switches it off (its tables stay: they
    come with saaskit's migrations).
    """

    name = "orgs"
    settings_model = OrgsSettings
    prefix = "/orgs"
    tags = ("organizations",)
    tables = ORG_TABLES
    errors = (
        OrgNotFound,
        OrgPermissionDenied,
        LastOwner,
        SlugTaken,
        MemberNotFound,
        AlreadyMember,
        UnknownRole,
        InvitationInvalid,
        InvitationEmailMismatch,
        OrgHasSubscription,
        SeatLimitReached,
        OrgsBlockAccountDeletion,
        OrgMfaRequired,
    )
    audit_actions = ACTIONS

    def __init__(self, settings: OrgsSettings | None = None) -> None:
        self.settings = settings  # else read from SAASKIT_ORGS__*
        self.dependencies: OrgDependencies | None = None
        self.seat_sync: SeatSync | None = None
        self.admin_router: APIRouter | None = None

    def enabled(self, settings: SaaSKitSettings) -> bool:
        """``SAASKIT_ORGS__ENABLED`` (default: on)."""
        own = self.settings or read_section(settings, self.name, OrgsSettings)
        return own.enabled

    def build(self, kit: FeatureHost) -> OrgService:
        """The service; registers organizations as billing owners when billing is on."""
        host = cast(OrgsKit, kit)
        tables = host.models.tables
        service = OrgService(
            organization=cast(type[OrganizationMixin], tables["organization"]),
            membership=cast(type[MembershipMixin], tables["membership"]),
            invitation=cast(type[InvitationMixin], tables["invitation"]),
            user_model=host.user_model,
            audit_model=tables.get("audit_event"),
            session_factory=host.session_factory,
            store=host.store,
            settings=cast(OrgsSettings, host.feature_settings(self.name)),
            audit=host.audit,
            runner=host.runner,
            limiter=host.limiter,
        )
        self.mailer = host.mailer
        self.frontend_url = host.settings.email.frontend_url
        deps = host.dependencies
        self.dependencies = OrgDependencies(service, deps.active_principal, deps.session_principal)
        billing = host.features.built("billing")
        if billing is not None:
            billing.owners.register(ORG_KIND, OrgBillingOwners(service))
            catalog = billing.catalog

            async def seats(org_id: int) -> int | None:
                plan = await catalog.for_owner(Owner(ORG_KIND, org_id))
                limit: int | None = plan.seat_limit  # max_seats, or the bought quantity
                return limit

            async def cancel(org_id: int) -> list[str]:
                try:
                    canceled: list[str] = await billing.cancel_all(Owner(ORG_KIND, org_id))
                except NotImplementedError as error:  # a gateway that cannot cancel
                    raise OrgHasSubscription() from error
                return canceled

            async def forget(org_id: int) -> None:
                await billing.forget_owner(Owner(ORG_KIND, org_id))

            service.seat_limit = seats
            service.cancel_billing = cancel
            service.billing_deleted = forget
            settings = service.settings
            if settings.sync_seat_quantity:
                self.seat_sync = SeatSync(service, billing, host.store, host.runner)
                service.seats_changed = self.seat_sync.request
        self.billing = billing
        self._account_steps(host, service, billing)
        return service

    def _account_steps(self, host: OrgsKit, service: OrgService, billing: Any) -> None:
        """A personal organization at creation (setting); the last-owner rule at deletion."""
        self.personal_org: PersonalOrg | None = None
        if service.settings.personal_org:
            self.personal_org = PersonalOrg(service)
            host.users.creation_steps.append(self.personal_org)
        subscribed = None
        if billing is not None:
            catalog = billing.catalog

            async def subscribed(org_id: int) -> bool:
                current = await catalog.current(Owner(ORG_KIND, org_id))
                return current is not None and bool(catalog.is_entitled(current.status))

        host.users.deletion_steps.append(LastOwnerRule(service, subscribed))

    def tasks(self, service: OrgService) -> dict[str, TaskFunction]:
        """``orgs.send_invitation``: the invitation email."""
        mailer, frontend = self.mailer, self.frontend_url

        async def send_invitation(invitation: SendInvitation) -> None:
            await mailer.send(
                "org_invitation",
                invitation.to,
                {
                    "link": build_link(frontend, INVITATION_PATH, invitation.token),
                    "organization": invitation.organization,
                    "role": invitation.role,
                    "expires_hours": invitation.hours,
                },
            )

        tasks = {SEND_INVITATION.name: SEND_INVITATION.handler(send_invitation)}
        if self.seat_sync is not None:
            tasks[SEATS_TASK] = self.seat_sync.task
        return tasks

    def router(self, kit: FeatureHost, service: OrgService | None) -> APIRouter | None:
        """Organizations, members, invitations, audit."""
        from saaskit.orgs.admin import OrgAdmin, build_admin_router
        from saaskit.orgs.router import build_orgs_router

        if service is None or self.dependencies is None:
            return None
        host = cast(OrgsKit, kit)

        async def register(email: str, password: str, full_name: str | None, client: Any) -> Any:
            # The kit's registration (rate limit, audit, hooks) without a verification
            # email: the invitation's token proved the address.
            user = await host.auth.register(
                email, password, full_name=full_name, client=client, send_verification=False
            )
            return await host.users.update(user.id, {"is_verified": True})

        self.admin_router = build_admin_router(
            kit.settings.http,
            OrgAdmin(service),
            host.current_superuser,
            kit.client_info,
        )
        return build_orgs_router(kit, service, self.dependencies, register=register)

    @override
    def install(self, kit: FeatureHost, app: FastAPI, router: APIRouter) -> None:
        """Mount ``/orgs``, and the superusers' ``/admin/orgs``."""
        super().install(kit, app, router)
        if self.admin_router is not None:
            app.include_router(
                self.admin_router,
                prefix=kit.settings.api_prefix + ADMIN_PREFIX,
                tags=["organizations admin"],
            )
