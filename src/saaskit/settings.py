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

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "saaskit-insecure-development-key-change-me"  # noqa: S105 - refused in production
MIN_SECRET_KEY_BYTES = 32


class DatabaseSettings(BaseModel):
    """Connection pool options (the URL itself is ``SAASKIT_DATABASE_URL``)."""

    pool_size: int = Field(10, ge=1, description="Connections kept open per process (PostgreSQL).")
    max_overflow: int = Field(20, ge=0, description="Extra connections allowed under load.")
    pool_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a free connection.")
    pool_recycle: int = Field(1800, ge=-1, description="Recycle connections older than this.")
    pool_pre_ping: bool = Field(
        True, description="Test a pooled connection before use, so a dropped one is replaced."
    )
    echo: bool = Field(False, description="Log every SQL statement (debugging only).")


class AuthSettings(BaseModel):
    """Tokens and passwords."""

    access_token_minutes: int = Field(30, ge=1, description="Lifetime of an access token.")
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
    hash_threads: int | None = Field(
        None, ge=1, description="Threads that hash passwords (default: one per CPU core)."
    )


class CorsSettings(BaseModel):
    """CORS for browser clients. Empty `origins` means no CORS middleware."""

    origins: list[str] = Field(default_factory=list, description="Allowed origins.")
    allow_credentials: bool = Field(True, description="Allow cookies / Authorization.")


class HttpSettings(BaseModel):
    """Request handling."""

    max_body_bytes: int = Field(
        1024 * 1024, ge=1, description="Larger request bodies get 413 before any parsing."
    )
    install_error_handlers: bool = Field(
        True, description="Let `kit.install(app)` register saaskit's error handlers on the app."
    )


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
    secret_key: SecretStr = Field(
        SecretStr(DEFAULT_SECRET_KEY),
        description="Signs tokens. At least 32 bytes; generate with `saaskit secret`.",
    )
    database_url: str = Field(
        "sqlite+aiosqlite:///./saaskit.db",
        description="SQLAlchemy async URL: `postgresql+asyncpg://...` or `sqlite+aiosqlite:///...`.",
    )
    redis_url: str | None = Field(
        None, description="Redis URL; unset means the in-process store (one process only)."
    )
    api_prefix: str = Field("/api/v1", description="Prefix of every saaskit router.")
    project_name: str = Field("saaskit", description="Shown in emails and the OpenAPI title.")
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    cors: CorsSettings = Field(default_factory=CorsSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def problems(self) -> list[str]:
        """Return what is unsafe for production, each with how to fix it."""
        found: list[str] = []
        key = self.secret_key.get_secret_value()
        if key == DEFAULT_SECRET_KEY:
            found.append(
                "SAASKIT_SECRET_KEY is the built-in development key; set it to a random "
                "value of at least 32 bytes, e.g. the output of `saaskit secret`."
            )
        elif len(key.encode()) < MIN_SECRET_KEY_BYTES:
            found.append(
                f"SAASKIT_SECRET_KEY is {len(key.encode())} bytes; use at least "
                f"{MIN_SECRET_KEY_BYTES} random bytes (e.g. `secrets.token_urlsafe(48)`)."
            )
        if "*" in self.cors.origins and self.cors.allow_credentials:
            found.append(
                "SAASKIT_CORS__ORIGINS contains '*' while credentials are allowed; list the exact "
                "origins (e.g. '[\"https://app.example.com\"]') or set "
                "SAASKIT_CORS__ALLOW_CREDENTIALS=false."
            )
        return found

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> SaaSKitSettings:
        if self.is_production:
            found = self.problems()
            if found:
                raise ValueError("unsafe settings for production:\n- " + "\n- ".join(found))
        return self
