"""Acme's app: saaskit with Acme's user model, a route for pro users and a welcome hook."""

import logging
from typing import Annotated

from fastapi import Depends, FastAPI

from acme.models import User, saaskit_models
from acme.schemas import AcmeUserCreate, AcmeUserRead, AcmeUserUpdate
from saaskit import SaaSKit, SaaSKitSettings
from saaskit.auth.client import ClientInfo
from saaskit.billing.plans import UserPlan

logger = logging.getLogger("acme")

kit = SaaSKit(
    SaaSKitSettings(),  # SAASKIT_* environment variables and .env
    user_model=User,
    models=saaskit_models,
    user_read_schema=AcmeUserRead,
    user_create_schema=AcmeUserCreate,
    user_update_schema=AcmeUserUpdate,
)
app = FastAPI(title="Acme", lifespan=kit.lifespan)
kit.install(app)

CurrentUser = Annotated[User, Depends(kit.current_active_user)]
ProPlan = Annotated[UserPlan, Depends(kit.require_plan("pro"))]


@app.get("/api/v1/team")
async def team(user: CurrentUser, plan: ProPlan) -> dict[str, str | int | None]:
    """Pro users only: 402 without a subscription, 403 on another plan."""
    return {"company": user.company, "seats": user.plan_seats, "plan": plan.key}


@kit.hooks.on_after_register
async def welcome(user: User, client: ClientInfo) -> None:
    """Greet every new user by email (a failure is logged by saaskit, not raised)."""
    logger.info("new user %s from %s", user.id, user.company or "no company")
    await kit.mailer.send_welcome(user.email, name=user.full_name)
