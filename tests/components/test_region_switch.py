"""RegionSwitch: the ARC Region switch plan of a region pair and its execution role."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.region_switch import (
    DnsSwitch,
    RegionSwitch,
    RegionSwitchArgs,
    execution_policy,
    global_cluster_arn,
    plan_name,
    validate,
)

PRIMARY, SECONDARY = "ap-southeast-1", "ap-northeast-1"
ACCOUNT = "123456789012"
SERVICES = ("orders", "payments")


def group_arn(region: str, service: str) -> str:
    uuid = {PRIMARY: "1d2c3b4a-0000-4000-8000-00000000000", SECONDARY: "5e6f7a8b-0000-4000-8000-00000000000"}[region]
    return (
        f"arn:aws:autoscaling:{region}:{ACCOUNT}:autoScalingGroup:{uuid}{SERVICES.index(service)}:"
        f"autoScalingGroupName/{region}-{service}"
    )


GROUPS = {region: {service: group_arn(region, service) for service in SERVICES} for region in (PRIMARY, SECONDARY)}
CLUSTERS = {
    PRIMARY: f"arn:aws:rds:{PRIMARY}:{ACCOUNT}:cluster:courier-prod-apse1-orders",
    SECONDARY: f"arn:aws:rds:{SECONDARY}:{ACCOUNT}:cluster:courier-prod-apne1-orders",
}
GLOBAL_ID = "courier-prod-orders"
GLOBAL_ARN = f"arn:aws:rds::{ACCOUNT}:global-cluster:{GLOBAL_ID}"
APPROVER = f"arn:aws:iam::{ACCOUNT}:role/courier-prod-region-switch-approver"
DNS = DnsSwitch("Z123", "active.api.courier.example.com", {PRIMARY: "apse1", SECONDARY: "apne1"})
TAGS = {"environment": "prod", "owner": "courier-platform-team"}

ARGS = RegionSwitchArgs(
    stack="prod",
    primary_region=PRIMARY,
    secondary_region=SECONDARY,
    auto_scaling_groups=GROUPS,
    database_cluster_arns=CLUSTERS,
    global_cluster_identifier=GLOBAL_ID,
    rto_minutes=15,
    dns=DNS,
    approval_role_arn=APPROVER,
    tags=TAGS,
)


def declare(args: RegionSwitchArgs = ARGS):
    def program() -> None:
        provider = aws.Provider("aws-global", region="us-east-1")
        RegionSwitch("apse1-apne1", args, opts=pulumi.ResourceOptions(providers=[provider]))

    return program


def only(plan, resource_type: str):
    (resource,) = plan.of_type(resource_type)
    return resource


def plan_of(plan) -> dict[str, Any]:
    return only(plan, "aws:arcregionswitch/plan:Plan").inputs


def workflow_to(plan, region: str) -> dict[str, Any]:
    (workflow,) = [w for w in plan_of(plan)["workflows"] if w["workflowTargetRegion"] == region]
    return workflow


def step(workflow: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [s for s in workflow["steps"] if s["name"] == name]
    return found


def test_plan_is_active_passive_over_exactly_the_pair_with_the_primary_first(run_components) -> None:
    plan = run_components(declare())
    resource = only(plan, "aws:arcregionswitch/plan:Plan")
    inputs = resource.inputs
    assert inputs["recoveryApproach"] == "activePassive"
    assert inputs["regions"] == [PRIMARY, SECONDARY]
    assert inputs["primaryRegion"] == PRIMARY
    assert inputs["recoveryTimeObjectiveMinutes"] == 15
    assert inputs["name"] == "courier-prod-apse1-apne1"
    assert inputs["tags"] == TAGS
    # The plan is global: declared through the us-east-1 provider, like Route 53.
    assert resource.region == "us-east-1"
    role = only(plan, "aws:iam/role:Role")
    assert re.fullmatch(rf"arn:aws:iam::{ACCOUNT}:role/apse1-apne1-execution-[0-9a-f]{{7}}", inputs["executionRole"])
    assert role.urn in resource.property_dependencies["executionRole"]
    component = only(plan, "courier:aws:RegionSwitch")
    assert {r.parent for r in (resource, role, only(plan, "aws:iam/rolePolicy:RolePolicy"))} == {component.urn}
    # Evaluation starts when the plan exists: the role's permissions come first.
    policy = only(plan, "aws:iam/rolePolicy:RolePolicy")
    assert policy.urn in resource.dependencies


def test_each_region_has_an_activate_workflow_approval_capacity_writer_then_dns(run_components) -> None:
    plan = run_components(declare())
    workflows = plan_of(plan)["workflows"]
    assert sorted(w["workflowTargetRegion"] for w in workflows) == sorted([PRIMARY, SECONDARY])
    assert {w["workflowTargetAction"] for w in workflows} == {"activate"}
    for workflow in workflows:
        assert [(s["name"], s["executionBlockType"]) for s in workflow["steps"]] == [
            ("approve", "ManualApproval"),
            ("scale-out", "Parallel"),
            ("database-writer", "AuroraGlobalDatabase"),
            ("dns", "Route53HealthCheck"),
        ]
        assert step(workflow, "approve")["executionApprovalConfigs"] == [{"approvalRole": APPROVER}]
    # ARC picks source and destination from the workflow's region: the blocks are the same in both.
    primary, secondary = workflow_to(plan, PRIMARY), workflow_to(plan, SECONDARY)
    assert primary["steps"] == secondary["steps"]


def test_one_capacity_block_per_service_pairs_its_group_in_each_region(run_components) -> None:
    plan = run_components(declare())
    (parallel,) = step(workflow_to(plan, SECONDARY), "scale-out")["parallelConfigs"]
    blocks = {s["name"]: s for s in parallel["steps"]}
    assert set(blocks) == {f"scale-{service}" for service in SERVICES}
    for service in SERVICES:
        block = blocks[f"scale-{service}"]
        assert block["executionBlockType"] == "EC2AutoScaling"
        (config,) = block["ec2AsgCapacityIncreaseConfigs"]
        # Exactly two groups (the API's fixed size): this service's, one per plan region.
        assert [a["arn"] for a in config["asgs"]] == [GROUPS[PRIMARY][service], GROUPS[SECONDARY][service]]
        assert config["targetPercent"] == 100
        assert config["capacityMonitoringApproach"] == "sampledMaxInLast24Hours"


def test_the_writer_switches_over_and_fails_over_only_in_an_ungraceful_execution(run_components) -> None:
    plan = run_components(declare())
    (config,) = step(workflow_to(plan, SECONDARY), "database-writer")["globalAuroraConfigs"]
    assert config["behavior"] == "switchoverOnly"
    assert config["ungracefuls"] == [{"ungraceful": "failover"}]
    assert config["databaseClusterArns"] == [CLUSTERS[PRIMARY], CLUSTERS[SECONDARY]]
    assert config["globalClusterIdentifier"] == GLOBAL_ID


def test_dns_step_maps_each_region_to_its_record_by_set_identifier(run_components) -> None:
    plan = run_components(declare())
    (config,) = step(workflow_to(plan, PRIMARY), "dns")["route53HealthCheckConfigs"]
    assert config["hostedZoneId"] == "Z123"
    assert config["recordName"] == "active.api.courier.example.com"
    assert config["recordSets"] == [
        {"recordSetIdentifier": "apse1", "region": PRIMARY},
        {"recordSetIdentifier": "apne1", "region": SECONDARY},
    ]


def test_without_dns_approver_or_groups_the_plan_only_moves_the_writer(run_components) -> None:
    bare = dataclasses.replace(ARGS, dns=None, approval_role_arn=None, auto_scaling_groups={PRIMARY: {}, SECONDARY: {}})
    plan = run_components(declare(bare))
    for workflow in plan_of(plan)["workflows"]:
        assert [s["executionBlockType"] for s in workflow["steps"]] == ["AuroraGlobalDatabase"]
    sids = {s["Sid"] for s in statements(plan)}
    assert not sids & {"DescribeGroups", "ScaleGroups", "ReadGroupMetrics", "ReadRecords"}


def statements(plan) -> list[dict[str, Any]]:
    return json.loads(only(plan, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])["Statement"]


def test_only_region_switch_may_assume_the_execution_role(run_components) -> None:
    plan = run_components(declare())
    role = only(plan, "aws:iam/role:Role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "arc-region-switch.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert role.inputs["tags"] == TAGS


#: Reads that take no resource ARN, granted on "*" exactly as ARC's sample policies do.
UNSCOPED_READS = {
    "arc-region-switch:GetPlan",
    "arc-region-switch:GetPlanExecution",
    "arc-region-switch:ListPlanExecutions",
    "autoscaling:DescribeAutoScalingGroups",
    "cloudwatch:GetMetricStatistics",
    "rds:DescribeDBClusters",
    "rds:DescribeGlobalClusters",
}


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_execution_policy_names_only_the_plans_resources(run_components) -> None:
    plan = run_components(declare())
    role_arn = plan_of(plan)["executionRole"]
    granted: dict[str, set[str]] = {}
    for statement in statements(plan):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            granted.setdefault(action, set()).update(as_list(statement["Resource"]))
    for action, resources in granted.items():
        if "*" in resources:
            assert action in UNSCOPED_READS, f"{action} on *"
            assert resources == {"*"}
    assert granted["autoscaling:UpdateAutoScalingGroup"] == {
        arn for groups in GROUPS.values() for arn in groups.values()
    }
    moves = {GLOBAL_ARN, *CLUSTERS.values()}
    assert granted["rds:SwitchoverGlobalCluster"] == granted["rds:FailoverGlobalCluster"] == moves
    assert granted["route53:ListResourceRecordSets"] == {"arn:aws:route53:::hostedzone/Z123"}
    assert granted["iam:SimulatePrincipalPolicy"] == {role_arn}
    assert set(granted) == UNSCOPED_READS | {
        "autoscaling:UpdateAutoScalingGroup",
        "rds:SwitchoverGlobalCluster",
        "rds:FailoverGlobalCluster",
        "route53:ListResourceRecordSets",
        "iam:SimulatePrincipalPolicy",
    }
    (metrics,) = [s for s in statements(plan) if s["Action"] == "cloudwatch:GetMetricStatistics"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "AWS/AutoScaling"}}


def test_capacity_percent_reaches_every_capacity_block(run_components) -> None:
    plan = run_components(declare(dataclasses.replace(ARGS, capacity_percent=200)))
    (parallel,) = step(workflow_to(plan, PRIMARY), "scale-out")["parallelConfigs"]
    assert {s["ec2AsgCapacityIncreaseConfigs"][0]["targetPercent"] for s in parallel["steps"]} == {200}


def test_global_cluster_arn_comes_from_a_member_clusters_partition_and_account() -> None:
    assert global_cluster_arn(CLUSTERS[SECONDARY], GLOBAL_ID) == GLOBAL_ARN
    china = "arn:aws-cn:rds:cn-north-1:123456789012:cluster:c"
    assert global_cluster_arn(china, "g") == "arn:aws-cn:rds::123456789012:global-cluster:g"
    with pytest.raises(ValueError, match="not an Aurora cluster ARN"):
        global_cluster_arn("arn:aws:rds:ap-southeast-1:123456789012:db:instance", "g")


def test_policy_without_groups_or_dns_grants_only_the_database_and_evaluation() -> None:
    document = json.loads(
        execution_policy(
            role_arn="arn:aws:iam::123456789012:role/r",
            group_arns=[],
            cluster_arns=list(CLUSTERS.values()),
            global_cluster_identifier=GLOBAL_ID,
            hosted_zone_id=None,
        )
    )
    assert [s["Sid"] for s in document["Statement"]] == ["EvaluatePlan", "ReadPlan", "DescribeDatabase", "MoveWriter"]


def test_plan_name_is_the_stack_and_the_pairs_codes() -> None:
    assert plan_name("staging", PRIMARY, SECONDARY) == "courier-staging-apse1-apne1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"secondary_region": PRIMARY}, "two regions"),
        ({"auto_scaling_groups": {PRIMARY: GROUPS[PRIMARY]}}, "auto_scaling_groups: needs exactly the plan's regions"),
        (
            {"auto_scaling_groups": {PRIMARY: GROUPS[PRIMARY], SECONDARY: {"orders": GROUPS[SECONDARY]["orders"]}}},
            "only in ap-southeast-1: ['payments']",
        ),
        ({"database_cluster_arns": {PRIMARY: CLUSTERS[PRIMARY]}}, "database_cluster_arns"),
        ({"dns": DnsSwitch("Z123", "api.courier.example.com", {PRIMARY: "apse1"})}, "dns.set_identifiers"),
        ({"dns": DnsSwitch("Z123", "", {PRIMARY: "apse1", SECONDARY: "apne1"})}, "dns.record_name"),
        ({"rto_minutes": 0}, "rto_minutes: 0 is outside 1-10080"),
        ({"rto_minutes": 10081}, "rto_minutes"),
        ({"capacity_percent": 0}, "capacity_percent"),
    ],
)
def test_rejects_inputs_the_plan_cannot_take(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate(dataclasses.replace(ARGS, **change))


def test_rejects_a_plan_name_arc_refuses() -> None:
    # A long stack name is shortened with a digest of it, still unique and within 32.
    long = plan_name("a-very-long-stack-name", PRIMARY, SECONDARY)
    assert len(long) <= 32 and long != plan_name("a-very-long-stack-nam", PRIMARY, SECONDARY)
    with pytest.raises(ValueError, match=re.escape("RegionSwitchArgs.secondary_region: 'mars-1'")):
        plan_name("prod", PRIMARY, "mars-1")
