"""``saaskit run``: finding the app and serving it with safe defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from saaskit.observability.multiprocess import MULTIPROC_ENV
from tests.cli.helpers import invoke, serving, stopped_gracefully

PING_APP = """\
from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"pong": "yes"}
"""


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """Calls to uvicorn.run, which is not actually started."""
    calls: list[dict[str, Any]] = []
    # `run --workers N` points the process at a metrics folder for its workers; with the
    # workers faked, keep that out of the test process (undone after the test).
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path / "metrics"))

    def fake_run(app: str, **options: Any) -> None:
        calls.append({"app": app, **options})

    monkeypatch.setattr(uvicorn, "run", fake_run)  # saaskit.cli.run calls uvicorn.run
    return calls


def test_no_app_found_explains_how_to_name_it(served: list[dict[str, Any]]) -> None:
    result = invoke("run")
    assert result.exit_code == 1
    assert "no app found" in result.stderr
    assert "saaskit run app.main:app" in result.stderr
    assert "[tool.saaskit]" in result.stderr
    assert served == []


def test_app_module_without_app_is_not_guessed(
    clean_environment: Path, served: list[dict[str, Any]]
) -> None:
    (clean_environment / "app").mkdir()
    (clean_environment / "app" / "main.py").write_text("application = None\n")
    assert invoke("run").exit_code == 1
    assert served == []


def test_default_layout_and_safe_defaults(
    clean_environment: Path, served: list[dict[str, Any]]
) -> None:
    (clean_environment / "app").mkdir()
    (clean_environment / "app" / "main.py").write_text(PING_APP)
    result = invoke("run")
    assert result.exit_code == 0, result.output
    [call] = served
    assert call["app"] == "app.main:app"
    assert (call["host"], call["port"]) == ("127.0.0.1", 8000)
    assert call["access_log"] is True
    assert call["proxy_headers"] is False
    assert call["reload"] is False
    assert call["workers"] is None
    assert call["log_level"] == "info"


def test_pyproject_names_the_app_and_options_pass_through(
    clean_environment: Path, served: list[dict[str, Any]]
) -> None:
    (clean_environment / "pyproject.toml").write_text('[tool.saaskit]\napp = "svc.api:asgi"\n')
    _module(clean_environment, "svc/api.py")
    args = ["--host", "192.0.2.10", "--port", "9000", "--workers", "3", "--proxy-headers"]
    result = invoke("run", *args, "--forwarded-allow-ips", "10.0.0.1", "--no-access-log")
    assert result.exit_code == 0, result.output
    [call] = served
    assert call["app"] == "svc.api:asgi"
    assert (call["host"], call["port"], call["workers"]) == ("192.0.2.10", 9000, 3)
    assert call["proxy_headers"] is True
    assert call["forwarded_allow_ips"] == "10.0.0.1"
    assert call["access_log"] is False
    assert "without SAASKIT_REDIS_URL" in result.stderr  # workers would not share sessions


def test_log_level_applies_to_uvicorn_and_to_saaskit(
    clean_environment: Path, served: list[dict[str, Any]]
) -> None:
    result = invoke("run", "app.main:app", "--log-level", "warning")
    assert result.exit_code == 0, result.output
    [call] = served
    assert call["log_level"] == "warning"  # uvicorn's own loggers, the access log included
    # saaskit's loggers print through uvicorn's console handler, at the same level, so
    # that the INFO lines of saaskit show under the default level.
    saaskit_logger = call["log_config"]["loggers"]["saaskit"]
    assert saaskit_logger["level"] == "WARNING"
    assert saaskit_logger["handlers"] == ["default"]
    assert call["log_config"]["handlers"]["default"]["stream"] == "ext://sys.stderr"
    assert invoke("run", "app.main:app", "--log-level", "verbose").exit_code == 2


def test_explicit_app_wins(clean_environment: Path, served: list[dict[str, Any]]) -> None:
    (clean_environment / "pyproject.toml").write_text('[tool.saaskit]\napp = "svc.api:asgi"\n')
    _module(clean_environment, "other/module.py")
    assert invoke("run", "other.module:app", "--reload").exit_code == 0
    assert served[0]["app"] == "other.module:app"
    assert served[0]["reload"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["app.main"], "not an import string"),
        (["app.main:app", "--reload", "--workers", "2"], "cannot be used together"),
    ],
)
def test_bad_invocations(served: list[dict[str, Any]], args: list[str], message: str) -> None:
    result = invoke("run", *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert served == []


@pytest.mark.slow
def test_serves_the_project_app_from_the_current_folder(clean_environment: Path) -> None:
    (clean_environment / "app").mkdir()
    (clean_environment / "app" / "main.py").write_text(PING_APP)
    with serving("run", cwd=clean_environment, ready_path="/ping") as server:
        response = httpx.get(server.base_url + "/ping")
        assert response.json() == {"pong": "yes"}
    assert stopped_gracefully(server)
    assert '"GET /ping HTTP/1.1" 200' in server.output()


def test_broken_pyproject_is_reported(
    clean_environment: Path, served: list[dict[str, Any]]
) -> None:
    (clean_environment / "pyproject.toml").write_text("[tool.saaskit\n")
    result = invoke("run")
    assert result.exit_code == 1
    assert "pyproject.toml is not valid TOML" in result.stderr
    (clean_environment / "pyproject.toml").write_text("[tool.saaskit]\napp = 3\n")
    assert "must be an import string" in invoke("run").stderr
    assert served == []


def _module(root: Path, relative: str) -> None:
    """An empty module at ``root/relative``, in a package."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "__init__.py").touch()
    path.write_text("asgi = app = None\n")


def test_a_module_that_does_not_exist_is_one_line_not_a_traceback(
    served: list[dict[str, Any]],
) -> None:
    result = invoke("run", "nope.main:app")
    assert result.exit_code == 1
    assert "cannot import module 'nope.main'" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert "Traceback" not in result.output
    assert served == []


def test_broken_settings_stop_run_before_uvicorn_starts(served: list[dict[str, Any]]) -> None:
    result = invoke("run", "app.main:app", env={"SAASKIT_CORS__ORIGINS": "http://a.example"})
    assert result.exit_code == 1
    assert "SAASKIT_CORS__ORIGINS is not valid JSON" in result.stderr
    assert "Traceback" not in result.output
    assert served == []
