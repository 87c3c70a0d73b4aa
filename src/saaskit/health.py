"""Health endpoints for load balancers and orchestrators.

Readiness also waits for the migrations: during a rollout, new app processes may start
before ``saaskit migrate`` (or the host's ``alembic upgrade head``) ran, and would fail on
missing columns. ``/health/ready`` answers 503 until the database is at the head of the
migrations the app expects, so the load balancer keeps sending traffic to the old ones.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal, Protocol, cast

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from saaskit.features import Feature, FeatureHost
from saaskit.routing import body_limits, new_router
from saaskit.settings import SaaSKitSettings
from saaskit.store import Store


class HealthKit(Protocol):
    """What the health router needs of the kit (:class:`saaskit.SaaSKit` has it)."""

    @property
    def settings(self) -> SaaSKitSettings:
        """The settings readiness reads (``db``, ``health``)."""
        ...

    @property
    def engine(self) -> AsyncEngine:
        """The database readiness pings."""
        ...

    @property
    def store(self) -> Store:
        """The store readiness pings."""
        ...


class Health(BaseModel):
    """The body of ``GET /health`` and ``GET /health/ready``."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, Literal["ok", "down", "skipped", "behind"]] = {}


PACKAGED_MIGRATIONS = "saaskit:migrations"
"""saaskit's own migrations, as an Alembic ``script_location`` (package:folder)."""

MigrationState = Literal["ok", "behind", "down", "skipped"]


def host_config(ini: str) -> Config:
    """The Alembic config of ``ini``, its ``script_location`` taken relative to the file."""
    path = Path(ini).resolve()
    config = Config(str(path))
    location = config.get_main_option("script_location")
    if location and ":" not in location and not Path(location).is_absolute():
        config.set_main_option("script_location", str(path.parent / location))
    return config


def migrations_config(settings: SaaSKitSettings, *, packaged: bool) -> Config | None:
    """The Alembic configuration whose migrations readiness waits for.

    The host's ``alembic.ini`` when ``db.alembic_ini`` names one, else saaskit's own when
    ``packaged`` (the kit uses its default models); ``None`` (not checked) otherwise or when the
    check is off.
    """
    if not settings.db.ready_requires_migrations:
        return None
    if settings.db.alembic_ini:
        return host_config(settings.db.alembic_ini)
    if not packaged:
        return None
    config = Config()
    config.set_main_option("script_location", PACKAGED_MIGRATIONS)
    return config


def _current(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


class MigrationCheck:
    """Compares the database's revision(s) with the head(s) of ``config``'s scripts.

    The heads are read once, on the first check.
    """

    def __init__(self, engine: AsyncEngine, config: Config | None) -> None:
        self.engine = engine
        self.config = config
        self._heads: frozenset[str] | None = None

    async def __call__(self) -> MigrationState:
        """Whether the database is at the migrations' head (not checked without a config)."""
        if self.config is None:
            return "skipped"
        if self._heads is None:
            scripts = await asyncio.to_thread(ScriptDirectory.from_config, self.config)
            self._heads = frozenset(scripts.get_heads())
        try:
            async with self.engine.connect() as connection:
                current = await connection.run_sync(_current)
        except Exception:
            return "down"
        return "ok" if set(current) >= self._heads else "behind"


def build_health_router(kit: HealthKit, *, packaged_migrations: bool = True) -> APIRouter:
    """The health routes.

    ``GET /health`` (the process is up) and ``GET /health/ready`` (its backends are up and the
    database is at the migrations' head).

    Args:
        kit: the kit (its settings, engine and store).
        packaged_migrations: the kit uses saaskit's default models, so without
            ``db.alembic_ini`` readiness waits for saaskit's own migrations.
    """
    router = new_router(body_limits(kit.settings.http))
    migrations = MigrationCheck(
        kit.engine, migrations_config(kit.settings, packaged=packaged_migrations)
    )

    @router.get(
        "/health",
        name="health:live",
        response_model=Health,
        status_code=200,
    )
    async def live() -> Health:
        return Health(status="ok")

    @router.get(
        "/health/ready",
        name="health:ready",
        response_model=Health,
        status_code=200,
        responses={503: {"model": Health, "description": "A backend is down"}},
    )
    async def ready() -> JSONResponse:
        checks: dict[str, Literal["ok", "down", "skipped", "behind"]] = {
            "database": "ok" if await _database_ok(kit) else "down",
            "redis": "skipped",
            "migrations": "skipped",
        }
        if checks["database"] == "ok":
            checks["migrations"] = await migrations()
        if kit.store.shared:
            checks["redis"] = "ok" if await kit.store.ping() else "down"
        healthy = "down" not in checks.values() and "behind" not in checks.values()
        body = Health(status="ok" if healthy else "unavailable", checks=checks)
        code = status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE
        return JSONResponse(body.model_dump(), status_code=code)

    # Some load balancers probe with HEAD; same handlers, kept out of the schema.
    router.add_api_route("/health", live, methods=["HEAD"], include_in_schema=False)
    router.add_api_route("/health/ready", ready, methods=["HEAD"], include_in_schema=False)
    return router


async def _database_ok(kit: HealthKit) -> bool:
    try:
        async with kit.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


class HealthFeature(Feature[None]):
    """``/health`` and ``/health/ready``, at the root (no prefix)."""

    name = "health"
    tags = ("health",)

    def build(self, kit: FeatureHost) -> None:
        """Nothing to build: the routes read the kit's engine and store."""
        return None

    def router(self, kit: FeatureHost, service: None) -> APIRouter:
        """The liveness and readiness probes.

        Readiness also waits for saaskit's own migrations when the kit uses its
        default models (``kit.packaged_models``).
        """
        packaged = bool(getattr(kit, "packaged_models", True))
        return build_health_router(cast(Any, kit), packaged_migrations=packaged)
