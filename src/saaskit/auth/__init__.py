"""Authentication: registration, login, sessions and tokens, credentials, recovery flows."""
