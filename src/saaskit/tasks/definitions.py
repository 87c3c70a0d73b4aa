"""The email tasks saaskit defines: one :class:`~saaskit.tasks.typed.TaskDef` each.

Callers queue them with :func:`saaskit.tasks.typed.enqueue` (e.g.
``await enqueue(runner, VERIFY_EMAIL, VerifyEmail(to=..., token=...))``); on the wire
each payload is a JSON object of its fields (see :mod:`saaskit.tasks.typed`).
"""

from __future__ import annotations

from dataclasses import dataclass

from saaskit.email.mailer import Mailer
from saaskit.tasks.runner import TaskFunction
from saaskit.tasks.typed import TaskDef


@dataclass(frozen=True, slots=True)
class VerifyEmail:
    """The email with a verification link."""

    to: str
    token: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ResetEmail:
    """The email with a password-reset link valid for ``minutes``."""

    to: str
    token: str
    minutes: int
    name: str | None = None


@dataclass(frozen=True, slots=True)
class PasswordChangedEmail:
    """The notice that the account's password changed."""

    to: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeEmail:
    """The link, sent to the new address, that confirms an email change."""

    to: str
    token: str
    minutes: int
    name: str | None = None


@dataclass(frozen=True, slots=True)
class EmailChanged:
    """The notice, sent to the old address, that the account's email changed."""

    to: str
    new_email: str
    name: str | None = None


VERIFY_EMAIL = TaskDef("email.verify", VerifyEmail)
RESET_EMAIL = TaskDef("email.reset", ResetEmail)
PASSWORD_CHANGED_EMAIL = TaskDef("email.password_changed", PasswordChangedEmail)
CHANGE_EMAIL = TaskDef("email.change_email", ChangeEmail)
EMAIL_CHANGED = TaskDef("email.email_changed", EmailChanged)


def email_tasks(mailer: Mailer) -> dict[str, TaskFunction]:
    """The email tasks, by name, sending through ``mailer``.

    Args:
        mailer: renders and sends the emails.

    Returns:
        ``email.verify``, ``email.reset``, ``email.password_changed``,
        ``email.change_email`` (to the new address) and ``email.email_changed`` (to the
        old one), each taking its payload as a JSON object.
    """

    async def verify(p: VerifyEmail) -> None:
        await mailer.send_verification(p.to, p.token, name=p.name)

    async def reset(p: ResetEmail) -> None:
        await mailer.send_password_reset(p.to, p.token, expires_minutes=p.minutes, name=p.name)

    async def password_changed(p: PasswordChangedEmail) -> None:
        await mailer.send_password_changed(p.to, name=p.name)

    async def change_email(p: ChangeEmail) -> None:
        await mailer.send_email_change(p.to, p.token, expires_minutes=p.minutes, name=p.name)

    async def email_changed(p: EmailChanged) -> None:
        await mailer.send_email_changed(p.to, new_email=p.new_email, name=p.name)

    return {
        VERIFY_EMAIL.name: VERIFY_EMAIL.handler(verify),
        RESET_EMAIL.name: RESET_EMAIL.handler(reset),
        PASSWORD_CHANGED_EMAIL.name: PASSWORD_CHANGED_EMAIL.handler(password_changed),
        CHANGE_EMAIL.name: CHANGE_EMAIL.handler(change_email),
        EMAIL_CHANGED.name: EMAIL_CHANGED.handler(email_changed),
    }
