"""Running scenarios, and judging them against the stack's objectives. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from courier.storm import engine
from courier.storm.fleets import Environment
from courier.storm.scenarios import Run, Scenario


@dataclass(frozen=True)
class FleetResult:
    region: str
    service: str
    platform: str
    cloud: str
    outcome: engine.Outcome
    price: float | None
    unjudged: str | None
    #: Requests per second one instance (pod) serves at 100% CPU.
    rps: float = 1.0

    @property
    def cost(self) -> float | None:
        return None if self.price is None else round(self.outcome.instance_hours * self.price, 2)

    @property
    def cost_ratio(self) -> float | None:
        ideal = self.outcome.ideal_instance_hours
        return self.outcome.instance_hours / ideal if ideal > 0 else None

    def to_json(self) -> dict[str, Any]:
        o = self.outcome
        return {
            "region": self.region,
            "service": self.service,
            "platform": self.platform,
            "overloadedMinutes": round(o.overloaded_minutes, 2),
            "unservedPercent": round(o.unserved_percent, 3),
            "recoveryMinutes": round(o.recovery_minutes, 2),
            "peakCpuPercent": round(o.peak_cpu_percent, 1),
            "maxCapacity": o.max_capacity,
            "instanceHours": round(o.instance_hours, 2),
            "idealInstanceHours": round(o.ideal_instance_hours, 2),
            "cost": self.cost,
            **({"judged": False, "why": self.unjudged} if self.unjudged else {}),
        }


@dataclass(frozen=True)
class ScenarioResult:
    scenario: Scenario
    fleets: tuple[FleetResult, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.scenario.name,
            "kind": self.scenario.kind,
            "description": self.scenario.description,
            "start": self.scenario.start.isoformat(),
            "fleets": [f.to_json() for f in self.fleets],
        }


@dataclass(frozen=True)
class Check:
    """One objective on one fleet in one scenario."""

    objective: str
    scenario: str
    region: str
    service: str
    value: float
    limit: float

    @property
    def met(self) -> bool:
        return self.value <= self.limit + 1e-9

    def to_json(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "scenario": self.scenario,
            "region": self.region,
            "service": self.service,
            "value": round(self.value, 3),
            "limit": self.limit,
            "met": self.met,
        }


def run(scenario: Scenario) -> ScenarioResult:
    return ScenarioResult(scenario, tuple(_one(r) for r in scenario.runs))


def _one(run: Run) -> FleetResult:
    outcome = engine.simulate(
        run.setup, run.demand, run.duration, measure_from=run.measure_from, surge_at=run.surge_at, events=run.events
    )
    f = run.fleet
    return FleetResult(f.region, f.service, f.platform, f.cloud, outcome, f.price, run.unjudged, f.rps)


def judge(results: Sequence[ScenarioResult], objectives: Mapping[str, Any] | None) -> list[Check]:
    """Every objective in force, for every judged fleet of the scenarios it concerns."""
    if not objectives:
        return []
    checks: list[Check] = []
    surge = objectives.get("surge")
    promotion = objectives.get("promotion")
    exempt = objectives.get("exempt") or []
    for result in results:
        kind = result.scenario.kind
        for fleet in _judged(result.fleets):
            o = fleet.outcome
            name = result.scenario.name
            if kind == "surge" and surge and not exempted(exempt, "surge", fleet):
                checks.append(
                    Check(
                        "surge.maxOverloadedMinutes",
                        name,
                        fleet.region,
                        fleet.service,
                        o.overloaded_minutes,
                        surge["maxOverloadedMinutes"],
                    )
                )
                checks.append(
                    Check(
                        "surge.maxUnservedPercent",
                        name,
                        fleet.region,
                        fleet.service,
                        o.unserved_percent,
                        surge["maxUnservedPercent"],
                    )
                )
                if fleet.cost_ratio is not None:
                    checks.append(
                        Check(
                            "surge.maxCostRatio",
                            name,
                            fleet.region,
                            fleet.service,
                            fleet.cost_ratio,
                            surge["maxCostRatio"],
                        )
                    )
            if kind == "promotion" and promotion and not exempted(exempt, "promotion", fleet):
                level = result.scenario.level
                if level <= 1 + promotion["marginPercent"] / 100 + 1e-9:
                    checks.append(
                        Check(
                            "promotion.maxUnservedPercent",
                            name,
                            fleet.region,
                            fleet.service,
                            o.unserved_percent,
                            promotion["maxUnservedPercent"],
                        )
                    )
                if level == 1.0 and fleet.cost_ratio is not None:
                    checks.append(
                        Check(
                            "promotion.maxCostRatio",
                            name,
                            fleet.region,
                            fleet.service,
                            fleet.cost_ratio,
                            promotion["maxCostRatio"],
                        )
                    )
    return checks


def exempted(exempt: Sequence[Mapping[str, Any]], objective: str, fleet: FleetResult) -> bool:
    """Whether the stack's config exempts ``fleet`` from ``objective``."""
    return any(
        e.get("objective") == objective
        and e.get("region") in (None, fleet.region)
        and e.get("service") in (None, fleet.service)
        for e in exempt
    )


def exemption_notes(objectives: Mapping[str, Any] | None) -> list[str]:
    return [
        f"exempt from the {e['objective']} objectives: {e.get('service') or 'every service'} in "
        f"{e.get('region') or 'every region'}: {e['reason']}"
        for e in (objectives or {}).get("exempt") or []
    ]


def _judged(fleets: Iterable[FleetResult]) -> Iterable[FleetResult]:
    return (f for f in fleets if f.unjudged is None)


def run_all(environment: Environment, scenarios: Sequence[Scenario]) -> tuple[list[ScenarioResult], list[Check]]:
    results = [run(s) for s in scenarios]
    return results, judge(results, environment.objectives)
