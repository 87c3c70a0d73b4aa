"""Who is calling: client IP and user agent, with proxy headers trusted only when told.

:class:`~saaskit.types.ClientInfo` lives in :mod:`saaskit.types`; it is re-exported here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import HTTPConnection

from saaskit.middleware import PRINCIPAL_SCOPE_KEY
from saaskit.types import ClientInfo

__all__ = ["ClientInfo", "ClientResolver", "parse_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    """The networks of ``trusted_proxies`` entries (addresses or CIDR ranges).

    Raises:
        ValueError: an entry is neither.
    """
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
        """The client's address.

        The peer, or behind trusted proxies the last untrusted ``X-Forwarded-For`` hop.
        """
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
        """The client of ``connection``: its address, (shortened) user agent, impersonator.

        The impersonator is the acting superuser of the request's principal (read once a
        dependency has authenticated the request).
        """
        agent = connection.headers.get("user-agent")
        principal = connection.scope.get(PRINCIPAL_SCOPE_KEY)
        return ClientInfo(
            ip=self.ip(connection),
            user_agent=agent[:256] if agent else None,
            impersonator_id=getattr(principal, "actor_id", None),
        )
