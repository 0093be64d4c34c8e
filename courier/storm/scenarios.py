"""Storm scenarios: demand curves per fleet, and what happens to the fleets. Pure.

Normal load of a fleet is its everyday desired capacity at the assumed normal CPU
(``normalCpuPercent``, a normal day's peak); a standby serves nothing until a failover.

- ``<promotion>`` (and ``@+25%``, ``@+50%``): from 10 minutes before the first pre-scale to
  ``PEAK_HOURS`` after the start; demand ramps from normal to forecast x level over
  ``RAMP_MINUTES`` at the start and holds. Measured from the first pre-scale (its lead time
  costs instance-hours) to the end of the window. A promotion too far ahead for a cloud's
  scheduling horizon (ESS: 90 days) has no tasks yet: those fleets are simulated as planned but
  not judged (the plan says by when the next `up` must run).
- ``surge-4x``: unannounced; normal load, then 4x at once, for the storm hour.
- ``az-loss``: at the largest promotion's peak (forecast), 30 minutes in, the busiest active
  region loses one zone's instances; groups relaunch them in the remaining zones.
- ``region-loss``: at that moment the busiest active region is lost; after Route 53's failover
  (health check interval x failure threshold, plus DNS caching) its users reach the surviving
  active regions (latency records; in proportion to their normal load), or the standby when
  none survives.
- ``replay``: a recorded series (CSV ``timestamp,requests_per_second``) scaled so that its
  95th percentile is each fleet's normal load.
"""

from __future__ import annotations

import bisect
import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from courier.storm import engine
from courier.storm.engine import Action, Event, FleetSetup, Window
from courier.storm.fleets import Environment, Fleet, Promotion

RAMP_MINUTES = 5
PEAK_HOURS = 2
LEAD_MINUTES = 10
SURGE_MULTIPLIER = 4
SURGE_SETTLE_MINUTES = 10
STORM_HOUR = 60
LOSS_AFTER_MINUTES = 30
#: How many days ahead Alibaba ESS accepts a scheduled task (CreateScheduledTask).
ESS_HORIZON_DAYS = 90
PROMOTION_LEVELS = (1.0, 1.25, 1.5)

Demand = Callable[[float], float]


class ScenarioError(ValueError):
    """A scenario that cannot be built (unknown name, unreadable replay file): exit 2."""


@dataclass(frozen=True)
class Run:
    """One fleet in one scenario."""

    fleet: Fleet
    setup: FleetSetup
    demand: Demand
    duration: float
    measure_from: float
    events: tuple[Event, ...] = ()
    #: When the storm hits (recovery counts from it); None: ``measure_from``.
    surge_at: float | None = None
    #: Why this fleet is simulated but not held to the objectives (None: judged).
    unjudged: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # promotion | surge | az-loss | region-loss | replay
    description: str
    start: datetime
    runs: tuple[Run, ...]
    promotion: str | None = None
    level: float = 1.0


def names(environment: Environment) -> list[str]:
    """Every scenario the environment has, in the order they are run by default."""
    found = []
    for promotion in environment.promotions:
        found += [_promotion_name(promotion, level) for level in PROMOTION_LEVELS]
    found.append("surge-4x")
    if environment.promotions:
        found += ["az-loss", "region-loss"]
    return found


def build(environment: Environment, name: str) -> Scenario:
    """The scenario called ``name`` (see names(); ``replay:FILE`` for a recorded series)."""
    if name.startswith("replay:"):
        return replay(environment, Path(name.removeprefix("replay:")))
    if name == "surge-4x":
        return surge(environment)
    if name in ("az-loss", "region-loss"):
        if not environment.promotions:
            raise ScenarioError(f"scenario {name!r} needs a promotion ahead: the stack has none")
        return loss(environment, name)
    for promotion in environment.promotions:
        for level in PROMOTION_LEVELS:
            if name == _promotion_name(promotion, level):
                return promoted(environment, promotion, level)
    raise ScenarioError(f"unknown scenario {name!r} (scenarios: {', '.join(names(environment))}, replay:FILE)")


def _promotion_name(promotion: Promotion, level: float) -> str:
    return promotion.name if level == 1.0 else f"{promotion.name}@+{round((level - 1) * 100)}%"


# -- the fleets at a moment ---------------------------------------------------------------------


def setup(fleet: Fleet, at: datetime) -> FleetSetup:
    """``fleet`` as it stands at ``at``: the plan's capacity with every schedule before ``at``
    applied, and the later ones as actions relative to ``at``."""
    low, high, desired = fleet.min, fleet.max, fleet.desired
    actions = []
    for schedule in fleet.schedules:
        if schedule.at <= at:
            low = schedule.min if schedule.min is not None else low
            high = schedule.max if schedule.max is not None else high
            desired = schedule.desired if schedule.desired is not None else desired
            desired = max(low, min(high, desired))
        else:
            actions.append(Action((schedule.at - at).total_seconds(), schedule.min, schedule.max, schedule.desired))
    a = fleet.assumptions
    common = FleetSetup(
        kind="vm",
        min=low,
        max=high,
        desired=desired,
        cpu_target=fleet.cpu_target,
        rps=fleet.rps,
        boot=float(a["alicloudBootSeconds"] if fleet.cloud == "alicloud" else a["bootSeconds"]),
        metric_delay=float(a["metricDelaySeconds"]),
        actions=tuple(actions),
        scheduled_delay=float(a["scheduledDelaySeconds"]),
    )
    if fleet.platform == "kubernetes":
        windows = tuple(
            Window((w.start - at).total_seconds(), (w.end - at).total_seconds(), w.replicas)
            for w in fleet.cron
            if w.end > at
        )
        # KEDA's metric comes from metrics-server (15-60 s scrapes): at most 30 s old.
        return replace(
            common,
            kind="pods",
            boot=float(a["podStartSeconds"]),
            period=15,
            metric_delay=min(30.0, float(a["metricDelaySeconds"])),
            behaviour=fleet.behaviour or engine.Behaviour(),
            nodes=fleet.nodes,
            windows=windows,
            node_provision=float(a["nodeProvisionSeconds"]),
        )
    return replace(
        common,
        period=fleet.period,
        warmup=fleet.warmup,
        warm_pool=fleet.warm_pool,
        warm_resume=float(a["warmResumeSeconds"]),
        step_rules=fleet.step_rules,
        target_tracking=fleet.target_tracking,
        scale_in=fleet.scale_in,
        tracking=fleet.tracking,
    )


def _ramp(base: float, peak: float, at: float, minutes: float = RAMP_MINUTES) -> Demand:
    span = minutes * 60

    def demand(t: float) -> float:
        if t < at:
            return base
        if t >= at + span or span <= 0:
            return peak
        return base + (peak - base) * (t - at) / span

    return demand


# -- promotions -----------------------------------------------------------------------------------


def _raise_at(promotion: Promotion) -> datetime:
    """The promotion's own lead, if it sets one; else its start (the fleets' schedules say)."""
    return promotion.start - timedelta(minutes=promotion.prewarm_minutes or 0)


def _deferred(fleet: Fleet, promotion: Promotion, as_of: datetime) -> str | None:
    """Why an Alibaba fleet has no tasks for ``promotion`` yet, or None."""
    if fleet.cloud != "alicloud":
        return None
    labelled = any(promotion.name in s.label for s in fleet.schedules)
    if labelled or promotion.end - as_of <= timedelta(days=ESS_HORIZON_DAYS):
        return None
    return (
        f"ESS schedules {promotion.name} only within {ESS_HORIZON_DAYS} days: the plan says when the next `up` must run"
    )


def promoted(environment: Environment, promotion: Promotion, level: float) -> Scenario:
    first = min([_raise_at(promotion), *_earliest_schedules(environment, promotion)])
    t0 = first - timedelta(minutes=LEAD_MINUTES)
    start = (promotion.start - t0).total_seconds()
    duration = start + PEAK_HOURS * 3600
    runs = []
    for fleet in environment.fleets:
        peak = fleet.normal_demand * promotion.multiplier * level
        runs.append(
            Run(
                fleet,
                setup(fleet, t0),
                _ramp(fleet.normal_demand, peak, start),
                duration,
                measure_from=LEAD_MINUTES * 60,
                surge_at=start,
                unjudged=_deferred(fleet, promotion, environment.as_of),
            )
        )
    return Scenario(
        _promotion_name(promotion, level),
        "promotion",
        f"{promotion.name} at {'its forecast' if level == 1 else f'{round((level - 1) * 100)}% above its forecast'} "
        f"({promotion.multiplier * level:g}x normal load from {promotion.start.isoformat()})",
        t0,
        tuple(runs),
        promotion=promotion.name,
        level=level,
    )


def _earliest_schedules(environment: Environment, promotion: Promotion) -> list[datetime]:
    """When the fleets' own pre-scaling for ``promotion`` starts (actions, tasks, cron)."""
    moments = [
        s.at
        for f in environment.fleets
        for s in f.schedules
        if promotion.name in s.label and "prewarm" in s.label and s.at <= promotion.start
    ]
    moments += [
        w.start for f in environment.fleets for w in f.cron if w.name == promotion.name and w.start <= promotion.start
    ]
    return [m for m in moments if promotion.start - m <= timedelta(days=1)]


# -- surge ----------------------------------------------------------------------------------------


def normal_moment(environment: Environment) -> datetime:
    """The plan's moment, or, inside a promotion's window (from its first pre-scale to its end),
    an hour after that promotion ends: an unannounced surge starts from a normal day."""
    moment = environment.as_of
    for promotion in sorted(environment.promotions, key=lambda p: p.start):
        opens = min([_raise_at(promotion), *_earliest_schedules(environment, promotion)])
        if opens <= moment < promotion.end + timedelta(hours=1):
            moment = promotion.end + timedelta(hours=1)
    return moment


def surge(environment: Environment) -> Scenario:
    t0 = normal_moment(environment)
    at = SURGE_SETTLE_MINUTES * 60
    runs = tuple(
        Run(
            fleet,
            setup(fleet, t0),
            _ramp(fleet.normal_demand, fleet.normal_demand * SURGE_MULTIPLIER, at, minutes=0),
            at + STORM_HOUR * 60,
            measure_from=at,
            unjudged="a standby serves nothing until a failover" if fleet.role == "standby" else None,
        )
        for fleet in environment.fleets
    )
    return Scenario(
        "surge-4x",
        "surge",
        f"unannounced {SURGE_MULTIPLIER}x normal load at once, for an hour"
        + ("" if t0 == environment.as_of else f" (from {t0.isoformat()}, after the promotion under way)"),
        t0,
        runs,
    )


# -- losses ---------------------------------------------------------------------------------------


def largest(promotions: Sequence[Promotion]) -> Promotion:
    return max(promotions, key=lambda p: (p.multiplier, -p.start.timestamp()))


def busiest(environment: Environment) -> str:
    """The active region with the most normal load (in instance-equivalents); the primary wins
    a tie, then the name."""
    load: dict[str, float] = {}
    for fleet in environment.fleets:
        if fleet.role != "standby":
            load[fleet.region] = load.get(fleet.region, 0.0) + fleet.normal_demand * _weight(fleet)
    primary = {r for r, info in environment.regions.items() if info.get("role") == "primary"}
    return max(sorted(load), key=lambda region: (round(load[region], 6), region in primary))


def _weight(fleet: Fleet) -> float:
    # Requests are not comparable across services; instance-equivalents of load are.
    return 1 / fleet.rps


def loss(environment: Environment, kind: str, region: str | None = None) -> Scenario:
    """``kind`` (az-loss or region-loss) in ``region`` (default: the busiest active region) at
    the largest promotion's forecast peak."""
    promotion = largest(environment.promotions)
    base = promoted(environment, promotion, 1.0)
    lost_region = region or busiest(environment)
    at = (promotion.start - base.start).total_seconds() + LOSS_AFTER_MINUTES * 60
    duration = at + STORM_HOUR * 60
    if kind == "az-loss":
        runs = []
        for run in base.runs:
            if run.fleet.region != lost_region:
                continue
            runs.append(
                replace(
                    run,
                    duration=duration,
                    measure_from=at,
                    surge_at=at,
                    events=(Event(at, 1 / max(1, run.fleet.zones)),),
                )
            )
        return Scenario(
            "az-loss",
            "az-loss",
            f"{lost_region} loses one of its zones {LOSS_AFTER_MINUTES} minutes into {promotion.name} (forecast load)",
            base.start,
            tuple(runs),
            promotion=promotion.name,
        )
    return _region_loss(environment, base, promotion, lost_region, at, duration)


def region_loss_now(environment: Environment, region: str) -> Scenario:
    """``region`` lost on a normal day (normal load, from the plan's moment or, inside a
    promotion, after it): can the survivors carry today's load?"""
    t0 = normal_moment(environment)
    at = SURGE_SETTLE_MINUTES * 60
    base = Scenario(
        "normal",
        "normal",
        "normal load",
        t0,
        tuple(
            Run(fleet, setup(fleet, t0), _ramp(fleet.normal_demand, fleet.normal_demand, at, minutes=0), at, at)
            for fleet in environment.fleets
        ),
    )
    return _region_loss(environment, base, None, region, at, at + STORM_HOUR * 60)


def _region_loss(
    environment: Environment, base: Scenario, promotion: Promotion | None, lost: str, at: float, duration: float
) -> Scenario:
    roles = {region: str(info.get("role")) for region, info in environment.regions.items()}
    clouds = {region: str(info.get("cloud")) for region, info in environment.regions.items()}
    # Latency records hold the active AWS regions; mainland China's geolocation record falls
    # back to them too. The standby answers only when no active region is healthy.
    survivors = [r for r, role in roles.items() if r != lost and role != "standby" and clouds.get(r) == "aws"]
    if not survivors:
        survivors = [r for r, role in roles.items() if r != lost and role == "standby"]
    moved: dict[str, float] = {}
    for run in base.runs:
        if run.fleet.region == lost:
            moved[run.fleet.service] = moved.get(run.fleet.service, 0.0) + run.demand(at)
    shares: dict[tuple[str, str], float] = {}
    for service in moved:
        peers = [r.fleet for r in base.runs if r.fleet.service == service and r.fleet.region in survivors]
        weights = {f.region: (f.normal_demand or f.base_desired * f.rps) for f in peers}
        total = sum(weights.values())
        for region, weight in weights.items():
            shares[(region, service)] = weight / total if total else 0.0
    runs = []
    for run in base.runs:
        fleet = run.fleet
        if fleet.region not in survivors:
            continue
        extra = moved.get(fleet.service, 0.0) * shares.get((fleet.region, fleet.service), 0.0)
        runs.append(
            replace(
                run,
                demand=_plus(run.demand, extra, at + environment.failover_seconds),
                duration=duration,
                measure_from=at,
                surge_at=at,
                unjudged=None,
            )
        )
    return Scenario(
        "region-loss",
        "region-loss",
        (
            f"{lost} is lost {LOSS_AFTER_MINUTES} minutes into {promotion.name}"
            if promotion
            else f"{lost} is lost on a normal day"
        )
        + f"; after {environment.failover_seconds:g} s of failover its users reach {', '.join(sorted(survivors)) or 'no region'}",
        base.start,
        tuple(runs),
        promotion=promotion.name if promotion else None,
    )


def _plus(demand: Demand, extra: float, after: float) -> Demand:
    return lambda t: demand(t) + (extra if t >= after else 0.0)


# -- replay ---------------------------------------------------------------------------------------


def read_series(path: Path) -> tuple[list[float], list[float]]:
    """(seconds from the first row, requests per second) of a CSV ``timestamp,rps`` file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(
            f"replay file {path}: cannot be read ({getattr(error, 'strerror', None) or error})"
        ) from None
    times: list[float] = []
    values: list[float] = []
    first: datetime | None = None
    header = False
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or row[0].startswith("#"):
            continue
        if not times and not header and len(row) == 2 and not _is_number(row[-1]):
            header = True  # the first row may name the columns
            continue
        if len(row) != 2:
            raise ScenarioError(
                f"replay file {path}, line {number}: expected timestamp,requests_per_second (got {len(row)} fields)"
            )
        try:
            moment = datetime.fromisoformat(row[0].strip())
            value = float(row[1])
        except ValueError:
            raise ScenarioError(
                f"replay file {path}, line {number}: expected an ISO 8601 timestamp and a number (got {','.join(row)[:80]!r})"
            ) from None
        if not math.isfinite(value) or value < 0:
            raise ScenarioError(
                f"replay file {path}, line {number}: requests per second must be 0 or more (got {row[1][:40]!r})"
            )
        if moment.tzinfo is None:
            raise ScenarioError(
                f"replay file {path}, line {number}: the timestamp needs a UTC offset (got {row[0][:40]!r})"
            )
        first = first or moment
        offset = (moment - first).total_seconds()
        if times and offset <= times[-1]:
            raise ScenarioError(f"replay file {path}, line {number}: timestamps must increase")
        times.append(offset)
        values.append(value)
    if len(times) < 2:
        raise ScenarioError(f"replay file {path}: needs at least two rows of timestamp,requests_per_second")
    return times, values


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def replay(environment: Environment, path: Path) -> Scenario:
    times, values = read_series(path)
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)] or max(ordered) or 1.0

    def curve(scale: float) -> Demand:
        def demand(t: float) -> float:
            i = bisect.bisect_right(times, t) - 1
            if i < 0:
                return values[0] * scale
            if i >= len(times) - 1:
                return values[-1] * scale
            share = (t - times[i]) / (times[i + 1] - times[i])
            return (values[i] + (values[i + 1] - values[i]) * share) * scale

        return demand

    runs = tuple(
        Run(
            fleet,
            setup(fleet, environment.as_of),
            curve(fleet.normal_demand / p95),
            times[-1],
            measure_from=0,
            unjudged="a standby serves nothing until a failover" if fleet.role == "standby" else None,
        )
        for fleet in environment.fleets
    )
    return Scenario(
        f"replay:{path.name}",
        "replay",
        f"{path.name}: {len(times)} points over {times[-1] / 3600:.0f} h, its 95th percentile = each fleet's normal load",
        environment.as_of,
        runs,
    )
