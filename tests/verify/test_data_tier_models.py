"""The data tier's resources (and the ARC Region switch plan) against botocore's models: each
type is mapped to the call its provider makes, so a value AWS would refuse is a finding.

Each case takes the real resource from the prod Plan (its compliant case) and changes one input.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from courier.plan import Plan, Resource
from courier.verify import verify
from courier.verify.catalogue import CREATE_CALLS
from tests.conftest import StackPlans
from tests.verify.plans import findings, plan, resource

RULE = "aws-api-model"
DATA_TYPES = (
    "aws:rds/globalCluster:GlobalCluster",
    "aws:rds/cluster:Cluster",
    "aws:rds/clusterInstance:ClusterInstance",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:dynamodb/table:Table",
    "aws:dynamodb/tableReplica:TableReplica",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup",
    "aws:elasticache/subnetGroup:SubnetGroup",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:secretsmanager/secret:Secret",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "aws:arcregionswitch/plan:Plan",
)


@pytest.fixture(scope="module")
def prod(stack_plans: StackPlans) -> Plan:
    return stack_plans["prod"]


def first(plan_: Plan, token: str, predicate: Callable[[Resource], bool] = lambda r: True) -> Resource:
    return copy.deepcopy(next(r for r in plan_.resources if r.type == token and predicate(r)))


def test_every_input_of_the_data_tier_is_checked_or_provider_only(prod: Plan) -> None:
    by_type = verify(prod, shellcheck=None).to_json()["coverage"]["byType"]
    for token in DATA_TYPES:
        assert token in CREATE_CALLS
        assert by_type[token]["unmapped"] == 0 and by_type[token]["checked"] > 0, (token, by_type[token])


def test_the_prod_data_tier_passes_the_models(prod: Plan) -> None:
    resources = [copy.deepcopy(r) for r in prod.resources if r.type in DATA_TYPES]
    assert findings(*resources, rule=RULE) == []


def at(*path: Any, value: Any) -> Callable[[Resource], None]:
    def change(resource_: Resource) -> None:
        target: Any = resource_.inputs
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def primary_cache(r: Resource) -> bool:
    return "globalReplicationGroupId" not in r.inputs


def literal(change: Callable[[Resource], None]) -> Callable[[Resource], None]:
    """The change on a copy whose inputs are all literal. A property computed in part from other
    resources' outputs (a rule's destination ARN) is not judged as a string: the mock engine
    invents those values, and it cannot tell them from the literal ones beside them."""

    def changed(resource_: Resource) -> None:
        resource_.property_dependencies = {}
        change(resource_)

    return changed


# (type, which one, mutation, property reported, message expected)
CASES: list[tuple[str, Callable[[Resource], bool], Callable[[Resource], None], str, str]] = [
    (
        "aws:rds/cluster:Cluster",
        lambda r: True,
        at("backupRetentionPeriod", value=36),
        "backupRetentionPeriod",
        "36 is outside 1-35",
    ),
    (
        "aws:rds/cluster:Cluster",
        lambda r: True,
        at("engine", value="aurora-postgres"),
        "engine",
        "'aurora-postgres' is not one of aurora-mysql, aurora-postgresql",
    ),
    (
        "aws:rds/globalCluster:GlobalCluster",
        lambda r: True,
        at("globalClusterIdentifier", value="9-orders"),
        "globalClusterIdentifier",
        "does not match",
    ),
    (
        "aws:rds/clusterInstance:ClusterInstance",
        lambda r: True,
        at("promotionTier", value=16),
        "promotionTier",
        "16 is outside 0-15",
    ),
    (
        "aws:dynamodb/table:Table",
        lambda r: True,
        at("streamViewType", value="NEW_AND_OLD"),
        "streamViewType",
        "'NEW_AND_OLD' is not one of",
    ),
    (
        "aws:dynamodb/table:Table",
        lambda r: True,
        at("attributes", 1, "type", value="L"),
        "attributes[1].type",
        "'L' is not one of S, N, B",
    ),
    (
        "aws:dynamodb/table:Table",
        lambda r: True,
        at("ttl", "attributeName", value="x" * 256),
        "ttl.attributeName",
        "256 characters is above the maximum 255",
    ),
    (
        "aws:elasticache/replicationGroup:ReplicationGroup",
        primary_cache,
        at("engine", value="memcached"),
        "engine",
        "'memcached' is not one of valkey, redis",
    ),
    (
        "aws:elasticache/replicationGroup:ReplicationGroup",
        primary_cache,
        at("numCacheClusters", value=7),
        "numCacheClusters",
        "7 is outside 1-6",
    ),
    (
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
        lambda r: True,
        literal(at("rules", 0, "destination", "replicationTime", "time", "minutes", value=10)),
        "rules[0].destination.replicationTime.time.minutes",
        "10 is not one of 15",
    ),
    (
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
        lambda r: True,
        literal(at("rules", 1, "deleteMarkerReplication", "status", value="On")),
        "rules[1].deleteMarkerReplication.status",
        "'On' is not one of Enabled, Disabled",
    ),
    (
        "aws:s3/bucketVersioning:BucketVersioning",
        lambda r: True,
        at("versioningConfiguration", "status", value="Disabled"),
        "versioningConfiguration.status",
        "'Disabled' is not one of Enabled, Suspended",
    ),
    (
        "aws:secretsmanager/secret:Secret",
        lambda r: True,
        at("recoveryWindowInDays", value=3),
        "recoveryWindowInDays",
        "3 is outside 7-30 (or 0)",
    ),
    (
        "aws:secretsmanager/secret:Secret",
        lambda r: True,
        at("replicas", 0, "region", value="Tokyo"),
        "replicas[0].region",
        "does not match",
    ),
    (
        "aws:arcregionswitch/plan:Plan",
        lambda r: True,
        at("name", value="courier_prod_apse1_apne1"),
        "name",
        "'courier_prod_apse1_apne1' does not match",
    ),
]


@pytest.mark.parametrize(
    ("token", "which", "mutation", "prop", "expected"), CASES, ids=[f"{c[0].split(':')[-1]}:{c[3]}" for c in CASES]
)
def test_rejects_what_the_api_refuses(prod: Plan, token: str, which, mutation, prop: str, expected: str) -> None:
    subject = first(prod, token, which)
    assert findings(subject, rule=RULE) == []
    mutation(subject)
    [found] = findings(subject, rule=RULE)
    assert found.property == prop and expected in found.message, found


def test_an_empty_list_is_not_sent_so_its_minimum_does_not_apply() -> None:
    # A one-region stack's master secret has no replica region: the provider sends no
    # AddReplicaRegions at all (the member's minimum is 1).
    secret = resource(
        "aws:secretsmanager/secret:Secret", "master", {"name": "courier/dev/orders/master", "replicas": []}
    )
    assert findings(secret, rule=RULE) == []


def test_a_secret_name_outside_the_documented_characters_is_refused() -> None:
    secret = resource("aws:secretsmanager/secret:Secret", "master", {"name": "courier prod master"})
    [found] = findings(secret, rule="aws-names")
    assert found.property == "name" and "has characters AWS refuses" in found.message


def test_a_table_auto_name_is_checked_against_dynamodbs_naming_rules() -> None:
    table = resource("aws:dynamodb/table:Table", "rider locations", {"hashKey": "riderId"})
    [found] = findings(table, rule="aws-names")
    assert "'rider locations-0000000' has characters AWS refuses" in found.message


def test_the_coverage_of_a_one_region_stack_counts_no_unmapped_data_inputs() -> None:
    secret = resource("aws:secretsmanager/secret:Secret", "master", {"name": "m", "replicas": [], "kmsKeyId": "k"})
    coverage = verify(plan(secret), shellcheck=None).to_json()["coverage"]["byType"]["aws:secretsmanager/secret:Secret"]
    assert coverage["unmapped"] == 0 and coverage["checked"] == 2


def asg_arn(region: str, name: str) -> str:
    return f"arn:aws:autoscaling:{region}:123456789012:autoScalingGroup:{'0' * 8}-0000-0000-0000-{'0' * 12}:autoScalingGroupName/{name}"


def arc_plan() -> Resource:
    """An ARC Region switch plan as components/aws/region_switch.py declares one, its ARNs
    literal (the prod Plan's are the mock engine's, which no ARN pattern accepts)."""
    scale = {
        "name": "scale-orders",
        "executionBlockType": "EC2AutoScaling",
        "ec2AsgCapacityIncreaseConfigs": [
            {
                "asgs": [{"arn": asg_arn("ap-southeast-1", "orders")}, {"arn": asg_arn("ap-northeast-1", "orders")}],
                "capacityMonitoringApproach": "sampledMaxInLast24Hours",
                "targetPercent": 200,
            }
        ],
    }
    writer = {
        "name": "database-writer",
        "executionBlockType": "AuroraGlobalDatabase",
        "globalAuroraConfigs": [
            {
                "behavior": "switchoverOnly",
                "globalClusterIdentifier": "courier-prod-orders",
                "databaseClusterArns": ["arn:aws:rds:ap-southeast-1:123456789012:cluster:courier-prod-apse1-orders"],
                "ungracefuls": [{"ungraceful": "failover"}],
            }
        ],
    }
    return resource(
        "aws:arcregionswitch/plan:Plan",
        "courier-plan",
        {
            "name": "courier-prod-apse1-apne1",
            "primaryRegion": "ap-southeast-1",
            "regions": ["ap-southeast-1", "ap-northeast-1"],
            "recoveryApproach": "activePassive",
            "recoveryTimeObjectiveMinutes": 15,
            "executionRole": "arn:aws:iam::123456789012:role/courier-execution",
            "workflows": [
                {
                    "workflowTargetAction": "activate",
                    "workflowTargetRegion": "ap-northeast-1",
                    "steps": [
                        {
                            "name": "scale-out",
                            "executionBlockType": "Parallel",
                            "parallelConfigs": [{"steps": [scale]}],
                        },
                        writer,
                    ],
                }
            ],
        },
    )


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("regions",), ["ap-southeast-1"], "1 items is below the minimum 2 items"),
        (("recoveryTimeObjectiveMinutes",), 0, "0 is below the minimum 1"),
        (("workflows", 0, "steps", 1, "globalAuroraConfigs", 0, "behavior"), "failoverOnly", "'failoverOnly' is not"),
        (("workflows", 0, "steps", 1, "globalAuroraConfigs", 0, "ungracefuls", 0, "ungraceful"), "abort", "'abort'"),
        (
            ("workflows", 0, "steps", 0, "parallelConfigs", 0, "steps", 0, "ec2AsgCapacityIncreaseConfigs", 0, "asgs"),
            [{"arn": asg_arn("ap-southeast-1", "orders")}],
            "1 items is below the minimum 2 items",
        ),
    ],
    ids=["regions", "rto", "aurora-behavior", "aurora-ungraceful", "two-asgs"],
)
def test_the_region_switch_plan_is_checked_through_its_execution_blocks(path, value, expected: str) -> None:
    plan_ = arc_plan()
    assert findings(plan_, rule=RULE) == []
    at(*path, value=value)(plan_)
    found = findings(plan_, rule=RULE)
    assert len(found) == 1 and expected in found[0].message, found
