"""Resilience: fleets across zones, never too small, health-checked, scaling on CPU, pre-scaled
for every promotion with room for its peak, protected load balancers, egress per zone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, StackValidationArgs

from guardrails.common import (
    ALB,
    ALI_ALB,
    ASG,
    ASG_POLICY,
    ASG_SCHEDULE,
    DEPLOYMENT,
    ESS_GROUP,
    ESS_RULE,
    ESS_TASK,
    HPA,
    NAT_GATEWAY,
    SCALED_OBJECT,
    SUBNET,
    Report,
    ResourceCheck,
    Setting,
    depends_on,
    get,
    num,
    of_type,
    resource_policy,
    same_cluster,
    setting,
    siblings,
    stack_policy,
)

MIN_ZONES = Setting(
    "minZones", {"type": "integer", "minimum": 1, "default": 2, "description": "Zones a fleet must span."}
)
MIN_CAPACITY = Setting(
    "minCapacity", {"type": "integer", "minimum": 0, "default": 1, "description": "Smallest minimum size of a fleet."}
)
MAX_CPU_TARGET = Setting(
    "maxCpuTarget",
    {"type": "number", "minimum": 10, "maximum": 100, "default": 80, "description": "Highest allowed CPU target (%)."},
)
REQUIRED = Setting(
    "required", {"type": "boolean", "default": False, "description": "Whether the rule applies in this environment."}
)


# -- spread over zones, never too small -----------------------------------------------------


@resource_policy(
    "aws-autoscaling-group-multi-az",
    "An Auto Scaling group spans at least `minZones` availability zones.",
    [ASG],
    MIN_ZONES,
)
def asg_multi_az(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    subnets = get(args.props, "vpcZoneIdentifiers", default=[])
    wanted = setting(config, MIN_ZONES)
    if len(subnets) < wanted:
        report(
            f"{args.name} spans {len(subnets)} subnet(s); list one private subnet in each of at least {num(wanted)} "
            "zones in vpcZoneIdentifiers so losing a zone keeps the fleet serving."
        )


@resource_policy(
    "alicloud-ess-group-multi-zone",
    "An ESS scaling group spans at least `minZones` zones.",
    [ESS_GROUP],
    MIN_ZONES,
)
def ess_multi_zone(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    switches = get(args.props, "vswitchIds", default=[])
    wanted = setting(config, MIN_ZONES)
    if len(switches) < wanted:
        report(
            f"{args.name} spans {len(switches)} vSwitch(es); give vswitchIds one per zone in at least {num(wanted)} zones."
        )


def _min_size(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    floor = setting(config, MIN_CAPACITY)
    size = get(args.props, "minSize", default=0)
    if size < floor:
        report(f"{args.name} has minSize {num(size)}; raise it to at least {num(floor)}.")


# EC2 Auto Scaling groups and ESS scaling groups both name their floor minSize.
asg_min_capacity = resource_policy(
    "aws-autoscaling-group-min-capacity",
    "An Auto Scaling group keeps at least `minCapacity` instances.",
    [ASG],
    MIN_CAPACITY,
)(_min_size)
ess_min_capacity = resource_policy(
    "alicloud-ess-group-min-capacity",
    "An ESS scaling group keeps at least `minCapacity` instances.",
    [ESS_GROUP],
    MIN_CAPACITY,
)(_min_size)


@resource_policy(
    "kubernetes-hpa-min-replicas",
    "A HorizontalPodAutoscaler keeps at least `minCapacity` pods.",
    [HPA],
    MIN_CAPACITY,
)
def hpa_min_replicas(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    floor = setting(config, MIN_CAPACITY)
    replicas = get(args.props, "spec", "minReplicas", default=1)
    if replicas < floor:
        report(f"{args.name} has minReplicas {num(replicas)}; raise it to at least {num(floor)}.")


# -- health checks -----------------------------------------------------------------------------


@resource_policy(
    "aws-autoscaling-group-elb-health-check",
    "An Auto Scaling group behind a load balancer replaces instances the load balancer finds unhealthy.",
    [ASG],
)
def asg_elb_health(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    behind = get(args.props, "targetGroupArns", default=[]) or get(args.props, "trafficSources", default=[])
    if behind and get(args.props, "healthCheckType", default="EC2") != "ELB":
        report(f'{args.name} is behind a load balancer but uses EC2 health checks; set healthCheckType to "ELB".')


@resource_policy(
    "alicloud-ess-group-lb-health-check",
    "An ESS group behind a load balancer replaces instances its health check finds unhealthy.",
    [ESS_GROUP],
)
def ess_lb_health(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if get(args.props, "albServerGroups", default=[]) and "LOAD_BALANCER" not in get(
        args.props, "healthCheckTypes", default=[]
    ):
        report(f'{args.name} is behind an ALB; add "LOAD_BALANCER" to healthCheckTypes.')


# -- CPU target tracking ---------------------------------------------------------------------


@stack_policy(
    "aws-autoscaling-group-cpu-target-tracking",
    "Every Auto Scaling group has a target-tracking policy on average CPU at most `maxCpuTarget`.",
    MAX_CPU_TARGET,
)
def asg_cpu_tracking(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    ceiling = setting(config, MAX_CPU_TARGET)
    policies = of_type(args, ASG_POLICY)
    for group in of_type(args, ASG):
        tracking = [
            p
            for p in policies
            if depends_on(p, group, "autoscalingGroupName")
            and get(p.props, "policyType") == "TargetTrackingScaling"
            and get(p.props, "targetTrackingConfiguration", "predefinedMetricSpecification", "predefinedMetricType")
            == "ASGAverageCPUUtilization"
        ]
        if not tracking:
            report(
                f"{group.name} has no target-tracking policy on ASGAverageCPUUtilization; add one "
                f"(aws.autoscaling.Policy, policy_type TargetTrackingScaling) at {ceiling:g}% or less.",
                group.urn,
            )
        for policy in tracking:
            target = get(policy.props, "targetTrackingConfiguration", "targetValue", default=0)
            if target > ceiling:
                report(f"{policy.name} holds CPU at {target:g}%; lower targetValue to {ceiling:g} or less.", policy.urn)


@stack_policy(
    "alicloud-ess-group-cpu-target-tracking",
    "Every ESS group has a TargetTrackingScalingRule on CpuUtilization at most `maxCpuTarget`.",
    MAX_CPU_TARGET,
)
def ess_cpu_tracking(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    ceiling = setting(config, MAX_CPU_TARGET)
    rules = of_type(args, ESS_RULE)
    for group in of_type(args, ESS_GROUP):
        tracking = [
            r
            for r in rules
            if depends_on(r, group, "scalingGroupId")
            and get(r.props, "scalingRuleType") == "TargetTrackingScalingRule"
            and get(r.props, "metricName") == "CpuUtilization"
        ]
        if not tracking:
            report(
                f"{group.name} has no TargetTrackingScalingRule on CpuUtilization; add one at {ceiling:g}% or less.",
                group.urn,
            )
        for rule in tracking:
            target = get(rule.props, "targetValue", default=0)
            if target > ceiling:
                report(f"{rule.name} holds CPU at {target:g}%; lower targetValue to {ceiling:g} or less.", rule.urn)


@stack_policy(
    "kubernetes-deployment-cpu-autoscaling",
    "Every Deployment has an HPA on CPU utilization at most `maxCpuTarget`.",
    MAX_CPU_TARGET,
)
def deployment_cpu_autoscaling(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    ceiling = setting(config, MAX_CPU_TARGET)
    autoscalers = of_type(args, HPA)
    for deployment in of_type(args, DEPLOYMENT):
        name = get(deployment.props, "metadata", "name")
        namespace = get(deployment.props, "metadata", "namespace", default="default")
        mine = [
            h
            for h in autoscalers
            if same_cluster(h, deployment)
            and get(h.props, "metadata", "namespace", default="default") == namespace
            and get(h.props, "spec", "scaleTargetRef", "kind") == "Deployment"
            and get(h.props, "spec", "scaleTargetRef", "name") == name
        ]
        targets = [
            get(m, "resource", "target", "averageUtilization")
            for h in mine
            for m in get(h.props, "spec", "metrics", default=[])
            if get(m, "type") == "Resource" and get(m, "resource", "name") == "cpu"
        ]
        if not targets:
            report(
                f"Deployment {namespace}/{name} has no HorizontalPodAutoscaler on CPU utilization; add an "
                f"autoscaling/v2 HPA with a cpu Resource metric at {ceiling:g}% or less.",
                deployment.urn,
            )
        for target in targets:
            if target is None or target > ceiling:
                report(
                    f"The HPA of {namespace}/{name} targets {num(target)}% CPU; lower averageUtilization to {num(ceiling)}.",
                    deployment.urn,
                )


# -- promotions --------------------------------------------------------------------------------


def _calendar(args: StackValidationArgs) -> set[str]:
    """Every promotion the stack schedules anywhere (a restore exists for each one ahead)."""
    names = set()
    for schedule in of_type(args, ASG_SCHEDULE):
        names.add(str(get(schedule.props, "scheduledActionName", default="")).rsplit("-", 1)[0])
    for task in of_type(args, ESS_TASK):
        names.add(_ess_promotion(task.props))
    for scaled in of_type(args, SCALED_OBJECT):
        names.update(
            str(t.get("name")) for t in get(scaled.props, "spec", "triggers", default=[]) if t.get("type") == "cron"
        )
    return {n for n in names if n}


def _ess_promotion(props: Mapping[str, Any]) -> str:
    # "<region>-<service>-<promotion>-prewarm": the promotion is what is left.
    name = str(get(props, "scheduledTaskName", default=""))
    return name.split("-", 2)[-1].rsplit("-", 1)[0] if name.count("-") >= 3 else ""


@stack_policy(
    "aws-autoscaling-group-promotion-prescale",
    "Every Auto Scaling group is pre-scaled for every promotion on the calendar.",
    remediation="Schedule the promotion at least prewarmMinutes plus the fleet's warmup ahead.",
)
def asg_prescale(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    calendar = _calendar(args)
    for group in of_type(args, ASG):
        prewarmed = {
            str(get(s.props, "scheduledActionName")).removesuffix("-prewarm")
            for s in siblings(args, group, ASG_SCHEDULE)
            if str(get(s.props, "scheduledActionName", default="")).endswith("-prewarm")
        }
        for promotion in sorted(calendar - prewarmed):
            report(
                f"{group.name} is not pre-scaled for promotion {promotion!r} (its prewarm moment has passed "
                "or the schedule is missing); raise its min/desired by hand now, and schedule promotions "
                "further ahead.",
                group.urn,
            )


@stack_policy(
    "alicloud-ess-group-promotion-prescale",
    "Every ESS group is pre-scaled for every promotion on the calendar.",
)
def ess_prescale(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    calendar = _calendar(args)
    for group in of_type(args, ESS_GROUP):
        prewarmed = {
            _ess_promotion(t.props)
            for t in siblings(args, group, ESS_TASK)
            if str(get(t.props, "scheduledTaskName", default="")).endswith("-prewarm")
        }
        for promotion in sorted(calendar - prewarmed):
            report(
                f"{group.name} has no prewarm task for promotion {promotion!r}; add an ESS scheduled task.", group.urn
            )


@stack_policy(
    "kubernetes-deployment-promotion-prescale",
    "Every autoscaled Deployment is pre-scaled (KEDA cron trigger) for every promotion on the calendar.",
)
def deployment_prescale(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    calendar = _calendar(args)
    for hpa in of_type(args, HPA):
        scaled = siblings(args, hpa, SCALED_OBJECT)
        crons = {
            str(t.get("name"))
            for s in scaled
            for t in get(s.props, "spec", "triggers", default=[])
            if t.get("type") == "cron"
        }
        for promotion in sorted(calendar - crons):
            report(
                f"{get(hpa.props, 'metadata', 'namespace')}/{get(hpa.props, 'metadata', 'name')} has no KEDA cron "
                f"trigger for promotion {promotion!r}; add one to its ScaledObject.",
                hpa.urn,
            )


def _max_covers_peak(floor_key: str, ceiling_key: str) -> ResourceCheck:
    """A scheduled capacity change whose min (or desired) exceeds its own max cannot apply."""

    def check(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
        asked = max(get(args.props, "desiredCapacity", default=-1), get(args.props, floor_key, default=-1))
        ceiling = get(args.props, ceiling_key, default=-1)
        if ceiling >= 0 and asked > ceiling:
            report(
                f"{args.name} asks for {num(asked)} instances with {ceiling_key} {num(ceiling)}; "
                f"raise {ceiling_key} to cover the peak."
            )

    return check


schedule_max = resource_policy(
    "aws-autoscaling-schedule-max-covers-peak",
    "A promotion's scheduled action leaves max at or above the capacity it asks for.",
    [ASG_SCHEDULE],
)(_max_covers_peak("minSize", "maxSize"))
task_max = resource_policy(
    "alicloud-ess-task-max-covers-peak",
    "A promotion's scheduled task leaves max at or above the capacity it asks for.",
    [ESS_TASK],
)(_max_covers_peak("minValue", "maxValue"))


@resource_policy(
    "kubernetes-scaledobject-max-covers-peak",
    "A KEDA cron trigger never asks for more replicas than the ScaledObject's maximum.",
    [SCALED_OBJECT],
)
def scaled_max(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    ceiling = get(args.props, "spec", "maxReplicaCount", default=100)
    for trigger in get(args.props, "spec", "triggers", default=[]):
        if trigger.get("type") == "cron" and int(get(trigger, "metadata", "desiredReplicas", default=0)) > ceiling:
            report(
                f"{args.name}: cron trigger {trigger.get('name')!r} wants more replicas than maxReplicaCount {num(ceiling)}."
            )


# -- protection and egress -----------------------------------------------------------------------


@resource_policy(
    "aws-lb-deletion-protection",
    "Load balancers have deletion protection (when `required`, i.e. in prod).",
    [ALB],
    REQUIRED,
)
def alb_deletion_protection(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if setting(config, REQUIRED) and not get(args.props, "enableDeletionProtection", default=False):
        report(f"{args.name} can be deleted by a stray destroy or replace; set enableDeletionProtection to true.")


@resource_policy(
    "alicloud-alb-deletion-protection",
    "Alibaba Cloud load balancers have deletion protection (when `required`, i.e. in prod).",
    [ALI_ALB],
    REQUIRED,
)
def ali_deletion_protection(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if setting(config, REQUIRED) and not get(args.props, "deletionProtectionEnabled", default=False):
        report(f"{args.name} can be deleted by a stray destroy; set deletionProtectionEnabled to true.")


@stack_policy(
    "aws-vpc-nat-per-az",
    "Each zone with subnets has its own NAT gateway (when `required`, i.e. in prod).",
    REQUIRED,
)
def nat_per_az(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if not setting(config, REQUIRED):
        return
    subnets = of_type(args, SUBNET)
    gateways = of_type(args, NAT_GATEWAY)
    by_vpc: dict[str, set[str]] = {}
    for subnet in subnets:
        vpc = next((d.urn for d in subnet.property_dependencies.get("vpcId", [])), "")
        by_vpc.setdefault(vpc, set()).add(str(get(subnet.props, "availabilityZone")))
    with_nat: dict[str, set[str]] = {}
    for gateway in gateways:
        for subnet in subnets:
            if depends_on(gateway, subnet, "subnetId"):
                vpc = next((d.urn for d in subnet.property_dependencies.get("vpcId", [])), "")
                with_nat.setdefault(vpc, set()).add(str(get(subnet.props, "availabilityZone")))
    for vpc, zones in by_vpc.items():
        missing = sorted(zones - with_nat.get(vpc, set()))
        if missing:
            report(
                f"Zones {', '.join(missing)} have no NAT gateway of their own: an outage of the zone that hosts "
                "the shared one cuts their egress. Set natGateways: perZone for the region.",
                vpc or None,
            )
