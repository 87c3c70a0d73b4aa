"""The 2FA feature's contribution to the kit (on by default).

On by default because it costs nothing until a user turns it on: a login reads one
``EXISTS`` (the password check costs far more), and the organization policy rides in
the membership query that is cached anyway. ``SAASKIT_MFA__ENABLED=false`` unmounts the
routes and stops asking for codes at login (factors stay stored: turning it back on
restores them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from typing_extensions import override

from saaskit.features import Feature, FeatureHost, FeatureRegistry, read_section
from saaskit.mfa.challenges import ChallengeStore
from saaskit.mfa.errors import (
    MfaAlreadyEnabled,
    MfaChallengeInvalid,
    MfaCodeInvalid,
    MfaEnrollmentMissing,
    MfaNotEnabled,
    MfaUnavailable,
)
from saaskit.mfa.models import MFA_TABLES, RecoveryCodeMixin, TotpFactorMixin
from saaskit.mfa.schemas import MfaSettings
from saaskit.mfa.sealing import Sealer
from saaskit.mfa.service import ACTIONS, MfaService
from saaskit.orgs.dependencies import OrgDependencies
from saaskit.orgs.service import OrgService
from saaskit.ratelimit import RateLimiter
from saaskit.settings import SaaSKitSettings
from saaskit.signing_key import signing_key
from saaskit.store import Store

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

__all__ = ["MfaFeature"]

ORGS_PREFIX = "/orgs"
ADMIN_PREFIX = "/admin/users"


class MfaKit(FeatureHost, Protocol):
    """What the 2FA feature is built from (:class:`saaskit.SaaSKit` has it)."""

    @property
    def store(self) -> Store: ...

    @property
    def limiter(self) -> RateLimiter: ...

    @property
    def features(self) -> FeatureRegistry: ...

    @property
    def auth(self) -> Any:
        """The kit's :class:`~saaskit.auth.service.AuthService`."""
        ...

    @property
    def dependencies(self) -> Any:
        """The kit's :class:`~saaskit.auth.dependencies.AuthDependencies`."""
        ...


class MfaExporter:
    """A user's 2FA state for a privacy export (never the secret nor the codes)."""

    name = "two_factor_authentication"

    def __init__(self, service: MfaService[Any]) -> None:
        self.service = service

    async def export(self, user_id: int) -> list[dict[str, Any]]:
        """Whether 2FA is on, since when, and how many recovery codes are left."""
        state = await self.service.state(user_id)
        confirmed = state.confirmed_at.isoformat() if state.confirmed_at else None
        return [
            {
                "enabled": state.enabled,
                "confirmed_at": confirmed,
                "recovery_codes_remaining": state.recovery_codes_remaining,
            }
        ]


class MfaFeature(Feature[MfaService[Any]]):
    """Two-factor authentication: ``/api/v1/mfa``, and a second step at every login.

    Builds :class:`~saaskit.mfa.service.MfaService`, sets it as ``kit.auth.second_factor``
    and, with organizations on, lets an organization require 2FA of its members.
    """

    name = "mfa"
    settings_model = MfaSettings
    prefix = "/mfa"
    tags = ("two-factor authentication",)
    tables = MFA_TABLES
    errors = (
        MfaCodeInvalid,
        MfaChallengeInvalid,
        MfaAlreadyEnabled,
        MfaNotEnabled,
        MfaEnrollmentMissing,
        MfaUnavailable,
    )
    audit_actions = ACTIONS

    def __init__(self, settings: MfaSettings | None = None) -> None:
        self.settings = settings  # else read from SAASKIT_MFA__*
        self.orgs: OrgDependencies | None = None
        self.extra_routers: list[tuple[str, str, APIRouter]] = []

    def enabled(self, settings: SaaSKitSettings) -> bool:
        """``SAASKIT_MFA__ENABLED`` (default: on)."""
        own = self.settings or read_section(settings, self.name, MfaSettings)
        return own.enabled

    def production_warnings(self, settings: SaaSKitSettings) -> list[str]:
        """A sealing key derived from the secret key ties every enrolment to it."""
        own = self.settings or read_section(settings, self.name, MfaSettings)
        if own.secret_key is not None:
            return []
        return [
            "SAASKIT_MFA__SECRET_KEY is not set: TOTP secrets are sealed and recovery codes "
            "hashed with a key derived from SAASKIT_SECRET_KEY, so rotating that key (after "
            "a leak, say) would lock every user with 2FA out; set it to its own random value "
            "(`saaskit secret`) before anyone enrols."
        ]

    def build(self, kit: FeatureHost) -> MfaService[Any]:
        """The service; becomes the auth core's second-factor gate."""
        host = cast(MfaKit, kit)
        settings = cast(MfaSettings, host.feature_settings(self.name))
        root = settings.secret_key.get_secret_value() if settings.secret_key else None
        orgs: OrgService | None = host.features.built("orgs")
        service: MfaService[Any] = MfaService(
            factor=cast(type[TotpFactorMixin], host.models.tables["mfa_totp"]),
            code=cast(type[RecoveryCodeMixin], host.models.tables["mfa_recovery_code"]),
            session_factory=host.session_factory,
            auth=host.auth,
            limiter=host.limiter,
            audit=host.audit,
            challenges=ChallengeStore(host.store, settings.challenge_ttl_seconds),
            sealer=Sealer(root or signing_key(host.settings)),
            settings=settings,
            issuer=settings.issuer or host.settings.project_name,
            orgs=orgs,
        )
        host.auth.second_factor = service
        if orgs is not None:
            orgs.member_mfa = service.enabled_clause
            self.orgs = cast(Any, host.features.named("orgs")).dependencies
        return service

    def router(self, kit: FeatureHost, service: MfaService[Any] | None) -> APIRouter | None:
        """The user's routes; the organization and admin routes are mounted by install."""
        from saaskit.mfa.router import build_admin_router, build_mfa_router, build_org_router

        if service is None:
            return None
        host = cast(MfaKit, kit)
        deps = host.dependencies
        self.extra_routers = [
            (
                ADMIN_PREFIX,
                "two-factor authentication admin",
                build_admin_router(service, deps.session_superuser, kit),
            )
        ]
        if self.orgs is not None:
            self.extra_routers.append(
                (
                    ORGS_PREFIX,
                    "organizations",
                    build_org_router(kit, service, self.orgs, deps.owner_principal),
                )
            )
        return build_mfa_router(
            kit,
            service,
            auth=host.auth,
            # The account's owner in person: never a superuser impersonating them.
            session_principal=deps.owner_principal,
            reauthenticated_user=deps.current_reauthenticated_user,
        )

    def exporters(self, service: MfaService[Any]) -> tuple[MfaExporter]:
        """The user's 2FA state (the tables go with the user: foreign keys cascade)."""
        return (MfaExporter(service),)

    @override
    def install(self, kit: FeatureHost, app: FastAPI, router: APIRouter) -> None:
        """Mount ``/mfa``, ``/orgs/{org_id}/mfa-policy`` and ``/admin/users/{id}/mfa``."""
        super().install(kit, app, router)
        for prefix, tag, extra in self.extra_routers:
            app.include_router(extra, prefix=kit.settings.api_prefix + prefix, tags=[tag])
