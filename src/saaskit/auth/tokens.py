"""JWT access and refresh tokens (PyJWT, HS256 pinned).

Claims: ``sub`` (user id), ``type`` (``access`` or ``refresh``), ``sid`` (login session),
``jti``, ``iss``, ``aud``, ``iat``, ``exp``. Every one is required on decode, and the
``type`` must be the one the caller expects, so a refresh token never works as an access
token nor the reverse.
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
    ) -> tuple[str, TokenClaims]:
        """Sign a token; access tokens default to ``access_ttl`` seconds from now."""
        now = int(time.time())
        exp = expires_at if expires_at is not None else now + self.access_ttl
        claims = TokenClaims(
            user_id=user_id,
            session_id=session_id,
            jti=jti or uuid.uuid4().hex,
            type=type_,
            expires_at=exp,
        )
        payload = {
            "sub": str(user_id),
            "type": type_,
            "sid": session_id,
            "jti": claims.jti,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": exp,
        }
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
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
            raise InvalidToken() from error
