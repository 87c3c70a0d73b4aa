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
    "OrgMfaRequired",
    "OrgNotFound",
    "OrgPermissionDenied",
    "OrgsBlockAccountDeletion",
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


class OrgsBlockAccountDeletion(SaaSKitError):
    """The account is the last owner of organizations that would be left behind (409).

    Those with other members, or with a live subscription: transfer their ownership
    (``POST /orgs/{id}/transfer``) or delete them first. ``organizations`` lists their
    ids (also in the response, ``error.organizations``). An organization the account is
    alone in, without a subscription, is deleted with the account.
    """

    code = "organization_owner_cannot_be_deleted"
    status = 409
    message = (
        "This account is the last owner of organizations with other members or a live "
        "subscription; transfer their ownership or delete them first."
    )
    shown = 10
    """How many organizations the message names (``organizations`` lists them all)."""

    def __init__(self, organizations: list[tuple[int, str]]) -> None:
        self.organizations = [org_id for org_id, _ in organizations]
        names = ", ".join(f"{name} (id {org_id})" for org_id, name in organizations[: self.shown])
        more = len(organizations) - self.shown
        if more > 0:
            names += f" and {more} more"
        super().__init__(f"{type(self).message} Organizations: {names}.")


class OrgMfaRequired(SaaSKitError):
    """The organization requires two-factor authentication and the member has it off (403)."""

    code = "org_mfa_required"
    status = 403
    message = (
        "This organization requires two-factor authentication: turn it on for your account "
        "(POST /mfa/totp/setup, then POST /mfa/totp/confirm) and repeat the request."
    )
