"""Concurrent MGETs are coalesced into one fetch, and every caller gets its own values."""

from __future__ import annotations

import asyncio

import pytest

from saaskit.store.batching import MgetBatcher


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    async def __call__(self, keys: list[str]) -> list[bytes | None]:
        self.calls.append(keys)
        await asyncio.sleep(0)
        if self.fail:
            raise ConnectionError("redis went away")
        return [key.encode() if key != "missing" else None for key in keys]


async def test_concurrent_calls_share_one_fetch_and_get_their_own_slice() -> None:
    fetch = Recorder()
    batcher = MgetBatcher(fetch)
    results = await asyncio.gather(
        batcher.get_many(["a", "b"]), batcher.get_many(["missing"]), batcher.get_many(["c"])
    )
    expected: list[list[bytes | None]] = [[b"a", b"b"], [None], [b"c"]]
    assert list(results) == expected
    assert fetch.calls == [["a", "b", "missing", "c"]]


async def test_calls_in_different_loop_turns_are_separate_fetches() -> None:
    fetch = Recorder()
    batcher = MgetBatcher(fetch)
    assert await batcher.get_many(["a"]) == [b"a"]
    assert await batcher.get_many(["b"]) == [b"b"]
    assert fetch.calls == [["a"], ["b"]]


async def test_a_failure_reaches_every_waiter() -> None:
    batcher = MgetBatcher(Recorder(fail=True))
    results = await asyncio.gather(
        batcher.get_many(["a"]), batcher.get_many(["b"]), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_a_cancelled_waiter_does_not_break_the_others() -> None:
    fetch = Recorder()
    batcher = MgetBatcher(fetch)
    doomed = asyncio.ensure_future(batcher.get_many(["x"]))
    survivor = asyncio.ensure_future(batcher.get_many(["y"]))
    await asyncio.sleep(0)
    doomed.cancel()
    assert await survivor == [b"y"]
    with pytest.raises(asyncio.CancelledError):
        await doomed
