"""One settings object for the whole kit.

Every field can be set from the environment with the ``SAASKIT_`` prefix; nested
sections use ``__`` (``SAASKIT_AUTH__ACCESS_TOKEN_MINUTES=15``). A ``.env`` file in
the working directory is read too.

Example:
    >>> from saaskit import SaaSKitSettings
    >>> settings = SaaSKitSettings(database_url="sqlite+aiosqlite:///./app.db")
    >>> settings.auth.access_token_minutes
    30
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    PositiveFloat,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET_KEY = "saaskit-insecure-development-key-change-me"
"""The fixed key earlier versions signed with when none was set. It is published, so it
never signs a token now: it is refused in production and ignored in development."""
MIN_SECRET_KEY_BYTES = 32


def database_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be saaskit's database URL (``None`` when it can), with the fix."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"not a database URL; write e.g. {EXAMPLE_URLS}"
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    wanted = {"postgresql": "asyncpg", "sqlite": "aiosqlite"}.get(backend)
    if wanted is None:
        return f"{backend} is not supported (PostgreSQL or SQLite); write e.g. {EXAMPLE_URLS}"
    if driver != wanted:
        shown = parsed.set(drivername=f"{backend}+{wanted}").render_as_string()
        return (
            f"the {backend} driver {driver!r} is not async; use {backend}+{wanted}:// "
            f"(e.g. {shown})"
        )
    return None


EXAMPLE_URLS = "sqlite+aiosqlite:///./app.db or postgresql+asyncpg://user:password@host/dbname"


class DatabaseSettings(BaseModel):
    """Connection pool options (the URL itself is ``SAASKIT_DATABASE_URL``)."""

    pool_size: int = Field(10, ge=1, description="Connections kept open per process (PostgreSQL).")
    max_overflow: int = Field(20, ge=0, description="Extra connections allowed under load.")
    pool_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a free connection.")
    pool_recycle: int = Field(1800, ge=-1, description="Recycle connections older than this.")
    pool_pre_ping: bool = Field(
        True,
        description=(
            "Test a pooled connection before use (one `SELECT 1`), so a dropped one is replaced."
        ),
    )
    echo: bool = Field(False, description="Log every SQL statement (debugging only).")
    ssl_ca_file: str | None = Field(
        None,
        description="CA bundle (PEM) that signed the server's certificate, e.g. the RDS bundle. "
        "Set, every connection is encrypted and the server verified, host name included.",
    )
    ssl_cert_file: str | None = Field(
        None, description="Client certificate (PEM) for servers that require one."
    )
    ssl_key_file: str | None = Field(None, description="Private key (PEM) of `ssl_cert_file`.")
    replica_retry_seconds: float = Field(
        30.0,
        gt=0,
        description="A read replica that failed is skipped (its reads go to the primary) "
        "for this long before it is tried again.",
    )
    replica_connect_timeout: float = Field(
        2.0,
        gt=0,
        description="Seconds to wait for a read replica to accept a connection before its "
        "reads go to the primary.",
    )

    @model_validator(mode="after")
    def _client_certificate_pairs(self) -> DatabaseSettings:
        if (self.ssl_cert_file is None) != (self.ssl_key_file is None):
            raise ValueError("db.ssl_cert_file and db.ssl_key_file go together; set both")
        return self

    alembic_ini: str | None = Field(
        None,
        description="The host's `alembic.ini`: `/health/ready` fails until the database is at "
        "its head (default: saaskit's own migrations, when the kit uses its default models).",
    )
    ready_requires_migrations: bool = Field(
        True,
        description="`/health/ready` answers 503 while the database is behind the migrations, "
        "so a rollout waits for `saaskit migrate`.",
    )


class AuthSettings(BaseModel):
    """Tokens and passwords."""

    access_token_minutes: int = Field(30, ge=1, description="Lifetime of an access token.")
    refresh_reuse_grace_seconds: int = Field(
        0,
        ge=0,
        description="A refresh token replaced this recently is refused without revoking the "
        "session (e.g. 10 for apps whose tabs refresh at once); 0 treats every replay as theft.",
    )
    refresh_token_days: int = Field(
        7, ge=1, description="Absolute lifetime of a login session and its refresh tokens."
    )
    password_hasher: Literal["bcrypt", "argon2"] = Field(
        "bcrypt", description="Hash for new passwords; argon2 needs `saaskit[argon2]`."
    )
    bcrypt_rounds: int = Field(12, ge=4, le=31, description="bcrypt cost factor.")
    min_password_length: int = Field(8, ge=1, description="Shortest password accepted.")
    reject_common_passwords: bool = Field(True, description="Refuse well-known passwords.")
    issuer: str = Field("saaskit", description="JWT `iss` claim.")
    audience: str = Field("saaskit", description="JWT `aud` claim.")
    user_cache_seconds: int = Field(
        300, ge=0, description="How long a user is cached in the store for protected routes."
    )
    reauthentication_minutes: int = Field(
        10,
        ge=1,
        description="Security-sensitive actions (changing the email, deleting the account) "
        "need a login or `POST /auth/reauthenticate` at most this long ago.",
    )
    require_verified_login: bool = Field(
        False, description="Refuse login (403 `email_not_verified`) until the email is verified."
    )
    send_verification_on_register: bool = Field(
        True, description="Email a verification link right after registration."
    )
    verify_token_hours: int = Field(24, ge=1, description="Lifetime of email verification links.")
    reset_token_minutes: int = Field(60, ge=1, description="Lifetime of password reset links.")
    hash_threads: int | None = Field(
        None,
        ge=1,
        description=(
            "Passwords hashed at once, each in a low-priority worker process "
            "(default: one per CPU core)."
        ),
    )


class RateLimit(BaseModel):
    """At most ``limit`` hits per ``window_seconds``.

    From the environment, written ``LIMIT/WINDOW`` with an optional unit:
    ``SAASKIT_RATE_LIMIT__LOGIN_ACCOUNT=5/15m`` (units ``s``, ``m``, ``h``, ``d``).
    """

    limit: int = Field(ge=1)
    window_seconds: int = Field(ge=1)

    @model_validator(mode="before")
    @classmethod
    def _parse_text(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        limit, sep, window = value.strip().partition("/")
        units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
        scale = units.get(window[-1:].lower(), 1) if window else 1
        number = window[:-1] if window[-1:].lower() in units else window
        if not sep or not limit.strip().isdigit() or not number.strip().isdigit():
            raise ValueError("write a rate limit as LIMIT/WINDOW, e.g. 10/15m or 100/3600")
        return {"limit": int(limit), "window_seconds": int(number) * scale}


# Taken from the environment as text (``10/15m``), not as JSON.
Limit = Annotated[RateLimit, NoDecode]


class RateLimitSettings(BaseModel):
    """Limits against online guessing and abuse; counters live in the store.

    Each rule is tuned with e.g. ``SAASKIT_RATE_LIMIT__LOGIN_ACCOUNT__LIMIT=5``.
    """

    enabled: bool = Field(True, description="Switch every limit off (load tests from one IP).")
    login_account: Limit = Field(
        RateLimit(limit=10, window_seconds=900),
        description="Failed logins per account (email, known or not).",
    )
    login_ip: Limit = Field(
        RateLimit(limit=50, window_seconds=900), description="Failed logins per client IP."
    )
    register_ip: Limit = Field(
        RateLimit(limit=20, window_seconds=3600), description="Registrations per client IP."
    )
    forgot_email: Limit = Field(
        RateLimit(limit=3, window_seconds=3600),
        description="Password-reset and verification emails per address.",
    )
    forgot_ip: Limit = Field(
        RateLimit(limit=20, window_seconds=3600),
        description="Password-reset and verification requests per client IP.",
    )
    refresh_session: Limit = Field(
        RateLimit(limit=60, window_seconds=60), description="Token refreshes per session."
    )
    billing_sync: Limit = Field(
        RateLimit(limit=10, window_seconds=60),
        description="Eager billing syncs (`POST /billing/sync`) per owner; each calls Stripe.",
    )

    @model_validator(mode="before")
    @classmethod
    def _complete_partial_rules(cls, value: Any) -> Any:
        # SAASKIT_RATE_LIMIT__LOGIN_ACCOUNT__LIMIT=5 alone arrives as {"limit": "5"}:
        # the rule's other half keeps its default.
        if not isinstance(value, dict):
            return value
        completed = dict(value)
        for name, given in value.items():
            field = cls.model_fields.get(name)
            default = field.default if field is not None else None
            if isinstance(given, dict) and isinstance(default, RateLimit):
                completed[name] = default.model_dump() | given
        return completed


class CorsSettings(BaseModel):
    """CORS for browser clients. Empty `origins` means no CORS middleware.

    Credentials go only to the origins listed exactly: `*` admits every other origin
    without them (its own origin is never echoed back).
    """

    origins: list[str] = Field(
        default_factory=list,
        description="Allowed origins, exact (`https://app.example.com`), or `*` for any "
        "origin without credentials; `null` is refused.",
    )
    allow_credentials: bool = Field(
        True, description="Allow credentials (cookies) for the origins listed exactly."
    )

    @field_validator("origins")
    @classmethod
    def _refuse_null(cls, origins: list[str]) -> list[str]:
        # Browsers send "Origin: null" from sandboxed iframes, file:// pages and
        # redirects, whatever site they come from: allowing it allows everyone.
        if any(origin.strip().lower() == "null" for origin in origins):
            raise ValueError(
                "'null' is not a safe CORS origin: sandboxed iframes and file:// pages of "
                "any site send it. List the page's real origin, or '*' to allow every "
                "origin without credentials."
            )
        return origins


class StoreSettings(BaseModel):
    """The shared store (Redis when ``SAASKIT_REDIS_URL`` is set)."""

    prefix: str = Field(
        "saaskit:", description="Prefix of every key, so several apps can share one Redis."
    )
    socket_timeout: float = Field(
        2.0, gt=0, description="Seconds before an unanswered Redis call fails with 503."
    )
    max_connections: int = Field(
        100, ge=1, description="Redis connections per process (per node on a cluster)."
    )
    cluster: bool = Field(
        False,
        description="`SAASKIT_REDIS_URL` is a node of a Redis Cluster (e.g. ElastiCache's "
        "configuration endpoint in cluster mode): use redis-py's cluster client, which "
        "finds the other nodes and follows failovers. The Celery broker must then be a "
        "separate, non-cluster Redis (`SAASKIT_TASKS__BROKER_URL`).",
    )
    tls_ca_file: str | None = Field(
        None,
        description="CA bundle (PEM) that signed Redis's certificate (`rediss://` URLs only); "
        "unset, the system's CAs.",
    )
    tls_cert_file: str | None = Field(
        None, description="Client certificate (PEM) for a Redis that requires one."
    )
    tls_key_file: str | None = Field(None, description="Private key (PEM) of `tls_cert_file`.")

    @model_validator(mode="after")
    def _client_certificate_pairs(self) -> StoreSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("store.tls_cert_file and store.tls_key_file go together; set both")
        return self

    @property
    def tls_options(self) -> dict[str, str]:
        """redis-py's keyword arguments for the configured TLS files."""
        names = {
            "ssl_ca_certs": self.tls_ca_file,
            "ssl_certfile": self.tls_cert_file,
            "ssl_keyfile": self.tls_key_file,
        }
        return {name: value for name, value in names.items() if value is not None}

    legacy_session_keys: bool = Field(
        True,
        description="Also find sessions stored under the keys of saaskit before hash-tagged "
        "keys (moved on first use); turn off once `refresh_token_days` have passed since the "
        "upgrade, and before moving to Redis Cluster.",
    )


class HttpSettings(BaseModel):
    """Request handling."""

    max_body_bytes: int = Field(
        1024 * 1024, ge=1, description="Larger request bodies get 413 before any parsing."
    )
    max_auth_body_bytes: int = Field(
        16 * 1024,
        ge=1024,
        description="Largest body of the auth and users routes (login, register, refresh...), "
        "which never need more; larger ones get 413 unread.",
    )
    max_auth_json_members: int = Field(
        100,
        ge=10,
        description="Most object keys plus array items in a JSON body of the auth and users "
        "routes (else 422, before validation).",
    )
    max_json_depth: int = Field(
        32, ge=2, description="Deepest nesting of a JSON body of saaskit's routes (else 422)."
    )
    max_json_members: int = Field(
        1000,
        ge=10,
        description="Most object keys plus array items in a JSON body of saaskit's routes "
        "(else 422, before validation).",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="IPs or CIDRs of proxies whose X-Forwarded-For is believed (else ignored).",
    )
    security_headers: bool = Field(
        True, description="Add X-Content-Type-Options, X-Frame-Options, Referrer-Policy, HSTS."
    )
    gc_freeze: bool = Field(
        True,
        description="Call gc.freeze() once the app has started, so the garbage collector "
        "stops re-scanning the objects built at import and startup (cuts tail latency).",
    )
    install_error_handlers: bool = Field(
        True, description="Let `kit.install(app)` register saaskit's error handlers on the app."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or CIDR network (e.g. 10.0.0.0/8)"
                ) from None
        return value


class EmailSettings(BaseModel):
    """Outgoing email. Without ``smtp_host`` emails are logged, not delivered.

    Links in emails (verify, reset) are always built from ``frontend_url``, never from
    the request's ``Host`` header, so a forged ``Host`` cannot point them elsewhere.
    """

    smtp_host: str | None = Field(
        None, description="SMTP server; unset means emails are only logged (development)."
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 TLS).")
    smtp_username: str | None = Field(None, description="SMTP login; unset means no AUTH.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="`starttls` (upgrade, required), `tls` (implicit TLS, port 465) or `none`.",
    )
    smtp_timeout: float = Field(10.0, gt=0, description="Seconds before an SMTP call fails.")
    smtp_validate_certs: bool = Field(
        True, description="Verify the server's TLS certificate (turn off only for testing)."
    )
    from_address: str = Field("no-reply@localhost", description="Sender address of emails.")
    from_name: str | None = Field(None, description="Sender display name, e.g. `Acme`.")
    templates_dir: str | None = Field(
        None, description="Folder whose templates override the built-in ones by file name."
    )
    frontend_url: str = Field(
        "http://localhost:3000",
        pattern=r"^https?://[^/?#\s]+",
        description="Base URL of links in emails; never taken from the request's Host header.",
    )
    verify_path: str = Field("/verify-email", description="Frontend page that verifies.")
    reset_path: str = Field("/reset-password", description="Frontend page that resets.")
    change_email_path: str = Field(
        "/confirm-email-change", description="Frontend page that confirms a new email address."
    )


STRIPE_API_VERSION = "2026-10-28.endive"
"""The Stripe API version saaskit is written and tested against (pinned, not the account's)."""

SUBSCRIPTION_STATUSES = frozenset(
    {
        "active",
        "trialing",
        "past_due",
        "unpaid",
        "canceled",
        "incomplete",
        "incomplete_expired",
        "paused",
    }
)


class PlanSettings(BaseModel):
    """One plan: its Stripe price and what it grants.

    From the environment, plans are one JSON object: ``SAASKIT_BILLING__PLANS='{"pro":
    {"price": "pro_monthly", "features": ["reports"], "quotas": {"ai_tokens": 100000}}}'``.
    """

    name: str | None = Field(None, description="Display name (default: the plan key).")
    price: str | None = Field(
        None,
        description="Stripe price id (`price_...`) or lookup key; unset for a free plan.",
    )
    prices: list[str] = Field(
        default_factory=list,
        description=(
            "Other prices of the plan (yearly, other currencies): ids or lookup keys. A "
            "subscription on any of them is on this plan; checkout picks one by `interval` "
            "and `currency` (`price` when neither is asked for)."
        ),
    )
    features: list[str] = Field(default_factory=list, description="Feature keys it grants.")
    quotas: dict[str, int] = Field(
        default_factory=dict, description='Limits it grants, e.g. `{"ai_tokens": 100000}`.'
    )
    trial_days: int = Field(0, ge=0, le=730, description="Free trial at checkout (0: none).")
    max_seats: int | None = Field(
        None,
        ge=1,
        description="Most members an organization on this plan can have (unset: no limit); "
        "the older spelling `quotas.seats` is read when this is unset.",
    )
    seat_mode: Literal["members", "manual"] = Field(
        "members",
        description="Organizations: `members`: the subscription quantity follows the member "
        "count (`orgs.sync_seat_quantity`); `manual`: seats are bought (the quantity at "
        "checkout, then in the portal), the bought quantity is the seat limit and saaskit "
        "never changes it.",
    )

    ai_models: list[str] = Field(
        default_factory=list,
        description="AI models the plan may use (of `ai.allowed_models`); empty: all of them. "
        "Others are refused with 403 `ai_model_not_in_plan`.",
    )
    ai_overage: bool = Field(
        False,
        description="Past its `ai_tokens` quota the plan keeps using AI, billed through the "
        "meter (`ai.meter_event_name`, required); false: the quota is a hard cap (429).",
    )

    @model_validator(mode="after")
    def _one_seat_limit(self) -> PlanSettings:
        legacy = self.quotas.get("seats")
        if self.max_seats is not None and legacy is not None and legacy != self.max_seats:
            raise ValueError("set max_seats only (quotas.seats is its older spelling)")
        return self

    @property
    def seat_limit(self) -> int | None:
        """``max_seats``, else the older ``quotas.seats``; ``None``: no limit."""
        return self.max_seats if self.max_seats is not None else self.quotas.get("seats")


class BillingSettings(BaseModel):
    """Stripe billing. Off unless ``enabled``; then ``secret_key`` is required.

    Redirect URLs default to pages under ``email.frontend_url``; URLs a client passes
    must have an origin listed in ``allowed_redirect_origins`` or one of those defaults.
    """

    enabled: bool = Field(False, description="Mount the billing router and create customers.")
    secret_key: SecretStr | None = Field(None, description="Stripe secret key (`sk_...`).")
    webhook_secret: SecretStr | None = Field(
        None, description="Signing secret of the webhook endpoint (`whsec_...`)."
    )
    api_base: str = Field(
        "https://api.stripe.com",
        pattern=r"^https?://[^/?#\s]+/?$",
        description="Stripe API base URL (a Stripe-compatible proxy or a test fake).",
    )
    api_version: str = Field(STRIPE_API_VERSION, description="Stripe API version sent.")
    timeout_seconds: float = Field(20.0, gt=0, description="Seconds before a Stripe call fails.")
    max_network_retries: int = Field(
        2, ge=0, le=10, description="Retries of failed Stripe calls (idempotent, safe)."
    )
    plans: dict[str, PlanSettings] = Field(
        default_factory=dict, description="Plan key → price and grants (JSON)."
    )
    default_plan: str | None = Field(
        None, description="Plan of users without an entitled subscription (a free plan)."
    )
    entitled_statuses: list[str] = Field(
        default_factory=lambda: ["active", "trialing"],
        description="Subscription statuses that grant the plan; add `past_due` for grace.",
    )
    success_url: str | None = Field(
        None,
        description="After checkout (default: `{frontend_url}/billing/success"
        "?session_id={CHECKOUT_SESSION_ID}`).",
    )
    cancel_url: str | None = Field(
        None, description="When checkout is abandoned (default: `{frontend_url}/billing`)."
    )
    portal_return_url: str | None = Field(
        None, description="Back from the customer portal (default: `{frontend_url}/billing`)."
    )
    allowed_redirect_origins: list[str] = Field(
        default_factory=list,
        description="Origins clients may pass success/cancel URLs on, e.g. `https://app.example.com`.",
    )
    create_customer_on_register: bool = Field(
        True, description="Create the Stripe customer at registration (else at first use)."
    )
    trial_once: bool = Field(
        True, description="Offer a plan's trial only to users who never had a subscription."
    )
    webhook_tolerance_seconds: int = Field(
        300, ge=1, description="Oldest accepted webhook signature timestamp."
    )
    webhook_processing: Literal["inline", "background"] = Field(
        "inline",
        description="`inline`: answer Stripe after processing (failures get 500 and are "
        "retried by Stripe); `background`: answer once stored, process in the task runner.",
    )
    price_cache_seconds: int = Field(
        3600, ge=0, description="How long prices read from Stripe are cached in the store."
    )
    proration_behavior: Literal["create_prorations", "always_invoice", "none"] = Field(
        "create_prorations",
        description="In-app plan changes: `create_prorations` (charged on the next invoice), "
        "`always_invoice` (invoiced at once) or `none`.",
    )
    lifecycle_emails: bool = Field(
        True,
        description="Email users when a trial is ending, a payment failed or needs "
        "confirming (3-D Secure), and when a subscription ended (templates `billing_*`).",
    )
    allow_promotion_codes: bool = Field(
        False,
        description="Checkout shows a promotion-code field (codes made in the Stripe dashboard).",
    )
    automatic_tax: bool = Field(
        False,
        description="Stripe Tax computes tax at Checkout; the address entered is saved on the "
        "customer (turn Stripe Tax on in the dashboard first).",
    )
    tax_id_collection: bool = Field(
        False, description="Checkout lets businesses enter a tax ID (VAT), saved on the customer."
    )
    billing_address_collection: Literal["auto", "required"] = Field(
        "auto", description="`required`: Checkout always asks for a billing address."
    )

    @model_validator(mode="after")
    def _check(self) -> BillingSettings:
        if self.enabled and self.secret_key is None:
            raise ValueError(
                "billing is enabled without a secret key; set SAASKIT_BILLING__SECRET_KEY "
                "(Stripe dashboard > Developers > API keys)"
            )
        if self.default_plan is not None and self.default_plan not in self.plans:
            raise ValueError(f"default_plan {self.default_plan!r} is not one of the plans")
        unknown = set(self.entitled_statuses) - SUBSCRIPTION_STATUSES
        if unknown:
            raise ValueError(f"unknown subscription statuses: {', '.join(sorted(unknown))}")
        owners: dict[str, str] = {}
        for key, plan in self.plans.items():
            if plan.prices and not plan.price:
                raise ValueError(f"plan {key!r} has other prices but no `price` (its default)")
            for ref in dict.fromkeys([*([plan.price] if plan.price else []), *plan.prices]):
                if ref in owners:
                    raise ValueError(
                        f"price {ref!r} is in plans {owners[ref]!r} and {key!r}; "
                        "a price belongs to one plan"
                    )
                owners[ref] = key
        return self


class AISettings(BaseModel):
    """AI chat through OpenAI or any OpenAI-compatible server (``saaskit[ai]``).

    AI is on when ``api_key`` or ``base_url`` is set. Token quotas are per user and
    calendar month (UTC), or billing period with ``quota_period``: a plan's
    ``quotas["ai_tokens"]`` when billing defines one, else ``default_monthly_tokens``;
    with ``pooled_org_quota``, calls in an organization's context draw on the
    organization's quota instead.
    """

    api_key: SecretStr | None = Field(None, description="API key sent to the provider.")
    base_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="OpenAI-compatible endpoint, e.g. `http://127.0.0.1:11434/v1`; "
        "unset means the OpenAI API.",
    )
    organization: str | None = Field(None, description="OpenAI organization id, if any.")
    default_model: str = Field("gpt-4o-mini", min_length=1, description="Model of a request.")
    allowed_models: list[str] = Field(
        default_factory=list,
        description="Models a request may ask for; empty allows only `default_model`.",
    )
    timeout: float = Field(60.0, gt=0, description="Seconds before a provider call fails.")
    max_retries: int = Field(
        2, ge=0, description="Retries of a provider call on rate limits, 5xx and timeouts."
    )
    default_monthly_tokens: int | None = Field(
        100_000,
        ge=0,
        description="Monthly token quota of users without a plan quota; unset means unlimited.",
    )
    max_tokens: int = Field(
        1024,
        ge=1,
        description="Cap on completion tokens per request; sent to the provider and reserved "
        "against the quota before the call.",
    )
    pooled_org_quota: bool = Field(
        False,
        description="Pool AI quotas per organization: a call in an organization's context "
        "(`X-Organization` on `/ai/chat`, or an `OrgContext` given to `kit.ai`) draws on the "
        "organization's quota (its plan's `ai_tokens`) and is recorded per member too; "
        "other calls draw on the user's own.",
    )
    org_default_monthly_tokens: int | None = Field(
        0,
        ge=0,
        description="With `pooled_org_quota`: monthly tokens of an organization without a "
        "subscription (the default plan's `ai_tokens` is not used: each new organization "
        "would add free tokens) or whose plan sets no `ai_tokens`; 0: none, unset: unlimited.",
    )
    model_weights: dict[str, PositiveFloat] = Field(
        default_factory=dict,
        description='Credits per token of each model, e.g. `{"gpt-4o": 15}` (unlisted '
        "models: 1). Metered usage (`meter_event_name`) is reported in credits: a call's "
        "tokens times its model's weight, rounded up.",
    )
    meter_event_name: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Report AI usage to the Stripe billing meter with this event name (needs "
        "billing): each call's credits go through an outbox table to meter events, sent by "
        "the `billing.flush_meters` task (and `saaskit billing flush-meters`).",
    )
    quota_period: Literal["month", "billing_period"] = Field(
        "month",
        description="When token quotas reset: `month` (the calendar month, UTC) or "
        "`billing_period` (the owner's current subscription period, synced from Stripe; "
        "the calendar month for owners without a subscription). Needs billing.",
    )
    max_tokens_parameter: Literal["max_completion_tokens", "max_tokens"] = Field(
        "max_completion_tokens",
        description="Request field that carries the cap (`max_tokens` for older servers).",
    )

    @property
    def enabled(self) -> bool:
        """Whether AI is configured (an API key or a base URL is set)."""
        return self.api_key is not None or self.base_url is not None

    @property
    def models(self) -> list[str]:
        """The models a request may use (``default_model`` first)."""
        rest = [m for m in self.allowed_models if m != self.default_model]
        return [self.default_model, *rest]

    @model_validator(mode="after")
    def _default_model_is_allowed(self) -> AISettings:
        if self.allowed_models and self.default_model not in self.allowed_models:
            raise ValueError(
                f"ai.default_model {self.default_model!r} is not in ai.allowed_models; "
                "add it there or pick one of them"
            )
        return self


class TaskSettings(BaseModel):
    """Background tasks (emails, webhook processing): in-process, or Celery on Redis.

    With ``celery``, the app only enqueues; ``saaskit worker`` processes run the tasks.
    The retry settings apply to the Celery runner; the in-process runner keeps its own
    short schedule, since its pending work dies with the process anyway.
    """

    backend: Literal["inprocess", "celery"] = Field(
        "inprocess",
        description="`inprocess`: run after the response, in the app process; `celery`: send "
        "to a broker for `saaskit worker` (needs `saaskit[celery]`).",
    )
    broker_url: str | None = Field(
        None, description="Celery broker, e.g. `redis://host:6379/1` (default: `redis_url`)."
    )
    result_backend: str | None = Field(
        None, description="Where Celery keeps task states; unset keeps none (saaskit reads none)."
    )
    queue: str = Field(
        "saaskit",
        min_length=1,
        description="Queue saaskit's tasks are sent to and `saaskit worker` consumes.",
    )
    max_retries: int = Field(
        10, ge=0, description="Retries of a task that failed transiently (SMTP, Stripe down)."
    )
    retry_backoff: float = Field(
        2.0, gt=0, description="Seconds before the first retry; doubled after each failure."
    )
    retry_backoff_max: float = Field(600.0, gt=0, description="Longest wait between retries.")
    task_time_limit: float = Field(
        300.0,
        gt=0,
        description="Seconds a task may run before it is cancelled and retried.",
    )
    broker_timeout: float = Field(
        5.0,
        gt=0,
        description="Seconds to wait for the broker when enqueuing (then the request gets 503).",
    )

    @model_validator(mode="after")
    def _backoff_in_order(self) -> TaskSettings:
        if self.retry_backoff_max < self.retry_backoff:
            raise ValueError("tasks.retry_backoff_max is shorter than tasks.retry_backoff")
        return self


class SentrySettings(BaseModel):
    """Error tracking with Sentry (``saaskit[sentry]``); off unless ``dsn`` is set.

    Events carry the request id and the user id, never emails, tokens or bodies.
    """

    dsn: SecretStr | None = Field(
        None, description="Project DSN (`https://key@o0.ingest.sentry.io/0`); unset: off."
    )
    release: str | None = Field(
        None,
        description="Release of the host app, e.g. `myapp@1.4.2` (default: `saaskit@VERSION`).",
    )
    environment: str | None = Field(
        None, description="Environment shown in Sentry (default: `SAASKIT_ENVIRONMENT`)."
    )
    sample_rate: float = Field(1.0, ge=0, le=1, description="Share of errors sent.")
    traces_sample_rate: float = Field(
        0.0, ge=0, le=1, description="Share of requests traced (0: no performance data)."
    )


class MetricsSettings(BaseModel):
    """Prometheus metrics (``saaskit[metrics]``).

    Off unless ``enabled``; then they are protected by ``token``, or served only on the internal
    ``port``, or both.

    With ``port`` set, metrics are not on the app's port at all: every worker process
    listens on ``host:port`` (shared with ``SO_REUSEPORT``) and any of them answers for
    all (the client's multiprocess mode, which ``saaskit run --workers N`` sets up).
    """

    enabled: bool = Field(False, description="Collect and serve Prometheus metrics.")
    path: str = Field("/metrics", pattern=r"^/[^?#\s]*$", description="Path of the metrics page.")
    token: SecretStr | None = Field(
        None,
        description="Bearer token a scraper must send (`Authorization: Bearer ...`); "
        "generate with `saaskit secret`.",
    )
    port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Serve metrics on this internal port only (not on the app's port).",
    )
    host: str = Field(
        "127.0.0.1", description="Interface of the internal metrics port (`0.0.0.0`: all)."
    )

    @model_validator(mode="after")
    def _protected(self) -> MetricsSettings:
        if self.enabled and self.token is None and self.port is None:
            raise ValueError(
                "metrics are enabled but unprotected; set SAASKIT_METRICS__TOKEN (a bearer "
                "token, e.g. the output of `saaskit secret`) or SAASKIT_METRICS__PORT (an "
                "internal port that is not published)"
            )
        if self.token is not None and len(self.token.get_secret_value()) < 16:
            raise ValueError("metrics.token is shorter than 16 characters; use `saaskit secret`")
        return self


class LogSettings(BaseModel):
    """Log format and request ids.

    Every request gets an id: the client's ``X-Request-ID`` when it is 1-128 characters of
    ``A-Z a-z 0-9 . _ : -``, else a new one. It is sent back in that header and in error
    bodies, and JSON log lines of the request (and of the tasks it enqueues) carry it.
    """

    format: Literal["text", "json"] = Field(
        "text", description="`json`: one JSON object per line (for log collectors)."
    )
    request_id_header: str = Field(
        "X-Request-ID",
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        description="Header a request id is read from and returned in.",
    )


class TracingSettings(BaseModel):
    """OpenTelemetry tracing (``saaskit[otel]``).

    Spans for requests, SQL, Redis, Stripe, OpenAI and tasks, sent to the tracer provider the
    host (or ``opentelemetry-instrument``) configures.
    """

    enabled: bool = Field(False, description="Instrument the app, database, store and tasks.")


class SaaSKitSettings(BaseSettings):
    """Configuration for a :class:`saaskit.SaaSKit`.

    Read from the environment (``SAASKIT_*``) and ``.env``; pass values to override.
    In ``production`` it refuses weak settings with a message that says how to fix them.
    """

    model_config = SettingsConfigDict(
        env_prefix="SAASKIT_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    environment: Literal["development", "production"] = Field(
        "development", description="`production` turns on the safety checks and HSTS."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Signs tokens. At least 32 bytes; generate with `saaskit secret`. Required "
        "in production; unset in development, a random key kept in `.saaskit/secret_key` "
        "(git-ignored) is used.",
    )
    database_url: str = Field(
        "sqlite+aiosqlite:///./saaskit.db",
        description="SQLAlchemy async URL: `postgresql+asyncpg://...` or `sqlite+aiosqlite:///...`.",
    )
    database_replica_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Read replicas of the PostgreSQL primary (comma-separated or a JSON list); "
        "lag-tolerant reads go to them (see Deployment).",
    )
    store: StoreSettings = Field(default_factory=StoreSettings)

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, url: str) -> str:
        problem = database_url_problem(url)
        if problem:
            raise ValueError(problem)
        return url

    redis_url: str | None = Field(
        None, description="Redis URL; unset means the in-process store (one process only)."
    )
    api_prefix: str = Field("/api/v1", description="Prefix of every saaskit router.")
    project_name: str = Field("saaskit", description="Shown in emails and the OpenAPI title.")
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    cors: CorsSettings = Field(default_factory=CorsSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    ai: AISettings = Field(default_factory=AISettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    tasks: TaskSettings = Field(default_factory=TaskSettings)
    sentry: SentrySettings = Field(default_factory=SentrySettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)

    @property
    def is_production(self) -> bool:
        """Whether ``environment`` is ``production`` (stricter checks apply)."""
        return self.environment == "production"

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _split_replicas(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _overage_needs_a_meter(self) -> SaaSKitSettings:
        # Overage without a meter would be unlimited AI, billed to nobody.
        overage = [k for k, plan in self.billing.plans.items() if plan.ai_overage]
        if overage and not self.ai.meter_event_name:
            raise ValueError(
                f"billing.plans {', '.join(overage)} set ai_overage, which bills AI usage "
                "past the quota through a Stripe meter: set ai.meter_event_name too"
            )
        unknown = {
            model
            for plan in self.billing.plans.values()
            for model in plan.ai_models
            if model not in self.ai.models
        }
        if unknown:
            raise ValueError(
                f"billing.plans name AI models the kit does not allow: {', '.join(sorted(unknown))}"
                "; add them to ai.allowed_models"
            )
        if self.ai.quota_period == "billing_period" and not self.billing.enabled:
            raise ValueError(
                "ai.quota_period is billing_period, which follows Stripe subscriptions: "
                "enable billing, or use month"
            )
        return self

    @model_validator(mode="after")
    def _tls_files_need_tls(self) -> SaaSKitSettings:
        # Certificates next to a plaintext URL would be ignored: the connection would look
        # protected and be plaintext. Refuse instead of downgrading silently.
        scheme = (self.redis_url or "").split("://", 1)[0].lower()
        if self.store.tls_options and scheme != "rediss":
            raise ValueError(
                "SAASKIT_STORE__TLS_* files are set but SAASKIT_REDIS_URL does not use TLS; "
                "write it as rediss://host:port/db"
            )
        return self

    @model_validator(mode="after")
    def _cluster_needs_database_zero(self) -> SaaSKitSettings:
        if not self.store.cluster:
            return self
        if not self.redis_url:
            raise ValueError("SAASKIT_STORE__CLUSTER is true but SAASKIT_REDIS_URL is not set")
        path = self.redis_url.split("://", 1)[-1].split("?", 1)[0].partition("/")[2]
        if path not in ("", "0"):
            raise ValueError(
                f"a Redis Cluster has only database 0, SAASKIT_REDIS_URL asks for /{path}; "
                "use a key prefix (SAASKIT_STORE__PREFIX) to share a cluster instead"
            )
        return self

    @model_validator(mode="after")
    def _replicas_match_primary(self) -> SaaSKitSettings:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        if not self.database_replica_urls:
            return self
        try:
            primary = make_url(self.database_url)
            replicas = [make_url(url) for url in self.database_replica_urls]
        except ArgumentError as error:
            raise ValueError(f"a database URL is not valid: {error}") from None
        for replica in replicas:
            if primary.get_backend_name() != "postgresql" or replica.drivername != (
                primary.drivername
            ):
                raise ValueError(
                    "read replicas need a PostgreSQL primary and the same driver: "
                    f"{replica.drivername!r} replica for a {primary.drivername!r} primary; "
                    "use postgresql+asyncpg://... for both"
                )
        return self

    def problems(self) -> list[str]:
        """Return what is unsafe for production, each with how to fix it."""
        found: list[str] = []
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if not key:
            found.append(
                "SAASKIT_SECRET_KEY is not set (development signs tokens with a random key "
                "kept in .saaskit/secret_key); set it to a random value of at least 32 bytes, "
                "e.g. the output of `saaskit secret`."
            )
        elif key == DEFAULT_SECRET_KEY:
            found.append(
                "SAASKIT_SECRET_KEY is saaskit's published development key, which anyone can "
                "sign tokens with (it is never used); set it to a random value of at least "
                "32 bytes, e.g. the output of `saaskit secret`."
            )
        elif len(key.encode()) < MIN_SECRET_KEY_BYTES:
            found.append(
                f"SAASKIT_SECRET_KEY is {len(key.encode())} bytes; use at least "
                f"{MIN_SECRET_KEY_BYTES} random bytes, e.g. the output of `saaskit secret`."
            )
        if "*" in self.cors.origins and self.cors.allow_credentials:
            found.append(
                "SAASKIT_CORS__ORIGINS contains '*' while credentials are allowed; list the exact "
                "origins (e.g. '[\"https://app.example.com\"]') or set "
                "SAASKIT_CORS__ALLOW_CREDENTIALS=false."
            )
        if self.billing.enabled and self.billing.webhook_secret is None:
            found.append(
                "billing is enabled without a webhook secret, so Stripe events cannot be "
                "verified; set SAASKIT_BILLING__WEBHOOK_SECRET to the endpoint's signing "
                "secret (whsec_..., Stripe dashboard > Developers > Webhooks)."
            )
        if self.tasks.backend == "celery" and not self.tasks.broker_url and not self.redis_url:
            found.append(
                "SAASKIT_TASKS__BACKEND is celery but no broker is configured; set "
                "SAASKIT_TASKS__BROKER_URL (e.g. redis://localhost:6379/1) or SAASKIT_REDIS_URL."
            )
        cluster_broker = self.store.cluster and (
            not self.tasks.broker_url or self.tasks.broker_url == self.redis_url
        )
        if self.tasks.backend == "celery" and cluster_broker:
            found.append(
                "SAASKIT_TASKS__BACKEND is celery and its broker would be the Redis Cluster "
                "of SAASKIT_REDIS_URL (SAASKIT_STORE__CLUSTER=true), but Celery has no Redis "
                "Cluster transport; set SAASKIT_TASKS__BROKER_URL to a separate, non-cluster "
                "Redis (e.g. a small ElastiCache with cluster mode disabled)."
            )
        return found

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> SaaSKitSettings:
        if self.is_production:
            found = self.problems()
            if found:
                raise ValueError("unsafe settings for production:\n- " + "\n- ".join(found))
        return self
