"""Pure planning: subnet layout and capacity math. Creates no resources.

Kept apart from the components so it can be tested exhaustively (property tests in
tests/property/) and reused by the spec to reject a config before anything is declared.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# AWS refuses subnets smaller than /28; a fleet subnet that small would also run out of
# addresses during a promotion, so private subnets get a larger floor.
MIN_PUBLIC_PREFIX = 28
MIN_PRIVATE_PREFIX = 26


@dataclass(frozen=True)
class SubnetPlan:
    zone: str
    public: ipaddress.IPv4Network
    private: ipaddress.IPv4Network


def _slot_bits(zone_count: int) -> int:
    # At least 4 slots, so a VPC planned for 2 zones keeps every subnet when a third zone is
    # added later (a changed CIDR would replace the subnet and everything in it).
    return max(2, math.ceil(math.log2(zone_count + 1)))


def subnet_layout(vpc: ipaddress.IPv4Network, zone_count: int) -> tuple[int, int]:
    """Prefix lengths (private, public) for ``zone_count`` zones in ``vpc``.

    The VPC is cut into 2^k equal slots with 2^k > zone_count: the first ``zone_count``
    slots are the private subnets (where fleets live and grow), the last slot is cut again
    into 2^k small public subnets, one per zone (load balancer nodes and NAT gateways only).
    Raises ValueError when the subnets would be smaller than the floors above.
    """
    if zone_count < 1:
        raise ValueError("at least one zone is needed")
    bits = _slot_bits(zone_count)
    private_prefix = vpc.prefixlen + bits
    public_prefix = private_prefix + bits
    if private_prefix > MIN_PRIVATE_PREFIX or public_prefix > MIN_PUBLIC_PREFIX:
        raise ValueError(
            f"/{vpc.prefixlen} is too small for {zone_count} zones (needs /{largest_prefix_for(zone_count)} or larger)"
        )
    return private_prefix, public_prefix


def largest_prefix_for(zone_count: int) -> int:
    """The longest VPC prefix (smallest VPC) that still fits ``zone_count`` zones."""
    bits = _slot_bits(zone_count)
    return min(MIN_PRIVATE_PREFIX - bits, MIN_PUBLIC_PREFIX - 2 * bits)


def plan_subnets(vpc_cidr: str, zones: list[str] | tuple[str, ...]) -> list[SubnetPlan]:
    """One public and one private subnet per zone, none overlapping, all inside the VPC."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    private_prefix, public_prefix = subnet_layout(vpc, len(zones))
    blocks = list(vpc.subnets(new_prefix=private_prefix))
    public_pool = blocks[-1].subnets(new_prefix=public_prefix)
    return [SubnetPlan(zone=zone, private=blocks[i], public=next(public_pool)) for i, zone in enumerate(zones)]


@dataclass(frozen=True)
class Capacity:
    min: int
    desired: int
    max: int


def regional_capacity(base: Capacity, percent: int, floor: int) -> Capacity:
    """Capacity of a fleet in a region that runs ``percent`` of the full fleet.

    A warm standby keeps a fraction of min/desired running but the full max, so that when
    traffic fails over to it, target tracking can grow it to a whole region's size.
    ``floor`` is the smallest min the environment accepts (2 in prod: one per zone survives).
    """
    if percent >= 100:
        return base
    min_size = min(base.max, max(floor, math.ceil(base.min * percent / 100)))
    desired = min(base.max, max(min_size, math.ceil(base.desired * percent / 100)))
    return Capacity(min=min_size, desired=desired, max=base.max)


def promotion_capacity(
    base: Capacity, multiplier: float, cpu_target: int, normal_cpu_percent: float | None = None
) -> Capacity:
    """Capacity to hold during a promotion expected to bring ``multiplier`` x normal load.

    Normal load keeps the everyday ``desired`` instances at ``normal_cpu_percent`` (on a normal
    day's peak), so the forecast peak is ``desired x normal/100 x multiplier`` instance-loads,
    held at the CPU target by ``ceil(load x 100 / target)`` instances: min and desired are
    raised to that. Without ``normal_cpu_percent`` the fleet is assumed to sit at its target
    (``ceil(desired x multiplier)``), which over-provisions a fleet that normally runs cooler.
    A pre-scale always raises the floor by at least one instance (the policies tell a fleet
    held for a promotion by it). Max is raised (never lowered) so target tracking can still add
    capacity if the peak exceeds the forecast, until the fleet would run at 100% CPU.
    """
    if normal_cpu_percent is None:
        peak = math.ceil(base.desired * multiplier - 1e-9)
    else:
        load = base.desired * normal_cpu_percent / 100 * multiplier
        peak = math.ceil(load * 100 / cpu_target - 1e-9)
    peak = max(peak, base.min + 1)
    headroom = math.ceil(peak * 100 / cpu_target - 1e-9)
    return Capacity(min=peak, desired=peak, max=max(base.max, headroom, peak))


#: EC2 Auto Scaling runs a scheduled action "up to about 2 minutes" late (REFERENCE).
SCHEDULED_ACTION_DELAY_SECONDS = 120
#: Margin on top of a computed pre-scale lead.
PREWARM_MARGIN_SECONDS = 300


def prewarm_lead_minutes(launch_seconds: float, warmup_seconds: float) -> int:
    """How long before a promotion its capacity is raised when the config does not say: the
    scheduled action's lateness, a cold launch to serving, the instance warmup and a margin,
    in whole minutes. Earlier only costs instance-hours at the peak's size."""
    total = SCHEDULED_ACTION_DELAY_SECONDS + launch_seconds + warmup_seconds + PREWARM_MARGIN_SECONDS
    return math.ceil(total / 60 - 1e-9)


@dataclass(frozen=True)
class ScheduleWindow:
    raise_at: datetime
    restore_at: datetime


def promotion_window(start: datetime, end: datetime, prewarm_minutes: int) -> ScheduleWindow:
    """When to raise capacity (``prewarm_minutes`` before the start) and when to restore it."""
    return ScheduleWindow(raise_at=start - timedelta(minutes=prewarm_minutes), restore_at=end)


@dataclass(frozen=True)
class PromotionSchedule:
    """Capacity to hold through one promotion, and when to raise and restore it."""

    name: str
    #: None when the raise moment has already passed (the promotion is under way).
    raise_at: datetime | None
    restore_at: datetime
    capacity: Capacity
    #: When the pre-scaled window starts (``raise_at``, even once it has passed).
    window_start: datetime | None = None


def promotion_schedules(
    promotions: Sequence[tuple[str, datetime, datetime, int, float]],
    base: Capacity,
    cpu_target: int,
    now: datetime,
    normal_cpu_percent: float | None = None,
) -> list[PromotionSchedule]:
    """One schedule per (name, start, end, prewarm minutes, multiplier) that has not ended."""
    schedules = []
    for name, start, end, prewarm_minutes, multiplier in promotions:
        if end <= now:
            continue
        window = promotion_window(start, end, prewarm_minutes)
        schedules.append(
            PromotionSchedule(
                name=name,
                raise_at=window.raise_at if window.raise_at > now else None,
                restore_at=window.restore_at,
                capacity=promotion_capacity(base, multiplier, cpu_target, normal_cpu_percent),
                window_start=window.raise_at,
            )
        )
    return schedules


def capacity_in_force(base: Capacity, schedules: Sequence[PromotionSchedule]) -> Capacity:
    """The capacity a fleet's own settings should hold at the moment of the plan.

    Outside promotions that is the configured capacity. Once a promotion's raise moment has
    passed (its scheduled action has run, and the cloud has deleted it), the fleet is meant to
    hold the promotion's capacity until the restore: an `up` in the middle of the peak (after a
    `pulumi refresh` read the raised values back, or not) must keep them, never put min and
    max back to the everyday values. The restore action still brings them back at the end.
    """
    for schedule in schedules:
        if schedule.raise_at is None:
            held = schedule.capacity
            return Capacity(min=held.min, desired=held.desired, max=max(held.max, base.max))
    return base


@dataclass(frozen=True)
class Deferred:
    """A promotion that cannot be scheduled yet: beyond the cloud's scheduling horizon."""

    name: str
    #: The earliest moment the next `up` can schedule it (its last task then fits the horizon).
    schedulable_from: datetime
    #: The latest moment that `up` must have run: the promotion's raise moment.
    deadline: datetime


def within_horizon(
    schedules: Sequence[PromotionSchedule], now: datetime, horizon: timedelta
) -> tuple[list[PromotionSchedule], list[Deferred]]:
    """Split schedules into those whose every task falls within ``horizon`` of ``now`` (a
    cloud that refuses tasks further ahead, such as Alibaba ESS's 90 days, can take them) and
    the deferred rest, with the window in which a later `up` can and must schedule them."""
    ready: list[PromotionSchedule] = []
    deferred: list[Deferred] = []
    for schedule in schedules:
        if schedule.restore_at <= now + horizon:
            ready.append(schedule)
        else:
            deadline = schedule.raise_at or schedule.restore_at
            deferred.append(Deferred(schedule.name, schedule.restore_at - horizon, deadline))
    return ready, deferred


def aws_timestamp(moment: datetime) -> str:
    """AWS scheduled actions take UTC timestamps in ``YYYY-MM-DDThh:mm:ssZ`` form."""

    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def alicloud_timestamp(moment: datetime) -> str:
    """ESS scheduled tasks take UTC timestamps in ``YYYY-MM-DDThh:mmZ`` form."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


@dataclass(frozen=True)
class PodDemand:
    """What one Kubernetes service asks of its cluster."""

    cpu_millicores: int
    memory_mib: int
    min_pods: int
    max_pods: int


#: What a node keeps for the kubelet, the container runtime and the system daemons
#: (EKS-style reservations, rounded up).
NODE_RESERVED_CPU_MILLICORES = 250
NODE_RESERVED_MEMORY_MIB = 1024
#: Requests of the cluster's own add-ons per node (CNI, kube-proxy, metrics agents).
NODE_DAEMON_CPU_MILLICORES = 250
NODE_DAEMON_MEMORY_MIB = 512


def node_group_capacity(demands: Sequence[PodDemand], vcpus: int, memory_mib: int, zones: int) -> Capacity:
    """Size a node group for the pods it hosts.

    min holds every service at its minimum with a node per zone; max holds every service at
    its maximum (the cluster autoscaler adds nodes up to it during a storm), plus one node per
    zone so a zone outage or a rolling node update never strands pods. Raises ValueError when
    one pod does not fit on a node at all.
    """
    cpu = vcpus * 1000 - NODE_RESERVED_CPU_MILLICORES - NODE_DAEMON_CPU_MILLICORES
    memory = memory_mib - NODE_RESERVED_MEMORY_MIB - NODE_DAEMON_MEMORY_MIB
    for demand in demands:
        if demand.cpu_millicores > cpu or demand.memory_mib > memory:
            raise ValueError(
                f"a pod requesting {demand.cpu_millicores}m CPU / {demand.memory_mib} MiB does not fit on a node "
                f"with {cpu}m / {memory} MiB allocatable"
            )

    def nodes(pods: Callable[[PodDemand], int]) -> int:
        by_cpu = sum(pods(d) * d.cpu_millicores for d in demands) / cpu
        by_memory = sum(pods(d) * d.memory_mib for d in demands) / memory
        return math.ceil(max(by_cpu, by_memory, 0) - 1e-9)

    low = max(zones, nodes(lambda d: d.min_pods))
    high = max(low, nodes(lambda d: d.max_pods) + zones)
    return Capacity(min=low, desired=low, max=high)
