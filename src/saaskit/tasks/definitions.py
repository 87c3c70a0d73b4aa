"""The tasks saaskit defines, by name. Payloads are plain JSON-able dicts."""

from __future__ import annotations

from typing import Any

from saaskit.email.mailer import Mailer
from saaskit.tasks.runner import TaskFunction


def email_tasks(mailer: Mailer) -> dict[str, TaskFunction]:
    """Email tasks: ``email.verify``, ``email.reset``, ``email.password_changed``."""

    async def verify(payload: dict[str, Any]) -> None:
        await mailer.send_verification(payload["to"], payload["token"], name=payload.get("name"))

    async def reset(payload: dict[str, Any]) -> None:
        await mailer.send_password_reset(
            payload["to"],
            payload["token"],
            expires_minutes=int(payload["minutes"]),
            name=payload.get("name"),
        )

    async def password_changed(payload: dict[str, Any]) -> None:
        await mailer.send_password_changed(payload["to"], name=payload.get("name"))

    return {
        "email.verify": verify,
        "email.reset": reset,
        "email.password_changed": password_changed,
    }
