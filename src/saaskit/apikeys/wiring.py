"""The API keys feature's contribution to the kit (on by default)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from saaskit.apikeys.errors import (
    ApiKeyExpiryInvalid,
    ApiKeyLimitReached,
    ApiKeyNotFound,
    ApiKeyScopeInvalid,
)
from saaskit.apikeys.models import APIKEY_TABLES, ApiKeyMixin
from saaskit.apikeys.reader import ApiKeyReader
from saaskit.apikeys.schemas import ApiKeysSettings
from saaskit.apikeys.service import ACTIONS, ApiKeyService
from saaskit.features import Feature, FeatureHost, FeatureRegistry, read_section
from saaskit.orgs.dependencies import OrgDependencies
from saaskit.orgs.service import OrgService
from saaskit.ratelimit import RateLimiter
from saaskit.settings import SaaSKitSettings
from saaskit.signing_key import signing_key
from saaskit.store import Store

if TYPE_CHECKING:
    from fastapi import APIRouter
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["ApiKeysFeature"]


class ApiKeysKit(FeatureHost, Protocol):
    """What the API keys feature is built from (:class:`saaskit.SaaSKit` has it)."""

    @property
    def store(self) -> Store: ...

    @property
    def limiter(self) -> RateLimiter: ...

    @property
    def features(self) -> FeatureRegistry: ...

    @property
    def users(self) -> Any:
        """The kit's :class:`~saaskit.users.service.UserService` (``load``, ``cache``)."""
        ...

    @property
    def authenticator(self) -> Any:
        """The kit's :class:`~saaskit.auth.credentials.Authenticator`."""
        ...

    @property
    def dependencies(self) -> Any:
        """The kit's :class:`~saaskit.auth.dependencies.AuthDependencies`."""
        ...


class ApiKeysFeature(Feature[ApiKeyService]):
    """API keys: ``/api/v1/api-keys``, and the ``"api_key"`` credential reader.

    On by default; ``SAASKIT_API_KEYS__ENABLED=false`` switches it off (no reader, no
    routes; the table stays: it comes with saaskit's migrations).
    """

    name = "api_keys"
    settings_model = ApiKeysSettings
    prefix = "/api-keys"
    tags = ("api keys",)
    tables = APIKEY_TABLES
    errors = (ApiKeyNotFound, ApiKeyScopeInvalid, ApiKeyLimitReached, ApiKeyExpiryInvalid)
    audit_actions = ACTIONS

    def __init__(self, settings: ApiKeysSettings | None = None) -> None:
        self.settings = settings  # else read from SAASKIT_API_KEYS__*
        self.orgs: OrgDependencies | None = None

    def enabled(self, settings: SaaSKitSettings) -> bool:
        """``SAASKIT_API_KEYS__ENABLED`` (default: on)."""
        own = self.settings or read_section(settings, self.name, ApiKeysSettings)
        return own.enabled

    def build(self, kit: FeatureHost) -> ApiKeyService:
        """The service; adds the API key reader to the kit's authenticator."""
        host = cast(ApiKeysKit, kit)
        settings = cast(ApiKeysSettings, host.feature_settings(self.name))
        orgs: OrgService | None = host.features.built("orgs")
        service = ApiKeyService(
            table=cast(type[ApiKeyMixin], host.models.tables["api_key"]),
            session_factory=host.session_factory,
            store=host.store,
            settings=settings,
            prefix=settings.key_prefix(host.settings.is_production),
            signing_key=signing_key(host.settings),
            audit=host.audit,
            organization_permissions=(
                frozenset().union(*orgs.roles.values()) if orgs is not None else ()
            ),
        )
        reader: ApiKeyReader[Any] = ApiKeyReader(
            service,
            host.users,
            host.users.cache,
            host.limiter,
            host.client_info,
            settings.header,
        )
        host.authenticator.add(reader)
        if orgs is not None:
            self.orgs = cast(Any, host.features.named("orgs")).dependencies

            async def deleting(db: AsyncSession, org_id: int) -> Any:
                table = service.table
                rows = (
                    await db.execute(
                        table.__table__.select()  # type: ignore[attr-defined]
                        .with_only_columns(table.user_id, table.public_id)
                        .where(table.organization_id == org_id)
                    )
                ).all()
                await db.execute(
                    table.__table__.delete().where(table.organization_id == org_id)  # type: ignore[attr-defined]
                )

                async def forget() -> None:
                    for owner_id, public_id in rows:
                        await service.forget(owner_id, public_id)

                return forget

            orgs.deleting.append(deleting)
        return service

    def router(self, kit: FeatureHost, service: ApiKeyService | None) -> APIRouter | None:
        """Personal and organization key management."""
        from saaskit.apikeys.router import build_api_keys_router

        if service is None:
            return None
        deps = cast(ApiKeysKit, kit).dependencies
        return build_api_keys_router(
            kit,
            service,
            deps.current_reauthenticated_user,
            deps.current_owner_user,
            self.orgs,
        )

    async def aclose(self, service: ApiKeyService) -> None:
        """Write the last uses not yet written."""
        await service.aclose()
