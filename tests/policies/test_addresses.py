"""policies/guardrails/addresses.py: "open to the internet" by the address space a list admits."""

from __future__ import annotations

import importlib

import pytest

import tests.policies.harness  # noqa: F401  (puts policies/ on the path, as the pack runs)

addresses = importlib.import_module("guardrails.addresses")
OPEN_IPV4, OPEN_IPV6 = addresses.OPEN_IPV4, addresses.OPEN_IPV6
exposure, is_open, parse = addresses.exposure, addresses.is_open, addresses.parse


@pytest.mark.parametrize(
    "cidrs",
    [
        ["0.0.0.0/0"],
        ["::/0"],
        ["0.0.0.0/1", "128.0.0.0/1"],
        ["0.0.0.0/1"],  # half of the internet is open
        ["8.0.0.0/9", "8.128.0.0/9"],  # exactly a /8's worth of public space
        ["2400::/12"],
        ["10.0.0.0/8", "1.0.0.0/8"],  # the private half counts for nothing, the public /8 does
        [" 0.0.0.0/0 "],  # as the clouds trim it
        ["0.0.0.1/0"],  # host bits set, as the clouds accept them
    ],
)
def test_lists_that_admit_the_internet_are_open(cidrs: list[str]) -> None:
    assert is_open(cidrs) and exposure(cidrs).open


@pytest.mark.parametrize(
    "cidrs",
    [
        [],
        ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"],
        ["8.0.0.0/9"],  # half a /8: a big network, not the internet
        ["203.0.113.16/28", "198.51.100.32/29"],  # documentation ranges: not global
        ["1.2.3.4/32", "1.2.3.4"],
        ["fc00::/7", "fe80::/10", "2001:db8::/32"],
        ["2400::/33"],  # half an ISP allocation
        ["not-a-cidr", 42, None],
    ],
)
def test_named_networks_and_private_space_are_not(cidrs: list[object]) -> None:
    assert not is_open(cidrs) and not exposure(cidrs).open


def test_overlapping_entries_are_counted_once() -> None:
    # Eight copies of the same half-/8 are still half a /8.
    assert exposure(["8.0.0.0/9"] * 8).ipv4 == 2**23
    assert not is_open(["8.0.0.0/9"] * 8)
    assert exposure(["8.0.0.0/8", "8.0.0.0/9"]).ipv4 == 2**24


def test_the_thresholds_are_a_slash_8_and_a_slash_32() -> None:
    assert OPEN_IPV4 == 2**24 and OPEN_IPV6 == 2**96
    below = exposure(["8.0.0.0/9", "9.0.0.0/10", "9.64.0.0/11", "9.96.0.0/12"])
    assert below.ipv4 == OPEN_IPV4 - 2**20 and not below.open
    assert exposure(["2400::/32"]).ipv6 == OPEN_IPV6 and exposure(["2400::/32"]).open


def test_reserved_ranges_inside_a_wide_range_are_subtracted() -> None:
    # 0.0.0.0/0 minus every special-purpose IPv4 range of the table.
    reserved = sum(n.num_addresses for n in addresses._NOT_GLOBAL if n.version == 4)
    assert exposure(["0.0.0.0/0"]).ipv4 == 2**32 - reserved
    # A /8 that is reserved as a whole counts for nothing; one beside it counts whole.
    assert exposure(["127.0.0.0/8"]).ipv4 == 0 and exposure(["126.0.0.0/8"]).ipv4 == 2**24
    assert exposure(["::/0"]).ipv6 == 2**128 - sum(n.num_addresses for n in addresses._NOT_GLOBAL if n.version == 6)


def test_invalid_entries_are_kept_for_the_message() -> None:
    found = exposure(["0.0.0.0/0", "office", 7])
    assert found.invalid == ("office", "7") and found.open
    assert parse("10.1.2.3/16") is not None and parse("office") is None and parse(None) is None


@pytest.mark.parametrize(
    ("cidrs", "described"),
    [
        (["0.0.0.0/0"], "all of IPv4"),
        (["128.0.0.0/2"], "25% of IPv4"),
        (["1.0.0.0/8"], "16777216 IPv4 addresses"),
        (["::/0"], "all of IPv6"),
        (["2400::/32"], "2^96 IPv6 addresses"),
        (["0.0.0.0/0", "::/0"], "all of IPv4 and all of IPv6"),
        (["10.0.0.0/8"], "no public address"),
    ],
)
def test_the_description_says_how_much(cidrs: list[str], described: str) -> None:
    assert exposure(cidrs).describe == described
