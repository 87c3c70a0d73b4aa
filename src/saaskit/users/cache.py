"""Users cached in the store, so a protected route needs no database query.

The cached form is the row's columns as JSON, less ``hashed_password`` (kept out of the
store; a cached user carries an empty string there, and services that check passwords
always read the database). A cached user comes back as a *detached*
instance of the host's model: read it freely, or ``session.add(user)`` to change it.
saaskit invalidates the entry whenever one of its services changes the user; code that
updates users behind saaskit's back should call ``kit.users.invalidate(user_id)``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic
from uuid import UUID

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm.base import instance_state, manager_of_class

from saaskit.store import Entry, Store
from saaskit.store.keys import user_tag
from saaskit.store.reads import Read
from saaskit.types import UserT as UserT  # re-exported: hosts and older code import it here

_NOT_CACHED = frozenset({"hashed_password"})


def _cache_key(user_id: int) -> str:
    # The user's hash tag: read with the session in one MGET (saaskit.store.keys).
    return f"{user_tag(user_id)}:user"


def _legacy_cache_key(user_id: int) -> str:
    return f"user:{user_id}"  # saaskit 0.x, before hash tags


_DECODERS: dict[type, Any] = {
    datetime: datetime.fromisoformat,
    date: date.fromisoformat,
    Decimal: Decimal,
    UUID: UUID,
}


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


class UserCodec(Generic[UserT]):
    """Turns a user row into bytes and back, for any model built on UserMixin."""

    def __init__(self, model: type[UserT]) -> None:
        self.model = model
        self._manager = manager_of_class(model)
        self._mapper = self._manager.mapper
        self._decoders: dict[str, Any] = {}
        self._keys: list[str] = []
        #: Every mapped column, labelled with its attribute name (see :meth:`from_row`).
        self.columns = [attr.columns[0].label(attr.key) for attr in sa_inspect(model).column_attrs]
        for attr in sa_inspect(model).column_attrs:
            if attr.key in _NOT_CACHED:
                continue
            self._keys.append(attr.key)
            try:
                python_type = attr.columns[0].type.python_type
            except NotImplementedError:
                continue
            for kind, decoder in _DECODERS.items():
                if issubclass(python_type, kind):
                    self._decoders[attr.key] = decoder
                    break

    def encode(self, user: UserT) -> bytes:
        """The user's cached columns as compact JSON."""
        data = {key: _encode_value(getattr(user, key)) for key in self._keys}
        return json.dumps(data, separators=(",", ":")).encode()

    def decode(self, raw: bytes) -> UserT:
        """A detached user from :meth:`encode`'s bytes."""
        data: dict[str, Any] = json.loads(raw)
        for key, decoder in self._decoders.items():
            if data.get(key) is not None:
                data[key] = decoder(data[key])
        data["hashed_password"] = ""
        return self.from_row(data)

    def from_row(self, data: dict[str, Any]) -> UserT:
        """A user from a row of :attr:`columns` (or the cache's decoded JSON).

        Built the way a query result is built (no constructor, no attribute events): it
        comes out detached, clean, with its identity key.
        """
        user: UserT = self._manager.new_instance()
        user.__dict__.update(data)
        instance_state(user).key = self._mapper.identity_key_from_primary_key((data["id"],))
        return user


class UserCache(Generic[UserT]):
    """Read-through cache of users in the store."""

    def __init__(
        self, store: Store, model: type[UserT], ttl: int, *, legacy_keys: bool = False
    ) -> None:
        self.store = store
        self.codec = UserCodec(model)
        self.ttl = ttl
        self.legacy_keys = legacy_keys

    def read(self, user_id: int) -> Read[UserT | None]:
        """The cached user, as a read to combine with others in one round trip."""
        decode = self.codec.decode
        return Read((_cache_key(user_id),), lambda raws: decode(raws[0]) if raws[0] else None)

    async def get(self, user_id: int) -> UserT | None:
        """The cached user (None when not cached)."""
        raw = await self.store.get(_cache_key(user_id))
        return self.codec.decode(raw) if raw else None

    async def put(self, user: UserT) -> None:
        """Cache ``user`` (and its lookup entries) for the cache's TTL."""
        for key, value, ttl in self.entries(user):
            await self.store.put(key, value, ttl=ttl)

    def entries(self, user: UserT) -> list[Entry]:
        """What :meth:`put` writes, to write it with other entries in one round trip."""
        if self.ttl <= 0:
            return []
        return [(_cache_key(user.id), self.codec.encode(user), self.ttl)]

    async def invalidate(self, user_id: int) -> None:
        """Forget the cached user (the next read loads it from the database)."""
        await self.store.delete(_cache_key(user_id))
        if self.legacy_keys:  # still read by processes of the previous version
            await self.store.delete(_legacy_cache_key(user_id))
