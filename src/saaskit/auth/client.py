"""Who is calling: client IP and user agent, with proxy headers trusted only when told."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import HTTPConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request came from (``None`` outside HTTP, e.g. the CLI)."""

    ip: str | None = None
    user_agent: str | None = None


def parse_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


class ClientResolver:
    """Finds the client IP; ``X-Forwarded-For`` counts only behind a trusted proxy.

    Walking the header from the right, every hop that is itself a trusted proxy is
    skipped; the first one that is not is the client. Without trusted proxies the
    header is ignored entirely, so a client cannot pick its own rate-limit bucket.
    """

    def __init__(self, trusted_proxies: Sequence[str]) -> None:
        self.proxies = parse_networks(trusted_proxies)

    def ip(self, connection: HTTPConnection) -> str | None:
        peer = connection.client.host if connection.client else None
        if not self.proxies or peer is None or not _trusted(peer, self.proxies):
            return peer
        forwarded = connection.headers.get("x-forwarded-for", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not _trusted(hop, self.proxies):
                return hop[:64]
        return peer

    def __call__(self, connection: HTTPConnection) -> ClientInfo:
        agent = connection.headers.get("user-agent")
        return ClientInfo(ip=self.ip(connection), user_agent=agent[:256] if agent else None)
