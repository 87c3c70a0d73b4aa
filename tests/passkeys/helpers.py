"""Helpers of the passkey tests: a kit with passkeys on, and the ceremonies over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from saaskit import SaaSKit
from saaskit.email.memory import MemorySender
from saaskit.passkeys import PasskeysFeature, PasskeysSettings
from saaskit.store import Store
from tests.helpers import bearer, make_settings, new_store, signed_up
from tests.orgs.helpers import verified as verified_user
from tests.passkeys.authenticator import Credential, SoftAuthenticator

ORIGIN = "http://localhost:8000"
RP_ID = "localhost"
BASE = "/api/v1/passkeys"


def make(database_url: str, store: Store | None = None, **passkeys: Any) -> SaaSKit[Any]:
    values: dict[str, Any] = {"enabled": True, "rp_id": RP_ID, "origins": [ORIGIN], **passkeys}
    return SaaSKit(
        make_settings(database_url),
        store=store or new_store(),
        email_sender=MemorySender(),
        features=[PasskeysFeature(PasskeysSettings(**values))],
    )


@dataclass
class World:
    kit: SaaSKit[Any]
    client: httpx.AsyncClient
    device: SoftAuthenticator

    async def user(self, email: str, *, verified: bool = True) -> dict[str, str]:
        """Sign up and log in ``email`` (verified: passkeys need it); its bearer header."""
        if verified:
            return await verified_user(self.kit, self.client, email)
        tokens = await signed_up(self.client, email)
        return bearer(tokens["access_token"])

    async def options(self, headers: dict[str, str]) -> dict[str, Any]:
        response = await self.client.post(f"{BASE}/register/options", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def verify(
        self, headers: dict[str, str], challenge_id: str, credential: dict[str, Any]
    ) -> httpx.Response:
        return await self.client.post(
            f"{BASE}/register/verify",
            json={"challenge_id": challenge_id, "credential": credential, "name": "Laptop"},
            headers=headers,
        )

    async def register(self, headers: dict[str, str]) -> tuple[Credential, dict[str, Any]]:
        """Register a passkey on the device; the credential and the passkey's record."""
        start = await self.options(headers)
        cred, answer = self.device.create(start["options"])
        done = await self.verify(headers, start["challenge_id"], answer)
        assert done.status_code == 201, done.text
        return cred, done.json()

    async def login_options(self) -> dict[str, Any]:
        response = await self.client.post(f"{BASE}/login/options")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def login(self, challenge_id: str, credential: dict[str, Any]) -> httpx.Response:
        return await self.client.post(
            f"{BASE}/login/verify", json={"challenge_id": challenge_id, "credential": credential}
        )

    async def login_with(self, cred: Credential, **kwargs: Any) -> httpx.Response:
        start = await self.login_options()
        return await self.login(
            start["challenge_id"], self.device.get(start["options"], cred, **kwargs)
        )

    async def audit(self) -> list[Any]:
        model = self.kit.models.audit_event
        async with self.kit.session_factory() as db:
            return list(await db.scalars(select(model).order_by(model.id)))
