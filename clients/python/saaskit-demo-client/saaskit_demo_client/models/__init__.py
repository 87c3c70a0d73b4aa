"""Contains all the data models used in inputs/outputs"""

from .accepted import Accepted
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
from .login_request import LoginRequest
from .o_auth_error import OAuthError
from .o_auth_error_error import OAuthErrorError
from .page_audit_event_read import PageAuditEventRead
from .page_user_read import PageUserRead
from .password_change import PasswordChange
from .reauthenticate_request import ReauthenticateRequest
from .reauthenticated import Reauthenticated
from .refresh_request import RefreshRequest
from .reset_password_request import ResetPasswordRequest
from .revoke_request import RevokeRequest
from .revoke_request_token_type_hint import RevokeRequestTokenTypeHint
from .session_read import SessionRead
from .token_pair import TokenPair
from .token_request import TokenRequest
from .token_request_grant_type import TokenRequestGrantType
from .user_admin_update import UserAdminUpdate
from .user_create import UserCreate
from .user_read import UserRead
from .user_update import UserUpdate
from .verify_email_request import VerifyEmailRequest

__all__ = (
    "Accepted",
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
    "LoginRequest",
    "OAuthError",
    "OAuthErrorError",
    "PageAuditEventRead",
    "PageUserRead",
    "PasswordChange",
    "Reauthenticated",
    "ReauthenticateRequest",
    "RefreshRequest",
    "ResetPasswordRequest",
    "RevokeRequest",
    "RevokeRequestTokenTypeHint",
    "SessionRead",
    "TokenPair",
    "TokenRequest",
    "TokenRequestGrantType",
    "UserAdminUpdate",
    "UserCreate",
    "UserRead",
    "UserUpdate",
    "VerifyEmailRequest",
)
