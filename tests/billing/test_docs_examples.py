"""The Billing page's examples run against the fake Stripe."""

from __future__ import annotations

from pathlib import Path

import pytest

from saaskit.migrations import PACKAGED_LOCATION
from saaskit.testing.fake_stripe import FakeStripe
from tests.docs.helpers import SNIPPETS, load_path


async def test_the_documented_host_test_passes(
    fake_stripe: FakeStripe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    # The host's alembic.ini: billing_app keeps saaskit's default models, so its migrations
    # are the ones saaskit ships.
    (tmp_path / "alembic.ini").write_text(f"[alembic]\nscript_location = {PACKAGED_LOCATION}\n")
    monkeypatch.syspath_prepend(str(SNIPPETS))
    monkeypatch.delenv("SAASKIT_REDIS_URL", raising=False)
    monkeypatch.setenv("SAASKIT_AUTH__BCRYPT_ROUNDS", "4")
    module = load_path(SNIPPETS / "billing_test.py", monkeypatch)
    await module.test_upgrade_to_pro(fake_stripe, tmp_path)
