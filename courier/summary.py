"""The default view of a plan: one screen a person can read (regions, services and their
capacity everywhere, the verdicts, what needs attention). The resource tree is behind
``--tree`` (courier.render.preview). Pure over the Plan."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from courier.plan import Plan
from courier.render import FleetRow, awaiting_line, fleet_rows, verification_summary


@dataclass(frozen=True)
class RegionLine:
    name: str
    cloud: str
    role: str
    status: str
    resources: int


def regions(plan: Plan) -> list[RegionLine]:
    """The stack's regions in failover order (the program's ``dr`` output), with their resource counts."""
    counts = plan.summary()["byRegion"]
    listed = (plan.outputs.get("dr") or {}).get("regions") or []
    lines = [
        RegionLine(r["name"], r["cloud"], r["role"], r.get("status", "active"), counts.get(r["name"], 0))
        for r in listed
        if isinstance(r, Mapping)
    ]
    known = {line.name for line in lines}
    # Regions the stack uses without serving from them: data replicas, Route 53's home.
    extra = [RegionLine(name, "", "", "", count) for name, count in counts.items() if name not in known]
    return lines + extra


def _codes(plan: Plan) -> dict[str, str]:
    listed = (plan.outputs.get("dr") or {}).get("regions") or []
    return {r["name"]: r["code"] for r in listed if isinstance(r, Mapping)}


@dataclass(frozen=True)
class ServiceLine:
    service: str
    kind: str
    target: str
    #: region -> min/desired/max (and "+warm pool")
    capacity: dict[str, str]
    promotions: str


def services(plan: Plan) -> list[ServiceLine]:
    """One line per service: its capacity in every region it runs in, its CPU target, and the
    pre-scale of the next promotion (as the primary's fleet holds it)."""
    codes = _codes(plan)
    primary = (plan.outputs.get("dr") or {}).get("primary")
    grouped: dict[str, list[FleetRow]] = {}
    for row in fleet_rows(plan):
        code = codes.get(row.region, "")
        service = row.fleet.removeprefix(f"{code}-") if code else row.fleet
        grouped.setdefault(service, []).append(row)
    lines = []
    for service, rows in grouped.items():
        first = next((r for r in rows if r.region == primary), rows[0])
        kinds = sorted({r.kind for r in rows})
        targets = sorted({r.target for r in rows})
        promotions = first.promotions.split(", ")[0] if first.promotions != "-" else "-"
        lines.append(
            ServiceLine(
                service,
                ", ".join(kinds),
                "/".join(targets),
                {r.region: r.capacity + (" +pool" if r.warm_pool == "yes" else "") for r in rows},
                promotions,
            )
        )
    return sorted(lines, key=lambda line: line.service)


def condensed(messages: Iterable[str], names: Sequence[str]) -> list[str]:
    """Messages that differ only in a region code or a resource named after one, once each
    with a count: seven warnings about seven fleets read as one line."""
    pattern = re.compile(r"\b[\w.-]*(?:" + "|".join(map(re.escape, names)) + r")[\w.-]*") if names else None
    groups: dict[str, list[str]] = {}
    for message in messages:
        key = pattern.sub("…", message) if pattern else message
        groups.setdefault(key, []).append(message)
    lines = []
    for key, members in groups.items():
        if len(members) == 1:
            lines.append(members[0])
        else:
            subjects = sorted({m for member in members for m in (pattern.findall(member) if pattern else [])})
            lines.append(f"{len(members)}x: {key} ({', '.join(subjects[:6])}{', …' if len(subjects) > 6 else ''})")
    return lines


def attention(plan: Plan) -> list[str]:
    """What a reviewer must act on, most severe first: mandatory violations, verification
    findings, failed artifacts, warnings (condensed), subscriptions awaiting confirmation."""
    lines: list[str] = []
    violations = plan.policies.get("violations", [])
    lines += [f"policy {v['policy']}: {v['message']}" for v in violations if v.get("level") == "mandatory"]
    lines += [f"verification {f['rule']}: {f['message']}" for f in plan.verification.get("findings", [])]
    lines += [
        f"artifact {a['path']} failed {a.get('verifiedBy') or ''}".rstrip() for a in plan.artifacts if not a.get("ok")
    ]
    warnings = [d["message"] for d in plan.diagnostics if d.get("severity") in ("warning", "error")]
    lines += condensed(warnings, sorted(_codes(plan).values()))
    lines += [f"advisory {v['policy']}: {v['message']}" for v in violations if v.get("level") != "mandatory"]
    pending = awaiting_line(plan)
    if pending:
        lines.append(f"after `up`: {pending}")
    return lines


def show(console: Console, plan: Plan, *, elapsed: float, out_dir: Any = None) -> None:
    summary = plan.summary()
    console.print(
        Text.assemble(
            ("Plan ", "bold"),
            (plan.stack, "bold cyan"),
            (
                f" (offline, the real program under the mock engine): {summary['resources']} cloud resources, "
                f"{summary['components']} components, {summary['providers']} providers to create; "
                "the resource tree: --tree",
                "",
            ),
        )
    )
    table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold", title=None)
    for column in ("Region", "Cloud", "Role", "Resources"):
        table.add_column(column, overflow="fold")
    replicas = {
        r.get("dataReplica"): r["name"]
        for r in (plan.outputs.get("dr") or {}).get("regions") or []
        if isinstance(r, Mapping) and r.get("dataReplica")
    }
    for line in regions(plan):
        if line.role:
            role = line.role + (" (LOST: kept as it was, out of DNS)" if line.status == "lost" else "")
        elif line.name in replicas:
            role = f"data replica of {replicas[line.name]}"
        elif line.name == "global":
            role = "no region (generated secrets)"
        else:
            role = "global: Route 53, ARC, region alarms"
        table.add_row(line.name, line.cloud or "-", role, str(line.resources))
    console.print(table)

    lines = services(plan)
    if lines:
        columns = sorted({region for line in lines for region in line.capacity}, key=_order(plan))
        fleets = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
        fleets.add_column("Service", no_wrap=True)
        fleets.add_column("CPU", no_wrap=True)
        for region in columns:
            fleets.add_column(_codes(plan).get(region, region), overflow="fold")
        fleets.add_column("Next promotion (min/max)", overflow="fold")
        for line in lines:
            fleets.add_row(
                line.service, line.target, *[line.capacity.get(region, "-") for region in columns], line.promotions
            )
        console.print(Text("\nCapacity (min/desired/max per region):", style="bold"))
        console.print(fleets)

    pack = plan.policies.get("pack")
    violations = plan.policies.get("violations", [])
    mandatory = sum(1 for v in violations if v.get("level") == "mandatory")
    findings = plan.verification.get("findings", [])
    failed = [a for a in plan.artifacts if not a.get("ok")]
    console.print(Text("\nVerdicts:", style="bold"))
    policy_line = (
        "no policy pack was run"
        if pack is None
        else f"{pack}: {plan.policies.get('policies', 0)} policies, "
        + (
            f"{mandatory} mandatory and {len(violations) - mandatory} advisory violation(s)"
            if violations
            else "no violations"
        )
    )
    console.print(Text(f"    policies      {policy_line}", style="red" if mandatory else "green"))
    console.print(Text(f"    verification  {verification_summary(plan)}", style="red" if findings else "green"))
    verified = sum(1 for a in plan.artifacts if a.get("ok") and a.get("verifiedBy"))
    console.print(
        Text(
            f"    artifacts     {len(plan.artifacts)}: {verified} verified"
            + (f", {len(failed)} FAILED" if failed else "")
            + (
                f", {len(plan.artifacts) - verified - len(failed)} not verified"
                if len(plan.artifacts) - verified - len(failed)
                else ""
            ),
            style="red" if failed else "green",
        )
    )
    notes = attention(plan)
    if notes:
        console.print(Text("\nNeeds attention:", style="bold"))
        for note in notes:
            console.print(Text(f"    - {note}", style="yellow"), soft_wrap=False, overflow="fold")
    if out_dir is not None:
        console.print(f"\nWrote {out_dir}/plan.json and the artifacts")
    console.print(Text(f"Duration: {elapsed:.1f}s", style="dim"))


def _order(plan: Plan):
    listed = [r["name"] for r in (plan.outputs.get("dr") or {}).get("regions") or [] if isinstance(r, Mapping)]
    return lambda region: (listed.index(region) if region in listed else len(listed), region)
