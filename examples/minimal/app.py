"""A host FastAPI app that adds saaskit's auth and users to its own models."""

from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy.orm import DeclarativeBase

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.db import UserMixin


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
