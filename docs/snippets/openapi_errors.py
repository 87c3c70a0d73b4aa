"""A host route's errors in the OpenAPI document (docs/errors.md, "In the OpenAPI document")."""

from __future__ import annotations

from fastapi import Depends, FastAPI, HTTPException, Request

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.exceptions import RateLimited
from saaskit.models import User

kit = SaaSKit(SaaSKitSettings())
app = FastAPI(lifespan=kit.lifespan)
kit.install(app)

# --8<-- [start:errors]
from saaskit.errors import error_responses  # noqa: E402
from saaskit.openapi import declares_errors  # noqa: E402


@declares_errors(429)  # listed on every route that depends on it
async def export_budget(request: Request) -> None:
    if request.headers.get("x-exports-today") == "100":
        raise RateLimited(retry_after=3600, message="100 exports a day; try again tomorrow.")


@app.get(
    "/invoices/{invoice_id}",
    responses=error_responses(404),  # an error the route raises itself
    dependencies=[Depends(export_budget)],
)
async def invoice(invoice_id: int, user: User = Depends(kit.current_active_user)) -> dict[str, int]:
    # Documented: 200, 401 (current_active_user), 404 (error_responses), 422 (the path
    # parameter), 429 (export_budget), each 4xx with saaskit's ErrorResponse body.
    if invoice_id != 1:
        raise HTTPException(404, "No such invoice.")
    return {"id": invoice_id, "owner": user.id}


# --8<-- [end:errors]
