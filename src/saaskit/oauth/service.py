"""Logging in with a provider: start, callback, handoff, link, unlink. No HTTP here.

The rules (see docs/oauth.md for the flow and the abuse cases):

- A provider account (``provider`` + ``subject``) already linked logs in as its user.
- Otherwise it signs up, only with an email the provider says is verified, and never
  into an existing account: a provider login with the email of an account that exists
  is refused (``oauth_account_exists``), so an attacker who registers the victim's
  address at a lax provider gets nothing. The user logs in to that account (password)
  and links the provider from there.
- Linking needs a login session that proved the account recently (the kit's
  re-authentication), a flow started by that session in this browser, and a verified
  email at the provider.
- Unlinking is refused when it would leave no way to log in (no password and no other
  provider).
- The callback never puts tokens in a URL: it redirects with a single-use handoff code
  that the client exchanges with ``POST /oauth/token``, through :meth:`OAuthService.issue`,
  the one place where a provider login becomes a session.

Provider tokens are used once, at the callback, and not kept, unless
``store_provider_tokens`` asks (then sealed: :mod:`saaskit.oauth.tokens`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saaskit.auth.schemas import TokenPair
from saaskit.auth.service import AuthService
from saaskit.exceptions import (
    EmailAlreadyRegistered,
    EmailNotVerified,
    InvalidCredentials,
    SaaSKitError,
)
from saaskit.features import AuditRecorder
from saaskit.oauth.errors import (
    OAuthAccountExists,
    OAuthAlreadyLinked,
    OAuthEmailUnverified,
    OAuthHandoffInvalid,
    OAuthLastLoginMethod,
    OAuthNotLinked,
    OAuthProviderError,
    OAuthProviderNotFound,
    OAuthRedirectNotAllowed,
    OAuthStateInvalid,
)
from saaskit.oauth.flow import FlowRecords, FlowState, Handoff, Mode, digest, new_secret
from saaskit.oauth.models import OAuthAccountMixin
from saaskit.oauth.providers import ProviderClient, ProviderIdentity
from saaskit.oauth.schemas import OAuthSettings
from saaskit.oauth.tokens import ProviderTokens, TokenSealer, TokenSealError
from saaskit.ratelimit import RateLimiter
from saaskit.store import Store
from saaskit.types import ClientInfo
from saaskit.urls import origin_of
from saaskit.users.service import has_usable_password

logger = logging.getLogger("saaskit.oauth")

__all__ = [
    "ACTIONS",
    "LINKED",
    "LOGIN",
    "UNLINKED",
    "LinkedAccountsExporter",
    "OAuthService",
    "origin_of",
]

LOGIN = "oauth_login"
"""A provider identity was accepted at the callback (or refused: ``outcome="failure"``)."""
LINKED = "oauth_linked"
UNLINKED = "oauth_unlinked"
ACTIONS = (LOGIN, LINKED, UNLINKED)


def with_params(url: str, **params: str) -> str:
    """``url`` with ``params`` added to its query (replacing ones of the same name)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


class OAuthService:
    """Provider logins for one kit.

    Args:
        table: the ``oauth_accounts`` table class.
        session_factory: sessions on the kit's database.
        store: where flow states and handoff codes live.
        auth: the kit's auth service (registration, sessions, tokens, hooks).
        audit: the audit log.
        limiter: the kit's rate limiter.
        settings: ``SAASKIT_OAUTH__*``.
        api_prefix: where the kit's routes are (``/api/v1``), for the callback URL.
        frontend_url: ``email.frontend_url``: the default landing page's base and an
            allowed redirect origin.
        cors_origins: more allowed redirect origins (the exact ones of ``cors.origins``).
    """

    def __init__(
        self,
        *,
        table: type[OAuthAccountMixin],
        session_factory: async_sessionmaker[AsyncSession],
        store: Store,
        auth: AuthService[Any],
        audit: AuditRecorder,
        limiter: RateLimiter,
        settings: OAuthSettings,
        api_prefix: str,
        frontend_url: str,
        cors_origins: Sequence[str] = (),
        sealer: TokenSealer | None = None,
    ) -> None:
        self.table = table
        self.sealer = sealer if settings.store_provider_tokens else None
        self.session_factory = session_factory
        self.auth = auth
        self.audit = audit
        self.limiter = limiter
        self.settings = settings
        base = settings.callback_base_url.rstrip("/")
        self.providers = {
            key: ProviderClient(key, provider, settings, f"{base}{api_prefix}/oauth/{key}/callback")
            for key, provider in settings.providers.items()
        }
        self.records = FlowRecords(
            store, state_ttl=settings.state_ttl_seconds, handoff_ttl=settings.handoff_ttl_seconds
        )
        self.default_redirect = frontend_url.rstrip("/") + settings.frontend_callback_path
        self.allowed_origins = {
            origin
            for origin in map(
                origin_of,
                [
                    frontend_url,
                    *settings.allowed_redirect_origins,
                    *(o for o in cors_origins if o != "*"),
                ],
            )
            if origin
        }
        self.secure_cookie = base.startswith("https://")

    # -- the flow ------------------------------------------------------------------

    def provider(self, key: str) -> ProviderClient:
        """The provider configured under ``key``.

        Raises:
            OAuthProviderNotFound: there is none.
        """
        provider = self.providers.get(key)
        if provider is None:
            raise OAuthProviderNotFound()
        return provider

    def redirect_target(self, url: str | None) -> str:
        """``url`` if it is on an allowed origin (the default landing page when absent).

        Raises:
            OAuthRedirectNotAllowed: it is not.
        """
        if url is None:
            return self.default_redirect
        if origin_of(url) not in self.allowed_origins:
            raise OAuthRedirectNotAllowed()
        return url

    async def start(
        self,
        key: str,
        *,
        browser: str,
        redirect_to: str | None = None,
        mode: Mode = "login",
        user_id: int | None = None,
        session_id: str | None = None,
        client: ClientInfo | None = None,
    ) -> str:
        """Start a login (or a link, for ``user_id``); returns the provider's URL.

        Args:
            key: the provider.
            browser: the browser-binding cookie's value (see :mod:`saaskit.oauth.flow`).
            redirect_to: where the browser lands afterwards (allowed origins only).
            mode: ``"login"`` (sign up or log in) or ``"link"``.
            user_id: the logged-in user who links (``mode="link"``).
            session_id: that user's login session (``mode="link"``).
            client: where the request came from (rate limit).
        """
        provider = self.provider(key)
        target = self.redirect_target(redirect_to)
        await self.limiter.hit_limit(
            "oauth_ip", self.settings.rate_limit, client.ip if client else None
        )
        state, nonce, verifier = new_secret(), new_secret(), new_secret()
        url = await provider.authorization_url(state=state, nonce=nonce, verifier=verifier)
        flow = FlowState(
            provider=key,
            verifier=verifier,
            nonce=nonce,
            redirect_to=target,
            browser=digest(browser),
            mode=mode,
            user_id=user_id,
            session_id=session_id,
        )
        await self.records.put_state(state, flow)
        return url

    async def callback(
        self,
        key: str,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
        browser: str | None,
        client: ClientInfo,
    ) -> str:
        """Finish the flow at the provider's redirect; returns where to send the browser.

        The ``state`` is taken once and must have been started by this browser, else
        :class:`OAuthStateInvalid` (answered as JSON: there is no trusted page to send
        the browser to). Every later failure sends the browser to the flow's page with
        ``?error=<code>``; success with ``?code=<handoff code>`` (login) or
        ``?linked=<provider>`` (link).
        """
        self.provider(key)
        await self.limiter.hit_limit("oauth_ip", self.settings.rate_limit, client.ip)
        flow = await self.records.take_state(state) if state else None
        if flow is None or flow.provider != key or not flow.started_by(browser):
            reason = "unknown_state" if flow is None or flow.provider != key else "other_browser"
            await self._failed(key, OAuthStateInvalid.code, client, reason=reason)
            raise OAuthStateInvalid()
        try:
            if error is not None or not code:
                raise OAuthProviderError("The login was cancelled or refused at the provider.")
            identity = await self.providers[key].identity(
                code=code, verifier=flow.verifier, nonce=flow.nonce
            )
            if flow.mode == "link":
                assert flow.user_id is not None
                # Logged out (or all sessions ended: a password change) meanwhile: no link.
                alive = flow.session_id and await self.auth.sessions.get(
                    flow.session_id, flow.user_id
                )
                if not alive:
                    raise OAuthStateInvalid("The session that started linking has ended.")
                await self.link(flow.user_id, identity, client)
                return with_params(flow.redirect_to, linked=key)
            user_id = await self.login_or_signup(identity, client)
        except SaaSKitError as failure:
            await self._failed(key, failure.code, client, user_id=flow.user_id)
            return with_params(flow.redirect_to, error=str(failure.code))
        handoff = await self.records.put_handoff(Handoff(user_id=user_id, provider=key))
        return with_params(flow.redirect_to, code=handoff)

    async def _failed(
        self,
        key: str,
        code: str,
        client: ClientInfo,
        *,
        user_id: int | None = None,
        reason: str | None = None,
    ) -> None:
        detail = {"provider": key, "code": str(code)}
        if reason:
            detail["reason"] = reason
        await self.audit.record(
            LOGIN, outcome="failure", actor_id=user_id, client=client, detail=detail
        )

    async def exchange(self, code: str, *, client: ClientInfo) -> TokenPair:
        """Trade a handoff code (once) for the token pair.

        Raises:
            OAuthHandoffInvalid: the code is unknown, expired or used.
        """
        await self.limiter.hit_limit("oauth_ip", self.settings.rate_limit, client.ip)
        handoff = await self.records.take_handoff(code)
        user = await self.auth.users.get(handoff.user_id) if handoff else None
        if handoff is None or user is None:
            raise OAuthHandoffInvalid()
        return await self.issue(user, handoff.provider, client=client)

    async def issue(self, user: Any, provider: str, *, client: ClientInfo) -> TokenPair:
        """Turn a provider login into a session: the one place it becomes tokens.

        The same end as a password login's (:meth:`AuthService.finish_login`): the second
        factor when the account has one (403 ``mfa_required`` with a challenge instead of
        tokens), else the session, the ``login`` audit event (``detail.method =
        "oauth:<provider>"``), the ``after_login`` hooks and metric.
        """
        if not user.is_active:
            raise InvalidCredentials()
        if self.auth.settings.require_verified_login and not user.is_verified:
            raise EmailNotVerified()
        return await self.auth.finish_login(user, client=client, method=f"oauth:{provider}")

    # -- accounts ------------------------------------------------------------------

    async def _account(self, db: AsyncSession, provider: str, subject: str) -> Any:
        table = self.table
        query = select(table).where(table.provider == provider, table.subject == subject)
        return (await db.execute(query)).scalar_one_or_none()

    async def login_or_signup(self, identity: ProviderIdentity, client: ClientInfo) -> int:
        """The user ``identity`` logs in as, created if new; returns its id.

        Raises:
            OAuthEmailUnverified: a sign-up without an email the provider vouches for.
            OAuthAccountExists: a sign-up with the email of an existing account.
            InvalidCredentials: the linked user is deactivated.
        """
        async with self.session_factory() as db:
            row = await self._account(db, identity.provider, identity.subject)
            if row is not None:
                row.email = identity.email
                row.last_login_at = datetime.now(UTC)
                self._keep_tokens(row, identity)
                user_id: int = row.user_id
                await db.commit()
                user = await self.auth.users.get(user_id)
                if user is None or not user.is_active:
                    raise InvalidCredentials()
                await self._accepted(user_id, identity, client, signup=False)
                return user_id
        if not identity.email or not identity.email_verified:
            raise OAuthEmailUnverified()
        if await self.auth.users.get_by_email(identity.email) is not None:
            raise OAuthAccountExists()
        try:
            user = await self.auth.register(
                identity.email,
                None,
                full_name=identity.name,
                client=client,
                send_verification=False,
                verified=True,
            )
        except EmailAlreadyRegistered:  # registered meanwhile
            raise OAuthAccountExists() from None
        try:
            await self._insert(user.id, identity)
        except OAuthAlreadyLinked:  # the same provider account signed up twice at once
            await self.auth.users.delete(user.id)
            raise
        await self._accepted(user.id, identity, client, signup=True)
        return int(user.id)

    async def _accepted(
        self, user_id: int, identity: ProviderIdentity, client: ClientInfo, *, signup: bool
    ) -> None:
        await self.audit.record(
            LOGIN,
            actor_id=user_id,
            target_id=user_id,
            client=client,
            detail={"provider": identity.provider, "signup": signup},
        )

    def _keep_tokens(self, row: Any, identity: ProviderIdentity) -> None:
        """Seal the provider's tokens onto ``row`` (with ``store_provider_tokens``)."""
        tokens = identity.tokens
        if self.sealer is None or tokens is None:
            return
        account = {"provider": identity.provider, "subject": identity.subject}
        row.access_token = self.sealer.seal(tokens.access_token, **account)
        if tokens.refresh_token:  # providers give one only at the first consent: keep it
            row.refresh_token = self.sealer.seal(tokens.refresh_token, **account)
        row.token_expires_at = tokens.expires_at
        row.token_scope = tokens.scope

    async def provider_tokens(self, user_id: int, provider: str) -> ProviderTokens | None:
        """The provider tokens kept for ``user_id``'s ``provider`` account, opened.

        ``None`` when none are kept (``store_provider_tokens`` off, no linked account, or
        a login before it was turned on) or when they no longer open (the key changed):
        the user logs in with the provider again.
        """
        if self.sealer is None:
            return None
        table = self.table
        async with self.session_factory() as db:
            row = await db.scalar(
                select(table).where(table.user_id == user_id, table.provider == provider)
            )
        if row is None or row.access_token is None:
            return None
        account = {"provider": row.provider, "subject": row.subject}
        try:
            access = self.sealer.open(row.access_token, **account)
            refresh = self.sealer.open(row.refresh_token, **account) if row.refresh_token else None
        except TokenSealError:
            logger.warning(
                "provider tokens of user %s at %s do not open (key changed?)", user_id, provider
            )
            return None
        expires = row.token_expires_at
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)  # SQLite keeps no zone
        return ProviderTokens(access, refresh, expires, row.token_scope)

    async def _insert(self, user_id: int, identity: ProviderIdentity) -> None:
        async with self.session_factory() as db:
            row = self.table(  # type: ignore[call-arg]
                user_id=user_id,
                provider=identity.provider,
                subject=identity.subject,
                email=identity.email,
                last_login_at=datetime.now(UTC),
            )
            self._keep_tokens(row, identity)
            db.add(row)
            try:
                await db.commit()
            except IntegrityError:
                raise OAuthAlreadyLinked() from None

    async def link(self, user_id: int, identity: ProviderIdentity, client: ClientInfo) -> None:
        """Link ``identity`` to ``user_id`` (the flow was started by that user's session).

        Raises:
            OAuthEmailUnverified: the provider does not vouch for the email.
            OAuthAlreadyLinked: the provider account is someone's, or the user has one of
                this provider already.
        """
        if not identity.email or not identity.email_verified:
            raise OAuthEmailUnverified()
        user = await self.auth.users.get(user_id)
        if user is None or not user.is_active:
            raise InvalidCredentials()
        if not user.is_verified:  # checked when the link started; not yet yours, no link
            raise EmailNotVerified()
        await self._insert(user_id, identity)
        await self.audit.record(
            LINKED,
            actor_id=user_id,
            target_id=user_id,
            client=client,
            detail={"provider": identity.provider},
        )

    async def accounts(self, user_id: int) -> list[Any]:
        """The provider accounts linked to ``user_id``, oldest first."""
        table = self.table
        async with self.session_factory() as db:
            query = select(table).where(table.user_id == user_id).order_by(table.id)
            return list((await db.execute(query)).scalars())

    async def unlink(self, user_id: int, provider: str, *, client: ClientInfo) -> None:
        """Unlink ``user_id``'s account of ``provider`` while another way to log in remains.

        The user's row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL) so two unlinks
        at once cannot each count on the other's provider.

        Raises:
            OAuthNotLinked: there is none.
            OAuthLastLoginMethod: it is the last way to log in.
        """
        table, users = self.table, self.auth.users.model
        async with self.session_factory() as db:
            user = (
                await db.execute(select(users).where(users.id == user_id).with_for_update())
            ).scalar_one_or_none()
            mine = select(func.count()).where(table.user_id == user_id)
            linked = (await db.execute(mine.where(table.provider == provider))).scalar_one()
            if user is None or not linked:
                raise OAuthNotLinked()
            others = (await db.execute(mine.where(table.provider != provider))).scalar_one()
            if not others and not has_usable_password(user.hashed_password):
                raise OAuthLastLoginMethod()
            await db.execute(
                delete(table).where(table.user_id == user_id, table.provider == provider)
            )
            await db.commit()
        await self.audit.record(
            UNLINKED,
            actor_id=user_id,
            target_id=user_id,
            client=client,
            detail={"provider": provider},
        )

    async def aclose(self) -> None:
        """Nothing held between requests (each call opens its own HTTP client)."""


class LinkedAccountsExporter:
    """The user's linked provider accounts, for the privacy export (``oauth_accounts``)."""

    name = "oauth_accounts"

    def __init__(self, service: OAuthService) -> None:
        self.service = service

    async def export(self, user_id: int) -> list[dict[str, Any]]:
        """One record per linked account (provider, its user id there, email, dates)."""
        return [
            {
                "provider": row.provider,
                "subject": row.subject,
                "email": row.email,
                "created_at": row.created_at.isoformat(),
                "last_login_at": row.last_login_at.isoformat() if row.last_login_at else None,
            }
            for row in await self.service.accounts(user_id)
        ]
