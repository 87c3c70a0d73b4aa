"""The email shown in docs/cli.md is what ``saaskit run`` prints for it, line for line."""

from __future__ import annotations

import io
import logging
import re

from uvicorn.logging import DefaultFormatter

from saaskit.cli.logs import LogLevel, uvicorn_log_config
from saaskit.email import ConsoleSender, EmailMessage
from tests.docs.helpers import DOCS

SHOWN = re.compile(r"```text\n(WARNING:  Email NOT delivered.*?)```", re.S)


async def test_the_documented_console_email_is_what_run_prints() -> None:
    [shown] = SHOWN.findall((DOCS / "cli.md").read_text("utf-8"))
    [link] = [line.strip() for line in shown.splitlines() if "://" in line]
    # Formatted as `saaskit run` formats saaskit's lines: uvicorn's default formatter.
    formatter = uvicorn_log_config(LogLevel.info)["formatters"]["default"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(DefaultFormatter(fmt=formatter["fmt"], use_colors=False))
    log = logging.getLogger("tests.docs.console_email")
    log.propagate = False
    log.addHandler(handler)
    try:
        await ConsoleSender(log).send(
            EmailMessage(
                to="ada@example.com",
                subject="Confirm your email address for acme",
                text=f"Hi Ada,\n\nPlease confirm your email address:\n\n{link}\n",
            )
        )
    finally:
        log.removeHandler(handler)

    assert stream.getvalue() == shown
