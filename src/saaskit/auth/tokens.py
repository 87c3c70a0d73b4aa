"""JWT access and refresh tokens (PyJWT, HS256 pinned).

Claims: ``sub`` (user id), ``type`` (``access`` or ``refresh``), ``sid`` (login session),
``jti``, ``iss``, ``aud``, ``iat``, ``exp``. Every one is required on decode, and the
``type`` must be the one the caller expects, so a refresh token never works as an access
token nor the reverse.

A token of an impersonation session also carries ``act`` (RFC 8693 §4.1):
``{"sub": "<superuser id>"}``, the person actually acting. It is signed with the rest, and
the session reader checks it against the session's record (see
:mod:`saaskit.auth.credentials`), so it can be neither added, dropped nor changed.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from saaskit.exceptions import InvalidToken

TokenType = Literal["access", "refresh"]
ActionType = Literal["verify", "reset", "email_change"]
ALGORITHM = "HS256"
_REQUIRED = ["sub", "type", "sid", "jti", "iss", "aud", "iat", "exp"]


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The verified content of a token."""

    user_id: int
    session_id: str
    jti: str
    type: TokenType
    expires_at: int
    actor_id: int | None = None
    """The ``act`` claim's ``sub``: the superuser acting as ``user_id`` (impersonation)."""


class TokenCodec:
    """Issues and verifies tokens with one secret key."""

    def __init__(self, secret_key: str, *, issuer: str, audience: str, access_ttl: int) -> None:
        self._key = secret_key
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl
        self._options = {"require": _REQUIRED}

    def issue(
        self,
        type_: TokenType,
        *,
        user_id: int,
        session_id: str,
        expires_at: int | None = None,
        jti: str | None = None,
        actor_id: int | None = None,
    ) -> tuple[str, TokenClaims]:
        """Sign a token; access tokens default to ``access_ttl`` seconds from now.

        ``actor_id`` adds the RFC 8693 ``act`` claim (an impersonation session's tokens).
        """
        now = int(time.time())
        exp = expires_at if expires_at is not None else now + self.access_ttl
        claims = TokenClaims(
            user_id=user_id,
            session_id=session_id,
            jti=jti or uuid.uuid4().hex,
            type=type_,
            expires_at=exp,
            actor_id=actor_id,
        )
        payload: dict[str, Any] = {
            "sub": str(user_id),
            "type": type_,
            "sid": session_id,
            "jti": claims.jti,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": exp,
        }
        if actor_id is not None:
            payload["act"] = {"sub": str(actor_id)}
        return jwt.encode(payload, self._key, algorithm=ALGORITHM), claims

    def issue_action(
        self, type_: ActionType, *, user_id: int, ttl: int, claims: dict[str, str]
    ) -> str:
        """A one-purpose token (email verification, password reset).

        Its audience is ``{audience}:{type}``, so it can never pass as a session token.
        """
        now = int(time.time())
        payload = {
            **claims,
            "sub": str(user_id),
            "type": type_,
            "jti": uuid.uuid4().hex,
            "iss": self.issuer,
            "aud": f"{self.audience}:{type_}",
            "iat": now,
            "exp": now + ttl,
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def decode_action(self, token: str, expected: ActionType) -> dict[str, Any]:
        """Verify an action token; returns its claims (``sub`` as int)."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=f"{self.audience}:{expected}",
                issuer=self.issuer,
                options={"require": ["sub", "type", "jti", "iss", "aud", "iat", "exp"]},
            )
            if payload["type"] != expected:
                raise InvalidToken()
            payload["sub"] = int(payload["sub"])
            return payload
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
            raise InvalidToken() from error

    def decode(self, token: str, expected: TokenType) -> TokenClaims:
        """Verify signature, algorithm, expiry, issuer, audience and type."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options=self._options,  # type: ignore[arg-type]
            )
            if payload["type"] != expected:
                raise InvalidToken()
            return TokenClaims(
                user_id=int(payload["sub"]),
                session_id=str(payload["sid"]),
                jti=str(payload["jti"]),
                type=expected,
                expires_at=int(payload["exp"]),
                actor_id=_actor(payload.get("act")),
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
            raise InvalidToken() from error


def _actor(act: Any) -> int | None:
    """The acting user's id from an ``act`` claim (``None`` without one).

    Only the form the kit issues is accepted (``{"sub": "<digits>"}``, no nested chain).

    Raises:
        InvalidToken: the claim has another form.
    """
    if act is None:
        return None
    if not isinstance(act, dict) or set(act) != {"sub"}:
        raise InvalidToken()
    sub = act["sub"]
    if not isinstance(sub, str) or not sub.isdigit() or len(sub) > 10:
        raise InvalidToken()
    return int(sub)
