"""Address space, judged by coverage rather than by spelling.

"Open to the internet" is a property of the addresses a rule admits, not of the literal
``0.0.0.0/0``: ``0.0.0.0/1`` + ``128.0.0.0/1`` admit every IPv4 address, ``::/0`` every IPv6
one, and a rule that admits a quarter of the internet is as open as one that admits all of it.
A CIDR list is *open* when the public addresses its union covers reach ``OPEN_IPV4`` (a /8's
worth) or ``OPEN_IPV6`` (a /32's worth, the smallest allocation a registry gives an ISP):
named networks (an office, a VPN's egress, a partner's range) are orders of magnitude smaller.
Private, loopback, link-local and other non-global ranges never count.

Pure: ``ipaddress`` only; no pulumi imports, so the offline plan and the tests use it directly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

#: Public IPv4 addresses (a /8) from which a rule counts as open to the internet.
OPEN_IPV4 = 2**24
#: Public IPv6 addresses (a /32) from which a rule counts as open to the internet.
OPEN_IPV6 = 2**96

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: IANA special-purpose ranges that are not globally reachable (RFC 6890 and successors).
_NOT_GLOBAL: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/8",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


@dataclass(frozen=True)
class Exposure:
    """What a list of CIDRs admits from the internet."""

    ipv4: int
    ipv6: int
    #: Entries that are not CIDRs or addresses (kept so a policy can say so, never ignored).
    invalid: tuple[str, ...] = ()

    @property
    def open(self) -> bool:
        return self.ipv4 >= OPEN_IPV4 or self.ipv6 >= OPEN_IPV6

    @property
    def describe(self) -> str:
        """``all of IPv4``, ``50% of IPv4``, ``2^100 IPv6 addresses``: for messages."""
        parts = []
        if self.ipv4:
            share = self.ipv4 / 2**32
            parts.append(
                "all of IPv4"
                if share >= 0.75
                else f"{share:.0%} of IPv4"
                if share >= 0.01
                else f"{self.ipv4} IPv4 addresses"
            )
        if self.ipv6:
            parts.append("all of IPv6" if self.ipv6 >= 2**127 else f"2^{self.ipv6.bit_length() - 1} IPv6 addresses")
        return " and ".join(parts) or "no public address"


def parse(value: object) -> Network | None:
    """A CIDR or a single address as a network (host bits allowed, as the clouds allow them),
    or None when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _public_size(networks: Iterable[Network]) -> int:
    """How many globally reachable addresses the union of ``networks`` (one family) covers."""
    merged = list(ipaddress.collapse_addresses(networks))  # type: ignore[arg-type]
    total = 0
    for network in merged:
        size = network.num_addresses
        for reserved in _NOT_GLOBAL:
            if reserved.version != network.version:
                continue
            if network.subnet_of(reserved):  # type: ignore[arg-type]
                size = 0
                break
            if reserved.subnet_of(network):  # type: ignore[arg-type]
                size -= reserved.num_addresses
        total += max(size, 0)
    return total


def exposure(cidrs: Iterable[object]) -> Exposure:
    """What ``cidrs`` (strings; anything else is reported as invalid) admit from the internet."""
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    invalid: list[str] = []
    for value in cidrs:
        network = parse(value)
        if network is None:
            invalid.append(str(value))
        elif network.version == 4:
            v4.append(network)  # type: ignore[arg-type]
        else:
            v6.append(network)  # type: ignore[arg-type]
    return Exposure(ipv4=_public_size(v4), ipv6=_public_size(v6), invalid=tuple(invalid))


def is_open(cidrs: Iterable[object]) -> bool:
    """Whether ``cidrs`` together admit the internet (see the module docstring)."""
    return exposure(cidrs).open
