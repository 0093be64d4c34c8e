"""Resilience: fleets across zones, never too small, health-checked, scaling on CPU, pre-scaled
for every promotion with room for its peak, protected load balancers, egress per zone."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs

from guardrails.common import (
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
    points_at,
    resource_policy,
    same_cluster,
    setting,
    siblings,
    stack_policy,
)
from guardrails.kubernetes import AUTOSCALERS, PodAutoscaler, autoscalers_of, pod_autoscaler
from guardrails.objects import LOAD_BALANCERS, Zones, index

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
#: Every API version of the HorizontalPodAutoscaler: the same object in the cluster.
HPA_VERSIONS = (
    HPA,
    "kubernetes:autoscaling/v2beta2:HorizontalPodAutoscaler",
    "kubernetes:autoscaling/v2beta1:HorizontalPodAutoscaler",
    "kubernetes:autoscaling/v1:HorizontalPodAutoscaler",
)
POD_AUTOSCALERS = (*HPA_VERSIONS, *(a for a in AUTOSCALERS if a not in HPA_VERSIONS))


def any_autoscaler(resource_type: str, props: Mapping[str, Any]) -> PodAutoscaler | None:
    """A pod autoscaler in any API version: v2beta2 reads as v2; v1 and v2beta1 spell the CPU
    target differently (targetCPUUtilizationPercentage; resource.targetAverageUtilization)."""
    if resource_type == HPA_VERSIONS[1]:
        return pod_autoscaler(HPA, props)
    if resource_type not in HPA_VERSIONS[2:]:
        return pod_autoscaler(resource_type, props)
    spec = get(props, "spec", default={})
    if resource_type == HPA_VERSIONS[3]:
        targets = [get(spec, "targetCPUUtilizationPercentage")] if get(spec, "targetCPUUtilizationPercentage") else []
    else:
        targets = [
            get(m, "resource", "targetAverageUtilization")
            for m in get(spec, "metrics", default=[])
            if get(m, "type") == "Resource" and get(m, "resource", "name") == "cpu"
        ]
    return PodAutoscaler(
        kind="HorizontalPodAutoscaler",
        name=str(get(props, "metadata", "name", default="")),
        namespace=str(get(props, "metadata", "namespace", default="default")),
        target_kind=str(get(spec, "scaleTargetRef", "kind", default="")),
        target_name=str(get(spec, "scaleTargetRef", "name", default="")),
        # minReplicas "defaults to 1" in every version of the API.
        min_replicas=get(spec, "minReplicas", default=1),
        max_replicas=get(spec, "maxReplicas"),
        min_field="minReplicas",
        cpu_targets=[t for t in targets if t is not None],
    )


REQUIRED = Setting(
    "required", {"type": "boolean", "default": False, "description": "Whether the rule applies in this environment."}
)


# -- spread over zones, never too small -----------------------------------------------------


@stack_policy(
    "aws-autoscaling-group-multi-az",
    "An Auto Scaling group spans at least `minZones` distinct availability zones (its subnets' zones, "
    "several subnets in one zone counting once).",
    MIN_ZONES,
)
def asg_multi_az(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    stack = index(args)
    wanted = setting(config, MIN_ZONES)
    for group in stack.of(ASG):
        _zones_report(stack.zones(group), wanted, group, report, "private subnet", "vpcZoneIdentifiers")


@stack_policy(
    "alicloud-ess-group-multi-zone",
    "An ESS scaling group spans at least `minZones` distinct zones (its vSwitches' zones).",
    MIN_ZONES,
)
def ess_multi_zone(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    stack = index(args)
    wanted = setting(config, MIN_ZONES)
    for group in stack.of(ESS_GROUP):
        _zones_report(stack.zones(group), wanted, group, report, "vSwitch", "vswitchIds")


def _zones_report(zones: Zones, wanted: int, group: PolicyResource, report: Report, subnet: str, prop: str) -> None:
    if zones.count >= wanted:
        return
    seen = f" ({', '.join(sorted(zones.zones))})" if zones.zones else ""
    unplaced = (
        f"; {', '.join(zones.unplaced)} declare(s) no zone, so the cloud may put them in any (set it)"
        if zones.unplaced
        else ""
    )
    report(
        f"{group.name} spans {zones.count} zone(s){seen} with {zones.entries} {subnet}(s){unplaced}; list one "
        f"{subnet} in each of at least {num(wanted)} distinct zones in {prop} so losing a zone keeps the fleet serving.",
        group.urn,
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
    "A pod autoscaler (an HPA of any autoscaling API version, or a KEDA ScaledObject) keeps at least "
    "`minCapacity` pods.",
    POD_AUTOSCALERS,
    MIN_CAPACITY,
)
def hpa_min_replicas(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:

    autoscaler = any_autoscaler(args.resource_type, args.props)
    if autoscaler is None:
        return
    floor = setting(config, MIN_CAPACITY)
    if autoscaler.min_replicas < floor:
        report(
            f"{args.name} has {autoscaler.min_field} {num(autoscaler.min_replicas)}; raise it to at least {num(floor)}."
        )


# -- health checks -----------------------------------------------------------------------------


@stack_policy(
    "aws-autoscaling-group-elb-health-check",
    "An Auto Scaling group behind a load balancer (targetGroupArns, trafficSources, loadBalancers or an "
    "attachment resource) replaces instances the load balancer finds unhealthy.",
)
def asg_elb_health(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    stack = index(args)
    for group in stack.of(ASG):
        ways = stack.balanced(group)
        # health_check_type: "EC2" unless set (CreateAutoScalingGroup HealthCheckType: "The default
        # value is EC2"); "ELB" adds the load balancer's checks, VPC_LATTICE a lattice service's.
        kinds = str(get(group.props, "healthCheckType", default="EC2")).upper().replace(" ", "").split(",")
        if ways and "ELB" not in kinds and "VPC_LATTICE" not in kinds:
            report(
                f"{group.name} is behind a load balancer (through {', '.join(ways)}) but uses "
                f"{'EC2 health checks (the default)' if not get(group.props, 'healthCheckType') else 'EC2 health checks'}; "
                'set healthCheckType to "ELB".',
                group.urn,
            )


@resource_policy(
    "alicloud-ess-group-health-check",
    "An ESS group replaces instances whose ECS instance fails, and never on a load balancer's health "
    "check: ESS has no health check grace period, so a booting instance would be released.",
    [ESS_GROUP],
)
def ess_health(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    # CreateScalingGroup / ModifyScalingGroup (API 2022-02-22) have no grace period, and "If Auto
    # Scaling considers an ECS instance unhealthy, Auto Scaling immediately removes the ECS instance
    # from the scaling group or releases" it (Cloud Config rule ess-group-health-check): an instance
    # that the ALB checks before its service is up (Docker, the image pull) is released and
    # replaced forever. LOAD_BALANCER also ignores Classic Load Balancer results.
    types = get(args.props, "healthCheckTypes", default=None)
    if types is None:
        single = get(args.props, "healthCheckType", default="ECS")
        types = [single] if single else []
    if "LOAD_BALANCER" in types:
        report(
            f'{args.name} uses "LOAD_BALANCER" health checks, which ESS applies without a grace period: booting '
            'instances would be released. Use ["ECS"]; the ALB keeps traffic off an unhealthy instance.'
        )
    elif "ECS" not in types:
        report(f'{args.name} does not replace failed ECS instances; set healthCheckTypes to ["ECS"].')


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
            if points_at(p, "autoscalingGroupName", group, "name")
            # enabled: "Whether the scaling policy is enabled or disabled. Default: `true`."
            and get(p.props, "enabled", default=True) is not False
            and get(p.props, "policyType") == "TargetTrackingScaling"
            and get(p.props, "targetTrackingConfiguration", "predefinedMetricSpecification", "predefinedMetricType")
            == "ASGAverageCPUUtilization"
        ]
        if not tracking:
            report(
                f"{group.name} has no enabled target-tracking policy on ASGAverageCPUUtilization; add one "
                f"(aws.autoscaling.Policy, policy_type TargetTrackingScaling, enabled) at {ceiling:g}% or less.",
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
            if points_at(r, "scalingGroupId", group, "scalingGroupName")
            # scaling_rule_type defaults to SimpleScalingRule (pulumi_alicloud ess.ScalingRule).
            and get(r.props, "scalingRuleType", default="SimpleScalingRule") == "TargetTrackingScalingRule"
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
    "Every Deployment has a pod autoscaler on CPU utilization at most `maxCpuTarget`: an autoscaling/v2 "
    "HPA (cpu Resource metric) or a KEDA ScaledObject (cpu trigger, metricType Utilization).",
    MAX_CPU_TARGET,
)
def deployment_cpu_autoscaling(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:

    ceiling = setting(config, MAX_CPU_TARGET)
    declared = [(r, any_autoscaler(r.resource_type, r.props)) for r in of_type(args, *POD_AUTOSCALERS)]
    for deployment in of_type(args, DEPLOYMENT):
        name = get(deployment.props, "metadata", "name")
        namespace = get(deployment.props, "metadata", "namespace", default="default")
        mine = [
            a
            for r, a in declared
            if a is not None
            and same_cluster(r, deployment)
            and a.namespace == namespace
            and a.target_kind == "Deployment"
            and a.target_name == name
        ]
        if not any(a.cpu_targets for a in mine):
            report(
                f"Deployment {namespace}/{name} has no autoscaler on CPU utilization (or its ScaledObject is "
                "paused); declare a KEDA ScaledObject with a cpu trigger (metricType Utilization), or an "
                f"autoscaling/v2 HPA with a cpu Resource metric, at {ceiling:g}% or less.",
                deployment.urn,
            )
        for autoscaler in mine:
            for target in autoscaler.cpu_targets:
                if not isinstance(target, (int, float)) or target > ceiling:
                    report(
                        f"The {autoscaler.title} of {namespace}/{name} targets {num(target)}% CPU; lower it to "
                        f"{num(ceiling)}.",
                        deployment.urn,
                    )


# -- promotions --------------------------------------------------------------------------------


def _calendar(args: StackValidationArgs) -> set[str]:
    """Every promotion the stack schedules anywhere: a scheduled action, an ESS task or a KEDA
    cron trigger (a restore exists for each promotion that has not ended)."""
    names = set()
    for schedule in of_type(args, ASG_SCHEDULE):
        names.add(_asg_promotion(schedule.props)[0])
    for task in of_type(args, ESS_TASK):
        names.add(_ess_promotion(task.props)[0])
    for scaled in of_type(args, SCALED_OBJECT):
        names.update(
            str(t.get("name")) for t in get(scaled.props, "spec", "triggers", default=[]) if t.get("type") == "cron"
        )
    return {n for n in names if n}


def _asg_promotion(props: Mapping[str, Any]) -> tuple[str, str]:
    """(promotion, action) of a scheduled action named ``<promotion>-prewarm|restore``."""
    name = str(get(props, "scheduledActionName", default=""))
    promotion, _, action = name.rpartition("-")
    return (promotion, action) if action in ("prewarm", "restore") else ("", "")


def _ess_promotion(props: Mapping[str, Any]) -> tuple[str, str]:
    """(promotion, action) of an ESS task: its description is ``courier-promotion:<name>:<action>``
    (task names carry the stack and region to be unique, so the description names the promotion)."""
    parts = str(get(props, "description", default="")).split(":")
    if len(parts) == 3 and parts[0] == "courier-promotion" and parts[2] in ("prewarm", "restore"):
        return parts[1], parts[2]
    return ("", "")


#: ESS refuses a scheduled task more than 90 days ahead; the program schedules within 89 days
#: (components/alicloud/fleet.py SCHEDULING_HORIZON) and defers the rest to a later `up`.
ESS_SCHEDULING_HORIZON = timedelta(days=89)


def plan_time() -> datetime:
    """The moment of the deploy being reviewed: now, or the offline plan's ``--at``
    (``COURIER_PLAN_TIME``, set by courier.analyze when it starts the pack)."""
    text = os.environ.get("COURIER_PLAN_TIME")
    return datetime.fromisoformat(text) if text else datetime.now(UTC)


def _restore_moments(args: StackValidationArgs) -> dict[str, datetime]:
    """When each promotion ends, from the restore actions of the Auto Scaling groups."""
    moments: dict[str, datetime] = {}
    for schedule in of_type(args, ASG_SCHEDULE):
        promotion, action = _asg_promotion(schedule.props)
        start = get(schedule.props, "startTime")
        if action == "restore" and isinstance(start, str):
            moments[promotion] = datetime.fromisoformat(start.replace("Z", "+00:00"))
    return moments


def _held(group: Any, restore: Any, floor_key: str, ceiling_key: str, own_floor: str, own_ceiling: str) -> bool:
    """Whether a group is held at a promotion's capacity: above the everyday floor its restore
    brings it back to (every promotion raises the floor: the spec requires a multiplier of at
    least 1.1), with a ceiling no lower than the everyday one."""
    return get(group.props, own_floor, default=0) > get(restore.props, floor_key, default=0) and get(
        group.props, own_ceiling, default=0
    ) >= get(restore.props, ceiling_key, default=0)


@stack_policy(
    "aws-autoscaling-group-promotion-prescale",
    "Every Auto Scaling group is pre-scaled for every promotion on the calendar, and holds the "
    "promotion's capacity while it runs.",
    remediation="Schedule the promotion at least prewarmMinutes plus the fleet's warmup ahead.",
)
def asg_prescale(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    calendar = _calendar(args)
    for group in of_type(args, ASG):
        actions: dict[tuple[str, str], Any] = {}
        for schedule in siblings(args, group, ASG_SCHEDULE):
            actions[_asg_promotion(schedule.props)] = schedule
        for promotion in sorted(calendar):
            if (promotion, "prewarm") in actions:
                continue
            restore = actions.get((promotion, "restore"))
            if restore is None:
                report(
                    f"{group.name} is not pre-scaled for promotion {promotion!r}: it has no scheduled action "
                    "for it; add a prewarm and a restore action like the other fleets'.",
                    group.urn,
                )
            elif not _held(group, restore, "minSize", "maxSize", "minSize", "maxSize"):
                report(
                    f"{group.name} is not pre-scaled for promotion {promotion!r}: no prewarm action, and minSize "
                    f"{num(get(group.props, 'minSize'))} is the everyday value its restore returns to. If the "
                    "promotion is under way this update shrinks the fleet at the peak; if not, nothing will raise "
                    "it. Add the prewarm action, or keep minSize/maxSize at the promotion's capacity until the "
                    "restore runs.",
                    group.urn,
                )


@stack_policy(
    "alicloud-ess-group-promotion-prescale",
    "Every ESS group is pre-scaled for every promotion on the calendar that ESS can schedule yet, "
    "and holds the promotion's capacity while it runs.",
)
def ess_prescale(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    calendar = _calendar(args)
    ends = _restore_moments(args)
    horizon = plan_time() + ESS_SCHEDULING_HORIZON
    for group in of_type(args, ESS_GROUP):
        tasks: dict[tuple[str, str], Any] = {}
        for task in siblings(args, group, ESS_TASK):
            tasks[_ess_promotion(task.props)] = task
        for promotion in sorted(calendar):
            if (promotion, "prewarm") in tasks:
                continue
            restore = tasks.get((promotion, "restore"))
            if restore is None:
                end = ends.get(promotion)
                if end is not None and end > horizon:
                    # Beyond ESS's horizon: a later `up` schedules it (the plan says by when).
                    continue
                report(
                    f"{group.name} is not pre-scaled for promotion {promotion!r}: it has no scheduled tasks for "
                    "it; add a prewarm and a restore ESS scheduled task.",
                    group.urn,
                )
            elif not _held(group, restore, "minValue", "maxValue", "minSize", "maxSize"):
                report(
                    f"{group.name} is not pre-scaled for promotion {promotion!r}: no prewarm task, and minSize "
                    f"{num(get(group.props, 'minSize'))} is the everyday value its restore returns to. If the "
                    "promotion is under way this update shrinks the fleet at the peak; if not, nothing will raise "
                    "it. Add the prewarm task, or keep minSize/maxSize at the promotion's capacity until the "
                    "restore runs.",
                    group.urn,
                )


@stack_policy(
    "kubernetes-deployment-promotion-prescale",
    "Every autoscaled Deployment is pre-scaled (KEDA cron trigger) for every promotion on the calendar.",
)
def deployment_prescale(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:

    calendar = _calendar(args)
    for deployment in of_type(args, DEPLOYMENT):
        # Whichever spelling scales it: a plain HPA has no cron trigger, so it is not pre-scaled.
        mine = [a for _, a in autoscalers_of(args, deployment)]
        if not mine:
            continue  # kubernetes-deployment-cpu-autoscaling reports it
        crons = {name for a in mine for name in a.crons}
        namespace = get(deployment.props, "metadata", "namespace", default="default")
        for promotion in sorted(calendar - crons):
            report(
                f"Deployment {namespace}/{get(deployment.props, 'metadata', 'name')} has no KEDA cron trigger for "
                f"promotion {promotion!r}; add one to its ScaledObject (autoscaled by "
                f"{', '.join(a.title for a in mine)}).",
                deployment.urn,
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
    "A pod autoscaler's bounds hold: min at most max, and no KEDA cron trigger asks for more replicas than "
    "the maximum.",
    POD_AUTOSCALERS,
)
def scaled_max(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:

    autoscaler = any_autoscaler(args.resource_type, args.props)
    if autoscaler is None or not isinstance(autoscaler.max_replicas, (int, float)):
        return
    ceiling = autoscaler.max_replicas
    max_field = "maxReplicas" if autoscaler.kind == "HorizontalPodAutoscaler" else "maxReplicaCount"
    if autoscaler.min_replicas > ceiling:
        report(
            f"{args.name}: {autoscaler.min_field} {num(autoscaler.min_replicas)} is above {max_field} {num(ceiling)} "
            "(the API refuses it); raise the maximum."
        )
    for name, desired in autoscaler.crons.items():
        if int(str(desired)) > ceiling:
            report(f"{args.name}: cron trigger {name!r} wants more replicas than {max_field} {num(ceiling)}.")


# -- protection and egress -----------------------------------------------------------------------


@resource_policy(
    "aws-lb-deletion-protection",
    "Load balancers have deletion protection (when `required`, i.e. in prod).",
    LOAD_BALANCERS,
    REQUIRED,
)
def alb_deletion_protection(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    # enable_deletion_protection: "Defaults to `false`."
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
    "Each zone with subnets has its own public NAT gateway, or its VPC a regional one (when `required`, i.e. in prod).",
    REQUIRED,
)
def nat_per_az(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if not setting(config, REQUIRED):
        return
    stack = index(args)
    subnets = stack.of(SUBNET)

    def vpc_of(resource: PolicyResource) -> str:
        return next((d.urn for d in resource.property_dependencies.get("vpcId", [])), "")

    def zone_of(subnet: PolicyResource) -> str:
        return str(get(subnet.props, "availabilityZone", default=None) or get(subnet.props, "availabilityZoneId"))

    by_vpc: dict[str, set[str]] = {}
    for subnet in subnets:
        by_vpc.setdefault(vpc_of(subnet), set()).add(zone_of(subnet))
    with_nat: dict[str, set[str]] = {}
    private: list[str] = []
    for gateway in stack.of(NAT_GATEWAY):
        # connectivity_type "Defaults to `public`"; a private NAT gateway reaches no internet.
        if str(get(gateway.props, "connectivityType", default="public")) != "public":
            private.append(gateway.name)
            continue
        # availability_mode "Defaults to `zonal`"; a regional gateway serves every zone of its VPC.
        if str(get(gateway.props, "availabilityMode", default="zonal")) == "regional":
            vpc = next((d.urn for d in gateway.property_dependencies.get("vpcId", [])), "")
            with_nat.setdefault(vpc, set()).update(by_vpc.get(vpc, set()))
            continue
        for subnet in subnets:
            if depends_on(gateway, subnet, "subnetId"):
                with_nat.setdefault(vpc_of(subnet), set()).add(zone_of(subnet))
    for vpc, zones in by_vpc.items():
        missing = sorted(zones - with_nat.get(vpc, set()))
        if missing:
            also = f" ({', '.join(private)} are private NAT gateways: no internet egress)" if private else ""
            report(
                f"Zones {', '.join(missing)} have no public NAT gateway of their own{also}: an outage of the zone "
                "that hosts the shared one cuts their egress. Set natGateways: perZone for the region.",
                vpc or None,
            )
