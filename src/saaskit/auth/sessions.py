"""Login sessions with rotating, single-use refresh tokens.

Each login opens a :class:`RefreshSession`. The store keeps, per session, its metadata
and a hash of the ``jti`` of the one refresh token that is currently valid. A refresh
swaps that hash atomically (compare-and-set), so of two concurrent refreshes of one token
exactly one wins. A validly signed refresh token whose ``jti`` is not the current one
can only be an already-rotated token: that is reuse, and the whole session is revoked,
newest token included (RFC 9700 §4.14.2). Rotation never extends the session: every
refresh token expires at the session's absolute end.

Every write to an existing session record after login (a rotation, a re-authentication)
only *replaces* it (``SET ... XX``): a session revoked by a concurrent request (a detected
reuse, logout-all) is never re-created by a late write, so it cannot live on as a zombie
that works but is missing from the session list and survives logout-all.

Store keys (see :mod:`saaskit.store.keys`): ``{u:<uid>}:sess:<sid>`` (metadata JSON),
``{u:<uid>}:sess:<sid>:rt`` (current token hash), ``{u:<uid>}:sessions`` (the user's
session ids); all of a user's keys share the hash tag ``{u:<uid>}``, so every multi-key
command here (and the authenticator's ``MGET`` with the cached user) stays in one Redis
Cluster slot. Session ids are 32 lowercase hex digits; anything else never reaches a
store key.

Sessions opened by saaskit 0.x before this scheme live under ``sess:<sid>``,
``sess:<sid>:rt`` and ``user-sess:<uid>``. With ``legacy_keys`` on (the default) such a
session is moved to the new keys the first time it is used, and logout, logout-all and
revocation end it too, so an upgrade logs nobody out. Turn it off
(``SAASKIT_STORE__LEGACY_SESSION_KEYS=false``) once ``refresh_token_days`` have passed
since the upgrade, and before moving to Redis Cluster.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

from saaskit.exceptions import InvalidToken, RefreshTokenReused, SessionNotFound
from saaskit.store import CasResult, Entry, Store
from saaskit.store.keys import user_tag
from saaskit.store.reads import Read

_SESSION_ID = re.compile(r"[0-9a-f]{32}")


def is_session_id(value: str) -> bool:
    """Whether ``value`` has the form of a session id (``uuid4().hex``)."""
    return _SESSION_ID.fullmatch(value) is not None


def _session_key(user_id: int, session_id: str) -> str:
    return f"{user_tag(user_id)}:sess:{session_id}"


def _token_key(user_id: int, session_id: str) -> str:
    return f"{user_tag(user_id)}:sess:{session_id}:rt"


def _previous_key(user_id: int, session_id: str) -> str:
    return f"{user_tag(user_id)}:sess:{session_id}:prev"


def _user_key(user_id: int) -> str:
    return f"{user_tag(user_id)}:sessions"


def _legacy_keys(session_id: str) -> tuple[str, str, str]:
    """The keys of a session opened before the hash-tagged scheme (saaskit 0.x)."""
    return f"sess:{session_id}", f"sess:{session_id}:rt", f"sess:{session_id}:prev"


def _legacy_user_key(user_id: int) -> str:
    return f"user-sess:{user_id}"


def _digest(jti: str) -> bytes:
    return hashlib.sha256(jti.encode()).hexdigest().encode()


@dataclass(slots=True)
class RefreshSession:
    """One login: who, from where, and until when (epoch seconds).

    ``authenticated_at`` is when the user last proved who they are in this session: the
    login, or a later re-authentication (``POST /auth/reauthenticate``). Refreshing never
    moves it, so a stolen refresh token cannot keep a session "recently authenticated".
    """

    id: str
    user_id: int
    created_at: int
    last_used_at: int
    expires_at: int
    ip: str | None = None
    user_agent: str | None = None
    authenticated_at: int = 0
    actor_id: int | None = None
    """The superuser acting as the user in this session (an impersonation), if any."""

    @property
    def last_authenticated_at(self) -> int:
        """When the user last gave their credentials here.

        Records from older versions have no ``authenticated_at``: their login time.
        """
        return self.authenticated_at or self.created_at

    def authenticated_within(self, seconds: int) -> bool:
        """Whether the user proved who they are here at most ``seconds`` ago."""
        return self.last_authenticated_at + seconds >= int(time.time())

    def encode(self) -> bytes:
        """The session as stored (compact JSON)."""
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> RefreshSession:
        """A stored session, from :meth:`encode`'s bytes (older records included)."""
        data = json.loads(raw)
        try:
            return cls(**data)
        except TypeError:  # written by a newer version with more fields: keep ours
            return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


class SessionManager:
    """Opens, rotates, lists and revokes sessions in a :class:`~saaskit.store.Store`."""

    def __init__(
        self,
        store: Store,
        lifetime_seconds: int,
        *,
        reuse_grace: int = 0,
        legacy_keys: bool = True,
    ) -> None:
        self.store = store
        self.lifetime = lifetime_seconds
        self.reuse_grace = reuse_grace
        self.legacy_keys = legacy_keys

    async def open(
        self,
        user_id: int,
        *,
        ip: str | None = None,
        user_agent: str | None = None,
        also: Sequence[Entry] = (),
        actor_id: int | None = None,
        lifetime: int | None = None,
    ) -> tuple[RefreshSession, str]:
        """Start a session; returns it and the ``jti`` for its first refresh token.

        ``also`` are more entries to write in the same store round trip (the login
        writes the cached user with it); they must carry the user's hash tag.
        ``actor_id`` and a shorter ``lifetime`` open an impersonation session: the
        superuser acting, and never longer than a login session.
        """
        now = int(time.time())
        ttl = min(lifetime, self.lifetime) if lifetime is not None else self.lifetime
        session = RefreshSession(
            id=uuid.uuid4().hex,
            user_id=user_id,
            created_at=now,
            last_used_at=now,
            expires_at=now + ttl,
            ip=ip,
            user_agent=(user_agent or None) and user_agent[:256],
            # An impersonator never proved the user's password: never "recent".
            authenticated_at=now if actor_id is None else -1,
            actor_id=actor_id,
        )
        jti = secrets.token_hex(16)
        await self.store.write_many(
            puts=[
                (_token_key(user_id, session.id), _digest(jti), ttl),
                (_session_key(user_id, session.id), session.encode(), ttl),
                *also,
            ],
            set_adds=[(_user_key(user_id), session.id, self.lifetime)],
        )
        return session, jti

    def read(self, session_id: str, user_id: int) -> Read[RefreshSession | None]:
        """The read of a session, to combine with others in one round trip.

        A session of another user than ``user_id`` reads as missing.
        """
        return Read((_session_key(user_id, session_id),), lambda raws: _owned(raws[0], user_id))

    async def get(self, session_id: str, user_id: int) -> RefreshSession | None:
        """The live session ``session_id`` of ``user_id`` (None if it ended)."""
        if not is_session_id(session_id):
            return None
        found = _owned(await self.store.get(_session_key(user_id, session_id)), user_id)
        if found is None and self.legacy_keys:
            return await self.adopt_legacy(session_id, user_id)
        return found

    async def adopt_legacy(self, session_id: str, user_id: int) -> RefreshSession | None:
        """Move a session stored under the keys of saaskit 0.x to the current keys.

        Returns it, or None when there is no such session of ``user_id``. The old keys are
        deleted in the same step, so a later logout cannot leave a copy to bring back.
        """
        if not self.legacy_keys or not is_session_id(session_id):
            return None
        old_session, old_token, old_previous = _legacy_keys(session_id)
        raw, digest = await self.store.get_many([old_session, old_token])
        session = _owned(raw, user_id)
        if session is None or digest is None:
            # Moved by a concurrent request meanwhile, or never there.
            return _owned(await self.store.get(_session_key(user_id, session_id)), user_id)
        ttl = max(1, session.expires_at - int(time.time()))
        await self.store.write_many(
            puts=[
                (_token_key(user_id, session_id), digest, ttl),
                (_session_key(user_id, session_id), session.encode(), ttl),
            ],
            set_adds=[(_user_key(user_id), session_id, self.lifetime)],
        )
        await self.store.delete(old_session, old_token, old_previous)
        await self.store.set_remove(_legacy_user_key(user_id), session_id)
        return session

    async def rotate(self, session_id: str, user_id: int, jti: str) -> tuple[RefreshSession, str]:
        """Swap the current refresh token ``jti`` for a new one.

        Raises :class:`InvalidToken` if the session is gone, and revokes the session
        first when ``jti`` is an already-used token. The token replaced last, presented
        within ``reuse_grace`` seconds, is refused without revoking: that is two tabs
        refreshing at once, not theft (a thief gains nothing: the request fails).
        """
        if not is_session_id(session_id):
            raise InvalidToken()
        new_jti = secrets.token_hex(16)
        outcome = await self._swap(session_id, user_id, jti, new_jti)
        if outcome is CasResult.MISSING and await self.adopt_legacy(session_id, user_id):
            outcome = await self._swap(session_id, user_id, jti, new_jti)
        if (
            outcome is CasResult.MISMATCH
            and self.reuse_grace
            and await self.store.get(_previous_key(user_id, session_id)) == _digest(jti)
        ):
            raise InvalidToken("This refresh token was just replaced by another request.")
        if outcome is CasResult.MISMATCH:
            await self.revoke(session_id, user_id)
            raise RefreshTokenReused()
        session = await self.get(session_id, user_id) if outcome is CasResult.SWAPPED else None
        if session is None:
            raise InvalidToken()
        session.last_used_at = int(time.time())
        if not await self.save(session):
            # Revoked between the swap and this write (a concurrent reuse, logout-all).
            raise InvalidToken("The session has ended; log in again.")
        return session, new_jti

    async def _swap(self, session_id: str, user_id: int, jti: str, new_jti: str) -> CasResult:
        return await self.store.compare_and_set(
            _token_key(user_id, session_id),
            _digest(jti),
            _digest(new_jti),
            previous=(_previous_key(user_id, session_id), self.reuse_grace),
        )

    async def mark_authenticated(self, session: RefreshSession) -> bool:
        """Record that the user just proved who they are in ``session``; False if it ended."""
        session.authenticated_at = int(time.time())
        return await self.save(session)

    async def save(self, session: RefreshSession) -> bool:
        """Write ``session`` back if it still exists; False if it ended meanwhile.

        Replace only: a session revoked meanwhile is never re-created.
        """
        ttl = max(1, session.expires_at - int(time.time()))
        key = _session_key(session.user_id, session.id)
        return await self.store.replace(key, session.encode(), ttl=ttl)

    async def for_user(self, user_id: int) -> list[RefreshSession]:
        """The user's live sessions, newest first."""
        if self.legacy_keys:
            for old in await self.store.set_members(_legacy_user_key(user_id)):
                await self.adopt_legacy(old, user_id)
        ids = sorted(await self.store.set_members(_user_key(user_id)))
        raws = await self.store.get_many([_session_key(user_id, i) for i in ids])
        sessions = [RefreshSession.decode(raw) for raw in raws if raw]
        for stale in {i for i, raw in zip(ids, raws, strict=True) if raw is None}:
            await self.store.set_remove(_user_key(user_id), stale)
        return sorted(sessions, key=lambda s: s.created_at, reverse=True)

    async def revoke(self, session_id: str, user_id: int) -> None:
        """End ``session_id`` of ``user_id`` (nothing happens if there is no such session)."""
        await self.store.delete(
            _session_key(user_id, session_id),
            _token_key(user_id, session_id),
            _previous_key(user_id, session_id),
        )
        await self.store.set_remove(_user_key(user_id), session_id)
        if self.legacy_keys and is_session_id(session_id):
            old_session, *_ = _legacy_keys(session_id)
            if _owned(await self.store.get(old_session), user_id) is not None:
                await self.store.delete(*_legacy_keys(session_id))
                await self.store.set_remove(_legacy_user_key(user_id), session_id)

    async def revoke_owned(self, session_id: str, user_id: int) -> None:
        """Revoke ``session_id`` if it belongs to ``user_id``; else :class:`SessionNotFound`.

        Ids that are not session ids (``<id>:rt``...) are not found: they never reach a
        store key.
        """
        session = await self.get(session_id, user_id)
        if session is None:
            raise SessionNotFound()
        await self.revoke(session_id, user_id)

    async def revoke_all(self, user_id: int, *, keep: str | None = None) -> int:
        """End every session of the user except ``keep``; returns how many ended."""
        ids = set(await self.store.set_members(_user_key(user_id)))
        if self.legacy_keys:
            ids |= await self.store.set_members(_legacy_user_key(user_id))
        ended = 0
        for session_id in ids - {keep} if keep else ids:
            await self.revoke(session_id, user_id)
            ended += 1
        return ended


def _owned(raw: bytes | None, user_id: int) -> RefreshSession | None:
    """The session stored as ``raw`` if it belongs to ``user_id``."""
    if raw is None:
        return None
    session = RefreshSession.decode(raw)
    return session if session.user_id == user_id else None
