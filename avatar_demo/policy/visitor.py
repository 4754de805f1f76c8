"""Who a visitor is: their Hugging Face login when signed in, else their address as a trusted proxy reports it.

Headers a client sets itself are never believed: X-Forwarded-For counts only for the entries that
proxies we trust appended (AVATAR_PROXY_HOPS, 1 on a Space, 0 elsewhere). A new session, cleared
cookies or a forged header therefore do not make a new visitor. The limits: visitors behind one
address (a school, a mobile carrier's NAT) share an allowance, and someone with many addresses has
many; on a share link every visitor arrives through the local tunnel and shares one address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Visitor", "client_address", "identify"]


@dataclass(frozen=True)
class Visitor:
    """One person as far as the allowance can tell."""

    #: Stable key for the ledger: "hf:<username>", "user:<name>" or "ip:<address>".
    key: str
    #: How the page names them.
    label: str
    signed_in: bool = False
    orgs: tuple[str, ...] = ()


def _normalized(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return address.strip() or "unknown"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)  # ::ffff:1.2.3.4 is the IPv4 client 1.2.3.4
    if ip.version == 6 and not ip.is_loopback:
        # One household or phone gets a whole /64: count the network, not each address in it.
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_address(headers: Mapping[str, str], peer: str | None, hops: int) -> str:
    """The client's address: the entry *hops* from the right of X-Forwarded-For, else the TCP peer."""
    if hops > 0:
        entries = [e.strip() for e in (headers.get("x-forwarded-for") or "").split(",") if e.strip()]
        if len(entries) >= hops:
            return _normalized(entries[-hops])
    return _normalized(peer or "unknown")


def identify(*, username: str | None, orgs: Sequence[str] = (), auth_user: str | None = None,
             headers: Mapping[str, str], peer: str | None, hops: int) -> Visitor:
    """The visitor behind one request."""
    if username:
        return Visitor(f"hf:{username}", username, signed_in=True, orgs=tuple(orgs))
    if auth_user:
        return Visitor(f"user:{auth_user}", auth_user)
    address = client_address(headers, peer, hops)
    return Visitor(f"ip:{address}", address)
