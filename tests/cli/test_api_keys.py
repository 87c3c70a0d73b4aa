"""``saaskit api-keys create/revoke``: through the API keys service, the key on stdout once."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from saaskit import SaaSKit
from saaskit.models import User
from tests.cli.helpers import STRONG_SECRET, backend_env, invoke
from tests.helpers import make_settings
from tests.secret_scan import REGISTRY


def _env(database_url: str) -> dict[str, str]:
    return {**backend_env(database_url), "SAASKIT_SECRET_KEY": STRONG_SECRET}


def _kit(database_url: str) -> SaaSKit[User]:
    return SaaSKit(make_settings(database_url, secret_key=STRONG_SECRET))


def _with_kit(database_url: str, work: Any) -> Any:
    async def run() -> Any:
        kit = _kit(database_url)
        try:
            return await work(kit)
        finally:
            await kit.aclose()

    return asyncio.run(run())


def test_create_prints_a_working_key_once_and_revoke_stops_it(database_url: str) -> None:
    async def make_user(kit: SaaSKit[User]) -> None:
        await kit.users.create("ci@example.com", "a-long-password-0123", is_verified=True)

    _with_kit(database_url, make_user)
    created = invoke(
        "api-keys",
        "create",
        "--email",
        "ci@example.com",
        "--name",
        "deploy",
        "--days",
        "30",
        env=_env(database_url),
    )
    assert created.exit_code == 0, created.stderr
    key = created.stdout.strip()
    REGISTRY.add("API key", key)
    assert re.fullmatch(r"sk_test_\w+", key)
    assert key not in created.stderr
    public_id = re.search(r"API key (\w+) for", created.stderr)
    assert public_id

    async def read(kit: SaaSKit[User]) -> Any:
        from saaskit.apikeys import format as key_format

        parsed = key_format.parse(kit.api_keys.prefix, key)
        assert parsed is not None
        record = await kit.api_keys.load(parsed.owner_id, parsed.public_id)
        assert record is not None
        return kit.api_keys.check(record, kit.api_keys.hash(key))

    assert _with_kit(database_url, read) is True
    revoked = invoke(
        "api-keys",
        "revoke",
        "--email",
        "ci@example.com",
        "--id",
        public_id.group(1),
        env=_env(database_url),
    )
    assert revoked.exit_code == 0, revoked.stderr
    assert _with_kit(database_url, read) is False
    again = invoke(
        "api-keys",
        "revoke",
        "--email",
        "ci@example.com",
        "--id",
        public_id.group(1),
        env=_env(database_url),
    )
    assert again.exit_code == 1
    assert "No such API key" in again.stderr


def test_create_refuses_an_unknown_user_or_scope(database_url: str) -> None:
    missing = invoke("api-keys", "create", "--email", "nobody@example.com", env=_env(database_url))
    assert missing.exit_code == 1
    assert "no user nobody@example.com" in missing.stderr

    async def make_user(kit: SaaSKit[User]) -> None:
        await kit.users.create("ci@example.com", "a-long-password-0123")

    _with_kit(database_url, make_user)
    scoped = invoke(
        "api-keys",
        "create",
        "--email",
        "ci@example.com",
        "--scope",
        "nope:x",
        env=_env(database_url),
    )
    assert scoped.exit_code == 1
    assert "scope" in scoped.stderr
