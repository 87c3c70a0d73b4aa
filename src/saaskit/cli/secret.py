"""``saaskit secret``: a fresh signing key."""

from __future__ import annotations

import secrets

import typer

SECRET_BYTES = 48


def secret() -> None:
    """Print a new random key for SAASKIT_SECRET_KEY (64 URL-safe characters).

    \f

    Example:
        ```console
        $ echo "SAASKIT_SECRET_KEY=$(saaskit secret)" >> .env
        ```
    """
    typer.echo(secrets.token_urlsafe(SECRET_BYTES))
