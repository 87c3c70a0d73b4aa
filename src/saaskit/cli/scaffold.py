"""The files of a new project (``saaskit init``): templates, settings and the first migration.

Templates live in ``saaskit/cli/templates/project``; files ending in ``.j2`` are Jinja2
templates (one that renders to nothing is not written), the others are copied.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import secrets
import shutil
import sys
import uuid
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

import jinja2
from alembic.config import Config
from sqlalchemy import MetaData

from saaskit.__about__ import __version__
from saaskit.cli.envfile import render_env
from saaskit.cli.origin import INDEX, SaaskitSource
from saaskit.migrations.portable import write_initial_migration

FEATURES = ("billing", "ai", "celery")
Database = Literal["sqlite", "postgres"]
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
RENAMED = {"gitignore": ".gitignore", "dockerignore": ".dockerignore"}
EXAMPLE_PLANS = (
    '\'{"free": {"name": "Free", "quotas": {"ai_tokens": 10000}}, '
    '"pro": {"name": "Pro", "price": "pro_monthly", "features": ["reports"], '
    '"quotas": {"ai_tokens": 1000000}}}\''
)


@dataclass(frozen=True)
class ProjectSpec:
    """What ``saaskit init`` makes: a name, a database and the optional features."""

    name: str
    database: Database = "sqlite"
    features: frozenset[str] = frozenset(FEATURES)
    source: SaaskitSource = INDEX

    def __post_init__(self) -> None:
        if not NAME_PATTERN.fullmatch(self.name):
            raise ValueError(
                f"{self.name!r} is not a project name: use a letter, then letters, digits, "
                "- or _ (at most 63)"
            )
        unknown = self.features - set(FEATURES)
        if unknown:
            raise ValueError(
                f"unknown feature(s) {', '.join(sorted(unknown))}; choose from "
                f"{', '.join(FEATURES)}"
            )

    @property
    def slug(self) -> str:
        """The name as an identifier: database, user and compose project names."""
        return self.name.lower().replace("-", "_")

    @property
    def extras(self) -> list[str]:
        """Saaskit's extras the project depends on (compose always uses PostgreSQL, Redis)."""
        extras = {"billing": "stripe", "ai": "ai", "celery": "celery"}
        return ["postgres", "redis", *(extras[f] for f in FEATURES if f in self.features)]

    def database_url(self, password: str) -> str:
        """The project's database URL, with ``password`` for PostgreSQL."""
        if self.database == "postgres":  # the `db` service of docker-compose.yml
            return f"postgresql+asyncpg://{self.slug}:{password}@127.0.0.1:5432/{self.slug}"
        return f"sqlite+aiosqlite:///./{self.slug}.db"

    def context(self) -> dict[str, Any]:
        """The variables of the templates."""
        return {
            "name": self.name,
            "slug": self.slug,
            "database": self.database,
            "extras": ",".join(self.extras),
            "features_text": ",".join(f for f in FEATURES if f in self.features) or "none",
            "saaskit_version": __version__,
            "saaskit_requirement": self.source.requirement(",".join(self.extras), __version__),
            "saaskit_testing_requirement": self.source.requirement("testing", __version__),
            "saaskit_source": self.source.description,
            "direct_reference": self.source.reference is not None,
            "saaskit_from_path": (self.source.reference or "").startswith("file:"),
            **{feature: feature in self.features for feature in FEATURES},
        }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(  # noqa: S701 - renders code and config, not HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _walk(folder: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            found += _walk(entry, f"{prefix}{entry.name}/")
        else:
            found.append((f"{prefix}{entry.name}", entry))
    return found


def render_templates(spec: ProjectSpec, target: Path) -> list[Path]:
    """Write the project's files from the templates into ``target``; returns them."""
    environment = _environment()
    context = spec.context()
    written: list[Path] = []
    for relative, source in _walk(resources.files("saaskit.cli") / "templates" / "project"):
        folder, _, name = relative.rpartition("/")
        content = source.read_text("utf-8")
        if name.endswith(".j2"):
            name = name.removesuffix(".j2")
            content = environment.from_string(content).render(context)
            if not content.strip():
                continue  # a feature's file, for a project without that feature
        path = target / folder / RENAMED.get(name, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, "utf-8")
        written.append(path)
    return written


def write_settings(spec: ProjectSpec, target: Path) -> None:
    """``.env`` (fresh secrets) and ``.env.example`` (placeholders), every setting listed."""
    password = secrets.token_urlsafe(24)
    for filename, secret_key, db_password in (
        (".env", secrets.token_urlsafe(48), password),
        (".env.example", "change-me-to-the-output-of-saaskit-secret", "change-me"),
    ):
        active = {
            "SAASKIT_ENVIRONMENT": "development",
            "SAASKIT_SECRET_KEY": secret_key,
            "SAASKIT_DATABASE_URL": spec.database_url(db_password),
            "SAASKIT_PROJECT_NAME": spec.name,
        }
        if "billing" in spec.features:
            active |= {
                "SAASKIT_BILLING__ENABLED": "false",  # until the Stripe keys are set
                "SAASKIT_BILLING__PLANS": EXAMPLE_PLANS,
                "SAASKIT_BILLING__DEFAULT_PLAN": "free",
            }
        if "celery" in spec.features:
            active["SAASKIT_TASKS__BACKEND"] = "inprocess"  # docker compose sets celery
        title = (
            f"Settings of {spec.name} for this machine. Never commit this file: it holds secrets."
            if filename == ".env"
            else f"Every setting of {spec.name}, with its default. Copy to .env and fill in."
        )
        extra = {
            "POSTGRES_PASSWORD": (
                "Password of the PostgreSQL service of docker-compose.yml.",
                db_password,
            ),
            "POSTGRES_PORT": (
                "Port docker compose publishes PostgreSQL on, on this machine (5433 if a local "
                "PostgreSQL has 5432; then use it in SAASKIT_DATABASE_URL too).",
                "5432",
            ),
            "REDIS_PORT": ("Port docker compose publishes Redis on, on this machine.", "6379"),
            "APP_PORT": ("Port docker compose publishes the app on, on this machine.", "8000"),
        }
        (target / filename).write_text(render_env(active, title=title, extra=extra), "utf-8")


def load_metadata(models: Path) -> MetaData:
    """The metadata of the project's ``app/models.py`` (imported under a private name)."""
    name = f"_saaskit_init_models_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, models)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always loads
        raise ImportError(f"cannot load {models}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    metadata = module.Base.metadata
    assert isinstance(metadata, MetaData)
    return metadata


def write_migrations(target: Path) -> Path:
    """The first migration: the project's tables and saaskit's, from ``app/models.py``."""
    (target / "migrations" / "versions").mkdir(parents=True, exist_ok=True)
    config = Config(str(target / "alembic.ini"))
    metadata = load_metadata(target / "app" / "models.py")
    with contextlib.redirect_stdout(io.StringIO()):  # Alembic's "Generating ..." line
        return write_initial_migration(config, metadata)


def create_project(spec: ProjectSpec, target: Path) -> None:
    """Write the whole project into the (empty) folder ``target``."""
    render_templates(spec, target)
    if spec.source.wheel is not None:
        shutil.copy2(spec.source.wheel, target / "wheels" / spec.source.wheel.name)
    write_settings(spec, target)
    write_migrations(target)
