"""A host that runs ``uvicorn app:app`` itself, with no logging configured, still sees
the emails of development (and their links) on its console."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.cli.helpers import backend_env, run_saaskit
from tests.databases import scratch_database
from tests.e2e.processes import stop, wait_until
from tests.helpers import PASSWORD
from tests.ports import free_port

pytestmark = pytest.mark.slow


@contextmanager
def plain_uvicorn(folder: Path, env: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """``uvicorn saaskit.demo.app:app`` with uvicorn's own defaults; yields URL and log."""
    port = free_port()
    log = folder / "uvicorn.log"
    command = [sys.executable, "-m", "uvicorn", "saaskit.demo.app:app", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, f"exited early:\n{log.read_text()}"
        try:
            return httpx.get(url + "/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(answers, 30, "uvicorn to answer /health")
        yield url, log
    finally:
        stop(process)  # SIGTERM: uvicorn shuts down, and the kit sends what is queued


def test_plain_uvicorn_without_logging_config_shows_the_verification_link(
    tmp_path: Path,
) -> None:
    with scratch_database(tmp_path, "uvicorn") as database_url:
        settings = backend_env(database_url)
        settings["SAASKIT_STORE__PREFIX"] = f"uvicorn-test:{uuid.uuid4().hex}:"
        migrated = run_saaskit("migrate", cwd=tmp_path, **settings)
        assert migrated.returncode == 0, migrated.stderr
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAASKIT_")}
        env.update({"SAASKIT_AUTH__BCRYPT_ROUNDS": "4", **settings})
        with plain_uvicorn(tmp_path, env) as (url, log):
            registered = httpx.post(
                url + "/api/v1/auth/register",
                json={"email": "host@example.com", "password": PASSWORD},
                timeout=10,
            )
            assert registered.status_code == 201, registered.text

    lines = [line.strip() for line in log.read_text().splitlines()]
    assert "To: host@example.com" in lines
    [link] = [line for line in lines if line.startswith("http") and "/verify-email?" in line]
    assert " " not in link
    assert "token=" in link
