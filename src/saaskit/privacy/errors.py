"""The privacy feature's errors, each with its own HTTP status."""

from __future__ import annotations

from saaskit.exceptions import SaaSKitError

__all__ = [
    "AccountErased",
    "DeletionNotFound",
    "ExportExpired",
    "ExportNotFound",
    "ExportNotReady",
    "RestoreTokenInvalid",
]


class ExportNotFound(SaaSKitError):
    """No such export among the caller's (another user's is not found either)."""

    code = "privacy_export_not_found"
    status = 404
    message = "No such export."


class ExportNotReady(SaaSKitError):
    """The export is still being built, or building it failed (409)."""

    code = "privacy_export_not_ready"
    status = 409
    message = "The export is not ready; check its status."


class ExportExpired(SaaSKitError):
    """The export's download period is over; its archive is gone (410)."""

    code = "privacy_export_expired"
    status = 410
    message = "The export has expired; request a new one."


class DeletionNotFound(SaaSKitError):
    """The user has no deletion that can be restored (404)."""

    code = "privacy_deletion_not_found"
    status = 404
    message = "No scheduled deletion for this account."


class RestoreTokenInvalid(SaaSKitError):
    """The restore link is unknown, or its deletion was restored already (400)."""

    code = "privacy_restore_invalid"
    status = 400
    message = "The restore link is invalid."


class AccountErased(SaaSKitError):
    """The grace period is over: the account was erased and cannot be restored (410)."""

    code = "privacy_account_erased"
    status = 410
    message = "The account was erased; it cannot be restored."
