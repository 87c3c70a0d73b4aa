"""The organizations feature's errors, each with its own HTTP status."""

from __future__ import annotations

from saaskit.exceptions import SaaSKitError

__all__ = [
    "AlreadyMember",
    "InvitationEmailMismatch",
    "InvitationInvalid",
    "LastOwner",
    "MemberNotFound",
    "OrgHasSubscription",
    "OrgNotFound",
    "OrgPermissionDenied",
    "SeatLimitReached",
    "SlugTaken",
    "UnknownRole",
]


class OrgNotFound(SaaSKitError):
    """No such organization, or the caller is not a member (the same answer: no oracle)."""

    code = "organization_not_found"
    status = 404
    message = "No such organization."


class OrgPermissionDenied(SaaSKitError):
    """The caller is a member whose role lacks the permission."""

    code = "organization_permission_denied"
    status = 403
    message = "Your role in this organization does not allow this."


class LastOwner(SaaSKitError):
    """The change would leave the organization without an owner."""

    code = "organization_last_owner"
    status = 409
    message = "An organization always keeps an owner; make another member owner first."


class SlugTaken(SaaSKitError):
    """The slug is taken by another organization (409)."""

    code = "organization_slug_taken"
    status = 409
    message = "This slug is taken; choose another."


class MemberNotFound(SaaSKitError):
    """The user is not a member of the organization (404)."""

    code = "organization_member_not_found"
    status = 404
    message = "No such member of this organization."


class AlreadyMember(SaaSKitError):
    """The user is a member already (409)."""

    code = "organization_already_member"
    status = 409
    message = "This person is already a member of the organization."


class UnknownRole(SaaSKitError):
    """The role is not one the organization knows (422)."""

    code = "organization_unknown_role"
    status = 422
    message = "No such role."


class InvitationInvalid(SaaSKitError):
    """Unknown, expired, used or revoked: one answer for all (the token is the only key)."""

    code = "invitation_invalid"
    status = 404
    message = "This invitation is invalid, expired or already used."


class InvitationEmailMismatch(SaaSKitError):
    """The signed-in user's verified email is not the invited one."""

    code = "invitation_email_mismatch"
    status = 403
    message = (
        "This invitation is for another email address; sign in with the invited, verified address."
    )


class OrgHasSubscription(SaaSKitError):
    """The organization still has a live subscription (cancel it in the billing portal)."""

    code = "organization_has_subscription"
    status = 409
    message = "Cancel the organization's subscription before deleting it."


class SeatLimitReached(SaaSKitError):
    """Every seat of the organization's plan is taken (402).

    A bigger plan or more seats would allow the invitation or the acceptance.
    """

    code = "organization_seat_limit"
    status = 402
    message = (
        "Every seat of the organization's plan is taken; a bigger plan or more seats would "
        "allow this."
    )
