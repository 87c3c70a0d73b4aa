"""The demo ASGI app: ``uvicorn saaskit.demo.app:app`` (or ``saaskit demo``).

It is configured like any host app, from ``SAASKIT_*`` variables and ``.env``
(``SAASKIT_DATABASE_URL``, ``SAASKIT_REDIS_URL``, ...). Its schema comes from the
migrations saaskit ships for the default models; ``saaskit demo`` applies them first.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel, Field

from saaskit.__about__ import __version__
from saaskit.kit import SaaSKit
from saaskit.models import User
from saaskit.settings import SaaSKitSettings


class DemoIndex(BaseModel):
    """Where to go from the demo's front page."""

    name: str = Field(description="What this app is.")
    docs: str = Field(description="Interactive API documentation (Swagger UI).")
    health: str = Field(description="Liveness probe.")
    api: str = Field(description="Prefix of every saaskit endpoint.")


def create_app(settings: SaaSKitSettings | None = None) -> FastAPI:
    """Build the demo app on a new :class:`~saaskit.SaaSKit`.

    Args:
        settings: the configuration (default: read from the environment and ``.env``).

    Returns:
        The app; its kit is ``app.state.kit``.

    Example:
        ```python
        from saaskit import SaaSKitSettings
        from saaskit.demo.app import create_app

        app = create_app(SaaSKitSettings(database_url="sqlite+aiosqlite:///./demo.db"))
        ```
    """
    kit: SaaSKit[User] = SaaSKit(settings)
    app = FastAPI(title="saaskit demo", version=__version__, lifespan=kit.lifespan)
    app.state.kit = kit
    kit.install(app)

    @app.get(
        "/",
        name="demo:index",
        operation_id="demo_index",
        response_model=DemoIndex,
        status_code=200,
        tags=["demo"],
        summary="Links to the docs and the health check",
    )
    async def index() -> DemoIndex:
        return DemoIndex(
            name="saaskit demo",
            docs=app.docs_url or "/docs",
            health="/health",
            api=kit.settings.api_prefix,
        )

    return app


app = create_app()
