"""The suite-wide log scan (tests/secret_scan.py) knows the secrets the suite creates and
finds each of them in a log line."""

from __future__ import annotations

import json

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import PASSWORD, KitFactory, client_for, signed_up
from tests.secret_scan import REGISTRY, SecretRegistry

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/saaskit/audit/service.py", line 93, in record\n'
    "    await connection.execute(self._insert, values)\n"
    '  File "/app/sqlalchemy/engine.py", line 12, in execute\n'
    "    return await self._proxied(statement)\n"
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    "sqlalchemy.exc.DBAPIError: the connection is closed"
)


async def test_the_scan_learns_the_tokens_passwords_hashes_and_keys_a_test_creates(
    make_kit: KitFactory,
) -> None:
    kit: SaaSKit[User] = await make_kit(metrics={"enabled": True, "token": "m" * 24})
    async with client_for(kit) as client:
        tokens = await signed_up(client, "scan@example.com")
    user = await kit.users.get_by_email("scan@example.com")
    assert user is not None

    known = REGISTRY.secrets
    assert known[tokens["access_token"]] == "access token"
    assert known[tokens["refresh_token"]] == "refresh token"
    assert known[PASSWORD] == "password"
    assert known[user.hashed_password] == "password hash"
    assert known["test-secret-key-that-is-long-enough-0123456789"] == "signing key"
    assert known["m" * 24] == "metrics token"


def test_a_line_with_a_known_secret_or_a_hash_is_reported_with_its_logger() -> None:
    registry = SecretRegistry()
    registry.add("refresh token", "eyJ-refresh-token-value")
    registry.add("password", "short")  # too short to search for
    registry.add("password", "fuzz@example.com")  # a fuzzed value sent as email and password
    registry.add("password", " " * 8)  # fuzzed: as in every traceback's indentation
    registry.add("password", "ait self")  # fuzzed: in a traceback's source line
    registry.add("password", "session_id")  # fuzzed from a field name: in logged SQL
    registry.add("password", "hunter2-in-a-message")
    bcrypt = "$2b$04$" + "a" * 53
    lines = [
        json.dumps({"logger": "saaskit.auth", "message": "rotated eyJ-refresh-token-value"}),
        json.dumps({"logger": "sqlalchemy", "message": f"params ({bcrypt!r},)"}),
        json.dumps({"logger": "saaskit", "message": "a short answer"}),
        json.dumps({"logger": "saaskit.email", "message": "To: fuzz@example.com"}),
        json.dumps({"logger": "saaskit.audit", "exception": "Traceback\n        ^^^^^^^^"}),
        json.dumps({"logger": "saaskit.audit", "exception": TRACEBACK}),
        json.dumps({"logger": "saaskit.audit", "exception": '[parameters: {"session_id": 1}]'}),
        json.dumps({"logger": "saaskit.db", "exception": TRACEBACK + ": hunter2-in-a-message"}),
    ]

    leaks = registry.leaks(iter(lines))

    assert len(leaks) == 3
    assert leaks[0].startswith("refresh token in saaskit.auth")
    assert leaks[1].startswith("password hash (by its shape) in sqlalchemy")
    assert leaks[2].startswith("password 'hunter2-in-a-message' in saaskit.db")
