"""Two-factor authentication: TOTP (RFC 6238) with recovery codes (the ``mfa`` feature).

See :mod:`saaskit.mfa.service` for the rules (atomic replay blocking, the reusable
second step :meth:`~saaskit.mfa.service.MfaService.redeem`), :mod:`saaskit.mfa.totp` for
the codes, :mod:`saaskit.mfa.sealing` for how secrets and recovery codes are kept.
"""

from saaskit.mfa.schemas import MfaSettings
from saaskit.mfa.service import MfaService, SecondFactorCheck

__all__ = ["MfaService", "MfaSettings", "SecondFactorCheck"]
