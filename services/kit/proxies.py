"""The client's address behind trusted proxies (load balancers, ingress).

Only when the TCP peer lies in one of the configured trusted networks
(`PUHUI_TRUSTED_PROXIES`, CIDRs) is `x-forwarded-for` read, and then the right-most address
that is not itself a trusted proxy is the client (each proxy appends the address it saw, so
only entries added by our own proxies can be believed; anything left of them was written
by the client). From any other peer the header is ignored: a caller cannot choose its own
address, and with it its brute-force ceiling.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_FOR = "x-forwarded-for"


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses) as networks; ValueError names a malformed one."""
    networks = []
    for cidr in cidrs:
        text = cidr.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP network (CIDR)") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # "[2001:db8::1]:443"
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # "203.0.113.7:5555"
        text = text.partition(":")[0]
    try:
        found = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Sequence[Network]
) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def client_address(
    peer: str,
    metadata: Iterable[tuple[str, str | bytes]] | None,
    networks: Sequence[Network],
) -> str:
    """The caller's address: `peer`, or (peer trusted) the right-most untrusted forwarded one."""
    if not networks:
        return peer
    current = _address(peer)
    if current is None or not _trusted(current, networks):
        return peer
    hops: list[str] = []
    for key, value in metadata or ():
        if key == FORWARDED_FOR:
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            hops.extend(text.split(","))
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage from the left of our proxies: stop at the last believable hop
        current = address
        if not _trusted(address, networks):
            break
    return str(current)
