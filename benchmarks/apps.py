"""The apps the load benchmark serves with uvicorn (one worker each).

- ``bare_app``: a FastAPI endpoint returning the same JSON as ``/users/me``, constant.
- ``jwt_app``: the same, after decoding and checking the bearer JWT (PyJWT, HS256,
  same claims as saaskit) — the floor for any stateless-JWT auth.
- ``saaskit_app``: the real kit (``SAASKIT_*`` settings from the environment), with one
  org-scoped route (``/api/v1/orgs/{org_id}/bench``) for ``benchmarks/orgs.py``.
"""

from __future__ import annotations

import os
from typing import Any

import jwt
from fastapi import Depends, FastAPI, Header, HTTPException

from saaskit import SaaSKit, SaaSKitSettings
from saaskit.orgs.service import OrgContext

ME: dict[str, Any] = {
    "id": 1,
    "email": "bench1@example.com",
    "full_name": "Bench User",
    "is_active": True,
    "is_superuser": False,
    "is_verified": False,
    "created_at": "2026-11-25T00:00:00Z",
    "updated_at": None,
}

bare_app = FastAPI()


@bare_app.get("/api/v1/users/me")
async def bare_me() -> dict[str, Any]:
    return ME


jwt_app = FastAPI()
_SECRET = os.environ.get("SAASKIT_SECRET_KEY", "")


@jwt_app.get("/api/v1/users/me")
async def jwt_me(authorization: str = Header("")) -> dict[str, Any]:
    try:
        jwt.decode(
            authorization.removeprefix("Bearer "),
            _SECRET,
            algorithms=["HS256"],
            audience="saaskit",
            issuer="saaskit",
            options={"require": ["sub", "exp", "iat", "jti", "sid", "type"]},
        )
    except jwt.PyJWTError as error:
        raise HTTPException(401) from error
    return ME


def _saaskit() -> FastAPI:
    kit = SaaSKit(SaaSKitSettings())
    app = FastAPI(lifespan=kit.lifespan)
    kit.install(app)

    # An org-scoped host route (benchmarks/orgs.py): the caller's membership and a
    # permission check, answering the same JSON as /me.
    @app.get("/api/v1/orgs/{org_id}/bench")
    async def org_bench(
        org: OrgContext = Depends(kit.require_org_permission("members:read")),
    ) -> dict[str, Any]:
        return ME

    return app


saaskit_app = _saaskit() if os.environ.get("BENCH_TARGET") == "saaskit" else FastAPI()
