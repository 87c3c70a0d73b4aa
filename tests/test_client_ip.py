"""Client IP resolution: ``X-Forwarded-For`` is believed only from trusted proxies."""

from __future__ import annotations

import pytest
from starlette.requests import HTTPConnection

from saaskit.auth.client import ClientInfo, ClientResolver


def connection(
    peer: str | None, forwarded: str | None = None, agent: str | None = None
) -> HTTPConnection:
    headers: list[tuple[bytes, bytes]] = []
    if forwarded is not None:
        headers.append((b"x-forwarded-for", forwarded.encode()))
    if agent is not None:
        headers.append((b"user-agent", agent.encode()))
    return HTTPConnection(
        {
            "type": "http",
            "headers": headers,
            "client": (peer, 5000) if peer else None,
            "method": "GET",
            "path": "/",
        }
    )


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    resolver = ClientResolver([])

    assert resolver.ip(connection("203.0.113.9", "1.2.3.4")) == "203.0.113.9"


def test_a_header_from_an_untrusted_peer_is_ignored() -> None:
    resolver = ClientResolver(["10.0.0.0/8"])

    assert resolver.ip(connection("203.0.113.9", "1.2.3.4")) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_forwarded_client_is_used() -> None:
    resolver = ClientResolver(["10.0.0.0/8"])

    assert resolver.ip(connection("10.0.0.1", "198.51.100.7")) == "198.51.100.7"


def test_hops_are_walked_from_the_right_skipping_trusted_proxies() -> None:
    resolver = ClientResolver(["10.0.0.0/8", "192.168.1.5"])
    # The client forged the leftmost entry; the proxies appended the rest.
    forwarded = "6.6.6.6, 198.51.100.7, 192.168.1.5, 10.1.2.3"

    assert resolver.ip(connection("10.0.0.1", forwarded)) == "198.51.100.7"


def test_trusted_peer_without_the_header_is_the_client() -> None:
    resolver = ClientResolver(["10.0.0.0/8"])

    assert resolver.ip(connection("10.0.0.1")) == "10.0.0.1"
    assert resolver.ip(connection("10.0.0.1", " , ")) == "10.0.0.1"


def test_only_trusted_hops_fall_back_to_the_peer() -> None:
    resolver = ClientResolver(["10.0.0.0/8"])

    assert resolver.ip(connection("10.0.0.1", "10.9.9.9, 10.8.8.8")) == "10.0.0.1"


def test_ipv6_proxies_and_clients() -> None:
    resolver = ClientResolver(["fd00::/8"])

    assert resolver.ip(connection("fd00::1", "2001:db8::42")) == "2001:db8::42"
    assert resolver.ip(connection("2001:db8::1", "2001:db8::42")) == "2001:db8::1"


def test_a_hostname_peer_is_never_trusted() -> None:
    resolver = ClientResolver(["10.0.0.0/8"])

    assert resolver.ip(connection("testclient", "1.2.3.4")) == "testclient"


def test_an_oversized_forwarded_entry_is_truncated() -> None:
    resolver = ClientResolver(["10.0.0.0/8"])

    ip = resolver.ip(connection("10.0.0.1", "x" * 500))

    assert ip is not None
    assert len(ip) == 64


def test_no_peer_means_no_ip() -> None:
    assert ClientResolver(["10.0.0.0/8"]).ip(connection(None, "1.2.3.4")) is None


@pytest.mark.parametrize("entry", ["not-an-ip", "10.0.0.0/33"])
def test_invalid_trusted_proxy_entries_are_refused(entry: str) -> None:
    with pytest.raises(ValueError, match=r"does not appear to be|netmask"):
        ClientResolver([entry])


def test_client_info_carries_ip_and_truncated_user_agent() -> None:
    resolver = ClientResolver([])

    info = resolver(connection("203.0.113.9", agent="a" * 300))

    assert info == ClientInfo(ip="203.0.113.9", user_agent="a" * 256)
    assert resolver(connection("203.0.113.9")).user_agent is None
