"""An open-loop latency probe: ``GET /api/v1/users/me`` at a fixed request rate.

A closed-loop tool (wrk) keeps the server saturated, so its latency mostly measures the
queue it builds itself. To see whether logins delay other requests, the probe sends
requests on a fixed schedule over a few keep-alive connections and measures each one
from its *scheduled* start (so a stalled server cannot hide its stall: no coordinated
omission). Raw asyncio streams keep the probe's own CPU use small.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from urllib.parse import urlsplit


async def _connection(
    host: str, port: int, request: bytes, slots: asyncio.Queue[float | None], out: list[float]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (scheduled := await slots.get()) is not None:
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
            out.append((time.perf_counter() - scheduled) * 1000)
    finally:
        writer.close()


async def _probe(
    url: str, token: str, rate: float, duration: float, connections: int
) -> list[float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"GET /api/v1/users/me HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    slots: asyncio.Queue[float | None] = asyncio.Queue()
    latencies: list[float] = []
    workers = [
        asyncio.create_task(_connection(host, port, request, slots, latencies))
        for _ in range(connections)
    ]
    start = time.perf_counter() + 0.05
    for i in range(int(rate * duration)):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        slots.put_nowait(scheduled)
    for _ in workers:
        slots.put_nowait(None)
    await asyncio.gather(*workers)
    return latencies


def probe(
    url: str, token: str, *, rate: float = 200, duration: float = 10, connections: int = 8
) -> dict[str, float]:
    """p50/p99/max latency (ms) of ``/me`` at ``rate`` requests per second."""
    values = sorted(asyncio.run(_probe(url, token, rate, duration, connections)))
    return {
        "rate": rate,
        "requests": len(values),
        "p50_ms": statistics.median(values),
        "p99_ms": values[int(len(values) * 0.99) - 1],
        "max_ms": values[-1],
    }
