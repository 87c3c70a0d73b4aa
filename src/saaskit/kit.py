"""The :class:`SaaSKit` facade: one object that wires settings, database, store,
services, dependencies and routers for a host FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property
from typing import Any, Generic, cast, overload

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from saaskit.auth.dependencies import AuthDependencies, Authenticator, build_dependencies
from saaskit.auth.passwords import PasswordHasher, PwdlibHasher
from saaskit.auth.service import AuthService
from saaskit.auth.sessions import SessionManager
from saaskit.auth.tokens import TokenCodec
from saaskit.db.engine import create_engine, create_session_factory
from saaskit.models import User as DefaultUser
from saaskit.settings import SaaSKitSettings
from saaskit.store import Store, create_store
from saaskit.users.cache import UserCache, UserT
from saaskit.users.schemas import UserCreate, UserRead, UserUpdate
from saaskit.users.service import UserService


class SaaSKit(Generic[UserT]):
    """Auth, users and more for a FastAPI app, configured by one settings object.

    Example:
        ```python
        from fastapi import Depends, FastAPI
        from saaskit import SaaSKit, SaaSKitSettings
        from saaskit.models import User

        kit = SaaSKit(SaaSKitSettings())
        app = FastAPI(lifespan=kit.lifespan)
        kit.install(app)

        @app.get("/hello")
        async def hello(user: User = Depends(kit.current_active_user)) -> dict[str, str]:
            return {"hello": user.email}
        ```

    Args:
        settings: the configuration (default: read from ``SAASKIT_*`` / ``.env``).
        user_model: the host's user model built on :class:`~saaskit.db.UserMixin`
            (default: :class:`saaskit.models.User`).
        user_read_schema: response model for users (add the host's own columns).
        user_create_schema: registration body (add the host's own columns).
        user_update_schema: ``PATCH /users/me`` body.
        store: shared-state backend (default: Redis if ``redis_url`` is set, else memory).
        password_hasher: hashing strategy (default: pwdlib bcrypt from settings).
    """

    @overload
    def __init__(
        self: SaaSKit[DefaultUser],
        settings: SaaSKitSettings | None = None,
        *,
        user_model: None = None,
        user_read_schema: type[BaseModel] = UserRead,
        user_create_schema: type[UserCreate] = UserCreate,
        user_update_schema: type[UserUpdate] = UserUpdate,
        store: Store | None = None,
        password_hasher: PasswordHasher | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self,
        settings: SaaSKitSettings | None = None,
        *,
        user_model: type[UserT],
        user_read_schema: type[BaseModel] = UserRead,
        user_create_schema: type[UserCreate] = UserCreate,
        user_update_schema: type[UserUpdate] = UserUpdate,
        store: Store | None = None,
        password_hasher: PasswordHasher | None = None,
    ) -> None: ...

    def __init__(
        self,
        settings: SaaSKitSettings | None = None,
        *,
        user_model: type[Any] | None = None,
        user_read_schema: type[BaseModel] = UserRead,
        user_create_schema: type[UserCreate] = UserCreate,
        user_update_schema: type[UserUpdate] = UserUpdate,
        store: Store | None = None,
        password_hasher: PasswordHasher | None = None,
    ) -> None:
        self.settings = settings or SaaSKitSettings()
        self.user_model: type[UserT] = cast("type[UserT]", user_model or DefaultUser)
        self.user_read_schema = user_read_schema
        self.user_create_schema = user_create_schema
        self.user_update_schema = user_update_schema
        self.engine: AsyncEngine = create_engine(self.settings)
        self.session_factory = create_session_factory(self.engine)
        self.store: Store = store or create_store(self.settings.redis_url)
        self.passwords: PasswordHasher = password_hasher or PwdlibHasher(self.settings.auth)
        auth = self.settings.auth
        self.tokens = TokenCodec(
            self.settings.secret_key.get_secret_value(),
            issuer=auth.issuer,
            audience=auth.audience,
            access_ttl=auth.access_token_minutes * 60,
        )
        self.sessions = SessionManager(self.store, auth.refresh_token_days * 86400)
        cache = UserCache(self.store, self.user_model, auth.user_cache_seconds)
        self.users: UserService[UserT] = UserService(
            self.user_model, self.session_factory, self.passwords, self.sessions, cache
        )
        self.auth: AuthService[UserT] = AuthService(self.users, self.sessions, self.tokens)
        self.authenticator = Authenticator(self.tokens, self.store, self.users, cache.codec)
        self.dependencies: AuthDependencies[UserT] = build_dependencies(
            self.authenticator, token_url=f"{self.settings.api_prefix}/auth/login"
        )
        self.current_user = self.dependencies.current_user
        self.current_active_user = self.dependencies.current_active_user
        self.current_verified_user = self.dependencies.current_verified_user
        self.current_superuser = self.dependencies.current_superuser

    @cached_property
    def auth_router(self) -> APIRouter:
        """Register, login, refresh, logout, sessions (mount at ``/api/v1/auth``)."""
        from saaskit.auth.router import build_auth_router

        return build_auth_router(self)

    @cached_property
    def users_router(self) -> APIRouter:
        """``/me`` and superuser administration (mount at ``/api/v1/users``)."""
        from saaskit.users.router import build_users_router

        return build_users_router(self)

    @cached_property
    def health_router(self) -> APIRouter:
        """``/health`` and ``/health/ready`` (mount at the root)."""
        from saaskit.health import build_health_router

        return build_health_router(self)

    def install(self, app: FastAPI) -> None:
        """Mount every router under ``settings.api_prefix`` and add the middleware.

        Adds: the body-size limit, CORS when origins are configured, and saaskit's
        error handlers (unless ``settings.http.install_error_handlers`` is false).
        """
        from saaskit.errors import install_error_handlers
        from saaskit.middleware import BodySizeLimitMiddleware

        prefix = self.settings.api_prefix
        app.include_router(self.auth_router, prefix=f"{prefix}/auth", tags=["auth"])
        app.include_router(self.users_router, prefix=f"{prefix}/users", tags=["users"])
        app.include_router(self.health_router, tags=["health"])
        if self.settings.http.install_error_handlers:
            install_error_handlers(app)
        if self.settings.cors.origins:
            from fastapi.middleware.cors import CORSMiddleware

            app.add_middleware(
                CORSMiddleware,
                allow_origins=self.settings.cors.origins,
                allow_credentials=self.settings.cors.allow_credentials,
                allow_methods=["*"],
                allow_headers=["*"],
            )
        app.add_middleware(BodySizeLimitMiddleware, max_bytes=self.settings.http.max_body_bytes)

    @asynccontextmanager
    async def lifespan(self, app: FastAPI | None = None) -> AsyncIterator[None]:
        """Use as ``FastAPI(lifespan=kit.lifespan)``: closes pools and threads on exit."""
        try:
            yield
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Release the database pool, the store connection and the hashing threads."""
        await self.engine.dispose()
        await self.store.close()
        self.passwords.close()
