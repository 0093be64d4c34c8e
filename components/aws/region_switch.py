"""RegionSwitch: a region pair's failover declared in AWS's own engine, an ARC Region switch plan.

The plan lives in ARC's control plane (us-east-1, whatever the provider's region: CreatePlan
and UpdatePlan go to ``arc-region-switch-control-plane.us-east-1``) and is executed from the
data plane of the region being activated, so an operator can run it from the console or
``aws arc-region-switch start-plan-execution --region <target>`` while this repository's runner,
or the failed region, is unreachable. What ARC documents and this module relies on
(Amazon ARC developer guide, "Region switch" and its execution block pages):

- a plan has exactly two regions (``Plan.regions``: "Fixed number of 2 items"), so a stack with
  a standby declares one plan per pair;
- an EC2 Auto Scaling block takes exactly two groups, one per region (``asgs``: "Fixed number of
  2 items"; plan evaluation fails with more than one group per region): the activating region's
  group is raised to ``target_percent`` of the other's largest desired capacity of the last 24
  hours, never lowered. One block per service, all of them in one parallel step;
- the Aurora block calls ``SwitchoverGlobalCluster`` (no data loss) and, when the operator starts
  the execution in *ungraceful* mode, ``FailoverGlobalCluster`` with ``AllowDataLoss``;
- the Route 53 block creates two health checks of its own that must be attached to the record
  set of each region (plan evaluation checks it); with ``activePassive`` the passive region's
  check starts unhealthy. See :class:`DnsSwitch` before wiring it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components import catalog
from components.aws import policies

TYPE = "courier:aws:RegionSwitch"
#: The service principal that assumes the plan's execution role (ARC guide, "Plan execution
#: role trust policy").
PRINCIPAL = "arc-region-switch.amazonaws.com"
CAPACITY_MONITORING = "sampledMaxInLast24Hours"
#: CreatePlan's limits: the name (1-32, letters, digits, inner hyphens) and the RTO in minutes.
PLAN_NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?")
RTO_MINUTES = (1, 10080)
_CLUSTER_ARN = re.compile(r"arn:(?P<partition>aws[a-zA-Z-]*):rds:[a-z0-9-]+:(?P<account>\d{12}):cluster:.+")


@dataclass(frozen=True)
class DnsSwitch:
    """The plan's Route 53 step: ARC vends one health check per region that must then become
    the ``health_check_id`` of that region's record under ``record_name`` (a record holds one
    check, so it replaces the services' calculated check there). With ``activePassive`` the
    secondary's check starts unhealthy, so on a latency pair that both regions serve the
    secondary stops answering until it is activated."""

    hosted_zone_id: pulumi.Input[str]
    #: The name of the record set that holds one record per region (the latency set).
    record_name: str
    #: Region name -> the ``set_identifier`` of its record (GlobalTraffic uses region codes,
    #: which ARC cannot map to a region by itself).
    set_identifiers: Mapping[str, str]


@dataclass(frozen=True)
class RegionSwitchArgs:
    stack: str
    #: Where the application, and the database's writer, normally run.
    primary_region: str
    secondary_region: str
    #: Region name -> service -> the ARN of its Auto Scaling group. Both regions list the same
    #: services; an empty mapping leaves the capacity step out.
    auto_scaling_groups: Mapping[str, Mapping[str, pulumi.Input[str]]]
    #: Region name -> the ARN of the region's member of the Aurora global database.
    database_cluster_arns: Mapping[str, pulumi.Input[str]]
    global_cluster_identifier: pulumi.Input[str]
    #: The recovery time objective ARC reports executions against (1-10080 minutes).
    rto_minutes: int
    #: The Route 53 step; None (default) leaves traffic to the existing health checks.
    dns: DnsSwitch | None = None
    #: The IAM role whose principals approve an execution (it needs
    #: ``arc-region-switch:ApprovePlanExecutionStep``); None (default): no approval step.
    approval_role_arn: pulumi.Input[str] | None = None
    #: The activating region's groups are raised to this percentage of the other region's
    #: largest desired capacity of the last 24 hours (100, ARC's default). When both regions
    #: serve traffic the activating one takes the other's load on top of its own: 200 covers
    #: two regions of equal size.
    capacity_percent: int = 100
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def regions(self) -> tuple[str, str]:
        return (self.primary_region, self.secondary_region)


def plan_name(stack: str, primary_region: str, secondary_region: str) -> str:
    """``courier-<stack>-<primary code>-<secondary code>``: fixed, unique per pair and stack."""
    codes = []
    for field_name, region in (("primary_region", primary_region), ("secondary_region", secondary_region)):
        info = catalog.region("aws", region)
        if info is None:
            raise ValueError(f"RegionSwitchArgs.{field_name}: {region!r} is not an AWS region in the catalogue")
        codes.append(info.code)
    name = f"courier-{stack}-{codes[0]}-{codes[1]}"
    if len(name) > 32:
        # Long stack names: the stack's start and a digest of it keep names unique and short.
        digest = hashlib.sha256(stack.encode()).hexdigest()[:4]
        name = f"courier-{stack[: 32 - 8 - 6 - len(codes[0]) - len(codes[1]) - 3].rstrip('-')}-{digest}-{codes[0]}-{codes[1]}"
    if not PLAN_NAME.fullmatch(name):
        raise ValueError(
            f"RegionSwitchArgs.stack: the plan name {name!r} must be 1-32 letters, digits and inner hyphens"
        )
    return name


def validate(args: RegionSwitchArgs) -> None:
    """Reject what CreatePlan or plan evaluation would refuse, naming the argument."""
    primary, secondary = args.regions
    if primary == secondary:
        raise ValueError(f"RegionSwitchArgs: a plan switches between two regions (got {primary!r} twice)")
    pair = set(args.regions)
    for field_name, by_region in (
        ("auto_scaling_groups", args.auto_scaling_groups),
        ("database_cluster_arns", args.database_cluster_arns),
        *((("dns.set_identifiers", args.dns.set_identifiers),) if args.dns else ()),
    ):
        if set(by_region) != pair:
            raise ValueError(
                f"RegionSwitchArgs.{field_name}: needs exactly the plan's regions {sorted(pair)} (got {sorted(by_region)})"
            )
    services = {region: set(groups) for region, groups in args.auto_scaling_groups.items()}
    if services[primary] != services[secondary]:
        raise ValueError(
            "RegionSwitchArgs.auto_scaling_groups: each service needs a group in both regions (ARC pairs them); "
            f"only in {primary}: {sorted(services[primary] - services[secondary])}, "
            f"only in {secondary}: {sorted(services[secondary] - services[primary])}"
        )
    low, high = RTO_MINUTES
    if not low <= args.rto_minutes <= high:
        raise ValueError(f"RegionSwitchArgs.rto_minutes: {args.rto_minutes} is outside {low}-{high}")
    if args.capacity_percent < 1:
        raise ValueError(f"RegionSwitchArgs.capacity_percent: {args.capacity_percent} must be at least 1")
    if args.dns is not None and not args.dns.record_name:
        raise ValueError("RegionSwitchArgs.dns.record_name: the record name is empty")


def global_cluster_arn(cluster_arn: str, global_cluster_identifier: str) -> str:
    """The global database's ARN (``arn:aws:rds::<account>:global-cluster:<id>``), from the ARN
    of one of its member clusters (same partition and account)."""
    match = _CLUSTER_ARN.fullmatch(cluster_arn)
    if match is None:
        raise ValueError(f"not an Aurora cluster ARN: {cluster_arn!r}")
    return f"arn:{match['partition']}:rds::{match['account']}:global-cluster:{global_cluster_identifier}"


def execution_policy(
    *,
    role_arn: str,
    group_arns: Sequence[str],
    cluster_arns: Sequence[str],
    global_cluster_identifier: str,
    hosted_zone_id: str | None,
) -> str:
    """What the plan's blocks need and nothing more, as ARC's sample policies grant it (ARC guide,
    "Execution block permissions"): actions that act name their resources; only the reads that
    take no resource (Describe*, ARC's own reads, Auto Scaling metrics) are on ``*``."""
    partition = cluster_arns[0].split(":", 2)[1]
    statements: list[dict[str, Any]] = [
        # Plan evaluation simulates the role's own permissions (iam:SimulatePrincipalPolicy).
        {"Sid": "EvaluatePlan", "Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": role_arn},
        {
            "Sid": "ReadPlan",
            "Effect": "Allow",
            "Action": [
                "arc-region-switch:GetPlan",
                "arc-region-switch:GetPlanExecution",
                "arc-region-switch:ListPlanExecutions",
            ],
            "Resource": "*",
        },
    ]
    if group_arns:
        statements += [
            {
                "Sid": "DescribeGroups",
                "Effect": "Allow",
                "Action": "autoscaling:DescribeAutoScalingGroups",
                "Resource": "*",
            },
            {
                "Sid": "ScaleGroups",
                "Effect": "Allow",
                "Action": "autoscaling:UpdateAutoScalingGroup",
                "Resource": list(group_arns),
            },
            {
                "Sid": "ReadGroupMetrics",
                "Effect": "Allow",
                "Action": "cloudwatch:GetMetricStatistics",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": "AWS/AutoScaling"}},
            },
        ]
    statements += [
        {
            "Sid": "DescribeDatabase",
            "Effect": "Allow",
            "Action": ["rds:DescribeDBClusters", "rds:DescribeGlobalClusters"],
            "Resource": "*",
        },
        {
            "Sid": "MoveWriter",
            "Effect": "Allow",
            "Action": ["rds:FailoverGlobalCluster", "rds:SwitchoverGlobalCluster"],
            "Resource": [global_cluster_arn(cluster_arns[0], global_cluster_identifier), *cluster_arns],
        },
    ]
    if hosted_zone_id is not None:
        statements.append(
            {
                "Sid": "ReadRecords",
                "Effect": "Allow",
                "Action": "route53:ListResourceRecordSets",
                "Resource": f"arn:{partition}:route53:::hostedzone/{hosted_zone_id}",
            }
        )
    return policies.document(*statements)


def workflows(args: RegionSwitchArgs) -> list[aws.arcregionswitch.PlanWorkflowArgs]:
    """One ``activate`` workflow per region: approval, capacity, the writer, then DNS. Every
    block but the approval is configured identically in both (ARC picks source and destination
    from the workflow's region; the Route 53 guide asks for the same values in every workflow)."""
    primary, secondary = args.regions
    steps: list[aws.arcregionswitch.PlanWorkflowStepArgs] = []
    if args.approval_role_arn is not None:
        steps.append(
            aws.arcregionswitch.PlanWorkflowStepArgs(
                name="approve",
                description="An operator confirms the switch",
                execution_block_type="ManualApproval",
                execution_approval_configs=[
                    aws.arcregionswitch.PlanWorkflowStepExecutionApprovalConfigArgs(
                        approval_role=args.approval_role_arn
                    )
                ],
            )
        )
    services = sorted(args.auto_scaling_groups[primary])
    if services:
        steps.append(
            aws.arcregionswitch.PlanWorkflowStepArgs(
                name="scale-out",
                description="Each service's group in the activating region grows to match the other region",
                execution_block_type="Parallel",
                parallel_configs=[
                    aws.arcregionswitch.PlanWorkflowStepParallelConfigArgs(
                        steps=[_capacity_step(args, service) for service in services]
                    )
                ],
            )
        )
    steps.append(
        aws.arcregionswitch.PlanWorkflowStepArgs(
            name="database-writer",
            description="Switch the Aurora writer over (ungraceful execution: fail over, possibly losing data)",
            execution_block_type="AuroraGlobalDatabase",
            global_aurora_configs=[
                aws.arcregionswitch.PlanWorkflowStepGlobalAuroraConfigArgs(
                    behavior="switchoverOnly",
                    ungracefuls=[
                        aws.arcregionswitch.PlanWorkflowStepGlobalAuroraConfigUngracefulArgs(ungraceful="failover")
                    ],
                    database_cluster_arns=[args.database_cluster_arns[r] for r in args.regions],
                    global_cluster_identifier=args.global_cluster_identifier,
                )
            ],
        )
    )
    if args.dns is not None:
        dns = args.dns
        steps.append(
            aws.arcregionswitch.PlanWorkflowStepArgs(
                name="dns",
                description=f"Route {dns.record_name} to the activated region",
                execution_block_type="Route53HealthCheck",
                route53_health_check_configs=[
                    aws.arcregionswitch.PlanWorkflowStepRoute53HealthCheckConfigArgs(
                        hosted_zone_id=dns.hosted_zone_id,
                        record_name=dns.record_name,
                        record_sets=[
                            aws.arcregionswitch.PlanWorkflowStepRoute53HealthCheckConfigRecordSetArgs(
                                record_set_identifier=dns.set_identifiers[r], region=r
                            )
                            for r in args.regions
                        ],
                    )
                ],
            )
        )
    return [
        aws.arcregionswitch.PlanWorkflowArgs(
            workflow_target_action="activate",
            workflow_target_region=target,
            workflow_description=f"Run courier {args.stack} from {target}",
            steps=steps,
        )
        for target in (primary, secondary)
    ]


def _capacity_step(args: RegionSwitchArgs, service: str) -> aws.arcregionswitch.PlanWorkflowStepParallelConfigStepArgs:
    return aws.arcregionswitch.PlanWorkflowStepParallelConfigStepArgs(
        name=f"scale-{service}",
        execution_block_type="EC2AutoScaling",
        ec2_asg_capacity_increase_configs=[
            aws.arcregionswitch.PlanWorkflowStepParallelConfigStepEc2AsgCapacityIncreaseConfigArgs(
                # ARC samples the groups' desired capacity itself, at no cost (ARC guide); the
                # other approach reads the groups' CloudWatch metrics, more exact and billed.
                capacity_monitoring_approach=CAPACITY_MONITORING,
                target_percent=args.capacity_percent,
                asgs=[
                    aws.arcregionswitch.PlanWorkflowStepParallelConfigStepEc2AsgCapacityIncreaseConfigAsgArgs(
                        arn=args.auto_scaling_groups[r][service]
                    )
                    for r in args.regions
                ],
            )
        ],
    )


class RegionSwitch(pulumi.ComponentResource):
    """An ``activePassive`` ARC Region switch plan over two regions with an ``activate`` workflow
    for each (see :func:`workflows`), and the execution role ARC assumes to run it: trusted by
    ARC only, allowed exactly the plan's blocks on the plan's resources (:func:`execution_policy`).

    Pass the provider of global resources (us-east-1): the plan and the role are global.
    """

    plan_arn: pulumi.Output[str]
    plan_name: pulumi.Output[str]
    execution_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: RegionSwitchArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        validate(args)
        physical_name = plan_name(args.stack, args.primary_region, args.secondary_region)
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)

        role = aws.iam.Role(
            f"{name}-execution",
            description=f"ARC Region switch runs the {physical_name} plan as this role",
            assume_role_policy=policies.assume_role(PRINCIPAL),
            tags=tags,
            opts=child,
        )
        groups = [args.auto_scaling_groups[r][s] for r in args.regions for s in sorted(args.auto_scaling_groups[r])]
        document = pulumi.Output.all(
            role=role.arn,
            groups=pulumi.Output.all(*groups),
            clusters=pulumi.Output.all(*(args.database_cluster_arns[r] for r in args.regions)),
            global_id=args.global_cluster_identifier,
            zone=args.dns.hosted_zone_id if args.dns else None,
        ).apply(
            lambda v: execution_policy(
                role_arn=v["role"],
                group_arns=v["groups"],
                cluster_arns=v["clusters"],
                global_cluster_identifier=v["global_id"],
                hosted_zone_id=v["zone"],
            )
        )
        permissions = aws.iam.RolePolicy(f"{name}-execution", role=role.id, policy=document, opts=child)

        plan = aws.arcregionswitch.Plan(
            f"{name}-plan",
            name=physical_name,
            description=f"Fail courier {args.stack} over between {args.primary_region} and {args.secondary_region}",
            recovery_approach="activePassive",
            regions=list(args.regions),
            primary_region=args.primary_region,
            recovery_time_objective_minutes=args.rto_minutes,
            execution_role=role.arn,
            workflows=workflows(args),
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                # Evaluation runs as soon as the plan exists: the role must already hold its policy.
                depends_on=[permissions],
                # The name is fixed and unique per account, so a replacement must delete first;
                # UpdatePlan does not send primaryRegion, so changing it must replace the plan.
                delete_before_replace=True,
                replace_on_changes=["primaryRegion"],
            ),
        )
        self.plan_arn = plan.arn
        self.plan_name = plan.name
        self.execution_role_arn = role.arn
        self.register_outputs({"planArn": self.plan_arn, "planName": self.plan_name})
