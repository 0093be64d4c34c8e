"""Terminal rendering of a Plan, shaped like ``pulumi preview``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from components.aws.oncall_topics import awaits_confirmation
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
        # Tasks name their promotion in the description: "courier-promotion:<name>:<action>".
        prewarms = [
            f"{str(t.inputs.get('description', '')).split(':')[1]} {t.inputs['minValue']}/{t.inputs['maxValue']}"
            for t in tasks
            if str(t.inputs.get("description", "")).endswith(":prewarm")
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
    """One row per pod autoscaler, whichever spelling declares it: a KEDA ScaledObject (its
    cpu trigger and cron triggers; KEDA derives the HPA from it) or an autoscaling/v2 HPA.
    Desired is the replica count of the Deployment it scales (its first rollout)."""
    scaled_object, hpa = "kubernetes:keda.sh/v1alpha1:ScaledObject", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"

    def number(value: object) -> float | None:
        try:
            return float(str(value))
        except ValueError:
            return None

    rows = []
    for resource in [*plan.of_type(scaled_object), *plan.of_type(hpa)]:
        spec = resource.inputs.get("spec", {})
        target_ref = spec.get("scaleTargetRef", {})
        namespace = resource.inputs.get("metadata", {}).get("namespace")
        deployment = next(
            (
                d
                for d in plan.of_type("kubernetes:apps/v1:Deployment")
                if d.provider == resource.provider
                and d.inputs.get("metadata", {}).get("namespace") == namespace
                and d.inputs.get("metadata", {}).get("name") == target_ref.get("name")
            ),
            None,
        )
        desired = deployment.inputs.get("spec", {}).get("replicas") if deployment else "?"
        if resource.type == scaled_object:
            low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
            triggers = spec.get("triggers", [])
            target = next(
                (
                    number(t.get("metadata", {}).get("value"))
                    for t in triggers
                    if t.get("type") == "cpu" and t.get("metricType") == "Utilization"
                ),
                None,
            )
            prewarms = [
                f"{t.get('name')} {t.get('metadata', {}).get('desiredReplicas')}/{high}"
                for t in triggers
                if t.get("type") == "cron"
            ]
            fleet = resource.name.removesuffix("-scaledobject")
        else:
            low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
            target = next(
                (
                    m["resource"]["target"].get("averageUtilization")
                    for m in spec.get("metrics", [])
                    if m.get("type") == "Resource" and m.get("resource", {}).get("name") == "cpu"
                ),
                None,
            )
            prewarms = []
            fleet = resource.name.removesuffix("-hpa")
        rows.append(
            FleetRow(
                resource.region or "",
                fleet,
                "pods",
                f"{low}/{desired}/{high}",
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
            # Wrapped, never cut: a warning says what to do and by when.
            console.print(Text(f"\n{diagnostic['severity']}: {diagnostic['message']}", style="yellow"), soft_wrap=True)

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

    console.print(Text("\nVerification:", style="bold"))
    findings = plan.verification.get("findings", [])
    console.print(Text(f"    {verification_summary(plan)}", style="red" if findings else "green"))
    for finding in findings:
        console.print(Text(f"    [{finding['rule']}] {_finding_line(finding)}", style="red"))

    pending = awaiting_line(plan)
    if pending:
        console.print(Text("\nAfter `up`:", style="bold"))
        console.print(Text(f"    {pending}", style="yellow"), soft_wrap=True)

    if plan.artifacts:
        console.print(Text("\nArtifacts:", style="bold"))
        for artifact in plan.artifacts:
            if not artifact.get("ok"):
                mark = Text("FAILED", style="bold red")
            elif artifact.get("verifiedBy"):
                mark = Text("ok", style="green")
            else:
                mark = Text("not verified", style="yellow")
            # Unverified: the detail says which tool is missing; the mark says "not verified".
            check = artifact.get("verifiedBy") or str(artifact.get("detail", "")).split(":")[0]
            console.print(Text(f"    {artifact['path']:<36} {check:<24} ") + mark)
            if not artifact.get("ok"):
                console.print(Text("      " + str(artifact.get("detail", "")).replace("\n", "\n      "), style="red"))
    if out_dir is not None:
        console.print(f"\nWrote {out_dir / 'plan.json'}")
    console.print(Text(f"\nDuration: {elapsed:.1f}s", style="dim"))


SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def awaiting_confirmation(plan: Plan) -> list[tuple[str, str, str]]:
    """(region, on-call role, protocol) of every alert subscription that receives nothing
    after `up` until someone confirms it (email, and https endpoints that do not confirm
    themselves): SNS keeps them PendingConfirmation, and pulumi-aws cannot confirm them."""
    topics = {r.urn: r for r in plan.of_type("aws:sns/topic:Topic")}
    pending = []
    for subscription in plan.of_type(SUBSCRIPTION):
        inputs = subscription.inputs
        if not awaits_confirmation(str(inputs.get("protocol", "")), bool(inputs.get("endpointAutoConfirms"))):
            continue
        topic = next((topics[u] for u in subscription.property_dependencies.get("topic", []) if u in topics), None)
        role = str((topic.inputs.get("tags") or {}).get("oncall-role", "?")) if topic else "?"
        pending.append((subscription.region or "", role, str(inputs.get("protocol"))))
    return sorted(pending)


def awaiting_line(plan: Plan) -> str | None:
    pending = awaiting_confirmation(plan)
    if not pending:
        return None
    roles = sorted({f"{role} ({protocol})" for _, role, protocol in pending})
    regions = len({region for region, _, _ in pending})
    return (
        f"{len(pending)} alert subscription(s) in {regions} region(s) receive nothing until confirmed from the "
        f"message SNS sends after `up`: {', '.join(roles)}"
    )


def _resource(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn else "stack"


def _finding_line(finding: dict[str, str]) -> str:
    where = " ".join(part for part in (_resource(finding["urn"]), finding["property"]) if part)
    return f"{where}: {finding['message']}"


def verification_summary(plan: Plan) -> str:
    """One line: rules, resources and model coverage, and the verdict (courier.verify)."""
    result = plan.verification
    findings = result.get("findings", [])
    coverage = result.get("coverage") or {}
    # FIS templates' actions and targets are checked by courier/verify/fis.py, which reshapes
    # them into the request first: a category of their own, neither model-checked by name nor
    # provider-only.
    by_rule = coverage.get("checkedByRule", 0)
    inputs = (
        f"; {coverage.get('checked', 0)} of {coverage.get('inputs', 0)} AWS inputs checked against the API models"
        + " ("
        + (f"{by_rule} FIS action and target inputs checked by fis.py, " if by_rule else "")
        + f"{coverage.get('providerOnly', 0)} provider-only, {coverage.get('unmapped', 0)} unmapped)"
        if coverage
        else ""
    )
    verdict = f"{len(findings)} finding(s)" if findings else "no findings"
    return f"{result.get('rules', 0)} rules over {result.get('checked', 0)} resources{inputs}: {verdict}"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(plan: Plan) -> str:
    """The plan as a GitHub-flavoured Markdown summary (a pull request's job summary)."""
    summary = plan.summary()
    violations = plan.policies.get("violations", [])
    mandatory = [v for v in violations if v["level"] == "mandatory"]
    failed = [a for a in plan.artifacts if not a.get("ok")]
    findings = plan.verification.get("findings", [])
    verdict = "❌ blocked" if mandatory or failed or findings else "✅ passes"
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
    lines += ["", "#### Verification", "", verification_summary(plan) + "."]
    if findings:
        lines += ["", "| Rule | Resource | Property | Message |", "|---|---|---|---|"]
        lines += [
            f"| `{f['rule']}` | {_cell(_resource(f['urn']))} | {_cell(f['property'] or '-')} | {_cell(f['message'])} |"
            for f in findings
        ]
    warnings = [d["message"] for d in plan.diagnostics if d.get("severity") in ("warning", "error")]
    if warnings:
        lines += ["", "#### Warnings", ""] + [f"- {_cell(w)}" for w in warnings]
    pending = awaiting_line(plan)
    if pending:
        lines += ["", "#### After `up`", "", pending + "."]
    if plan.artifacts:
        lines += ["", "#### Artifacts", "", "| File | Verified by | Result |", "|---|---|---|"]
        lines += [
            f"| `{a['path']}` | {_cell(a['verifiedBy'])} | {'ok' if a.get('ok') else '**failed**: ' + _cell(a.get('detail', ''))[:500]} |"
            for a in plan.artifacts
        ]
    return "\n".join(lines) + "\n"
