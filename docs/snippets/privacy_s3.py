"""docs/privacy.md: export archives in an S3 bucket, for workers on several hosts.

``client`` is an ``aioboto3`` S3 client (``async with session.client("s3") as client``);
tests/privacy/test_s3_snippet.py drives this class with an in-memory stand-in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from saaskit.privacy import PrivacyFeature


# --8<-- [start:storage]
class S3Storage:
    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket, self.client = bucket, client

    async def save(self, key: str, path: Path) -> None:
        await self.client.upload_file(str(path), self.bucket, key)  # multipart for large files

    async def open(self, key: str) -> AsyncIterator[bytes]:
        try:
            obj = await self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(key) from None
        async for chunk in obj["Body"].iter_chunks():
            yield chunk

    async def delete(self, key: str) -> None:
        await self.client.delete_object(Bucket=self.bucket, Key=key)  # no error if gone


def privacy_feature(client: Any) -> PrivacyFeature:
    return PrivacyFeature(storage=S3Storage("exports-bucket", client))


# --8<-- [end:storage]
