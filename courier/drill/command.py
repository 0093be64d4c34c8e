"""``python -m courier drill STACK [--json]``: plan the stack with the real program, then list its
drills from the Plan: every FIS experiment template (its hypothesis from its description and
tags, its actions, targets and stop conditions, resolved to the alarms they were computed from)
and the EventBridge Scheduler schedule that starts it, with its next run as of the plan.

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

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from components.spec.drills import ScheduleError, parse_schedule
from courier.plan import Plan, Resource

EXIT_OK = 0
EXIT_UNGUARDED = 1
EXIT_INVALID = 2

FIS_TEMPLATE = "aws:fis/experimentTemplate:ExperimentTemplate"
SCHEDULE = "aws:scheduler/schedule:Schedule"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
#: The tags components.aws.drills puts on every template.
DRILL_TAG, KIND_TAG = "drill", "drill-kind"


def add_parser(commands: Any, timestamp: Callable[[str], datetime]) -> None:
    drill = commands.add_parser(
        "drill",
        help="list the game days (FIS experiments) the stack declares, with hypotheses and next runs",
        description="Plan the stack with the real program, then list its drills: hypotheses, targets, stop "
        "conditions and the next scheduled run.",
    )
    drill.add_argument("stack", help="stack name; reads stacks/Pulumi.STACK.yaml unless --config-file is given")
    drill.add_argument("--config-file", type=Path, help="read the stack's config from this file instead")
    drill.add_argument("--at", type=timestamp, help="plan (and compute next runs) as if it were this moment")
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
            "problems": self.problems,
        }


def _pairs(items: Any) -> dict[str, Any]:
    return {str(p.get("key")): p.get("value") for p in items or [] if isinstance(p, Mapping)}


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def read(plan: Plan, at: datetime | None = None) -> list[Drill]:
    """The plan's drills, ordered by region (as the plan lists them) and key."""
    moment = at or plan.as_of or datetime.now(UTC)
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
    environment = plan.outputs.get("environment")
    if args.json:
        document = {
            "stack": plan.stack,
            "environment": environment,
            "asOf": (args.at or plan.as_of or datetime.now(UTC)).isoformat(),
            "drills": [d.to_json() for d in drills],
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        show(out, plan, drills)
    for drill in drills:
        for problem in drill.problems:
            err.print(f"{drill.region} {drill.key}: {problem}", markup=False)
    return EXIT_UNGUARDED if any(d.problems for d in drills) else EXIT_OK


def show(out: Console, plan: Plan, drills: list[Drill]) -> None:
    scheduled = [d for d in drills if d.schedule]
    out.print(
        f"{plan.stack}: {len(drills)} drills in {len({d.region for d in drills})} regions, "
        f"{len(scheduled)} on the calendar",
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
