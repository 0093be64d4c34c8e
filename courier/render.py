"""Terminal rendering of a Plan, shaped like ``pulumi preview``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from courier.plan import Plan, Resource


def _tree_rows(plan: Plan) -> list[tuple[str, Resource]]:
    """(prefix, resource) in tree order with box-drawing prefixes like pulumi preview."""
    children: dict[str | None, list[Resource]] = {}
    known = {r.urn for r in plan.resources}
    for resource in plan.resources:
        parent = resource.parent if resource.parent in known else None
        children.setdefault(parent, []).append(resource)
    rows: list[tuple[str, Resource]] = []

    def walk(parent: str | None, indent: str) -> None:
        siblings = children.get(parent, [])
        for index, resource in enumerate(siblings):
            last = index == len(siblings) - 1
            branch = "" if parent is None else ("└─ " if last else "├─ ")
            rows.append((indent + branch, resource))
            walk(resource.urn, indent + ("" if parent is None else ("   " if last else "│  ")))

    walk(None, "")
    return rows


@dataclass(frozen=True)
class FleetRow:
    region: str
    fleet: str
    kind: str
    capacity: str
    target: str
    warm_pool: str
    promotions: str


def fleet_rows(plan: Plan) -> list[FleetRow]:
    """What scales where, read from the Plan: EC2 Auto Scaling groups, ESS groups and HPAs,
    with their capacity, CPU target and the promotion pre-scales (min/max)."""
    rows = [*_asg_rows(plan), *_ess_rows(plan), *_hpa_rows(plan)]
    return sorted(rows, key=lambda r: (r.region, r.fleet))


def _siblings(plan: Plan, resource: Resource, resource_type: str) -> list[Resource]:
    return [r for r in plan.children(resource.parent or "") if r.type == resource_type]


def _percent(value: object) -> str:
    return f"{value:g}%" if isinstance(value, (int, float)) else "none"


def _asg_rows(plan: Plan) -> list[FleetRow]:
    rows = []
    for group in plan.of_type("aws:autoscaling/group:Group"):
        policies = _siblings(plan, group, "aws:autoscaling/policy:Policy")
        target = next(
            (
                p.inputs["targetTrackingConfiguration"]["targetValue"]
                for p in policies
                if p.inputs.get("policyType") == "TargetTrackingScaling"
            ),
            None,
        )
        schedules = sorted(
            _siblings(plan, group, "aws:autoscaling/schedule:Schedule"), key=lambda r: str(r.inputs.get("startTime"))
        )
        prewarms = [
            f"{s.inputs['scheduledActionName'].removesuffix('-prewarm')} {s.inputs['minSize']}/{s.inputs['maxSize']}"
            for s in schedules
            if s.inputs["scheduledActionName"].endswith("-prewarm")
        ]
        inputs = group.inputs
        rows.append(
            FleetRow(
                group.region or "",
                group.name.removesuffix("-asg"),
                _instance_type(plan, group),
                f"{inputs.get('minSize')}/{inputs.get('desiredCapacity')}/{inputs.get('maxSize')}",
                _percent(target),
                "yes" if inputs.get("warmPool") else "no",
                ", ".join(prewarms) or "-",
            )
        )
    return rows


def _ess_rows(plan: Plan) -> list[FleetRow]:
    rows = []
    for group in plan.of_type("alicloud:ess/scalingGroup:ScalingGroup"):
        rules = _siblings(plan, group, "alicloud:ess/scalingRule:ScalingRule")
        target = next(
            (
                r.inputs.get("targetValue")
                for r in rules
                if r.inputs.get("scalingRuleType") == "TargetTrackingScalingRule"
            ),
            None,
        )
        configs = _siblings(plan, group, "alicloud:ess/scalingConfiguration:ScalingConfiguration")
        tasks = sorted(
            _siblings(plan, group, "alicloud:ess/scheduledTask:ScheduledTask"),
            key=lambda r: str(r.inputs.get("launchTime")),
        )
        prewarms = [
            f"{t.inputs['scheduledTaskName'].removesuffix('-prewarm').split('-', 2)[-1]} {t.inputs['minValue']}/{t.inputs['maxValue']}"
            for t in tasks
            if t.inputs["scheduledTaskName"].endswith("-prewarm")
        ]
        inputs = group.inputs
        rows.append(
            FleetRow(
                group.region or "",
                group.name.removesuffix("-group"),
                ",".join(configs[0].inputs.get("instanceTypes", [])) if configs else "",
                f"{inputs.get('minSize')}/{inputs.get('desiredCapacity')}/{inputs.get('maxSize')}",
                _percent(target),
                "no",
                ", ".join(prewarms) or "-",
            )
        )
    return rows


def _hpa_rows(plan: Plan) -> list[FleetRow]:
    rows = []
    for hpa in plan.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler"):
        spec = hpa.inputs.get("spec", {})
        target = next(
            (
                m["resource"]["target"].get("averageUtilization")
                for m in spec.get("metrics", [])
                if m.get("type") == "Resource"
            ),
            None,
        )
        deployments = _siblings(plan, hpa, "kubernetes:apps/v1:Deployment")
        desired = deployments[0].inputs.get("spec", {}).get("replicas") if deployments else "?"
        scaled = _siblings(plan, hpa, "kubernetes:keda.sh/v1alpha1:ScaledObject")
        triggers = scaled[0].inputs.get("spec", {}).get("triggers", []) if scaled else []
        prewarms = [
            f"{t['name']} {t['metadata']['desiredReplicas']}/{spec.get('maxReplicas')}"
            for t in triggers
            if t.get("type") == "cron"
        ]
        rows.append(
            FleetRow(
                hpa.region or "",
                hpa.name.removesuffix("-hpa"),
                "pods",
                f"{spec.get('minReplicas')}/{desired}/{spec.get('maxReplicas')}",
                _percent(target),
                "no",
                ", ".join(prewarms) or "-",
            )
        )
    return rows


def fleet_table(plan: Plan) -> Table:
    table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
    for column in ("Region", "Fleet", "Type", "min/desired/max", "CPU target", "Warm pool", "Promotions (min/max)"):
        table.add_column(column, no_wrap=True)
    for row in fleet_rows(plan):
        table.add_row(row.region, row.fleet, row.kind, row.capacity, row.target, row.warm_pool, row.promotions)
    return table


def _instance_type(plan: Plan, group: Resource) -> str:
    mixed = group.inputs.get("mixedInstancesPolicy")
    if mixed:
        return ",".join(o["instanceType"] for o in mixed["launchTemplate"]["overrides"])
    templates = _siblings(plan, group, "aws:ec2/launchTemplate:LaunchTemplate")
    return templates[0].inputs.get("instanceType", "") if templates else ""


def display_type(token: str) -> str:
    """``aws:ec2/securityGroup:SecurityGroup`` -> ``aws:ec2:SecurityGroup``, as pulumi shows it."""
    parts = token.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        return f"{parts[0]}:{parts[1].split('/', 1)[0]}:{parts[2]}"
    return token


def preview(console: Console, plan: Plan, *, elapsed: float, out_dir: Path | None = None) -> None:
    console.print(
        Text.assemble(
            ("Previewing update ", "bold"),
            (f"({plan.stack})", "bold cyan"),
            (" offline: the real program under the recording mock engine, no cloud calls\n", ""),
        )
    )
    table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column(" ", width=2)
    table.add_column("Type", no_wrap=True)
    table.add_column("Name", no_wrap=True)
    table.add_column("Region", no_wrap=True, style="dim")
    for prefix, resource in _tree_rows(plan):
        style = "" if resource.custom else "bold"
        table.add_row(
            Text("+", style="green"),
            Text(prefix, style="dim") + Text(display_type(resource.type), style=style),
            Text(resource.name + ("  [protected]" if resource.protect else "")),
            resource.region or "",
        )
    console.print(table)

    for diagnostic in plan.diagnostics:
        if diagnostic["severity"] in ("warning", "error"):
            console.print(Text(f"\n{diagnostic['severity']}: {diagnostic['message']}", style="yellow"))

    summary = plan.summary()
    console.print(Text("\nResources:", style="bold"))
    console.print(Text(f"    + {summary['create']} to create", style="green"))
    console.print(
        f"      {summary['resources']} cloud resources, {summary['components']} components, "
        f"{summary['providers']} providers"
    )
    for region, count in summary["byRegion"].items():
        console.print(f"      {region:<16} {count}")

    fleets = fleet_table(plan)
    if fleets.row_count:
        console.print(Text("\nFleets:", style="bold"))
        console.print(fleets)

    violations = plan.policies.get("violations", [])
    pack = plan.policies.get("pack")
    console.print(Text("\nPolicies:", style="bold"))
    if pack is None:
        console.print("    no policy pack was run")
    elif not violations:
        console.print(Text(f"    {pack}: {plan.policies.get('policies', 0)} policies, no violations", style="green"))
    else:
        mandatory = sum(1 for v in violations if v["level"] == "mandatory")
        console.print(
            f"    {pack}: {plan.policies.get('policies', 0)} policies, {mandatory} mandatory and "
            f"{len(violations) - mandatory} advisory violation(s)"
        )
        for violation in violations:
            style = "red" if violation["level"] == "mandatory" else "yellow"
            console.print(
                Text(f"    [{violation['level']}] {violation['policy']}: {violation['message']}", style=style)
            )
            if violation["urn"]:
                console.print(Text(f"        {violation['urn']}", style="dim"))

    if plan.artifacts:
        console.print(Text("\nArtifacts:", style="bold"))
        for artifact in plan.artifacts:
            if not artifact.get("ok"):
                mark = Text("FAILED", style="bold red")
            elif artifact.get("verifiedBy"):
                mark = Text("ok", style="green")
            else:
                mark = Text("not verified", style="yellow")
            check = artifact.get("verifiedBy") or artifact.get("detail", "")
            console.print(Text(f"    {artifact['path']:<36} {check:<24} ") + mark)
            if not artifact.get("ok"):
                console.print(Text("      " + str(artifact.get("detail", "")).replace("\n", "\n      "), style="red"))
    if out_dir is not None:
        console.print(f"\nWrote {out_dir / 'plan.json'}")
    console.print(Text(f"\nDuration: {elapsed:.1f}s", style="dim"))


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(plan: Plan) -> str:
    """The plan as a GitHub-flavoured Markdown summary (a pull request's job summary)."""
    summary = plan.summary()
    violations = plan.policies.get("violations", [])
    mandatory = [v for v in violations if v["level"] == "mandatory"]
    failed = [a for a in plan.artifacts if not a.get("ok")]
    verdict = "❌ blocked" if mandatory or failed else "✅ passes"
    lines = [
        f"### {plan.project} · `{plan.stack}`: {verdict}",
        "",
        f"{summary['create']} to create: {summary['resources']} cloud resources, "
        f"{summary['components']} components, {summary['providers']} providers.",
        "",
        "| Region | Fleet | Type | min/desired/max | CPU target | Warm pool | Promotions (min/max) |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        "| "
        + " | ".join(_cell(c) for c in (r.region, r.fleet, r.kind, r.capacity, r.target, r.warm_pool, r.promotions))
        + " |"
        for r in fleet_rows(plan)
    ]
    pack = plan.policies.get("pack")
    lines += ["", "#### Policies", ""]
    if pack is None:
        lines.append("No policy pack was run.")
    elif not violations:
        lines.append(f"`{pack}`: {plan.policies.get('policies', 0)} policies, no violations.")
    else:
        lines += [
            f"`{pack}`: {len(mandatory)} mandatory and {len(violations) - len(mandatory)} advisory violation(s).",
            "",
            "| Level | Policy | Resource | Message |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {v['level']} | `{v['policy']}` | {_cell(v['urn'].rsplit('::', 1)[-1] or 'stack')} | {_cell(v['message'])} |"
            for v in violations
        ]
    if plan.artifacts:
        lines += ["", "#### Artifacts", "", "| File | Verified by | Result |", "|---|---|---|"]
        lines += [
            f"| `{a['path']}` | {_cell(a['verifiedBy'])} | {'ok' if a.get('ok') else '**failed**: ' + _cell(a.get('detail', ''))[:500]} |"
            for a in plan.artifacts
        ]
    return "\n".join(lines) + "\n"
