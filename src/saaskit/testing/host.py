"""The host app under test: where it is, the settings it gets, a fresh import per test.

A host's ``kit`` and ``app`` are module-level objects built when their module is imported,
from ``SAASKIT_*`` settings. So each test sets the test settings first and then imports
the host's package afresh; the modules imported before (by the test modules, say) are
put back afterwards. Each test thus gets its own kit, database, store and fakes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi import FastAPI

from saaskit.discovery import DEFAULT_MODULE, DiscoveryError, import_object
from saaskit.kit import SaaSKit
from saaskit.settings import SaaSKitSettings

Schema = Literal["migrations", "metadata"]

TEST_SECRET_KEY = "saaskit-test-secret-key-0123456789abcdef-0123456789"

HOW_TO_NAME_THE_APP = (
    "saaskit's pytest fixtures need to know the app under test. Name it in pyproject.toml:\n"
    "\n"
    "    [tool.saaskit]\n"
    '    app = "app.main:app"\n'
    '    kit = "app.main:kit"\n'
    "\n"
    "or with the pytest ini options saaskit_app / saaskit_kit."
)


class HostError(Exception):
    """The host app cannot be found or loaded the way the fixtures need."""


@dataclass(frozen=True)
class HostTarget:
    """Where the host's app and kit are, and how its test databases get their tables."""

    app: str
    kit: str
    root: Path
    schema: Schema

    @property
    def packages(self) -> set[str]:
        """Top-level packages imported afresh for each test."""
        return {name.partition(":")[0].partition(".")[0] for name in (self.app, self.kit)}


def _tool_saaskit(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    table = tomllib.loads(path.read_text("utf-8")).get("tool", {}).get("saaskit", {})
    return table if isinstance(table, dict) else {}


def find_target(root: Path, ini: Mapping[str, str]) -> HostTarget:
    """Where the app and kit under test are.

    Args:
        root: the project root (pytest's rootdir).
        ini: the pytest ini options ``saaskit_app``, ``saaskit_kit`` and ``saaskit_schema``
            (empty when unset); they win over ``[tool.saaskit]`` of ``pyproject.toml``,
            which wins over the ``saaskit init`` layout (``app/main.py``).
    """
    table = _tool_saaskit(root)
    app = str(ini.get("saaskit_app") or table.get("app") or "")
    if not app and (root / DEFAULT_MODULE).is_file():
        app = "app.main:app"
    if ":" not in app:
        raise HostError(HOW_TO_NAME_THE_APP)
    kit = str(ini.get("saaskit_kit") or table.get("kit") or "")
    kit = kit or f"{app.partition(':')[0]}:kit"
    schema = ini.get("saaskit_schema") or ""
    if not schema:
        schema = "migrations" if (root / "alembic.ini").is_file() else "metadata"
    if schema not in ("migrations", "metadata"):
        raise HostError(f"saaskit_schema must be migrations or metadata, not {schema!r}")
    return HostTarget(app, kit, root, "migrations" if schema == "migrations" else "metadata")


def base_environment(database_url: str) -> dict[str, str]:
    """Settings every test gets.

    Its own SQLite file, memory store, fast hashing, no SMTP, in-process tasks, and billing/AI
    placeholders until a fake is wired in.
    """
    return {
        "SAASKIT_ENVIRONMENT": "development",
        "SAASKIT_SECRET_KEY": TEST_SECRET_KEY,
        "SAASKIT_DATABASE_URL": database_url,
        "SAASKIT_REDIS_URL": "",
        "SAASKIT_AUTH__BCRYPT_ROUNDS": "4",
        "SAASKIT_EMAIL__SMTP_HOST": "",
        "SAASKIT_TASKS__BACKEND": "inprocess",
        # Lets settings load with billing enabled; the fake's own key replaces it.
        "SAASKIT_BILLING__SECRET_KEY": "sk_test_saaskit_placeholder",
    }


def isolate_environment(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    """Only ``values`` configure saaskit: no other ``SAASKIT_*`` variable, no ``.env``."""
    for name in list(os.environ):
        if name.startswith("SAASKIT_") and not name.startswith("SAASKIT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setitem(SaaSKitSettings.model_config, "env_file", None)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


@contextmanager
def fresh_modules(target: HostTarget) -> Iterator[None]:
    """Import the host's packages anew inside the block; restore the previous ones after."""

    def owned(name: str) -> bool:
        return name.partition(".")[0] in target.packages

    previous = {name: module for name, module in sys.modules.items() if owned(name)}
    for name in previous:
        del sys.modules[name]
    added_path = str(target.root) not in sys.path
    if added_path:
        sys.path.insert(0, str(target.root))
    try:
        yield
    finally:
        for name in [name for name in sys.modules if owned(name)]:
            del sys.modules[name]
        sys.modules.update(previous)
        if added_path and str(target.root) in sys.path:
            sys.path.remove(str(target.root))


def load_host(target: HostTarget) -> tuple[FastAPI, SaaSKit[Any]]:
    """Import the app and the kit (call inside :func:`fresh_modules`)."""
    try:
        app = import_object(target.app, target.root)
        kit = import_object(target.kit, target.root)
    except DiscoveryError as error:
        raise HostError(f"{error}.\n{HOW_TO_NAME_THE_APP}") from error
    if not isinstance(kit, SaaSKit):
        raise HostError(f"{target.kit} is a {type(kit).__name__}, not a SaaSKit")
    if not isinstance(app, FastAPI):
        raise HostError(f"{target.app} is a {type(app).__name__}, not a FastAPI app")
    return app, kit


def check_configured(kit: SaaSKit[Any], expected: SaaSKitSettings) -> None:
    """Refuse a kit that did not take the test settings (it would use real services)."""
    actual = kit.settings
    problems = []
    if actual.database_url != expected.database_url:
        problems.append(f"its database is {actual.database_url!r}")
    if actual.redis_url != expected.redis_url:
        problems.append("its Redis URL differs from the test settings")
    if actual.billing.enabled and actual.billing.api_base != expected.billing.api_base:
        problems.append("its billing does not point at the fake Stripe")
    if actual.ai.enabled and actual.ai.base_url != expected.ai.base_url:
        problems.append("its AI does not point at the fake OpenAI")
    if problems:
        raise HostError(
            "the kit under test ignores the test settings (" + "; ".join(problems) + "). "
            "saaskit's fixtures configure it through SAASKIT_* environment variables: build "
            "it with SaaSKitSettings() and put test-only values in the saaskit_env fixture."
        )


class SchemaTemplate:
    """A database file with the host's tables, made once per run and copied per test."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "template.db"
        self.ready = False

    async def install(self, target: HostTarget, kit: SaaSKit[Any], database: Path) -> None:
        """Give ``database`` (the kit's SQLite file) the host's tables."""
        if not self.ready:
            await self._build(target, kit)
            self.ready = True
        await kit.engine.dispose()
        shutil.copyfile(self.path, database)

    async def _build(self, target: HostTarget, kit: SaaSKit[Any]) -> None:
        url = f"sqlite+aiosqlite:///{self.path}"
        if target.schema == "migrations":
            from saaskit.migrations import project_config, upgrade

            config = project_config(target.root, url)
            if config is None:
                raise HostError(
                    f"saaskit_schema is migrations, but {target.root} has no alembic.ini"
                )
            # Alembic runs its own event loop (saaskit's env.py): give it a thread.
            await asyncio.to_thread(upgrade, config)
            return
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(kit.user_model.metadata.create_all)
        finally:
            await engine.dispose()
