"""Erasure with billing and organizations: Stripe handled, and a failure at any step resumes
to the same end state as an erasure that never failed."""

from __future__ import annotations

import glob
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from saaskit import SaaSKit
from saaskit.privacy.erasure import ErasureContext
from saaskit.testing.fake_stripe import FakeStripe
from tests.billing.helpers import Billing, add_prices, billing_settings
from tests.databases import TEST_DATABASE_URL
from tests.helpers import truncate_tables
from tests.privacy.helpers import (
    Clock,
    HookLog,
    client_for_kit,
    delete_account,
    make_world_kit,
    signed_up,
)

STEPS = ["billing", "organizations", "hook:notes", "exports", "user", "audit"]


async def fresh_database(migrated: str, folder: Path, label: str) -> str:
    """An empty migrated database: the run's own, truncated (PostgreSQL), or a copy."""
    if TEST_DATABASE_URL:
        await truncate_tables(migrated)
        return migrated
    path = folder / f"{label}.db"
    shutil.copy(make_url(migrated).database or "", path)
    return f"sqlite+aiosqlite:///{path}"


Inject = Callable[[SaaSKit[Any]], None]


async def erase_world(
    url: str, folder: Path, *, inject: Inject | None = None, **privacy: Any
) -> tuple[dict[str, Any], HookLog, list[Any]]:
    """Alice (subscribed, two organizations, an export) deletes her account; after the
    grace period the sweep erases it (twice when ``inject`` makes the first fail).

    Returns the end state, the hook's calls and each sweep's result.
    """
    clock, hook = Clock(), HookLog()
    with FakeStripe() as fake:
        add_prices(fake)
        kit, _ = make_world_kit(
            url, folder / "exports", clock, hook, billing=billing_settings(fake), privacy=privacy
        )
        try:
            async with client_for_kit(kit) as client:
                billing = Billing(kit, client, fake)
                alice = await signed_up(client, "alice@example.com")
                await signed_up(client, "bob@example.com")
                await signed_up(client, "carol@example.com")
                await billing.subscribe(alice)
                acme = await client.post("/api/v1/orgs", json={"name": "Acme"}, headers=alice)
                solo = await client.post("/api/v1/orgs", json={"name": "Solo"}, headers=alice)
                member = kit.orgs.membership
                bob = await kit.users.get_by_email("bob@example.com")
                carol = await kit.users.get_by_email("carol@example.com")
                assert bob is not None
                assert carol is not None
                async with kit.session_factory() as db, db.begin():
                    org_id = acme.json()["id"]
                    db.add(member(organization_id=org_id, user_id=carol.id, role="member"))  # type: ignore[call-arg]
                    db.add(member(organization_id=org_id, user_id=bob.id, role="admin"))  # type: ignore[call-arg]
                assert solo.status_code == 201
                assert (
                    await client.post("/api/v1/privacy/exports", headers=alice)
                ).status_code == 202
                await kit.runner.drain()
                assert (await delete_account(client, alice)).status_code == 202
                await kit.runner.drain()
                clock.advance(days=31)
                if inject is not None:
                    inject(kit)
                sweeps = [await kit.feature("privacy").sweep()]
                if inject is not None:
                    sweeps.append(await kit.feature("privacy").sweep())
                await fake.deliver(client)  # Stripe's events about what was canceled
                return await end_state(kit, fake, folder / "exports"), hook, sweeps
        finally:
            await kit.aclose()


async def end_state(kit: SaaSKit[Any], fake: FakeStripe, storage: Path) -> dict[str, Any]:
    tables = kit.models.tables
    org, member, user = tables["organization"], tables["membership"], kit.user_model
    audit, deletion = tables["audit_event"], tables["account_deletion"]
    async with kit.session_factory() as db:
        users = sorted((u.email, u.is_active) for u in await db.scalars(select(user)))
        orgs = sorted(
            (name, email, role)
            for name, email, role in (
                await db.execute(
                    select(org.name, user.email, member.role)
                    .join(member, member.organization_id == org.id)
                    .join(user, user.id == member.user_id)
                )
            ).all()
        )
        events = [
            (e.action, e.outcome, e.actor_id, e.target_id, e.ip, _detail(e.detail))
            for e in await db.scalars(select(audit).order_by(audit.id))
        ]
        (row,) = list(await db.scalars(select(deletion)))
        subs = sorted(
            (s.status, s.owner_kind, s.owner_id, s.user_id)
            for s in await db.scalars(select(kit.models.subscription))
        )
        links = len(list(await db.scalars(select(kit.models.billing_customer))))
    return {
        "users": users,
        "orgs": orgs,
        "audit": events,
        "deletion": (row.status, row.steps, row.email, row.last_error),
        "subscriptions": subs,
        "customer_links": links,
        "stripe_customers": sorted(bool(c.get("deleted")) for c in fake.objects("customers")),
        "stripe_subscriptions": sorted(s["status"] for s in fake.objects("subscriptions")),
        "archives": len(glob.glob(f"{storage}/**/*.zip", recursive=True)),
    }


def _detail(detail: Any) -> Any:
    if isinstance(detail, dict):  # Stripe's ids differ from one fake to the next
        return {k: v for k, v in detail.items() if k not in ("subscriptions",)}
    return detail


def failing_once(step_name: str, mode: str) -> Inject:
    """Make step ``step_name`` fail once, before or after doing its work."""

    def inject(kit: SaaSKit[Any]) -> None:
        deletions = kit.feature("privacy").deletions
        failed: list[str] = []

        async def flaky(
            name: str, step: Callable[[ErasureContext], Awaitable[None]], context: ErasureContext
        ) -> None:
            if name == step_name and not failed:
                failed.append(name)
                if mode == "after":
                    await step(context)
                raise RuntimeError("injected failure")
            await step(context)

        deletions.run_step = flaky

    return inject


async def test_erasure_cancels_billing_and_handles_organizations(
    migrated_database: str, tmp_path: Path
) -> None:
    url = await fresh_database(migrated_database, tmp_path, "plain")
    state, hook, sweeps = await erase_world(url, tmp_path)
    assert sweeps[0].erased_users == [1]
    assert ("alice@example.com", True) not in state["users"]
    assert [e for e, _ in state["users"]] == ["bob@example.com", "carol@example.com"]
    # Acme goes to its admin (not its older plain member); Solo had nobody: deleted.
    assert state["orgs"] == [
        ("Acme", "bob@example.com", "owner"),
        ("Acme", "carol@example.com", "member"),
    ]
    assert state["stripe_subscriptions"] == ["canceled"]
    assert state["stripe_customers"].count(True) == 1  # Alice's deleted, the others' kept
    assert state["customer_links"] == 2
    assert state["deletion"] == ("erased", STEPS, None, None)
    assert state["archives"] == 0
    assert [c.user_id for c in hook.calls] == [1]
    assert all(1 not in (actor, target) for _, _, actor, target, _, _ in state["audit"])


async def test_the_stripe_customer_can_be_kept(migrated_database: str, tmp_path: Path) -> None:
    url = await fresh_database(migrated_database, tmp_path, "keep")
    state, _, _ = await erase_world(url, tmp_path, delete_stripe_customer=False)
    assert state["stripe_customers"] == [False, False, False]
    assert state["stripe_subscriptions"] == ["canceled"]  # canceled either way
    assert state["customer_links"] == 2  # Alice's link is dropped


async def test_sole_owned_organizations_can_be_deleted_instead(
    migrated_database: str, tmp_path: Path
) -> None:
    url = await fresh_database(migrated_database, tmp_path, "delete")
    state, _, _ = await erase_world(url, tmp_path, sole_owner_orgs="delete")
    assert state["orgs"] == []
    assert ("org_deleted", "success") in {(a, o) for a, o, *_ in state["audit"]}


@pytest.mark.parametrize("mode", ["before", "after"])
@pytest.mark.parametrize("step", STEPS)
async def test_a_failure_at_any_step_resumes_to_the_same_end_state(
    migrated_database: str, tmp_path: Path, step: str, mode: str
) -> None:
    url = await fresh_database(migrated_database, tmp_path, "baseline")
    expected, _, _ = await erase_world(url, tmp_path / "baseline")
    url = await fresh_database(migrated_database, tmp_path, "failing")
    state, hook, sweeps = await erase_world(
        url, tmp_path / "failing", inject=failing_once(step, mode)
    )
    assert sweeps[0].failed_deletions == [1]
    assert sweeps[0].erased_users == []
    assert sweeps[1].erased_users == [1]
    assert state == expected
    assert len(hook.calls) == (2 if (step, mode) == ("hook:notes", "after") else 1)
