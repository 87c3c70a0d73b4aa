"""API bodies that carry the extra column: extend saaskit's schemas."""

from pydantic import Field

from saaskit.users.schemas import UserCreate, UserRead, UserUpdate


class MyUserRead(UserRead):
    company: str | None = None


class MyUserCreate(UserCreate):
    company: str | None = Field(default=None, max_length=200)


class MyUserUpdate(UserUpdate):
    company: str | None = Field(default=None, max_length=200)
