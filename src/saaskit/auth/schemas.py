"""Request and response bodies for authentication."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from saaskit.text import PasswordText, SingleLine
from saaskit.users.emails import LookupEmail
from saaskit.users.schemas import Accepted as Accepted  # it used to live here


class LoginRequest(BaseModel):
    """JSON login (the endpoint also takes the OAuth2 form with ``username``)."""

    model_config = ConfigDict(extra="forbid")

    # Looked up, not checked against the rules for new addresses: a look-alike gets the
    # same 401 as an unknown address, and accounts stored before those rules still log in.
    email: LookupEmail
    password: PasswordText = Field(min_length=1, max_length=4096)


class RefreshRequest(BaseModel):
    """``POST /auth/refresh``: the refresh token to rotate."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: SingleLine = Field(min_length=1, max_length=4096)


class TokenPair(BaseModel):
    """Tokens returned by login and refresh."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_expires_in: int = Field(description="Seconds until the session ends.")


class SessionRead(BaseModel):
    """One of the user's login sessions."""

    id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool = Field(description="True for the session of the token making the request.")
    impersonated_by: int | None = Field(
        None,
        description="The superuser acting as you in this session (an impersonation for "
        "support), or null for your own logins.",
    )


class EmailRequest(BaseModel):
    """Ask for a verification or reset email."""

    model_config = ConfigDict(extra="forbid")

    email: LookupEmail


class VerifyEmailRequest(BaseModel):
    """``POST /auth/verify-email``: the token from the verification link."""

    model_config = ConfigDict(extra="forbid")

    token: SingleLine = Field(min_length=1, max_length=4096)


class ResetPasswordRequest(BaseModel):
    """``POST /auth/reset-password``: the token from the reset link and the new password."""

    model_config = ConfigDict(extra="forbid")

    token: SingleLine = Field(min_length=1, max_length=4096)
    password: PasswordText = Field(
        max_length=4096
    )  # the password policy decides (invalid_password)


class ReauthenticateRequest(BaseModel):
    """The current password, to unlock security-sensitive actions for a few minutes."""

    model_config = ConfigDict(extra="forbid")

    password: PasswordText = Field(min_length=1, max_length=4096)


class Reauthenticated(BaseModel):
    """Until when this session counts as recently authenticated."""

    authenticated_until: datetime = Field(
        description="Security-sensitive actions are allowed in this session until then."
    )
