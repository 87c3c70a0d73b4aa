"""saaskit's pytest plugin: fixtures for testing a host app built on saaskit.

Installed with saaskit (entry point ``pytest11``); nothing changes until a test asks for
one of its fixtures, so other test suites are unaffected (``-p no:saaskit`` turns it
off). The app under test is the one ``[tool.saaskit]`` names in ``pyproject.toml``::

    async def test_hello(saaskit_client, saaskit_auth_headers):
        response = await saaskit_client.get("/api/v1/hello", headers=saaskit_auth_headers)
        assert response.status_code == 200

Fixtures: ``saaskit_app``, ``saaskit_kit``, ``saaskit_client``, ``saaskit_settings``,
``saaskit_env`` (override it to add settings), ``saaskit_make_user``, ``saaskit_user``,
``saaskit_superuser``, ``saaskit_headers_for``, ``saaskit_auth_headers``,
``saaskit_superuser_headers``, ``saaskit_outbox``, ``fake_stripe``, ``fake_openai``,
``saaskit_target``. The async ones need ``pytest-asyncio`` and ``httpx``
(``pip install 'saaskit[testing]'``).
"""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

import pytest

PLUGIN_NAME = "saaskit.fixtures"
REQUIRED = ("pytest_asyncio", "httpx")
FIXTURE_NAMES = (
    "saaskit_target",
    "saaskit_env",
    "saaskit_settings",
    "saaskit_outbox",
    "saaskit_kit",
    "saaskit_app",
    "saaskit_client",
    "saaskit_make_user",
    "saaskit_user",
    "saaskit_superuser",
    "saaskit_headers_for",
    "saaskit_auth_headers",
    "saaskit_superuser_headers",
    "fake_stripe",
    "fake_openai",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the ``saaskit_app`` ini option (the app under test, ``module:attribute``)."""
    parser.addini(
        "saaskit_app",
        "The app under test as module:attribute (default: [tool.saaskit] app, else app.main:app).",
    )
    parser.addini(
        "saaskit_kit",
        "The app's SaaSKit as module:attribute (default: [tool.saaskit] kit, else `kit` "
        "in the app's module).",
    )
    parser.addini(
        "saaskit_schema",
        "How each test database gets its tables: migrations (the project's Alembic "
        "migrations; the default with an alembic.ini) or metadata (create_all).",
    )


def _unavailable(name: str, missing: list[str]) -> Any:
    """A fixture ``name`` that fails, naming the packages it needs."""
    message = f"saaskit's fixture {name} needs {', '.join(missing)}: pip install 'saaskit[testing]'"

    @pytest.fixture(name=name)
    def fixture() -> None:
        pytest.fail(message, pytrace=False)

    return fixture


def pytest_configure(config: pytest.Config) -> None:
    """Register the fixtures, or stand-ins that say what to install when a package is missing."""
    missing = [module for module in REQUIRED if importlib.util.find_spec(module) is None]
    if missing:
        # pytest reads fixtures from a module's attributes (of other objects, their class's).
        stand_ins = ModuleType("saaskit.testing.unavailable_fixtures")
        for name in FIXTURE_NAMES:
            setattr(stand_ins, f"_{name}", _unavailable(name, missing))
        config.pluginmanager.register(stand_ins, PLUGIN_NAME)
        return
    from saaskit.testing import fixtures

    config.pluginmanager.register(fixtures, PLUGIN_NAME)
