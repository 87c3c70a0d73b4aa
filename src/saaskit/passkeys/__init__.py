"""Passkeys (WebAuthn): register one while logged in, log in with it as the only factor.

Off unless ``SAASKIT_PASSKEYS__ENABLED=true``; needs ``pip install 'saaskit[passkeys]'``
(py_webauthn, imported when the feature is built). See ``docs/passkeys.md``.
"""

from saaskit.passkeys.schemas import PasskeysSettings
from saaskit.passkeys.wiring import PasskeysFeature

__all__ = ["PasskeysFeature", "PasskeysSettings"]
