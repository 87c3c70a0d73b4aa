"""Development sessions: ``nox -l`` lists them, ``nox -s lint`` runs one.

Each session installs what it needs into its own virtualenv under ``.nox/``, with the Python
that runs nox (``--force-python 3.12`` picks another one). To run a session in the current
environment without installing anything: ``nox --no-venv --no-install -s lint``.
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["lint", "typecheck", "tests_sqlite", "docs"]
nox.options.reuse_existing_virtualenvs = True

LINT_PATHS = ["src", "tests", "examples", "docs", "noxfile.py"]
LOCAL_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


@nox.session
def tests_sqlite(session: nox.Session) -> None:
    """The test suite on SQLite and the in-process store (no services needed)."""
    session.install("-e", ".[test]")
    env = {"SAASKIT_TEST_DATABASE_URL": "", "SAASKIT_TEST_REDIS_URL": ""}
    session.run("pytest", *session.posargs, env=env)


@nox.session
def tests_postgres(session: nox.Session) -> None:
    """The test suite on PostgreSQL and Redis (the local servers unless the variables are set).

    The run drops and recreates the ``public`` schema of the test database.
    """
    session.install("-e", ".[test]")
    env = {
        "SAASKIT_TEST_DATABASE_URL": os.environ.get("SAASKIT_TEST_DATABASE_URL")
        or LOCAL_DATABASE_URL,
        "SAASKIT_TEST_REDIS_URL": os.environ.get("SAASKIT_TEST_REDIS_URL") or LOCAL_REDIS_URL,
    }
    session.run("pytest", *session.posargs, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)


# Host code as the docs show it: mypy --strict must pass on apps that use saaskit.
HOST_CODE = [
    "examples",
    "docs/snippets/myapp",
    "docs/snippets/manual_mount.py",
    "docs/snippets/faq",
]
DOCS_TOOLS = [
    "docs/gen_config.py",
    "docs/gen_errors.py",
    "docs/gen_cli.py",
    "docs/hooks.py",
    "noxfile.py",
]


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy on src and tests, then on the examples and docs code; strict comes from pyproject."""
    session.install("-e", ".[test,browser]", "mypy>=1.11", "nox>=2024.4")  # browser: its test
    session.run("mypy", "src", "tests")
    session.run("mypy", *HOST_CODE, *DOCS_TOOLS, env={"MYPYPATH": "docs/snippets"})


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site, failing on any warning."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "--site-dir", f"{session.create_tmp()}/site")
    session.run("python", "docs/sync_snippets.py", "--check")
