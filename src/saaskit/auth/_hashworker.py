"""A password-hashing worker process: JSON lines in on stdin, JSON lines out on stdout.

Started by :mod:`saaskit.auth.hashpool` as ``python -P <this file>``; it imports nothing
from saaskit, so it starts fast and small. It lowers its own CPU priority first
(SCHED_IDLE on Linux: it runs only on CPU time nobody else wants), so the hashing it does
gives way at once to the application's event loop. It exits when stdin closes, which also
happens when the application process dies.

Request: ``{"op": "hash" | "verify", "scheme": ["bcrypt", 12] | ["argon2", 0],
"password": str, "hash": str}``. Reply: ``{"ok": true, "hash": str}`` for hash,
``{"ok": true, "match": bool, "updated": str | null}`` for verify, or
``{"ok": false, "error": str}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any


def lower_priority() -> None:
    """SCHED_IDLE where the OS has it, else the lowest ``nice``."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not permitted
        with contextlib.suppress(AttributeError, OSError):
            os.nice(19)


def _hasher(scheme: tuple[str, int], cache: dict[tuple[str, int], Any]) -> Any:
    if scheme not in cache:
        from pwdlib import PasswordHash
        from pwdlib.hashers.bcrypt import BcryptHasher

        name, rounds = scheme
        hashers: list[Any] = [BcryptHasher(rounds=rounds)]
        if name == "argon2":
            from pwdlib.hashers.argon2 import Argon2Hasher

            hashers.insert(0, Argon2Hasher())
        cache[scheme] = PasswordHash(tuple(hashers))
    return cache[scheme]


def handle(request: dict[str, Any], cache: dict[tuple[str, int], Any]) -> dict[str, Any]:
    """Answer one request (also used in-process when worker processes cannot start)."""
    from pwdlib.exceptions import UnknownHashError

    name, rounds = request["scheme"]
    hasher = _hasher((str(name), int(rounds)), cache)
    if request["op"] == "hash":
        return {"ok": True, "hash": hasher.hash(request["password"])}
    try:
        match, updated = hasher.verify_and_update(request["password"], request["hash"])
    except (ValueError, UnknownHashError):  # an unrecognised or corrupt hash never matches
        match, updated = False, None
    return {"ok": True, "match": match, "updated": updated}


def main() -> None:
    lower_priority()
    cache: dict[tuple[str, int], Any] = {}
    out = sys.stdout
    for line in sys.stdin:
        try:
            reply = handle(json.loads(line), cache)
        except Exception as error:  # reported to the caller; the worker lives on
            reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
