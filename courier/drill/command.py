"""``python -m courier drill STACK [--all] [--region R] [--drill D] [--json]``: plan the stack with
the real program, then list its drills from the Plan: every FIS experiment template (its
hypothesis from its description and tags, its actions, targets and stop conditions, resolved to
the alarms they were computed from) and the EventBridge Scheduler schedule that starts it, with
its next run as of the plan.

The default view fits one screen: the calendar (the scheduled runs, enabled first, with their
next run), one line per region and one row per drill, its regions together, with its
hypothesis (the alert, what the fleet reaches, the recovery time). ``--all`` shows every drill in full; ``--region`` and ``--drill`` (a
drill's key or kind; it shows the drills it names in full) narrow what is listed, the JSON too.
Problems and the exit code are always the whole stack's.

Exit codes: 0 every drill stops on at least one alarm of its own region; 1 one does not; 2 bad
input (invalid config) with one line per problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from components.spec.drills import ScheduleError, parse_schedule
from courier.plan import Plan, Resource
from courier.verify.drill_results import judgements_of

EXIT_OK = 0
EXIT_UNGUARDED = 1
EXIT_INVALID = 2

FIS_TEMPLATE = "aws:fis/experimentTemplate:ExperimentTemplate"
SCHEDULE = "aws:scheduler/schedule:Schedule"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FUNCTION = "aws:lambda/function:Function"
#: The tags components.aws.drills puts on every template.
DRILL_TAG, KIND_TAG = "drill", "drill-kind"
#: The kinds components.aws.drills declares, in the order the summary lists them (docs/drills.md).
KINDS = ("zone-outage", "fleet-loss", "cpu-storm", "region-switchover", "pod-delete", "pod-cpu-stress")
#: The calendar lines the summary shows before it says how many more there are.
CALENDAR_LINES = 8


def add_parser(commands: Any, timestamp: Callable[[str], datetime]) -> None:
    drill = commands.add_parser(
        "drill",
        help="summarise the game days (FIS experiments) the stack declares: the calendar's next runs, drills "
        "per region and kind (--all: every drill's hypothesis, targets and stop conditions)",
        description="Plan the stack with the real program, then summarise its drills on one screen: the "
        "calendar's runs with their next run, the drills per region and per kind (services, the hypothesis' "
        "alert and recovery time). --all lists every drill's hypothesis, targets and stop conditions.",
    )
    drill.add_argument("stack", help="stack name; reads stacks/Pulumi.STACK.yaml unless --config-file is given")
    drill.add_argument("--config-file", type=Path, help="read the stack's config from this file instead")
    drill.add_argument("--at", type=timestamp, help="plan (and compute next runs) as if it were this moment")
    drill.add_argument(
        "--all",
        "--detail",
        dest="detail",
        action="store_true",
        help="list every drill in full: hypothesis, targets, stop conditions, next run (one table row each)",
    )
    drill.add_argument(
        "--region",
        action="append",
        metavar="REGION",
        help="only the drills in this region (repeatable); also narrows --json",
    )
    drill.add_argument(
        "--drill",
        action="append",
        metavar="DRILL",
        help="only this drill, by key (fleet-loss-orders) or kind (fleet-loss), shown in full (repeatable); "
        "also narrows --json",
    )
    drill.add_argument("--json", action="store_true", help="print the drills as JSON on stdout")
    drill.add_argument("--debug", action="store_true", help="show tracebacks for program errors")
    # The CLI checks --out and --markdown before planning; this command writes neither.
    drill.set_defaults(out=None, markdown=None)


@dataclass
class Drill:
    key: str
    kind: str
    region: str
    service: str | None
    template: str
    hypothesis: dict[str, Any]
    actions: list[dict[str, Any]]
    targets: list[dict[str, Any]]
    stop_conditions: list[dict[str, Any]]
    schedule: dict[str, Any] | None = None
    #: How the region's results function judges it (its judgements.json entry); None: nothing does.
    judgement: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "region": self.region,
            "service": self.service,
            "template": self.template,
            "hypothesis": self.hypothesis,
            "actions": self.actions,
            "targets": self.targets,
            "stopConditions": self.stop_conditions,
            "schedule": self.schedule,
            "judgement": self.judgement,
            "problems": self.problems,
        }


def _pairs(items: Any) -> dict[str, Any]:
    return {str(p.get("key")): p.get("value") for p in items or [] if isinstance(p, Mapping)}


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _judgements(plan: Plan) -> dict[str, dict[str, Any]]:
    """Region -> the judgements its drill results function ships (components.aws.drills.results)."""
    found: dict[str, dict[str, Any]] = {}
    for function in plan.of_type(FUNCTION):
        shipped = judgements_of(function)
        if shipped is not None and function.region:
            found[function.region] = shipped
    return found


def judged_by(judgement: Mapping[str, Any] | None) -> str:
    """One line: what the results function reads to judge the drill."""
    if judgement is None:
        return "not judged: no results function"
    parts = []
    for probe in judgement.get("probes") or []:
        if probe.get("source") == "cloudwatch":
            metric = probe["metric"]
            series = f"{metric['name']} ({', '.join(str(v) for v in metric['dimensions'].values())})"
        else:
            series = str(probe.get("query", "")).split("{")[0]
        threshold = probe.get("threshold")
        parts.append(f"{series} {probe.get('op')} {'its value before' if threshold == 'start' else threshold}")
    if judgement.get("mustFire"):
        parts.append(f"{judgement['mustFire']} fires")
    return "; ".join(parts) or "the experiment completes"


def read(plan: Plan, at: datetime | None = None) -> list[Drill]:
    """The plan's drills, ordered by region (as the plan lists them) and key."""
    moment = at or plan.as_of or datetime.now(UTC)
    judgements = _judgements(plan)
    index = {r.urn: r for r in plan.resources}
    schedules: dict[str, Resource] = {}
    for schedule in plan.of_type(SCHEDULE):
        for urn in schedule.property_dependencies.get("target", []):
            schedules[urn] = schedule
    drills = []
    for template in plan.of_type(FIS_TEMPLATE):
        inputs = template.inputs
        tags = inputs.get("tags") or {}
        region = template.region or "?"
        alarms = [index[urn] for urn in template.property_dependencies.get("stopConditions", []) if urn in index]
        stops = [
            {"alarm": a.name, "region": a.region, "severity": (a.inputs.get("tags") or {}).get("severity")}
            for a in alarms
            if a.type == METRIC_ALARM
        ]
        drill = Drill(
            key=str(tags.get(DRILL_TAG, template.name)),
            kind=str(tags.get(KIND_TAG, "?")),
            region=region,
            service=None if tags.get("service") in (None, "shared") else str(tags["service"]),
            template=template.name,
            hypothesis={
                "summary": inputs.get("description"),
                "alert": tags.get("hypothesis-alert"),
                "capacity": tags.get("hypothesis-capacity"),
                "recoveryMinutes": _number(tags.get("hypothesis-recovery-minutes")),
            },
            actions=[
                {"name": a.get("name"), "actionId": a.get("actionId"), "parameters": _pairs(a.get("parameters"))}
                for a in inputs.get("actions") or []
            ],
            targets=[
                {
                    "name": t.get("name"),
                    "resourceType": t.get("resourceType"),
                    "selectionMode": t.get("selectionMode"),
                    "resourceTags": _pairs(t.get("resourceTags")),
                    "filters": {f.get("path"): f.get("values") for f in t.get("filters") or []},
                    "parameters": t.get("parameters") or {},
                }
                for t in inputs.get("targets") or []
            ],
            stop_conditions=stops,
        )
        if not stops:
            drill.problems.append("no stop condition on a CloudWatch alarm")
        for stop in stops:
            if stop["region"] != region:
                drill.problems.append(f"stops on {stop['alarm']} in {stop['region']}, not in {region}")
        schedule = schedules.get(template.urn)
        if schedule is not None:
            drill.schedule = _schedule(schedule, moment)
        drill.judgement = judgements.get(region, {}).get(drill.key)
        drills.append(drill)
    return drills


def _schedule(schedule: Resource, moment: datetime) -> dict[str, Any]:
    expression = str(schedule.inputs.get("scheduleExpression"))
    timezone = str(schedule.inputs.get("scheduleExpressionTimezone") or "UTC")
    enabled = schedule.inputs.get("state", "ENABLED") == "ENABLED"
    try:
        upcoming = parse_schedule(expression).next_run(moment, timezone) if enabled else None
    except (ScheduleError, ValueError):
        upcoming = None
    return {
        "name": schedule.inputs.get("name"),
        "expression": expression,
        "timezone": timezone,
        "enabled": enabled,
        "nextRun": upcoming.isoformat() if upcoming else None,
    }


def run(args: argparse.Namespace, plan_for: Callable[..., Plan], out: Console, err: Console) -> int:
    """The drill command, given a function that plans the stack (courier.cli.make_plan)."""
    plan = plan_for(args.stack, args.config_file, args.at)
    drills = read(plan, args.at)
    moment = args.at or plan.as_of or datetime.now(UTC)
    regions, names = getattr(args, "region", None), getattr(args, "drill", None)
    listed = select(drills, regions, names)
    unmatched = _unmatched(drills, regions, names)
    if unmatched:
        for problem in unmatched:
            err.print(f"error: {problem}", markup=False)
        return EXIT_INVALID
    environment = plan.outputs.get("environment")
    if args.json:
        document = {
            "stack": plan.stack,
            "environment": environment,
            "asOf": moment.isoformat(),
            "drills": [d.to_json() for d in listed],
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    elif getattr(args, "detail", False) or names:
        show(out, plan, listed)
    else:
        summarise(out, plan, listed, moment, narrowed=bool(regions))
    # The verdict is the stack's: a filter narrows what is listed, not what is judged.
    for drill in drills:
        for problem in drill.problems:
            err.print(f"{drill.region} {drill.key}: {problem}", markup=False)
    return EXIT_UNGUARDED if any(d.problems for d in drills) else EXIT_OK


def select(drills: list[Drill], regions: list[str] | None, names: list[str] | None) -> list[Drill]:
    """The drills in ``regions`` (all when None) whose key or kind is in ``names`` (all when None)."""
    return [
        d for d in drills if (not regions or d.region in regions) and (not names or d.key in names or d.kind in names)
    ]


def _unmatched(drills: list[Drill], regions: list[str] | None, names: list[str] | None) -> list[str]:
    """One line per --region or --drill that names nothing the stack declares."""
    known_regions = list(dict.fromkeys(d.region for d in drills))
    known_names = {d.key for d in drills} | {d.kind for d in drills}
    problems = [
        f"--region {r}: the stack has no drill there (its drills are in: {', '.join(known_regions) or 'no region'})"
        for r in regions or []
        if r not in known_regions
    ]
    kinds = list(dict.fromkeys(d.kind for d in drills))
    problems += [
        f"--drill {n}: no drill has that key or kind (kinds: {', '.join(kinds) or 'none'}; keys as in --all)"
        for n in names or []
        if n not in known_names
    ]
    if not problems and not select(drills, regions, names):
        problems.append("--region and --drill together select no drill")
    return problems


# -- the one-screen summary ----------------------------------------------------------------------


def _region_roles(plan: Plan) -> list[tuple[str, str, str]]:
    """The stack's regions in failover order, with role and cloud (the program's ``dr`` output)."""
    listed = (plan.outputs.get("dr") or {}).get("regions") or []
    return [
        (str(r.get("name")), str(r.get("role") or ""), str(r.get("cloud") or ""))
        for r in listed
        if isinstance(r, Mapping) and r.get("name")
    ]


def _minutes(values: list[float]) -> str:
    if not values:
        return "-"
    low, high = min(values), max(values)
    return f"{low:g} min" if low == high else f"{low:g}-{high:g} min"


def _when(next_run: str | None, moment: datetime) -> str:
    """How far ahead a next run is (``in 6 days``), as of the plan's moment."""
    if not next_run:
        return ""
    try:
        ahead = datetime.fromisoformat(next_run) - moment
    except (TypeError, ValueError):
        return ""
    days = ahead.days
    if days >= 1:
        return f"in {days} day{'s' if days != 1 else ''}"
    hours = int(ahead.total_seconds() // 3600)
    return f"in {hours} h" if hours >= 1 else "within the hour"


def calendar(drills: list[Drill]) -> list[Drill]:
    """The drills with a schedule: enabled ones first, by next run, then the rest."""
    scheduled = [d for d in drills if d.schedule]
    return sorted(
        scheduled,
        key=lambda d: (
            not (d.schedule or {}).get("enabled"),
            (d.schedule or {}).get("nextRun") is None,
            _sort_moment((d.schedule or {}).get("nextRun")),
            d.region,
            d.key,
        ),
    )


def _sort_moment(text: str | None) -> datetime:
    try:
        return datetime.fromisoformat(text) if text else datetime.max.replace(tzinfo=UTC)
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)


def summarise(out: Console, plan: Plan, drills: list[Drill], moment: datetime, *, narrowed: bool = False) -> None:
    """One screen: the calendar, one line per region, one row per drill (its regions together)
    with its hypothesis: the alert, what the fleet reaches, the recovery time."""
    scheduled = calendar(drills)
    enabled = [d for d in scheduled if (d.schedule or {}).get("enabled")]
    regions = list(dict.fromkeys(d.region for d in drills))
    unguarded = [d for d in drills if d.problems]
    verdict = (
        "every one stops on an alarm of its own region"
        if not unguarded
        else f"{len(unguarded)} without a stop alarm of their own region (listed after the tables)"
    )
    out.print(
        f"{plan.stack}: {len(drills)} drills in {len(regions)} region{'s' if len(regions) != 1 else ''}, "
        f"{len(enabled)} on the calendar; {verdict}",
        markup=False,
    )
    out.print(f"as of {moment.isoformat()}", markup=False, style="dim")
    out.print()

    # The calendar first: what runs by itself, and when.
    if not scheduled:
        out.print("Calendar: nothing scheduled, every drill runs on demand (docs/drills.md)", markup=False)
    else:
        out.print(
            f"Calendar ({len(enabled)} enabled run{'s' if len(enabled) != 1 else ''}, EventBridge Scheduler):",
            markup=False,
            style="bold",
        )
        shown = scheduled[:CALENDAR_LINES]
        width = max(len(f"{d.region} {d.key}") for d in shown)
        for drill in shown:
            out.print(f"  {_calendar_line(drill, moment, width)}", markup=False)
        if len(scheduled) > CALENDAR_LINES:
            out.print(f"  ... and {len(scheduled) - CALENDAR_LINES} more (--all lists every drill)", markup=False)
        out.print(f"  every other drill ({len(drills) - len(scheduled)}) runs on demand", markup=False)
    out.print()

    # One line per region, in failover order; regions without drills say why.
    roles = _region_roles(plan)
    order = [name for name, _, _ in roles if name in regions] + [
        r for r in regions if r not in {n for n, _, _ in roles}
    ]
    described = {name: (role, cloud) for name, role, cloud in roles}
    width = max((len(r) for r in [*order, *(n for n, _, _ in roles)]), default=0)
    for region in order:
        here = [d for d in drills if d.region == region]
        role = described.get(region, ("", ""))[0]
        runs = [d for d in enabled if d.region == region]
        calendar_text = (
            f"{len(runs)} on the calendar, next on {str((runs[0].schedule or {}).get('nextRun'))[:10]}"
            if runs
            else "on demand"
        )
        count = len({d.kind for d in here})
        out.print(
            f"  {region:<{width}}  {role:<9}  {len(here):>2} drills of {count} kind{'s' if count != 1 else ''}, "
            f"{calendar_text}",
            markup=False,
        )
    if not narrowed:
        for name, role, cloud in roles:
            if name not in regions:
                why = "FIS runs in AWS regions only" if cloud and cloud != "aws" else "none declared"
                out.print(f"  {name:<{width}}  {role:<9}  no drills ({why})", markup=False)
    out.print()

    table = Table(box=box.SIMPLE_HEAD, expand=False, pad_edge=False, show_edge=False)
    # The regions column only says something when there is more than one region.
    several = len(regions) > 1
    table.add_column("drill", overflow="fold")
    if several:
        table.add_column("regions", overflow="fold")
    for column in ("alert", "reaches (first region)", "recovery", "calendar"):
        table.add_column(column, overflow="fold")
    # One row per drill key, its regions together: the hypothesis is the same drill's everywhere
    # (the capacity it reaches is the first region's; --all shows each region's).
    order = {kind: i for i, kind in enumerate(KINDS)}
    keys = sorted(dict.fromkeys(d.key for d in drills), key=lambda k: (order.get(_kind_of(drills, k), 99), k))
    for key in keys:
        of_key = [d for d in drills if d.key == key]
        first = of_key[0]
        recovery = [m for d in of_key if (m := d.hypothesis.get("recoveryMinutes")) is not None]
        where = list(dict.fromkeys(d.region for d in of_key))
        on = [d for d in of_key if d.schedule and d.schedule.get("enabled")]
        table.add_row(
            key,
            *(["all" if len(where) == len(regions) else ", ".join(where)] if several else []),
            str(first.hypothesis.get("alert") or "-"),
            str(first.hypothesis.get("capacity") or "-"),
            _minutes(recovery),
            ", ".join(d.region for d in on) if on else "on demand",
        )
    out.print(table)
    out.print(
        "--all: every drill in full (hypothesis, targets, stop conditions) · --drill KEY|KIND · --region REGION · "
        "--json",
        markup=False,
        style="dim",
    )


def _kind_of(drills: list[Drill], key: str) -> str:
    return next(d.kind for d in drills if d.key == key)


def _calendar_line(drill: Drill, moment: datetime, width: int) -> str:
    schedule = drill.schedule or {}
    where = f"{drill.region} {drill.key}".ljust(width)
    rule = f"{schedule.get('expression')} {schedule.get('timezone')}"
    if not schedule.get("enabled"):
        return f"{'disabled':<25}  {where}  {rule}"
    if not schedule.get("nextRun"):
        return f"{'no run ahead':<25}  {where}  {rule}"
    return f"{schedule['nextRun']:<25}  {where}  {rule}, {_when(schedule['nextRun'], moment)}"


# -- every drill in full -------------------------------------------------------------------------


def show(out: Console, plan: Plan, drills: list[Drill]) -> None:
    """Every drill in full, one table row each."""
    scheduled = [d for d in drills if d.schedule]
    regions = len({d.region for d in drills})
    out.print(
        f"{plan.stack}: {len(drills)} drill{'s' if len(drills) != 1 else ''} in {regions} "
        f"region{'s' if regions != 1 else ''}, {len(scheduled)} on the calendar",
        markup=False,
    )
    table = Table(show_lines=True, expand=False)
    for column in ("region", "drill", "hypothesis", "targets", "stop conditions", "next run"):
        table.add_column(column, overflow="fold")
    for drill in drills:
        hypothesis = drill.hypothesis
        recovery = hypothesis.get("recoveryMinutes")
        cells = (
            drill.region,
            drill.key,
            f"alert: {hypothesis.get('alert')}\n{hypothesis.get('capacity')}\nrecovery: {recovery:g} min"
            f"\njudged by: {judged_by(drill.judgement)}"
            if recovery is not None
            else str(hypothesis.get("summary")),
            "\n".join(_target_line(t) for t in drill.targets) or "(the runbook's own)",
            "\n".join(s["alarm"] for s in drill.stop_conditions) or "NONE",
            _next_line(drill),
        )
        # Target tags print as [key=value]: not rich markup.
        table.add_row(*(escape(cell) for cell in cells))
    out.print(table)


def _target_line(target: Mapping[str, Any]) -> str:
    where = ", ".join(f"{k}={v}" for k, v in target["resourceTags"].items())
    if target["parameters"]:
        where = ", ".join(f"{k}={v}" for k, v in target["parameters"].items() if k != "clusterIdentifier")
    filters = "".join(f" {k}={','.join(map(str, v or []))}" for k, v in target["filters"].items())
    return f"{target['resourceType']} {target['selectionMode']} [{where}]{filters}"


def _next_line(drill: Drill) -> str:
    if drill.schedule is None:
        return "on demand"
    if not drill.schedule["nextRun"]:
        return f"{drill.schedule['expression']}: no run ahead"
    return f"{drill.schedule['nextRun']}\n{drill.schedule['expression']} {drill.schedule['timezone']}"
