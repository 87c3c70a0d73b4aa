"""Request and response bodies for users."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from saaskit.users.emails import EmailAddress

ItemT = TypeVar("ItemT")
T = TypeVar("T")


def _refuse_null(value: T | None) -> T:
    # Omit a field to leave it unchanged; an explicit null for a NOT NULL column is a 422.
    if value is None:
        raise ValueError("may be omitted but not null")
    return value


class UserRead(BaseModel):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    is_verified: bool
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("created_at", "updated_at")
    @classmethod
    def _assume_utc(cls, value: datetime | None) -> datetime | None:
        # SQLite hands back naive datetimes (stored as UTC by CURRENT_TIMESTAMP); the
        # documented format is RFC 3339 `date-time`, which needs an offset.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class UserCreate(BaseModel):
    """Registration. Unknown fields (``is_superuser``...) are rejected."""

    model_config = ConfigDict(extra="forbid")

    email: EmailAddress
    # No min_length: the password policy decides, so "" is 422 `invalid_password` too.
    password: str = Field(max_length=4096)
    full_name: str | None = Field(default=None, max_length=255)


class UserUpdate(BaseModel):
    """What a user may change about themselves. Privileged fields are rejected (422)."""

    model_config = ConfigDict(extra="forbid")

    email: EmailAddress | None = None
    full_name: str | None = Field(default=None, max_length=255)

    _email_not_null = field_validator("email")(_refuse_null)


class UserAdminUpdate(UserUpdate):
    """What a superuser may change about any user."""

    password: str | None = Field(default=None, max_length=4096)
    is_active: bool | None = None
    is_superuser: bool | None = None
    is_verified: bool | None = None

    _flags_not_null = field_validator("password", "is_active", "is_superuser", "is_verified")(
        _refuse_null
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=4096)
    new_password: str = Field(max_length=4096)


class Page(BaseModel, Generic[ItemT]):
    """One page of a list."""

    items: list[ItemT]
    total: int
    limit: int
    offset: int
