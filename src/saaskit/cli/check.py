"""``saaskit check``: is this configuration sound, and would it be fit for production?"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from alembic.util import CommandError
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from saaskit.cli.alembic_support import (
    database_revisions,
    first_line,
    head_revisions,
    resolve_target,
)
from saaskit.cli.database import describe_database, missing_sqlite_file
from saaskit.cli.output import describe_validation_error, fail, failed, passed, redact_url, warned
from saaskit.cli.transport import database_findings, redis_findings, smtp_findings
from saaskit.db.engine import create_engine
from saaskit.env_names import (
    configured,
    describe_unknown,
    placeholder_secrets,
    unknown_variables,
)
from saaskit.exceptions import MissingExtra
from saaskit.features import Feature
from saaskit.settings import SaaSKitSettings
from saaskit.store import create_store
from saaskit.store.redis import RedisStore

TIMEOUT_SECONDS = 10.0


@dataclass
class Report:
    """Counts what :func:`check` found while printing it."""

    failures: int = 0
    warnings: int = 0

    def ok(self, message: str) -> None:
        """Print a passed check."""
        passed(message)

    def warn(self, message: str) -> None:
        """Print and count a warning (the check still passes)."""
        self.warnings += 1
        warned(message)

    def fail(self, message: str) -> None:
        """Print and count a failure (``saaskit check`` exits 1)."""
        self.failures += 1
        failed(message)


def check() -> None:
    """Check settings, database, Redis and migrations; exit 1 on anything that stops production.

    Problems that only matter in production (the development secret key, ...) are
    warnings in development and failures in production.
    """
    settings, environment = _load_settings()
    report = Report()
    typer.echo(f"Environment: {environment}")
    typer.echo(f"Database:    {describe_database(settings.database_url)}")
    typer.echo(f"Store:       {_describe_store(settings.redis_url, settings.store.cluster)}")
    typer.echo("")
    asyncio.run(_probe(settings, report))
    for problem in settings.problems():
        (report.fail if environment == "production" else report.warn)(problem)
    if environment == "production":
        for warning in feature_warnings(settings):
            report.warn(warning)
    _check_variables(settings, report)
    if report.failures:
        typer.secho(
            f"\n{report.failures} problem(s) would stop production.", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(1)
    suffix = f" ({report.warnings} warning(s) for production)" if report.warnings else ""
    typer.secho(f"\nAll checks passed{suffix}.", fg=typer.colors.GREEN)


def _features() -> list[Feature[Any]]:
    """The kit's own features (their settings sections and production warnings)."""
    from saaskit.kit import default_features

    return default_features()


def feature_warnings(settings: SaaSKitSettings) -> list[str]:
    """The production warnings of the kit's enabled features (keys, shared storage)."""
    found: list[str] = []
    for feature in _features():
        if feature.enabled(settings):
            found += feature.production_warnings(settings)
    return found


def _check_variables(settings: SaaSKitSettings, report: Report) -> None:
    """Typos in variable names (warnings) and secrets left as placeholders (failures)."""
    sections = {f.name: f.settings_model for f in _features() if f.settings_model is not None}
    for name, suggestion in unknown_variables(configured(os.environ, Path(".env")), sections):
        report.warn(describe_unknown(name, suggestion))
    for name in placeholder_secrets(settings):
        report.fail(
            f"{name} is a placeholder from an example, not a real value; set the real one"
            + (" (`saaskit secret` makes one)" if name == "SAASKIT_SECRET_KEY" else "")
        )


def _load_settings() -> tuple[SaaSKitSettings, str]:
    """The settings and the environment they name.

    Settings that are refused *because* they are unsafe for production are loaded again as
    development settings, so every problem can be listed rather than only the first error.
    """
    try:
        settings = SaaSKitSettings()
    except ValidationError as error:
        # Field errors (loc set) cannot be worked around; the production checks (no loc) can.
        if not any(problem["loc"] for problem in error.errors()):
            try:
                return SaaSKitSettings(environment="development"), "production"
            except ValidationError:
                pass
        fail("invalid settings:\n" + describe_validation_error(error))
    return settings, settings.environment


def _describe_store(redis_url: str | None, cluster: bool = False) -> str:
    if redis_url and cluster:
        return f"Redis Cluster reached through {redact_url(redis_url)}"
    if redis_url:
        return f"Redis at {redact_url(redis_url)}"
    return "in-process memory (one process only; set SAASKIT_REDIS_URL to share it)"


async def _probe(settings: SaaSKitSettings, report: Report) -> None:
    if await _probe_database(settings, report):
        await _probe_migrations(settings, report)
    for url in settings.database_replica_urls:
        await _probe_replica(settings, url, report)
    await _probe_redis(settings, report)
    if settings.tasks.backend == "celery":
        await _probe_broker(settings, report)
    if settings.is_production:
        for finding in smtp_findings(settings.email):
            report.warn(finding)
    if settings.is_production and not settings.email.smtp_host:
        report.warn(
            "no SMTP server (SAASKIT_EMAIL__SMTP_HOST): verification and password-reset "
            "emails are not delivered, and in production their bodies are not logged either"
        )


async def _probe_database(settings: SaaSKitSettings, report: Report) -> bool:
    missing = missing_sqlite_file(settings.database_url)
    if missing is not None:
        report.fail(f"database file {missing} does not exist; create it with `saaskit migrate`")
        return False
    try:
        engine = create_engine(settings)
    except (MissingExtra, ValueError) as error:
        report.fail(f"database: {error}")
        return False
    findings: list[str] = []
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            if settings.is_production:
                findings = await database_findings(connection, settings.database_url, settings)
    except Exception as error:  # any failure to connect is the finding, not a crash
        reason = "timed out" if isinstance(error, TimeoutError) else first_line(error)
        report.fail(f"database unreachable: {reason}")
        return False
    finally:
        await engine.dispose()
    report.ok("database reachable")
    for finding in findings:
        report.warn(finding)
    return True


async def _probe_replica(settings: SaaSKitSettings, url: str, report: Report) -> None:
    """A replica that does not answer is a warning: its reads go to the primary."""
    engine = create_engine(settings, url)
    findings: list[str] = []
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS), engine.connect() as connection:
            in_recovery = await connection.scalar(text("SELECT pg_is_in_recovery()"))
            if settings.is_production:
                findings = await database_findings(connection, url, settings, "read replica")
    except Exception as error:  # any failure to connect is the finding, not a crash
        reason = "timed out" if isinstance(error, TimeoutError) else first_line(error)
        report.warn(
            f"read replica {redact_url(url)} unreachable ({reason}); "
            "its reads go to the primary until it answers"
        )
        return
    finally:
        await engine.dispose()
    for finding in findings:
        report.warn(finding)
    if in_recovery:
        report.ok(f"read replica reachable ({redact_url(url)})")
    else:
        report.warn(
            f"read replica {redact_url(url)} is not a standby (pg_is_in_recovery() is false); "
            "is SAASKIT_DATABASE_REPLICA_URLS pointing at the primary?"
        )


async def _probe_migrations(settings: SaaSKitSettings, report: Report) -> None:
    target = resolve_target(None, settings_url=settings.database_url)
    try:
        heads = set(head_revisions(target.config))
        current = set(await database_revisions(target.url))
    except (CommandError, ImportError, OSError, DBAPIError) as error:
        report.fail(f"migrations could not be checked: {error}")
        return
    source = "project" if target.is_project else "saaskit"
    if current == heads:
        report.ok(f"migrations at head ({', '.join(sorted(heads))}, {source} migrations)")
        return
    at = f"at {', '.join(sorted(current))}" if current else "not migrated"
    report.fail(
        f"migrations pending: the database is {at}, the latest {source} migration is "
        f"{', '.join(sorted(heads))}; run `saaskit migrate`"
    )


async def _probe_redis(settings: SaaSKitSettings, report: Report) -> None:
    if not settings.redis_url:
        report.ok("store: in-process (fine for one process; use Redis for several)")
        return
    if settings.is_production:
        for finding in redis_findings(settings.redis_url, "redis"):
            report.warn(finding)
    reachable = await _redis_reachable(settings.redis_url, settings, report, "redis")
    if reachable:
        report.ok("redis cluster reachable" if settings.store.cluster else "redis reachable")
        await _match_cluster_mode(settings.redis_url, settings, report)
    elif (
        reachable is not None
        and settings.store.cluster
        and await _redis_reachable(settings.redis_url, settings, report, "redis", cluster=False)
    ):
        await _match_cluster_mode(settings.redis_url, settings, report)  # a single Redis
    elif reachable is not None:
        report.fail(f"redis unreachable at {redact_url(settings.redis_url)}")


async def _match_cluster_mode(url: str, settings: SaaSKitSettings, report: Report) -> None:
    """A cluster node needs the cluster client, and the cluster client a cluster."""
    store = create_store(url, settings.store, cluster=False)
    try:
        enabled = isinstance(store, RedisStore) and await store.cluster_enabled()
    except Exception as error:  # a Redis that refuses INFO: nothing more to learn
        report.warn(f"redis: could not read INFO cluster ({first_line(error)})")
        return
    finally:
        await store.close()
    if enabled and not settings.store.cluster:
        report.fail(
            f"redis at {redact_url(url)} is a Redis Cluster node, but SAASKIT_STORE__CLUSTER "
            "is not true: multi-key commands would fail with CROSSSLOT/MOVED; set "
            "SAASKIT_STORE__CLUSTER=true"
        )
    elif settings.store.cluster and not enabled:
        report.fail(
            f"SAASKIT_STORE__CLUSTER is true but redis at {redact_url(url)} is not a cluster "
            "node (cluster_enabled:0); unset SAASKIT_STORE__CLUSTER or point "
            "SAASKIT_REDIS_URL at the cluster (ElastiCache: the configuration endpoint)"
        )


async def _probe_broker(settings: SaaSKitSettings, report: Report) -> None:
    """Can the Celery broker be reached?

    (Redis: PING; other brokers: a TCP connection.)
    """
    url = settings.tasks.broker_url or settings.redis_url
    if not url:
        return  # settings.problems() already explains the missing broker
    if url.split("://", 1)[0].lower() in {"redis", "rediss"}:
        if settings.is_production and url != settings.redis_url:  # else reported above
            for finding in redis_findings(url, "task broker"):
                report.warn(finding)
        reachable = await _redis_reachable(url, settings, report, "task broker", cluster=False)
        if reachable and await _is_cluster(url, settings):
            report.fail(
                f"task broker at {redact_url(url)} is a Redis Cluster node; Celery has no "
                "Redis Cluster transport: point SAASKIT_TASKS__BROKER_URL at a separate, "
                "non-cluster Redis (ElastiCache: a cluster-mode-disabled replication group)"
            )
            return
    else:
        reachable = await _tcp_reachable(url)
    if reachable:
        report.ok(f"task broker reachable ({redact_url(url)})")
    elif reachable is not None:
        report.fail(
            f"task broker unreachable at {redact_url(url)}; "
            "start it or fix SAASKIT_TASKS__BROKER_URL"
        )


async def _is_cluster(url: str, settings: SaaSKitSettings) -> bool:
    store = create_store(url, settings.store, cluster=False)
    try:
        return isinstance(store, RedisStore) and await store.cluster_enabled()
    except Exception:  # a Redis that refuses INFO is no cluster we can tell apart
        return False
    finally:
        await store.close()


async def _redis_reachable(
    url: str, settings: SaaSKitSettings, report: Report, label: str, *, cluster: bool | None = None
) -> bool | None:
    """Whether Redis at ``url`` answers PING; ``None`` (reported) if redis-py is missing."""
    try:
        store = create_store(url, settings.store, cluster=cluster)
    except MissingExtra as error:
        report.fail(f"{label}: {error}")
        return None
    try:
        return await store.ping()
    finally:
        await store.close()


async def _tcp_reachable(url: str) -> bool:
    try:
        parsed = make_url(url)
        host, port = parsed.host or "localhost", parsed.port or 5672
        async with asyncio.timeout(TIMEOUT_SECONDS):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError, ValueError, ArgumentError):
        return False
    writer.close()
    return True
