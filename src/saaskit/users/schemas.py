"""Request and response bodies for users."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from saaskit.text import PasswordText, SingleLine
from saaskit.types import Page as Page  # re-exported: it used to live here
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
    password: PasswordText = Field(max_length=4096)
    full_name: SingleLine | None = Field(default=None, max_length=255)


EMAIL_CHANGE_HINT = (
    "the email changes with POST /users/me/email, which sends a confirmation link to the "
    "new address"
)


class UserUpdate(BaseModel):
    """What a user may change about themselves. Privileged fields are rejected (422).

    The email is not one of them: changing it needs a recent re-authentication and a
    link opened from the new address (``POST /users/me/email``).
    """

    model_config = ConfigDict(extra="forbid")

    full_name: SingleLine | None = Field(default=None, max_length=255)

    @model_validator(mode="before")
    @classmethod
    def _email_has_its_own_flow(cls, data: Any) -> Any:
        if isinstance(data, dict) and "email" in data and "email" not in cls.model_fields:
            raise ValueError(EMAIL_CHANGE_HINT)
        return data


class UserAdminUpdate(UserUpdate):
    """What a superuser may change about any user (the email at once, unconfirmed)."""

    email: EmailAddress | None = None
    password: PasswordText | None = Field(default=None, max_length=4096)
    is_active: bool | None = None
    is_superuser: bool | None = None
    is_verified: bool | None = None

    _flags_not_null = field_validator(
        "email", "password", "is_active", "is_superuser", "is_verified"
    )(_refuse_null)


class EmailChangeRequest(BaseModel):
    """The new address; a confirmation link goes there, the change happens when opened."""

    model_config = ConfigDict(extra="forbid")

    email: EmailAddress


class PasswordChange(BaseModel):
    """``PATCH /users/me/password``: the current password and the new one."""

    model_config = ConfigDict(extra="forbid")

    current_password: PasswordText = Field(min_length=1, max_length=4096)
    new_password: PasswordText = Field(max_length=4096)


class Accepted(BaseModel):
    """The same answer whether or not the account exists."""

    detail: str
