"""The admin console on a saaskit app: ``/admin`` for superusers.

    pip install 'saaskit[admin]'
    saaskit createsuperuser --email admin@example.com   # or any superuser you have
    uvicorn examples.admin.app:app

Open http://127.0.0.1:8000/admin and log in with the superuser's email and password.
"""

from __future__ import annotations

from fastapi import FastAPI

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.admin import mount_admin

kit = SaaSKit(SaaSKitSettings())
app = FastAPI(title="admin console example", lifespan=kit.lifespan)
kit.install(app)  # the API under /api/v1 (impersonation included)
mount_admin(kit, app, path="/admin")  # the console: its own login, superusers only
