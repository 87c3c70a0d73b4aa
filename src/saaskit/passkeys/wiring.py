"""The passkeys feature's contribution to the kit (off unless ``SAASKIT_PASSKEYS__ENABLED``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from saaskit.exceptions import EmailNotVerified
from saaskit.features import (
    DataEraser,
    DataExporter,
    Feature,
    FeatureError,
    FeatureHost,
    read_section,
)
from saaskit.passkeys.errors import (
    PasskeyChallengeInvalid,
    PasskeyLimitReached,
    PasskeyLoginFailed,
    PasskeyNotFound,
    PasskeyRegistrationInvalid,
)
from saaskit.passkeys.models import PASSKEY_TABLES, PasskeyMixin
from saaskit.passkeys.schemas import PasskeysSettings
from saaskit.passkeys.service import ACTIONS, PasskeyService
from saaskit.ratelimit import RateLimiter
from saaskit.settings import SaaSKitSettings
from saaskit.signing_key import signing_key
from saaskit.store import Store
from saaskit.types import ClientInfo

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = ["PasskeysFeature"]


class PasskeysKit(FeatureHost, Protocol):
    """What the passkeys feature is built from (:class:`saaskit.SaaSKit` has it)."""

    @property
    def store(self) -> Store: ...

    @property
    def limiter(self) -> RateLimiter: ...

    @property
    def users(self) -> Any:
        """The kit's :class:`~saaskit.users.service.UserService`."""
        ...

    @property
    def auth(self) -> Any:
        """The kit's :class:`~saaskit.auth.service.AuthService` (``finish_login``)."""
        ...

    @property
    def dependencies(self) -> Any:
        """The kit's :class:`~saaskit.auth.dependencies.AuthDependencies`."""
        ...


class _Exporter:
    name = "passkeys"

    def __init__(self, service: PasskeyService) -> None:
        self.service = service

    async def export(self, user_id: int) -> list[dict[str, Any]]:
        return [
            {
                key: value.isoformat() if isinstance(value, datetime) else value
                for key, value in row.as_dict().items()
            }
            for row in await self.service.list(user_id)
        ]


class _Eraser:
    name = "passkeys"

    def __init__(self, service: PasskeyService) -> None:
        self.service = service

    async def erase(self, user_id: int) -> int:
        return await self.service.remove_all(user_id)


class PasskeysFeature(Feature[PasskeyService]):
    """Passkeys (WebAuthn): ``/api/v1/passkeys``, to register and to log in with.

    Off by default: ``SAASKIT_PASSKEYS__ENABLED=true`` with ``RP_ID`` and ``ORIGINS``, and
    ``pip install 'saaskit[passkeys]'`` (the table comes with saaskit's migrations).
    """

    name = "passkeys"
    settings_model = PasskeysSettings
    prefix = "/passkeys"
    tags = ("passkeys",)
    tables = PASSKEY_TABLES
    errors = (
        PasskeyChallengeInvalid,
        PasskeyRegistrationInvalid,
        PasskeyLoginFailed,
        PasskeyNotFound,
        PasskeyLimitReached,
    )
    audit_actions = ACTIONS

    def __init__(self, settings: PasskeysSettings | None = None) -> None:
        self.settings = settings  # else read from SAASKIT_PASSKEYS__*

    def enabled(self, settings: SaaSKitSettings) -> bool:
        """``SAASKIT_PASSKEYS__ENABLED`` (default: off)."""
        own = self.settings or read_section(settings, self.name, PasskeysSettings)
        return own.enabled

    def build(self, kit: FeatureHost) -> PasskeyService:
        """The service (fails at start without origins, or without py_webauthn)."""
        host = cast(PasskeysKit, kit)
        settings = cast(PasskeysSettings, host.feature_settings(self.name))
        if not settings.origins:
            raise FeatureError(
                "passkeys need SAASKIT_PASSKEYS__ORIGINS: the exact origins of the pages "
                "that run the ceremonies (https://app.example.com)"
            )
        auth = host.auth

        async def open_session(user: Any, client: ClientInfo) -> Any:
            # The password login's rules: a verified email when the settings require one.
            # A passkey login requires user verification (the device and its PIN or
            # biometric): two factors already, so an account with 2FA gets no code step,
            # as on GitHub and Google.
            if auth.settings.require_verified_login and not user.is_verified:
                raise EmailNotVerified()
            return await auth.finish_login(user, client=client, method="passkey", multi_factor=True)

        return PasskeyService(
            table=cast(type[PasskeyMixin], host.models.tables["passkey"]),
            session_factory=host.session_factory,
            store=host.store,
            limiter=host.limiter,
            settings=settings,
            signing_key=signing_key(host.settings),
            audit=host.audit,
            load_user=host.users.get,
            open_session=open_session,
        )

    def exporters(self, service: PasskeyService) -> Sequence[DataExporter]:
        """The user's passkeys in a privacy export (names and dates, never keys)."""
        return (_Exporter(service),)

    def erasers(self, service: PasskeyService) -> Sequence[DataEraser]:
        """Erasing a user deletes their passkeys (also cascaded with the user row)."""
        return (_Eraser(service),)

    def router(self, kit: FeatureHost, service: PasskeyService | None) -> APIRouter | None:
        """Registration, list, removal and login."""
        from saaskit.passkeys.router import build_passkeys_router

        if service is None:
            return None
        deps = cast(PasskeysKit, kit).dependencies
        try:  # with 2FA on, a passkey also completes a login's second step
            mfa = cast(Any, kit).feature("mfa")
        except (KeyError, RuntimeError):
            mfa = None
        return build_passkeys_router(
            kit, service, deps.current_reauthenticated_user, deps.current_session_user, mfa
        )
