"""A short-lived lock in the store, shared by every app process when the store is Redis."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from saaskit.exceptions import BillingUnavailable
from saaskit.store import CasResult, Store


@asynccontextmanager
async def store_lock(
    store: Store, key: str, *, ttl: int = 60, wait: float = 30.0, poll: float = 0.02
) -> AsyncIterator[None]:
    """Hold ``key`` for the duration of the block (at most ``ttl`` seconds).

    Raises:
        BillingUnavailable: the lock was still held by someone else after ``wait`` seconds.
    """
    token = secrets.token_hex(16).encode()
    deadline = time.monotonic() + wait
    while not await store.claim(key, ttl, token):
        if time.monotonic() >= deadline:
            raise BillingUnavailable("Billing is busy with this account; try again shortly.")
        await asyncio.sleep(poll)
    try:
        yield
    finally:
        # Release only our own claim: after a ttl expiry the key may be someone else's.
        if await store.compare_and_set(key, token, b"released") is CasResult.SWAPPED:
            await store.delete(key)
