"""The API key credential reader (method ``"api_key"``).

A key comes in ``Authorization: Bearer <key>`` or in the API key header (``X-API-Key``);
both are documented in OpenAPI (the bearer scheme of sessions, and this header). The
reader recognises a key by its prefix; :meth:`ApiKeyReader.precheck` refuses a key whose
form or checksum is wrong before the body is read and before any lookup.

The hot path is one store round trip: the key's cached record, its recent IPs and the
cached user (plus the organization memberships a dependency announced,
:mod:`saaskit.auth.prefetch`) share the owner's hash slot and are read in one ``MGET``.
Then the keyed hash is compared in constant time, the expiry checked, the per-key rate
limit counted (one more store call, when set) and the use noted in memory.

Refused keys are counted per client IP (429 past ``failures_per_ip``), and so are the
database lookups of keys missing from the cache (``lookups_per_ip``): guessing keys costs
the guesser, not the database. A refused key is never logged; a key's public identifier
(not secret) is what logs and audit events name.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Generic

from fastapi.security import APIKeyHeader
from starlette.requests import Request

from saaskit.apikeys import format as key_format
from saaskit.apikeys.service import ApiKeyService, KeyRecord, ips_key, record_key
from saaskit.auth import prefetch
from saaskit.auth.credentials import Principal
from saaskit.exceptions import InvalidToken
from saaskit.ratelimit import RateLimiter
from saaskit.store.keys import user_tag
from saaskit.store.reads import Read
from saaskit.types import ClientInfo, UserT
from saaskit.users.cache import UserCache
from saaskit.users.service import UserService

__all__ = ["API_KEY", "ApiKeyReader", "ApiKeyScheme"]

API_KEY = "api_key"
"""The method of a principal proved by an API key."""

_REFUSED = "The API key is invalid, revoked or expired."

_REQUEST: ContextVar[Request | None] = ContextVar("saaskit_api_key_request", default=None)


class ApiKeyScheme(APIKeyHeader):
    """Extracts a key from its header, or from ``Authorization: Bearer`` when it has the prefix.

    Documented in OpenAPI as an API key header; the bearer form shares the sessions' scheme.
    """

    def __init__(self, header: str, prefix: str) -> None:
        super().__init__(
            name=header,
            scheme_name="APIKey",
            description=f"An API key (`{prefix}...`), in this header or as `Authorization: "
            "Bearer <key>`.",
            auto_error=False,
        )
        self.prefix = prefix

    async def __call__(self, request: Request) -> str | None:  # type: ignore[override]
        """The key the request presents, if any."""
        key = request.headers.get(self.model.name)
        if not key:
            authorization = request.headers.get("authorization")
            if not authorization or authorization[:7].lower() != "bearer ":
                return None
            key = authorization[7:].strip()
            if not key.startswith(self.prefix):
                return None
        _REQUEST.set(request)
        return key


class ApiKeyReader(Generic[UserT]):
    """Reads API keys (see the module docs)."""

    method = API_KEY
    MAX_REMEMBERED = 10_000

    def __init__(
        self,
        service: ApiKeyService,
        users: UserService[UserT],
        cache: UserCache[UserT],
        limiter: RateLimiter,
        client_info: Any,
        header: str,
    ) -> None:
        self.service = service
        self.users = users
        self.cache = cache
        self.limiter = limiter
        self.client_info = client_info
        self.prefix = service.prefix
        self.settings = service.settings
        self.scheme = ApiKeyScheme(header, self.prefix)
        self._known: dict[str, _Parsed] = {}

    def recognizes(self, credential: str) -> bool:
        """Whether ``credential`` starts with this kit's key prefix (no I/O)."""
        return credential.startswith(self.prefix)

    def _parsed(self, credential: str) -> _Parsed | None:
        """The key's parts, store keys and hash; remembered for well-formed keys (bounded).

        Nothing here is trusted: the hash is compared with the stored one every time.
        """
        known = self._known.get(credential)
        if known is None:
            parsed = key_format.parse(self.prefix, credential)
            if parsed is None:
                return None
            owner, public_id = parsed.owner_id, parsed.public_id
            user = self.cache.read(owner)
            known = _Parsed(
                owner,
                public_id,
                (record_key(owner, public_id), ips_key(owner, public_id), *user.keys),
                user,
                self.service.hash(credential),
            )
            if len(self._known) >= self.MAX_REMEMBERED:
                self._known.clear()
            self._known[credential] = known
        return known

    def precheck(self, credential: str) -> None:
        """Refuse a key whose form or checksum is wrong (no I/O).

        Raises:
            InvalidToken: not a well-formed key.
        """
        if self._parsed(credential) is None:
            raise InvalidToken(_REFUSED)

    def _client(self) -> ClientInfo:
        request = _REQUEST.get()
        if request is None:
            return ClientInfo()
        info: ClientInfo = self.client_info(request)
        return info

    async def _refuse(self, client: ClientInfo) -> None:
        """Count a refused key against the client's IP, then refuse it (401, or 429).

        One answer for every reason (malformed, unknown, revoked, expired, wrong secret,
        user gone): the answer tells nothing about which keys exist.
        """
        await self.limiter.hit_limit(
            "api_key_failure_ip",
            self.settings.failures_per_ip,
            client.ip,
            "Too many invalid API keys from this address; try again later.",
        )
        raise InvalidToken(_REFUSED)

    async def read(self, credential: str) -> Principal[UserT]:
        """The principal of a valid, live key whose user still exists.

        Raises:
            InvalidToken: malformed, wrong checksum, unknown, revoked or expired key, or
                its user is gone (401; 429 when the client's IP refused too many).
            RateLimited: the key is over its rate limit (429 with ``Retry-After``).
        """
        client = self._client()
        parsed = self._parsed(credential)
        if parsed is None:  # checked before any store or database read
            await self._refuse(client)
            raise AssertionError  # pragma: no cover - _refuse raises
        owner, public_id, keys, user_read = parsed.owner, parsed.public_id, parsed.keys, parsed.user
        extra = prefetch.wanted()
        if extra:
            tag = user_tag(owner)
            values = await self.service.store.get_many(keys + tuple(f"{tag}:{s}" for s in extra))
            prefetch.fetched(dict(zip(extra, values[len(keys) :], strict=True)))
        else:
            values = await self.service.store.get_many(keys)
        record = KeyRecord.decode(values[0])
        if record is None:
            await self.limiter.hit_limit(
                "api_key_lookup_ip",
                self.settings.lookups_per_ip,
                client.ip,
                "Too many unknown API keys from this address; try again later.",
            )
            record = await self.service.load(owner, public_id)
            if record is None:
                await self._refuse(client)
                raise AssertionError  # pragma: no cover
        if not self.service.check(record, parsed.hashed):
            await self._refuse(client)
        user = user_read.decode(values[2 : 2 + len(user_read.keys)])
        if user is None:
            user = await self.users.load(owner)
            if user is None:
                await self._refuse(client)
                raise AssertionError  # pragma: no cover
        limit = self.settings.rate_limit
        if limit is not None:
            await self.limiter.hit_limit(
                "api_key", limit, public_id, "This API key is over its rate limit."
            )
        if client.ip is not None and not _knows(values[1], client.ip):
            await self.service.seen_from(owner, public_id, record, client.ip, values[1])
        self.service.touch(public_id, client.ip)
        return Principal(user, API_KEY, public_id, record.scopes, record.organization_id)


class _Parsed:
    """A well-formed key: its owner, public id, the store keys it reads, its hash."""

    __slots__ = ("hashed", "keys", "owner", "public_id", "user")

    def __init__(
        self, owner: int, public_id: str, keys: tuple[str, ...], user: Read[Any], hashed: str
    ) -> None:
        self.owner = owner
        self.public_id = public_id
        self.keys = keys
        self.user = user
        self.hashed = hashed


def _knows(raw: bytes | None, ip: str) -> bool:
    """Whether the cached recent IPs (JSON list) name ``ip`` (a byte search, then JSON)."""
    return raw is not None and f'"{ip}"'.encode() in raw
