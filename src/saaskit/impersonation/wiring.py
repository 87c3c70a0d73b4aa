"""The impersonation feature's contribution to the kit (on by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from saaskit.features import Feature, FeatureHost, read_section
from saaskit.impersonation.errors import ImpersonationNotAllowed, NotImpersonating
from saaskit.impersonation.middleware import ImpersonationAuditMiddleware
from saaskit.impersonation.schemas import ImpersonationSettings
from saaskit.impersonation.service import ACTIONS, ImpersonationService
from saaskit.settings import SaaSKitSettings

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

__all__ = ["ImpersonationFeature"]


class ImpersonationFeature(Feature[ImpersonationService[Any]]):
    """``POST /api/v1/admin/impersonation`` and the audit of impersonated writes.

    On by default; ``SAASKIT_IMPERSONATION__ENABLED=false`` removes the routes (tokens
    already issued keep working until they expire: end them with logout-all of the user).
    """

    name = "impersonation"
    settings_model = ImpersonationSettings
    prefix = "/admin/impersonation"
    tags = ("impersonation",)
    errors = (ImpersonationNotAllowed, NotImpersonating)
    audit_actions = ACTIONS

    def __init__(self, settings: ImpersonationSettings | None = None) -> None:
        self.settings = settings  # else read from SAASKIT_IMPERSONATION__*

    def enabled(self, settings: SaaSKitSettings) -> bool:
        """``SAASKIT_IMPERSONATION__ENABLED`` (default: on)."""
        own = self.settings or read_section(settings, self.name, ImpersonationSettings)
        return own.enabled

    def build(self, kit: FeatureHost) -> ImpersonationService[Any]:
        """The service, on the kit's users, sessions, tokens and audit log."""
        host = cast(Any, kit)
        settings = cast(ImpersonationSettings, kit.feature_settings(self.name))
        return ImpersonationService(host.users, host.sessions, host.auth, kit.audit, settings)

    def router(
        self, kit: FeatureHost, service: ImpersonationService[Any] | None
    ) -> APIRouter | None:
        """Start and end."""
        from saaskit.impersonation.router import build_impersonation_router

        if service is None:
            return None
        return build_impersonation_router(kit, service)

    def install(self, kit: FeatureHost, app: FastAPI, router: APIRouter) -> None:
        """Mount the routes and the middleware that audits impersonated writes."""
        super().install(kit, app, router)
        app.add_middleware(
            ImpersonationAuditMiddleware, audit=kit.audit, client_info=kit.client_info
        )
