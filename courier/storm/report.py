"""What ``python -m courier storm`` shows: a table, the JSON contract, a Markdown summary for a
pull request's job summary, and one chart per scenario."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from courier.storm import prices
from courier.storm.results import Check, FleetResult, ScenarioResult

MISSED_SHOWN = 12


def to_json(
    stack: str, results: Sequence[ScenarioResult], checks: Sequence[Check], notes: Sequence[str]
) -> dict[str, Any]:
    return {
        "stack": stack,
        "prices": {"asOf": prices.AS_OF, "referenceRegion": prices.REFERENCE_REGION, "currency": "USD"},
        "scenarios": [r.to_json() for r in results],
        "objectives": [c.to_json() for c in checks],
        "met": all(c.met for c in checks),
        "notes": list(notes),
    }


def _ratio(fleet: FleetResult) -> str:
    ratio = fleet.cost_ratio
    return "-" if ratio is None else f"{ratio:.2f}"


def _missed_keys(checks: Sequence[Check]) -> set[tuple[str, str, str]]:
    return {(c.scenario, c.region, c.service) for c in checks if not c.met}


def table(console: Console, results: Sequence[ScenarioResult], checks: Sequence[Check], notes: Sequence[str]) -> None:
    missed = _missed_keys(checks)
    for result in results:
        scenario = result.scenario
        grid = Table(
            title=f"{scenario.name}: {scenario.description}", title_justify="left", show_edge=False, pad_edge=False
        )
        for header in (
            "region",
            "service",
            "overloaded",
            "unserved",
            "recovery",
            "peak CPU",
            "max",
            "inst-h",
            "ideal",
            "ratio",
            "cost $",
        ):
            grid.add_column(header, justify="left" if header in ("region", "service") else "right", no_wrap=True)
        for fleet in result.fleets:
            o = fleet.outcome
            mark = "!" if (scenario.name, fleet.region, fleet.service) in missed else ("~" if fleet.unjudged else "")
            grid.add_row(
                fleet.region,
                f"{fleet.service}{mark}",
                f"{o.overloaded_minutes:.1f} min",
                f"{o.unserved_percent:.2f}%",
                f"{o.recovery_minutes:.1f} min",
                f"{o.peak_cpu_percent:.0f}%",
                str(o.max_capacity),
                f"{o.instance_hours:.1f}",
                f"{o.ideal_instance_hours:.1f}",
                _ratio(fleet),
                "-" if fleet.cost is None else f"{fleet.cost:.0f}",
            )
        console.print(grid)
        console.print()
    console.print(
        "! misses an objective · ~ simulated but not judged (see notes) · ratio = instance-hours / ideal fleet's"
    )
    verdict(console, checks)
    for note in notes:
        console.print(f"note: {note}", markup=False)


def verdict(console: Console, checks: Sequence[Check]) -> None:
    missed = [c for c in checks if not c.met]
    if not checks:
        console.print("Objectives: none in force (set courier:storm.objectives; prod has defaults)")
        return
    if not missed:
        console.print(f"Objectives: all {len(checks)} met")
        return
    console.print(f"Objectives: {len(missed)} of {len(checks)} missed", style="bold red")
    for check in missed[:MISSED_SHOWN]:
        console.print(
            f"  {check.scenario} {check.region} {check.service}: {check.objective} {check.value:.2f} > {check.limit:g}",
            markup=False,
        )
    if len(missed) > MISSED_SHOWN:
        console.print(f"  ... and {len(missed) - MISSED_SHOWN} more (--json lists them all)")


def markdown(stack: str, results: Sequence[ScenarioResult], checks: Sequence[Check]) -> str:
    """Per scenario, the worst judged fleet by unserved share and by cost ratio, then the verdict."""
    missed = [c for c in checks if not c.met]
    lines = [f"### Storm simulation: `{stack}`", ""]
    if checks:
        lines.append(
            f"**{len(checks) - len(missed)} of {len(checks)} objectives met**"
            + (" :x:" if missed else " :white_check_mark:")
        )
        lines.append("")
    lines += [
        "| scenario | worst unserved | overloaded | recovery | highest cost ratio |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        judged = [f for f in result.fleets if f.unjudged is None] or list(result.fleets)
        if not judged:
            continue
        worst = max(judged, key=lambda f: f.outcome.unserved_percent)
        costly = max(judged, key=lambda f: f.cost_ratio or 0)
        lines.append(
            f"| {result.scenario.name} | {worst.outcome.unserved_percent:.2f}% ({worst.region} {worst.service}) "
            f"| {worst.outcome.overloaded_minutes:.1f} min | {worst.outcome.recovery_minutes:.1f} min "
            f"| {_ratio(costly)} ({costly.region} {costly.service}) |"
        )
    if missed:
        lines += ["", "<details><summary>Missed objectives</summary>", ""]
        lines += [
            f"- {c.scenario} {c.region} {c.service}: {c.objective} {c.value:.2f} > {c.limit:g}" for c in missed[:50]
        ]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n\n"


def chart(result: ScenarioResult, path: Path) -> None:
    """Demand, serving capacity and desired capacity over time, one panel per fleet, in
    instance-equivalents (requests per second / requests one instance serves at 100% CPU)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fleets = [f for f in result.fleets if max(f.outcome.series.demand, default=0) > 0] or list(result.fleets)
    columns = min(4, len(fleets)) or 1
    rows = -(-len(fleets) // columns) or 1
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.8 * rows), squeeze=False, sharex=True)
    start = result.scenario.start
    for axis, fleet in zip(axes.flat, fleets, strict=False):
        s = fleet.outcome.series
        minutes = [t / 60 for t in s.time]
        unit = _unit(fleet)
        axis.plot(minutes, [d / unit for d in s.demand], label="demand", color="#d62728", linewidth=1.4)
        axis.plot(minutes, [v / unit for v in s.serving], label="served", color="#2ca02c", linewidth=1.2)
        axis.step(minutes, s.desired, where="post", label="desired", color="#1f77b4", linewidth=1.0)
        axis.step(minutes, s.total, where="post", label="instances", color="#7f7f7f", linewidth=0.8, linestyle="--")
        axis.set_title(f"{fleet.region} {fleet.service}", fontsize=9)
        axis.tick_params(labelsize=7)
    for axis in list(axes.flat)[len(fleets) :]:
        axis.set_visible(False)
    axes.flat[0].legend(fontsize=7, loc="upper left")
    figure.suptitle(
        f"{result.scenario.name} (minutes from {start:%Y-%m-%d %H:%M} UTC; instance-equivalents)", fontsize=10
    )
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def _unit(fleet: FleetResult) -> float:
    """Requests per second one instance serves at 100% CPU (the series' unit)."""
    return fleet.rps or 1.0


def chart_name(result: ScenarioResult) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", result.scenario.name) + ".png"
