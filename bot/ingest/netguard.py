"""Where the importer may go: the operator's sites, the sites they allow, public addresses.

A URL the operator names (on the command line or in NEWSBOT_FEEDS) is theirs to fetch, and
so is the rest of its site (same scheme, host and port; http upgraded to https on the same
host counts), at whatever addresses its host resolves to: an intranet feed on news.intra
(10.x) or localhost works as it is. What a feed or a redirect points at elsewhere is not:
it must be on a site NEWSBOT_FETCH_SITES allows, and its host must resolve to public
addresses only (loopback, private, link-local and other special addresses, also inside
IPv6 forms, need NEWSBOT_FETCH_PRIVATE).
The addresses are checked when the connection is made, on the address connected to, so a
host name that resolves differently the second time (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import os
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

# Set around each request: True when the addresses connected to must be public.
_CHECK_ADDRESSES: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "check_addresses", default=False
)
DEFAULT_PORTS = {"http": 80, "https": 443}
# httpx's own client limits, kept explicit since the pool is built here.
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


class Refused(Exception):
    """A URL the importer may not fetch; the message says why and which setting allows it."""


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, lower-case, the default port filled in."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        port = -1  # a port that is no number: matches nothing
    return scheme, (parts.hostname or "").lower().rstrip("."), port


def origin_url(url: str) -> str:
    """`scheme://host:port` of a URL (no user info, no path): one site, one key."""
    scheme, host, port = origin(url)
    name = f"[{host}]" if ":" in host else host
    return f"{scheme}://{name}" + ("" if DEFAULT_PORTS.get(scheme) == port else f":{port}")


def same_site(url: str, named: str) -> bool:
    """Is `url` on the site of `named`: same scheme, host and port, or its https twin?"""
    here, there = origin(url), origin(named)
    if not here[1] or here[1] != there[1]:
        return False
    return here == there or (
        here[0] == "https" and here[2] == 443 and there[0] == "http" and there[2] == 80
    )


# IPv6 forms that carry an IPv4 address the packets end up at (RFC 6052 NAT64, RFC 8215
# local-use NAT64): the embedded address is the one that counts.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def is_public(address: str) -> bool:
    """A global unicast address: not loopback, private, link-local, site-local, multicast,
    unspecified or reserved, nor an IPv6 form wrapping such an IPv4 address (mapped,
    compatible, NAT64, 6to4, Teredo)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:  # both must be public: unwrapping never lets more in
            return ip.is_global and is_public(str(inner))
        if ip.is_site_local:
            return False
    return ip.is_global and not (
        ip.is_multicast or ip.is_unspecified or ip.is_reserved or ip.is_loopback
    )


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv6 one, if it is one of the forms that carry one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # (server, client): the client is where packets go
    packed = ip.packed
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(packed[-4:])
    if packed[:12] == bytes(12) and int(ip) > 1:  # ::a.b.c.d, IPv4-compatible (deprecated)
        return ipaddress.IPv4Address(packed[-4:])
    return None


async def public_addresses(host: str, port: int) -> list[str]:
    """The host's addresses, all public; raises Refused if any is not."""
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"cannot resolve {host[:100]} ({exc})") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    bad = [a for a in addresses if not is_public(a)]
    if bad or not addresses:
        raise Refused(
            f"{host[:100]} resolves to a non-public address ({bad[0] if bad else 'none'}); "
            "NEWSBOT_FETCH_PRIVATE allows it"
        )
    return addresses


class Reach:
    """The rules above for one Fetcher: the extra sites allowed, and private addresses."""

    def __init__(self, sites: Iterable[str] = (), private: bool = False) -> None:
        self.any_site = "*" in sites
        self.sites = tuple(s for s in sites if s != "*")
        self.private = private

    def check(self, url: str, named: str) -> bool:
        """May `url` (reached from the operator's `named` URL) be fetched? Raises Refused;
        returns whether the addresses connected to must be public."""
        if same_site(url, named):
            # The operator named this site (127.0.0.1:8080, localhost, news.intra): it may
            # be wherever its host resolves to. This site only: others are checked below.
            return False
        if not (self.any_site or any(same_site(url, site) for site in self.sites)):
            scheme, host, port = origin(url)
            raise Refused(
                f"{scheme}://{host[:100]}:{port} is not the site of {named[:200]} "
                "(NEWSBOT_FETCH_SITES allows other sites)"
            )
        return not self.private


def checking(check: bool) -> contextvars.Token[bool]:
    """Check (or not) the addresses of the connections made from here on, in this task."""
    return _CHECK_ADDRESSES.set(check)


def done_checking(token: contextvars.Token[bool]) -> None:
    _CHECK_ADDRESSES.reset(token)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects to a checked public address of the host when the request asks for it."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        if not _CHECK_ADDRESSES.get():
            return await self._inner.connect_tcp(
                host, port, timeout, local_address, socket_options
            )
        # Each checked address in turn (an IPv6 one first that this machine cannot reach
        # must not hide the IPv4 one), as a plain connect would.
        addresses = await public_addresses(host, port)
        for address in addresses[:-1]:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue
        return await self._inner.connect_tcp(
            addresses[-1], port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Refused("no Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport() -> httpx.AsyncHTTPTransport:
    """httpx's transport, its connection pool connecting through the address check."""
    transport = httpx.AsyncHTTPTransport(limits=LIMITS)
    # httpx takes no network backend, so its pool is made again with ours (TLS still
    # verifies the host name: httpcore sends the URL's host as SNI, not the address),
    # with httpx's limits: httpcore's own defaults keep idle connections forever.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=LIMITS.max_connections,
        max_keepalive_connections=LIMITS.max_keepalive_connections,
        keepalive_expiry=LIMITS.keepalive_expiry,
        network_backend=_GuardedBackend(),
    )
    return transport


def proxies_set() -> list[str]:
    """The proxy variables set in the environment (HTTPS_PROXY, http_proxy, ...)."""
    names = ("http_proxy", "https_proxy", "all_proxy")
    return sorted(k for k, v in os.environ.items() if k.lower() in names and v.strip())
