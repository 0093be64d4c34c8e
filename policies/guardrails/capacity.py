"""Capacity math as policy: the fleets can carry the largest promotion's peak with a zone lost,
and with a region lost.

The peak of a fleet is the capacity its pre-scale holds (the largest ``desiredCapacity`` of its
prewarm actions or tasks: the forecast load at the CPU target) or, without a promotion, its
desired capacity; its ceiling is the largest ``maxSize`` it may have while that holds. Zones are
the distinct availability zones of the subnets (vSwitches) the group spans, read from those
resources, not the number of subnets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, StackValidationArgs

from guardrails.common import (
    ASG,
    ASG_SCHEDULE,
    ESS_GROUP,
    ESS_TASK,
    Report,
    get,
    num,
    of_type,
    siblings,
    stack_policy,
)
from guardrails.objects import index


@dataclass(frozen=True)
class Capacity:
    group: PolicyResource
    cloud: str
    region: str
    service: str
    zones: int
    peak: int
    ceiling: int


def _region(resource: PolicyResource) -> str:
    provider = resource.provider
    return str(get(provider.props, "region", default="")) if provider is not None else ""


def _service(props: Mapping[str, Any]) -> str:
    tags = get(props, "tags", default={})
    if isinstance(tags, list):
        return next((str(t.get("value")) for t in tags if isinstance(t, Mapping) and t.get("key") == "service"), "")
    return str(tags.get("service", "")) if isinstance(tags, Mapping) else ""


def capacities(args: StackValidationArgs) -> list[Capacity]:
    found = []
    for group in of_type(args, ASG):
        prewarms = [
            s.props
            for s in siblings(args, group, ASG_SCHEDULE)
            if str(get(s.props, "scheduledActionName", default="")).endswith("-prewarm")
        ]
        found.append(_capacity(args, group, "aws", prewarms, "desiredCapacity", "maxSize"))
    for group in of_type(args, ESS_GROUP):
        prewarms = [
            t.props
            for t in siblings(args, group, ESS_TASK)
            if str(get(t.props, "description", default="")).endswith(":prewarm")
        ]
        found.append(_capacity(args, group, "alicloud", prewarms, "desiredCapacity", "maxValue"))
    return found


def _capacity(
    args: StackValidationArgs,
    group: PolicyResource,
    cloud: str,
    prewarms: list[Mapping[str, Any]],
    desired_key: str,
    max_key: str,
) -> Capacity:
    props = group.props
    desired = int(get(props, "desiredCapacity", default=get(props, "minSize", default=0)))
    peak = max([desired, *(int(get(p, desired_key, default=0)) for p in prewarms)])
    ceiling = max([int(get(props, "maxSize", default=0)), *(int(get(p, max_key, default=0)) for p in prewarms)])
    return Capacity(
        group,
        cloud,
        _region(group),
        _service(props),
        # Distinct zones (objects.Stack.zones): several subnets in one zone count once.
        index(args).zones(group).count,
        peak,
        ceiling,
    )


@stack_policy(
    "courier-fleet-zone-loss-capacity",
    "With any one zone lost at the largest promotion's peak, every fleet's maximum in the remaining "
    "zones still carries the peak at the CPU target.",
    remediation="Raise the fleet's maximum (capacity.max) so that (zones - 1) / zones of it covers the peak.",
)
def zone_loss(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    for fleet in capacities(args):
        if fleet.zones < 2:
            continue  # single-zone groups are refused elsewhere (multi-AZ policies)
        remaining = fleet.ceiling * (fleet.zones - 1) / fleet.zones
        if remaining + 1e-9 < fleet.peak:
            needed = math.ceil(fleet.peak * fleet.zones / (fleet.zones - 1) - 1e-9)
            report(
                f"{fleet.group.name} peaks at {num(fleet.peak)} instances but may grow to {num(fleet.ceiling)}: with one "
                f"of its {fleet.zones} zones lost, the others' share ({remaining:g}) cannot carry the peak; raise the "
                f"maximum to at least {needed}.",
                fleet.group.urn,
            )


@stack_policy(
    "courier-fleet-region-loss-capacity",
    "With any region lost at the largest promotion's peak, each service's fleets in the surviving AWS "
    "regions (the standby included) can grow to carry the lost region's users too.",
    remediation="Raise capacity.max (the standby keeps the full max), or add a region.",
)
def region_loss(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    by_service: dict[str, list[Capacity]] = {}
    for fleet in capacities(args):
        by_service.setdefault(fleet.service, []).append(fleet)
    for service, fleets in sorted(by_service.items()):
        for lost in sorted({f.region for f in fleets}):
            verdict = _after_losing(fleets, lost)
            if verdict is None:
                continue
            needed, available, survivors = verdict
            if available < needed:
                report(
                    f"{service}: with {lost} lost at the peak its users need {num(needed)} instances in "
                    f"{', '.join(survivors) or 'no region'}, which can grow to {num(available)}; raise capacity.max.",
                )


def _after_losing(fleets: Iterable[Capacity], lost: str) -> tuple[int, int, list[str]] | None:
    """(instances needed, instances the survivors may reach, survivors) once ``lost`` is gone.
    AWS regions serve by latency and take mainland China's users if its region is lost; an
    Alibaba Cloud region serves only its country, so it is never a survivor."""
    fleets = list(fleets)
    lost_fleets = [f for f in fleets if f.region == lost]
    survivors = [f for f in fleets if f.region != lost and f.cloud == "aws"]
    if not lost_fleets or not survivors:
        return None
    if lost_fleets[0].cloud == "aws":
        needed = sum(f.peak for f in fleets if f.cloud == "aws")
    else:
        needed = sum(f.peak for f in fleets)
    return needed, sum(f.ceiling for f in survivors), sorted({f.region for f in survivors})
