"""Helpers for the migration tests."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine


def run_sql(url: str, statement: str, rows: list[dict[str, Any]] | None = None) -> list[Any]:
    """Plain SQL on ``url``, written around the models, as an older kit or legacy rows were."""

    async def go() -> list[Any]:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(sa.text(statement), rows or {})
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(go())
