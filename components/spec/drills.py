"""``courier:drills``: the game-day calendar (AWS Fault Injection Service experiments run on a
schedule by EventBridge Scheduler).

Every AWS region gets the drills' experiment templates whatever the calendar says
(components.aws.drills): an operator can start any of them on a game day. The calendar decides
which of them run by themselves, when: by default every drill runs monthly in the primary region
(staggered over the weeks of the month, on Tuesdays and Wednesdays at 10:00 in ``timezone``),
enabled in dev and staging and not in prod, where a run is scheduled only when it says
``enabled: true``.

    courier:drills:
      timezone: Asia/Singapore
      runs:
        - {drill: fleet-loss, service: orders, schedule: "cron(0 10 ? * TUE#1 *)", enabled: true}
        - {drill: zone-outage, region: ap-southeast-1, zone: ap-southeast-1b, schedule: "at(2026-12-08T10:00:00)"}

Pure: the models, the schedule expressions' grammar and the next-run computation (shared with
``python -m courier drill``, which reads the expressions back from the Plan).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator

from components.spec.fields import NAMESPACE, Flag, _Model, did_you_mean, shown

if TYPE_CHECKING:
    from components.spec.model import EnvironmentSpec

#: (config path, message): components.spec.loading turns each into a Problem (errors.py imports
#: the model, which imports this module).
Issue = tuple[str, str]

#: The drills of an AWS region (components.aws.drills builds one experiment template per drill,
#: per service for the per-service ones).
DrillKind = Literal["zone-outage", "fleet-loss", "cpu-storm", "region-switchover", "pod-delete", "pod-cpu-stress"]
DRILL_KINDS: tuple[str, ...] = get_args(DrillKind)
#: Drills aimed at one VM fleet, at one Kubernetes service, and at the region as a whole.
FLEET_DRILLS = ("fleet-loss", "cpu-storm")
POD_DRILLS = ("pod-delete", "pod-cpu-stress")

#: The default calendar: one run per drill a month, a week apart, never two at once.
DEFAULT_SCHEDULES: dict[str, str] = {
    "fleet-loss": "cron(0 10 ? * TUE#1 *)",
    "cpu-storm": "cron(0 10 ? * TUE#2 *)",
    "zone-outage": "cron(0 10 ? * TUE#3 *)",
    "region-switchover": "cron(0 10 ? * TUE#4 *)",
    "pod-delete": "cron(0 10 ? * WED#1 *)",
    "pod-cpu-stress": "cron(0 10 ? * WED#2 *)",
}

SCHEDULE_WORDS = (
    "an EventBridge Scheduler expression: cron(minutes hours day-of-month month day-of-week year) with '?' in "
    "one of the day fields, such as cron(0 10 ? * TUE#2 *), or a one-off at(yyyy-mm-ddThh:mm:ss)"
)


# --------------------------------------------------------------------------------------
# Schedule expressions (EventBridge Scheduler's cron and at grammar).
# --------------------------------------------------------------------------------------

_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_CRON = re.compile(r"cron\(([^()]*)\)")


class ScheduleError(ValueError):
    """An expression outside the grammar, with what is wrong."""


@dataclass(frozen=True)
class _Field:
    values: frozenset[int]
    any: bool  # '*' or '?'


def _field(text: str, low: int, high: int, names: Sequence[str] = (), offset: int = 0) -> _Field:
    if text in ("*", "?"):
        return _Field(frozenset(range(low, high + 1)), True)
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, _, step_text = part.partition("/")
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"step {step_text!r} must be a positive number")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            first, _, last = part.partition("-")
            start, end = _value(first, low, high, names, offset), _value(last, low, high, names, offset)
        else:
            start = _value(part, low, high, names, offset)
            end = high if step > 1 else start
        if start > end:
            raise ScheduleError(f"range {part!r} runs backwards")
        values.update(range(start, end + 1, step))
    return _Field(frozenset(values), False)


def _value(text: str, low: int, high: int, names: Sequence[str], offset: int) -> int:
    upper = text.upper()
    if upper in names:
        return names.index(upper) + offset
    if not text.isdigit() or not low <= int(text) <= high:
        allowed = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
        raise ScheduleError(f"{text!r} is not a value of {allowed}")
    return int(text)


@dataclass(frozen=True)
class Schedule:
    """A parsed expression: a one-off moment or a cron, evaluated in ``timezone``."""

    expression: str
    at: datetime | None = None
    minutes: _Field | None = None
    hours: _Field | None = None
    days: _Field | None = None
    months: _Field | None = None
    weekdays: _Field | None = None
    #: day-of-week as ``DAY#n`` (the n-th such weekday of the month), else None.
    nth: tuple[int, int] | None = None
    years: _Field | None = None

    def next_run(self, after: datetime, timezone: str = "UTC") -> datetime | None:
        """The first run strictly after ``after`` (aware), in ``timezone``; None when there is
        none (a one-off in the past, a cron whose years are over)."""
        zone = ZoneInfo(timezone)
        if self.at is not None:
            moment = self.at.replace(tzinfo=zone)
            return moment if moment > after else None
        local = after.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = local.replace(hour=0, minute=0)
        # Ten years of days at most: a cron matches within that or never.
        for _ in range(366 * 10):
            if self._matches_day(day):
                for hour in sorted(self.hours.values if self.hours else ()):
                    for minute in sorted(self.minutes.values if self.minutes else ()):
                        moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                        if moment >= local:
                            return moment
            day = (day + timedelta(days=1)).replace(hour=0, minute=0)
        return None

    def _matches_day(self, day: datetime) -> bool:
        assert self.months and self.years and self.days and self.weekdays
        if day.month not in self.months.values or (not self.years.any and day.year not in self.years.values):
            return False
        weekday = (day.weekday() + 1) % 7 + 1  # cron: 1 = SUN .. 7 = SAT
        if self.nth is not None:
            wanted, n = self.nth
            return weekday == wanted and (day.day - 1) // 7 + 1 == n
        if self.days.any:
            return weekday in self.weekdays.values
        return day.day in self.days.values


def parse_schedule(expression: str) -> Schedule:
    """The expression parsed, or ScheduleError saying what is wrong (EventBridge Scheduler's
    grammar, "Schedule types on EventBridge Scheduler": six fields, '?' in exactly one of
    day-of-month and day-of-week, ``DAY#n`` for the n-th weekday; rate() is not offered: a
    drill runs on a day someone chose)."""
    at = _AT.fullmatch(expression)
    if at:
        try:
            return Schedule(expression, at=datetime.fromisoformat(at.group(1)))
        except ValueError:
            raise ScheduleError(f"{at.group(1)!r} is not a date and time") from None
    cron = _CRON.fullmatch(expression)
    if not cron:
        raise ScheduleError("must be cron(...) or at(...)")
    parts = cron.group(1).split()
    if len(parts) != 6:
        raise ScheduleError(
            f"cron takes 6 fields (minutes hours day-of-month month day-of-week year), got {len(parts)}"
        )
    minute, hour, dom, month, dow, year = parts
    if (dom == "?") == (dow == "?"):
        raise ScheduleError("exactly one of day-of-month and day-of-week must be '?'")
    nth = None
    if "#" in dow:
        day_text, _, n_text = dow.partition("#")
        if not n_text.isdigit() or not 1 <= int(n_text) <= 5:
            raise ScheduleError(f"{dow!r}: the n in DAY#n must be 1-5")
        nth = (_value(day_text, 1, 7, _DAYS, 1), int(n_text))
        weekdays = _Field(frozenset({nth[0]}), False)
    else:
        weekdays = _field(dow, 1, 7, _DAYS, 1)
    return Schedule(
        expression,
        minutes=_field(minute, 0, 59),
        hours=_field(hour, 0, 23),
        days=_field(dom, 1, 31),
        months=_field(month, 1, 12, _MONTHS, 1),
        weekdays=weekdays,
        nth=nth,
        years=_field(year, 1970, 2199),
    )


def _schedule(value: str) -> str:
    try:
        parse_schedule(value)
    except ScheduleError as problem:
        raise ValueError(f"must be {SCHEDULE_WORDS}; {problem} (got {shown(value)})") from None
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        hint = did_you_mean(value, sorted(available_timezones()))
        raise ValueError(
            f"must be an IANA time zone such as Asia/Singapore or UTC (got {shown(value)}){hint}"
        ) from None
    return value


ScheduleExpression = Annotated[str, AfterValidator(_schedule)]
TimeZone = Annotated[str, AfterValidator(_timezone)]


# --------------------------------------------------------------------------------------
# The config section.
# --------------------------------------------------------------------------------------


class DrillRun(_Model):
    """One drill the calendar runs by itself."""

    drill: DrillKind
    #: The AWS region it runs in. Default: the region configured as primary, lost or not
    #: (region-switchover: the region whose cluster created the global database,
    #: courier:data.database.originRegion; its drill moves the writer to the next region, every
    #: other region's drill moves it to that region).
    region: str | None = None
    #: fleet-loss and cpu-storm: the VM service; pod-delete and pod-cpu-stress: the Kubernetes
    #: service. Default: the region's first such service.
    service: str | None = None
    #: zone-outage: the zone that goes dark. Default: the region's first zone.
    zone: str | None = None
    #: When (EventBridge Scheduler's expression, in the calendar's time zone). Default:
    #: DEFAULT_SCHEDULES (monthly, a week apart).
    schedule: ScheduleExpression | None = None
    #: Default: true in dev and staging, false in prod (prod runs a drill only when it says so).
    enabled: Flag | None = None


class DrillsSpec(_Model):
    #: The IANA time zone the schedules are written in (EventBridge Scheduler honours DST).
    timezone: TimeZone = "UTC"
    #: The calendar; unset, every drill once a month in the primary region (DEFAULT_SCHEDULES).
    runs: tuple[DrillRun, ...] | None = None


@dataclass(frozen=True)
class ResolvedRun:
    """A calendar entry with its defaults decided."""

    drill: str
    region: str
    service: str | None
    zone: str | None
    schedule: str
    enabled: bool

    @property
    def key(self) -> str:
        """The experiment template it starts: ``<drill>`` or ``<drill>-<service>``."""
        return f"{self.drill}-{self.service}" if self.service else self.drill


# --------------------------------------------------------------------------------------
# Rules against the rest of the config (called by components.spec.loading).
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """What the rules need of a region (kept apart from model.RegionSpec: no import cycle)."""

    name: str
    cloud: str
    role: str
    lost: bool
    zones: tuple[str, ...]
    #: Services running there, by platform ("vm", "kubernetes" on an EKS cluster the stack builds).
    vm_services: tuple[str, ...]
    pod_services: tuple[str, ...]


def resolve(
    drills: DrillsSpec, environment: str, regions: Sequence[Region], origin: str | None
) -> tuple[list[ResolvedRun], list[Issue]]:
    """The calendar with its defaults, and every problem with it (one line each)."""
    aws = [r for r in regions if r.cloud == "aws" and not r.lost]
    # The region configured as primary, even lost: its runs (and their schedules) stay declared
    # as they were (components.lost); a new primary gets runs when the calendar names it.
    primary = next((r for r in regions if r.cloud == "aws" and r.role == "primary"), aws[0] if aws else None)
    if primary is None:
        return [], []
    data_origin = origin or primary.name
    default_enabled = environment != "prod"
    runs: list[ResolvedRun] = []
    problems: list[Issue] = []
    if drills.runs is None:
        for kind in DRILL_KINDS:
            region = (
                next((r for r in regions if r.name == data_origin), primary) if kind == "region-switchover" else primary
            )
            run = _default_run(kind, region, aws, default_enabled)
            if run is not None:
                runs.append(run)
        return runs, []
    by_name = {r.name: r for r in regions}
    for index, entry in enumerate(drills.runs):
        at = f"{NAMESPACE}:drills.runs[{index}]"
        found = list(_check_run(at, entry, by_name, aws, primary, data_origin))
        if found:
            problems.extend(found)
            continue
        region = by_name[entry.region or (data_origin if entry.drill == "region-switchover" else primary.name)]
        service = entry.service or _first_service(entry.drill, region)
        runs.append(
            ResolvedRun(
                entry.drill,
                region.name,
                service,
                (entry.zone or region.zones[0]) if entry.drill == "zone-outage" else None,
                entry.schedule or DEFAULT_SCHEDULES[entry.drill],
                default_enabled if entry.enabled is None else entry.enabled,
            )
        )
    problems.extend(_together(runs))
    return runs, problems


def _default_run(kind: str, region: Region, aws: Sequence[Region], enabled: bool) -> ResolvedRun | None:
    if kind == "region-switchover" and len(aws) < 2:
        return None
    service = _first_service(kind, region)
    if (kind in FLEET_DRILLS or kind in POD_DRILLS) and service is None:
        return None
    zone = region.zones[0] if kind == "zone-outage" else None
    return ResolvedRun(kind, region.name, service, zone, DEFAULT_SCHEDULES[kind], enabled)


def _first_service(kind: str, region: Region) -> str | None:
    if kind in FLEET_DRILLS:
        return region.vm_services[0] if region.vm_services else None
    if kind in POD_DRILLS:
        return region.pod_services[0] if region.pod_services else None
    return None


def _check_run(
    at: str, entry: DrillRun, regions: dict[str, Region], aws: Sequence[Region], primary: Region, origin: str
) -> Iterator[Issue]:
    names = [r.name for r in regions.values() if r.cloud == "aws"]
    name = entry.region or (origin if entry.drill == "region-switchover" else primary.name)
    region = regions.get(name)
    # A lost region's runs are not refused: its resources (schedules included) stay declared as
    # they were (components.lost), and `python -m courier dr` rewrites nothing here.
    if region is None or region.cloud != "aws":
        why = "is not a region of this stack" if region is None else "is an Alibaba Cloud region (FIS drills are AWS)"
        yield (
            f"{at}.region",
            f"{why}; drills run in its AWS regions: {', '.join(names)} (got {name!r})" + did_you_mean(name, names),
        )
        return
    if entry.drill == "region-switchover" and len(aws) < 2:
        yield (f"{at}.drill", "region-switchover needs a second active AWS region to take the writer")
    if entry.zone is not None:
        if entry.drill != "zone-outage":
            yield (f"{at}.zone", f"is only for zone-outage (got zone {entry.zone!r} on {entry.drill})")
        elif entry.zone not in region.zones:
            yield (
                f"{at}.zone",
                f"is not a zone of {name} in this stack (zones: {', '.join(region.zones)}; got {entry.zone!r})"
                + did_you_mean(entry.zone, region.zones),
            )
    kind_services = (
        region.vm_services if entry.drill in FLEET_DRILLS else region.pod_services if entry.drill in POD_DRILLS else ()
    )
    what = "VM service" if entry.drill in FLEET_DRILLS else "Kubernetes service on the stack's EKS cluster"
    if entry.service is not None:
        if entry.drill not in FLEET_DRILLS and entry.drill not in POD_DRILLS:
            yield (
                f"{at}.service",
                f"{entry.drill} drills the whole region: it takes no service (got {entry.service!r})",
            )
        elif entry.service not in kind_services:
            listed = ", ".join(kind_services) or "none"
            yield (
                f"{at}.service",
                f"{entry.drill} needs a {what} running in {name} ({listed}; got {entry.service!r})"
                + did_you_mean(entry.service, kind_services),
            )
    elif (entry.drill in FLEET_DRILLS or entry.drill in POD_DRILLS) and not kind_services:
        yield (f"{at}.drill", f"{entry.drill} needs a {what} in {name}, and none runs there")


def _together(runs: Sequence[ResolvedRun]) -> Iterator[Issue]:
    """Two enabled runs in one region on the same expression would start together: their
    faults would mix and neither hypothesis could be judged."""
    seen: dict[tuple[str, str], ResolvedRun] = {}
    for run in runs:
        if not run.enabled:
            continue
        key = (run.region, run.schedule)
        first = seen.get(key)
        if first is not None:
            yield (
                f"{NAMESPACE}:drills.runs",
                f"{run.key} and {first.key} in {run.region} both run at {run.schedule!r}: one drill at a time per "
                "region (move one to another day)",
            )
        seen.setdefault(key, run)


def next_run(expression: str, timezone: str, after: datetime | None = None) -> datetime | None:
    """When ``expression`` next fires after ``after`` (default now), or None."""
    return parse_schedule(expression).next_run(after or datetime.now(UTC), timezone)


def regions_of(spec: EnvironmentSpec) -> list[Region]:
    """The stack's regions as the calendar's rules see them."""
    return [
        Region(
            r.name,
            r.cloud,
            r.role,
            r.lost,
            tuple(r.availability_zones),
            tuple(s.name for s in spec.services_on("vm", r)),
            tuple(s.name for s in spec.services_on("kubernetes", r))
            if r.kubernetes is not None and r.kubernetes.cluster == "eks"
            else (),
        )
        for r in spec.regions
    ]


def calendar(spec: EnvironmentSpec) -> tuple[list[ResolvedRun], list[Issue]]:
    """The stack's drill calendar with its defaults decided, and its problems."""
    runs, problems = resolve(spec.drills, spec.environment, regions_of(spec), spec.data_origin.name)
    if spec.environment == "prod":
        problems.extend(_during_promotions(runs, spec.drills.timezone, spec))
    return runs, problems


def _during_promotions(runs: Sequence[ResolvedRun], timezone: str, spec: EnvironmentSpec) -> Iterator[Issue]:
    """An enabled prod run that would fire inside a promotion's window (from the capacity raise
    to the end): a fault injected at the festival's peak hurts customers and tests the wrong
    thing. EventBridge Scheduler has no exclusion window, so the run must move or be disabled."""
    for run in runs:
        if not run.enabled:
            continue
        for promotion in spec.promotions:
            window = promotion.window
            if window.restore_at <= spec.as_of:
                continue
            fires = next_run(run.schedule, timezone, max(window.raise_at, spec.as_of) - timedelta(seconds=1))
            if fires is not None and fires < window.restore_at:
                yield (
                    f"{NAMESPACE}:drills.runs",
                    f"{run.key} in {run.region} would run at {fires.isoformat()}, inside promotion "
                    f"{promotion.name!r} ({window.raise_at.isoformat()} to {window.restore_at.isoformat()}): "
                    f"move its schedule or disable it for that week (got {run.schedule!r})",
                )
