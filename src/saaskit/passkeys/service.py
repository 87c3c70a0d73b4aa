"""Passkey ceremonies: challenges in the kit's store, credentials in the database.

py_webauthn (``pip install 'saaskit[passkeys]'``) checks the authenticator's answers; this
module keeps what the library leaves to the app: each challenge is random, stored
server-side with a TTL, bound to its user (registration), and taken once (a replay, or a
second answer racing the first, finds nothing); the signature counter is compared here
(a counter that does not move forward refuses the login, WebAuthn section 6.1.1).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, NoReturn

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.audit.service import AuditAction
from saaskit.exceptions import EmailNotVerified
from saaskit.features import AuditRecorder
from saaskit.passkeys.errors import (
    PasskeyChallengeInvalid,
    PasskeyLimitReached,
    PasskeyLoginFailed,
    PasskeyNotFound,
    PasskeyRegistrationInvalid,
)
from saaskit.passkeys.models import PasskeyMixin
from saaskit.passkeys.schemas import PasskeyOptions, PasskeysSettings
from saaskit.ratelimit import RateLimiter
from saaskit.store import Store
from saaskit.types import ClientInfo

__all__ = ["ACTIONS", "EXTRA_MISSING", "PasskeyService", "load_webauthn"]

ACTIONS = ("passkey_added", "passkey_removed")
"""The feature's audit actions (logins are the kit's ``login``, with ``method: passkey``)."""

EXTRA_MISSING = "passkeys need py_webauthn: pip install 'saaskit[passkeys]'"
TRANSPORTS = frozenset({"ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"})

OpenSession = Callable[[Any, ClientInfo], Awaitable[Any]]
"""Opens a login session for a user, like a password login (the kit's ``AuthService``)."""
LoadUser = Callable[[int], Awaitable[Any]]


def load_webauthn() -> ModuleType:
    """Import py_webauthn, or fail with the extra to install.

    Raises:
        ImportError: py_webauthn is not installed (the message names the extra).
    """
    try:
        import webauthn
    except ImportError as error:
        raise ImportError(EXTRA_MISSING) from error
    return webauthn


def _require_verified(user: Any) -> None:
    """Refuse a new passkey on an unverified account.

    An unverified account may be a squatter's (registered with someone else's address): a
    passkey added now would survive the real owner's password reset and, being two factors,
    pass their 2FA too (pre-account takeover).
    """
    if not user.is_verified:
        raise EmailNotVerified(
            "Verify your email address before adding a way to sign in: an unverified "
            "account may not be yours yet."
        )


def _b64url(data: bytes) -> str:
    from webauthn.helpers import bytes_to_base64url

    return str(bytes_to_base64url(data))


def _now() -> datetime:
    return datetime.now(UTC)


class PasskeyService:
    """Register, list, remove passkeys; log in with one (``kit.feature(PasskeysFeature)``)."""

    def __init__(
        self,
        *,
        table: type[PasskeyMixin],
        session_factory: async_sessionmaker[AsyncSession],
        store: Store,
        limiter: RateLimiter,
        settings: PasskeysSettings,
        signing_key: str,
        audit: AuditRecorder,
        load_user: LoadUser,
        open_session: OpenSession,
    ) -> None:
        self.webauthn = load_webauthn()
        self.table = table
        self.session_factory = session_factory
        self.store = store
        self.limiter = limiter
        self.settings = settings
        self._key = signing_key.encode()
        self.audit = audit
        self.load_user = load_user
        self.open_session = open_session

    # -- challenges -------------------------------------------------------------------

    async def _put_challenge(self, key: str, challenge: bytes, user_id: int | None) -> None:
        value = json.dumps({"challenge": _b64url(challenge), "user_id": user_id})
        await self.store.put(key, value.encode(), ttl=self.settings.challenge_seconds)

    async def _take_challenge(self, key: str) -> bytes:
        """The challenge stored at ``key``, taken once: the caller whose delete wins."""
        raw = await self.store.get(key)
        if raw is None or await self.store.delete(key) != 1:
            raise PasskeyChallengeInvalid()
        from webauthn import base64url_to_bytes

        return bytes(base64url_to_bytes(json.loads(raw)["challenge"]))

    @staticmethod
    def _challenge_id(challenge_id: str) -> str:
        if not (
            0 < len(challenge_id) <= 64 and challenge_id.replace("-", "").replace("_", "").isalnum()
        ):
            raise PasskeyChallengeInvalid()
        return challenge_id

    def user_handle(self, user_id: int) -> bytes:
        """The WebAuthn user handle of ``user_id``: keyed, so it reveals no database id."""
        return hmac.new(self._key, f"passkey-user:{user_id}".encode(), hashlib.sha256).digest()

    # -- registration -----------------------------------------------------------------

    async def _rows(self, db: AsyncSession, user_id: int) -> list[PasskeyMixin]:
        table = self.table
        found = await db.scalars(select(table).where(table.user_id == user_id).order_by(table.id))
        return list(found)

    async def list(self, user_id: int) -> list[PasskeyMixin]:
        """The user's passkeys, oldest first."""
        async with self.session_factory() as db:
            return await self._rows(db, user_id)

    async def registration_options(self, user: Any) -> PasskeyOptions:
        """Options for ``navigator.credentials.create()``: a discoverable credential, user verified.

        Raises:
            EmailNotVerified: the account's email is not verified (403).
            PasskeyLimitReached: the user has ``max_passkeys_per_user`` already.
        """
        _require_verified(user)
        from webauthn.helpers import options_to_json_dict
        from webauthn.helpers.structs import (
            AuthenticatorSelectionCriteria,
            PublicKeyCredentialDescriptor,
            ResidentKeyRequirement,
            UserVerificationRequirement,
        )

        existing = await self.list(user.id)
        if len(existing) >= self.settings.max_passkeys_per_user:
            raise PasskeyLimitReached()
        from webauthn import base64url_to_bytes

        options = self.webauthn.generate_registration_options(
            rp_id=self.settings.rp_id,
            rp_name=self.settings.rp_name,
            user_id=self.user_handle(user.id),
            user_name=user.email,
            user_display_name=getattr(user, "full_name", None) or user.email,
            timeout=self.settings.challenge_seconds * 1000,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(row.credential_id))
                for row in existing
            ],
        )
        challenge_id = secrets.token_urlsafe(24)
        await self._put_challenge(
            f"passkeys:reg:{user.id}:{challenge_id}", options.challenge, user.id
        )
        return PasskeyOptions(challenge_id=challenge_id, options=options_to_json_dict(options))

    async def register(
        self,
        user: Any,
        challenge_id: str,
        credential: dict[str, Any],
        name: str,
        *,
        client: ClientInfo,
    ) -> PasskeyMixin:
        """Verify the authenticator's answer and store the credential (audited).

        Raises:
            PasskeyChallengeInvalid: the challenge is not this user's, expired or used.
            PasskeyRegistrationInvalid: the answer does not verify (origin, RP id,
                challenge, user verification), or the credential is already registered.
            PasskeyLimitReached: the user has ``max_passkeys_per_user`` already.
            EmailNotVerified: the account's email is not verified (403).
        """
        _require_verified(user)
        challenge = await self._take_challenge(
            f"passkeys:reg:{user.id}:{self._challenge_id(challenge_id)}"
        )
        from webauthn.helpers.exceptions import WebAuthnException

        try:
            verified = self.webauthn.verify_registration_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=self.settings.rp_id,
                expected_origin=list(self.settings.origins),
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError) as error:
            raise PasskeyRegistrationInvalid() from error
        response = credential.get("response")
        raw = response.get("transports") if isinstance(response, dict) else None
        transports = sorted({t for t in raw if t in TRANSPORTS}) if isinstance(raw, list) else []
        table = self.table
        row = table()
        row.public_id = secrets.token_hex(6)
        row.user_id = user.id
        row.credential_id = _b64url(verified.credential_id)
        row.public_key = verified.credential_public_key
        row.sign_count = verified.sign_count
        row.transports = transports
        row.name = name
        row.aaguid = str(verified.aaguid)[:36]
        row.backed_up = bool(verified.credential_backed_up)
        row.created_at = _now()
        async with self.session_factory() as db:
            await self._lock_user(db, user)
            db.add(row)
            try:
                await db.flush()
            except IntegrityError as error:  # another account (or this one) has it
                await db.rollback()
                raise PasskeyRegistrationInvalid() from error
            # Counted after the insert, in its transaction: with the user's row locked
            # (PostgreSQL) or the database's write lock held (SQLite, since the insert),
            # concurrent registrations are counted one after another, never past the limit.
            count = await db.scalar(
                select(func.count()).select_from(table).where(table.user_id == user.id)
            )
            if (count or 0) > self.settings.max_passkeys_per_user:
                await db.rollback()
                raise PasskeyLimitReached()
            await db.commit()
            await db.refresh(row)
        await self.audit.record(
            "passkey_added",
            actor_id=user.id,
            target_id=user.id,
            client=client,
            detail={"passkey_id": row.public_id, "name": name},
        )
        return row

    @staticmethod
    async def _lock_user(db: AsyncSession, user: Any) -> None:
        """Lock the user's row until ``db`` commits (PostgreSQL; SQLite has no row locks).

        ``FOR NO KEY UPDATE``: it conflicts with itself (registrations are serialized) but
        not with the inserts of rows referencing the user (audit events, ...).
        """
        model = type(user)  # the host's user model (the cache returns instances of it too)
        locked = select(model.id).where(model.id == user.id).with_for_update(key_share=True)
        await db.execute(locked)

    async def remove(self, user_id: int, public_id: str, *, client: ClientInfo) -> None:
        """Remove one of the user's passkeys (audited); another user's is not found.

        Raises:
            PasskeyNotFound: no such passkey among the user's.
        """
        table = self.table
        async with self.session_factory() as db:
            result = await db.execute(
                table.__table__.delete().where(  # type: ignore[attr-defined]
                    table.user_id == user_id, table.public_id == public_id
                )
            )
            await db.commit()
        if not getattr(result, "rowcount", 0):
            raise PasskeyNotFound()
        await self.audit.record(
            "passkey_removed",
            actor_id=user_id,
            target_id=user_id,
            client=client,
            detail={"passkey_id": public_id},
        )

    async def remove_all(self, user_id: int) -> int:
        """Delete every passkey of the user (erasure); how many there were."""
        table = self.table
        async with self.session_factory() as db:
            result = await db.execute(
                table.__table__.delete().where(table.user_id == user_id)  # type: ignore[attr-defined]
            )
            await db.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    # -- login ------------------------------------------------------------------------

    async def login_options(self, *, client: ClientInfo) -> PasskeyOptions:
        """Options for ``navigator.credentials.get()`` with no allow list (discoverable).

        Counted per client IP: every call stores a challenge until it expires.
        """
        from webauthn.helpers import options_to_json_dict
        from webauthn.helpers.structs import UserVerificationRequirement

        await self.limiter.hit_limit(
            "passkey_login_options_ip", self.settings.login_per_ip, client.ip
        )
        options = self.webauthn.generate_authentication_options(
            rp_id=self.settings.rp_id,
            timeout=self.settings.challenge_seconds * 1000,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        challenge_id = secrets.token_urlsafe(24)
        await self._put_challenge(f"passkeys:login:{challenge_id}", options.challenge, None)
        return PasskeyOptions(challenge_id=challenge_id, options=options_to_json_dict(options))

    async def _refuse(
        self, reason: str, client: ClientInfo, user_id: int | None = None
    ) -> NoReturn:
        await self.audit.record(
            AuditAction.LOGIN,
            outcome="failure",
            target_id=user_id,
            client=client,
            detail={"method": "passkey", "reason": reason},
        )
        raise PasskeyLoginFailed()

    async def login(
        self, challenge_id: str, credential: dict[str, Any], *, client: ClientInfo
    ) -> Any:
        """Verify an assertion and open a session like a password login.

        Returns:
            The kit's token pair.

        Raises:
            RateLimited: too many attempts from the client's IP.
            PasskeyChallengeInvalid: the challenge id is unknown, expired or used.
            PasskeyLoginFailed: any other refusal (unknown or removed credential, bad
                signature, origin, RP id, user handle, counter, inactive user).
        """
        await self.limiter.hit_limit("passkey_login_ip", self.settings.login_per_ip, client.ip)
        challenge = await self._take_challenge(f"passkeys:login:{self._challenge_id(challenge_id)}")
        user = await self._verify(challenge, credential, client, expected_user=None)
        return await self.open_session(user, client)

    # -- second factor ----------------------------------------------------------------

    async def second_factor_options(self, user_id: int, *, client: ClientInfo) -> PasskeyOptions:
        """Options for ``navigator.credentials.get()`` listing ``user_id``'s passkeys.

        For a login that answered 403 ``mfa_required``: the challenge is bound to the
        account (it only completes a challenge of that account's logins).

        Raises:
            PasskeyNotFound: the user has no passkey.
        """
        from webauthn.helpers import options_to_json_dict
        from webauthn.helpers.structs import (
            PublicKeyCredentialDescriptor,
            UserVerificationRequirement,
        )

        await self.limiter.hit_limit(
            "passkey_login_options_ip", self.settings.login_per_ip, client.ip
        )
        async with self.session_factory() as db:
            rows = await self._rows(db, user_id)
        if not rows:
            raise PasskeyNotFound()
        from webauthn import base64url_to_bytes

        options = self.webauthn.generate_authentication_options(
            rp_id=self.settings.rp_id,
            timeout=self.settings.challenge_seconds * 1000,
            allow_credentials=[
                PublicKeyCredentialDescriptor(id=bytes(base64url_to_bytes(row.credential_id)))
                for row in rows
            ],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        challenge_id = secrets.token_urlsafe(24)
        await self._put_challenge(f"passkeys:2fa:{challenge_id}", options.challenge, user_id)
        return PasskeyOptions(challenge_id=challenge_id, options=options_to_json_dict(options))

    def second_factor_check(
        self, challenge_id: str, credential: dict[str, Any], *, client: ClientInfo
    ) -> Callable[[int], Awaitable[str]]:
        """A check for ``kit.mfa.redeem``: the assertion proves a passkey of that user."""

        async def check(user_id: int) -> str:
            key = f"passkeys:2fa:{self._challenge_id(challenge_id)}"
            raw = await self.store.get(key)
            if raw is None or json.loads(raw).get("user_id") != user_id:
                raise PasskeyChallengeInvalid()  # another login's challenge: left unspent
            challenge = await self._take_challenge(key)
            await self._verify(challenge, credential, client, expected_user=user_id)
            return "passkey"

        return check

    async def _verify(
        self,
        challenge: bytes,
        credential: dict[str, Any],
        client: ClientInfo,
        *,
        expected_user: int | None,
    ) -> Any:
        """Verify an assertion against ``challenge``; the active user whose passkey it is."""
        from webauthn.helpers import parse_authentication_credential_json
        from webauthn.helpers.exceptions import WebAuthnException

        errors = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)
        try:
            parsed = parse_authentication_credential_json(credential)
        except errors:
            await self._refuse("malformed", client, expected_user)
        table = self.table
        async with self.session_factory() as db:
            row = await db.scalar(
                select(table).where(table.credential_id == _b64url(parsed.raw_id))
            )
        if row is None:
            await self._refuse("unknown_credential", client, expected_user)
        if expected_user is not None and row.user_id != expected_user:
            await self._refuse("other_user", client, expected_user)
        handle = parsed.response.user_handle
        if handle is not None and not hmac.compare_digest(
            bytes(handle), self.user_handle(row.user_id)
        ):
            await self._refuse("user_handle", client, row.user_id)
        try:
            verified = self.webauthn.verify_authentication_response(
                credential=parsed,
                expected_challenge=challenge,
                expected_rp_id=self.settings.rp_id,
                expected_origin=list(self.settings.origins),
                credential_public_key=row.public_key,
                credential_current_sign_count=0,  # compared below, with an audit reason
                require_user_verification=True,
            )
        except errors:
            await self._refuse("verification", client, row.user_id)
        new, old = int(verified.new_sign_count), int(row.sign_count)
        if (new or old) and new <= old:
            # A counter that does not move forward may be a cloned authenticator:
            # refused (the credential stays; its owner sees the audit event).
            await self._refuse("sign_count", client, row.user_id)
        async with self.session_factory() as db:
            result = await db.execute(
                update(table)
                .where(table.id == row.id, table.sign_count == old)
                .values(sign_count=new, last_used_at=_now())
            )
            await db.commit()
        if not getattr(result, "rowcount", 0):  # removed meanwhile, or a racing login
            await self._refuse("race", client, row.user_id)
        user = await self.load_user(row.user_id)
        if user is None or not user.is_active:
            await self._refuse("inactive", client, row.user_id)
        return user
