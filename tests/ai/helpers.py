"""Helpers for the AI tests: kits on the fake OpenAI server, users and prompts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from saaskit import SaaSKit
from saaskit.models import User
from tests.helpers import PASSWORD, bearer, signed_up

AIKitFactory = Callable[..., Awaitable[SaaSKit[User]]]


REPLY = "Sure thing, here is a short answer"


async def new_user(kit: SaaSKit[User], email: str = "alice@example.com") -> int:
    user = await kit.users.create(email, PASSWORD)
    return user.id


async def auth_headers(
    client: httpx.AsyncClient, email: str = "alice@example.com"
) -> dict[str, str]:
    tokens = await signed_up(client, email)
    return bearer(tokens["access_token"])


def ask(text: str = "Hello there") -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]
