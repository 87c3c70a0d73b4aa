"""Instructions per ``GET /users/me``, counted by callgrind: a load-independent check.

    python benchmarks/me_instructions.py                    # this checkout
    python benchmarks/me_instructions.py --base d5b95da     # and another revision
    python benchmarks/me_instructions.py --store redis://127.0.0.1:6379/14
    python benchmarks/me_instructions.py --api-key          # also /me with an API key

Throughput measured with wrk moves with whatever else the machine runs; the number of
instructions one request executes does not. The app runs in-process (no server, no
socket: the ASGI app is called directly) on SQLite and the in-process store (or a Redis
store), after ``gc.freeze()`` as ``kit.lifespan`` does. The process runs twice under
``valgrind --tool=callgrind``, with N and 3N requests; the difference divided by 2N is
the cost of one request, start-up and import cost cancelled out. Needs valgrind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery 9"


async def _call(
    app: Any, method: str, path: str, body: Any = None, token: str = "", key: str = ""
) -> Any:
    """One request straight into the ASGI app; returns (status, body)."""
    headers = [(b"host", b"bench")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if key:
        headers.append((b"x-api-key", key.encode()))
    raw = b""
    if body is not None:
        raw = json.dumps(body).encode()
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(raw))]
    scope = {  # as benchmarks/observability_cost.py's scope_for, which the child cannot import
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("bench", 80),
    }
    messages = [{"type": "http.request", "body": raw, "more_body": False}]
    out: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> Any:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # a disconnect never comes

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return out["status"], out["body"]


async def serve_requests(count: int) -> None:
    """Register, log in, then make ``count`` authenticated ``/me`` requests."""
    import gc

    from fastapi import FastAPI

    from saaskit import SaaSKit, SaaSKitSettings
    from saaskit.models import Base

    kit: Any = SaaSKit(SaaSKitSettings())
    app = FastAPI()
    kit.install(app)
    async with kit.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    credentials = {"email": "bench@example.com", "password": PASSWORD}
    status, _ = await _call(app, "POST", "/api/v1/auth/register", credentials)
    assert status == 201, status
    status, body = await _call(app, "POST", "/api/v1/auth/login", credentials)
    assert status == 200, status
    token = json.loads(body)["access_token"]
    key = ""
    if os.environ.get("BENCH_CREDENTIAL") == "api_key":  # /me with an API key instead
        user = await kit.users.get_by_email("bench@example.com")
        _, key = await kit.api_keys.create(user.id, "bench")
        token = ""
    for _ in range(50):  # warm: caches, the verified-token memo, lazy imports
        status, _ = await _call(app, "GET", "/api/v1/users/me", token=token, key=key)
        assert status == 200, status
    gc.collect()
    gc.freeze()
    statuses: dict[int, int] = {}
    for _ in range(count):
        status, _ = await _call(app, "GET", "/api/v1/users/me", token=token, key=key)
        statuses[status] = statuses.get(status, 0) + 1
    await kit.aclose()
    if set(statuses) != {200}:
        raise SystemExit(f"/me answered {statuses}, not only 200")


def instructions(
    checkout: Path, requests: int, store: str | None, credential: str = "session"
) -> int:
    """Instructions of one run of this script in ``checkout``'s source, ``requests`` /me."""
    folder = Path(tempfile.mkdtemp())
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout / "src"),
        "PYTHONHASHSEED": "0",
        "SAASKIT_SECRET_KEY": "b" * 64,
        "SAASKIT_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'bench.db'}",
        "SAASKIT_EMAIL__BACKEND": "console",
        "BENCH_REQUESTS": str(requests),
        "BENCH_CREDENTIAL": credential,
        # The per-key limit stays on (its count is part of a key request), out of reach.
        "SAASKIT_API_KEYS__RATE_LIMIT": "100000000/1m",
    }
    env.pop("SAASKIT_REDIS_URL", None)
    if store:
        env["SAASKIT_REDIS_URL"] = store
    result = subprocess.run(  # noqa: S603
        [  # noqa: S607 - valgrind from PATH
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    shutil.rmtree(folder, ignore_errors=True)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        raise SystemExit(f"no callgrind total in:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def per_request(
    checkout: Path, requests: int, store: str | None, credential: str = "session"
) -> float:
    """Instructions of one ``/me``: (run of 3N - run of N) / 2N."""
    # Byte-compiled first: a run that compiles a changed module would count the compiling.
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "compileall", "-q", str(checkout / "src")], check=True
    )
    low = instructions(checkout, requests, store, credential)
    high = instructions(checkout, 3 * requests, store, credential)
    return (high - low) / (2 * requests)


def main() -> None:
    """Print instructions per /me for this checkout (and ``--base``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="another revision to count too (a git worktree)")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--store", help="a Redis URL (default: the in-process store)")
    parser.add_argument(
        "--api-key", action="store_true", help="also count /me with an API key (this checkout)"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    # Here, not at the top: the measured child runs this file on another revision's saaskit.
    from benchmarks.compare import worktree

    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed (apt-get install valgrind)")
    with ExitStack() as stack:
        checkouts = {"this checkout": ROOT}
        if args.base:
            folder = worktree(stack, args.base)
            checkouts = {args.base: folder, **checkouts}
        counts = {
            name: per_request(path, args.requests, args.store) for name, path in checkouts.items()
        }
        if args.api_key:
            counts["this checkout, API key"] = per_request(
                ROOT, args.requests, args.store, "api_key"
            )
    for name, count in counts.items():
        print(f"{name}: {count:,.0f} instructions per /me")
    if args.api_key:
        ratio = counts["this checkout, API key"] / counts["this checkout"]
        print(f"API key / session: {ratio:.3f}x the instructions")
    if args.base:
        base, head = counts[args.base], counts["this checkout"]
        print(f"ratio: {head / base:.3f}x the instructions of {args.base}")


if __name__ == "__main__":
    if "BENCH_REQUESTS" in os.environ:
        asyncio.run(serve_requests(int(os.environ["BENCH_REQUESTS"])))
    else:
        main()
