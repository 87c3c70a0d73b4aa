"""Reads a request adds to its session read: more of the user's keys in the same ``MGET``.

The session reader fetches the session and the cached user in one store round trip (one
``MGET`` in the user's hash slot, :mod:`saaskit.store.keys`). A dependency that will need
more of the *same user's* keys (an organization membership: ``{u:<uid>}:org:<oid>``)
announces their suffixes with :func:`want` before the user is resolved; the reader adds
``{u:<uid>}:<suffix>`` to its ``MGET`` and keeps the values for :func:`take`. A request
that announces nothing costs the reader one tuple check.

Both live in context variables. :func:`want` forgets what was fetched before and
:func:`take` consumes it, so a value is only ever used by the dependency that asked for
it, right after the user was read (a user resolved earlier in the request means nothing
was fetched: the dependency reads the key itself).
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["fetched", "take", "want", "wanted"]

_WANTED: ContextVar[tuple[str, ...]] = ContextVar("saaskit_prefetch_wanted", default=())
_FETCHED: ContextVar[dict[str, bytes | None] | None] = ContextVar(
    "saaskit_prefetch_fetched", default=None
)


def want(*suffixes: str) -> None:
    """Ask the session reader to fetch ``{u:<uid>}:<suffix>`` for each suffix.

    Replaces what was asked before, and forgets what was fetched before.
    """
    _WANTED.set(suffixes)
    _FETCHED.set(None)


def wanted() -> tuple[str, ...]:
    """The suffixes announced in this request (for the reader)."""
    return _WANTED.get()


def fetched(values: dict[str, bytes | None]) -> None:
    """Keep what the reader fetched, by suffix (for the reader)."""
    _FETCHED.set(values)
    _WANTED.set(())


def take(suffix: str) -> tuple[bool, bytes | None]:
    """What the session reader fetched for ``suffix`` in this request, if it did.

    ``(True, value)`` when it did (the value is ``None`` for a missing key), else
    ``(False, None)``: read it yourself.
    """
    values = _FETCHED.get()
    _FETCHED.set(None)  # once: a later request never sees this one's values
    _WANTED.set(())
    if values is None or suffix not in values:
        return False, None
    return True, values[suffix]
