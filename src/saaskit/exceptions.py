"""Domain exceptions raised by saaskit services.

They never import FastAPI: the CLI, tasks and tests call services directly. Routers turn
them into HTTP responses through :mod:`saaskit.errors`, using each class's ``code``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from typing_extensions import override


class ErrorCode(StrEnum):
    """Every error code a saaskit response can carry (``{"error": {"code": ...}}``)."""

    ERROR = "error"
    INTERNAL_ERROR = "internal_error"
    VALIDATION_ERROR = "validation_error"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    HTTP_ERROR = "http_error"
    INVALID_CREDENTIALS = "invalid_credentials"
    INVALID_TOKEN = "invalid_token"
    NOT_AUTHENTICATED = "not_authenticated"
    INACTIVE_USER = "inactive_user"
    PERMISSION_DENIED = "permission_denied"
    REAUTHENTICATION_REQUIRED = "reauthentication_required"
    IMPERSONATION_FORBIDDEN = "impersonation_forbidden"
    MFA_REQUIRED = "mfa_required"
    EMAIL_ALREADY_REGISTERED = "email_already_registered"
    INVALID_PASSWORD = "invalid_password"
    USER_NOT_FOUND = "user_not_found"
    SESSION_NOT_FOUND = "session_not_found"
    RATE_LIMITED = "rate_limited"
    EMAIL_NOT_VERIFIED = "email_not_verified"
    INVALID_LINK_TOKEN = "invalid_link_token"
    SERVICE_UNAVAILABLE = "service_unavailable"
    EMAIL_DELIVERY_FAILED = "email_delivery_failed"
    AI_NOT_CONFIGURED = "ai_not_configured"
    AI_MODEL_NOT_ALLOWED = "ai_model_not_allowed"
    AI_MODEL_NOT_IN_PLAN = "ai_model_not_in_plan"
    AI_QUOTA_EXCEEDED = "ai_quota_exceeded"
    AI_UPSTREAM_ERROR = "ai_upstream_error"
    AI_UPSTREAM_RATE_LIMITED = "ai_upstream_rate_limited"
    AI_UPSTREAM_TIMEOUT = "ai_upstream_timeout"
    SUBSCRIPTION_REQUIRED = "subscription_required"
    PLAN_REQUIRED = "plan_required"
    FEATURE_NOT_IN_PLAN = "feature_not_in_plan"
    UNKNOWN_PLAN = "unknown_plan"
    REDIRECT_NOT_ALLOWED = "redirect_not_allowed"
    ALREADY_SUBSCRIBED = "already_subscribed"
    NO_SUBSCRIPTION = "no_subscription"
    PREVIEW_EXPIRED = "preview_expired"
    BILLING_UNAVAILABLE = "billing_unavailable"
    BILLING_REJECTED = "billing_rejected"
    INVALID_SIGNATURE = "invalid_signature"
    INVALID_WEBHOOK = "invalid_webhook"
    WEBHOOK_FAILED = "webhook_failed"


class SaaSKitError(Exception):
    """Base class: ``code`` is the stable machine-readable error code.

    A subclass declares the HTTP status it is answered with: the kit's own in
    ``saaskit.errors.STATUS_BY_ERROR``, any other (a feature package's, a host's) as
    ``status = 409`` on the class. One without a status is answered 400 with a
    ``DeprecationWarning``; ``tests/test_error_statuses.py`` fails for the kit's own.
    """

    code: str = ErrorCode.ERROR
    """The kit's own classes use an :class:`ErrorCode`; a feature's or a host's any
    lowercase ``snake_case`` string of its own."""
    message = "Something went wrong."
    status: ClassVar[int | None] = None

    def __init__(self, message: str | None = None) -> None:
        self.message = message or type(self).message
        super().__init__(self.message)

    def response_headers(self) -> dict[str, str]:
        """Extra HTTP headers for this error's response (e.g. a quota's reset time)."""
        return {}


class InvalidInput(SaaSKitError):
    """Input a service refuses before it reaches the database (422 ``validation_error``)."""

    code = ErrorCode.VALIDATION_ERROR
    message = "The input is invalid."


class InvalidCredentials(SaaSKitError):
    """Wrong email or password at login, or a wrong current password (401).

    Login answers the same for an unknown email, an inactive account and a wrong
    password, so the error never tells whether an account exists.
    """

    code = ErrorCode.INVALID_CREDENTIALS
    message = "Incorrect email or password."


class InvalidToken(SaaSKitError):
    """An access or refresh token that is malformed, expired, revoked or forged (401)."""

    code = ErrorCode.INVALID_TOKEN
    message = "The token is invalid or has expired."


class NotAuthenticated(SaaSKitError):
    """No credential on a request that needs a signed-in user (401).

    Also raised for a credential of a kind the route does not accept (a login
    session only, say).
    """

    code = ErrorCode.NOT_AUTHENTICATED
    message = "Authentication required."


class InactiveUser(SaaSKitError):
    """The credential is valid but its account is deactivated (401)."""

    code = ErrorCode.INACTIVE_USER
    message = "This account is inactive."


class PermissionDenied(SaaSKitError):
    """Signed in, but not allowed to do this (403).

    For example: a superuser-only route, an unverified email where a verified one is
    required, or a credential without the scope the route needs.
    """

    code = ErrorCode.PERMISSION_DENIED
    message = "You do not have permission to do this."


class ReauthenticationRequired(SaaSKitError):
    """A security-sensitive action needs a recent proof of the password (403).

    The client asks the user for their password, sends it to ``POST /auth/reauthenticate``
    and repeats the request.
    """

    code = ErrorCode.REAUTHENTICATION_REQUIRED
    message = "Confirm your password first (POST /auth/reauthenticate), then repeat this request."


class ImpersonationForbidden(SaaSKitError):
    """An impersonation token on an action only the account's owner may take (403).

    A superuser acting as a user (``POST /impersonation``) cannot change the password,
    the email, second factors, API keys or billing, cannot re-authenticate, delete the
    account, start another impersonation nor use the administration routes.
    """

    code = ErrorCode.IMPERSONATION_FORBIDDEN
    message = "Not while impersonating: only the account's owner may do this."


class MfaRequired(SaaSKitError):
    """The password was right, but the account has a second factor (403 ``mfa_required``).

    No tokens yet: ``challenge_token`` is a short-lived, single-use challenge that the
    client completes with a code (``POST /mfa/verify``). It is opaque and stored server
    side, so it never works as a bearer token.
    """

    code = ErrorCode.MFA_REQUIRED
    message = (
        "Two-factor authentication is on for this account: send a code with the "
        "challenge_token to POST /mfa/verify."
    )

    def __init__(self, challenge_token: str, message: str | None = None) -> None:
        super().__init__(message)
        self.challenge_token = challenge_token


class EmailAlreadyRegistered(SaaSKitError):
    """Registration or an email change to an address another account uses (409)."""

    code = ErrorCode.EMAIL_ALREADY_REGISTERED
    message = "An account with this email already exists."


class InvalidPassword(SaaSKitError):
    """A new password breaks the password policy (too short, too long, too common)."""

    code = ErrorCode.INVALID_PASSWORD
    message = "The password does not meet the password policy."


class RefreshTokenReused(InvalidToken):
    """An already-rotated refresh token came back: its session has been revoked."""

    message = "This refresh token was already used; the session has been revoked."


class EmailNotVerified(SaaSKitError):
    """Login refused until the email is verified (403).

    Only with ``auth.require_verified_login``.
    """

    code = ErrorCode.EMAIL_NOT_VERIFIED
    message = "Verify your email address before logging in."


class InvalidLinkToken(SaaSKitError):
    """A verification or reset token that is malformed, expired, already used or stale."""

    code = ErrorCode.INVALID_LINK_TOKEN
    message = "This link is invalid, has expired or was already used."


class UserNotFound(SaaSKitError):
    """No user with this id (404)."""

    code = ErrorCode.USER_NOT_FOUND
    message = "No such user."


class SessionNotFound(SaaSKitError):
    """No such login session among the caller's own (404).

    Another user's session id is not found either, so session ids cannot be probed.
    """

    code = ErrorCode.SESSION_NOT_FOUND
    message = "No such session."


class RateLimited(SaaSKitError):
    """A rate limit was reached: too many attempts from one client or at one account (429).

    Args:
        retry_after: seconds until a retry may succeed (at least 1; sent as the
            ``Retry-After`` header).
        message: replaces the class's default message.
    """

    code = ErrorCode.RATE_LIMITED
    message = "Too many requests; try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class ServiceUnavailable(SaaSKitError):
    """A backing service (store, task broker, mail server, provider) is unavailable (503).

    Transient: the client may retry. Subclasses say which service failed.
    """

    code = ErrorCode.SERVICE_UNAVAILABLE
    message = "A backing service is unavailable; try again shortly."


class EmailDeliveryError(ServiceUnavailable):
    """An email could not be handed to the mail server.

    ``message`` (what an HTTP client may see) stays generic; ``str(error)`` names the
    server and the reason for operators. Neither ever contains the SMTP password.
    """

    code = ErrorCode.EMAIL_DELIVERY_FAILED
    message = "The email could not be sent; try again shortly."

    def __init__(self, server: str, reason: str, message: str | None = None) -> None:
        super().__init__(message)
        self.server = server
        self.reason = reason

    def __str__(self) -> str:
        return f"email delivery through {self.server} failed: {self.reason}"


class EntitlementRequired(SaaSKitError):
    """The user's plan does not allow this; ``plans`` lists the plans that would."""

    def __init__(self, plans: list[str], message: str | None = None) -> None:
        super().__init__(message)
        self.plans = plans


class SubscriptionRequired(EntitlementRequired):
    """No entitled subscription (402): buying one of ``plans`` helps."""

    code = ErrorCode.SUBSCRIPTION_REQUIRED
    message = "An active subscription is required."


class PlanRequired(EntitlementRequired):
    """Subscribed, but to another plan (403): upgrade to one of ``plans``."""

    code = ErrorCode.PLAN_REQUIRED
    message = "Your plan does not include this."


class FeatureNotInPlan(EntitlementRequired):
    """Subscribed, but the plan lacks the feature (403): upgrade to one of ``plans``."""

    code = ErrorCode.FEATURE_NOT_IN_PLAN
    message = "Your plan does not include this feature."


class UnknownPlan(SaaSKitError):
    """A checkout for a plan or price that is not configured."""

    code = ErrorCode.UNKNOWN_PLAN
    message = "No such plan."


class RedirectNotAllowed(SaaSKitError):
    """A success / cancel URL on an origin that is not configured."""

    code = ErrorCode.REDIRECT_NOT_ALLOWED
    message = "This redirect URL is not allowed."


class AlreadySubscribed(SaaSKitError):
    """A checkout for an owner that already has an active subscription (409).

    Plan changes go through the customer portal instead.
    """

    code = ErrorCode.ALREADY_SUBSCRIBED
    message = "You already have an active subscription; change it in the customer portal."


class NoSubscription(SaaSKitError):
    """A plan change, cancel or resume for an owner without a subscription it applies to (409)."""

    code = ErrorCode.NO_SUBSCRIPTION
    message = "There is no subscription to change; start one with checkout."


class PreviewExpired(SaaSKitError):
    """A plan change whose ``proration_date`` is in the future or too old (409)."""

    code = ErrorCode.PREVIEW_EXPIRED
    message = "This preview is too old or not from this server; preview the change again."


class BillingUnavailable(ServiceUnavailable):
    """Stripe cannot be reached, is failing, or refuses the API key (details in the log)."""

    code = ErrorCode.BILLING_UNAVAILABLE
    message = "Billing is temporarily unavailable; try again shortly."


class BillingRejected(SaaSKitError):
    """Stripe refused a request saaskit made (a configuration problem; see the log)."""

    code = ErrorCode.BILLING_REJECTED
    message = "The payment provider rejected the request."


class BillingOwnerNotFound(SaaSKitError):
    """No such billing owner, or not one the caller may manage (the same 404 for both)."""

    code = ErrorCode.NOT_FOUND
    message = "No such billing owner."


class InvalidWebhookSignature(SaaSKitError):
    """A Stripe webhook whose ``Stripe-Signature`` is missing, wrong or too old (400).

    Also raised when no webhook secret is configured: unsigned events are never
    accepted.
    """

    code = ErrorCode.INVALID_SIGNATURE
    message = "The Stripe-Signature header is missing, invalid or too old."


class InvalidWebhook(SaaSKitError):
    """A correctly signed webhook body that is not a Stripe event (400)."""

    code = ErrorCode.INVALID_WEBHOOK
    message = "The webhook body is not a Stripe event."


class WebhookFailed(SaaSKitError):
    """A stored event could not be processed; it is marked failed for a retry."""

    code = ErrorCode.WEBHOOK_FAILED
    message = "The event was recorded but could not be processed; it will be retried."


class AINotConfigured(ServiceUnavailable):
    """AI is used but neither ``ai.api_key`` nor ``ai.base_url`` is set."""

    code = ErrorCode.AI_NOT_CONFIGURED
    message = "AI is not configured on this server."


class AIModelNotAllowed(SaaSKitError):
    """A model outside ``ai.allowed_models`` (the message lists the allowed ones)."""

    code = ErrorCode.AI_MODEL_NOT_ALLOWED
    message = "This model is not available."


class AIModelNotInPlan(SaaSKitError):
    """A model the kit offers but the owner's plan does not (its ``ai_models``)."""

    code = ErrorCode.AI_MODEL_NOT_IN_PLAN
    message = "Your plan does not include this model."


class AIQuotaExceeded(RateLimited):
    """The user's monthly token quota cannot cover this request; no call was made.

    ``requested`` is the request's worst case; when it is more than the whole ``quota``
    the message says so (only a smaller request or a larger quota fits it). The message
    also says how many tokens are left. ``retry_after`` counts the seconds until
    ``resets_at`` (the first day of next month, UTC); both travel as headers
    (``Retry-After``, ``X-AI-Quota-Reset``).
    """

    code = ErrorCode.AI_QUOTA_EXCEEDED
    message = "Monthly AI token quota reached."

    def __init__(
        self, *, used: int, quota: int, requested: int, resets_at: datetime, retry_after: int
    ) -> None:
        smaller = "Send a shorter conversation or a smaller max_tokens"
        if requested > quota:
            text = (
                f"This request may need up to {requested} AI tokens, more than the whole "
                f"monthly quota of {quota}. {smaller}."
            )
        else:
            text = (
                f"Monthly AI token quota reached: {used} of {quota} tokens used or reserved, "
                f"{max(0, quota - used)} left, and this request may need up to {requested}. "
                f"{smaller}, or wait until the quota resets on {resets_at:%Y-%m-%d} (UTC)."
            )
        super().__init__(retry_after, text)
        self.used = used
        self.quota = quota
        self.requested = requested
        self.resets_at = resets_at

    @override
    def response_headers(self) -> dict[str, str]:
        return {
            "X-AI-Quota-Limit": str(self.quota),
            "X-AI-Quota-Reset": self.resets_at.isoformat().replace("+00:00", "Z"),
        }


class AIUpstreamError(ServiceUnavailable):
    """The AI provider failed (5xx, refused request, connection error).

    The message stays generic (a provider's error text can quote the API key); ``str()``
    carries the provider's status and reason for the log.
    """

    code = ErrorCode.AI_UPSTREAM_ERROR
    message = "The AI provider failed to answer; try again shortly."

    def __init__(self, reason: str = "", message: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.message} ({self.reason})" if self.reason else self.message


class AIUpstreamRateLimited(AIUpstreamError):
    """The AI provider answered 429 (its rate limit or the account's credit)."""

    code = ErrorCode.AI_UPSTREAM_RATE_LIMITED
    message = "The AI provider is busy; try again shortly."

    def __init__(self, reason: str = "", retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after

    @override
    def response_headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class AIUpstreamTimeout(AIUpstreamError):
    """The AI provider did not answer within ``ai.timeout`` seconds (504)."""

    code = ErrorCode.AI_UPSTREAM_TIMEOUT
    message = "The AI provider did not answer in time; try again."


class MissingExtra(ImportError):
    """An optional integration was used without its extra installed."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"{module!r} is not installed; install it with: pip install 'saaskit[{extra}]'"
        )
        self.extra = extra


def require_module(module: str, extra: str) -> None:
    """Raise :class:`MissingExtra` naming ``extra`` when ``module`` cannot be imported."""
    import importlib.util

    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a dotted name whose parent package is missing
        found = False
    if not found:
        raise MissingExtra(module, extra)
