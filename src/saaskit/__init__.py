"""saaskit: production-grade auth, users, billing and AI metering for FastAPI."""

from saaskit.__about__ import __version__
from saaskit.kit import SaaSKit
from saaskit.settings import SaaSKitSettings

__all__ = ["SaaSKit", "SaaSKitSettings", "__version__"]
