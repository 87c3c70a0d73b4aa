"""The README's curl walk-through, run against ``saaskit demo`` on a free local port.

It starts the demo the way the README does (the ``saaskit`` CLI, a fresh working directory
so the demo's ``./saaskit.db`` is new), then runs ``docs/snippets/walkthrough.sh`` with
bash and curl.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.docs.helpers import SNIPPETS
from tests.ports import free_port

pytestmark = pytest.mark.slow

SCRIPT = SNIPPETS / "walkthrough.sh"
DEMO_ADDRESS = "127.0.0.1:8000"


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAASKIT_")}
    env["SAASKIT_AUTH__BCRYPT_ROUNDS"] = "4"
    return env


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    """``saaskit demo`` in ``tmp_path``; yields its base URL."""
    port = free_port()
    log = (tmp_path / "demo.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "saaskit.cli", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=demo_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "demo.log").read_text()
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the demo did not start in 60 s"
            time.sleep(0.2)
        assert (tmp_path / "saaskit.db").exists()
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_walkthrough_against_the_demo(demo: str, tmp_path: Path) -> None:
    script = SCRIPT.read_text("utf-8")
    assert DEMO_ADDRESS in script
    address = demo.removeprefix("http://")
    result = subprocess.run(
        ["bash", "-c", script.replace(DEMO_ADDRESS, address)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # register, /me, refresh, reused refresh, /me after the reuse
    assert len(lines) == 5, result.stdout
    assert '"email":"alice@example.com"' in lines[0]
    assert '"email":"alice@example.com"' in lines[1]
    assert '"access_token"' in lines[2]
    assert '"code":"invalid_token"' in lines[3]
    assert '"code":"invalid_token"' in lines[4]
    assert "hashed_password" not in result.stdout
