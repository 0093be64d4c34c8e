"""Parity matches resources by role, not by the region's code or zone letters."""

from __future__ import annotations

from courier.dr.parity import _key
from courier.plan import Resource


def resource(name: str) -> Resource:
    return Resource(
        urn=f"urn:x::{name}",
        type="aws:ec2/subnet:Subnet",
        name=name,
        custom=True,
        parent=None,
        provider=None,
        region=None,
        protect=False,
        dependencies=[],
        inputs={},
    )


def test_zone_letters_match_by_position() -> None:
    # Tokyo's zones are a, c, d; Osaka's a, b, c: the third zone's subnet is the same subnet.
    tokyo = _key(resource("apne1-private-d"), "apne1", ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"])
    osaka = _key(resource("apne3-private-c"), "apne3", ["ap-northeast-3a", "ap-northeast-3b", "ap-northeast-3c"])
    assert tokyo == osaka == ("aws:ec2/subnet:Subnet", "{region}-private-{zone2}")
    # Letters that are not the region's zones, and longer segments, are left alone.
    assert _key(resource("apne1-orders-x"), "apne1", ["ap-northeast-1a"])[1] == "{region}-orders-x"
    assert _key(resource("apne1-alb-logs"), "apne1", ["ap-northeast-1a"])[1] == "{region}-alb-logs"
