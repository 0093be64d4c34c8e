"""``python -m courier dr STACK --lose REGION [--rebuild-in REGION]``: the playbook for losing a
region, the config that rebuilds it elsewhere (planned, judged by the pack and verified), and a
parity report of the rebuilt region against the lost one.

Exit codes: 0 the playbook holds and, with --rebuild-in, the rebuilt plan passes the pack and
matches the lost region; 1 the rebuilt plan fails the pack or verification, or parity finds
something missing or weaker; 2 bad input (a region that is not the stack's, a rebuild region
that is not real, already used or of the other cloud, invalid config) with one clear line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from components import spec
from courier.dr import config as dr_config
from courier.dr import parity, playbook
from courier.plan import Plan
from courier.storm import fleets, results, scenarios

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2

#: Default bar for "the survivors carry it" when the stack sets no storm objectives (prod's).
DEFAULT_MAX_UNSERVED_PERCENT = 1.5


def add_parser(commands: Any, timestamp: Callable[[str], datetime]) -> None:
    dr = commands.add_parser(
        "dr",
        help="the playbook for losing a region, and a rebuild elsewhere checked for parity",
        description="Plan the stack, write the playbook for losing REGION and, with --rebuild-in, the config that "
        "rebuilds it elsewhere, its plan's policy verdict and a parity report against the lost region.",
    )
    dr.add_argument("stack", help="stack name; reads stacks/Pulumi.STACK.yaml unless --config-file is given")
    dr.add_argument("--lose", required=True, metavar="REGION", help="the region that is lost")
    dr.add_argument("--rebuild-in", metavar="REGION", help="the region that takes the lost one's place")
    dr.add_argument("--config-file", type=Path, help="read the stack's config from this file instead")
    dr.add_argument("--at", type=timestamp, help="plan as if it were this moment (ISO 8601 with offset)")
    dr.add_argument("--json", action="store_true", help="print the playbook and parity as JSON on stdout")
    dr.add_argument(
        "--out", type=Path, help="write DIR/Pulumi.STACK.yaml (the changed config), DIR/plan.json and DIR/dr.json"
    )
    dr.add_argument("--markdown", type=Path, metavar="FILE", help="append a Markdown summary to FILE")
    dr.add_argument("--debug", action="store_true", help="show tracebacks for program errors")


def read_document(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as problem:
        raise dr_config.DrInputError(f"{path}: cannot be read as YAML ({problem})") from None
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        raise dr_config.DrInputError(f"{path}: has no 'config' mapping")
    return document


def capacity(plan: Plan, lost: str) -> list[playbook.Capacity]:
    """Can the survivors carry the lost region's users today, and at the largest promotion's peak?"""
    environment = fleets.read(plan)
    limit = DEFAULT_MAX_UNSERVED_PERCENT
    surge = (environment.objectives or {}).get("surge") or {}
    if surge.get("maxUnservedPercent") is not None:
        limit = float(surge["maxUnservedPercent"])
    if lost not in environment.regions:
        return []
    built = [scenarios.region_loss_now(environment, lost)]
    if environment.promotions:
        built.append(scenarios.loss(environment, "region-loss", region=lost))
    checks = []
    for scenario in built:
        ran = results.run(scenario)
        judged = [f for f in ran.fleets if f.unjudged is None] or list(ran.fleets)
        if not judged:
            continue
        worst = max(judged, key=lambda f: (f.outcome.unserved_percent, f.outcome.overloaded_minutes))
        checks.append(
            playbook.Capacity(
                scenario.name if scenario.promotion is None else f"region-loss at {scenario.promotion}",
                scenario.description,
                worst.outcome.unserved_percent <= limit,
                max(f.outcome.overloaded_minutes for f in judged),
                worst.outcome.unserved_percent,
                f"{worst.region}/{worst.service}",
            )
        )
    return checks


def run(
    args: argparse.Namespace,
    plan_for: Callable[..., Plan],
    judge: Callable[[Plan], tuple[bool, str]],
    out: Console,
    err: Console,
    project_root: Path,
) -> int:
    """The dr command, given the CLI's planner and judge (the pack and verification)."""
    source = args.config_file or project_root / "stacks" / f"Pulumi.{args.stack}.yaml"
    try:
        document = read_document(source)
        dr_config.check_lose(document["config"], args.lose)
        rewrite = dr_config.lose(document["config"], args.lose, args.rebuild_in)
    except dr_config.DrInputError as problem:
        err.print(f"[bold red]error:[/] {escape(str(problem))}", markup=True, emoji=False)
        return EXIT_INVALID
    before = plan_for(args.stack, args.config_file, args.at)
    try:
        book = playbook.build(before, args.lose, capacity(before, args.lose))
    except (playbook.PlaybookError, fleets.PlanReadError) as problem:
        err.print(f"[bold red]error:[/] {escape(str(problem))}", markup=True, emoji=False)
        return EXIT_INVALID

    out_dir: Path = args.out or Path(_scratch())
    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = out_dir / f"Pulumi.{args.stack}.yaml"
    changed = {**document, "config": rewrite.config}
    header = (
        f"# {args.stack} after losing {args.lose}"
        + (f" and rebuilding it in {args.rebuild_in}" if args.rebuild_in else "")
        + f", written by `python -m courier dr` from {source.name}.\n# Changes:\n"
        + "".join(f"#   {c.key}: {c.what}\n" for c in rewrite.changes)
    )
    config_path.write_text(header + yaml.safe_dump(changed, sort_keys=False, allow_unicode=True), encoding="utf-8")
    try:
        after = plan_for(args.stack, config_path, args.at)
    except spec.SpecError as invalid:
        err.print(f"[bold red]error:[/] the rebuilt config ({config_path}) is invalid:", markup=True, emoji=False)
        for line in invalid.lines():
            err.print(f"  {line}", markup=False, emoji=False)
        return EXIT_FAILED
    verdict_ok, verdict = judge(after)
    report = (
        parity.compare(before, after, args.lose, args.rebuild_in, verdict_ok=verdict_ok, verdict=verdict)
        if args.rebuild_in
        else None
    )
    document_out = {
        "playbook": book.to_json(),
        "config": {"path": str(config_path), "changes": [{"key": c.key, "what": c.what} for c in rewrite.changes]},
        "rebuiltPlan": {"policies": verdict, "ok": verdict_ok},
        **({"parity": report.to_json()} if report is not None else {}),
    }
    if args.out:
        (out_dir / "plan.json").write_text(after.dumps() + "\n", encoding="utf-8")
        (out_dir / "dr.json").write_text(json.dumps(document_out, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as summary:
            summary.write(markdown(book, rewrite, verdict, report))
    if args.json:
        sys.stdout.write(json.dumps(document_out, indent=2) + "\n")
    else:
        show(out, book, rewrite, config_path if args.out else None, verdict, report)
    failed = not verdict_ok or (report is not None and report.failed)
    return EXIT_FAILED if failed else EXIT_OK


def _scratch() -> str:
    return tempfile.mkdtemp(prefix="courier-dr-")


def show(
    out: Console,
    book: playbook.Playbook,
    rewrite: dr_config.Rewrite,
    written: Path | None,
    verdict: str,
    report: parity.Report | None,
) -> None:
    out.print(
        f"Losing {book.lost} ({book.stack}): users move to {', '.join(book.survivors)}; "
        f"{'the writer moves to ' + book.new_primary if book.writer_lost else 'the writer stays in ' + book.new_primary}.",
        markup=False,
    )
    table = Table(title="Playbook", show_lines=False, expand=False)
    for column in ("#", "area", "action", "RTO", "RPO", "source / command"):
        table.add_column(column, overflow="fold")
    for index, step in enumerate(book.steps, 1):
        table.add_row(str(index), step.area, step.action, step.rto, step.rpo, step.command or step.source)
    out.print(table)
    out.print("Config changes" + (f" (written to {written})" if written else "") + ":", markup=False)
    for change in rewrite.changes:
        out.print(f"    {change.key}: {change.what}", markup=False)
    out.print(f"Rebuilt plan: {verdict}", markup=False)
    if report is None:
        return
    failures = [r for r in report.rows if r.failed]
    out.print(
        f"Parity {report.rebuilt} against {report.lost}: {len(report.rows)} checks, "
        + (f"{len(failures)} FAILED" if failures else "no failure"),
        markup=False,
    )
    parity_table = Table(show_lines=False)
    for column in ("status", "kind", "item", report.lost, report.rebuilt):
        parity_table.add_column(column, overflow="fold")
    rows = failures or [r for r in report.rows if r.kind != "resources"][:12]
    for row in rows:
        parity_table.add_row(row.status, row.kind, row.item, row.lost, row.rebuilt)
    out.print(parity_table)
    if not failures:
        out.print(
            f"    ({len(report.rows) - len(rows)} more rows, all ok: --json or --out for the full report)", markup=False
        )


def markdown(book: playbook.Playbook, rewrite: dr_config.Rewrite, verdict: str, report: parity.Report | None) -> str:
    lines = [
        f"### Disaster recovery: losing {book.lost} ({book.stack})",
        "",
        "| # | area | action | RTO | RPO |",
        "|---|---|---|---|---|",
        *(
            f"| {i} | {s.area} | {s.action.replace('|', '/')} | {s.rto} | {s.rpo} |"
            for i, s in enumerate(book.steps, 1)
        ),
        "",
        f"Rebuilt plan: {verdict}",
    ]
    if report is not None:
        failures = [r for r in report.rows if r.failed]
        lines.append(
            f"Parity of {report.rebuilt} against {report.lost}: "
            + (f"**{len(failures)} failed**" if failures else f"{len(report.rows)} checks, no failure")
        )
        lines += [f"- {r.status}: {r.kind} {r.item} ({r.lost} -> {r.rebuilt})" for r in failures]
    return "\n".join(lines) + "\n\n"
