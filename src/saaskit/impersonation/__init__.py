"""Impersonation: a superuser acts as a user for support, with a time-limited token pair."""
