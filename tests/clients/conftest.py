"""A real saaskit server (uvicorn on a free loopback port) for the client-library tests.

Client libraries are driven over real HTTP, as a client developer would use them: one
server per test module, on a migrated database of its own and (with Redis) a key prefix of
its own; each test registers its own users.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from saaskit.migrations import packaged_config, upgrade
from tests.clients.helpers import APP_MODULE, LiveServer, delete_redis_prefix
from tests.databases import scratch_database
from tests.e2e.processes import app_environment, start_app
from tests.helpers import TEST_REDIS_URL


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("clients")
    (folder / "e2e_app.py").write_text(APP_MODULE)
    prefix = f"test-clients:{uuid.uuid4().hex}:"
    with ExitStack() as stack, scratch_database(folder, "clients") as database:
        upgrade(packaged_config(database))
        if TEST_REDIS_URL:
            stack.callback(delete_redis_prefix, prefix)
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
