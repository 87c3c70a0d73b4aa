"""saaskit without the ``redis`` extra: the embedded default must not need redis-py."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

# The interpreter sees no redis package (as after `pip install saaskit` without [redis]),
# imports the CLI and the kit, and serves a request on the in-process store.
SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    sys.modules["redis"] = None  # import redis -> ModuleNotFoundError
    import saaskit.cli.root  # what `saaskit demo` imports first
    import saaskit.store.cluster
    from fastapi import FastAPI
    import httpx
    from saaskit import SaaSKit, SaaSKitSettings

    async def main():
        kit = SaaSKit(SaaSKitSettings())
        app = FastAPI()
        kit.install(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answer = await client.get("/health")
        await kit.aclose()
        print(type(kit.store).__name__, answer.status_code)

    asyncio.run(main())
    """
)


def test_the_cli_and_a_kit_work_without_redis_py(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SAASKIT_", "PYTEST_", "COV_"))
    }
    env["SAASKIT_SECRET_KEY"] = "w" * 64
    env["SAASKIT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'no-redis.db'}"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["MemoryStore", "200"]
