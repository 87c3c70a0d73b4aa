"""Throwaway PostgreSQL servers for the topology tests: a primary that allows
replication, a streaming replica made from it with ``pg_basebackup -R -X stream``, or a
server with ``ssl = on``.

``initdb`` refuses to run as root, so as root every server command runs as the
``postgres`` OS user (``runuser``), in a folder of its own under the system temp dir
(the test's ``tmp_path`` is not readable by that user). Servers listen on free loopback
ports without a Unix socket and are stopped by the caller (``stop``), so none outlives
its test session.

Locally the tests skip with the reason when the binaries are missing; under ``CI=true``
they fail instead (:func:`require_postgres_binaries`), so CI never passes without them.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.ports import free_port

IN_CI = os.environ.get("CI", "").lower() == "true"


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's ``bin`` folder (Debian layout, then PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def missing_tools() -> str | None:
    """Why throwaway PostgreSQL servers cannot be made here, or None."""
    folder = postgres_bin()
    if folder is None:
        return "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) are not installed"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root needs `runuser` to start PostgreSQL as the postgres user"
    return None


def require_postgres_binaries() -> None:
    """Skip locally, fail under CI, when throwaway servers cannot be made."""
    reason = missing_tools()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI must run the PostgreSQL topology tests: {reason}")
    pytest.skip(reason)


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], log: Path | None = None) -> None:
    result = subprocess.run(
        _as_postgres(command), capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        tail = log.read_text()[-2000:] if log and log.exists() else ""
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}{tail}")


def scratch_folder() -> Path:
    """A folder the postgres OS user owns (when we are root)."""
    folder = Path(tempfile.mkdtemp(prefix="saaskit-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    return folder


class PostgresServer:
    """One PostgreSQL data directory and server on ``127.0.0.1:port``."""

    def __init__(self, folder: Path, name: str) -> None:
        bin_folder = postgres_bin()
        assert bin_folder is not None
        self.bin = bin_folder
        self.data = folder / name
        self.log = folder / f"{name}.log"
        self.port = free_port()
        self.started = False

    def url(self, database: str = "postgres", query: str = "") -> str:
        """``postgresql+asyncpg://postgres@127.0.0.1:PORT/database`` (+ ``?query``)."""
        base = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"
        return f"{base}?{query}" if query else base

    def initdb(self, *, hba: list[str], config: dict[str, str] | None = None) -> None:
        """A new cluster whose ``pg_hba.conf`` is exactly ``hba``."""
        _run([str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"])
        self.write_file("pg_hba.conf", "\n".join(hba) + "\n")
        if config:
            self.configure(config)

    def configure(self, config: dict[str, str]) -> None:
        lines = "".join(f"{key} = '{value}'\n" for key, value in config.items())
        path = self.data / "postgresql.auto.conf"
        self.write_file("postgresql.auto.conf", path.read_text() + lines)

    def write_file(self, name: str, text: str) -> None:
        path = self.data / name
        path.write_text(text)
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    def basebackup_of(self, primary: PostgresServer) -> None:
        """Make this a streaming replica of ``primary`` (standby.signal + primary_conninfo)."""
        _run(
            [
                str(self.bin / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(self.data),
                "-R",
                "-X",
                "stream",
            ]
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
        _run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "start",
            ],
            self.log,
        )
        self.started = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: like a crash, no clean shutdown)."""
        if not self.started:
            return
        _run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"], self.log)
        self.started = False


def replication_pair(folder: Path) -> tuple[PostgresServer, PostgresServer]:
    """A started primary and a started streaming replica of it."""
    primary = PostgresServer(folder, "primary")
    primary.initdb(
        hba=[
            "host all all 127.0.0.1/32 trust",
            "host replication all 127.0.0.1/32 trust",
        ]
    )
    primary.start()
    replica = PostgresServer(folder, "replica")
    try:
        replica.basebackup_of(primary)
        replica.start()
    except BaseException:
        primary.stop()
        raise
    return primary, replica
