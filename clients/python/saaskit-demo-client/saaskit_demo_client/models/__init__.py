"""Contains all the data models used in inputs/outputs"""

from .accepted import Accepted
from .admin_org_detail import AdminOrgDetail
from .admin_org_read import AdminOrgRead
from .api_key_create import ApiKeyCreate
from .api_key_created import ApiKeyCreated
from .api_key_read import ApiKeyRead
from .api_key_rename import ApiKeyRename
from .audit_event_read import AuditEventRead
from .audit_event_read_detail_type_0 import AuditEventReadDetailType0
from .auth_login_data_body import AuthLoginDataBody
from .checks import Checks
from .checks_additional_property import ChecksAdditionalProperty
from .demo_index import DemoIndex
from .email_change_request import EmailChangeRequest
from .email_request import EmailRequest
from .error_detail import ErrorDetail
from .error_response import ErrorResponse
from .field_error import FieldError
from .health import Health
from .health_status import HealthStatus
from .impersonation_start import ImpersonationStart
from .impersonation_started import ImpersonationStarted
from .invitation_accept import InvitationAccept
from .invitation_create import InvitationCreate
from .invitation_read import InvitationRead
from .invitation_register import InvitationRegister
from .login_request import LoginRequest
from .member_read import MemberRead
from .member_role_update import MemberRoleUpdate
from .mfa_admin_status import MfaAdminStatus
from .mfa_status import MfaStatus
from .mfa_verify import MfaVerify
from .o_auth_error import OAuthError
from .o_auth_error_error import OAuthErrorError
from .org_create import OrgCreate
from .org_deleted import OrgDeleted
from .org_mfa_policy import OrgMfaPolicy
from .org_read import OrgRead
from .org_update import OrgUpdate
from .ownership_transfer import OwnershipTransfer
from .page_admin_org_read import PageAdminOrgRead
from .page_audit_event_read import PageAuditEventRead
from .page_invitation_read import PageInvitationRead
from .page_member_read import PageMemberRead
from .page_org_read import PageOrgRead
from .page_user_read import PageUserRead
from .password_change import PasswordChange
from .reauthenticate_request import ReauthenticateRequest
from .reauthenticated import Reauthenticated
from .reauthenticated_proof import ReauthenticatedProof
from .recovery_code_set import RecoveryCodeSet
from .refresh_request import RefreshRequest
from .reset_password_request import ResetPasswordRequest
from .revoke_request import RevokeRequest
from .revoke_request_token_type_hint import RevokeRequestTokenTypeHint
from .session_read import SessionRead
from .token_pair import TokenPair
from .token_request import TokenRequest
from .token_request_grant_type import TokenRequestGrantType
from .totp_confirm import TotpConfirm
from .totp_setup import TotpSetup
from .user_admin_update import UserAdminUpdate
from .user_create import UserCreate
from .user_read import UserRead
from .user_update import UserUpdate
from .verify_email_request import VerifyEmailRequest

__all__ = (
    "Accepted",
    "AdminOrgDetail",
    "AdminOrgRead",
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyRead",
    "ApiKeyRename",
    "AuditEventRead",
    "AuditEventReadDetailType0",
    "AuthLoginDataBody",
    "Checks",
    "ChecksAdditionalProperty",
    "DemoIndex",
    "EmailChangeRequest",
    "EmailRequest",
    "ErrorDetail",
    "ErrorResponse",
    "FieldError",
    "Health",
    "HealthStatus",
    "ImpersonationStart",
    "ImpersonationStarted",
    "InvitationAccept",
    "InvitationCreate",
    "InvitationRead",
    "InvitationRegister",
    "LoginRequest",
    "MemberRead",
    "MemberRoleUpdate",
    "MfaAdminStatus",
    "MfaStatus",
    "MfaVerify",
    "OAuthError",
    "OAuthErrorError",
    "OrgCreate",
    "OrgDeleted",
    "OrgMfaPolicy",
    "OrgRead",
    "OrgUpdate",
    "OwnershipTransfer",
    "PageAdminOrgRead",
    "PageAuditEventRead",
    "PageInvitationRead",
    "PageMemberRead",
    "PageOrgRead",
    "PageUserRead",
    "PasswordChange",
    "Reauthenticated",
    "ReauthenticatedProof",
    "ReauthenticateRequest",
    "RecoveryCodeSet",
    "RefreshRequest",
    "ResetPasswordRequest",
    "RevokeRequest",
    "RevokeRequestTokenTypeHint",
    "SessionRead",
    "TokenPair",
    "TokenRequest",
    "TokenRequestGrantType",
    "TotpConfirm",
    "TotpSetup",
    "UserAdminUpdate",
    "UserCreate",
    "UserRead",
    "UserUpdate",
    "VerifyEmailRequest",
)
