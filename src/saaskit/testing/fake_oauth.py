"""A fake OAuth 2.0 / OpenID Connect provider on 127.0.0.1, for saaskit's tests and the host's.

The real client (Authlib, through ``saaskit.oauth``) talks to it over HTTP; nothing is
mocked. It serves, at once:

- OpenID Connect: ``/.well-known/openid-configuration``, ``/authorize`` (with a consent
  step), ``/token`` (authorization code grant: checks the client's secret, the
  ``redirect_uri``, the PKCE S256 verifier, and that a code is used once and soon),
  ``/userinfo`` and ``/jwks`` (a real 2048-bit RSA key; ID tokens are RS256);
- GitHub's shape: ``/api/user`` and ``/api/user/emails`` (with ``primary`` and ``verified``).

The consent step: with :attr:`FakeOAuthProvider.approve_as` set to a user's subject the
authorization request is approved at once (a redirect back to the client); unset, the
fake answers an HTML page with one button per user ("Continue as ...") and a "Deny"
button, for browser tests. :meth:`FakeOAuthProvider.tamper` changes the next ID tokens
(another audience, an expiry in the past, a foreign signing key, another nonce).

Example:
    ```python
    from saaskit.testing.fake_oauth import FakeOAuthProvider

    with FakeOAuthProvider() as fake:
        fake.add_user("alice", "alice@example.com", email_verified=True)
        fake.approve_as = "alice"
        settings = SaaSKitSettings(oauth={"providers": {"fake": fake.oidc_provider()}})
    ```
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from saaskit.testing._server import FakeHTTPServer

__all__ = ["FakeOAuthProvider", "FakeOAuthUser"]

CLIENT_ID = "saaskit-test-client"
CLIENT_SECRET = "saaskit-test-client-secret"
CODE_TTL = 60


@dataclass
class FakeOAuthUser:
    """A user of the fake provider."""

    subject: str
    email: str | None
    email_verified: bool = True
    name: str | None = None
    github_id: int = 0
    extra_emails: list[dict[str, Any]] = field(default_factory=list)
    """More GitHub ``/user/emails`` entries (``{"email", "primary", "verified"}``)."""


@dataclass
class _Grant:
    user: str
    client_id: str
    redirect_uri: str
    challenge: str | None
    method: str | None
    nonce: str | None
    scope: str
    issued: float


def _private_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(key: Any, kid: str) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()

    def b64(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": b64(numbers.n),
        "e": b64(numbers.e),
    }


class _Server(FakeHTTPServer):
    fake: FakeOAuthProvider


class FakeOAuthProvider:
    """A fake provider; ``start()``/``stop()`` or use it as a context manager.

    Args:
        client_id: the one registered client's id.
        client_secret: its secret (``client_secret_basic`` or ``client_secret_post``).
        redirect_uris: the registered callback URLs (empty: any is accepted).
        issuer: the ``iss`` of its discovery document and ID tokens (default: its URL;
            ``https://accounts.google.com`` to stand in for the Google preset).
    """

    def __init__(
        self,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        redirect_uris: tuple[str, ...] = (),
        issuer: str | None = None,
    ) -> None:
        self._issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris)
        self.users: dict[str, FakeOAuthUser] = {}
        self.approve_as: str | None = None
        """Approve every authorization request as this user (unset: the consent page)."""
        self.deny = False
        """Refuse every authorization request (``error=access_denied``)."""
        self.requests: list[tuple[str, str]] = []
        """``(method, path)`` of every request received."""
        self.token_errors: list[str] = []
        """Why token requests were refused (``invalid_grant: code used``, ...)."""
        self._tamper: dict[str, Any] = {}
        self._key = _private_key()
        self._foreign_key = _private_key()
        self._kid = "fake-key-1"
        self._grants: dict[str, _Grant] = {}
        self._tokens: dict[str, str] = {}  # access token -> subject
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """The ``iss`` it announces and signs (its URL unless given)."""
        return self._issuer or self.url

    @property
    def url(self) -> str:
        """The issuer: ``http://127.0.0.1:PORT``."""
        if self._server is None:
            raise RuntimeError("the fake provider is not running; call start()")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeOAuthProvider:
        """Listen on a random port of 127.0.0.1 in a background thread."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", 0), _Handler)
            self._server.fake = self
            server = self._server
            self._thread = threading.Thread(
                target=lambda: server.serve_forever(poll_interval=0.05),
                name="fake-oauth",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOAuthProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- control -------------------------------------------------------------------

    def add_user(
        self,
        subject: str,
        email: str | None,
        *,
        email_verified: bool = True,
        name: str | None = None,
        github_id: int | None = None,
    ) -> FakeOAuthUser:
        """Add (or replace) a user; its GitHub id defaults to a number from ``subject``."""
        number = github_id or int(hashlib.sha256(subject.encode()).hexdigest()[:8], 16)
        user = FakeOAuthUser(subject, email, email_verified, name, number)
        self.users[subject] = user
        return user

    def rotate_key(self) -> None:
        """Sign from now on with a new key (and ``kid``), published in the JWKS."""
        self._key = _private_key()
        self._kid = f"fake-key-{secrets.token_hex(4)}"

    def tamper(self, **claims: Any) -> None:
        """Change the next ID tokens (``tamper()`` resets).

        ``aud=``, ``iss=``, ``exp=``, ``nonce=`` override claims; ``foreign_key=True`` signs
        with a key the JWKS does not hold.
        """
        self._tamper = dict(claims)

    def oidc_provider(self, **overrides: Any) -> dict[str, Any]:
        """Settings of an ``oidc`` provider at this fake (``oauth.providers[...]``)."""
        return {
            "kind": "oidc",
            "issuer": self.issuer,
            "discovery_url": f"{self.url}/.well-known/openid-configuration",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            **overrides,
        }

    def github_provider(self, **overrides: Any) -> dict[str, Any]:
        """Settings of a ``github`` provider whose endpoints are this fake's."""
        return {
            "kind": "github",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "authorization_url": f"{self.url}/authorize",
            "token_url": f"{self.url}/token",
            "api_url": f"{self.url}/api",
            **overrides,
        }

    # -- the provider --------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        """The OpenID Connect discovery document."""
        base = self.url
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": f"{base}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def jwks(self) -> dict[str, Any]:
        """The public key set."""
        return {"keys": [_jwk(self._key, self._kid)]}

    def id_token(self, user: FakeOAuthUser, nonce: str | None) -> str:
        """A signed ID token for ``user`` (with the :meth:`tamper` changes)."""
        import jwt

        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user.subject,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "email": user.email,
            "email_verified": user.email_verified,
            "name": user.name,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        tamper = dict(self._tamper)
        foreign = tamper.pop("foreign_key", False)
        claims.update(tamper)
        key = self._foreign_key if foreign else self._key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self._kid})

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], str]:
        """Answer an authorization request: a redirect, the consent page, or an error."""
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id:
            return 400, {}, "unknown client_id"
        if self.redirect_uris and redirect_uri not in self.redirect_uris:
            return 400, {}, "redirect_uri is not registered"
        if query.get("response_type") != "code":
            return self._back(redirect_uri, query, error="unsupported_response_type")
        if self.deny:
            return self._back(redirect_uri, query, error="access_denied")
        if self.approve_as is not None:
            return self.approve(query, self.approve_as)
        buttons = "".join(
            f'<button name="user" value="{html.escape(u.subject)}">Continue as '
            f"{html.escape(u.email or u.subject)}</button>"
            for u in self.users.values()
        )
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query.items()
        )
        page = (
            "<!doctype html><title>Fake provider</title><h1>Sign in to the fake provider</h1>"
            f'<form method="post" action="/authorize">{hidden}{buttons}'
            '<button name="deny" value="1">Deny</button></form>'
        )
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page

    def approve(self, query: dict[str, str], subject: str) -> tuple[int, dict[str, str], str]:
        """Approve ``query`` as ``subject``: a code, and the redirect back."""
        if subject not in self.users:
            return 400, {}, "unknown user"
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = _Grant(
                user=subject,
                client_id=query.get("client_id", ""),
                redirect_uri=query.get("redirect_uri", ""),
                challenge=query.get("code_challenge"),
                method=query.get("code_challenge_method"),
                nonce=query.get("nonce"),
                scope=query.get("scope", ""),
                issued=time.monotonic(),
            )
        return self._back(query.get("redirect_uri", ""), query, code=code)

    def _back(
        self, redirect_uri: str, query: dict[str, str], **params: str
    ) -> tuple[int, dict[str, str], str]:
        if "state" in query:
            params["state"] = query["state"]
        joiner = "&" if "?" in redirect_uri else "?"
        return 302, {"Location": f"{redirect_uri}{joiner}{urlencode(params)}"}, ""

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        """The token endpoint (authorization code grant only)."""
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            client_id, _, secret = decoded.partition(":")
        if client_id != self.client_id or not secrets.compare_digest(
            secret or "", self.client_secret
        ):
            return self._refuse(401, "invalid_client", "client authentication failed")
        if form.get("grant_type") != "authorization_code":
            return self._refuse(400, "unsupported_grant_type", form.get("grant_type", ""))
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)  # single use
        if grant is None:
            return self._refuse(400, "invalid_grant", "code unknown or used")
        if time.monotonic() - grant.issued > CODE_TTL:
            return self._refuse(400, "invalid_grant", "code expired")
        if grant.client_id != client_id or grant.redirect_uri != form.get("redirect_uri"):
            return self._refuse(400, "invalid_grant", "redirect_uri mismatch")
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if grant.method != "S256" or not secrets.compare_digest(expected, grant.challenge):
                return self._refuse(400, "invalid_grant", "PKCE verifier mismatch")
        access = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[access] = grant.user
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": grant.scope,
        }
        if "openid" in grant.scope.split():
            body["id_token"] = self.id_token(self.users[grant.user], grant.nonce)
        return 200, body

    def _refuse(self, status: int, error: str, why: str) -> tuple[int, dict[str, Any]]:
        self.token_errors.append(f"{error}: {why}")
        return status, {"error": error, "error_description": why}

    def user_of(self, authorization: str | None) -> FakeOAuthUser | None:
        """The user whose access token is in ``authorization`` (``Bearer ...``)."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        with self._lock:
            subject = self._tokens.get(authorization[7:])
        return self.users.get(subject) if subject else None

    def github_emails(self, user: FakeOAuthUser) -> list[dict[str, Any]]:
        """``/user/emails`` of ``user``."""
        primary = (
            []
            if user.email is None
            else [
                {
                    "email": user.email,
                    "primary": True,
                    "verified": user.email_verified,
                    "visibility": "private",
                }
            ]
        )
        return [*primary, *user.extra_emails]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: pytest output stays readable

    def _send(self, status: int, body: str | bytes, headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload), {"Content-Type": "application/json"})

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        return {k: v[0] for k, v in parse_qs(raw).items()}

    def do_GET(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        fake.requests.append(("GET", parts.path))
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/.well-known/openid-configuration":
            return self._json(200, fake.discovery())
        if parts.path == "/jwks":
            return self._json(200, fake.jwks())
        if parts.path == "/authorize":
            status, headers, body = fake.authorize(query)
            return self._send(status, body, headers)
        user = fake.user_of(self.headers.get("Authorization"))
        if parts.path in ("/userinfo", "/api/user", "/api/user/emails") and user is None:
            return self._json(401, {"error": "invalid_token"})
        assert user is not None or parts.path not in ("/userinfo", "/api/user", "/api/user/emails")
        if parts.path == "/userinfo" and user is not None:
            return self._json(
                200,
                {
                    "sub": user.subject,
                    "email": user.email,
                    "email_verified": user.email_verified,
                    "name": user.name,
                },
            )
        if parts.path == "/api/user" and user is not None:
            return self._json(
                200, {"id": user.github_id, "login": user.subject, "name": user.name, "email": None}
            )
        if parts.path == "/api/user/emails" and user is not None:
            return self._json(200, fake.github_emails(user))
        return self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        fake.requests.append(("POST", parts.path))
        form = self._form()
        if parts.path == "/token":
            status, body = fake.token(form, self.headers.get("Authorization"))
            return self._json(status, body)
        if parts.path == "/authorize":  # the consent page's buttons
            query = {k: v for k, v in form.items() if k not in ("user", "deny")}
            if form.get("deny"):
                status, headers, page = fake._back(
                    query.get("redirect_uri", ""), query, error="access_denied"
                )
            else:
                status, headers, page = fake.approve(query, form.get("user", ""))
            return self._send(status, page, headers)
        return self._json(404, {"error": "not_found"})
