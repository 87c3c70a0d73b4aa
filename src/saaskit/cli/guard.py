"""Configuration mistakes answered in a line or two, whatever command meets them.

A command that reads broken settings (``SAASKIT_CORS__ORIGINS=http://a``, a database URL
without an async driver, a missing extra) prints which variable to fix and how, and exits
with status 1, rather than a traceback.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError
from typer.core import TyperGroup
from typing_extensions import override

from saaskit.cli.output import describe_validation_error, fail
from saaskit.env_names import configured, not_json
from saaskit.exceptions import MissingExtra

CONFIG_EXIT_CODE = 1
_FIELD = re.compile(r'field "([^"]+)"')
SEE_CHECK = "Fix it in the environment or .env, then run `saaskit check`."


def settings_error_message(error: SettingsError, environ: dict[str, str] | None = None) -> str:
    """Which ``SAASKIT_*`` variable could not be read, and how to write it."""
    match = _FIELD.search(str(error))
    field = match[1] if match else None
    values = configured(os.environ if environ is None else environ, Path(".env"))
    bad = not_json(values, field)
    if bad:
        example = (
            "'[\"https://app.example.com\"]'"
            if bad[0].upper().endswith("ORIGINS")
            else '\'["a", "b"]\' or \'{"key": "value"}\''
        )
        return (
            f"{', '.join(bad)} is not valid JSON; write lists and objects as JSON, "
            f"e.g. {bad[0]}={example}"
        )
    shown = f"SAASKIT_{field.upper()}*" if field else "a SAASKIT_* variable"
    return f"{shown} cannot be read: {error}"


class GuardedGroup(TyperGroup):
    """The root command: turns configuration errors into a short message and exit status 1."""

    @override
    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except SettingsError as error:
            fail(settings_error_message(error), hint=SEE_CHECK, code=CONFIG_EXIT_CODE)
        except ValidationError as error:
            if error.title != "SaaSKitSettings":
                raise
            fail(
                "invalid settings:\n" + describe_validation_error(error),
                hint=SEE_CHECK,
                code=CONFIG_EXIT_CODE,
            )
        except MissingExtra as error:
            fail(str(error), code=CONFIG_EXIT_CODE)
