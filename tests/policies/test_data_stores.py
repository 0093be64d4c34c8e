"""The data tier's guardrails: every stateful store replicated to another region (Alibaba Cloud's
within mainland China), and the tables, caches, buckets and Aurora clusters encrypted, restorable
and protected.

AWS cases mutate the prod Plan as the program declares it (its compliant case). Alibaba Cloud
cases and the RDS instances the stack does not create are synthetic resources, each declared
from the others' outputs the way the program would declare them (property dependencies).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from courier.plan import Plan, Resource
from tests.conftest import StackPlans
from tests.policies.harness import at, mutate, violations

REPLICATED = "courier-stateful-store-replicated"
PROD = {"required": True}

CLUSTER = "aws:rds/cluster:Cluster"
TABLE = "aws:dynamodb/table:Table"
TABLE_REPLICA = "aws:dynamodb/tableReplica:TableReplica"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
DATASTORE = "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"


@pytest.fixture(scope="module")
def prod(stack_plans: StackPlans) -> Plan:
    return stack_plans["prod"]


def without(plan: Plan, keep: Callable[[Resource], bool]) -> list[Resource]:
    return [copy.deepcopy(r) for r in plan.resources if keep(r)]


def of(plan: Plan, resource_type: str) -> list[Resource]:
    return [r for r in plan.resources if r.type == resource_type]


def origin_region(plan: Plan) -> str:
    """The region of the DynamoDB table (the origin's stores; the others join them)."""
    (table,) = of(plan, TABLE)
    return str(table.region)


# -- replication: the prod Plan, and one mutation per way a store loses its copy -----------------


def test_the_prod_plan_keeps_every_store_replicated(prod: Plan) -> None:
    assert violations(REPLICATED, prod.resources, PROD) == []
    # The rule is prod's (policies/config/prod.json): elsewhere it is not required.
    alone = without(prod, lambda r: r.type not in (TABLE_REPLICA, BUCKET_REPLICATION))
    assert violations(REPLICATED, alone) == []
    assert violations(REPLICATED, alone, PROD) != []


def test_rejects_an_aurora_cluster_outside_any_global_database(prod: Plan) -> None:
    def detach(resource: Resource) -> None:
        del resource.inputs["globalClusterIdentifier"]
        del resource.property_dependencies["globalClusterIdentifier"]

    found = violations(REPLICATED, mutate(prod, CLUSTER, detach), PROD)
    assert len(found) == 1 and "is in no global database; set globalClusterIdentifier" in found[0]


def test_rejects_a_global_database_with_clusters_in_one_region(prod: Plan) -> None:
    origin = origin_region(prod)
    found = violations(REPLICATED, without(prod, lambda r: r.type != CLUSTER or r.region == origin), PROD)
    assert found == [
        next(
            f"{r.name} ({origin}): its global database has clusters only in {origin}; add a secondary cluster "
            "(globalClusterIdentifier) in another region."
            for r in of(prod, CLUSTER)
            if r.region == origin
        )
    ]


def test_rejects_a_table_without_a_replica_in_another_region(prod: Plan) -> None:
    found = violations(REPLICATED, without(prod, lambda r: r.type != TABLE_REPLICA), PROD)
    assert len(found) == 1 and "has no replica in another region; add a dynamodb.TableReplica" in found[0]


def test_a_replicas_entry_on_the_table_is_a_replica_too(prod: Plan) -> None:
    resources = without(prod, lambda r: r.type != TABLE_REPLICA)
    table = next(r for r in resources if r.type == TABLE)
    table.inputs["replicas"] = [{"regionName": "ap-northeast-1"}]
    assert violations(REPLICATED, resources, PROD) == []
    table.inputs["replicas"] = [{"regionName": table.region}]
    assert violations(REPLICATED, resources, PROD) != []


def test_rejects_a_cache_whose_global_datastore_has_no_member_elsewhere(prod: Plan) -> None:
    primaries = [r for r in of(prod, CACHE) if "globalReplicationGroupId" not in r.inputs]
    found = violations(REPLICATED, without(prod, lambda r: r.type != CACHE or r in primaries), PROD)
    assert len(found) == 1 and "its Global Datastore has members only in" in found[0]


def test_rejects_caches_outside_any_global_datastore(prod: Plan) -> None:
    def alone(resource: Resource) -> None:
        resource.inputs.pop("globalReplicationGroupId", None)
        resource.property_dependencies.pop("globalReplicationGroupId", None)

    resources = without(prod, lambda r: r.type != DATASTORE)
    for resource in resources:
        if resource.type == CACHE:
            alone(resource)
    found = violations(REPLICATED, resources, PROD)
    assert len(found) == len(of(prod, CACHE)) and all("is in no Global Datastore" in f for f in found)


def test_rejects_a_data_bucket_without_replication_to_another_region(prod: Plan) -> None:
    dropped = of(prod, BUCKET_REPLICATION)[0]
    found = violations(REPLICATED, without(prod, lambda r: r.urn != dropped.urn), PROD)
    assert len(found) == 1 and "no enabled replication rule copies it to a bucket in another region" in found[0]


def test_rejects_a_data_bucket_whose_rules_are_disabled(prod: Plan) -> None:
    def disable(resource: Resource) -> None:
        for rule in resource.inputs["rules"]:
            rule["status"] = "Disabled"

    found = violations(REPLICATED, mutate(prod, BUCKET_REPLICATION, disable), PROD)
    assert len(found) == 1 and "(tag service: data)" in found[0]


def test_buckets_that_hold_no_data_need_no_replication(prod: Plan) -> None:
    others = [b for b in of(prod, BUCKET) if b.inputs["tags"].get("service") != "data"]
    assert others, "the prod plan has log buckets"
    resources = without(prod, lambda r: r.type != BUCKET_REPLICATION)
    found = violations(REPLICATED, resources, PROD)
    assert not any(b.name in f for b in others for f in found)


# -- replication: synthetic stores -----------------------------------------------------------------

STACK = "urn:pulumi:prod::courier-platform::"


def provider(cloud: str, region: str) -> Resource:
    return Resource(
        urn=f"{STACK}pulumi:providers:{cloud}::{region}",
        type=f"pulumi:providers:{cloud}",
        name=region,
        custom=True,
        parent=None,
        provider=None,
        region=region,
        protect=False,
        dependencies=[],
        inputs={"region": region},
    )


def store(
    resource_type: str, name: str, region: str, inputs: dict[str, Any] | None = None, **deps: Resource
) -> Resource:
    """A resource in ``region`` (its provider's), with inputs declared from ``deps``' outputs."""
    cloud = resource_type.split(":")[0]
    return Resource(
        urn=f"{STACK}{resource_type}::{name}",
        type=resource_type,
        name=name,
        custom=True,
        parent=None,
        provider=f"{STACK}pulumi:providers:{cloud}::{region}",
        region=region,
        protect=True,
        dependencies=[d.urn for d in deps.values()],
        inputs={**(inputs or {}), **{key: f"{d.name}-id" for key, d in deps.items()}},
        property_dependencies={key: [d.urn] for key, d in deps.items()},
    )


def with_providers(*resources: Resource) -> list[Resource]:
    clouds = {(r.type.split(":")[0], str(r.region)) for r in resources}
    return [provider(cloud, region) for cloud, region in sorted(clouds)] + list(resources)


RDS_INSTANCE = "aws:rds/instance:Instance"


def test_an_rds_instance_needs_a_cross_region_read_replica() -> None:
    source = store(RDS_INSTANCE, "orders-db", "ap-southeast-1", {"identifier": "orders-db"})
    replica = store(RDS_INSTANCE, "orders-db-replica", "ap-northeast-1", replicateSourceDb=source)
    assert violations(REPLICATED, with_providers(source, replica), PROD) == []
    [alone] = violations(REPLICATED, with_providers(source), PROD)
    assert "orders-db (ap-southeast-1) has no cross-region read replica" in alone
    nearby = store(RDS_INSTANCE, "orders-db-replica", "ap-southeast-1", replicateSourceDb=source)
    assert len(violations(REPLICATED, with_providers(source, nearby), PROD)) == 2
    # A literal source outside the stack, named by its ARN, is a copy in that region.
    literal = store(
        RDS_INSTANCE, "reports-db", "ap-northeast-1", {"replicateSourceDb": "arn:aws:rds:ap-southeast-1:1:db:x"}
    )
    assert violations(REPLICATED, with_providers(literal), PROD) == []


POLARDB = "alicloud:polardb/cluster:Cluster"
GDN = "alicloud:polardb/globalDatabaseNetwork:GlobalDatabaseNetwork"
DTS_JOB = "alicloud:dts/synchronizationJob:SynchronizationJob"
OSS_BUCKET = "alicloud:oss/bucket:Bucket"
OSS_REPLICATION = "alicloud:oss/bucketReplication:BucketReplication"
ALI_RDS = "alicloud:rds/instance:Instance"
DATA_TAGS = {"tags": {"service": "data", "environment": "prod", "owner": "team"}}


def synchronization(source: Resource, target: Resource, **inputs: Any) -> Resource:
    """DTS from ``source`` to ``target``, declared in the target's region as the program does."""
    settings = {
        "sourceEndpointRegion": source.region,
        "destinationEndpointRegion": target.region,
        "dataSynchronization": True,
        **inputs,
    }
    return store(
        DTS_JOB,
        f"{source.name}-sync",
        str(target.region),
        settings,
        sourceEndpointInstanceId=source,
        destinationEndpointInstanceId=target,
    )


@pytest.mark.parametrize("kind", [POLARDB, ALI_RDS])
def test_a_database_synchronized_to_another_mainland_china_region_is_replicated(kind: str) -> None:
    primary = store(kind, "cnhz-db", "cn-hangzhou", DATA_TAGS)
    replica = store(kind, "cnsh-db", "cn-shanghai", DATA_TAGS)
    assert violations(REPLICATED, with_providers(primary, replica, synchronization(primary, replica)), PROD) == []
    found = violations(REPLICATED, with_providers(primary, replica), PROD)
    assert len(found) == 2 and all("is not replicated to another mainland China region" in f for f in found)
    # A one-time migration (no continuous synchronization) is no replica.
    once = synchronization(primary, replica, dataSynchronization=False)
    assert len(violations(REPLICATED, with_providers(primary, replica, once), PROD)) == 2


@pytest.mark.parametrize("away", ["ap-southeast-1", "cn-hongkong"])
def test_rejects_a_china_database_copied_outside_mainland_china(away: str) -> None:
    primary = store(POLARDB, "cnhz-db", "cn-hangzhou", DATA_TAGS)
    abroad = store(POLARDB, "abroad-db", away, DATA_TAGS)
    found = violations(REPLICATED, with_providers(primary, abroad, synchronization(primary, abroad)), PROD)
    assert any(f"cnhz-db (cn-hangzhou) is copied to {away}, outside mainland China" in f for f in found)
    assert any("cnhz-db (cn-hangzhou) is not replicated to another mainland China region" in f for f in found)


def test_a_polardb_global_database_network_across_china_regions_is_replication() -> None:
    primary = store(POLARDB, "cnhz-db", "cn-hangzhou", DATA_TAGS)
    network = store(GDN, "courier-gdn", "cn-hangzhou", dbClusterId=primary)
    standby = store(
        POLARDB, "cnbj-db", "cn-beijing", {**DATA_TAGS, "creationOption": "CreateGdnStandby"}, gdnId=network
    )
    assert violations(REPLICATED, with_providers(primary, network, standby), PROD) == []
    found = violations(REPLICATED, with_providers(primary, network), PROD)
    assert len(found) == 1 and "cnhz-db (cn-hangzhou) is not replicated" in found[0]


def oss_pair(location: str, destination_region: str) -> list[Resource]:
    source = store(OSS_BUCKET, "cnhz-media", "cn-hangzhou", {**DATA_TAGS, "bucket": "prod-cnhz-media"})
    target = store(OSS_BUCKET, "cnsh-media", destination_region, {**DATA_TAGS, "bucket": "prod-cnsh-media"})
    replication = store(
        OSS_REPLICATION,
        "cnhz-media-replication",
        "cn-hangzhou",
        {"action": "ALL", "destination": {"bucket": "prod-cnsh-media", "location": location}},
        bucket=source,
        destination=target,
    )
    return with_providers(source, target, replication)


def test_an_oss_data_bucket_replicates_to_another_mainland_china_region() -> None:
    # The replica region's bucket receives the copy: it is the same store's replica.
    assert violations(REPLICATED, oss_pair("oss-cn-shanghai", "cn-shanghai"), PROD) == []
    found = violations(REPLICATED, oss_pair("oss-cn-hongkong", "cn-hongkong"), PROD)
    assert len(found) == 2 and all(f.startswith("cnhz-media (cn-hangzhou)") for f in found)
    assert "is copied to cn-hongkong, outside mainland China" in found[0]
    assert "is not replicated to another mainland China region" in found[1]
    lone = store(OSS_BUCKET, "cnhz-media", "cn-hangzhou", {**DATA_TAGS, "bucket": "prod-cnhz-media"})
    [found_lone] = violations(REPLICATED, with_providers(lone), PROD)
    assert "holds data (tag service: data) but is not replicated to another mainland China region" in found_lone
    logs = store(OSS_BUCKET, "cnhz-logs", "cn-hangzhou", {"tags": {"service": "shared"}})
    assert violations(REPLICATED, with_providers(logs), PROD) == []


def test_mainland_china_excludes_hong_kong() -> None:
    from guardrails.replication import mainland_china

    assert mainland_china("cn-shanghai") and mainland_china("cn-wulanchabu")
    assert not mainland_china("cn-hongkong") and not mainland_china("ap-southeast-1")


# -- encryption, recovery and protection of the stores -------------------------------------------


def on_primary(change: Callable[[Resource], None]) -> Callable[[Resource], None]:
    """A change to a Global Datastore's primary (its secondaries are passed over)."""

    def changed(resource: Resource) -> None:
        if "globalReplicationGroupId" in resource.inputs:
            raise KeyError("a secondary")
        change(resource)

    return changed


def protect(value: bool) -> Callable[[Resource], None]:
    def change(resource: Resource) -> None:
        resource.protect = value

    return change


# (policy, resource type, mutation, message expected): the prod Plan is each one's compliant case.
CASES: list[tuple[str, str, Callable[[Resource], None], str]] = [
    (
        "aws-dynamodb-table-point-in-time-recovery",
        TABLE,
        at("pointInTimeRecovery", "enabled", value=False),
        "set pointInTimeRecovery.enabled to true",
    ),
    (
        "aws-dynamodb-table-point-in-time-recovery",
        TABLE_REPLICA,
        at("pointInTimeRecovery", value=False),
        "cannot be restored to a point in time",
    ),
    ("aws-dynamodb-table-encrypted", TABLE, at("serverSideEncryption", "enabled", value=False), "key DynamoDB owns"),
    (
        "aws-elasticache-replication-group-encrypted",
        CACHE,
        on_primary(at("transitEncryptionEnabled", value=False)),
        "(transitEncryptionEnabled not set); set transitEncryptionEnabled to true",
    ),
    (
        "aws-elasticache-replication-group-encrypted",
        CACHE,
        on_primary(at("atRestEncryptionEnabled", value=False)),
        "(atRestEncryptionEnabled not set)",
    ),
    (
        "aws-s3-bucket-public-access-block",
        PUBLIC_ACCESS_BLOCK,
        at("restrictPublicBuckets", value=False),
        "restrictPublicBuckets off",
    ),
    ("aws-resource-required-tags", TABLE, at("tags", value={"service": "data"}), "lacks tag(s) environment, owner"),
    # The database policies were written before the data tier: they hold for its Aurora clusters.
    ("aws-rds-encrypted", CLUSTER, at("storageEncrypted", value=False), "stores data unencrypted"),
    ("aws-rds-deletion-protection", CLUSTER, at("deletionProtection", value=False), "set deletionProtection"),
    ("aws-rds-backup-retention", CLUSTER, at("backupRetentionPeriod", value=3), "keeps 3 days of backups"),
    ("aws-rds-final-snapshot", CLUSTER, at("skipFinalSnapshot", value=True), "without a final snapshot"),
    ("aws-rds-protected", CLUSTER, protect(False), "is not protected"),
]


@pytest.mark.parametrize(
    ("policy", "resource_type", "mutation", "expected"), CASES, ids=[f"{c[0]}:{c[3][:30]}" for c in CASES]
)
def test_one_mutation_one_violation(prod: Plan, policy: str, resource_type: str, mutation, expected: str) -> None:
    assert violations(policy, prod.resources) == []
    found = violations(policy, mutate(prod, resource_type, mutation))
    assert len(found) == 1 and expected in found[0], found


def test_a_global_datastore_secondary_takes_its_encryption_from_the_primary(prod: Plan) -> None:
    secondaries = [r for r in of(prod, CACHE) if "globalReplicationGroupId" in r.inputs]
    assert secondaries and all("atRestEncryptionEnabled" not in r.inputs for r in secondaries)
    assert violations("aws-elasticache-replication-group-encrypted", secondaries) == []


def test_rejects_a_bucket_without_a_public_access_block(prod: Plan) -> None:
    block = of(prod, PUBLIC_ACCESS_BLOCK)[0]
    [found] = violations("aws-s3-bucket-public-access-block", without(prod, lambda r: r.urn != block.urn))
    assert "has no public access block; declare an s3.BucketPublicAccessBlock" in found


NEW = {
    REPLICATED,
    "aws-dynamodb-table-point-in-time-recovery",
    "aws-dynamodb-table-encrypted",
    "aws-elasticache-replication-group-encrypted",
    "aws-s3-bucket-public-access-block",
}


def test_each_new_policy_has_a_failing_case_here() -> None:
    assert {c[0] for c in CASES} | {REPLICATED} >= NEW


def as_in_preview(plan: Plan) -> list[Resource]:
    """The plan as `pulumi preview` sends it: every string computed from another resource's
    outputs (a name, an ID, an ARN) unknown."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    resources = copy.deepcopy(plan.resources)
    for resource in resources:
        for key, urns in resource.property_dependencies.items():
            value = resource.inputs.get(key)
            if urns and isinstance(value, str):
                resource.inputs[key] = UNKNOWN_STRING_VALUE
            elif urns and isinstance(value, list) and all(isinstance(v, str) for v in value):
                resource.inputs[key] = [UNKNOWN_STRING_VALUE for _ in value]
    return resources


@pytest.mark.parametrize("policy", sorted(NEW))
def test_relationships_are_followed_through_dependencies_during_preview(prod: Plan, policy: str) -> None:
    # Secondaries join their global database, table and datastore through computed IDs.
    assert violations(policy, as_in_preview(prod), PROD if policy == REPLICATED else None) == []
