"""What a configuration leaves unserved, read from the Plan: a region whose load balancer has
no route for a service that runs elsewhere answers 404 on its path, and (against a base Plan)
a service that stops running in a region where it ran. Emitted as plan diagnostics, shown in
the summary and the JSON. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from courier.plan import Plan, tag_value

AWS_RULE = "aws:lb/listenerRule:ListenerRule"
ALI_RULE = "alicloud:alb/rule:Rule"
#: What runs a service in a region: its fleet, its pods, its ESS group.
RUNNERS = (
    "aws:autoscaling/group:Group",
    "kubernetes:apps/v1:Deployment",
    "alicloud:ess/scalingGroup:ScalingGroup",
)


def _service(tags: Any) -> str | None:
    value = tag_value(tags, "service")
    return value if value not in ("shared", "data") else None


def _paths(inputs: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for condition in inputs.get("conditions") or []:
        found += list((condition.get("pathPattern") or {}).get("values") or [])
    for condition in inputs.get("ruleConditions") or []:
        found += list((condition.get("pathConfig") or {}).get("values") or [])
    return found


def _resources(plan: Plan | Mapping[str, Any]) -> Iterable[tuple[str, str | None, Mapping[str, Any], str]]:
    """(type, region, inputs, name) of a Plan or a Plan JSON."""
    if isinstance(plan, Plan):
        for r in plan.resources:
            yield r.type, r.region, r.inputs, r.name
    else:
        for r in plan.get("resources", []):
            yield r.get("type", ""), r.get("region"), r.get("inputs") or {}, r.get("name", "")


def served(plan: Plan | Mapping[str, Any]) -> dict[str, set[str]]:
    """Region -> the services running there (fleets, Deployments, ESS groups, by their tag or
    Kubernetes label ``courier/service``)."""
    found: dict[str, set[str]] = {}
    for kind, region, inputs, _ in _resources(plan):
        if kind not in RUNNERS or region is None:
            continue
        service = _service(inputs.get("tags"))
        if service is None and kind.startswith("kubernetes:"):
            labels = ((inputs.get("metadata") or {}).get("labels")) or {}
            service = labels.get("courier/service") or (inputs.get("metadata") or {}).get("namespace")
        if service:
            found.setdefault(region, set()).add(service)
    return found


def routed(plan: Plan | Mapping[str, Any]) -> dict[str, set[str]]:
    """Region -> the services its load balancer has a path rule for (``/<service>``)."""
    found: dict[str, set[str]] = {}
    for kind, region, inputs, _ in _resources(plan):
        if kind not in (AWS_RULE, ALI_RULE) or region is None:
            continue
        for path in _paths(inputs):
            name = path.strip("/").split("/", 1)[0]
            if name and "*" not in name:
                found.setdefault(region, set()).add(name)
    return found


def unrouted(plan: Plan) -> list[str]:
    """A region's load balancer answers 404 for a service the stack runs elsewhere."""
    everywhere = set().union(*served(plan).values()) if served(plan) else set()
    lost = {
        r["name"]
        for r in (plan.outputs.get("dr") or {}).get("regions") or []
        if isinstance(r, Mapping) and r.get("status") == "lost"
    }
    lines = []
    for region, services in sorted(routed(plan).items()):
        if region in lost:
            continue
        for service in sorted(everywhere - services):
            elsewhere = sorted(r for r, names in served(plan).items() if service in names)
            lines.append(
                f"{region}: its load balancer answers 404 on /{service} (the service runs in {', '.join(elsewhere)} "
                f"only; users Route 53 sends to {region} cannot reach it)"
            )
    return lines


def dropped(base: Mapping[str, Any], plan: Plan) -> list[str]:
    """Services that stop running in a region where they ran (the region still being there)."""
    before, after = served(base), served(plan)
    lines = []
    for region, services in sorted(before.items()):
        if region not in after:
            continue  # the region itself goes: the diff's deletes say so
        for service in sorted(services - after[region]):
            lines.append(f"{service} stops running in {region}, where it ran in the base")
    return lines


def diagnostics(plan: Plan, base: Mapping[str, Any] | None = None) -> list[dict[str, str]]:
    messages = [*unrouted(plan), *(dropped(base, plan) if base is not None else [])]
    return [{"severity": "warning", "message": m} for m in messages]
