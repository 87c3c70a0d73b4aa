"""saaskit: production-grade auth, users, billing and AI metering for FastAPI.

``SaaSKit`` and ``SaaSKitSettings`` are imported on first access. Importing any module of
the package runs this file first, so a light one (``saaskit.__about__``,
``saaskit.settings``, ``saaskit.exceptions``) does not pay for FastAPI and SQLAlchemy.
(The password-hashing worker processes import nothing from saaskit: they run
``saaskit/auth/_hashworker.py`` as a file.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saaskit.__about__ import __version__

if TYPE_CHECKING:
    from saaskit.kit import SaaSKit
    from saaskit.settings import SaaSKitSettings

__all__ = ["SaaSKit", "SaaSKitSettings", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "SaaSKit":
        from saaskit.kit import SaaSKit

        return SaaSKit
    if name == "SaaSKitSettings":
        from saaskit.settings import SaaSKitSettings

        return SaaSKitSettings
    raise AttributeError(f"module 'saaskit' has no attribute {name!r}")
