"""The tasks saaskit defines, by name. Payloads are plain JSON-able dicts."""

from __future__ import annotations

from typing import Any

from saaskit.email.mailer import Mailer
from saaskit.tasks.runner import TaskFunction


def email_tasks(mailer: Mailer) -> dict[str, TaskFunction]:
    """Email tasks: ``email.verify``, ``email.reset``, ``email.password_changed``,
    ``email.change_email`` (to the new address) and ``email.email_changed`` (to the old)."""

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

    async def change_email(payload: dict[str, Any]) -> None:
        await mailer.send_email_change(
            payload["to"],
            payload["token"],
            expires_minutes=int(payload["minutes"]),
            name=payload.get("name"),
        )

    async def email_changed(payload: dict[str, Any]) -> None:
        await mailer.send_email_changed(
            payload["to"], new_email=payload["new_email"], name=payload.get("name")
        )

    return {
        "email.verify": verify,
        "email.reset": reset,
        "email.password_changed": password_changed,
        "email.change_email": change_email,
        "email.email_changed": email_changed,
    }
