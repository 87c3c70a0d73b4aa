"""docs/orgs.md's curl walk-through, step by step, against ``saaskit demo`` and a fake Stripe.

The demo runs as the docs say (the ``saaskit`` CLI, billing on, per-seat quantity sync),
with its Stripe calls going to :class:`saaskit.testing.FakeStripe` on 127.0.0.1. Each
numbered step of ``docs/snippets/orgs_walkthrough.sh`` runs in bash with the shell variables
the steps before it set; between steps the test does what a person would: read the
invitation email (the demo prints it), pay in Stripe's checkout page, and let Stripe's
webhooks reach the demo.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from saaskit.testing.fake_stripe import FakeStripe
from tests.docs.helpers import SNIPPETS
from tests.ports import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl"),
]

SCRIPT = SNIPPETS / "orgs_walkthrough.sh"
DEMO_BASE = "http://127.0.0.1:8000"
STEP = re.compile(r"^# (\d+)\. ", re.MULTILINE)


def steps() -> tuple[str, dict[int, str]]:
    """The walk-through's prelude (variables, helpers) and its numbered steps."""
    text = SCRIPT.read_text("utf-8")
    body = text.split("# --8<-- [start:walkthrough]\n")[1].split("# --8<-- [end:walkthrough]")[0]
    starts = list(STEP.finditer(body))
    prelude = body[: starts[0].start()]
    numbered = {
        int(m.group(1)): body[m.start() : (starts[i + 1].start() if i + 1 < len(starts) else None)]
        for i, m in enumerate(starts)
    }
    return prelude, numbered


@pytest.fixture
def stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        fake.add_price("team_seat", unit_amount=900)
        yield fake


@pytest.fixture
def demo(tmp_path: Path, stripe: FakeStripe) -> Iterator[tuple[str, Path]]:
    """``saaskit demo`` with billing on the fake Stripe; yields its URL and its log file."""
    port = free_port()
    settings = stripe.billing_settings(plans={"team": {"price": "team_seat"}})
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAASKIT_")}
    env |= {f"SAASKIT_BILLING__{k.upper()}": str(v) for k, v in settings.items() if k != "plans"}
    env |= {
        "SAASKIT_BILLING__ENABLED": "true",
        "SAASKIT_BILLING__PLANS": json.dumps(settings["plans"]),
        "SAASKIT_ORGS__SYNC_SEAT_QUANTITY": "true",
        "SAASKIT_AUTH__BCRYPT_ROUNDS": "4",
    }
    log_path = tmp_path / "demo.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "saaskit.cli", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the demo did not start in 60 s"
            time.sleep(0.2)
        yield base, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


class Shell:
    """Runs steps in bash, each with the variables the ones before it set."""

    def __init__(self, prelude: str, base: str, folder: Path) -> None:
        self.prelude = prelude.replace(DEMO_BASE, base)
        self.state = folder / "state.sh"
        self.state.write_text("")
        self.folder = folder

    def run(self, step: str, **variables: str) -> str:
        exports = "".join(f"export {k}={json.dumps(v)}\n" for k, v in variables.items())
        script = (
            "set -euo pipefail\nset -a\n"
            f"source {self.state}\n{exports}{self.prelude}\n{step}\n"
            f"export -p > {self.state}.new\n"
        )
        result = subprocess.run(
            ["bash", "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=self.folder,
        )
        assert result.returncode == 0, step + result.stderr
        # Keep what the step set (readonly shell variables excepted).
        kept = [
            line
            for line in (self.folder / "state.sh.new").read_text().splitlines()
            if not line.startswith("declare -r")
        ]
        self.state.write_text("\n".join(kept) + "\n")
        return result.stdout


def wait_for(check: Any, what: str) -> None:
    """Poll a live server's state (the demo's background jobs run on their own)."""
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def subscription_quantity(stripe: FakeStripe) -> int:
    (sub,) = stripe.objects("subscriptions")
    return int(sub["items"]["data"][0]["quantity"])


def deliver(stripe: FakeStripe, base: str) -> None:
    async def post() -> None:
        async with httpx.AsyncClient(base_url=base) as client:
            for response in await stripe.deliver(client):
                assert response.status_code == 200, response.text

    asyncio.run(post())


def test_the_orgs_walkthrough_against_the_demo(
    demo: tuple[str, Path], stripe: FakeStripe, tmp_path: Path
) -> None:
    base, log = demo
    prelude, step = steps()
    assert sorted(step) == list(range(1, 10))
    shell = Shell(prelude, base, tmp_path)

    shell.run(step[1])
    org = json.loads(shell.run(step[2]))
    assert (org["name"], org["role"]) == ("Acme", "owner")
    invited = json.loads(shell.run(step[3]))
    assert invited["email"] == "bob@example.com"

    # Bob opens his email: the demo printed it, with the link.
    def token() -> str | None:
        found = re.findall(r"invitations/accept\?token=([A-Za-z0-9_\-]+)", log.read_text())
        return found[-1] if found else None

    wait_for(token, "the invitation email")
    joined = json.loads(shell.run(step[4], TOKEN=str(token())))
    assert (joined["id"], joined["role"]) == (org["id"], "member")

    checkout = json.loads(shell.run(step[5]))
    assert checkout["id"].startswith("cs_")
    stripe.complete_checkout(checkout["id"])  # Alice pays on Stripe's page
    deliver(stripe, base)
    subscription = json.loads(shell.run(step[6]))
    assert (subscription["plan"], subscription["subscription"]["quantity"]) == ("team", 2)

    assert shell.run(step[7]).strip() == "204"
    wait_for(lambda: subscription_quantity(stripe) == 1, "the seat job sets the quantity")
    deliver(stripe, base)
    subscription = json.loads(shell.run(step[8]))
    assert subscription["subscription"]["quantity"] == 1

    trail = json.loads(shell.run(step[9]))
    actions = {event["action"] for event in trail["items"]}
    assert {
        "org_created",
        "org_member_invited",
        "org_invitation_accepted",
        "org_member_removed",
    } <= actions
