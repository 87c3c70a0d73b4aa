"""docs/snippets/privacy_s3.py: the documented S3 storage keeps, streams and deletes
archives through the client calls aioboto3 has (an in-memory stand-in for the bucket)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from saaskit.privacy import PrivacyFeature
from tests.docs.helpers import SNIPPETS, load_path


class NoSuchKey(Exception):
    pass


class Exceptions:
    NoSuchKey = NoSuchKey


class Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def iter_chunks(self, size: int = 4) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), size):
            yield self.data[start : start + size]


class Bucket:
    """The three calls of aioboto3's S3 client the snippet uses."""

    exceptions = Exceptions

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    async def upload_file(self, filename: str, bucket: str, key: str) -> None:
        self.objects[bucket, key] = await asyncio.to_thread(Path(filename).read_bytes)

    async def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        if (Bucket, Key) not in self.objects:
            raise NoSuchKey(Key)
        return {"Body": Body(self.objects[Bucket, Key])}

    async def delete_object(self, *, Bucket: str, Key: str) -> None:
        self.objects.pop((Bucket, Key), None)


async def test_the_documented_s3_storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_path(SNIPPETS / "privacy_s3.py", monkeypatch)
    bucket = Bucket()
    feature = module.privacy_feature(bucket)
    assert isinstance(feature, PrivacyFeature)
    storage = feature.storage
    assert storage is not None
    archive = tmp_path / "export.zip"
    archive.write_bytes(b"PK-archive-bytes")
    await storage.save("exports/1/abc.zip", archive)
    assert bucket.objects["exports-bucket", "exports/1/abc.zip"] == b"PK-archive-bytes"
    chunks = [chunk async for chunk in storage.open("exports/1/abc.zip")]
    assert b"".join(chunks) == b"PK-archive-bytes"
    assert len(chunks) > 1  # streamed, not read whole
    await storage.delete("exports/1/abc.zip")
    await storage.delete("exports/1/abc.zip")  # already gone: no error
    with pytest.raises(FileNotFoundError):
        [chunk async for chunk in storage.open("exports/1/abc.zip")]
