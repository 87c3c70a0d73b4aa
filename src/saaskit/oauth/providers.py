"""Talking to one provider: the authorization URL, the code exchange, who the user is.

The OAuth 2.0 protocol work (PKCE S256 challenge, the authorization URL, the token request
with client authentication, OAuth error responses) is Authlib's ``AsyncOAuth2Client``
(``saaskit[oauth]``, imported on first use). ID tokens are checked here with PyJWT (a core
dependency) against the provider's JWKS: the signature with an asymmetric algorithm the
provider announces (never ``none``, never HMAC), ``iss`` equal to the configured issuer,
``aud`` containing the client id (and ``azp`` equal to it when there are several
audiences), ``exp``/``iat`` within the leeway, and ``nonce`` equal to the one stored for
the flow. An unknown ``kid`` refetches the JWKS once (key rotation).

GitHub is not OpenID Connect: its user is read from ``/user`` and its email from
``/user/emails``, whose ``verified`` flag is what "verified" means for it (the primary
address, if verified).
"""

from __future__ import annotations

import dataclasses
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from saaskit.exceptions import require_module
from saaskit.oauth.errors import OAuthProviderError
from saaskit.oauth.schemas import OAuthSettings, ProviderSettings
from saaskit.oauth.tokens import ProviderTokens

__all__ = ["Endpoints", "ProviderClient", "ProviderIdentity"]

GITHUB_AUTHORIZE = "https://github.com/login/oauth/authorize"
GITHUB_TOKEN = "https://github.com/login/oauth/access_token"
GITHUB_API = "https://api.github.com"
GOOGLE_ISSUER = "https://accounts.google.com"
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_MAX_DOCUMENT = 256 * 1024  # a discovery document, a JWKS or a user API answer


@dataclass(frozen=True)
class Endpoints:
    """Where a provider's endpoints are (after discovery and the settings' overrides)."""

    authorization: str
    token: str
    userinfo: str | None = None
    jwks: str | None = None
    issuer: str | None = None
    algorithms: frozenset[str] = frozenset({"RS256"})


@dataclass(frozen=True)
class ProviderIdentity:
    """Who the provider says the user is."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None = None
    tokens: ProviderTokens | None = None
    """The token endpoint's answer (kept only with ``store_provider_tokens``)."""


def _tokens(token: dict[str, Any]) -> ProviderTokens | None:
    """The provider's tokens from its token endpoint's answer (RFC 6749 section 5.1)."""
    access = token.get("access_token")
    if not isinstance(access, str) or not access:
        return None
    refresh = token.get("refresh_token")
    expires_at = token.get("expires_at")  # Authlib adds it from expires_in
    scope = token.get("scope")
    return ProviderTokens(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=(
            datetime.fromtimestamp(expires_at, UTC)
            if isinstance(expires_at, int | float) and not isinstance(expires_at, bool)
            else None
        ),
        scope=scope[:1024] if isinstance(scope, str) else None,
    )


class ProviderClient:
    """One configured provider.

    Args:
        key: the provider's key in the settings (and in URLs).
        settings: its settings.
        oauth: the feature's settings (timeouts, leeway).
        callback_url: the redirect URI registered with the provider.
    """

    def __init__(
        self, key: str, settings: ProviderSettings, oauth: OAuthSettings, callback_url: str
    ) -> None:
        self.key = key
        self.settings = settings
        self.oauth = oauth
        self.callback_url = callback_url
        self.kind = settings.kind
        self.display_name = settings.display_name or key.replace("_", " ").title()
        self.openid = settings.kind != "github"
        self.issuer = settings.issuer or (GOOGLE_ISSUER if settings.kind == "google" else None)
        self._endpoints: Endpoints | None = None
        self._jwks: dict[str, Any] | None = None

    @property
    def scopes(self) -> list[str]:
        """The scopes asked for."""
        if self.settings.scopes is not None:
            return self.settings.scopes
        return (
            ["read:user", "user:email"] if self.kind == "github" else ["openid", "email", "profile"]
        )

    def _client(self) -> Any:
        require_module("authlib", "oauth")
        require_module("httpx2", "oauth")  # Authlib's async client runs on it
        from authlib.integrations.httpx_client import (  # type: ignore[import-untyped]
            AsyncOAuth2Client,
        )

        secret = self.settings.client_secret
        method = self.settings.token_auth_method or (
            "client_secret_post" if self.kind == "github" else "client_secret_basic"
        )
        return AsyncOAuth2Client(
            client_id=self.settings.client_id,
            client_secret=secret.get_secret_value() if secret else None,
            scope=" ".join(self.scopes),
            redirect_uri=self.callback_url,
            code_challenge_method="S256",
            token_endpoint_auth_method=method if secret else "none",
            timeout=self.oauth.http_timeout_seconds,
            follow_redirects=False,
        )

    async def _get_json(self, client: Any, url: str, *, authorized: bool = False) -> Any:
        """GET a JSON document (with the access token fetched by ``client`` if ``authorized``)."""
        response = await client.request(
            "GET", url, headers={"Accept": "application/json"}, withhold_token=not authorized
        )
        if response.status_code != 200 or len(response.content) > _MAX_DOCUMENT:
            raise OAuthProviderError()
        try:
            return json.loads(response.content)
        except ValueError:
            raise OAuthProviderError() from None

    async def endpoints(self) -> Endpoints:
        """The provider's endpoints (the discovery document is read once)."""
        if self._endpoints is not None:
            return self._endpoints
        s = self.settings
        if self.kind == "github":
            self._endpoints = Endpoints(
                authorization=s.authorization_url or GITHUB_AUTHORIZE,
                token=s.token_url or GITHUB_TOKEN,
            )
            return self._endpoints
        assert self.issuer is not None  # the settings require one for `oidc`
        url = s.discovery_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            async with self._client() as client:
                document = await self._get_json(client, url)
        except OAuthProviderError:
            raise
        except Exception as error:  # network, TLS: the provider is unreachable
            raise OAuthProviderError() from error
        if not isinstance(document, dict) or document.get("issuer") != self.issuer:
            raise OAuthProviderError()  # OIDC Discovery §4.3: the issuer must match exactly
        announced = document.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = frozenset(a for a in announced if a in ASYMMETRIC)
        self._endpoints = Endpoints(
            authorization=s.authorization_url or document["authorization_endpoint"],
            token=s.token_url or document["token_endpoint"],
            userinfo=s.userinfo_url or document.get("userinfo_endpoint"),
            jwks=s.jwks_url or document["jwks_uri"],
            issuer=self.issuer,
            algorithms=algorithms or frozenset({"RS256"}),
        )
        return self._endpoints

    async def authorization_url(self, *, state: str, nonce: str, verifier: str) -> str:
        """Where to send the browser (PKCE S256, ``state``, and ``nonce`` for OpenID Connect)."""
        endpoints = await self.endpoints()
        extra = {"nonce": nonce} if self.openid else {}
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                endpoints.authorization, state=state, code_verifier=verifier, **extra
            )
        return str(url)

    async def identity(self, *, code: str, verifier: str, nonce: str) -> ProviderIdentity:
        """Exchange ``code`` and find out who logged in.

        Raises:
            OAuthProviderError: the provider refused, or its answer failed a check.
        """
        endpoints = await self.endpoints()
        try:
            async with self._client() as client:
                token = await client.fetch_token(
                    endpoints.token,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=verifier,
                )
                if self.openid:
                    found = await self._oidc_identity(client, endpoints, token, nonce)
                else:
                    found = await self._github_identity(client)
                return dataclasses.replace(found, tokens=_tokens(token))
        except OAuthProviderError:
            raise
        except Exception as error:  # Authlib's OAuthError, network errors, bad JSON
            raise OAuthProviderError() from error

    async def _oidc_identity(
        self, client: Any, endpoints: Endpoints, token: dict[str, Any], nonce: str
    ) -> ProviderIdentity:
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OAuthProviderError()
        claims = await self.verify_id_token(id_token, nonce)
        subject = str(claims["sub"])
        email, verified, name = (
            claims.get("email"),
            claims.get("email_verified"),
            claims.get("name"),
        )
        if email is None and endpoints.userinfo:
            info = await self._get_json(client, endpoints.userinfo, authorized=True)
            if not isinstance(info, dict) or str(info.get("sub")) != subject:
                raise OAuthProviderError()  # OIDC Core §5.3.2: userinfo must be the same user
            email, verified, name = info.get("email"), info.get("email_verified"), info.get("name")
        return ProviderIdentity(
            provider=self.key,
            subject=subject,
            email=email if isinstance(email, str) else None,
            email_verified=verified is True or verified == "true",
            name=name if isinstance(name, str) else None,
        )

    async def _github_identity(self, client: Any) -> ProviderIdentity:
        api = (self.settings.api_url or GITHUB_API).rstrip("/")
        user = await self._get_json(client, f"{api}/user", authorized=True)
        emails = await self._get_json(client, f"{api}/user/emails", authorized=True)
        if not isinstance(user, dict) or not isinstance(user.get("id"), int):
            raise OAuthProviderError()
        primary = (
            next((e for e in emails if isinstance(e, dict) and e.get("primary") is True), None)
            if isinstance(emails, list)
            else None
        )
        email = primary.get("email") if primary else None
        return ProviderIdentity(
            provider=self.key,
            subject=str(user["id"]),
            email=email if isinstance(email, str) else None,
            email_verified=bool(primary and primary.get("verified") is True),
            name=user.get("name") if isinstance(user.get("name"), str) else None,
        )

    async def _keys(self, refresh: bool = False) -> dict[str, Any]:
        if self._jwks is None or refresh:
            endpoints = await self.endpoints()
            assert endpoints.jwks is not None
            async with self._client() as client:
                document = await self._get_json(client, endpoints.jwks)
            if not isinstance(document, dict):
                raise OAuthProviderError()
            self._jwks = document
        return self._jwks

    def _find_key(self, jwks: dict[str, Any], kid: str | None, alg: str) -> Any | None:
        try:
            keys = jwt.PyJWKSet.from_dict(jwks).keys
        except jwt.PyJWTError:
            return None
        usable = [k for k in keys if k.public_key_use in (None, "sig")]
        if kid is not None:
            usable = [k for k in usable if k.key_id == kid]
        elif len(usable) != 1:
            return None
        return usable[0] if usable else None

    async def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of ``id_token`` once every check passed.

        Raises:
            OAuthProviderError: a check failed.
        """
        endpoints = await self.endpoints()
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise OAuthProviderError() from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in endpoints.algorithms:
            raise OAuthProviderError()
        key = self._find_key(await self._keys(), kid, alg)
        if key is None:  # rotated keys: read the JWKS again, once
            key = self._find_key(await self._keys(refresh=True), kid, alg)
        if key is None:
            raise OAuthProviderError()
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=[alg],
                audience=self.settings.client_id,
                issuer=self.issuer,
                leeway=self.oauth.clock_leeway_seconds,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError:
            raise OAuthProviderError() from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.settings.client_id:
            raise OAuthProviderError()
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OAuthProviderError()
        return claims
