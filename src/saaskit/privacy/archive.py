"""The export archive: a zip of JSON files, written one record at a time.

Each part is one JSON array (``audit_events.json``), written through
:meth:`zipfile.ZipFile.open` in write mode: records are serialized and compressed as they
come, so memory does not grow with the number of records. ``manifest.json`` is written
last: the format and its version, when and for whom, and each part's file and count.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, Any

__all__ = ["FORMAT", "VERSION", "ArchiveWriter", "PartWriter", "to_json"]

FORMAT = "saaskit-data-export"
VERSION = 1


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"cannot export a {type(value).__name__}")


def to_json(record: Any) -> str:
    """One record as JSON (datetimes as ISO 8601, decimals as strings)."""
    return json.dumps(record, default=_default, ensure_ascii=False, sort_keys=True)


@dataclass
class PartWriter:
    """Writes one part's records into its JSON array."""

    stream: IO[bytes]
    count: int = 0

    def write(self, record: dict[str, Any]) -> None:
        """Append one record."""
        prefix = b"\n" if self.count == 0 else b",\n"
        self.stream.write(prefix + to_json(record).encode())
        self.count += 1


class ArchiveWriter:
    """Builds the zip at ``path``: open it as a context manager, add parts, close.

    Args:
        path: the file to write (a temporary file on the worker).
        user_id: whose data it is (in the manifest).
        created_at: when the export was built (in the manifest).
    """

    def __init__(self, path: Path, *, user_id: int, created_at: datetime) -> None:
        self.path = path
        self.user_id = user_id
        self.created_at = created_at
        self.parts: list[dict[str, Any]] = []
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)

    @asynccontextmanager
    async def part(self, name: str) -> AsyncIterator[PartWriter]:
        """A part's writer; the part is ``<name>.json``, one JSON array."""
        filename = f"{name}.json"
        if any(p["file"] == filename for p in self.parts):
            raise ValueError(f"two export parts are named {name!r}")
        # force_zip64: the size is not known in advance (a large part must not fail).
        with self._zip.open(filename, "w", force_zip64=True) as stream:
            stream.write(b"[")
            writer = PartWriter(stream)
            yield writer
            stream.write(b"\n]\n")
        self.parts.append({"name": name, "file": filename, "records": writer.count})

    def close(self) -> None:
        """Write the manifest and finish the zip."""
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "user_id": self.user_id,
            "created_at": self.created_at,
            "parts": self.parts,
        }
        self._zip.writestr("manifest.json", to_json(manifest) + "\n")
        self._zip.close()

    def abort(self) -> None:
        """Close the zip without a manifest and remove the file."""
        self._zip.close()
        self.path.unlink(missing_ok=True)
