"""saaskit's pytest plugin, as a host gets it: small host projects run by a real pytest.

The examples' own suites (tests/examples/test_examples_own_tests.py) and the project of
``saaskit init`` (tests/cli/test_init_project.py) use the fixtures for real; these tests pin
down what the plugin promises around them: isolation, restoration, refusals.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from saaskit.testing import plugin
from saaskit.testing.host import HostError, find_target

PYPROJECT = """\
[tool.saaskit]
app = "shop.main:app"
kit = "shop.main:kit"

[tool.pytest.ini_options]
pythonpath = ["."]
addopts = "-p no:cacheprovider"
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
filterwarnings = ["error"]
"""

APP = """\
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy.orm import DeclarativeBase

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.db import UserMixin, build_models


class Base(DeclarativeBase):
    pass


class User(UserMixin, Base):
    __tablename__ = "users"


kit = SaaSKit({settings}, user_model=User, models=build_models(Base, User))
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)


@app.get("/whoami")
async def whoami(user: Annotated[User, Depends(kit.current_active_user)]) -> str:
    return user.email
"""

ISOLATION_TESTS = """\
import os
import sys

import shop.main as collected

SEEN = []


async def test_first(saaskit_kit, saaskit_settings, saaskit_client, saaskit_auth_headers):
    SEEN.append(saaskit_kit)
    assert saaskit_kit is not collected.kit  # imported afresh for the test
    assert sys.modules["shop.main"].kit is saaskit_kit
    assert saaskit_kit.settings.project_name == "saaskit"  # .env is not read
    assert "SAASKIT_SHELL_ONLY" not in os.environ  # nor the shell's SAASKIT_* variables
    assert saaskit_settings.database_url.endswith("saaskit-test.db")
    assert saaskit_kit.settings.auth.bcrypt_rounds == 4
    response = await saaskit_client.get("/whoami", headers=saaskit_auth_headers)
    assert response.json() == "user1@example.com"


async def test_second_gets_its_own_kit_and_database(saaskit_kit, saaskit_make_user):
    assert saaskit_kit is not SEEN[0]
    user = await saaskit_make_user()  # the same email as in the first test: a new database
    assert user.email == "user1@example.com"


def test_without_fixtures_nothing_changed():
    assert sys.modules["shop.main"] is collected
    assert os.environ["SAASKIT_SHELL_ONLY"] == "shell"
    assert os.environ["SAASKIT_DATABASE_URL"] == "sqlite+aiosqlite:///./shell.db"
"""

REFUSAL_CONFTEST = """\
from saaskit.testing.plugin import _unavailable

saaskit_widget = _unavailable("saaskit_widget", ["httpx"])
"""

REFUSAL_TESTS = """\
async def test_kit_with_its_own_database_is_refused(saaskit_kit):
    raise AssertionError("not reached")


def test_fixtures_without_their_packages_say_what_to_install(saaskit_widget):
    raise AssertionError("not reached")
"""


def make_host(root: Path, *, settings: str, tests: dict[str, str]) -> Path:
    (root / "shop").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / ".env").write_text("SAASKIT_PROJECT_NAME=from-dotenv\n")
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "main.py").write_text(APP.format(settings=settings))
    for name, text in tests.items():
        (root / "tests" / name).write_text(textwrap.dedent(text))
    return root


def run_pytest(root: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAASKIT_", "PYTEST_"))}
    env |= {
        "SAASKIT_SHELL_ONLY": "shell",
        "SAASKIT_DATABASE_URL": "sqlite+aiosqlite:///./shell.db",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "tests"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_the_plugin_is_installed() -> None:
    [entry] = [e for e in entry_points(group="pytest11") if e.name == "saaskit"]
    assert entry.value == "saaskit.testing.plugin", "reinstall saaskit: pip install -e ."
    assert entry.load() is plugin


@pytest.mark.slow
def test_each_test_gets_a_fresh_isolated_app(tmp_path: Path) -> None:
    root = make_host(
        tmp_path / "host", settings="SaaSKitSettings()", tests={"test_host.py": ISOLATION_TESTS}
    )
    result = run_pytest(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    assert not (root / "shell.db").exists()


@pytest.mark.slow
def test_unsafe_or_incomplete_setups_are_refused_with_a_reason(tmp_path: Path) -> None:
    settings = 'SaaSKitSettings(database_url="sqlite+aiosqlite:///./real.db")'
    root = make_host(
        tmp_path / "host",
        settings=settings,
        tests={"conftest.py": REFUSAL_CONFTEST, "test_host.py": REFUSAL_TESTS},
    )
    result = run_pytest(root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 errors" in result.stdout
    assert "the kit under test ignores the test settings" in result.stdout
    assert "its database is 'sqlite+aiosqlite:///./real.db'" in result.stdout
    assert "saaskit_widget needs httpx: pip install 'saaskit[testing]'" in result.stdout
    assert "not reached" not in result.stdout
    assert not (root / "real.db").exists()


@pytest.mark.slow
def test_without_httpx_the_fixtures_say_what_to_install(tmp_path: Path) -> None:
    root = make_host(
        tmp_path / "host",
        settings="SaaSKitSettings()",
        tests={"test_host.py": "def test_client(saaskit_client):\n    pass\n"},
    )
    # find_spec() answers None for a module set to None in sys.modules: httpx looks missing.
    code = "import sys; sys.modules['httpx'] = None; import pytest; sys.exit(pytest.main())"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAASKIT_", "PYTEST_"))}
    result = subprocess.run(
        [sys.executable, "-c", code, "-q", "tests"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 error" in result.stdout
    assert "saaskit_client needs httpx: pip install 'saaskit[testing]'" in result.stdout


def test_target_comes_from_ini_then_pyproject_then_layout(tmp_path: Path) -> None:
    with pytest.raises(HostError, match=r"\[tool.saaskit\]"):
        find_target(tmp_path, {})
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("app = None\n")
    layout = find_target(tmp_path, {})
    assert (layout.app, layout.kit, layout.schema) == ("app.main:app", "app.main:kit", "metadata")
    (tmp_path / "pyproject.toml").write_text('[tool.saaskit]\napp = "web.asgi:api"\n')
    (tmp_path / "alembic.ini").write_text("[alembic]\n")
    configured = find_target(tmp_path, {})
    assert (configured.app, configured.kit) == ("web.asgi:api", "web.asgi:kit")
    assert configured.schema == "migrations"
    assert configured.packages == {"web"}
    ini = find_target(
        tmp_path, {"saaskit_app": "a.b:c", "saaskit_kit": "d:e", "saaskit_schema": "metadata"}
    )
    assert (ini.app, ini.kit, ini.schema, ini.packages) == ("a.b:c", "d:e", "metadata", {"a", "d"})
    with pytest.raises(HostError, match="migrations or metadata"):
        find_target(tmp_path, {"saaskit_schema": "create_all"})
