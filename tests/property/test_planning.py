"""Property tests for the pure planning functions: subnet layout and capacity math."""

from __future__ import annotations

import ipaddress
import math
import string

from hypothesis import assume, given
from hypothesis import strategies as st

from components import planning

PRIVATE_BASES = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


@st.composite
def vpcs(draw: st.DrawFn) -> ipaddress.IPv4Network:
    base = draw(st.sampled_from(PRIVATE_BASES))
    prefix = draw(st.integers(min_value=max(16, base.prefixlen), max_value=28))
    offset = draw(st.integers(min_value=0, max_value=2 ** (prefix - base.prefixlen) - 1))
    return ipaddress.IPv4Network((int(base.network_address) + (offset << (32 - prefix)), prefix))


zone_counts = st.integers(min_value=1, max_value=7)


def zones(count: int) -> list[str]:
    return [f"zone-{string.ascii_lowercase[i]}" for i in range(count)]


@given(vpc=vpcs(), count=zone_counts)
def test_subnets_fit_inside_the_vpc_without_overlap(vpc: ipaddress.IPv4Network, count: int) -> None:
    assume(vpc.prefixlen <= planning.largest_prefix_for(count))
    plan = planning.plan_subnets(str(vpc), zones(count))
    subnets = [s.public for s in plan] + [s.private for s in plan]
    assert len(plan) == count
    assert [s.zone for s in plan] == zones(count)
    for subnet in subnets:
        assert subnet.subnet_of(vpc)
    for i, a in enumerate(subnets):
        for b in subnets[i + 1 :]:
            assert not a.overlaps(b)


@given(vpc=vpcs(), count=zone_counts)
def test_subnets_respect_the_size_floors(vpc: ipaddress.IPv4Network, count: int) -> None:
    assume(vpc.prefixlen <= planning.largest_prefix_for(count))
    for subnet in planning.plan_subnets(str(vpc), zones(count)):
        assert subnet.private.prefixlen <= planning.MIN_PRIVATE_PREFIX
        assert subnet.public.prefixlen <= planning.MIN_PUBLIC_PREFIX
        # Fleets live in the private subnets: they get the lion's share.
        assert subnet.private.num_addresses > subnet.public.num_addresses


@given(vpc=vpcs(), count=zone_counts)
def test_too_small_vpcs_are_rejected_with_the_size_needed(vpc: ipaddress.IPv4Network, count: int) -> None:
    fits = vpc.prefixlen <= planning.largest_prefix_for(count)
    try:
        planning.subnet_layout(vpc, count)
    except ValueError as too_small:
        assert not fits
        assert f"needs /{planning.largest_prefix_for(count)} or larger" in str(too_small)
    else:
        assert fits


@given(vpc=vpcs(), count=st.integers(min_value=1, max_value=6))
def test_adding_a_zone_keeps_existing_subnets(vpc: ipaddress.IPv4Network, count: int) -> None:
    # Within a slot tier (up to 3 zones, then up to 7), a new zone must not renumber the
    # existing subnets: a changed CIDR replaces the subnet and every instance in it.
    assume(planning._slot_bits(count) == planning._slot_bits(count + 1))
    assume(vpc.prefixlen <= planning.largest_prefix_for(count + 1))
    before = planning.plan_subnets(str(vpc), zones(count))
    after = planning.plan_subnets(str(vpc), zones(count + 1))
    assert after[:count] == before


capacities = st.builds(
    lambda a, b, c: planning.Capacity(*sorted((a, b, c))),
    st.integers(0, 300),
    st.integers(0, 300),
    st.integers(1, 300),
)


@given(base=capacities, multiplier=st.floats(min_value=1, max_value=20), target=st.integers(10, 95))
def test_promotion_capacity_carries_the_peak_at_the_cpu_target(
    base: planning.Capacity, multiplier: float, target: int
) -> None:
    peak = planning.promotion_capacity(base, multiplier, target)
    assert peak.min == peak.desired
    assert peak.desired >= math.ceil(base.desired * multiplier - 1e-9)
    assert peak.desired >= base.min
    assert peak.max >= base.max
    assert peak.max >= peak.desired
    # Max leaves room for the load to exceed the forecast until CPU would reach 100%.
    assert peak.max * target / 100 >= peak.desired - 1e-9


@given(base=capacities, percent=st.integers(1, 100), floor=st.integers(1, 2))
def test_regional_capacity_scales_min_and_desired_but_keeps_max(
    base: planning.Capacity, percent: int, floor: int
) -> None:
    scaled = planning.regional_capacity(base, percent, floor)
    assert scaled.max == base.max
    assert scaled.min <= scaled.desired <= scaled.max
    assert scaled.min <= max(base.min, floor)
    if percent < 100:
        assert scaled.min >= min(floor, base.max)
        assert scaled.desired <= max(base.desired, scaled.min)
    else:
        assert scaled == base
