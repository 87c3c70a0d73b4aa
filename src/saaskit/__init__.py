"""saaskit: production-grade auth, users, billing and AI metering for FastAPI.

``SaaSKit`` and ``SaaSKitSettings`` are imported on first access, so light entry points
(password-hashing worker processes, ``saaskit --help``) do not load FastAPI and
SQLAlchemy.
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
