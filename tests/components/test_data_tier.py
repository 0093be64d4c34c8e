"""The AWS data tier in prod's plan: every store in every AWS region in its role, encrypted with
the region's own key, replicated, reachable by exactly the services that use it."""

from __future__ import annotations

import base64
import gzip
import json

from courier.plan import Plan, Resource
from tests.conftest import StackPlans

AWS_REGIONS = ("ap-southeast-1", "ap-northeast-1", "ap-northeast-2")
CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
KEY = "aws:kms/key:Key"


def in_region(plan: Plan, kind: str, region: str) -> list[Resource]:
    return [r for r in plan.of_type(kind) if r.region == region]


def data_key(plan: Plan, region: str) -> Resource:
    (key,) = [k for k in in_region(plan, KEY, region) if k.name.endswith("-data")]
    return key


def linked(resource: Resource, prop: str, target: Resource) -> bool:
    return target.urn in (resource.property_dependencies.get(prop) or [])


def test_every_aws_region_holds_a_cluster_of_the_global_database_with_its_own_key(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    (shared,) = plan.of_type("aws:rds/globalCluster:GlobalCluster")
    assert shared.inputs["engine"] == "aurora-postgresql" and shared.inputs["storageEncrypted"] is True
    for region in AWS_REGIONS:
        (cluster,) = in_region(plan, CLUSTER, region)
        assert linked(cluster, "globalClusterIdentifier", shared)
        assert cluster.inputs["storageEncrypted"] is True and linked(cluster, "kmsKeyId", data_key(plan, region))
        assert cluster.inputs["iamDatabaseAuthenticationEnabled"] is True
        assert cluster.inputs["backupRetentionPeriod"] >= 7 and cluster.inputs["skipFinalSnapshot"] is False
        instances = in_region(plan, INSTANCE, region)
        zones = {i.inputs["availabilityZone"] for i in instances}
        assert (
            len(instances) == 2 and len(zones) == 2 and all(i.inputs["publiclyAccessible"] is False for i in instances)
        )
        assert all(i.inputs["instanceClass"].startswith("db.r") for i in instances)


def test_one_table_replicated_to_every_other_aws_region(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    (table,) = plan.of_type("aws:dynamodb/table:Table")
    assert table.region == "ap-southeast-1"
    assert table.inputs["streamViewType"] == "NEW_AND_OLD_IMAGES" and table.inputs["pointInTimeRecovery"]["enabled"]
    assert table.inputs["ttl"] == {"attributeName": "expiresAt", "enabled": True}
    replicas = plan.of_type("aws:dynamodb/tableReplica:TableReplica")
    assert sorted(r.region for r in replicas) == ["ap-northeast-1", "ap-northeast-2"]
    for replica in replicas:
        assert linked(replica, "globalTableArn", table) and linked(replica, "kmsKeyArn", data_key(plan, replica.region))
        assert replica.inputs["pointInTimeRecovery"] is True


def test_the_cache_is_one_global_datastore(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    (datastore,) = plan.of_type("aws:elasticache/globalReplicationGroup:GlobalReplicationGroup")
    groups = {r.region: r for r in plan.of_type("aws:elasticache/replicationGroup:ReplicationGroup")}
    assert set(groups) == set(AWS_REGIONS)
    primary = groups["ap-southeast-1"]
    assert primary.inputs["engine"] == "valkey" and primary.inputs["transitEncryptionEnabled"] is True
    assert linked(datastore, "primaryReplicationGroupId", primary)
    for region in ("ap-northeast-1", "ap-northeast-2"):
        member = groups[region]
        assert linked(member, "globalReplicationGroupId", datastore)
        # A secondary takes engine, version, node type and encryption from the datastore.
        assert not {"engine", "engineVersion", "nodeType", "atRestEncryptionEnabled"} & set(member.inputs)
        assert member.inputs["multiAzEnabled"] is True and member.inputs["numCacheClusters"] == 2


def test_media_replicates_to_every_other_region_within_15_minutes(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    configs = plan.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert sorted(c.region for c in configs) == sorted(AWS_REGIONS)
    for config in configs:
        rules = config.inputs["rules"]
        assert len(rules) == 2 and len({r["priority"] for r in rules}) == 2
        for rule in rules:
            destination = rule["destination"]
            assert destination["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
            assert destination["metrics"] == {"status": "Enabled", "eventThreshold": {"minutes": 15}}
            assert rule["deleteMarkerReplication"] == {"status": "Enabled"} and "filter" in rule
            assert destination["encryptionConfiguration"]["replicaKmsKeyId"]


def user_data(template: Resource) -> str:
    raw = base64.b64decode(template.inputs["userData"])
    return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()


def test_services_get_their_stores_endpoints_and_nothing_else(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    templates = {
        t.name: t for t in plan.of_type("aws:ec2/launchTemplate:LaunchTemplate") if t.region == "ap-northeast-1"
    }
    orders, tracking = user_data(templates["apne1-orders-lt"]), user_data(templates["apne1-tracking-lt"])
    assert "COURIER_DB_ENDPOINT=courier-prod-apne1-orders.cluster-" in orders
    assert "COURIER_DB_GLOBAL_WRITER_ENDPOINT=courier-prod-orders.global-" in orders
    assert "COURIER_MEDIA_BUCKET=" in orders and "COURIER_LOCATIONS_TABLE" not in orders
    assert "COURIER_LOCATIONS_TABLE=courier-prod-rider-locations" in tracking and "COURIER_DB_" not in tracking
    policies = {
        p.name: json.loads(p.inputs["policy"])
        for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.name.endswith("-data") and p.region == "ap-northeast-1"
    }
    assert set(policies) == {"apne1-orders-data", "apne1-dispatch-data", "apne1-tracking-data", "apne1-payments-data"}
    actions = {
        name: {a for s in doc["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
        for name, doc in policies.items()
    }
    assert actions["apne1-payments-data"] == {"rds-db:connect"}
    assert (
        "rds-db:connect" not in actions["apne1-tracking-data"] and "dynamodb:PutItem" in actions["apne1-tracking-data"]
    )
    for name, document in policies.items():
        for statement in document["Statement"]:
            assert statement["Resource"] != "*", name
    (table_grant,) = [s for s in policies["apne1-tracking-data"]["Statement"] if "dynamodb:PutItem" in s["Action"]]
    assert (
        table_grant["Resource"].endswith(":table/courier-prod-rider-locations")
        and ":ap-northeast-1:" in table_grant["Resource"]
    )


def test_china_data_stays_in_mainland_china(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    china = [r for r in plan.resources if r.type.startswith(("alicloud:polardb", "alicloud:oss", "alicloud:dts"))]
    assert china and {r.region for r in china} == {"cn-hangzhou", "cn-shanghai"}


def test_china_fleets_reach_their_database_and_media_in_china(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    configs = {
        c.name: c
        for c in plan.of_type("alicloud:ess/scalingConfiguration:ScalingConfiguration")
        if c.region == "cn-hangzhou"
    }
    orders = next(c for name, c in configs.items() if "orders" in name)
    script = user_data_of(orders.inputs["userData"])
    assert "COURIER_DB_ENDPOINT=pc-" in script and ".pg.polardb.rds.aliyuncs.com" in script
    assert "COURIER_MEDIA_BUCKET=" in script
    tracking = next(c for name, c in configs.items() if "tracking" in name)
    assert "COURIER_DB_ENDPOINT" not in user_data_of(tracking.inputs["userData"])
    media = [p for p in plan.of_type("alicloud:ram/policy:Policy") if p.name.endswith("-media")]
    assert [p.name for p in media] == ["cnhz-orders-media"]
    document = json.loads(media[0].inputs["policyDocument"])
    assert document["Statement"][0]["Action"] == ["oss:GetObject", "oss:PutObject"]


def user_data_of(text: str) -> str:
    raw = base64.b64decode(text)
    return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()
