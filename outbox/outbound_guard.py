"""Where Ondol may send a request it was told to send (a webhook URL): public addresses only,
unless configuration allows a network on purpose (the local stack allows its own sink on loopback).

A subscriber could otherwise point a webhook at the database, the broker's admin port or a cloud
metadata service. The name is resolved here, every address it resolves to is checked, and the
request is then pinned to the checked address (the Host header and TLS server name keep the
name), so a second resolution cannot change the answer between check and use (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

__all__ = ["BlockedDestinationError", "OutboundPolicy", "PinnedTarget", "check_url_shape", "resolve"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedDestinationError(ValueError):
    """The URL is malformed, or leads to an address Ondol must not call."""


@dataclass(frozen=True)
class OutboundPolicy:
    allowed_networks: tuple[IPNetwork, ...] = ()
    """Non-public networks that may still be called (e.g. 127.0.0.1/32 for a local sink)."""

    @classmethod
    def allowing(cls, networks: Iterable[str]) -> OutboundPolicy:
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def permits(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allowed_networks):
            return True
        return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class PinnedTarget:
    """A URL whose host has been resolved and checked; `url` names the address itself."""

    url: str
    host_header: str
    server_name: str | None
    """The TLS server name (SNI and certificate check), for https."""


def check_url_shape(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL without credentials; BlockedDestinationError otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedDestinationError(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise BlockedDestinationError("the URL must start with http:// or https://")
    if not parts.hostname:
        raise BlockedDestinationError("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise BlockedDestinationError("the URL must not carry credentials; the signature authenticates")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(url: str, policy: OutboundPolicy) -> PinnedTarget:
    """Resolve and check `url`'s host; the target pinned to its first permitted address."""
    scheme, host, port = check_url_shape(url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise BlockedDestinationError(f"cannot resolve {host!r}: {exc}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    blocked = [a for a in addresses if not policy.permits(a)]
    if blocked or not addresses:
        raise BlockedDestinationError(
            f"{host!r} resolves to a non-public address ({', '.join(map(str, blocked))}); "
            "allow its network in the webhook settings if this is intended"
        )
    address = addresses[0]
    netloc = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
    parts = urlsplit(url)
    default_port = port == (443 if scheme == "https" else 80)
    host_header = host if default_port else f"{host}:{port}"
    pinned = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    return PinnedTarget(pinned, host_header, host if scheme == "https" else None)
