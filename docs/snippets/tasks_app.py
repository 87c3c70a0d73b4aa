"""A host app with a background task of its own: a welcome email after registration.

The same code runs its tasks in-process (the default) or in ``saaskit worker`` processes
(``SAASKIT_TASKS__BACKEND=celery``): only the settings change.
"""

from dataclasses import dataclass

from fastapi import FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.auth.client import ClientInfo
from saaskit.models import User
from saaskit.tasks.typed import TaskDef, enqueue

kit = SaaSKit(SaaSKitSettings())
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)


# --8<-- [start:task]
@dataclass(frozen=True)
class Welcome:
    """The task's payload: JSON values only (ids rather than objects)."""

    to: str
    name: str | None = None


WELCOME = TaskDef("myapp.welcome", Welcome)


async def send_welcome(payload: Welcome) -> None:
    """Runs after the response (in-process) or in a worker."""
    await kit.mailer.send_welcome(payload.to, name=payload.name)


# A worker imports this module too, so its kit knows the task as well.
kit.tasks[WELCOME.name] = WELCOME.handler(send_welcome)


@kit.hooks.on_after_register
async def welcome(user: User, client: ClientInfo) -> None:
    await enqueue(kit.runner, WELCOME, Welcome(to=user.email, name=user.full_name))
    # --8<-- [end:task]
