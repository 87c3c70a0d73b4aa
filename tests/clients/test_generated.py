"""Generated API clients: the committed schema and clients match the code, the Python
client (openapi-python-client) registers, logs in, refreshes and reads ``/users/me`` on a
real server, and the TypeScript client (@hey-api/openapi-ts) type-checks with
``tsc --noEmit`` and does the same calls from Node.js.

Node.js and npm are needed for the TypeScript half and for the drift check. Locally the
tests that need them skip with the reason; under ``CI=true`` they fail instead, so CI can
never pass without running them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest

from tests.clients.helpers import LiveServer
from tests.helpers import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "clients"
TYPESCRIPT = CLIENTS / "typescript"
IN_CI = os.environ.get("CI", "").lower() == "true"

sys.path.insert(0, str(CLIENTS / "python" / "saaskit-demo-client"))

from saaskit_demo_client import AuthenticatedClient, Client  # noqa: E402
from saaskit_demo_client.api.auth import auth_login, auth_register, auth_token  # noqa: E402
from saaskit_demo_client.api.users import users_me  # noqa: E402
from saaskit_demo_client.models import (  # noqa: E402
    LoginRequest,
    OAuthError,
    TokenPair,
    TokenRequest,
    TokenRequestGrantType,
    UserCreate,
    UserRead,
)


def generator_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_clients", ROOT / "scripts" / "generate_clients.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def require_node() -> None:
    """Skip locally, fail under CI, when Node.js or npm is missing."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        reason = f"{' and '.join(missing)} not on PATH (Node.js 20.19+ with npm is needed)"
        if IN_CI:
            pytest.fail(f"CI must run the generated-client checks: {reason}")
        pytest.skip(reason)


def test_the_committed_schema_is_the_demo_apps() -> None:
    committed = (CLIENTS / "openapi.json").read_text("utf-8")

    assert committed == generator_script().demo_schema(), (
        "clients/openapi.json is out of date: run python scripts/generate_clients.py"
    )


@pytest.mark.slow
def test_the_committed_clients_are_what_the_generators_make_of_it() -> None:
    require_node()

    problems = generator_script().check()

    assert problems == [], "run python scripts/generate_clients.py:\n" + "\n".join(problems)


@pytest.mark.slow
def test_the_python_client_registers_logs_in_refreshes_and_reads_me(
    live_server: LiveServer,
) -> None:
    email = f"generated-{uuid.uuid4().hex[:8]}@example.com"
    # --8<-- [start:python-client]
    with Client(base_url=live_server.url, raise_on_unexpected_status=True) as client:
        user = auth_register.sync(
            client=client, body=UserCreate(email=email, password=PASSWORD, full_name="Py")
        )
        tokens = auth_login.sync(client=client, body=LoginRequest(email=email, password=PASSWORD))
        assert isinstance(tokens, TokenPair)
        grant = TokenRequest(
            grant_type=TokenRequestGrantType.REFRESH_TOKEN, refresh_token=tokens.refresh_token
        )
        refreshed = auth_token.sync(client=client, body=grant)
        replayed = auth_token.sync(client=client, body=grant)
    # --8<-- [end:python-client]

    assert isinstance(user, UserRead)
    assert isinstance(refreshed, TokenPair)
    assert isinstance(replayed, OAuthError)
    assert replayed.error.value == "invalid_grant"
    with AuthenticatedClient(base_url=live_server.url, token=refreshed.access_token) as authed:
        me = users_me.sync_detailed(client=authed)
    assert me.status_code == 401  # the replay ended the session, as at /auth/refresh
    with Client(base_url=live_server.url) as client:
        fresh = auth_token.sync(
            client=client,
            body=TokenRequest(
                grant_type=TokenRequestGrantType.PASSWORD, username=email, password=PASSWORD
            ),
        )
    assert isinstance(fresh, TokenPair)
    with AuthenticatedClient(base_url=live_server.url, token=fresh.access_token) as authed:
        current = users_me.sync(client=authed)
    assert isinstance(current, UserRead)
    assert current.email == email
    assert current.id == user.id


@pytest.mark.slow
def test_the_typescript_client_type_checks_and_runs(
    live_server: LiveServer, tmp_path: Path
) -> None:
    require_node()
    bin_dir = generator_script().typescript_tools()  # npm ci from the lockfile, once
    tsc = [str(bin_dir / "tsc"), "-p", str(TYPESCRIPT)]

    checked = subprocess.run([*tsc, "--noEmit"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    built = subprocess.run(
        [*tsc, "--outDir", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (tmp_path / "package.json").write_text('{"type": "module"}')
    email = f"typescript-{uuid.uuid4().hex[:8]}@example.com"
    ran = subprocess.run(
        ["node", str(tmp_path / "example.js"), live_server.url, email, PASSWORD],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert json.loads(ran.stdout)["email"] == email
