"""``saaskit worker``: finding the kit and starting Celery with the right options.

A real worker process runs tasks in ``tests/tasks/test_celery_e2e.py``; here Celery's
``worker_main`` is replaced so that no worker starts.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import invoke

CELERY_KIT = """\
from saaskit import SaaSKit, SaaSKitSettings

kit = SaaSKit(SaaSKitSettings(
    database_url="sqlite+aiosqlite:///:memory:",
    redis_url="redis://127.0.0.1:6379/15",
    tasks={{"backend": "{backend}", "queue": "emails"}},
))
not_a_kit = 42
"""


@pytest.fixture(autouse=True)
def fresh_modules() -> Iterator[None]:
    """Each test imports its own version of the project modules."""
    names = ("hostapp", "nobroker")
    for name in names:
        sys.modules.pop(name, None)
    yield
    for name in names:
        sys.modules.pop(name, None)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The argv of every worker that would have started."""
    from celery import Celery  # type: ignore[import-untyped]

    calls: list[list[str]] = []

    def worker_main(self: Any, argv: list[str]) -> None:
        calls.append(argv)

    monkeypatch.setattr(Celery, "worker_main", worker_main)
    return calls


def write_project(folder: Path, backend: str = "celery") -> None:
    (folder / "hostapp.py").write_text(CELERY_KIT.format(backend=backend))


def test_starts_celery_for_the_named_kit_with_its_queue(
    clean_environment: Path, started: list[list[str]]
) -> None:
    write_project(clean_environment)

    result = invoke("worker", "--app", "hostapp:kit")

    assert result.exit_code == 0, result.output
    assert started == [["worker", "--loglevel=info", "--pool=prefork", "--queues=emails"]]


def test_passes_concurrency_queues_pool_loglevel_and_hostname(
    clean_environment: Path, started: list[list[str]]
) -> None:
    write_project(clean_environment)

    result = invoke(
        "worker",
        "-A",
        "hostapp:kit",
        "--concurrency",
        "8",
        "--queues",
        "emails,webhooks",
        "--pool",
        "threads",
        "--loglevel",
        "warning",
        "--hostname",
        "worker2@%h",
    )

    assert result.exit_code == 0, result.output
    assert started == [
        [
            "worker",
            "--loglevel=warning",
            "--pool=threads",
            "--queues=emails,webhooks",
            "--concurrency=8",
            "--hostname=worker2@%h",
        ]
    ]


def test_the_kit_can_come_from_pyproject(clean_environment: Path, started: list[list[str]]) -> None:
    write_project(clean_environment)
    (clean_environment / "pyproject.toml").write_text('[tool.saaskit]\nkit = "hostapp:kit"\n')

    assert invoke("worker", "--pool", "solo").exit_code == 0
    assert started[0][:3] == ["worker", "--loglevel=info", "--pool=solo"]


@pytest.mark.parametrize(
    ("import_string", "message"),
    [
        ("nowhere:kit", "cannot import module 'nowhere'"),
        ("hostapp:missing", "module 'hostapp' has no attribute 'missing'"),
        ("hostapp", "is not an import string"),
        ("hostapp:not_a_kit", "hostapp:not_a_kit is a int, not a SaaSKit"),
    ],
)
def test_a_wrong_import_string_is_explained(
    clean_environment: Path, started: list[list[str]], import_string: str, message: str
) -> None:
    write_project(clean_environment)

    result = invoke("worker", "--app", import_string)

    assert result.exit_code == 1
    assert message in result.stderr
    assert started == []


def test_no_kit_named_says_how_to_name_it(started: list[list[str]]) -> None:
    result = invoke("worker")

    assert result.exit_code == 1
    assert "no kit named" in result.stderr
    assert "[tool.saaskit]" in result.stderr
    assert started == []


def test_a_kit_that_runs_tasks_in_process_is_refused(
    clean_environment: Path, started: list[list[str]]
) -> None:
    write_project(clean_environment, backend="inprocess")

    result = invoke("worker", "--app", "hostapp:kit")

    assert result.exit_code == 1
    assert "runs its tasks in-process" in result.stderr
    assert "SAASKIT_TASKS__BACKEND=celery" in result.stderr
    assert started == []


def test_a_kit_on_celery_without_a_broker_is_refused(
    clean_environment: Path, started: list[list[str]]
) -> None:
    (clean_environment / "nobroker.py").write_text(
        "from saaskit import SaaSKit, SaaSKitSettings\n"
        'kit = SaaSKit(SaaSKitSettings(tasks={"backend": "celery"}))\n'
    )

    result = invoke("worker", "--app", "nobroker:kit")

    assert result.exit_code == 1
    assert "SAASKIT_TASKS__BROKER_URL" in result.stderr
    assert started == []


def test_solo_with_concurrency_is_refused(started: list[list[str]]) -> None:
    result = invoke("worker", "--app", "hostapp:kit", "--pool", "solo", "--concurrency", "4")

    assert result.exit_code == 1
    assert "--pool solo runs one task at a time" in result.stderr
    assert started == []
