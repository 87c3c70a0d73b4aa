"""The kit's 2FA (``saaskit.mfa``) as the console's second factor.

:func:`saaskit.admin.mount_admin` uses it when the 2FA feature is on and the host gives
no ``second_factor`` of its own: a superuser with 2FA types a code (or a recovery code)
at the console's login, and a user's page has "Reset 2FA".
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from saaskit.exceptions import RateLimited
from saaskit.mfa.errors import MfaCodeInvalid, MfaUnavailable
from saaskit.mfa.schemas import MfaProof
from saaskit.types import ClientInfo

__all__ = ["KitSecondFactor"]


class KitSecondFactor:
    """Adapts :class:`saaskit.mfa.service.MfaService` to :class:`saaskit.admin.SecondFactor`."""

    def __init__(self, service: Any) -> None:
        self.service = service

    async def required(self, user: Any) -> bool:
        """Whether the user has a confirmed TOTP factor."""
        return bool((await self.service.state(user.id)).enabled)

    async def verify(self, user: Any, code: str) -> bool:
        """A TOTP code (6 digits) or a recovery code (spent once used)."""
        try:
            proof = MfaProof(code=code) if code.isdigit() else MfaProof(recovery_code=code)
        except ValidationError:
            return False
        try:
            # The account's 2FA budget, shared with POST /mfa/verify: the console is not a
            # second place to guess codes.
            await self.service.count_attempt(user.id)
            await self.service.check_proof(user.id, proof)
        except (MfaCodeInvalid, MfaUnavailable, RateLimited):
            return False  # wrong, over the limit, or a secret the key cannot open
        await self.service.attempt_passed(user.id)
        return True

    async def reset(
        self, user_id: int, *, actor_id: int | None = None, client: ClientInfo | None = None
    ) -> None:
        """Turn the user's 2FA off (audited by the 2FA service as ``mfa_reset``)."""
        await self.service.reset(user_id, actor_id=actor_id or 0, client=client or ClientInfo())
