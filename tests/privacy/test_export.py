"""Data exports: request → background build → email → download, and their limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from saaskit.privacy.exporters import SECRET_COLUMNS
from tests.apikeys.helpers import key_header, new_key
from tests.privacy.helpers import PRIVACY, World, invite, link_param, read_zip, signed_up

EXPORTS = f"{PRIVACY}/exports"


async def _exported(world: World, headers: dict[str, str], email: str) -> tuple[str, bytes]:
    requested = await world.client.post(EXPORTS, headers=headers)
    assert requested.status_code == 202, requested.text
    assert requested.json()["status"] == "pending"
    await world.drain()
    export_id = link_param(world.sender, email, "export")
    assert export_id == requested.json()["id"]
    download = await world.client.get(f"{EXPORTS}/{export_id}/download", headers=headers)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["cache-control"] == "no-store"
    return export_id, download.content


async def test_an_export_holds_what_the_kit_knows_about_the_user(world: World) -> None:
    kit, client = world.kit, world.client
    headers = await signed_up(client, "alice@example.com")
    bob = await signed_up(client, "bob@example.com")  # someone else's data stays out
    await invite(client, bob, "Bobs", ["Alice@Example.com", "carol@example.com"])
    org = await client.post("/api/v1/orgs", json={"name": "Acme"}, headers=headers)
    assert org.status_code == 201, org.text
    key = await new_key(client, await _reauthenticated(world, headers), [])
    user = await kit.users.get_by_email("alice@example.com")
    assert user is not None
    kit.ai.meter.clock = lambda: datetime(2026, 12, 4, 10, tzinfo=UTC)
    await kit.ai.record_usage(user.id, "gpt-test", 11, 7)

    export_id, content = await _exported(world, headers, "alice@example.com")
    files = read_zip(content)

    manifest = files["manifest.json"]
    assert manifest["format"] == "saaskit-data-export"
    assert manifest["version"] == 1
    assert manifest["user_id"] == user.id
    counts = {part["name"]: part["records"] for part in manifest["parts"]}
    assert set(files) == {"manifest.json", *(f"{name}.json" for name in counts)}
    assert all(len(files[f"{name}.json"]) == n for name, n in counts.items())

    (profile,) = files["profile.json"]
    assert profile["email"] == "alice@example.com"
    assert profile["full_name"] == "Alice"
    assert "hashed_password" not in profile
    assert len(files["sessions.json"]) == 1  # the login (registration opens none)
    actions = [event["action"] for event in files["audit_events.json"]]
    assert actions[:2] == ["register", "login"]
    assert "data_export_requested" in actions
    assert all(
        user.id in (event["actor_id"], event["target_id"]) for event in files["audit_events.json"]
    )
    (membership,) = files["organizations.json"]
    assert membership["name"] == "Acme"
    assert membership["role"] == "owner"
    (invitation,) = files["invitations.json"]  # the address, in any case; not carol's
    assert (invitation["organization_name"], invitation["email"]) == ("Bobs", "alice@example.com")
    assert invitation["role"] == "member"
    (api_key,) = files["api_keys.json"]
    assert api_key["id"] == key["id"]
    assert key["key"] not in content.decode("latin-1")
    (usage,) = files["ai_usage.json"]
    assert (usage["model"], usage["prompt_tokens"], usage["completion_tokens"]) == (
        "gpt-test",
        11,
        7,
    )
    (day,) = files["ai_daily_usage.json"]
    assert (day["day"], day["model"], day["prompt_tokens"], day["completion_tokens"]) == (
        "2026-12-04",
        "gpt-test",
        11,
        7,
    )
    assert (day["owner_kind"], day["owner_id"], day["requests"]) == ("user", user.id, 1)
    assert files["subscriptions.json"] == []
    for records in files.values():
        for record in records if isinstance(records, list) else []:
            assert not SECRET_COLUMNS & set(record)
    assert b"bob@example.com" not in content

    status = await client.get(f"{EXPORTS}/{export_id}", headers=headers)
    assert status.json()["status"] == "ready"
    assert status.json()["size_bytes"] == len(content)
    again = await client.get(f"{EXPORTS}/{export_id}/download", headers=headers)
    assert again.content == content  # any number of times until it expires


async def _reauthenticated(world: World, headers: dict[str, str]) -> dict[str, str]:
    response = await world.client.post(
        "/api/v1/auth/reauthenticate", json={"password": "correct horse battery"}, headers=headers
    )
    assert response.status_code == 200, response.text
    return headers


async def test_host_exporters_add_their_part(world: World) -> None:
    class Notes:
        name = "notes"

        async def records(self, user_id: int) -> Any:
            yield {"user": user_id, "text": "first"}
            yield {"user": user_id, "text": "second"}

    world.privacy.add_exporter(Notes())
    headers = await signed_up(world.client, "alice@example.com")
    _, content = await _exported(world, headers, "alice@example.com")
    user = await world.kit.users.get_by_email("alice@example.com")
    assert user is not None
    assert read_zip(content)["notes.json"] == [
        {"user": user.id, "text": "first"},
        {"user": user.id, "text": "second"},
    ]


async def test_the_link_expires_and_the_sweep_deletes_the_archive(world: World) -> None:
    headers = await signed_up(world.client, "alice@example.com")
    export_id, _ = await _exported(world, headers, "alice@example.com")
    archives = list(world.storage.rglob("*.zip"))
    assert len(archives) == 1

    world.clock.advance(hours=47, minutes=59)
    ok = await world.client.get(f"{EXPORTS}/{export_id}/download", headers=headers)
    assert ok.status_code == 200
    world.clock.advance(minutes=2)
    gone = await world.client.get(f"{EXPORTS}/{export_id}/download", headers=headers)
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "privacy_export_expired"
    assert archives[0].exists()  # until the sweep

    result = await world.privacy.sweep()
    assert result.expired_exports == 1
    assert not archives[0].exists()
    status = await world.client.get(f"{EXPORTS}/{export_id}", headers=headers)
    assert status.json()["status"] == "expired"
    assert (await world.privacy.sweep()).expired_exports == 0


async def test_one_export_a_day(world: World) -> None:
    headers = await signed_up(world.client, "alice@example.com")
    assert (await world.client.post(EXPORTS, headers=headers)).status_code == 202
    await world.drain()
    world.clock.advance(hours=23)
    spam = await world.client.post(EXPORTS, headers=headers)
    assert spam.status_code == 429
    assert spam.json()["error"]["code"] == "rate_limited"
    assert int(spam.headers["retry-after"]) == 3601
    world.clock.advance(hours=1, seconds=1)
    assert (await world.client.post(EXPORTS, headers=headers)).status_code == 202
    await world.drain()
    listed = await world.client.get(EXPORTS, headers=headers)
    assert [e["status"] for e in listed.json()] == ["ready", "ready"]


async def test_another_user_cannot_download_or_see_the_export(world: World) -> None:
    alice = await signed_up(world.client, "alice@example.com")
    mallory = await signed_up(world.client, "mallory@example.com")
    export_id, _ = await _exported(world, alice, "alice@example.com")
    for url in (f"{EXPORTS}/{export_id}", f"{EXPORTS}/{export_id}/download"):
        stolen = await world.client.get(url, headers=mallory)
        assert stolen.status_code == 404
        assert stolen.json()["error"]["code"] == "privacy_export_not_found"
        anonymous = await world.client.get(url)
        assert anonymous.status_code == 401
    guessed = export_id[:-1] + ("A" if export_id[-1] != "A" else "B")
    answer = await world.client.get(f"{EXPORTS}/{guessed}/download", headers=alice)
    assert answer.status_code == 404
    malformed = await world.client.get(f"{EXPORTS}/1/download", headers=alice)
    assert malformed.status_code == 422


async def test_an_api_key_cannot_request_or_download_an_export(world: World) -> None:
    headers = await signed_up(world.client, "alice@example.com")
    await _reauthenticated(world, headers)
    key = await new_key(world.client, headers, [])
    refused = await world.client.post(EXPORTS, headers=key_header(key["key"]))
    assert refused.status_code == 401


async def test_not_ready_is_a_conflict(world: World) -> None:
    headers = await signed_up(world.client, "alice@example.com")
    requested = await world.client.post(EXPORTS, headers=headers)
    export_id = requested.json()["id"]
    early = await world.client.get(f"{EXPORTS}/{export_id}/download", headers=headers)
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "privacy_export_not_ready"
    await world.drain()
