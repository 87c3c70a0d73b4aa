"""The fixtures of saaskit's pytest plugin (registered by :mod:`saaskit.testing.plugin`).

Each test that asks for one of the app fixtures gets the host's app and kit imported
afresh with test settings: a new SQLite file with the host's tables, the in-process
store, bcrypt cost 4, emails in :class:`~saaskit.email.MemorySender`, and billing / AI
pointed at fresh fake Stripe / OpenAI servers on 127.0.0.1 when the settings enable them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from saaskit.billing.gateway import is_price_id
from saaskit.email.memory import MemorySender
from saaskit.kit import SaaSKit
from saaskit.settings import SaaSKitSettings
from saaskit.testing.factories import HeadersFactory, UserFactory, UserMaker, bearer_headers
from saaskit.testing.fake_openai import FakeOpenAI
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.host import (
    HostError,
    HostTarget,
    SchemaTemplate,
    base_environment,
    check_configured,
    find_target,
    fresh_modules,
    isolate_environment,
    load_host,
)
from saaskit.testing.openai_pytest import fake_openai
from saaskit.testing.stripe_pytest import fake_stripe

__all__ = [
    "fake_openai",
    "fake_stripe",
    "saaskit_app",
    "saaskit_auth_headers",
    "saaskit_client",
    "saaskit_env",
    "saaskit_headers_for",
    "saaskit_kit",
    "saaskit_make_user",
    "saaskit_outbox",
    "saaskit_settings",
    "saaskit_superuser",
    "saaskit_superuser_headers",
    "saaskit_target",
    "saaskit_user",
]

DATABASE_FILE = "saaskit-test.db"


@dataclass(frozen=True)
class LoadedHost:
    """The host's app and kit as imported for one test."""

    app: FastAPI
    kit: SaaSKit[Any]


@pytest.fixture(scope="session")
def saaskit_target(pytestconfig: pytest.Config) -> HostTarget:
    """Where the app and kit under test are (``[tool.saaskit]`` or the ini options)."""
    names = ("saaskit_app", "saaskit_kit", "saaskit_schema")
    ini = {name: str(pytestconfig.getini(name) or "") for name in names}
    try:
        return find_target(Path(pytestconfig.rootpath), ini)
    except HostError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def _saaskit_schema(tmp_path_factory: pytest.TempPathFactory) -> SchemaTemplate:
    return SchemaTemplate(tmp_path_factory.mktemp("saaskit-schema"))


@pytest.fixture
def saaskit_env() -> dict[str, str]:
    """Extra ``SAASKIT_*`` settings for the app under test; override it in ``conftest.py`` (e.g.

    ``{"SAASKIT_BILLING__ENABLED": "true", "SAASKIT_BILLING__PLANS": ...}``).
    """
    return {}


def _stripe_environment(fake: FakeStripe, settings: SaaSKitSettings) -> dict[str, str]:
    for key, plan in settings.billing.plans.items():
        if plan.price:  # the fake sells every configured price
            product = plan.name or key
            if is_price_id(plan.price):
                fake.add_price(price_id=plan.price, product=product)
            else:
                fake.add_price(plan.price, product=product)
    values = fake.billing_settings()
    del values["enabled"]
    return {f"SAASKIT_BILLING__{key.upper()}": str(value) for key, value in values.items()}


def _openai_environment(fake: FakeOpenAI, settings: SaaSKitSettings) -> dict[str, str]:
    fake.models = settings.ai.models
    values = fake.ai_settings()
    return {f"SAASKIT_AI__{key.upper()}": str(value) for key, value in values.items()}


@pytest.fixture
def saaskit_settings(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    saaskit_env: dict[str, str],
) -> SaaSKitSettings:
    """The settings the app under test is built with (set as environment variables)."""
    url = f"sqlite+aiosqlite:///{tmp_path / DATABASE_FILE}"
    isolate_environment(monkeypatch, {**base_environment(url), **saaskit_env})
    settings = SaaSKitSettings()
    wired: dict[str, str] = {}
    if settings.billing.enabled:
        wired |= _stripe_environment(request.getfixturevalue("fake_stripe"), settings)
    if settings.ai.enabled:
        wired |= _openai_environment(request.getfixturevalue("fake_openai"), settings)
    for name, value in wired.items():
        monkeypatch.setenv(name, value)
    return SaaSKitSettings() if wired else settings


@pytest.fixture
def saaskit_outbox() -> MemorySender:
    """Every email the app under test sends (after ``await saaskit_kit.runner.drain()``)."""
    return MemorySender()


@pytest_asyncio.fixture
async def _saaskit_host(
    saaskit_target: HostTarget,
    saaskit_settings: SaaSKitSettings,
    saaskit_outbox: MemorySender,
    _saaskit_schema: SchemaTemplate,
    tmp_path: Path,
) -> AsyncIterator[LoadedHost]:
    with fresh_modules(saaskit_target):
        try:
            app, kit = load_host(saaskit_target)
        except HostError as error:
            pytest.fail(str(error), pytrace=False)
        try:
            check_configured(kit, saaskit_settings)
            kit.email_sender = kit.mailer.sender = saaskit_outbox
            await _saaskit_schema.install(saaskit_target, kit, tmp_path / DATABASE_FILE)
        except HostError as error:
            await kit.aclose()
            pytest.fail(str(error), pytrace=False)
        try:
            # Start and stop the app as a server would: the host's lifespan runs.
            async with app.router.lifespan_context(app):
                yield LoadedHost(app, kit)
        finally:
            await kit.aclose()  # in case the host's lifespan does not close the kit


@pytest.fixture
def saaskit_kit(_saaskit_host: LoadedHost) -> SaaSKit[Any]:
    """The host's kit, built for this test."""
    return _saaskit_host.kit


@pytest.fixture
def saaskit_app(_saaskit_host: LoadedHost) -> FastAPI:
    """The host's FastAPI app, built for this test (its lifespan has started)."""
    return _saaskit_host.app


@pytest_asyncio.fixture
async def saaskit_client(saaskit_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An ``httpx.AsyncClient`` that calls the app in-process (``http://testserver``)."""
    transport = httpx.ASGITransport(app=saaskit_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def saaskit_make_user(saaskit_kit: SaaSKit[Any]) -> UserFactory:
    """Fixture: an async factory of users in the app's database.

    Call it as ``await saaskit_make_user(email=None, *, password=TEST_PASSWORD, superuser=False,
    verified=True, active=True, **columns)``.
    """
    return UserMaker(saaskit_kit)


@pytest_asyncio.fixture
async def saaskit_user(saaskit_make_user: UserFactory) -> Any:
    """A verified, active user (``user1@example.com``, password ``TEST_PASSWORD``)."""
    return await saaskit_make_user()


@pytest_asyncio.fixture
async def saaskit_superuser(saaskit_make_user: UserFactory) -> Any:
    """A verified superuser (``admin@example.com``, password ``TEST_PASSWORD``)."""
    return await saaskit_make_user("admin@example.com", superuser=True)


@pytest.fixture
def saaskit_headers_for(saaskit_kit: SaaSKit[Any]) -> HeadersFactory:
    """Fixture: authorization headers for a user.

    ``await saaskit_headers_for(user)`` is ``{"Authorization": "Bearer ..."}`` of a new session
    of ``user``.
    """

    async def headers_for(user: Any) -> dict[str, str]:
        return await bearer_headers(saaskit_kit, user)

    return headers_for


@pytest_asyncio.fixture
async def saaskit_auth_headers(
    saaskit_headers_for: HeadersFactory, saaskit_user: Any
) -> dict[str, str]:
    """The ``Authorization`` header of :func:`saaskit_user`."""
    return await saaskit_headers_for(saaskit_user)


@pytest_asyncio.fixture
async def saaskit_superuser_headers(
    saaskit_headers_for: HeadersFactory, saaskit_superuser: Any
) -> dict[str, str]:
    """The ``Authorization`` header of :func:`saaskit_superuser`."""
    return await saaskit_headers_for(saaskit_superuser)
