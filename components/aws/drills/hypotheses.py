"""What each drill should show, and by when: pure arithmetic over the storm model's named
assumptions (components.spec.storm: boot and warm-resume seconds, metric delays, pod start) and
the fleets' configuration, so a game day checks the same numbers ``python -m courier storm``
simulates with.

Each hypothesis says which alert fires (or that none may), the capacity the fleet reaches and
the recovery time; the experiment template carries it (description and tags) and
``python -m courier drill`` reads it back from the Plan.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

#: EC2 Auto Scaling checks instance health about once a minute; an instance that is stopped,
#: terminated or failing the load balancer's check is replaced from then on (assumed: AWS
#: documents the replacement, not its latency).
HEALTH_CHECK_SECONDS = 60
#: Target tracking's scale-out alarm: 3 of 3 datapoints above the target (REFERENCE.md).
SCALE_OUT_DATAPOINTS = 3
#: FleetCpuAboveTarget: fleet CPU above the target for 10 minutes (components.monitoring.rules),
#: plus a minute of scrape and rule evaluation.
CPU_ALERT_MINUTES = 11
#: Aurora's in-region failover: "typically less than 60 seconds" (Aurora user guide, high availability).
AURORA_FAILOVER_SECONDS = 60

#: How long each drill injects its fault (ISO 8601 in the templates).
ZONE_OUTAGE_MINUTES = 30
CPU_STORM_MINUTES = 20
#: The CPU storm holds launches back (insufficient capacity in every zone) this long, so CPU stays
#: above the target long enough for FleetCpuAboveTarget, then lets the scale-out through.
CPU_STORM_HOLD_MINUTES = 12
POD_STRESS_MINUTES = 15
#: The region drill keeps the writer in the other region this long before switching back.
SWITCHOVER_HOLD_MINUTES = 10
FLEET_LOSS_PERCENT = 30
POD_DELETE_PERCENT = 30


@dataclass(frozen=True)
class Fleet:
    """What the hypotheses need of one VM fleet in the region."""

    service: str
    desired: int
    max: int
    cpu_target: int
    warmup_seconds: int
    high_resolution: bool
    warm_pool: bool
    surge_step_percent: int
    #: components.spec.storm.resolved(...) for the service.
    assumptions: Mapping[str, float]
    #: The Auto Scaling group's name (a Pulumi output): its in-service count judges the drill.
    group_name: object = None

    @property
    def launch_seconds(self) -> float:
        """Launch to serving: from the warm pool when there is one, else cold."""
        return self.assumptions["warmResumeSeconds"] if self.warm_pool else self.assumptions["bootSeconds"]

    @property
    def detection_seconds(self) -> float:
        """CPU above the target to the scale-out request (3 datapoints and the metric's delay)."""
        if self.high_resolution:
            return SCALE_OUT_DATAPOINTS * 10 + self.assumptions["highResolutionDelaySeconds"]
        return SCALE_OUT_DATAPOINTS * 60 + self.assumptions["metricDelaySeconds"]


@dataclass(frozen=True)
class Hypothesis:
    summary: str
    #: The alert that must fire ("none": none may).
    alert: str
    #: What the fleet reaches.
    capacity: str
    recovery_minutes: float

    def tags(self) -> dict[str, str]:
        return {
            "hypothesis-alert": self.alert,
            "hypothesis-capacity": tag_value(self.capacity),
            "hypothesis-recovery-minutes": _minutes(self.recovery_minutes),
        }


#: What an AWS tag value may hold: letters, digits, spaces and _ . : / = + - @ (at most 256).
_NOT_IN_TAG = re.compile(r"[^\w .:/=+\-@]")


def tag_value(text: str) -> str:
    """``text`` as an AWS tag value: other characters dropped, at most 256 characters."""
    return " ".join(_NOT_IN_TAG.sub(" ", text).split())[:256]


def _minutes(value: float) -> str:
    rounded = math.ceil(value * 2) / 2
    return str(int(rounded)) if rounded.is_integer() else str(rounded)


def _span(value: float) -> str:
    """``1 minute``, ``2.5 minutes``: a duration rounded up to the half minute."""
    shown = _minutes(value)
    return f"{shown} minute" if shown == "1" else f"{shown} minutes"


def fleet_loss(fleet: Fleet) -> Hypothesis:
    lost = max(1, math.floor(fleet.desired * FLEET_LOSS_PERCENT / 100))
    recovery = (HEALTH_CHECK_SECONDS + fleet.launch_seconds) / 60
    source = "warm pool" if fleet.warm_pool else "cold launch"
    return Hypothesis(
        f"Terminating {FLEET_LOSS_PERCENT}% of the {fleet.service} fleet's instances (about {lost} of {fleet.desired}) loses no "
        f"request: the rest keep serving, Auto Scaling replaces them ({source}) and {fleet.service} is back at "
        f"{fleet.desired} in service within {_span(recovery)}. No alert may fire; "
        f"{fleet.service}-no-healthy-targets or the 5xx ratio stop the experiment.",
        "none",
        f"{fleet.service} back at {fleet.desired} in service",
        recovery,
    )


def cpu_storm(fleet: Fleet) -> Hypothesis:
    wanted = math.ceil(fleet.desired * 100 / fleet.cpu_target)
    if fleet.surge_step_percent:
        wanted = max(wanted, fleet.desired + math.ceil(fleet.desired * fleet.surge_step_percent / 100))
    wanted = min(wanted, fleet.max)
    detect = fleet.detection_seconds / 60
    recovery = CPU_STORM_HOLD_MINUTES + (fleet.launch_seconds + fleet.warmup_seconds) / 60
    return Hypothesis(
        f"CPU stress at 100% on every {fleet.service} instance: the CPU-{fleet.cpu_target}% scale-out asks for more "
        f"within {_span(detect)}; launches are held back for {CPU_STORM_HOLD_MINUTES} minutes (insufficient "
        f"capacity), so FleetCpuAboveTarget fires by minute {CPU_ALERT_MINUTES}; then {fleet.service} reaches "
        f"{wanted} instances and CPU is back under {fleet.cpu_target}% by minute {_minutes(recovery)}.",
        "FleetCpuAboveTarget",
        f"{fleet.service} scales out to {wanted} (from {fleet.desired})",
        recovery,
    )


def zone_outage(zone: str, zones: int, fleets: list[Fleet], database: bool) -> Hypothesis:
    slowest = max((f.launch_seconds for f in fleets), default=0.0)
    recovery = (HEALTH_CHECK_SECONDS + slowest) / 60
    if database:
        recovery = max(recovery, AURORA_FAILOVER_SECONDS / 60)
    share = f"about 1/{zones} of each fleet" if zones > 1 else "every instance"
    writer = f" the Aurora writer fails over within {AURORA_FAILOVER_SECONDS} s;" if database else ""
    return Hypothesis(
        f"{zone} loses power for {ZONE_OUTAGE_MINUTES} minutes ({share} stops, its subnets go dark, no launch "
        f"succeeds there):{writer} Auto Scaling replaces the lost instances in the other zones and every fleet is "
        f"back at its desired capacity within {_span(recovery)}. UnhealthyTargets may fire (warning); "
        "NoHealthyTargets and the 5xx ratio may not (they stop the experiment).",
        "UnhealthyTargets",
        ", ".join(f"{f.service} {f.desired}" for f in fleets) + " in service across the other zones",
        recovery,
    )


def region_switchover(target: str, rto_minutes: int) -> Hypothesis:
    return Hypothesis(
        f"The Aurora global database's writer moves to {target} (switchover: replicated first, no data lost) "
        f"within {rto_minutes} minutes, stays there {SWITCHOVER_HOLD_MINUTES} minutes while the other regions "
        "forward their writes, and goes back to where it was. AuroraGlobalDBRPOLag may not fire; the 5xx ratio "
        "stops the experiment.",
        "none",
        f"writer in {target} then back",
        rto_minutes,
    )


def pod_delete(service: str, pod_start_seconds: float) -> Hypothesis:
    recovery = (pod_start_seconds + 30) / 60
    return Hypothesis(
        f"Deleting {POD_DELETE_PERCENT}% of the {service} pods loses no request (the PodDisruptionBudget does not "
        f"apply to deletions: the remaining pods serve); the Deployment replaces them and every replica is ready "
        f"within {_span(recovery)}. No alert may fire.",
        "none",
        f"{service} back at its replicas",
        recovery,
    )


def pod_cpu_stress(service: str, cpu_target: int, pod_start_seconds: float) -> Hypothesis:
    recovery = (15 * 2 + pod_start_seconds + 60) / 60
    return Hypothesis(
        f"CPU stress on every {service} pod for {POD_STRESS_MINUTES} minutes: KEDA's HPA scales out within 30 s "
        f"(15 s sync, scale-up without stabilization) and utilization is back under {cpu_target}% within "
        f"{_span(recovery)}, so FleetCpuAboveTarget may not fire (the HPA keeps up).",
        "none",
        f"{service} scaled out by its HPA (at most its maximum)",
        recovery,
    )
