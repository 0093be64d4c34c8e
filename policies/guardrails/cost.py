"""Cost: fleets stay under a per-environment ceiling and use approved instance types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from guardrails.common import (
    ASG,
    ASG_SCHEDULE,
    EKS_NODE_GROUP,
    ESS_CONFIG,
    ESS_GROUP,
    ESS_TASK,
    LAUNCH_TEMPLATE,
    Report,
    Setting,
    get,
    num,
    resource_policy,
    setting,
)

MAX_SIZE = Setting(
    "maxSize", {"type": "integer", "minimum": 1, "default": 100, "description": "Largest max size of any fleet."}
)
AWS_TYPES = Setting(
    "allowedFamilies",
    {
        "type": "array",
        "items": {"type": "string"},
        "default": ["t3", "c5", "c6i", "c7i", "m5", "m6i", "m7i", "r6i", "c6g", "c7g", "m6g", "m7g"],
        "description": "EC2 instance families fleets and node groups may use.",
    },
)
ALI_TYPES = Setting(
    "allowedFamilies",
    {
        "type": "array",
        "items": {"type": "string"},
        "default": ["ecs.c6", "ecs.c7", "ecs.g6", "ecs.g7", "ecs.r7"],
        "description": "ECS instance families ESS fleets may use.",
    },
)


@resource_policy(
    "aws-autoscaling-group-max-size-cap",
    "No Auto Scaling group, nor any of its scheduled actions, goes above `maxSize` instances.",
    [ASG, ASG_SCHEDULE],
    MAX_SIZE,
)
def asg_cap(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    cap = setting(config, MAX_SIZE)
    size = get(args.props, "maxSize", default=0)
    if size > cap:
        report(
            f"{args.name} allows {num(size)} instances, above this environment's cap of {num(cap)}; lower maxSize or raise the cap."
        )


@resource_policy(
    "alicloud-ess-group-max-size-cap",
    "No ESS group, nor any of its scheduled tasks, goes above `maxSize` instances.",
    [ESS_GROUP, ESS_TASK],
    MAX_SIZE,
)
def ess_cap(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    cap = setting(config, MAX_SIZE)
    size = get(args.props, "maxSize", default=None) or get(args.props, "maxValue", default=0)
    if size > cap:
        report(f"{args.name} allows {num(size)} instances, above this environment's cap of {num(cap)}.")


def _family(instance_type: str) -> str:
    return instance_type.rsplit(".", 1)[0]


#: Every type that names the EC2 instance types a fleet, node group or instance runs on.
AWS_INSTANCE_DECLARERS = [
    LAUNCH_TEMPLATE,
    "aws:ec2/launchConfiguration:LaunchConfiguration",
    ASG,
    EKS_NODE_GROUP,
    "aws:ec2/instance:Instance",
    "aws:ec2/spotInstanceRequest:SpotInstanceRequest",
]
ALI_INSTANCE_DECLARERS = [ESS_CONFIG, "alicloud:ecs/instance:Instance"]


@resource_policy(
    "aws-instance-type-allowlist",
    "Fleets, node groups and instances use approved EC2 instance families.",
    AWS_INSTANCE_DECLARERS,
    AWS_TYPES,
)
def aws_types(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    allowed = set(setting(config, AWS_TYPES))
    types = [get(args.props, "instanceType"), *list(get(args.props, "instanceTypes", default=[]))]
    overrides = list(get(args.props, "mixedInstancesPolicy", "launchTemplate", "overrides", default=[]) or [])
    types += [get(o, "instanceType") for o in overrides]
    if any(get(o, "instanceRequirements") for o in overrides):
        report(
            f"{args.name} lets EC2 choose instance types by attributes (instanceRequirements), any family; "
            f"list instanceType overrides from the approved families {sorted(allowed)}."
        )
    for instance_type in (t for t in types if t):
        if _family(instance_type) not in allowed:
            report(f"{args.name} uses {instance_type}; use one of the approved families {sorted(allowed)}.")


@resource_policy(
    "alicloud-instance-type-allowlist",
    "ESS fleets and ECS instances use approved ECS instance families.",
    ALI_INSTANCE_DECLARERS,
    ALI_TYPES,
)
def ali_types(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    allowed = set(setting(config, ALI_TYPES))
    types = [get(args.props, "instanceType"), *list(get(args.props, "instanceTypes", default=[]))]
    for instance_type in (t for t in types if t):
        if _family(instance_type) not in allowed:
            report(f"{args.name} uses {instance_type}; use one of the approved families {sorted(allowed)}.")
