"""Helpers for the standard-client tests: the live server they talk to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.helpers import PASSWORD, TEST_REDIS_URL

# The kit exactly as `kit.install` serves it, with a store key prefix of its own.
APP_MODULE = """
import os

from fastapi import FastAPI

from saaskit import SaaSKit, SaaSKitSettings

settings = SaaSKitSettings()
store = None
if settings.redis_url:
    from saaskit.store.redis import RedisStore

    store = RedisStore(settings.redis_url, prefix=os.environ["CLIENTS_STORE_PREFIX"])
kit = SaaSKit(settings, store=store)
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)
"""


@dataclass(frozen=True)
class LiveServer:
    """A running app: its base URL and the URLs client libraries are configured with."""

    url: str
    log: Path

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def token_url(self) -> str:
        return f"{self.api}/auth/token"

    @property
    def revoke_url(self) -> str:
        return f"{self.api}/auth/revoke"

    def register(self, label: str) -> str:
        """A new account (its email is returned; the password is ``PASSWORD``)."""
        email = f"{label}-{uuid.uuid4().hex[:8]}@example.com"
        body = {"email": email, "password": PASSWORD, "full_name": label}
        response = httpx.post(f"{self.api}/auth/register", json=body, timeout=10)
        assert response.status_code == 201, response.text
        return email


def delete_redis_prefix(prefix: str) -> None:
    import redis

    assert TEST_REDIS_URL
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
