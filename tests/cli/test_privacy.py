"""``saaskit privacy sweep``: erases the accounts due, says so, and refuses when off."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from saaskit import SaaSKit
from saaskit.models import User
from saaskit.privacy import PrivacyFeature, PrivacySettings
from tests.cli.helpers import STRONG_SECRET, backend_env, invoke
from tests.helpers import make_settings


def test_sweep_erases_an_account_past_its_grace_period(database_url: str, tmp_path: Path) -> None:
    settings = PrivacySettings(enabled=True, storage_dir=tmp_path)

    async def schedule() -> int:
        kit: SaaSKit[User] = SaaSKit(
            make_settings(database_url, secret_key=STRONG_SECRET),
            features=[PrivacyFeature(settings)],
        )
        try:
            user = await kit.users.create("gone@example.com", "a-long-password-0123")
            service: Any = kit.feature(PrivacyFeature)
            row = await service.deletions.schedule(user.id)
            async with kit.session_factory() as db, db.begin():  # the grace period is over
                table = kit.models.tables["account_deletion"]
                past = datetime.now(UTC) - timedelta(minutes=1)
                await db.execute(update(table).where(table.id == row.id).values(erase_after=past))
            await kit.runner.drain()
            return int(user.id)
        finally:
            await kit.aclose()

    asyncio.run(schedule())
    env = {
        **backend_env(database_url),
        "SAASKIT_SECRET_KEY": STRONG_SECRET,
        "SAASKIT_PRIVACY__ENABLED": "true",
        "SAASKIT_PRIVACY__STORAGE_DIR": str(tmp_path),
    }
    swept = invoke("privacy", "sweep", env=env)
    assert swept.exit_code == 0, swept.stderr
    assert "erased accounts: 1" in swept.stdout
    again = invoke("privacy", "sweep", env=env)
    assert "erased accounts: 0" in again.stdout


def test_sweep_refuses_when_privacy_is_off(database_url: str) -> None:
    env = {**backend_env(database_url), "SAASKIT_SECRET_KEY": STRONG_SECRET}
    refused = invoke("privacy", "sweep", env=env)
    assert refused.exit_code == 1
    assert "SAASKIT_PRIVACY__ENABLED" in refused.stderr
