"""Credentials: readers that turn what a request presents into one :class:`Principal`.

A *credential reader* knows one kind of credential (the bearer session JWT today; API
keys, and later others, next). The :class:`Authenticator` holds the readers in order and
picks, for a request, the one reader that recognises what the request presents; that
reader alone decides. The rules, each kept by a test in ``tests/auth/test_credentials.py``:

- A credential that its reader refuses (or a reader that fails: the store is down, a
  bug) is an error, never "anonymous": nothing falls through to the next reader nor to
  an anonymous caller, not even on a route where anonymous callers are welcome.
- A credential is read by the reader that recognises its form and by no other, so a token
  of one method is never accepted as another; a route can also name the methods it
  accepts (``methods={"session"}``: logout, the session list, re-authentication).
- A request that presents two different credentials is refused, not resolved by order.
- The scopes of a principal are what its reader found in the credential, frozen; a
  route's required scopes must all be in them (``"*"``, full access, is what a login
  session has). Nothing in the request can add a scope.

The session reader keeps the hot path at one store round trip: the session and the
cached user are read together (one ``MGET``, in one Redis Cluster hash slot), through the
reads of the session manager and the user cache, never through their key formats.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol

from fastapi.security import OAuth2PasswordBearer
from starlette.requests import Request

from saaskit.auth import prefetch
from saaskit.auth.sessions import RefreshSession, SessionManager, is_session_id
from saaskit.auth.tokens import TokenClaims, TokenCodec
from saaskit.exceptions import InvalidToken, NotAuthenticated
from saaskit.store import Store
from saaskit.store.keys import user_tag
from saaskit.store.reads import Read
from saaskit.types import UserT
from saaskit.users.cache import UserCache
from saaskit.users.service import UserService

FULL_ACCESS = frozenset({"*"})
"""The scopes of a credential that may do everything its user may (a login session)."""

SESSION = "session"
"""The method of a principal proved by a bearer access token of a login session."""


@dataclass(frozen=True, slots=True)
class Principal(Generic[UserT]):
    """Who is calling, and how they proved it.

    Attributes:
        user: the user the credential belongs to.
        method: how the request authenticated (``"session"``; ``"api_key"`` next).
        credential_id: the session id, or the key id.
        scopes: what the credential allows (frozen; none unless the reader grants some;
            :data:`FULL_ACCESS` for a session).
        organization_id: the organization the credential acts for, if any.
        token_claims: the verified access token (session method only).
        refresh_session: the login session (session method only).
        actor_id: the superuser acting as ``user`` (an impersonation session's
            ``act`` claim), ``None`` when the user acts for themselves.
    """

    user: UserT
    method: str
    credential_id: str
    scopes: frozenset[str] = frozenset()
    organization_id: int | None = None
    token_claims: TokenClaims | None = None
    refresh_session: RefreshSession | None = None
    actor_id: int | None = None

    @property
    def claims(self) -> TokenClaims:
        """The access token's claims.

        Only a session principal has them (the kit's ``principal`` dependency accepts
        sessions only).
        """
        if self.token_claims is None:
            raise NotAuthenticated("This needs a login session.")
        return self.token_claims

    @property
    def session(self) -> RefreshSession:
        """The login session; only a session principal has one."""
        if self.refresh_session is None:
            raise NotAuthenticated("This needs a login session.")
        return self.refresh_session

    def allows(self, scopes: Collection[str]) -> bool:
        """Whether every one of ``scopes`` is granted."""
        return "*" in self.scopes or all(scope in self.scopes for scope in scopes)


CredentialScheme = Callable[[Request], Awaitable[str | None]]
"""What extracts a raw credential from a request (FastAPI's security classes)."""


class CredentialReader(Protocol[UserT]):
    """One kind of credential (see the module docs for the rules a reader keeps)."""

    method: str
    """The :attr:`Principal.method` of what this reader yields."""

    @property
    def scheme(self) -> CredentialScheme:
        """The FastAPI security scheme of this credential, with ``auto_error=False``.

        A :class:`~fastapi.security.base.SecurityBase`: it extracts the raw credential from
        a request (or None) and documents it in OpenAPI.
        """
        ...

    def recognizes(self, credential: str) -> bool:
        """Whether ``credential`` has this reader's form (no I/O, no secret check)."""
        ...

    def precheck(self, credential: str) -> None:
        """A cheap check before the request body is read (a signature); raises."""
        ...

    async def read(self, credential: str) -> Principal[UserT]:
        """The principal the credential proves; raises when it proves nothing."""
        ...


class SessionTokenReader(Generic[UserT]):
    """The bearer access token (JWT) of a login session.

    Verified tokens are remembered in this process (bounded), so a client that sends the
    same token again costs a dict lookup and an expiry check instead of a signature
    check. The session check in the store still runs on every request: a token whose
    session has ended (logout, logout-all, refresh-token reuse, password change,
    deactivation) is refused at once, and so is a token whose session belongs to another
    user than its ``sub`` (it reads as missing), so a token can never borrow someone
    else's identity through a live session id.
    """

    MAX_REMEMBERED = 10_000
    method = SESSION

    def __init__(
        self,
        tokens: TokenCodec,
        store: Store,
        sessions: SessionManager,
        users: UserService[UserT],
        cache: UserCache[UserT],
        *,
        token_url: str,
    ) -> None:
        self.tokens = tokens
        self.store = store
        self.sessions = sessions
        self.users = users
        self.cache = cache
        self.scheme = OAuth2PasswordBearer(tokenUrl=token_url, auto_error=False)
        self._verified: dict[str, _Verified[UserT]] = {}

    def recognizes(self, credential: str) -> bool:
        """Whether ``credential`` looks like a session access token (a compact JWS)."""
        return credential.count(".") == 2  # a compact JWS: header.payload.signature

    def claims(self, token: str) -> TokenClaims:
        """The claims of a valid access token (raises :class:`InvalidToken`)."""
        return self._verify(token).claims

    def _verify(self, token: str) -> _Verified[UserT]:
        """Verify ``token`` and prepare the store reads its requests make.

        Built once per token and remembered until it expires, so the hot path formats
        no key and builds no read.

        Raises:
            InvalidToken: the token is malformed, expired, forged or not a session's.
        """
        known = self._verified.get(token)
        if known is None or known.claims.expires_at <= time.time():
            claims = self.tokens.decode(token, "access")
            if not is_session_id(claims.session_id):
                raise InvalidToken()
            if len(self._verified) >= self.MAX_REMEMBERED:
                self._verified.clear()
            known = _Verified(
                claims,
                self.sessions.read(claims.session_id, claims.user_id),
                self.cache.read(claims.user_id),
            )
            self._verified[token] = known
        return known

    def precheck(self, credential: str) -> None:
        """Check the token's signature and expiry without a store read.

        Raises:
            InvalidToken: the token is not a valid access token.
        """
        self._verify(credential)

    async def read(self, credential: str) -> Principal[UserT]:
        """The principal of a valid token whose session and user are still live.

        The session and the cached user are read in one store round trip.

        Raises:
            InvalidToken: the token is invalid, its session ended or its user is gone.
        """
        known = self._verify(credential)
        claims = known.claims
        # One round trip (one MGET, one hash slot): what read_pair does, with the keys
        # joined once per token.
        extra = prefetch.wanted()  # more of this user's keys, in the same MGET
        if extra:
            tag = user_tag(claims.user_id)
            count = len(known.keys)
            values = await self.store.get_many(known.keys + tuple(f"{tag}:{s}" for s in extra))
            prefetch.fetched(dict(zip(extra, values[count:], strict=True)))
            values = values[:count]
        else:
            values = await self.store.get_many(known.keys)
        session = known.session.decode(values[: known.split])
        user = known.user.decode(values[known.split :])
        if session is None:  # ended, another user's, or stored by saaskit 0.x
            session = await self.sessions.adopt_legacy(claims.session_id, claims.user_id)
            if session is None:
                raise InvalidToken("The session has ended; log in again.")
        if user is None:
            user = await self.users.load(claims.user_id)
            if user is None:
                raise InvalidToken()
        if claims.actor_id is not None or session.actor_id is not None:
            await self.check_actor(claims.actor_id, session.actor_id)
        return Principal(
            user, SESSION, session.id, FULL_ACCESS, None, claims, session, claims.actor_id
        )

    async def check_actor(self, claimed: int | None, recorded: int | None) -> None:
        """Refuse an impersonation token whose acting superuser no longer may act.

        The token's ``act`` must name the superuser the session was opened for (a login
        session's token with an ``act`` added, or an impersonation token with it dropped,
        reads as invalid), and that superuser must still be an active superuser: one
        demoted or deactivated ends every impersonation they started. One more store
        read, for impersonation tokens only.

        Raises:
            InvalidToken: the claim and the session disagree, or the actor may no longer act.
        """
        if claimed != recorded or claimed is None:
            raise InvalidToken()
        actor = await self.cache.get(claimed)
        if actor is None:
            actor = await self.users.load(claimed)
        if actor is None or not actor.is_active or not actor.is_superuser:
            raise InvalidToken("The impersonation has ended: its superuser may no longer act.")


class _Verified(Generic[UserT]):
    """A verified access token and the reads of its session and user."""

    __slots__ = ("claims", "keys", "session", "split", "user")

    def __init__(
        self,
        claims: TokenClaims,
        session: Read[RefreshSession | None],
        user: Read[UserT | None],
    ) -> None:
        self.claims = claims
        self.session = session
        self.user = user
        self.keys = session.keys + user.keys
        self.split = len(session.keys)


class Authenticator(Generic[UserT]):
    """The credential readers of a kit, tried in order."""

    def __init__(self, readers: Sequence[CredentialReader[UserT]]) -> None:
        if not readers:
            raise ValueError("at least one credential reader is needed")
        self.readers: tuple[CredentialReader[UserT], ...] = tuple(readers)

    def add(self, reader: CredentialReader[UserT]) -> None:
        """Try ``reader`` after the others (API keys, ...).

        Add readers before any dependency is built:
        :class:`~saaskit.auth.dependencies.Authenticate` takes the readers it sees when it
        is created.
        """
        self.readers = (*self.readers, reader)

    async def extract(self, request: Request) -> list[str | None]:
        """What each reader's scheme finds in ``request`` (in reader order)."""
        return [await reader.scheme(request) for reader in self.readers]

    def select(self, found: Sequence[str | None]) -> tuple[CredentialReader[UserT], str] | None:
        """The reader for the credential the request presents, None if it presents none.

        Raises :class:`InvalidToken` when no reader recognises the credential, or when
        the request presents two different credentials.
        """
        credential: str | None = None
        for seen in found:
            if seen:
                if credential is not None and seen != credential:
                    raise InvalidToken("Send one credential, not several.")
                credential = seen
        if credential is None:
            return None
        for reader, seen in zip(self.readers, found, strict=True):
            if seen == credential and reader.recognizes(credential):
                return reader, credential
        raise InvalidToken()
