"""``saaskit init``: a new project, ready to migrate, run and test."""

from __future__ import annotations

import os
import shutil
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from saaskit.cli.origin import installed_source
from saaskit.cli.output import fail
from saaskit.cli.scaffold import FEATURES, ProjectSpec, create_project


class DatabaseChoice(StrEnum):
    """The database of the project's ``.env``."""

    sqlite = "sqlite"
    postgres = "postgres"


def parse_features(text: str) -> frozenset[str]:
    """``"billing,ai"`` → the features; ``all`` (every one) and ``none`` are accepted.

    Raises:
        ValueError: a name is not one of :data:`~saaskit.cli.scaffold.FEATURES`.
    """
    names = {part.strip().lower() for part in text.split(",") if part.strip()}
    if names == {"all"}:
        return frozenset(FEATURES)
    if names <= {"none"}:
        return frozenset()
    unknown = names - set(FEATURES)
    if unknown:
        raise ValueError(
            f"unknown feature(s): {', '.join(sorted(unknown))} (choose from "
            f"{', '.join(FEATURES)}, or all / none)"
        )
    return frozenset(names)


def _free(target: Path) -> bool:
    """Whether ``target`` can be created: it does not exist, or is an empty folder."""
    if not target.exists():
        return True
    return target.is_dir() and not any(target.iterdir())


def init(
    name: Annotated[
        str,
        typer.Argument(
            help="Project name: letters, digits, - and _ (also the folder, unless --directory)."
        ),
    ],
    database: Annotated[
        DatabaseChoice,
        typer.Option(
            "--database",
            help="Database of the .env: sqlite (a file, nothing to install) or postgres "
            "(the PostgreSQL of docker-compose.yml).",
        ),
    ] = DatabaseChoice.sqlite,
    features: Annotated[
        str,
        typer.Option(
            "--features",
            help="Comma-separated features to include: billing (Stripe), ai (OpenAI chat), "
            "celery (background worker); all or none.",
        ),
    ] = "all",
    directory: Annotated[
        Path | None,
        typer.Option(
            "--directory",
            "-d",
            help="Folder to create the project in (default: ./NAME); must not exist, or be empty.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a new project: app, models, settings, migrations, tests, Docker files.

    \f

    Example:
        ```console
        $ saaskit init demoapp
        $ cd demoapp && saaskit migrate && saaskit run
        ```
    """
    try:
        spec = ProjectSpec(
            name, database.value, parse_features(features), source=installed_source()
        )
    except ValueError as error:
        fail(str(error))
    target = (directory or Path(name)).absolute()
    if not _free(target):
        fail(f"{target} already exists and is not empty; nothing was written.")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built aside and moved in at the end, so a failure leaves no half-made project.
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.slug}-", dir=target.parent))
    try:
        create_project(spec, staging)
        if target.exists():
            target.rmdir()  # empty, checked above
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _next_steps(spec, target)


def _next_steps(spec: ProjectSpec, target: Path) -> None:
    shown = os.path.relpath(target)
    shown = target.as_posix() if shown.startswith("..") else shown
    included = ", ".join(sorted(spec.features)) or "no optional features"
    typer.secho(f"Created {shown} ({spec.database}; {included}).", fg=typer.colors.GREEN)
    typer.echo(f"saaskit is installed from {spec.source.description} (see pyproject.toml).")
    steps = [
        f"cd {shown}",
        "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'   # app, saaskit, tests",
    ]
    if spec.database == "postgres":
        steps.append("docker compose up -d db redis   # PostgreSQL and Redis")
    steps += [
        ".venv/bin/saaskit migrate       # create the tables",
        ".venv/bin/saaskit run           # http://127.0.0.1:8000/docs",
        ".venv/bin/pytest",
    ]
    typer.echo("Next:\n" + "\n".join(f"  {step}" for step in steps))
