"""Small facts about the configured database that commands check before connecting."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url


def missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ``url`` when it does not exist yet (connecting would create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database or "")
    return None if path.exists() else path


def describe_database(url: str) -> str:
    """``backend (driver) at url`` with the password hidden."""
    parsed = make_url(url)
    return (
        f"{parsed.get_backend_name()} ({parsed.get_driver_name()}) at "
        f"{parsed.render_as_string(hide_password=True)}"
    )
