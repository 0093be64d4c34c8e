"""How a drill's result is judged after it ran: the series that say the drilled services are
back, and the alert the hypothesis says must fire.

A probe reads one series from the experiment's start to a while after its end, and says when it
held for good:

- **a VM fleet's instances** (``in_service``): Auto Scaling's own ``GroupInServiceInstances``
  (CloudWatch, 1-minute group metrics the fleets enable), back at least at its value before the
  start. Not the Prometheus count: an instance's agent runs on the instance, so a terminated or
  stopped instance's ``up`` series simply ends, with no staleness marker, and PromQL keeps
  counting it for its 5-minute lookback: the count would hide the loss;
- **a Kubernetes service's ready pods** (``pods_ready``): ``courier:fleet_instances:count``
  (kube-state-metrics, scraped by the cluster's agent, which marks a deleted pod's series
  stale), back at least at its value before the start;
- **CPU** (``cpu_under_target``): ``courier:fleet_cpu_busy:ratio`` back under the target.

The results function (components.aws.drills.results_function) publishes ``DrillPassed`` and
``RecoverySeconds`` from them. Pure data: the experiment templates' keys map to a
:class:`Judgement`, shipped with the function as JSON (``judgements``; an Auto Scaling group's
name is an output of the plan, resolved when the JSON is written) and read back from the Plan by
the tests and the verification.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The recording rules the Prometheus probes read (components.monitoring.rules).
INSTANCES = "courier:fleet_instances:count"
CPU_BUSY = "courier:fleet_cpu_busy:ratio"

PROMETHEUS = "prometheus"
CLOUDWATCH = "cloudwatch"

#: How late a change shows in the recorded series: the agent's 15 s scrape plus the workspace's
#: rule evaluation (AMP's default interval, 1 minute: the rule groups set none).
SERIES_LAG_SECONDS = 15 + 60
#: CPU is a rate over 2 minutes (``courier:fleet_cpu_busy:ratio``): it follows a drop about a
#: minute late on top of that.
RATE_LAG_SECONDS = 60
#: Auto Scaling's group metrics: 1-minute granularity, in CloudWatch within about a minute.
GROUP_METRIC_LAG_SECONDS = 60
#: The results function's steps: a Prometheus query_range step (results_function.STEP_SECONDS),
#: CloudWatch's period for the 1-minute group metrics. A recovery is known to the step.
STEP_SECONDS = 30
GROUP_METRIC_PERIOD = 60

#: ``threshold`` of a probe that compares with the series' own value when the drill started.
AT_START = "start"


@dataclass(frozen=True)
class Probe:
    """Recovered while ``<series> <op> threshold`` holds (``AT_START``: the value before the
    start). The series: ``query`` on the region's Managed Prometheus workspace, or ``metric`` (a
    CloudWatch metric: namespace, name, dimensions, stat) in the region."""

    op: str
    threshold: float | str
    query: str = ""
    metric: Mapping[str, Any] = field(default_factory=dict)
    #: How late the series shows a recovery.
    lag_seconds: int = SERIES_LAG_SECONDS

    @property
    def source(self) -> str:
        return CLOUDWATCH if self.metric else PROMETHEUS

    @property
    def step_seconds(self) -> int:
        return GROUP_METRIC_PERIOD if self.metric else STEP_SECONDS

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"source": self.source, "op": self.op, "threshold": self.threshold}
        if self.metric:
            found["metric"] = {**self.metric, "period": GROUP_METRIC_PERIOD}
        else:
            found["query"] = self.query
        return found


@dataclass(frozen=True)
class Judgement:
    """What the results function checks for one drill: every probe holds from some moment to
    the end of the window, within ``recovery_minutes`` of the start (plus the series' lag and
    step: ``allowance_seconds``), and ``must_fire`` (an alert name) fired for ``service``
    meanwhile."""

    recovery_minutes: float
    probes: Sequence[Probe] = ()
    must_fire: str | None = None
    service: str | None = None

    @property
    def allowance_seconds(self) -> int:
        """Added to the hypothesis' recovery time: the slowest probe's lag and step."""
        return max((p.lag_seconds + p.step_seconds for p in self.probes), default=0)

    def as_json(self) -> dict[str, Any]:
        return {
            "recoveryMinutes": self.recovery_minutes,
            "allowanceSeconds": self.allowance_seconds,
            "probes": [p.as_json() for p in self.probes],
            "mustFire": self.must_fire,
            "service": self.service,
        }


def _selector(service: str, region: str) -> str:
    return f'{{service="{service}", region="{region}"}}'


def in_service(group_name: object) -> Probe:
    """A VM fleet's instances in service (Auto Scaling's count) back at their number before."""
    return Probe(
        ">=",
        AT_START,
        metric={
            "namespace": "AWS/AutoScaling",
            "name": "GroupInServiceInstances",
            "dimensions": {"AutoScalingGroupName": group_name},
            # The worst minute: a loss that lasts part of a minute still shows.
            "stat": "Minimum",
        },
        lag_seconds=GROUP_METRIC_LAG_SECONDS,
    )


def pods_ready(service: str, region: str) -> Probe:
    """A Kubernetes service's ready pods back at least at their number before."""
    return Probe(">=", AT_START, query=f"{INSTANCES}{_selector(service, region)}")


def cpu_under_target(service: str, region: str, cpu_target: int) -> Probe:
    """The service's CPU back under its target (a ratio: 80% is 0.8)."""
    return Probe(
        "<",
        cpu_target / 100,
        query=f"{CPU_BUSY}{_selector(service, region)}",
        lag_seconds=SERIES_LAG_SECONDS + RATE_LAG_SECONDS,
    )


def judgements(found: Mapping[str, Judgement]) -> dict[str, Any]:
    """The function's ``judgements.json``: drill key -> its judgement, sorted (values may be
    Pulumi outputs: an Auto Scaling group's name)."""
    return {key: found[key].as_json() for key in sorted(found)}
