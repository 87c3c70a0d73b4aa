"""``saaskit createsuperuser``: through the users service, so its rules apply."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from saaskit import SaaSKit
from saaskit.models import User
from tests.cli.helpers import backend_env, invoke
from tests.helpers import PASSWORD
from tests.helpers import make_settings as settings_for


def _login(database_url: str, email: str) -> User:
    """The user these credentials log in as (CLI tests are sync: the CLI runs its own loop)."""

    async def authenticate() -> User:
        kit: SaaSKit[User] = SaaSKit(settings_for(database_url))
        try:
            return await kit.users.authenticate(email, PASSWORD)
        finally:
            await kit.aclose()

    return asyncio.run(authenticate())


def _create(database_url: str, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = invoke("createsuperuser", *args, env=backend_env(database_url), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_creates_a_verified_superuser_from_stdin(database_url: str) -> None:
    code, out, err = _create(
        database_url,
        "--email",
        "Admin@Example.com",
        "--full-name",
        "Ada Admin",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert code == 0, err
    match = re.search(r"with id (\d+)", out)
    assert match, out
    user = _login(database_url, "admin@example.com")
    assert user.id == int(match.group(1))
    assert (user.is_superuser, user.is_verified, user.is_active) == (True, True, True)
    assert user.full_name == "Ada Admin"


def test_prompts_for_the_password_twice(database_url: str) -> None:
    code, out, err = _create(
        database_url,
        "--email",
        "root@example.com",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert code == 0, err
    assert PASSWORD not in out
    assert _login(database_url, "root@example.com").is_superuser


def test_duplicate_email_fails_cleanly(database_url: str) -> None:
    args = ("--email", "admin@example.com", "--password-stdin")
    assert _create(database_url, *args, input=PASSWORD)[0] == 0
    code, _, err = _create(
        database_url, "--email", "ADMIN@example.com", "--password-stdin", input=PASSWORD
    )
    assert code == 1
    assert "already exists" in err
    assert "Traceback" not in err


def test_password_policy_applies(database_url: str) -> None:
    code, _, err = _create(
        database_url, "--email", "a@example.com", "--password-stdin", input="password\n"
    )
    assert code == 1
    assert "too common" in err
    code, _, err = _create(
        database_url, "--email", "a@example.com", "--password-stdin", input="short\n"
    )
    assert code == 1
    assert "at least 8 characters" in err
    assert "Traceback" not in err


def test_rejects_an_invalid_email_or_empty_stdin(database_url: str) -> None:
    code, _, err = _create(
        database_url, "--email", "not-an-email", "--password-stdin", input=PASSWORD
    )
    assert (code, "not a valid email address" in err) == (1, True)
    code, _, err = _create(database_url, "--email", "a@example.com", "--password-stdin", input="")
    assert (code, "no password on stdin" in err) == (1, True)


def test_applies_the_rules_of_a_registration_to_the_email(database_url: str) -> None:
    code, _, err = _create(
        database_url, "--email", "\u0430dmin@example.com", "--password-stdin", input=PASSWORD
    )
    assert code == 1
    assert "mixes scripts (Cyrillic and Latin)" in err
    assert "\u0430dmin" not in err
    code, _, err = _create(
        database_url, "--email", "a" * 65 + "@example.com", "--password-stdin", input=PASSWORD
    )
    assert (code, "longer than 64 bytes" in err) == (1, True)

    fullwidth = "\uff41dmin@example.com"
    assert _create(database_url, "--email", fullwidth, "--password-stdin", input=PASSWORD)[0] == 0
    assert _login(database_url, "admin@example.com").is_superuser


def test_unmigrated_database_points_to_migrate(clean_environment: Path) -> None:
    result = invoke(
        "createsuperuser", "--email", "a@example.com", "--password-stdin", input=PASSWORD
    )
    assert result.exit_code == 1
    assert "saaskit migrate" in result.output
    assert not (clean_environment / "saaskit.db").exists()


HOST_MODULE = """\
from saaskit import SaaSKit, SaaSKitSettings

kit = SaaSKit(SaaSKitSettings(auth={{"min_password_length": 30, "bcrypt_rounds": 4}},
                              database_url={url!r}))
"""


def test_uses_the_host_kit_named_in_pyproject(clean_environment: Path, database_url: str) -> None:
    (clean_environment / "hostapp.py").write_text(HOST_MODULE.format(url=database_url))
    (clean_environment / "pyproject.toml").write_text('[tool.saaskit]\nkit = "hostapp:kit"\n')
    result = invoke(
        "createsuperuser", "--email", "a@example.com", "--password-stdin", input=PASSWORD
    )
    assert result.exit_code == 1
    assert "at least 30 characters" in result.stderr

    wrong = invoke(
        "createsuperuser",
        "--kit",
        "hostapp:nothing",
        "--email",
        "a@example.com",
        "--password-stdin",
        input=PASSWORD,
    )
    assert wrong.exit_code == 1
    assert "has no attribute 'nothing'" in wrong.stderr


def test_kit_option_must_name_a_kit(clean_environment: Path) -> None:
    (clean_environment / "notakit.py").write_text("kit = 42\n")
    result = invoke(
        "createsuperuser",
        "--kit",
        "notakit:kit",
        "--email",
        "a@example.com",
        "--password-stdin",
        input=PASSWORD,
    )
    assert result.exit_code == 1
    assert "notakit:kit is not a SaaSKit (it is a int)" in result.stderr


def test_asks_for_a_missing_email_until_it_is_valid(database_url: str) -> None:
    code, out, err = _create(
        database_url, input=f"not-an-email\nboss@example.com\n{PASSWORD}\n{PASSWORD}\n"
    )
    assert code == 0, err
    assert out.count("Email:") == 2
    assert "That email is refused" in err
    assert _login(database_url, "boss@example.com").is_superuser


def test_asks_again_after_a_password_the_policy_refuses(database_url: str) -> None:
    code, _, err = _create(
        database_url,
        "--email",
        "root@example.com",
        input=f"short\nshort\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert code == 0, err
    assert "at least 8 characters. Try again." in err
    assert _login(database_url, "root@example.com").is_superuser


def test_password_stdin_needs_the_email_option(database_url: str) -> None:
    code, _, err = _create(database_url, "--password-stdin", input=PASSWORD)
    assert code == 1
    assert "--email is required with --password-stdin" in err
