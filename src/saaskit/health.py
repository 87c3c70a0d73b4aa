"""Health endpoints for load balancers and orchestrators."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from saaskit.migrations.readiness import MigrationCheck, host_config
from saaskit.routing import body_limits, new_router

if TYPE_CHECKING:
    from alembic.config import Config

    from saaskit.kit import SaaSKit


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, Literal["ok", "down", "skipped", "behind"]] = {}


def build_health_router(kit: SaaSKit[Any]) -> APIRouter:
    """``GET /health`` (the process is up) and ``GET /health/ready`` (its backends are up
    and the database is at the migrations' head)."""
    router = new_router(body_limits(kit.settings.http))
    migrations = MigrationCheck(kit.engine, _migrations_config(kit))

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


def _migrations_config(kit: SaaSKit[Any]) -> Config | None:
    """The migrations readiness waits for: the host's ``alembic.ini`` when configured,
    else saaskit's own when the kit uses its default models (a host with its own models
    and no ``db.alembic_ini`` is not checked)."""
    settings = kit.settings.db
    if not settings.ready_requires_migrations:
        return None
    if settings.alembic_ini:
        return host_config(settings.alembic_ini)
    from saaskit.migrations import packaged_config
    from saaskit.models import tables

    return packaged_config() if kit.models is tables else None


async def _database_ok(kit: SaaSKit[Any]) -> bool:
    try:
        async with kit.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
