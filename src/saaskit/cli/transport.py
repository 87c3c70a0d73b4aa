"""Which of the configured connections are not encrypted (``saaskit check`` in production).

The database is asked (``pg_stat_ssl``) whether the live connection is TLS; Redis, the
Celery broker and SMTP are judged by their settings. Unix sockets never leave the host
and are not reported; loopback TCP is, since the check cannot tell a local sidecar from
a forwarded port.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from saaskit.cli.output import redact_url
from saaskit.settings import EmailSettings, SaaSKitSettings

_VERIFYING_MODES = {"verify-ca", "verify-full"}


async def database_findings(
    connection: AsyncConnection, url: str, settings: SaaSKitSettings, label: str = "database"
) -> list[str]:
    """What is wrong with the transport of this live PostgreSQL connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or _unix_socket(parsed.host):
        return []
    encrypted = await connection.scalar(
        text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    )
    where = redact_url(url)
    if not encrypted:
        return [
            f"{label} connection to {where} is not encrypted; add ?ssl=verify-full to the URL "
            "and SAASKIT_DB__SSL_CA_FILE (see Deployment > Encrypted connections)."
        ]
    mode = str(parsed.query.get("ssl") or parsed.query.get("sslmode") or "").lower()
    if settings.db.ssl_ca_file is None and mode not in _VERIFYING_MODES:
        return [
            f"{label} connection to {where} is encrypted but the server is not verified "
            f"(ssl={mode or 'prefer'}), and a prefer/require connection can be intercepted; "
            "set SAASKIT_DB__SSL_CA_FILE or ?ssl=verify-full."
        ]
    return []


def redis_findings(url: str, label: str) -> list[str]:
    """What is wrong with the transport a Redis URL asks for."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "unix":
        return []
    if parts.scheme.lower() != "rediss":
        return [
            f"{label} at {redact_url(url)} is not encrypted (redis://); use rediss:// "
            "(see Deployment > Encrypted connections)."
        ]
    query = {k.lower(): v[-1].lower() for k, v in parse_qs(parts.query).items()}
    if query.get("ssl_cert_reqs") in {"none", "optional"} or query.get("ssl_check_hostname") in {
        "false",
        "0",
        "no",
    }:
        return [
            f"{label} at {redact_url(url)} does not verify the server's certificate "
            "(ssl_cert_reqs / ssl_check_hostname in the URL); remove them and trust the "
            "server's CA with SAASKIT_STORE__TLS_CA_FILE."
        ]
    return []


def smtp_findings(email: EmailSettings) -> list[str]:
    """What is wrong with the transport of outgoing email."""
    if not email.smtp_host:
        return []
    if email.smtp_security == "none":
        return [
            f"SMTP to {email.smtp_host} is not encrypted (SAASKIT_EMAIL__SMTP_SECURITY=none); "
            "use starttls (port 587) or tls (port 465)."
        ]
    if not email.smtp_validate_certs:
        return [
            f"SMTP to {email.smtp_host} does not verify the server's certificate "
            "(SAASKIT_EMAIL__SMTP_VALIDATE_CERTS=false)."
        ]
    return []


def _unix_socket(host: str | None) -> bool:
    return not host or host.startswith("/")
