"""A host FastAPI app that adds saaskit's auth and users to its own models."""

from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy.orm import DeclarativeBase

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.db import UserMixin
from saaskit.orgs.service import OrgContext


class Base(DeclarativeBase):
    """The app's own declarative base: its metadata holds the app's tables."""


class User(UserMixin, Base):
    """The app's user table; UserMixin supplies the columns saaskit needs."""

    __tablename__ = "users"


kit = SaaSKit(SaaSKitSettings(), user_model=User)  # settings from SAASKIT_* / .env
app = FastAPI(title="minimal saaskit example", lifespan=kit.lifespan)
kit.install(app)  # /api/v1/auth/*, /api/v1/users/*, /health*, error handlers, body limit


@app.get("/api/v1/hello")
async def hello(user: Annotated[User, Depends(kit.current_active_user)]) -> dict[str, str]:
    """A host route that only active, logged-in users can call."""
    return {"message": f"Hello, {user.email}!"}


@app.get("/api/v1/orgs/{org_id}/hello")
async def org_hello(org: Annotated[OrgContext, Depends(kit.current_org)]) -> dict[str, str]:
    """Members of the organization only: anyone else gets 404, as for one that does not exist."""
    return {"message": f"Hello, {org.role} of {org.name}!"}


@app.get("/api/v1/orgs/{org_id}/billing-report")
async def billing_report(
    org: Annotated[OrgContext, Depends(kit.require_org_permission("billing:manage"))],
) -> dict[str, str]:
    """Members whose role has `billing:manage` (owners, admins); a plain member gets 403."""
    return {"organization": org.slug, "seen_by": org.role}
