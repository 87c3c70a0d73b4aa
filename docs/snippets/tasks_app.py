"""A host app with a background task of its own: a welcome email after registration.

The same code runs its tasks in-process (the default) or in ``saaskit worker`` processes
(``SAASKIT_TASKS__BACKEND=celery``): only the settings change.
"""

from typing import Any

from fastapi import FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.auth.client import ClientInfo
from saaskit.models import User

kit = SaaSKit(SaaSKitSettings())
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)


# --8<-- [start:task]
async def send_welcome(payload: dict[str, Any]) -> None:
    """Runs after the response (in-process) or in a worker; the payload is JSON."""
    await kit.mailer.send_welcome(payload["to"], name=payload.get("name"))


# A worker imports this module too, so its kit knows the task as well.
kit.tasks["myapp.welcome"] = send_welcome


@kit.hooks.on_after_register
async def welcome(user: User, client: ClientInfo) -> None:
    await kit.runner.enqueue("myapp.welcome", {"to": user.email, "name": user.full_name})
    # --8<-- [end:task]
