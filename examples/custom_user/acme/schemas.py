"""Acme's user bodies: saaskit's, with Acme's columns."""

from pydantic import Field

from saaskit.users.schemas import UserCreate, UserRead, UserUpdate


class AcmeUserRead(UserRead):
    company: str | None = None
    plan_seats: int


class AcmeUserCreate(UserCreate):
    company: str | None = Field(default=None, max_length=200)


class AcmeUserUpdate(UserUpdate):
    # plan_seats is not here: users cannot give themselves seats.
    company: str | None = Field(default=None, max_length=200)
