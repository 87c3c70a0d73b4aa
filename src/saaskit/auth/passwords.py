"""Password policy and hashing (pwdlib), off the event loop.

Hashing runs in a dedicated thread pool whose threads run at a lower CPU priority, so a
burst of logins cannot starve the event loop that serves every other request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Protocol

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers import HasherProtocol
from pwdlib.hashers.bcrypt import BcryptHasher

from saaskit.exceptions import InvalidPassword, require_module
from saaskit.settings import AuthSettings

BCRYPT_MAX_BYTES = 72


class PasswordHasher(Protocol):
    """Hashes and verifies passwords without blocking the event loop."""

    def check_policy(self, password: str) -> None:
        """Raise :class:`~saaskit.exceptions.InvalidPassword` if ``password`` is unacceptable."""
        ...

    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """Check ``password``; ``hashed=None`` runs a dummy verify of equal cost.

        Returns whether it matched and, when the hash should be upgraded (new cost or
        algorithm), the new hash to store.
        """
        ...

    def close(self) -> None: ...


@functools.cache
def common_passwords() -> frozenset[str]:
    """Well-known passwords that are refused (lower-cased)."""
    text = resources.files("saaskit.auth").joinpath("common_passwords.txt").read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line.lower() for line in lines if line and not line.startswith("#"))


def _lower_priority() -> None:
    # Linux schedules threads one by one: SCHED_IDLE hashing threads get every CPU cycle
    # nobody else wants (so logins alone still use all cores) but give way at once to
    # the event loop thread, so a burst of logins cannot slow the other requests down.
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not permitted: fall back to nice
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


class PwdlibHasher:
    """The default :class:`PasswordHasher`: bcrypt (cost from settings) or argon2id."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        hashers: list[HasherProtocol] = [BcryptHasher(rounds=settings.bcrypt_rounds)]
        if settings.password_hasher == "argon2":
            require_module("argon2", "argon2")
            from pwdlib.hashers.argon2 import Argon2Hasher

            hashers.insert(0, Argon2Hasher())
        self.uses_bcrypt = settings.password_hasher == "bcrypt"
        self._hash = PasswordHash(tuple(hashers))
        self._executor = ThreadPoolExecutor(
            max_workers=settings.hash_threads or os.cpu_count() or 1,
            thread_name_prefix="saaskit-hash",
            initializer=_lower_priority,
        )
        self._dummy_hash: str | None = None

    def check_policy(self, password: str) -> None:
        minimum = self.settings.min_password_length
        if len(password) < minimum:
            raise InvalidPassword(f"The password must have at least {minimum} characters.")
        if self.uses_bcrypt and len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
            raise InvalidPassword(
                f"The password is longer than {BCRYPT_MAX_BYTES} bytes (UTF-8); "
                "bcrypt would ignore the rest, so use a shorter one."
            )
        if self.settings.reject_common_passwords and password.lower() in common_passwords():
            raise InvalidPassword("This password is too common; choose another one.")

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._hash.hash, password)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash("saaskit-dummy-password")
        return self._dummy_hash

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        loop = asyncio.get_running_loop()
        too_long = len(password.encode("utf-8")) > BCRYPT_MAX_BYTES
        if hashed is None or (too_long and hashed.startswith("$2")):
            # Same cost as a real check, so the response time reveals nothing.
            dummy = await self._dummy()
            await loop.run_in_executor(self._executor, self._verify, "x", dummy)
            return False, None
        return await loop.run_in_executor(self._executor, self._verify, password, hashed)

    def _verify(self, password: str, hashed: str) -> tuple[bool, str | None]:
        try:
            return self._hash.verify_and_update(password, hashed)
        except (ValueError, UnknownHashError):  # an unrecognised or corrupt hash never matches
            return False, None

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
