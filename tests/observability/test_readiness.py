"""Readiness waits for the migrations, so a rollout does not send traffic to an app whose
database is behind."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from alembic.config import Config

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.migrations import PACKAGED_LOCATION, packaged_config, upgrade
from saaskit.models import User
from tests.databases import scratch_database
from tests.helpers import client_for, new_store


def kit_on(url: str, **db: object) -> SaaSKit[User]:
    settings = SaaSKitSettings(
        database_url=url,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        db=db,
    )
    return SaaSKit(settings, store=new_store())


async def ready(kit: SaaSKit[User]) -> tuple[int, dict[str, str]]:
    async with client_for(kit) as client:
        response = await client.get("/health/ready")
    return response.status_code, response.json()["checks"]


def check(url: str, **db: object) -> tuple[int, dict[str, str]]:
    """``GET /health/ready`` of a kit on ``url`` (a new event loop: this file's tests are
    synchronous, as the scratch databases and Alembic run loops of their own)."""

    async def probe() -> tuple[int, dict[str, str]]:
        kit = kit_on(url, **db)
        try:
            return await ready(kit)
        finally:
            await kit.aclose()

    return asyncio.run(probe())


def test_readiness_fails_until_the_database_is_at_the_kits_head(tmp_path: Path) -> None:
    with scratch_database(tmp_path, "ready") as url:
        status, checks = check(url)
        assert (status, checks["database"], checks["migrations"]) == (503, "ok", "behind")
        upgrade(packaged_config(url), "0001")
        status, checks = check(url)
        assert (status, checks["migrations"]) == (503, "behind")
        upgrade(packaged_config(url))
        status, checks = check(url)
        assert (status, checks["migrations"]) == (200, "ok")


def test_readiness_waits_for_the_hosts_alembic_head_when_configured(
    tmp_path: Path,
) -> None:
    # A host whose history is saaskit's plus one revision of its own.
    scripts = tmp_path / "migrations"
    shutil.copytree(PACKAGED_LOCATION, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    heads = Config()
    heads.set_main_option("script_location", str(scripts))
    from alembic.script import ScriptDirectory

    kit_head = ScriptDirectory.from_config(heads).get_current_head()
    (scripts / "versions" / "9999_host.py").write_text(
        f'revision = "host0001"\ndown_revision = "{kit_head}"\n'
        "branch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n"
    )
    ini = tmp_path / "alembic.ini"
    ini.write_text("[alembic]\nscript_location = migrations\n")
    with scratch_database(tmp_path, "host") as url:
        upgrade(packaged_config(url))  # at the kit's head only
        status, checks = check(url, alembic_ini=str(ini))
        assert (status, checks["migrations"]) == (503, "behind")
        config = Config(str(ini))
        config.set_main_option("script_location", str(scripts))
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        upgrade(config)
        status, checks = check(url, alembic_ini=str(ini))
        assert (status, checks["migrations"]) == (200, "ok")


def test_the_migration_check_can_be_switched_off(tmp_path: Path) -> None:
    with scratch_database(tmp_path, "off") as url:
        status, checks = check(url, ready_requires_migrations=False)
    assert (status, checks["migrations"]) == (200, "skipped")
