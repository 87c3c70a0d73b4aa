"""Where export archives are kept: a small protocol, with a local directory by default.

An archive is built in a temporary file on the worker (written entry by entry, so memory
stays flat however large the account), then handed to the storage with :meth:`save`.
The app process that serves the download reads it back with :meth:`open`, in chunks.

With workers on other hosts than the app, use a shared backend. An S3-like one is a few
lines over the provider's SDK (see ``docs/privacy.md``)::

    class S3Storage:
        def __init__(self, bucket, client):  # e.g. aioboto3's client
            self.bucket, self.client = bucket, client

        async def save(self, key, path):
            await self.client.upload_file(str(path), self.bucket, key)  # multipart

        async def open(self, key):
            obj = await self.client.get_object(Bucket=self.bucket, Key=key)
            async for chunk in obj["Body"].iter_chunks():
                yield chunk

        async def delete(self, key):
            await self.client.delete_object(Bucket=self.bucket, Key=key)
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

__all__ = ["CHUNK", "ArchiveStorage", "LocalStorage"]

CHUNK = 64 * 1024
"""Bytes read per chunk when an archive is streamed back."""


class ArchiveStorage(Protocol):
    """Keeps export archives by key (``exports/<user id>/<export id>.zip``)."""

    async def save(self, key: str, path: Path) -> None:
        """Store the finished file at ``path`` under ``key`` (the file may be moved)."""
        ...

    def open(self, key: str) -> AsyncIterator[bytes]:
        """The archive's bytes, in chunks.

        Raises:
            FileNotFoundError: no archive under ``key``.
        """
        ...

    async def delete(self, key: str) -> None:
        """Remove the archive (nothing happens if it is already gone)."""
        ...


class LocalStorage:
    """Archives in a local directory (``SAASKIT_PRIVACY__STORAGE_DIR``).

    Every process that builds or serves exports must see the same directory (one host,
    or a shared volume). Files are created readable by their owner only.

    Args:
        root: the directory (created on first save).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError("storage key escapes the storage directory")
        return path

    async def save(self, key: str, path: Path) -> None:
        """Move ``path`` into the directory under ``key``."""
        target = self._path(key)

        def move() -> None:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.move(str(path), target)
            os.chmod(target, 0o600)

        await asyncio.to_thread(move)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The file's bytes in :data:`CHUNK`-sized pieces (read off the event loop)."""
        handle = await asyncio.to_thread(self._path(key).open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        """Remove the file if it exists."""
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)
