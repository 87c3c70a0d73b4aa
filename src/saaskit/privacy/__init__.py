"""Data export (GDPR art. 15/20) and account deletion with a grace period (art. 17).

See :mod:`saaskit.privacy.export` for the export pipeline, :mod:`saaskit.privacy.erasure`
for deletion, restore and the resumable erasure, :mod:`saaskit.privacy.storage` for
where archives go, and ``docs/privacy.md``.
"""

from saaskit.privacy.erasure import DeletionService, ErasureContext, ErasureHook
from saaskit.privacy.export import ExportService
from saaskit.privacy.exporters import Exporter, TableExporter
from saaskit.privacy.schemas import PrivacySettings
from saaskit.privacy.storage import ArchiveStorage, LocalStorage
from saaskit.privacy.wiring import PrivacyFeature, PrivacyService, SweepResult

__all__ = [
    "ArchiveStorage",
    "DeletionService",
    "ErasureContext",
    "ErasureHook",
    "ExportService",
    "Exporter",
    "LocalStorage",
    "PrivacyFeature",
    "PrivacyService",
    "PrivacySettings",
    "SweepResult",
    "TableExporter",
]
