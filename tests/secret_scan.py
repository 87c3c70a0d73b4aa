"""No secret in any log line of the whole test suite.

While the suite runs, every log record of the process (saaskit's loggers at DEBUG, every
other logger at its own level) is written, as the JSON line saaskit would write, to one
file. Every secret the suite creates is remembered as it is made: the kit's wrapped
functions register the passwords they hash or check, the hashes they produce, every
access and refresh token they sign, every API key they create, and the keys of every
kit's settings (signing key, Stripe secret and webhook secret, AI key, metrics token,
SMTP password). At the end the file is searched for each of them, and for anything
shaped like a password hash; a hit fails the run and names the secret's kind and the
logger that wrote it.

Out of scope: links in emails the development console sender writes on purpose (their
one-time tokens are the point of that sender, which production refuses), and the output
of server subprocesses (tests that start them scan those logs themselves).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from saaskit.observability.logs import JsonFormatter

MIN_LENGTH = 8  # shorter values (test passwords like "x") are not secrets worth finding
MIN_DISTINCT = 4
"""Characters a password needs to be searched for: the API fuzzer logs in with passwords
like eight spaces, which match the indentation of any logged traceback."""
FRAME_LINE = re.compile(r"^(Traceback \(most recent call last\):|  File \"|    )")
"""A traceback's frame lines (file, line, source, carets): code, never a runtime value,
so a fuzzed password that matches them (``"    raise"``) is not searched for in them. The
exception's own message lines stay: a password in an error message is a leak."""
NAME_SHAPE = re.compile(r"[a-z][a-z0-9_]*")
"""A password shaped like a name in code (``session_id``, ``user_agent``) is not searched
for: the API fuzzer draws such strings from the schema's own field names, and they are in
every logged SQL statement and JSON detail. The suite's own passwords have spaces or
capitals, and a real leak shows on them."""
EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
HASH_SHAPES = re.compile(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}|\$argon2id?\$v=\d+\$[^\s\"]+")


class SecretRegistry:
    """The secrets created so far, each with what kind it is."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}

    def add(self, kind: str, value: object) -> None:
        if not isinstance(value, str) or len(value) < MIN_LENGTH:
            return
        if kind == "password" and len(set(value)) < MIN_DISTINCT:
            return  # a fuzzed "        " or "^^^^^^^^" is in every indented traceback
        if kind == "password" and NAME_SHAPE.fullmatch(value):
            return  # a fuzzed "session_id" is a column in every logged SQL statement
        self.secrets.setdefault(value, kind)

    def leaks(self, lines: Iterator[str]) -> list[str]:
        """What each line gives away: ``kind in logger: line start``."""
        found = []
        for line in lines:
            # Email addresses are logged on purpose (the email log); the API fuzzer builds
            # them from the same generated strings as passwords, so passwords are looked
            # for in the rest of the line.
            without_addresses = EMAIL_SHAPE.sub("", _without_frames(line))
            hits = [
                # A password is test data: naming it shows which test's value it is.
                f"{kind} {secret!r}" if kind == "password" else kind
                for secret, kind in self.secrets.items()
                if secret in (without_addresses if kind == "password" else line)
            ]
            if HASH_SHAPES.search(line):
                hits.append("password hash (by its shape)")
            if hits:
                try:
                    logger = json.loads(line).get("logger", "?")
                except ValueError:
                    logger = "?"
                found.append(f"{', '.join(sorted(set(hits)))} in {logger}: {line[:160]}")
        return found


def _without_frames(line: str) -> str:
    """``line`` with its exception's traceback frames left out (see FRAME_LINE)."""
    try:
        entry = json.loads(line)
    except ValueError:
        return line
    if not isinstance(entry, dict) or not isinstance(entry.get("exception"), str):
        return line
    kept = [row for row in entry["exception"].splitlines() if not FRAME_LINE.match(row)]
    entry["exception"] = "\n".join(kept)
    return json.dumps(entry, ensure_ascii=False)


REGISTRY = SecretRegistry()


class LogFile(logging.Handler):
    def __init__(self, path: Path) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.stream = path.open("a", encoding="utf-8")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record).replace("\n", "\\n") + "\n")
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self.stream.close()
        super().close()


def _wrap(owner: Any, name: str, learn: Callable[..., None], mp: pytest.MonkeyPatch) -> None:
    original = getattr(owner, name)
    if getattr(original, "__code__", None) and original.__code__.co_flags & 0x80:  # async

        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            result = await original(*args, **kwargs)
            learn(result, *args, **kwargs)
            return result

        mp.setattr(owner, name, async_wrapper)
        return

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        learn(result, *args, **kwargs)
        return result

    mp.setattr(owner, name, wrapper)


def _learn_settings(settings: Any) -> None:
    def secret(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    REGISTRY.add("signing key", secret(settings.secret_key))
    REGISTRY.add("Stripe secret key", secret(settings.billing.secret_key))
    REGISTRY.add("Stripe webhook secret", secret(settings.billing.webhook_secret))
    REGISTRY.add("AI API key", secret(settings.ai.api_key))
    REGISTRY.add("metrics token", secret(settings.metrics.token))
    REGISTRY.add("SMTP password", secret(settings.email.smtp_password))


@pytest.fixture(scope="session", autouse=True)
def _secret_scan(pytestconfig: pytest.Config) -> Iterator[SecretRegistry]:
    """Record every log line and learn every secret the suite creates (see the module)."""
    from saaskit.apikeys.service import ApiKeyService
    from saaskit.auth.passwords import PwdlibHasher
    from saaskit.auth.tokens import TokenCodec
    from saaskit.kit import SaaSKit

    folder = Path(tempfile.mkdtemp(prefix="saaskit-log-scan-"))
    path = folder / "suite.log"
    handler = LogFile(path)
    root, ours = logging.getLogger(), logging.getLogger("saaskit")
    previous = ours.level
    root.addHandler(handler)
    ours.setLevel(logging.DEBUG)
    mp = pytest.MonkeyPatch()

    def learn_hash(result: str, _self: Any, password: str) -> None:
        REGISTRY.add("password", password)
        REGISTRY.add("password hash", result)

    def learn_verify(_result: Any, _self: Any, password: str, hashed: str | None) -> None:
        REGISTRY.add("password", password)
        REGISTRY.add("password hash", hashed)

    def learn_token(result: tuple[str, Any], _self: Any, type_: str, **_: Any) -> None:
        REGISTRY.add(f"{type_} token", result[0])

    def learn_kit(_result: None, kit: Any, *_: Any, **__: Any) -> None:
        _learn_settings(kit.settings)

    def learn_api_key(result: tuple[Any, str], *_: Any, **__: Any) -> None:
        REGISTRY.add("API key", result[1])
        REGISTRY.add("API key secret", result[1][-38:-6])  # the secret part alone

    _wrap(PwdlibHasher, "hash", learn_hash, mp)
    _wrap(PwdlibHasher, "verify", learn_verify, mp)
    _wrap(TokenCodec, "issue", learn_token, mp)
    _wrap(SaaSKit, "__init__", learn_kit, mp)
    _wrap(ApiKeyService, "create", learn_api_key, mp)
    pytestconfig.stash[_LOG_KEY] = path
    try:
        yield REGISTRY
    finally:
        mp.undo()
        root.removeHandler(handler)
        ours.setLevel(previous)
        handler.close()


_LOG_KEY = pytest.StashKey[Path]()
_LEAKS_KEY = pytest.StashKey[list[str]]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = session.config.stash.get(_LOG_KEY, None)
    if path is None or not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        leaks = REGISTRY.leaks(iter(lines))
    session.config.stash[_LEAKS_KEY] = leaks
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif not os.environ.get("SAASKIT_TEST_KEEP_LOG"):
        path.unlink()
        path.parent.rmdir()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    leaks = config.stash.get(_LEAKS_KEY, None)
    path = config.stash.get(_LOG_KEY, None)
    if leaks is None:
        return
    if leaks:
        terminalreporter.section("secrets in the logs", sep="=", red=True, bold=True)
        for leak in leaks[:50]:
            terminalreporter.line(leak)
        terminalreporter.line(f"{len(leaks)} log lines give a secret away; all lines: {path}")
    else:
        kept = f"; kept: {path}" if path is not None and path.exists() else ""
        terminalreporter.line(
            f"log scan: no secret in the suite's logs ({len(REGISTRY.secrets)} secrets known)"
            + kept
        )
