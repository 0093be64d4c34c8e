"""``python -m courier storm``: plan the stack with the real program, then ride out its storms.

Exit codes: 0 every objective in force is met; 1 an objective is missed; 2 bad input (an
unknown scenario, an unreadable or malformed replay file, a sweep of an unknown key, invalid
config) with a one-line reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from courier.storm import fleets, report, results, scenarios

EXIT_OK = 0
EXIT_MISSED = 1
EXIT_INVALID = 2

#: Keys a sweep may vary: under each service's ``scaling`` and ``capacity``.
SWEEPABLE = {
    "scaling": ("cpuTarget", "warmupSeconds", "warmPoolSize"),
    "capacity": ("min", "desired", "max"),
}


class StormInputError(ValueError):
    """Bad storm input: reported as one line, exit 2."""


def add_parser(commands: Any, timestamp: Callable[[str], datetime]) -> None:
    storm = commands.add_parser(
        "storm",
        help="simulate traffic storms against the fleets the plan builds",
        description="Plan the stack with the real program, then simulate each scenario against its fleets.",
    )
    storm.add_argument("stack", help="stack name; reads stacks/Pulumi.STACK.yaml unless --config-file is given")
    storm.add_argument("--config-file", type=Path, help="read the stack's config from this file instead")
    storm.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="run only this scenario (repeatable): a promotion's name (NAME@+25%%, NAME@+50%%), surge-4x, "
        "az-loss, region-loss or replay:FILE (CSV timestamp,requests_per_second); default: all but replay",
    )
    storm.add_argument("--at", type=timestamp, help="plan as if it were this moment (ISO 8601 with offset)")
    storm.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    storm.add_argument("--out", type=Path, help="write DIR/storm.json and one PNG chart per scenario")
    storm.add_argument("--markdown", type=Path, metavar="FILE", help="append a Markdown summary to FILE")
    storm.add_argument(
        "--sweep",
        metavar="KEY=FROM:TO:STEP",
        help="vary one scaling key over a range and print unserved load against cost, e.g. "
        "service.scaling.cpuTarget=60:90:5 (every service) or orders.scaling.cpuTarget=60:90:5",
    )
    storm.add_argument("--debug", action="store_true", help="show tracebacks for program errors")


@dataclass(frozen=True)
class Sweep:
    service: str | None  # None: every service
    section: str
    key: str
    values: tuple[float, ...]

    @property
    def label(self) -> str:
        return f"{self.service or 'service'}.{self.section}.{self.key}"


def parse_sweep(text: str) -> Sweep:
    """``[service|NAME].SECTION.KEY=FROM:TO:STEP``, or StormInputError naming what is allowed."""
    allowed = ", ".join(f"service.{section}.{key}" for section, keys in SWEEPABLE.items() for key in keys)
    key, _, span = text.partition("=")
    parts = key.split(".")
    if len(parts) != 3 or parts[1] not in SWEEPABLE or parts[2] not in SWEEPABLE[parts[1]]:
        raise StormInputError(
            f"--sweep {text[:80]!r}: unknown key {key[:60]!r} (sweepable: {allowed}; NAME. for one service)"
        )
    try:
        start, stop, step = (float(v) for v in span.split(":"))
    except ValueError:
        raise StormInputError(
            f"--sweep {text[:80]!r}: expected FROM:TO:STEP numbers after '=' (e.g. 60:90:5)"
        ) from None
    if step <= 0 or stop < start or (stop - start) / step > 50:
        raise StormInputError(f"--sweep {text[:80]!r}: needs FROM <= TO, STEP > 0 and at most 50 steps")
    count = round((stop - start) / step) + 1
    values = tuple(round(start + i * step, 6) for i in range(count) if start + i * step <= stop + 1e-9)
    return Sweep(None if parts[0] == "service" else parts[0], parts[1], parts[2], values)


def adjust(config: dict[str, str], sweep: Sweep, value: float) -> dict[str, str]:
    """The stack config with the swept key set to ``value`` on the chosen services."""
    key = "courier:services"
    services = json.loads(config.get(key) or "[]")
    names = [s.get("name") for s in services if isinstance(s, dict)]
    if sweep.service is not None and sweep.service not in names:
        raise StormInputError(f"--sweep: no service {sweep.service!r} (services: {', '.join(map(str, names))})")
    number: float | int = int(value) if float(value).is_integer() else value
    for service in services:
        if sweep.service is None or service.get("name") == sweep.service:
            service.setdefault(sweep.section, {})[sweep.key] = number
    return {**config, key: json.dumps(services)}


def chosen(environment: fleets.Environment, names: Sequence[str] | None) -> list[scenarios.Scenario]:
    return [scenarios.build(environment, name) for name in (names or scenarios.names(environment))]


def run(args: argparse.Namespace, plan_for: Callable[..., Any], out: Console, err: Console) -> int:
    """The storm command, given a function that plans the stack (courier.cli.make_plan)."""
    try:
        sweep = parse_sweep(args.sweep) if args.sweep else None
        if sweep is not None:
            return _sweep(args, sweep, plan_for, out)
        plan = plan_for(args.stack, args.config_file, args.at)
        environment = fleets.read(plan)
        picked = chosen(environment, args.scenario)
    except (StormInputError, scenarios.ScenarioError, fleets.PlanReadError) as problem:
        err.print(f"[bold red]error:[/] {escape(str(problem))}", markup=True, emoji=False)
        return EXIT_INVALID
    ran, checks = results.run_all(environment, picked)
    notes = [*environment.notes, *results.exemption_notes(environment.objectives)]
    document = report.to_json(environment.stack, ran, checks, notes)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "storm.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        for result in ran:
            report.chart(result, args.out / report.chart_name(result))
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as summary:
            summary.write(report.markdown(environment.stack, ran, checks))
    if args.json:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        report.table(out, ran, checks, notes)
    return EXIT_MISSED if any(not c.met for c in checks) else EXIT_OK


def _sweep(args: argparse.Namespace, sweep: Sweep, plan_for: Callable[..., Any], out: Console) -> int:
    """One plan and one storm per value; a row each: unserved (worst and mean) against cost."""
    grid = Table(title=f"sweep {sweep.label} ({', '.join(args.scenario or ['all scenarios'])})", title_justify="left")
    for header in (
        "value",
        "worst unserved",
        "mean unserved",
        "overloaded (max)",
        "instance-hours",
        "cost $",
        "objectives",
    ):
        grid.add_column(header, justify="right")
    rows = []
    for value in sweep.values:
        plan = plan_for(args.stack, args.config_file, args.at, adjust=lambda config, v=value: adjust(config, sweep, v))
        environment = fleets.read(plan)
        ran, checks = results.run_all(environment, chosen(environment, args.scenario))
        exempt = (environment.objectives or {}).get("exempt") or []
        judged = [
            f
            for r in ran
            for f in r.fleets
            if f.unjudged is None
            and not (r.scenario.kind in ("surge", "promotion") and results.exempted(exempt, r.scenario.kind, f))
        ]
        unserved = [f.outcome.unserved_percent for f in judged] or [0.0]
        hours = sum(f.outcome.instance_hours for f in judged)
        cost = sum(f.cost or 0 for f in judged)
        missed = sum(not c.met for c in checks)
        rows.append({"value": value, "worstUnserved": max(unserved), "instanceHours": hours, "missed": missed})
        grid.add_row(
            f"{value:g}",
            f"{max(unserved):.2f}%",
            f"{sum(unserved) / len(unserved):.2f}%",
            f"{max((f.outcome.overloaded_minutes for f in judged), default=0):.1f} min",
            f"{hours:.0f}",
            f"{cost:.0f}",
            f"{len(checks) - missed}/{len(checks)}" if checks else "-",
        )
    if args.json:
        sys.stdout.write(json.dumps({"stack": args.stack, "sweep": sweep.label, "rows": rows}, indent=2) + "\n")
    else:
        out.print(grid)
    return EXIT_OK
