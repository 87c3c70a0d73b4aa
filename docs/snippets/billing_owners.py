"""Host code for billing owners (docs/billing.md, "Owners" and "Gating routes")."""

from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI, Header

from saaskit import SaaSKit
from saaskit.billing.owners import OwnerProfile
from saaskit.billing.plans import UserPlan
from saaskit.owners import Owner


# --8<-- [start:owners]
async def billing_of(kit: SaaSKit[Any], user_id: int, org_id: int) -> dict[str, Any]:
    """Billing for an organization and for a user, from host code."""
    org = Owner("organization", org_id)
    checkout = await kit.billing.checkout(org, "team", quantity=5)
    portal = await kit.billing.portal(user_id)  # a user id is the user's own billing
    plan = await kit.plans.for_owner(org)
    customer = await kit.billing.customers.customer_id(Owner.user(user_id))  # None until created
    return {"checkout": checkout, "portal": portal, "plan": plan.key, "customer": customer}
    # --8<-- [end:owners]


# --8<-- [start:register]
class OrganizationBilling:
    """Billing's view of organizations (the organizations feature ships its own)."""

    def __init__(self, orgs: dict[int, dict[str, Any]]) -> None:
        self.orgs = orgs  # id -> {"name", "billing_email", "created_at", "managers"}

    async def profile(self, owner_id: int, /) -> OwnerProfile | None:
        org = self.orgs.get(owner_id)
        if org is None:
            return None
        created: datetime = org["created_at"]
        return OwnerProfile(email=org["billing_email"], name=org["name"], created_at=created)

    async def can_manage(self, user: Any, owner_id: int, /) -> bool:
        org = self.orgs.get(owner_id)
        return org is not None and user.id in org["managers"]


def enable_organization_billing(kit: SaaSKit[Any], orgs: dict[int, dict[str, Any]]) -> None:
    kit.billing.owners.register("organization", OrganizationBilling(orgs))
    # --8<-- [end:register]


def add_org_reports(kit: SaaSKit[Any], app: FastAPI) -> None:
    """Mounts ``GET /org-reports`` (the organization in an ``X-Organization`` header)."""

    async def current_org_owner(
        x_organization: int = Header(), user: Any = Depends(kit.current_active_user)
    ) -> Owner:
        # 404 unless the user may manage this organization's billing.
        return await kit.billing.owner_for(user, Owner("organization", x_organization))

    # --8<-- [start:gates]
    org_gates = kit.gates.for_owner(current_org_owner)  # a dependency returning an Owner

    @app.get("/org-reports")
    async def org_reports(plan: UserPlan = Depends(org_gates.require_plan("team"))) -> Any:
        return {"plan": plan.key}

    # --8<-- [end:gates]
