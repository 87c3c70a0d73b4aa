"""Compatibility: the rate limiter moved to :mod:`saaskit.ratelimit` (billing uses it too)."""

from saaskit.ratelimit import RateLimiter, RateLimitRule

__all__ = ["RateLimitRule", "RateLimiter"]
