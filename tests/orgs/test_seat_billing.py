"""Seats and billing: a plan's ``max_seats`` at invite and accept (402 with a code that
says a bigger plan or more seats would allow it), manual seats (the bought quantity is the
limit, the job leaves it alone), and the quantity job's debounce in time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydantic import ValidationError

from saaskit.settings import PlanSettings
from saaskit.testing.fake_stripe import FakeStripe
from saaskit.testing.stripe_pytest import fake_stripe  # noqa: F401 - a fixture
from saaskit.types import Owner
from tests.billing.helpers import Billing
from tests.helpers import GUARD_SECONDS, KitFactory
from tests.orgs.billing_helpers import (
    FakeClock,
    add_members,
    invite,
    org_billing,
    quantity,
    seat_sync,
    subscribe_org,
)
from tests.orgs.helpers import ORGS, invitation_token, join, new_org, user_id, verified

SEAT_LIMIT = "organization_seat_limit"


@pytest.fixture
async def billing(
    make_kit: KitFactory,
    fake_stripe: FakeStripe,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Billing]:
    billing = await org_billing(make_kit, fake_stripe, monkeypatch, sync_seat_quantity="true")
    async with billing.client:
        yield billing


SIGNED_IN: dict[tuple[int, str], dict[str, str]] = {}


async def accept(billing: Billing, email: str) -> int:
    """Accept the last invitation to ``email`` as that user (registered on first use)."""
    key = (id(billing.kit), email)
    if key not in SIGNED_IN:
        SIGNED_IN[key] = await verified(billing.kit, billing.client, email)
    headers = SIGNED_IN[key]
    response = await billing.client.post(
        f"{ORGS}/invitations/accept",
        json={"token": invitation_token(billing.kit, email)},
        headers=headers,
    )
    return response.status_code


def test_max_seats_is_the_plan_field_and_quotas_seats_its_older_spelling() -> None:
    assert PlanSettings(max_seats=3).seat_limit == 3
    assert PlanSettings(quotas={"seats": 4}).seat_limit == 4
    assert PlanSettings(max_seats=4, quotas={"seats": 4}).seat_limit == 4
    assert PlanSettings().seat_limit is None
    with pytest.raises(ValidationError, match="max_seats"):
        PlanSettings(max_seats=3, quotas={"seats": 4})
    with pytest.raises(ValidationError):
        PlanSettings(max_seats=0)


async def test_max_seats_limits_invites_and_accepts_and_a_bigger_plan_allows_more(
    billing: Billing,
) -> None:
    kit, client = billing.kit, billing.client
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)  # the free plan: max_seats 2
    assert (await invite(billing, alice, org, "bob@example.com")).status_code == 201
    assert (await invite(billing, alice, org, "carol@example.com")).status_code == 201
    await kit.runner.drain()
    assert await accept(billing, "bob@example.com") == 200
    assert await accept(billing, "carol@example.com") == 402  # both seats taken
    full = await invite(billing, alice, org, "dan@example.com")
    assert full.status_code == 402
    error = full.json()["error"]
    assert error["code"] == SEAT_LIMIT
    assert "bigger plan" in error["message"]

    # The pro plan (max_seats 5) lets the pending invitation in and more after it.
    await subscribe_org(billing, alice, org, "pro")
    assert (await kit.plans.for_owner(Owner("organization", org))).seat_limit == 5
    assert await accept(billing, "carol@example.com") == 200
    assert (await invite(billing, alice, org, "dan@example.com")).status_code == 201


async def test_manual_seats_the_bought_quantity_is_the_limit_and_stays(
    billing: Billing,
) -> None:
    kit, client, fake = billing.kit, billing.client, billing.fake
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    subscription = await subscribe_org(billing, alice, org, "team", quantity=3)
    plan = await kit.plans.for_owner(Owner("organization", org))
    assert (plan.seat_mode, plan.seat_limit) == ("manual", 3)

    await join(kit, client, org, alice, "bob@example.com")
    await join(kit, client, org, alice, "carol@example.com")
    refused = await invite(billing, alice, org, "dan@example.com")
    assert refused.status_code == 402
    assert refused.json()["error"]["code"] == SEAT_LIMIT
    # The job ran after each accept and left the bought quantity alone.
    await kit.runner.drain()
    assert quantity(fake, subscription) == 3
    assert not fake.calls("POST", f"/v1/subscriptions/{subscription}")

    # Removing a member frees a seat; the quantity is still what was bought.
    await kit.orgs.remove(
        org, await user_id(kit, "alice@example.com"), await user_id(kit, "carol@example.com")
    )
    await kit.runner.drain()
    assert quantity(fake, subscription) == 3
    assert (await invite(billing, alice, org, "dan@example.com")).status_code == 201
    await kit.runner.drain()
    assert (await invite(billing, alice, org, "erin@example.com")).status_code == 201
    assert await accept(billing, "dan@example.com") == 200
    assert await accept(billing, "erin@example.com") == 402

    # More seats bought (in the portal): the webhook raises the limit.
    fake.change_subscription(subscription, quantity=4)
    await billing.deliver()
    assert await accept(billing, "erin@example.com") == 200
    assert quantity(fake, subscription) == 4


async def test_the_quantity_job_waits_out_its_interval_and_coalesces_changes(
    billing: Billing,
) -> None:
    """At most one quantity update per organization per interval (60 s): changes made
    while the job waits go into one update of the absolute count. No real waiting: the
    job's clock and sleep are the test's."""
    kit, client, fake = billing.kit, billing.client, billing.fake
    job = seat_sync(kit)
    clock = FakeClock()
    job.clock, job.sleep = clock, clock.sleep
    assert job.interval == 60
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    subscription = await subscribe_org(billing, alice, org, "pro")
    updates = f"/v1/subscriptions/{subscription}"

    await join(kit, client, org, alice, "bob@example.com")
    await kit.runner.drain()
    assert quantity(fake, subscription) == 2
    assert len(fake.calls("POST", updates)) == 1
    assert clock.slept == []  # the first update goes at once

    # Five seconds later Bob is removed; while the job waits out the interval, three
    # people join and their requests find the job running.
    clock.now += 5

    async def burst() -> None:
        await add_members(kit, org, "x1@example.com", "x2@example.com", "x3@example.com")
        for _ in range(3):
            await job.request(org)

    clock.during_sleep.append(burst)
    await kit.orgs.remove(
        org, await user_id(kit, "alice@example.com"), await user_id(kit, "bob@example.com")
    )
    await kit.runner.drain()
    assert clock.slept == [55.0]
    posted = fake.calls("POST", updates)
    assert len(posted) == 2  # one update for the removal and the three joins
    assert quantity(fake, subscription) == 4  # the absolute count: Alice and three
    assert posted[-1].params["items"][0]["quantity"] == "4"
    assert posted[-1].params["proration_behavior"] == "create_prorations"
    # A proration for the change is pending on the next invoice.
    assert any(i["proration"] and i["invoice"] is None for i in fake.invoice_items(subscription))

    # The webhook that follows reconciles the local record.
    await billing.deliver()
    local = await kit.plans.current(Owner("organization", org))
    assert local is not None
    assert local.quantity == 4

    # After the interval, a change goes at once again; nothing changed: nothing is sent.
    clock.now += 61
    await job.request(org)
    await kit.runner.drain()
    assert clock.slept == [55.0]
    assert len(fake.calls("POST", updates)) == 2


async def test_a_shutdown_during_the_wait_sends_the_update_instead_of_waiting(
    billing: Billing,
) -> None:
    """The job waits out its interval in a sleep that never ends by itself: closing the
    in-process runner (the app's shutdown) ends the wait, and the change is sent."""
    kit, client, fake = billing.kit, billing.client, billing.fake
    job = seat_sync(kit)
    clock = FakeClock()
    waiting = asyncio.Event()

    async def endless(seconds: float) -> None:
        clock.slept.append(seconds)
        waiting.set()
        await asyncio.Event().wait()

    job.clock, job.sleep = clock, endless
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    subscription = await subscribe_org(billing, alice, org, "pro")
    await join(kit, client, org, alice, "bob@example.com")
    await kit.runner.drain()
    assert quantity(fake, subscription) == 2

    clock.now += 5
    await kit.orgs.remove(
        org, await user_id(kit, "alice@example.com"), await user_id(kit, "bob@example.com")
    )
    await asyncio.wait_for(waiting.wait(), GUARD_SECONDS)  # the job is in its wait
    assert quantity(fake, subscription) == 2

    await asyncio.wait_for(kit.runner.close(), GUARD_SECONDS)  # a guard, not a bound
    assert clock.slept == [55.0]
    assert quantity(fake, subscription) == 1  # sent at shutdown, not lost


async def test_a_change_every_ten_seconds_stays_far_below_stripes_limit(
    billing: Billing,
) -> None:
    """A member joins every 10 s for 15 minutes: while the job waits out its interval the
    next joins find it running, so about one update a minute reaches Stripe, whose fake
    refuses quantity updates over its limit (set to 20 an hour here; 90 without the
    debounce)."""
    kit, client, fake = billing.kit, billing.client, billing.fake
    fake.quantity_updates_per_hour = 20
    job = seat_sync(kit)
    clock = FakeClock()
    start = clock.now
    joined = 0

    async def change() -> None:
        nonlocal joined
        joined += 1
        await add_members(kit, org, f"m{joined}@example.com")
        await job.request(org)

    async def time_passes(seconds: float) -> None:
        # The world goes on while the job waits: a join every 10 s.
        steps = int(seconds // 10)
        for _ in range(steps):
            if joined < 90:
                await change()
            clock.now += 10
        clock.now += seconds - steps * 10

    job.clock, job.sleep = clock, time_passes
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    subscription = await subscribe_org(billing, alice, org, "pro")
    while joined < 90:
        await change()
        await kit.runner.drain()
        clock.now += 10
    posted = fake.calls("POST", f"/v1/subscriptions/{subscription}")
    assert all(r.status == 200 for r in posted)
    minutes = (clock.now - start) / 60
    assert len(posted) <= minutes + 1
    assert len(posted) < 20
    assert quantity(fake, subscription) == 91


async def test_a_failed_quantity_update_is_still_to_sync_on_the_retry(billing: Billing) -> None:
    """Stripe fails the update: the task is retried (a transient error) and the change
    is still marked, so the retry sets the quantity."""
    from saaskit.tasks.runner import InProcessRunner

    kit, client, fake = billing.kit, billing.client, billing.fake
    assert isinstance(kit.runner, InProcessRunner)
    kit.runner.backoff = 0  # the runner's own retry delay: no waiting in the test
    job = seat_sync(kit)
    clock = FakeClock()
    job.clock, job.sleep = clock, clock.sleep
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    subscription = await subscribe_org(billing, alice, org, "pro")
    fake.fail_next(500, method="POST", path=f"/v1/subscriptions/{subscription}")
    await join(kit, client, org, alice, "bob@example.com")
    await kit.runner.drain()
    statuses = [r.status for r in fake.calls("POST", f"/v1/subscriptions/{subscription}")]
    assert statuses == [500, 200]
    assert quantity(fake, subscription) == 2


async def test_checkout_buys_the_seat_count_when_the_quantity_follows_members(
    billing: Billing,
) -> None:
    kit, client, fake = billing.kit, billing.client, billing.fake
    alice = await verified(kit, client, "alice@example.com")
    org = await new_org(client, alice)
    await join(kit, client, org, alice, "bob@example.com")  # the free plan's 2 seats
    # The quantity asked for is not what per-member seats buy: the seat count is.
    subscription = await subscribe_org(billing, alice, org, "pro", quantity=1)
    assert quantity(fake, subscription) == 2
    # Bought seats buy what is asked for.
    other = await new_org(client, alice, "Other")
    bought = await subscribe_org(billing, alice, other, "team", quantity=7)
    assert quantity(fake, bought) == 7
