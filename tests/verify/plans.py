"""Small synthetic Plans for the verification rules: one compliant resource, one mutation."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from courier.plan import Plan, Resource
from courier.verify import Finding, verify

AS_OF = datetime(2026, 11, 25, tzinfo=UTC)
PROVIDER = "urn:pulumi:test::courier-platform::pulumi:providers:aws::aws-apne1"


def resource(
    token: str,
    name: str,
    inputs: Mapping[str, Any] | None = None,
    *,
    region: str = "ap-northeast-1",
    computed: Mapping[str, list[str]] | None = None,
) -> Resource:
    """A cloud resource as the Plan records it; ``computed`` lists inputs that come from other
    resources' outputs (their property dependencies)."""
    return Resource(
        urn=f"urn:pulumi:test::courier-platform::{token}::{name}",
        type=token,
        name=name,
        custom=True,
        parent=None,
        provider=PROVIDER,
        region=region,
        protect=False,
        dependencies=[],
        inputs=copy.deepcopy(dict(inputs or {})),
        property_dependencies={k: list(v) for k, v in (computed or {}).items()},
    )


def plan(*resources: Resource, as_of: datetime | None = AS_OF) -> Plan:
    return Plan(project="courier-platform", stack="test", resources=list(resources), as_of=as_of)


def findings(*resources: Resource, rule: str | None = None, **options: Any) -> list[Finding]:
    """The stage's findings for these resources (only ``rule``'s when given); no shellcheck
    unless a test asks for it."""
    options.setdefault("shellcheck", None)
    found = verify(plan(*resources), **options).findings
    return [f for f in found if rule is None or f.rule == rule]


def target_group(logical: str = "apne1-orders", **changes: Any) -> Resource:
    inputs: dict[str, Any] = {
        "vpcId": "vpc-5f4d712246e7a241c",
        "port": 8080,
        "protocol": "HTTP",
        "targetType": "instance",
        "deregistrationDelay": 30,
        "loadBalancingAlgorithmType": "round_robin",
        "slowStart": 30,
        "healthCheck": {
            "enabled": True,
            "path": "/healthz",
            "protocol": "HTTP",
            "port": "traffic-port",
            "interval": 15,
            "timeout": 5,
            "healthyThreshold": 3,
            "unhealthyThreshold": 3,
            "matcher": "200",
        },
        "tags": {"service": "orders"},
    }
    for key, value in changes.items():
        if key.startswith("healthCheck_"):
            inputs["healthCheck"][key.removeprefix("healthCheck_")] = value
        else:
            inputs[key] = value
    return resource("aws:lb/targetGroup:TargetGroup", logical, inputs, computed={"vpcId": ["urn:vpc"]})
