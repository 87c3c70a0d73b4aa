"""The key that signs tokens: ``SAASKIT_SECRET_KEY``, or a local random one in development.

No published key ever signs a token. Earlier versions fell back to a fixed string that
ships in the package, so anyone could mint tokens for a deployment that forgot to set
``SAASKIT_SECRET_KEY``. Now, without a key (or with that published string):

- in production the settings refuse to load (see :meth:`SaaSKitSettings.problems`);
- in development a random key is generated once and kept in ``.saaskit/secret_key`` under
  the working directory, next to a ``.gitignore`` that keeps the folder out of git. Every
  process started from that directory (``saaskit run --workers N``, a restart, the CLI)
  reads the same key, so tokens survive restarts and work across workers. A warning at
  startup says so.

The file is created atomically (written to a private temporary file, then hard-linked
into place, which fails if another process got there first), so workers starting
together agree on one key.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path

from saaskit.settings import DEFAULT_SECRET_KEY, SaaSKitSettings

logger = logging.getLogger("saaskit")

DEV_KEY_DIR = ".saaskit"
DEV_KEY_FILE = "secret_key"
_KEY_BYTES = 48


def signing_key(settings: SaaSKitSettings, directory: Path | None = None) -> str:
    """The key to sign tokens with for ``settings``.

    Args:
        settings: the kit's settings.
        directory: where the development key folder lives (default: the working directory).

    Returns:
        ``settings.secret_key`` when it is set and not the published development string;
        otherwise (development only) the local random key, created on first use.
    """
    configured = settings.secret_key.get_secret_value() if settings.secret_key else None
    if configured and configured != DEFAULT_SECRET_KEY:
        return configured
    if settings.is_production:  # pragma: no cover - production settings refuse this
        raise ValueError("SAASKIT_SECRET_KEY must be set in production")
    path = (directory or Path.cwd()) / DEV_KEY_DIR / DEV_KEY_FILE
    key, where = _local_key(path)
    reason = (
        "is saaskit's published development key, which is never used"
        if configured
        else "is not set"
    )
    logger.warning(
        "SAASKIT_SECRET_KEY %s: tokens are signed with a random development key %s. "
        "Set SAASKIT_SECRET_KEY (e.g. `saaskit secret`) before deploying; production "
        "refuses to start without it.",
        reason,
        where,
    )
    return key


def _local_key(path: Path) -> tuple[str, str]:
    """The key stored at ``path`` (created if missing) and where it lives, for the log."""
    try:
        return _read_or_create(path), f"kept in {path} (git-ignored)"
    except OSError as error:
        # A read-only working directory: this process gets a key of its own, so tokens
        # do not survive a restart nor work across workers. Say so rather than fail.
        return secrets.token_urlsafe(_KEY_BYTES), (
            f"for this process only ({path} could not be written: {error.strerror})"
        )


def _read_or_create(path: Path) -> str:
    existing = _read(path)
    if existing:
        return existing
    path.parent.mkdir(mode=0o700, exist_ok=True)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# saaskit's local development key: never commit it\n*\n")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(_KEY_BYTES) + "\n")
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(temporary, path)  # atomic: the file appears whole or not at all
    finally:
        temporary.unlink(missing_ok=True)
    key = _read(path)
    if not key:
        raise OSError(0, f"{path} is empty")
    return key


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None
