"""Mounting saaskit's routers one by one instead of ``kit.install(app)``."""

from fastapi import FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.errors import install_error_handlers
from saaskit.middleware import BodySizeLimitMiddleware

kit = SaaSKit(SaaSKitSettings())
app = FastAPI(lifespan=kit.lifespan)
app.include_router(kit.auth_router, prefix="/api/v1/auth", tags=["auth"])
app.include_router(kit.users_router, prefix="/api/v1/users", tags=["users"])
install_error_handlers(app)  # saaskit's error shape for every route, yours included
app.add_middleware(BodySizeLimitMiddleware, max_bytes=kit.settings.http.max_body_bytes)
