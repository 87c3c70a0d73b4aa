"""A real saaskit server (uvicorn on a free loopback port) for the client-library tests.

Client libraries are driven over real HTTP, as a client developer would use them: one
server per test module, on a migrated database of its own and (with Redis) a key prefix of
its own; each test registers its own users.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from saaskit.migrations import packaged_config, upgrade
from tests.conftest import PASSWORD, TEST_REDIS_URL
from tests.databases import scratch_database
from tests.e2e.processes import app_environment, start_app

# The kit exactly as `kit.install` serves it, with a store key prefix of its own.
APP_MODULE = """
import os

from fastapi import FastAPI

from saaskit import SaaSKit, SaaSKitSettings

settings = SaaSKitSettings()
store = None
if settings.redis_url:
    from saaskit.store.redis import RedisStore

    store = RedisStore(settings.redis_url, prefix=os.environ["CLIENTS_STORE_PREFIX"])
kit = SaaSKit(settings, store=store)
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)
"""


@dataclass(frozen=True)
class LiveServer:
    """A running app: its base URL and the URLs client libraries are configured with."""

    url: str
    log: Path

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def token_url(self) -> str:
        return f"{self.api}/auth/token"

    @property
    def revoke_url(self) -> str:
        return f"{self.api}/auth/revoke"

    def register(self, label: str) -> str:
        """A new account (its email is returned; the password is ``PASSWORD``)."""
        email = f"{label}-{uuid.uuid4().hex[:8]}@example.com"
        body = {"email": email, "password": PASSWORD, "full_name": label}
        response = httpx.post(f"{self.api}/auth/register", json=body, timeout=10)
        assert response.status_code == 201, response.text
        return email


def _delete_prefix(prefix: str) -> None:
    import redis

    assert TEST_REDIS_URL
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("clients")
    (folder / "e2e_app.py").write_text(APP_MODULE)
    prefix = f"test-clients:{uuid.uuid4().hex}:"
    with ExitStack() as stack, scratch_database(folder, "clients") as database:
        upgrade(packaged_config(database))
        if TEST_REDIS_URL:
            stack.callback(_delete_prefix, prefix)
        env = app_environment(
            SAASKIT_DATABASE_URL=database,
            SAASKIT_REDIS_URL=TEST_REDIS_URL or "",
            SAASKIT_SECRET_KEY="clients-test-secret-key-that-is-long-enough-0123",
            SAASKIT_AUTH__BCRYPT_ROUNDS="4",
            # One client address registers and logs in every test's users.
            SAASKIT_RATE_LIMIT__REGISTER_IP="1000/1h",
            SAASKIT_RATE_LIMIT__LOGIN_IP="1000/15m",
            CLIENTS_STORE_PREFIX=prefix,
        )
        app = start_app(folder, env, "clients", stack)
        yield LiveServer(app.url, app.log)
