"""A feature package registers itself: the sample feature (tests/features/sample) adds a
table, an error code, an audit action, a hook event, a settings section, a router and a
migration, and no file of the kit names it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command

from saaskit import SaaSKit
from saaskit.cli.alembic_support import resolve_target
from saaskit.exceptions import SaaSKitError
from saaskit.features import Feature, FeatureError, FeatureHost
from saaskit.hooks import HookEvent
from saaskit.migrations import packaged_config, upgrade
from saaskit.types import ClientInfo
from tests.databases import scratch_database
from tests.features.helpers import HostUser, host_models, write_alembic_ini
from tests.features.sample.schemas import SampleSettings
from tests.features.sample.service import NOTE_CREATED, NOTE_CREATED_ACTION, NoteService
from tests.features.sample.wiring import SampleFeature
from tests.helpers import bearer, client_for, make_settings, new_store, signed_up
from tests.migrations.helpers import run_sql


@pytest.fixture
def host_database(tmp_path: Path) -> Iterator[str]:
    """A database migrated as a host project migrates it: `saaskit migrate` in a folder
    whose alembic.ini lists saaskit's revisions and the feature's."""
    with scratch_database(tmp_path, "sample") as url:
        write_alembic_ini(tmp_path, url)
        upgrade(resolve_target(None, tmp_path).config)
        yield url


@pytest.fixture
async def kit(host_database: str) -> AsyncIterator[SaaSKit[HostUser]]:
    kit = SaaSKit(
        make_settings(host_database),
        user_model=HostUser,
        models=host_models,
        store=new_store(),
        features=[SampleFeature()],
    )
    yield kit
    await kit.aclose()


async def test_its_route_works_through_install_for_the_signed_in_user_only(
    kit: SaaSKit[HostUser],
) -> None:
    async with client_for(kit) as client:
        assert (await client.get("/api/v1/sample/notes")).status_code == 401
        alice = bearer((await signed_up(client))["access_token"])
        bob = bearer((await signed_up(client, "bob@example.com"))["access_token"])

        created = await client.post("/api/v1/sample/notes", json={"text": "hi"}, headers=alice)
        assert created.status_code == 201
        assert created.json()["text"] == "hi"
        mine = await client.get("/api/v1/sample/notes", headers=alice)
        theirs = await client.get("/api/v1/sample/notes", headers=bob)
    assert [note["text"] for note in mine.json()] == ["hi"]
    assert theirs.json() == []  # one user never reads another's notes


async def test_its_error_answers_with_its_status_in_the_error_envelope_and_its_settings_come_from_the_environment(  # noqa: E501
    host_database: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SAASKIT_SAMPLE__MAX_NOTES", "1")
    with caplog.at_level(logging.WARNING, logger="saaskit"):
        kit = SaaSKit(
            make_settings(host_database),
            user_model=HostUser,
            models=host_models,
            store=new_store(),
            features=[SampleFeature()],
        )
    assert "SAASKIT_SAMPLE__MAX_NOTES" not in caplog.text  # a known variable, no typo warning
    try:
        assert kit.feature(SampleFeature).settings.max_notes == 1
        async with client_for(kit) as client:
            alice = bearer((await signed_up(client))["access_token"])
            first = await client.post("/api/v1/sample/notes", json={"text": "a"}, headers=alice)
            second = await client.post("/api/v1/sample/notes", json={"text": "b"}, headers=alice)
        assert first.status_code == 201
        assert second.status_code == 409
        error = second.json()["error"]
        assert error["code"] == "sample_note_limit"
        assert error["message"] == "You keep as many notes as allowed; delete one first."
        assert error["request_id"]
        # The feature's code is documented in the app's OpenAPI as a string.
    finally:
        await kit.aclose()


async def test_its_settings_can_be_given_in_code_instead(
    host_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAASKIT_SAMPLE__MAX_NOTES", "1")
    kit = SaaSKit(
        make_settings(host_database),
        user_model=HostUser,
        models=host_models,
        features=[SampleFeature(SampleSettings(max_notes=5))],
    )
    try:
        assert kit.feature_settings("sample") == SampleSettings(max_notes=5)
    finally:
        await kit.aclose()


async def test_its_audit_action_is_recorded_and_its_hook_event_reaches_host_hooks(
    kit: SaaSKit[HostUser],
) -> None:
    seen: list[tuple[int, str]] = []

    @kit.hooks.on(NOTE_CREATED)
    async def note_created(user_id: int, text: str, client: ClientInfo) -> None:
        seen.append((user_id, text))

    async with client_for(kit) as client:
        alice = bearer((await signed_up(client))["access_token"])
        await client.post("/api/v1/sample/notes", json={"text": "hi"}, headers=alice)

    events, total = await kit.audit.page(action=NOTE_CREATED_ACTION)
    assert total == 1
    assert events[0].actor_id == seen[0][0]
    assert seen == [(events[0].actor_id, "hi")]
    assert NOTE_CREATED_ACTION in kit.features.audit_actions


async def test_the_feature_service_is_typed_and_its_data_is_exported_and_erased(
    kit: SaaSKit[HostUser],
) -> None:
    notes: NoteService = kit.feature(SampleFeature)
    assert kit.feature("sample") is notes
    user = await kit.users.create("carol@example.com", "correct horse battery")
    await notes.create(user.id, "keep me", ClientInfo())

    exported = {e.name: await e.export(user.id) for e in kit.data_exporters()}
    assert [n["text"] for n in exported["sample_notes"]] == ["keep me"]
    assert [e["action"] for e in exported["audit_events"]] == [NOTE_CREATED_ACTION]

    erased = {e.name: await e.erase(user.id) for e in kit.data_erasers()}
    assert erased == {"sample_notes": 1}
    assert await notes.notes(user.id) == []


def test_its_migration_applies_beside_saaskits_and_matches_its_models(tmp_path: Path) -> None:
    with scratch_database(tmp_path, "sample_migration") as url:
        config = resolve_target(None, _project(tmp_path, url)).config
        upgrade(config)  # `saaskit migrate`: every head
        command.check(config)  # the migrated schema is what the host's models declare
        run_sql(url, "INSERT INTO users (id, email, hashed_password) VALUES (1, 'a@b.c', 'x')")
        run_sql(url, "INSERT INTO sample_notes (user_id, text) VALUES (1, 'hi')")
        assert run_sql(url, "SELECT user_id, text FROM sample_notes") == [(1, "hi")]

        command.downgrade(config, "sample@base")  # the feature's branch alone
        tables = run_sql(url, _TABLES[url.split(":")[0].split("+")[0]])
        assert "sample_notes" not in {row[0] for row in tables}
        assert "users" in {row[0] for row in tables}


def test_saaskits_packaged_config_runs_a_features_migrations_too(tmp_path: Path) -> None:
    with scratch_database(tmp_path, "sample_packaged") as url:
        upgrade(packaged_config(url, features=[SampleFeature()]))
        assert run_sql(url, "SELECT count(*) FROM sample_notes") == [(0,)]


_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
}


def _project(folder: Path, url: str) -> Path:
    write_alembic_ini(folder, url)
    return folder


class _Forgotten(SaaSKitError):
    code = "forgotten"


class _NoStatus(Feature[None]):
    name = "nostatus"
    errors = (_Forgotten,)

    def build(self, kit: FeatureHost) -> None:
        return None


class _Duplicate(Feature[None]):
    name = "duplicate"
    audit_actions = ("login",)  # saaskit's own

    def build(self, kit: FeatureHost) -> None:
        return None


class _HookClash(Feature[None]):
    name = "hookclash"
    hook_events = (HookEvent("after_register"),)

    def build(self, kit: FeatureHost) -> None:
        return None


@pytest.mark.parametrize(
    ("feature", "message"),
    [
        (_NoStatus(), "_Forgotten declare\\(s\\) no HTTP status"),
        (_Duplicate(), "audit action 'login' of feature 'duplicate' is already declared"),
        (SampleFeature(), "two features are named 'sample'"),
        (_HookClash(), "'after_register' is one of saaskit's own"),
    ],
)
def test_a_feature_that_cannot_be_composed_is_refused_when_the_kit_is_built(
    database_url: str, feature: Feature[Any], message: str
) -> None:
    features = [SampleFeature(), feature] if isinstance(feature, SampleFeature) else [feature]
    with pytest.raises((FeatureError, ValueError), match=message):
        SaaSKit(make_settings(database_url), features=features)


def test_an_unknown_feature_is_a_key_error_naming_the_known_ones(database_url: str) -> None:
    kit = SaaSKit(make_settings(database_url))
    with pytest.raises(KeyError, match="no feature 'nope' \\(features: audit, health, billing"):
        kit.feature("nope")


class _Impostor(Feature[None]):
    """Named like saaskit's auth settings: it would read SAASKIT_AUTH__* (secrets too)."""

    name = "auth"
    settings_model = SampleSettings

    def build(self, kit: FeatureHost) -> None:
        return None


class _Shadow(Feature[None]):
    """Mounted where the kit's authentication routes are."""

    name = "shadow"
    prefix = "/auth"

    def build(self, kit: FeatureHost) -> None:
        return None


class _SamePrefix(Feature[None]):
    name = "same_prefix"
    prefix = "/sample"

    def build(self, kit: FeatureHost) -> None:
        return None


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ([_Impostor()], "named like saaskit's own 'auth' settings"),
        ([_Shadow()], "would mount at '/auth', already used by the kit's core"),
        (
            [SampleFeature(), _SamePrefix()],
            "would mount at '/sample', already used by feature 'sample'",
        ),
    ],
)
def test_a_feature_cannot_read_saaskits_own_settings_or_mount_over_other_routes(
    database_url: str, features: list[Feature[Any]], message: str
) -> None:
    with pytest.raises(FeatureError, match=message):
        SaaSKit(make_settings(database_url), features=features)


def test_a_feature_named_like_one_of_the_kits_replaces_it_in_place(database_url: str) -> None:
    from saaskit.billing.wiring import BillingFeature

    replacement = BillingFeature()
    kit = SaaSKit(make_settings(database_url), features=[replacement])
    assert [feature.name for feature in kit.features] == [
        "audit",
        "health",
        "billing",
        "ai",
        "orgs",
        "api_keys",
        "impersonation",
        "mfa",
        "privacy",
        "oauth",
        "passkeys",
    ]
    assert kit.features.named("billing") is replacement
