"""How a drill's result is judged after it ran: the series that say the drilled services are
back, and the alert the hypothesis says must fire.

A probe is a query on the region's Managed Prometheus workspace over the recording rules the
stack generates (components.monitoring.rules), so a drill is judged by the numbers the alerts and
dashboards read: ``courier:fleet_instances:count`` back at what it was when the drill started
(instances or ready pods), ``courier:fleet_cpu_busy:ratio`` back under the CPU target. The
results function (components.aws.drills.results_function) reads them from the experiment's start
to a while after its end and publishes ``DrillPassed`` and ``RecoverySeconds``.

Pure data: the experiment templates' keys map to a :class:`Judgement`, shipped with the function
as JSON (``judgements``) and read back from the Plan by tests and ``python -m courier drill``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: The recording rules the probes read (components.monitoring.rules).
INSTANCES = "courier:fleet_instances:count"
CPU_BUSY = "courier:fleet_cpu_busy:ratio"

#: How late a change shows in the recorded series: the agent's 15 s scrape plus the workspace's
#: rule evaluation (AMP's default interval, 1 minute: the rule groups set none).
SERIES_LAG_SECONDS = 15 + 60
#: CPU is a rate over 2 minutes (``courier:fleet_cpu_busy:ratio``): it follows a drop about a
#: minute late on top of that.
RATE_LAG_SECONDS = 60
#: The results function's query step (components.aws.drills.results_function.STEP_SECONDS): a
#: recovery is known to the step.
STEP_SECONDS = 30

#: ``threshold`` of a probe that compares with the series' own value when the drill started.
AT_START = "start"


@dataclass(frozen=True)
class Probe:
    """Recovered while ``query <op> threshold`` holds (``AT_START``: the value at the start)."""

    query: str
    op: str
    threshold: float | str
    #: How late the series shows a recovery (SERIES_LAG_SECONDS, plus RATE_LAG_SECONDS for a rate).
    lag_seconds: int = SERIES_LAG_SECONDS

    def as_json(self) -> dict[str, Any]:
        return {"query": self.query, "op": self.op, "threshold": self.threshold}


@dataclass(frozen=True)
class Judgement:
    """What the results function checks for one drill: every probe holds from some moment to
    the end of the window, within ``recovery_minutes`` of the start (plus the series' lag:
    ``allowance_seconds``), and ``must_fire`` (an
    alert name) fired for ``service`` meanwhile."""

    recovery_minutes: float
    probes: Sequence[Probe] = ()
    must_fire: str | None = None
    service: str | None = None

    @property
    def allowance_seconds(self) -> int:
        """Added to the hypothesis' recovery time: the slowest probe's lag and one step."""
        return max((p.lag_seconds for p in self.probes), default=0) + (STEP_SECONDS if self.probes else 0)

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


def back_in_service(service: str, region: str) -> Probe:
    """The service's instances (or ready pods) back at least at their number at the start."""
    return Probe(f"{INSTANCES}{_selector(service, region)}", ">=", AT_START)


def cpu_under_target(service: str, region: str, cpu_target: int) -> Probe:
    """The service's CPU back under its target (a ratio: 80% is 0.8)."""
    return Probe(
        f"{CPU_BUSY}{_selector(service, region)}", "<", cpu_target / 100, SERIES_LAG_SECONDS + RATE_LAG_SECONDS
    )


def judgements(found: Mapping[str, Judgement]) -> dict[str, Any]:
    """The function's ``judgements.json``: drill key -> its judgement, sorted."""
    return {key: found[key].as_json() for key in sorted(found)}
