"""Health endpoints for load balancers and orchestrators."""

from __future__ import annotations

from typing import Literal, Protocol

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from saaskit.routing import body_limits, new_router
from saaskit.settings import SaaSKitSettings
from saaskit.store import Store


class HealthKit(Protocol):
    """What the health router needs of the kit (:class:`saaskit.SaaSKit` has it)."""

    @property
    def settings(self) -> SaaSKitSettings: ...

    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def store(self) -> Store: ...


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, Literal["ok", "down", "skipped"]] = {}


def build_health_router(kit: HealthKit) -> APIRouter:
    """``GET /health`` (the process is up) and ``GET /health/ready`` (its backends are)."""
    router = new_router(body_limits(kit.settings.http))

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
        checks: dict[str, Literal["ok", "down", "skipped"]] = {
            "database": "ok" if await _database_ok(kit) else "down",
            "redis": "skipped",
        }
        if kit.store.shared:
            checks["redis"] = "ok" if await kit.store.ping() else "down"
        healthy = "down" not in checks.values()
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
