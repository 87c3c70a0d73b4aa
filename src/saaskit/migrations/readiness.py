"""Is the database at the migrations' head? (``/health/ready`` waits for it.)

During a rollout, new app processes may start before ``saaskit migrate`` (or the host's
``alembic upgrade head``) ran: they would fail on missing columns. Readiness answers
503 until the database is at the head of the migrations the app expects, so the load
balancer keeps sending traffic to the old processes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MigrationState = Literal["ok", "behind", "down", "skipped"]


def host_config(ini: str) -> Config:
    """The Alembic config of ``ini``, its ``script_location`` taken relative to the file."""
    path = Path(ini).resolve()
    config = Config(str(path))
    location = config.get_main_option("script_location")
    if location and ":" not in location and not Path(location).is_absolute():
        config.set_main_option("script_location", str(path.parent / location))
    return config


def _current(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


class MigrationCheck:
    """Compares the database's revision(s) with the head(s) of ``config``'s scripts (read
    once, on the first check)."""

    def __init__(self, engine: AsyncEngine, config: Config | None) -> None:
        self.engine = engine
        self.config = config
        self._heads: frozenset[str] | None = None

    async def __call__(self) -> MigrationState:
        if self.config is None:
            return "skipped"
        if self._heads is None:
            scripts = await asyncio.to_thread(ScriptDirectory.from_config, self.config)
            self._heads = frozenset(scripts.get_heads())
        try:
            async with self.engine.connect() as connection:
                current = await connection.run_sync(_current)
        except Exception:
            return "down"
        return "ok" if set(current) >= self._heads else "behind"
