"""The OAuth login settings section (``SAASKIT_OAUTH__*``) and request/response bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

from saaskit.settings import Limit, RateLimit
from saaskit.text import SingleLine

__all__ = [
    "HandoffExchange",
    "LinkStart",
    "LinkStarted",
    "OAuthAccountRead",
    "OAuthProviderRead",
    "OAuthSettings",
    "ProviderSettings",
]

ProviderKind = Literal["github", "google", "oidc"]

_URL = r"^https?://[^/?#\s]+"


class ProviderSettings(BaseModel):
    """One login provider: a preset (``github``, ``google``) or any OpenID Connect issuer.

    Every endpoint can be overridden (a proxy, or ``saaskit.testing.FakeOAuthProvider`` in
    tests); unset endpoints come from the preset or, for OpenID Connect, from the issuer's
    discovery document.
    """

    kind: ProviderKind = Field(
        "oidc", description="`github` (OAuth 2.0 + its user API), `google` or `oidc`."
    )
    client_id: str = Field(..., min_length=1, description="The client id registered there.")
    client_secret: SecretStr | None = Field(
        None, description="The client secret (sent with HTTP Basic, or in the body)."
    )
    display_name: str | None = Field(None, description="Shown on the button (default: the key).")
    issuer: str | None = Field(
        None,
        pattern=_URL,
        description="OpenID Connect issuer (`oidc`: required; `google`: "
        "`https://accounts.google.com`). ID tokens must name it exactly.",
    )
    discovery_url: str | None = Field(
        None,
        pattern=_URL,
        description="Discovery document (default: `{issuer}/.well-known/openid-configuration`).",
    )
    authorization_url: str | None = Field(None, pattern=_URL, description="Overrides the preset.")
    token_url: str | None = Field(None, pattern=_URL, description="Overrides the preset.")
    userinfo_url: str | None = Field(None, pattern=_URL, description="Overrides the preset.")
    jwks_url: str | None = Field(None, pattern=_URL, description="Overrides the preset.")
    api_url: str | None = Field(
        None, pattern=_URL, description="GitHub's API base (default `https://api.github.com`)."
    )
    scopes: list[str] | None = Field(
        None,
        description="Scopes asked for (default: `openid email profile`; GitHub: "
        "`read:user user:email`).",
    )
    token_auth_method: Literal["client_secret_basic", "client_secret_post"] | None = Field(
        None,
        description="How the secret goes to the token endpoint (default: basic; GitHub: post).",
    )

    @model_validator(mode="after")
    def _oidc_needs_an_issuer(self) -> ProviderSettings:
        if self.kind == "oidc" and self.issuer is None:
            raise ValueError("an `oidc` provider needs its `issuer` URL")
        return self


class OAuthSettings(BaseModel):
    """``SAASKIT_OAUTH__*``: "Sign in with ..." (off unless ``providers`` is set).

    Example (``.env``)::

        SAASKIT_OAUTH__CALLBACK_BASE_URL=https://api.example.com
        SAASKIT_OAUTH__PROVIDERS='{"github": {"kind": "github", "client_id": "...",
            "client_secret": "..."}}'
    """

    providers: dict[str, ProviderSettings] = Field(
        default_factory=dict,
        description="Provider key (in URLs: `/oauth/{key}/...`) → settings (JSON). Empty: the "
        "feature is off.",
    )
    callback_base_url: str = Field(
        "http://localhost:8000",
        pattern=_URL,
        description="Public base URL of this API: callbacks are "
        "`{callback_base_url}{api_prefix}/oauth/{key}/callback` (register that URL with the "
        "provider; never taken from the request's Host header).",
    )
    frontend_callback_path: str = Field(
        "/oauth/callback",
        pattern=r"^/",
        description="Page under `email.frontend_url` the browser lands on with the handoff "
        "code when the client names no `redirect_to`.",
    )
    allowed_redirect_origins: list[str] = Field(
        default_factory=list,
        description="More origins `redirect_to` may point at (the origin of "
        "`email.frontend_url` and the exact `cors.origins` are allowed already).",
    )
    state_ttl_seconds: int = Field(
        600, ge=30, le=3600, description="How long a started login may take at the provider."
    )
    handoff_ttl_seconds: int = Field(
        60, ge=5, le=600, description="How long the handoff code is valid (single use)."
    )
    cookie_name: str = Field(
        "saaskit_oauth",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="The cookie that binds a login to the browser that started it.",
    )
    store_provider_tokens: bool = Field(
        False,
        description="Keep each linked account's provider tokens (access, refresh, expiry), "
        "sealed with AES-GCM, for calls to the provider's API (`kit.oauth.provider_tokens`). "
        "Off: the tokens are used once, at the callback.",
    )
    token_key: SecretStr | None = Field(
        None,
        description="The key that seals kept provider tokens (default: derived from "
        "`SAASKIT_SECRET_KEY`); set it before rotating the secret key.",
    )
    http_timeout_seconds: float = Field(
        10.0, gt=0, description="Seconds before a call to a provider fails."
    )
    rate_limit: Limit = Field(
        RateLimit(limit=30, window_seconds=60),
        description="Logins started, callbacks and handoff exchanges per client IP (`30/1m`).",
    )
    clock_leeway_seconds: int = Field(
        60, ge=0, le=300, description="Clock skew tolerated on ID token times."
    )

    @property
    def enabled(self) -> bool:
        """Whether any provider is configured."""
        return bool(self.providers)


class OAuthProviderRead(BaseModel):
    """A configured provider (for the login page's buttons)."""

    key: str
    display_name: str
    kind: ProviderKind


class OAuthAccountRead(BaseModel):
    """A provider account linked to the caller."""

    provider: str
    email: str | None = Field(description="The email the provider gave at the last login.")
    created_at: str
    last_login_at: str | None


class HandoffExchange(BaseModel):
    """``POST /oauth/token``: the handoff code the callback put in the redirect URL."""

    code: SingleLine = Field(min_length=16, max_length=128)


class LinkStart(BaseModel):
    """``POST /oauth/{provider}/link``: where the browser lands afterwards."""

    redirect_to: str | None = Field(
        None, max_length=2000, description="Absolute URL on an allowed origin."
    )


class LinkStarted(BaseModel):
    """Where to send the browser to link the provider (a cookie binds the flow to it)."""

    authorization_url: str
