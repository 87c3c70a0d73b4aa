"""Numbers beyond the 32-bit id column are a 422, not a driver overflow (a 500); found by
the fuzzing in tests/e2e/test_fuzz.py."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import PASSWORD, bearer, login

TOO_BIG = 2**63


@pytest.fixture
async def admin(client: httpx.AsyncClient, kit: SaaSKit[User]) -> dict[str, str]:
    await kit.users.create("root@example.com", PASSWORD, is_superuser=True)
    return bearer((await login(client, "root@example.com"))["access_token"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/api/v1/users/{TOO_BIG}"),
        ("PATCH", f"/api/v1/users/{TOO_BIG}"),
        ("DELETE", f"/api/v1/users/{TOO_BIG}"),
        ("GET", "/api/v1/users/0"),
        ("GET", f"/api/v1/users?offset={TOO_BIG}"),
        ("GET", f"/api/v1/audit?offset={TOO_BIG}"),
        ("GET", f"/api/v1/audit?user_id={TOO_BIG}"),
    ],
)
async def test_out_of_range_numbers_are_422(
    client: httpx.AsyncClient, admin: dict[str, str], method: str, path: str
) -> None:
    body = {"json": {"full_name": "x"}} if method == "PATCH" else {}
    response = await client.request(method, path, headers=admin, **body)  # type: ignore[arg-type]

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_timestamps_carry_a_time_zone(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    me = (await client.get("/api/v1/users/me", headers=admin)).json()
    events = (await client.get("/api/v1/audit", headers=admin)).json()["items"]

    assert datetime.fromisoformat(me["created_at"]).tzinfo is not None
    assert events
    assert all(datetime.fromisoformat(e["created_at"]).tzinfo is not None for e in events)
