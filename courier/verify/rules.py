"""Cross-field rules the API models do not carry: load balancers, capacity, warm pools.

Each rule is one function with the place the rule is written down, in a comment and in its
:class:`Rule` (every finding carries the source). A rule reads only the Plan and its moment.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from courier.plan import Resource
from courier.verify.catalogue import ALICLOUD_DOCUMENTED
from courier.verify.findings import Context, Issue, Rule

TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
ASG = "aws:autoscaling/group:Group"
ASG_SCHEDULE = "aws:autoscaling/schedule:Schedule"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ESS_GROUP = "alicloud:ess/scalingGroup:ScalingGroup"
ESS_TASK = "alicloud:ess/scheduledTask:ScheduledTask"
ALI_ALB_RULE = "alicloud:alb/rule:Rule"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"


def number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(str(value))
    except ValueError:
        return None


def moment(value: Any) -> datetime | None:
    """An ISO 8601 timestamp from an input (``2027-11-10T14:30Z``); naive ones count as UTC,
    as both clouds read them."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# -- load balancers ----------------------------------------------------------------------


# ELB user guide, target group attributes, slow start mode: "You cannot enable both least
# outstanding requests and slow start mode"; the weighted random algorithm: "Slow start mode
# ... is not supported" with it.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html
def slow_start_with_algorithm(context: Context) -> Iterator[Issue]:
    for group in context.of_type(TARGET_GROUP):
        slow_start = number(group.inputs.get("slowStart")) or 0
        algorithm = group.inputs.get("loadBalancingAlgorithmType")
        if slow_start > 0 and algorithm in ("least_outstanding_requests", "weighted_random"):
            yield Issue(
                group.urn,
                "slowStart",
                f"slow start ({fmt(slow_start)} s) cannot be combined with the {algorithm} algorithm: "
                "AWS refuses the target group; drop slow start or use round_robin",
            )


# ELB user guide, target group health checks: the timeout is how long to wait for a response
# within each interval; ModifyTargetGroup/CreateTargetGroup refuse a timeout that is not below
# the interval ("Health check interval must be greater than the timeout"). The thresholds'
# 2-10 range is in the model (HealthCheckThresholdCount) and checked there.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
def health_check_timeout_below_interval(context: Context) -> Iterator[Issue]:
    for group in context.of_type(TARGET_GROUP):
        check = group.inputs.get("healthCheck") or {}
        timeout, interval = number(check.get("timeout")), number(check.get("interval"))
        if timeout is not None and interval is not None and timeout >= interval:
            yield Issue(
                group.urn,
                "healthCheck.timeout",
                f"health check timeout {fmt(timeout)} s must be less than the interval {fmt(interval)} s",
            )


def _listener_of(rule: Resource, key: str) -> str:
    """The listener a rule belongs to: the resource its ARN comes from, else the ARN."""
    return ",".join(sorted(rule.property_dependencies.get(key) or [])) or str(rule.inputs.get(key))


# botocore elbv2 CreateRuleInput.Priority: "A listener can't have multiple rules with the same
# priority." (The 1-50000 range is the model's RulePriority.)
def listener_rule_priorities_unique(context: Context) -> Iterator[Issue]:
    yield from _unique_priorities(context.of_type(LISTENER_RULE), "listenerArn")


# terraform-provider-alicloud website/docs/r/alb_rule.html.markdown (CreateRule): "priority ...
# Valid values: 1 to 10000 ... The priority of each rule within the same listener must be unique."
def alicloud_alb_rule_priorities_unique(context: Context) -> Iterator[Issue]:
    yield from _unique_priorities(context.of_type(ALI_ALB_RULE), "listenerId")


def _unique_priorities(rules: Iterable[Resource], listener_key: str) -> Iterator[Issue]:
    seen: dict[tuple[str, float], Resource] = {}
    for rule in rules:
        priority = number(rule.inputs.get("priority"))
        if priority is None:
            continue
        key = (_listener_of(rule, listener_key), priority)
        if key in seen:
            yield Issue(
                rule.urn,
                "priority",
                f"priority {fmt(priority)} is already used on this listener by {seen[key].name!r}",
            )
        else:
            seen[key] = rule


# -- capacity ----------------------------------------------------------------------------


def _order(resource: Resource, low: Any, desired: Any, high: Any, names: tuple[str, str, str]) -> Iterator[Issue]:
    lo, want, hi = number(low), number(desired), number(high)
    if want is not None and want < 0:
        want = None  # -1: "leave desired alone" (scheduled actions)
    if lo is not None and hi is not None and lo > hi:
        yield Issue(resource.urn, names[0], f"{names[0]} {fmt(lo)} is above {names[2]} {fmt(hi)}")
    if want is not None and lo is not None and want < lo:
        yield Issue(resource.urn, names[1], f"{names[1]} {fmt(want)} is below {names[0]} {fmt(lo)}")
    if want is not None and hi is not None and want > hi:
        yield Issue(resource.urn, names[1], f"{names[1]} {fmt(want)} is above {names[2]} {fmt(hi)}")


def _order_of(resource: Resource, fields: tuple[str, str, str], within: str = "") -> Iterator[Issue]:
    """min <= desired <= max over the resource's own fields (``within`` a nested object); an
    empty field name means the object has no such value."""
    source = (resource.inputs.get(within) or {}) if within else resource.inputs
    values = [source.get(f) if f else None for f in fields]
    names = tuple(f"{within}.{f}" if within and f else f for f in fields)
    return _order(resource, values[0], values[1], values[2], (names[0], names[1], names[2]))


# botocore autoscaling CreateAutoScalingGroupType.DesiredCapacity: "This number must be greater
# than or equal to the minimum size of the group and less than or equal to the maximum size";
# the same holds for a scheduled action's sizes (PutScheduledUpdateGroupAction).
def asg_capacity_order(context: Context) -> Iterator[Issue]:
    for group in context.of_type(ASG, ASG_SCHEDULE):
        yield from _order_of(group, ("minSize", "desiredCapacity", "maxSize"))


# botocore eks NodegroupScalingConfig (minSize <= desiredSize <= maxSize; CreateNodegroup
# refuses "desired capacity ... cannot be less than minimum size").
def nodegroup_capacity_order(context: Context) -> Iterator[Issue]:
    for group in context.of_type(NODE_GROUP):
        yield from _order_of(group, ("minSize", "desiredSize", "maxSize"), within="scalingConfig")


# Alibaba ESS CreateScalingGroup: DesiredCapacity "must be greater than or equal to MinSize and
# less than or equal to MaxSize"; CreateScheduledTask: MinValue <= DesiredCapacity <= MaxValue.
# https://www.alibabacloud.com/help/en/auto-scaling/developer-reference/api-ess-2014-08-28-createscalinggroup
def ess_capacity_order(context: Context) -> Iterator[Issue]:
    for group in context.of_type(ESS_GROUP):
        yield from _order_of(group, ("minSize", "desiredCapacity", "maxSize"))
    for task in context.of_type(ESS_TASK):
        yield from _order_of(task, ("minValue", "desiredCapacity", "maxValue"))


# Kubernetes API validation of autoscaling/v2 HorizontalPodAutoscaler: "maxReplicas must be
# greater than or equal to minReplicas" (pkg/apis/autoscaling/validation); KEDA ScaledObject
# validation likewise refuses minReplicaCount above maxReplicaCount.
# https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/horizontal-pod-autoscaler-v2/
def replica_bounds_order(context: Context) -> Iterator[Issue]:
    for hpa in context.of_type(HPA):
        yield from _order_of(hpa, ("minReplicas", "", "maxReplicas"), within="spec")
    for scaled in context.of_type(SCALED_OBJECT):
        yield from _order_of(scaled, ("minReplicaCount", "", "maxReplicaCount"), within="spec")


# EC2 Auto Scaling user guide, warm pools, limitations: "You can't add a warm pool to Auto
# Scaling groups that have a mixed instances policy or that launch Spot Instances."
# https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html
def warm_pool_single_instance_type(context: Context) -> Iterator[Issue]:
    templates = {t.urn: t for t in context.of_type(LAUNCH_TEMPLATE)}
    for group in context.of_type(ASG):
        if not group.inputs.get("warmPool"):
            continue
        if group.inputs.get("mixedInstancesPolicy"):
            yield Issue(
                group.urn,
                "warmPool",
                "a warm pool cannot be added to a group with a mixed instances policy: "
                "use one instance type (a launch template) or drop the warm pool",
            )
        for urn in group.property_dependencies.get("launchTemplate") or []:
            template = templates.get(urn)
            if template is None:
                continue
            market = (template.inputs.get("instanceMarketOptions") or {}).get("marketType")
            if market == "spot":
                yield Issue(group.urn, "warmPool", f"a warm pool cannot be used with Spot Instances ({template.name})")


# Limits Alibaba documents per argument (catalogue.ALICLOUD_DOCUMENTED, each with its page):
# no machine-readable Alibaba API model ships with this toolchain.
def alicloud_documented_limits(context: Context) -> Iterator[Issue]:
    for resource_type, limits in ALICLOUD_DOCUMENTED.items():
        for resource in context.of_type(resource_type):
            for path, limit in limits.items():
                for shown, value in _at(resource.inputs, path):
                    problem = limit.problem(value, " characters" if path.endswith("#len") else "")
                    if problem:
                        yield Issue(resource.urn, shown, problem, limit.source)


def _at(inputs: Any, path: str, shown: str = "") -> Iterator[tuple[str, Any]]:
    """(shown path, value) at a dotted path, through lists; ``name#len`` yields a string's length."""
    if isinstance(inputs, list):
        for index, item in enumerate(inputs):
            yield from _at(item, path, f"{shown}[{index}]")
        return
    head, _, rest = path.partition(".")
    key = head.removesuffix("#len")
    if not isinstance(inputs, dict) or key not in inputs:
        return
    here = f"{shown}.{key}" if shown else key
    value = inputs[key]
    if rest:
        yield from _at(value, rest, here)
    elif head.endswith("#len"):
        if isinstance(value, str):
            yield here, len(value)
    else:
        yield here, value


RULES: tuple[Rule, ...] = (
    Rule(
        "aws-targetgroup-slow-start-algorithm",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html",
        slow_start_with_algorithm,
    ),
    Rule(
        "aws-targetgroup-health-check-timeout",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html",
        health_check_timeout_below_interval,
    ),
    Rule(
        "aws-listener-rule-priority-unique",
        "botocore elbv2 CreateRuleInput.Priority documentation",
        listener_rule_priorities_unique,
    ),
    Rule(
        "alicloud-alb-rule-priority-unique",
        "terraform-provider-alicloud website/docs/r/alb_rule.html.markdown (priority)",
        alicloud_alb_rule_priorities_unique,
    ),
    Rule(
        "aws-asg-capacity-order",
        "botocore autoscaling CreateAutoScalingGroupType.DesiredCapacity documentation",
        asg_capacity_order,
    ),
    Rule(
        "aws-eks-nodegroup-capacity-order",
        "botocore eks NodegroupScalingConfig documentation",
        nodegroup_capacity_order,
    ),
    Rule(
        "alicloud-ess-capacity-order",
        "https://www.alibabacloud.com/help/en/auto-scaling/developer-reference/api-ess-2014-08-28-createscalinggroup",
        ess_capacity_order,
    ),
    Rule(
        "kubernetes-replica-bounds-order",
        "https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/horizontal-pod-autoscaler-v2/",
        replica_bounds_order,
    ),
    Rule(
        "aws-asg-warm-pool-single-instance-type",
        "https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html",
        warm_pool_single_instance_type,
    ),
    Rule(
        "alicloud-documented-limits",
        "Alibaba Cloud API reference and terraform-provider-alicloud pages (per limit)",
        alicloud_documented_limits,
    ),
)
