"""Reads that several components make in one store round trip.

A component that owns some keys (the session manager, the user cache, later API keys
and organization memberships) hands out a :class:`Read`: the keys to fetch and how to
turn their values into its object. A caller combines reads without knowing any key
format, and :func:`read_pair` fetches them with one ``get_many`` (one ``MGET``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from saaskit.store.base import Store

A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True, slots=True)
class Read(Generic[A]):
    """Keys to fetch and how to decode their values (``None`` for a missing key)."""

    keys: tuple[str, ...]
    decode: Callable[[Sequence[bytes | None]], A]


async def read_pair(store: Store, first: Read[A], second: Read[B]) -> tuple[A, B]:
    """Both reads in one round trip.

    Keep their keys in one hash slot: see :mod:`saaskit.store.keys`.
    """
    split = len(first.keys)
    values = await store.get_many(first.keys + second.keys)
    return first.decode(values[:split]), second.decode(values[split:])
