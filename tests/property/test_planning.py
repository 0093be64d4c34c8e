"""Property tests for the pure planning functions: subnet layout and capacity math."""

from __future__ import annotations

import ipaddress
import math
import string
from datetime import UTC, datetime, timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from components import planning
from components.planning import Capacity, PromotionSchedule, capacity_in_force, within_horizon

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


# -- promotions under way and scheduling horizons (exact values) ---------------------------

_NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _schedule(name: str, raise_days: float | None, restore_days: float, cap: Capacity) -> PromotionSchedule:
    raise_at = None if raise_days is None else _NOW + timedelta(days=raise_days)
    return PromotionSchedule(name, raise_at, _NOW + timedelta(days=restore_days), cap)


def test_capacity_in_force_is_the_base_before_any_promotion() -> None:
    base = Capacity(6, 9, 60)
    ahead = _schedule("double-12", 17, 18, Capacity(27, 27, 60))
    assert capacity_in_force(base, [ahead]) == base


def test_capacity_in_force_holds_a_running_promotion_with_at_least_the_base_max() -> None:
    base = Capacity(6, 9, 60)
    running = _schedule("double-12", None, 1, Capacity(27, 27, 34))
    later = _schedule("spring", 60, 64, Capacity(23, 23, 60))
    assert capacity_in_force(base, [later, running]) == Capacity(27, 27, 60)
    assert capacity_in_force(base, [_schedule("big", None, 1, Capacity(40, 40, 90))]) == Capacity(40, 40, 90)


def test_within_horizon_defers_a_promotion_whose_restore_is_beyond_it() -> None:
    cap = Capacity(2, 2, 4)
    near = _schedule("near", 80, 88, cap)
    straddling = _schedule("straddling", 88, 92, cap)
    far = _schedule("far", 340, 341, cap)
    ready, deferred = within_horizon([near, straddling, far], _NOW, timedelta(days=89))
    assert [s.name for s in ready] == ["near"]
    assert [(d.name, d.schedulable_from, d.deadline) for d in deferred] == [
        ("straddling", _NOW + timedelta(days=3), _NOW + timedelta(days=88)),
        ("far", _NOW + timedelta(days=252), _NOW + timedelta(days=340)),
    ]
    # Exactly at the horizon is still schedulable.
    edge = _schedule("edge", 88, 89, cap)
    assert within_horizon([edge], _NOW, timedelta(days=89)) == ([edge], [])


def test_a_warm_standby_runs_its_share_of_min_and_desired_rounded_up() -> None:
    # prod's Seoul standby at 34%: orders (6/9/60) -> 3/4/60, tracking (6/12/90) -> 3/5/90.
    assert planning.regional_capacity(Capacity(6, 9, 60), 34, 2) == Capacity(3, 4, 60)
    assert planning.regional_capacity(Capacity(6, 12, 90), 34, 2) == Capacity(3, 5, 90)
    # The floor wins over a smaller share; the full fleet is unchanged.
    assert planning.regional_capacity(Capacity(2, 2, 10), 10, 2) == Capacity(2, 2, 10)
    assert planning.regional_capacity(Capacity(6, 9, 60), 100, 2) == Capacity(6, 9, 60)


def test_promotion_capacity_exact_values() -> None:
    # desired 9 x 3 = 27 at 80%: max room to 100% CPU is ceil(27 x 100 / 80) = 34, below 60.
    assert planning.promotion_capacity(Capacity(6, 9, 60), 3, 80) == Capacity(27, 27, 60)
    assert planning.promotion_capacity(Capacity(6, 12, 30), 2.5, 70) == Capacity(30, 30, 43)
    assert planning.promotion_capacity(Capacity(3, 4, 60), 1.1, 80) == Capacity(5, 5, 60)


def test_promotion_capacity_from_the_forecast_load_exact_values() -> None:
    # 9 instances at 50% = 4.5 instance-loads; x3 = 13.5; at 80%: 16.875 -> 17.
    assert planning.promotion_capacity(Capacity(6, 9, 60), 3, 80, 50) == Capacity(17, 17, 60)
    # 6 at 50% x2.5 = 7.5 at 70% -> 10.71 -> 11; max: 11 at 100% / 70% -> 16 < 30.
    assert planning.promotion_capacity(Capacity(6, 6, 30), 2.5, 70, 50) == Capacity(11, 11, 30)
    # A small promotion still raises the floor by one: 4 x 40% x 1.1 / 0.8 = 2.2 -> 3 -> min 3 + 1.
    assert planning.promotion_capacity(Capacity(3, 4, 60), 1.1, 80, 40) == Capacity(4, 4, 60)
    # The max grows to carry the peak at 100% CPU: 50 x 60% x 4 / 0.5 = 240; 240 / 0.5 = 480.
    assert planning.promotion_capacity(Capacity(10, 50, 100), 4, 50, 60) == Capacity(240, 240, 480)


def test_the_prewarm_lead_covers_lateness_launch_warmup_and_a_margin() -> None:
    # 120 s late + 150 s launch + 180 s warmup + 300 s margin = 750 s -> 12.5 -> 13 minutes.
    assert planning.prewarm_lead_minutes(150, 180) == 13
    assert planning.prewarm_lead_minutes(180, 180) == 13
    assert planning.prewarm_lead_minutes(60, 0) == 8
    assert planning.prewarm_lead_minutes(120 + 60, 60) == 11
    # Whole minutes of 60 seconds: 3660 s is 61 minutes exactly.
    assert planning.prewarm_lead_minutes(3000, 240) == 61


def test_the_smallest_vpcs_that_fit_and_the_first_that_does_not() -> None:
    # Floors: private subnets /26 at most, public /28 (AWS's smallest). Three or fewer zones
    # cut the VPC in 4 slots: a /24 fits exactly, a /25 does not.
    assert planning.subnet_layout(ipaddress.IPv4Network("10.0.0.0/24"), 3) == (26, 28)
    assert planning.largest_prefix_for(3) == 24
    assert planning.largest_prefix_for(4) == 22  # 8 slots, and 8 /28 public subnets in the last: /22
    for too_small in ("10.0.0.0/25", "10.0.0.0/27"):
        try:
            planning.subnet_layout(ipaddress.IPv4Network(too_small), 3)
        except ValueError as error:
            assert "needs /24 or larger" in str(error)
        else:
            raise AssertionError(f"{too_small} was accepted")


def test_regional_capacity_rounds_a_share_up_never_down() -> None:
    assert planning.regional_capacity(Capacity(101, 101, 200), 1, 1) == Capacity(2, 2, 200)
    assert planning.regional_capacity(Capacity(100, 100, 200), 1, 1) == Capacity(1, 1, 200)


def test_promotion_schedules_skip_ended_promotions_and_mark_running_ones() -> None:
    base = Capacity(2, 2, 10)
    start = _NOW + timedelta(hours=1)
    end = _NOW + timedelta(hours=5)
    ahead = planning.promotion_schedules([("p", start, end, 30, 2)], base, 80, _NOW)
    assert [(s.raise_at, s.restore_at, s.window_start) for s in ahead] == [
        (start - timedelta(minutes=30), end, start - timedelta(minutes=30))
    ]
    # Raising exactly now is already too late to schedule: the raise is in force instead.
    at_raise = planning.promotion_schedules([("p", start, end, 60, 2)], base, 80, _NOW)
    assert at_raise[0].raise_at is None and at_raise[0].window_start == _NOW
    # Ended exactly now: nothing left to restore.
    assert planning.promotion_schedules([("p", start, _NOW, 60, 2)], base, 80, _NOW) == []


def test_node_groups_hold_the_minimum_and_the_peak_plus_a_node_per_zone() -> None:
    # m6i.xlarge: 4 vCPU, 16 GiB -> 3500m and 14848 MiB allocatable after reservations.
    demand = planning.PodDemand(cpu_millicores=500, memory_mib=512, min_pods=6, max_pods=48)
    assert planning.node_group_capacity([demand], 4, 16384, 3) == Capacity(3, 3, 10)
    # Memory-bound pods size by memory: 7 x 2048 MiB = 14336 fits one node of 14848.
    heavy = planning.PodDemand(cpu_millicores=100, memory_mib=2048, min_pods=7, max_pods=15)
    assert planning.node_group_capacity([heavy], 4, 16384, 1) == Capacity(1, 1, 4)
    assert planning.node_group_capacity([heavy], 4, 16384, 2) == Capacity(2, 2, 5)
    # Exactly full: 7 pods of 500m on 3500m is one node, not two.
    exact = planning.PodDemand(cpu_millicores=500, memory_mib=64, min_pods=7, max_pods=7)
    assert planning.node_group_capacity([exact], 4, 16384, 1) == Capacity(1, 1, 2)
    for too_big in (planning.PodDemand(3501, 64, 1, 1), planning.PodDemand(100, 14849, 1, 1)):
        try:
            planning.node_group_capacity([too_big], 4, 16384, 1)
        except ValueError as error:
            assert "does not fit on a node with 3500m / 14848 MiB allocatable" in str(error)
        else:
            raise AssertionError(f"{too_big} was accepted")
    assert planning.node_group_capacity([planning.PodDemand(3500, 14848, 1, 1)], 4, 16384, 1) == Capacity(1, 1, 2)


def test_more_zones_need_a_larger_vpc_because_of_the_public_subnets() -> None:
    # Four zones: 8 slots; a /23 leaves room for /26 private subnets but its last slot cannot
    # hold eight /28 public ones, so it is refused and a /22 is the smallest that fits.
    try:
        planning.subnet_layout(ipaddress.IPv4Network("10.0.0.0/23"), 4)
    except ValueError as error:
        assert "needs /22 or larger" in str(error)
    else:
        raise AssertionError("a /23 was accepted for 4 zones")
    assert planning.subnet_layout(ipaddress.IPv4Network("10.0.0.0/22"), 4) == (25, 28)


def test_a_standbys_desired_share_is_rounded_up_independently_of_its_floor() -> None:
    assert planning.regional_capacity(Capacity(1, 101, 200), 1, 1) == Capacity(1, 2, 200)


def test_a_service_with_no_pods_adds_no_nodes_beyond_one_per_zone() -> None:
    idle = planning.PodDemand(cpu_millicores=500, memory_mib=512, min_pods=0, max_pods=0)
    assert planning.node_group_capacity([idle], 4, 16384, 3) == Capacity(3, 3, 3)
