"""A real Redis Cluster for the tests: 3 masters + 3 replicas on free loopback ports.

Each node is ``redis-server --cluster-enabled yes`` (no persistence, its own folder);
``redis-cli --cluster create ... --cluster-replicas 1`` joins them, then the harness
polls every node until it reports ``cluster_state:ok`` and knows all six nodes. The
timeouts bound only the setup (a failure there is a setup error), never a test's
assertion. Nodes can be killed and restarted to test failover.

Locally the tests skip with the reason when ``redis-server`` / ``redis-cli`` are missing;
under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.processes import kill, stop, wait_until
from tests.ports import free_port
from tests.topology.postgres import IN_CI

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")
NODE_TIMEOUT_MS = 1500
"""``cluster-node-timeout``: how long a master may be silent before its replica takes over."""


def missing_cluster_tools() -> str | None:
    """Why a Redis Cluster cannot be started here, or None."""
    if REDIS_SERVER is None or REDIS_CLI is None:
        return "redis-server and redis-cli are not installed (Debian package `redis-server`)"
    return None


def require_cluster_tools() -> None:
    """Skip locally, fail under CI, when a Redis Cluster cannot be started."""
    reason = missing_cluster_tools()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI must run the Redis Cluster tests: {reason}")
    pytest.skip(reason)


def command(port: int, *args: str) -> str:
    """One command to the node on ``port`` (RESP over a plain socket, inline reply text)."""
    parts = [arg.encode() for arg in args]
    payload = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        data = b""
        while True:
            chunk = sock.recv(65536)
            data += chunk
            if not chunk or _complete(data):
                break
    return data.decode(errors="replace")


def _complete(data: bytes) -> bool:
    if data[:1] in (b"+", b"-", b":"):
        return data.endswith(b"\r\n")
    if data[:1] == b"$":
        header, _, rest = data.partition(b"\r\n")
        size = int(header[1:])
        return size < 0 or len(rest) >= size + 2
    return data.endswith(b"\r\n")


def info(port: int, section: str) -> dict[str, str]:
    """``INFO <section>`` of one node as a dict."""
    text = command(port, "INFO", section)
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {key: value.strip() for key, value in pairs}


@dataclass
class ClusterNode:
    """One redis-server of the cluster."""

    folder: Path
    port: int = field(default_factory=free_port)
    bus_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.folder / f"node-{self.port}.log"

    def start(self) -> None:
        assert REDIS_SERVER
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--cluster-enabled", "yes", "--cluster-port", str(self.bus_port)]
        args += ["--cluster-config-file", f"nodes-{self.port}.conf"]
        args += ["--cluster-node-timeout", str(NODE_TIMEOUT_MS)]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        args += ["--dir", str(self.folder), "--protected-mode", "no"]
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT)
        wait_until(self.answers, 30, f"redis cluster node on port {self.port}")

    def answers(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, self.log.read_text()
        try:
            return command(self.port, "PING").startswith("+PONG")
        except OSError:
            return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, like a crashed host: no goodbye to the other nodes."""
        if self.process is not None:
            kill(self.process)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def role(self) -> str:
        return info(self.port, "replication").get("role", "")

    def commands(self) -> dict[str, int]:
        """Calls per command so far (``INFO commandstats``), e.g. ``{"mget": 3}``."""
        found: dict[str, int] = {}
        for key, value in info(self.port, "commandstats").items():
            if key.startswith("cmdstat_"):
                calls = value.split(",", 1)[0].removeprefix("calls=")
                found[key.removeprefix("cmdstat_")] = int(calls)
        return found


class RedisCluster:
    """Six nodes (3 masters, 3 replicas) in a scratch folder; ``url`` reaches any of them."""

    def __init__(self, folder: Path, masters: int = 3) -> None:
        self.folder = folder
        self.nodes = [ClusterNode(folder) for _ in range(masters * 2)]

    @property
    def url(self) -> str:
        """A seed node's URL (redis-py discovers the others)."""
        seed = next(node for node in self.nodes if node.running)
        return f"redis://127.0.0.1:{seed.port}/0"

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        assert REDIS_CLI
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        create = [REDIS_CLI, "--cluster", "create", *addresses, "--cluster-replicas", "1"]
        created = subprocess.run(
            [*create, "--cluster-yes"],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 90) -> None:
        """Poll until every running node says ``cluster_state:ok`` and agrees on the
        masters (each serving slots, each running)."""
        wait_until(self._healthy, timeout, "cluster_state:ok on every node")

    def _healthy(self) -> bool:
        try:
            for node in self.nodes:
                if not node.running:
                    continue
                if info(node.port, "cluster").get("cluster_enabled") != "1":
                    return False
                state = command(node.port, "CLUSTER", "INFO")
                if "cluster_state:ok" not in state or "cluster_known_nodes:6" not in state:
                    return False
            masters = self.masters()
            return len(masters) == len(self.nodes) // 2 and all(m.running for m in masters)
        except OSError:
            return False

    def _node_lines(self) -> list[list[str]]:
        seed = next(node for node in self.nodes if node.running)
        text = command(seed.port, "CLUSTER", "NODES")
        return [line.split() for line in text.splitlines() if line.count(" ") > 6]

    def masters(self) -> list[ClusterNode]:
        """Nodes that serve slots now (seen from a running node)."""
        ports = {
            int(parts[1].split("@")[0].rsplit(":", 1)[1])
            for parts in self._node_lines()
            if "master" in parts[2] and "fail" not in parts[2] and len(parts) > 8
        }
        return [node for node in self.nodes if node.port in ports]

    def node_of_slot(self, slot: int) -> ClusterNode:
        """The master that serves ``slot`` now."""
        for parts in self._node_lines():
            if "master" not in parts[2] or "fail" in parts[2]:
                continue
            for spec in parts[8:]:
                low, _, high = spec.partition("-")
                if spec[0].isdigit() and int(low) <= slot <= int(high or low):
                    port = int(parts[1].split("@")[0].rsplit(":", 1)[1])
                    return next(node for node in self.nodes if node.port == port)
        raise LookupError(f"no master serves slot {slot}")

    def replica_of(self, master: ClusterNode) -> ClusterNode:
        """The replica that follows ``master`` (waiting until the cluster shows one: right
        after a failover the old master takes a moment to be listed as a replica)."""
        found: list[ClusterNode] = []

        def listed() -> bool:
            lines = self._node_lines()
            ids = [p[0] for p in lines if p[1].split("@")[0].endswith(f":{master.port}")]
            ports = {int(p[1].split("@")[0].rsplit(":", 1)[1]) for p in lines if p[3] in ids}
            found[:] = [node for node in self.nodes if node.port in ports and node.running]
            return bool(found)

        wait_until(listed, 60, f"a replica of {master.port}")
        return found[0]

    def catch_up(self, master: ClusterNode) -> None:
        """Wait until ``master``'s replica has every write the master acknowledged so far
        (replication is asynchronous: a master killed before that loses them)."""
        target = int(info(master.port, "replication")["master_repl_offset"])
        replica = self.replica_of(master)

        def caught_up() -> bool:
            return int(info(replica.port, "replication").get("slave_repl_offset", -1)) >= target

        wait_until(caught_up, 60, f"replica {replica.port} to catch up")

    def failover(self, replica: ClusterNode) -> None:
        """``CLUSTER FAILOVER`` on ``replica``: it takes over its master's slots after
        catching up (no write is lost), the master becomes its replica."""
        assert command(replica.port, "CLUSTER", "FAILOVER").startswith("+OK")
        wait_until(lambda: replica.role() == "master", 60, f"{replica.port} to take over")
        self.wait_healthy()

    def heal(self) -> None:
        """Restart killed nodes (they rejoin as replicas) and wait for a healthy cluster."""
        for node in self.nodes:
            if not node.running:
                node.start()
        self.wait_healthy()

    def flush(self) -> None:
        for master in self.masters():
            command(master.port, "FLUSHALL")

    def commands(self) -> dict[int, dict[str, int]]:
        """Per running node: calls per command so far."""
        return {node.port: node.commands() for node in self.nodes if node.running}

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def scratch_cluster_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="saaskit-cluster-"))


def commands_since(
    before: dict[int, dict[str, int]], after: dict[int, dict[str, int]]
) -> dict[int, dict[str, int]]:
    """What each node received from clients between two :meth:`RedisCluster.commands`
    snapshots, nodes with none dropped. Left out: the snapshots' own ``INFO`` and the
    replication housekeeping between the nodes (a replica's ``REPLCONF ACK`` every
    second, its master's ``PING`` every 10 s)."""
    ignored = {"info", "replconf", "ping"}
    delta: dict[int, dict[str, int]] = {}
    for port, counts in after.items():
        earlier = before.get(port, {})
        changed = {
            name: calls - earlier.get(name, 0)
            for name, calls in counts.items()
            if calls != earlier.get(name, 0) and name not in ignored
        }
        if changed:
            delta[port] = changed
    return delta
