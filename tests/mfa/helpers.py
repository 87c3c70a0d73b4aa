"""Shared helpers of the 2FA tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from saaskit.mfa import totp
from tests.helpers import PASSWORD, bearer, signed_up
from tests.secret_scan import REGISTRY

MFA = "/api/v1/mfa"
LOGIN = "/api/v1/auth/login"
TOKEN = "/api/v1/auth/token"
ME = "/api/v1/users/me"
START = 1_800_000_000.0  # a fixed instant, at the start of a 30-second step


@dataclass
class Clock:
    """The 2FA service's clock (``kit.mfa.clock``), moved by the tests."""

    now: float = START

    def __call__(self) -> float:
        return self.now

    def next_step(self) -> None:
        self.now += totp.PERIOD


@dataclass
class Enrolled:
    """A user with 2FA on: their bearer header, secret and recovery codes."""

    email: str
    headers: dict[str, str]
    secret: str
    recovery_codes: list[str] = field(default_factory=list)

    def code(self, clock: Clock, offset: int = 0) -> str:
        return totp.code_at(self.secret, totp.step_at(clock.now) + offset)


async def enroll(
    client: httpx.AsyncClient, clock: Clock, email: str = "alice@example.com"
) -> Enrolled:
    """Sign up, request a secret, confirm it with a code: 2FA on."""
    tokens = await signed_up(client, email)
    headers = bearer(tokens["access_token"])
    setup = await client.post(f"{MFA}/totp/setup", headers=headers)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    REGISTRY.add("TOTP secret", secret)
    confirmed = await client.post(
        f"{MFA}/totp/confirm",
        json={"code": totp.code_at(secret, totp.step_at(clock.now))},
        headers=headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    for code in codes:
        REGISTRY.add("recovery code", code)
    clock.next_step()  # the confirming code's step is spent
    return Enrolled(email, headers, secret, codes)


async def challenge(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Log in with the password: the 403 ``mfa_required`` challenge token."""
    response = await client.post(LOGIN, json={"email": email, "password": password})
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "mfa_required"
    token: str = error["challenge_token"]
    REGISTRY.add("MFA challenge", token)
    return token


async def verify(client: httpx.AsyncClient, token: str, **proof: str) -> httpx.Response:
    return await client.post(f"{MFA}/verify", json={"challenge_token": token, **proof})


def code_of(response: httpx.Response) -> Any:
    return response.json()["error"]["code"]


def wrong_code(secret: str, clock: Clock) -> str:
    """A 6-digit code that no step within the skew accepts."""
    step = totp.step_at(clock.now)
    valid = {totp.code_at(secret, step + offset) for offset in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
