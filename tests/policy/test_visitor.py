"""Who a visitor is: trusted proxy hops only, IPv6 by /64, and the login before the address."""

from __future__ import annotations

import pytest

from avatar_demo.policy.visitor import Visitor, client_address, identify

PEER = "10.0.0.1"


@pytest.mark.parametrize(
    ("forwarded", "peer", "hops", "expected"),
    [
        # hops=0: X-Forwarded-For is ignored entirely, whatever it says.
        (None, PEER, 0, PEER),
        ("1.2.3.4", PEER, 0, PEER),
        ("6.6.6.6, 1.2.3.4", PEER, 0, PEER),
        # hops=1: the rightmost entry, the one our proxy appended.
        ("1.2.3.4", PEER, 1, "1.2.3.4"),
        ("6.6.6.6, 1.2.3.4", PEER, 1, "1.2.3.4"),  # a client-set leftmost entry never counts
        ("6.6.6.6,7.7.7.7,  1.2.3.4 ", PEER, 1, "1.2.3.4"),
        ("6.6.6.6, , 1.2.3.4,", PEER, 1, "1.2.3.4"),  # empty entries are not entries
        # hops=2: the second from the right.
        ("6.6.6.6, 1.2.3.4, 172.16.0.9", PEER, 2, "1.2.3.4"),
        # Fewer entries than trusted hops: the header is not what our proxies write, use the peer.
        ("1.2.3.4", PEER, 2, PEER),
        (None, PEER, 1, PEER),
        ("", PEER, 1, PEER),
        (" , ", PEER, 1, PEER),
        (None, None, 0, "unknown"),
        (None, "", 1, "unknown"),
    ],
)
def test_client_address_table(forwarded: str | None, peer: str | None, hops: int, expected: str) -> None:
    """The address is X-Forwarded-For's entry *hops* from the right when trusted, else the TCP peer."""
    headers = {} if forwarded is None else {"x-forwarded-for": forwarded}
    assert client_address(headers, peer, hops) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("[2001:db8:1:2::9]", "2001:db8:1:2::/64"),
        ("2001:DB8:1:3::1", "2001:db8:1:3::/64"),
        ("::1", "::1"),  # loopback stays itself
        ("1.2.3.4", "1.2.3.4"),
        (" 1.2.3.4 ", "1.2.3.4"),
        ("not-an-ip", "not-an-ip"),
    ],
)
def test_addresses_are_normalized(address: str, expected: str) -> None:
    """IPv6 addresses collapse to their /64 (one household), others are kept (trimmed) as they are."""
    assert client_address({}, address, 0) == expected
    assert client_address({"x-forwarded-for": f"9.9.9.9, {address}"}, PEER, 1) == expected


def test_addresses_in_one_ipv6_64_are_one_visitor() -> None:
    """Two addresses in one /64 are the same visitor; one in the next /64 is another."""
    one = identify(username=None, headers={}, peer="2001:db8:0:1::a", hops=0)
    same = identify(username=None, headers={}, peer="2001:db8:0:1:ffff::b", hops=0)
    other = identify(username=None, headers={}, peer="2001:db8:0:2::a", hops=0)
    assert one.key == same.key == "ip:2001:db8:0:1::/64"
    assert other.key != one.key


@pytest.mark.parametrize(
    ("username", "auth_user", "expected"),
    [
        ("alice", "admin", Visitor("hf:alice", "alice", signed_in=True, orgs=("acme",))),
        ("alice", None, Visitor("hf:alice", "alice", signed_in=True, orgs=("acme",))),
        (None, "admin", Visitor("user:admin", "admin")),
        ("", "admin", Visitor("user:admin", "admin")),
        (None, None, Visitor("ip:1.2.3.4", "1.2.3.4")),
        (None, "", Visitor("ip:1.2.3.4", "1.2.3.4")),
    ],
)
def test_identify_prefers_login_then_auth_user_then_address(username: str | None, auth_user: str | None,
                                                            expected: Visitor) -> None:
    """The Hugging Face login wins, then the AVATAR_AUTH user, then the trusted address."""
    found = identify(username=username, orgs=["acme"], auth_user=auth_user,
                     headers={"x-forwarded-for": "6.6.6.6, 1.2.3.4"}, peer=PEER, hops=1)
    assert found == expected


def test_a_forged_header_does_not_make_a_new_visitor() -> None:
    """A client changing its own X-Forwarded-For prefix stays the same visitor behind one proxy."""
    first = identify(username=None, headers={"x-forwarded-for": "1.2.3.4"}, peer=PEER, hops=1)
    forged = identify(username=None, headers={"x-forwarded-for": "8.8.8.8, 1.2.3.4"}, peer=PEER, hops=1)
    direct = identify(username=None, headers={"x-forwarded-for": "8.8.8.8"}, peer="1.2.3.4", hops=0)
    assert first.key == forged.key == direct.key == "ip:1.2.3.4"
    assert not first.signed_in


@pytest.mark.parametrize(("mapped", "plain"), [("::ffff:1.2.3.4", "1.2.3.4"), ("::ffff:5.6.7.8", "5.6.7.8")])
def test_ipv4_mapped_addresses_are_their_ipv4_address(mapped: str, plain: str) -> None:
    """A dual-stack listener's ::ffff:a.b.c.d peer is the IPv4 visitor a.b.c.d, not one /64 shared by all."""
    assert client_address({}, mapped, 0) == plain
    assert client_address({"x-forwarded-for": mapped}, PEER, 1) == plain
