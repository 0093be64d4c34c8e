"""Mainland China's data tier (components.alicloud.data): PolarDB for PostgreSQL and OSS in the
primary Alibaba Cloud region, replicated by DTS, cross-region backups and OSS replication to a
second region in mainland China."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_alicloud as ali
import pulumi_random as random
import pytest

from components import catalog
from components.alicloud.data import AlicloudData, AlicloudDataArgs, bucket_name
from courier import invokes
from courier.plan import Plan, Resource

PRIMARY, REPLICA = "cn-hangzhou", "cn-shanghai"
DOMAIN = "courier.example.com"
TAGS = {"project": "courier-platform", "environment": "prod", "owner": "platform", "service": "shared"}

CLUSTER = "alicloud:polardb/cluster:Cluster"
DATABASE = "alicloud:polardb/database:Database"
BACKUPS = "alicloud:polardb/backupPolicy:BackupPolicy"
KEY = "alicloud:kms/key:Key"
BUCKET = "alicloud:oss/bucket:Bucket"
REPLICATION = "alicloud:oss/bucketReplication:BucketReplication"
SYNC_JOB = "alicloud:dts/synchronizationJob:SynchronizationJob"
SYNC_INSTANCE = "alicloud:dts/synchronizationInstance:SynchronizationInstance"


def declare(stack: str = "prod", protect: bool = True, **extra: Any):
    def program() -> None:
        primary = ali.Provider("alicloud-cnhz", region=PRIMARY)
        replica = ali.Provider("alicloud-cnsh", region=REPLICA)
        fields: dict[str, Any] = {
            "stack": stack,
            "region": PRIMARY,
            "region_code": "cnhz",
            "provider": primary,
            "vpc_id": "vpc-primary",
            "vpc_cidr": "10.40.0.0/16",
            "app_vswitch_ids": ["vsw-primary-h", "vsw-primary-i"],
            "zones": ("cn-hangzhou-h", "cn-hangzhou-i"),
            "replica_region": REPLICA,
            "replica_region_code": "cnsh",
            "replica_provider": replica,
            "replica_zones": ("cn-shanghai-e", "cn-shanghai-f"),
            "replica_cidr": "10.41.0.0/16",
            "account_id": invokes.ALICLOUD_ACCOUNT_ID,
            "random_provider": random.Provider("random"),
            "domain": DOMAIN,
            "deletion_protection": protect,
            "protect": protect,
            "tags": TAGS,
            **extra,
        }
        data = AlicloudData("cnhz-data", AlicloudDataArgs(**fields))
        pulumi.export("bucket", data.bucket_name)
        pulumi.export("replicaBucket", data.replica_bucket_name)

    return program


def _named(plan: Plan, resource_type: str) -> dict[str, Resource]:
    return {r.name: r for r in plan.of_type(resource_type)}


def _from(resource: Resource, key: str) -> list[str]:
    """The URNs of the resources the input ``key`` was computed from."""
    return resource.property_dependencies.get(key, [])


def test_primary_stores_stay_in_the_primary_region_and_replicas_in_the_replica_region(run_components) -> None:
    plan = run_components(declare())
    (component,) = plan.of_type("courier:alicloud:Data")
    for resource_type in (CLUSTER, DATABASE, BACKUPS, KEY, BUCKET):
        found = _named(plan, resource_type)
        assert set(found) == {n for n in found if n.startswith("cnhz-data-")} and len(found) == 2
        primary = next(r for n, r in found.items() if "-replica-" not in n)
        replica = next(r for n, r in found.items() if "-replica-" in n)
        assert (primary.region, replica.region) == (PRIMARY, REPLICA), resource_type
        assert primary.parent == replica.parent == component.urn
    (vpc,) = plan.of_type("alicloud:vpc/network:Network")
    switches = plan.of_type("alicloud:vpc/switch:Switch")
    assert vpc.region == REPLICA and vpc.inputs["cidrBlock"] == "10.41.0.0/16"
    assert sorted(s.inputs["zoneId"] for s in switches) == ["cn-shanghai-e", "cn-shanghai-f"]
    assert all(s.region == REPLICA and _from(s, "vpcId") == [vpc.urn] for s in switches)
    # PIPL: every Alibaba Cloud resource is in a mainland China region.
    regions = {r.region for r in plan.resources if r.type.startswith("alicloud:")}
    assert regions == {PRIMARY, REPLICA}
    countries = {info.country for r in regions if r and (info := catalog.region("alicloud", r)) is not None}
    assert countries == {"CN"}


def test_clusters_are_encrypted_private_postgresql_in_their_own_networks(run_components) -> None:
    plan = run_components(declare())
    clusters = _named(plan, CLUSTER)
    primary, replica = clusters["cnhz-data-db"], clusters["cnhz-data-replica-db"]
    for cluster, cidr in ((primary, "10.40.0.0/16"), (replica, "10.41.0.0/16")):
        inputs = cluster.inputs
        assert (inputs["dbType"], inputs["dbVersion"], inputs["creationCategory"]) == ("PostgreSQL", "16", "Normal")
        assert inputs["tdeStatus"] == "Enabled" and inputs["payType"] == "PostPaid" and inputs["storageType"] == "PSL5"
        assert inputs["dbClusterIpArrays"] == [
            {"dbClusterIpArrayName": "default", "securityIps": [cidr], "modifyMode": "Cover"}
        ]
        assert {"name": "wal_level", "value": "logical"} in inputs["parameters"]
        assert inputs["hotStandbyCluster"] == "ON" and inputs["standbyAz"] != inputs["zoneId"]
        assert inputs["tags"]["service"] == "data" and inputs["tags"]["environment"] == "prod"
    assert (primary.inputs["vswitchId"], primary.inputs["zoneId"]) == ("vsw-primary-h", "cn-hangzhou-h")
    (switch,) = [s for s in plan.of_type("alicloud:vpc/switch:Switch") if s.inputs["zoneId"] == "cn-shanghai-e"]
    assert _from(replica, "vswitchId") == [switch.urn] and replica.inputs["zoneId"] == "cn-shanghai-e"


def test_dts_synchronizes_the_primary_cluster_into_the_replica_cluster(run_components) -> None:
    plan = run_components(declare())
    clusters = _named(plan, CLUSTER)
    (job,) = plan.of_type(SYNC_JOB)
    (instance,) = plan.of_type(SYNC_INSTANCE)
    assert _from(job, "sourceEndpointInstanceId") == [clusters["cnhz-data-db"].urn]
    assert _from(job, "destinationEndpointInstanceId") == [clusters["cnhz-data-replica-db"].urn]
    assert _from(job, "dtsInstanceId") == [instance.urn]
    inputs = job.inputs
    assert (inputs["sourceEndpointRegion"], inputs["destinationEndpointRegion"]) == (PRIMARY, REPLICA)
    assert inputs["sourceEndpointEngineName"] == inputs["destinationEndpointEngineName"] == "POLARDB_PG"
    assert inputs["sourceEndpointDatabaseName"] == inputs["destinationEndpointDatabaseName"] == "courier"
    assert json.loads(inputs["dbList"]) == {"public": {"name": "public", "all": True}}
    assert inputs["structureInitialization"] and inputs["dataInitialization"] and inputs["dataSynchronization"]
    assert inputs["status"] == "Synchronizing"
    assert (instance.inputs["sourceEndpointRegion"], instance.inputs["destinationEndpointRegion"]) == (PRIMARY, REPLICA)
    assert instance.inputs["syncArchitecture"] == "oneway"
    # The task runs in the destination region, once both databases and their owners exist.
    assert job.region == instance.region == REPLICA
    assert {d.urn for d in plan.of_type(DATABASE)} <= set(job.dependencies)
    # No phones, no DTS alarms.
    assert not plan.of_type("alicloud:dts/jobMonitorRule:JobMonitorRule")


def test_lag_and_failure_call_the_given_phones(run_components) -> None:
    plan = run_components(declare(alarm_phones=("13800000000", "13900000000"), lag_alarm_seconds=15))
    (job,) = plan.of_type(SYNC_JOB)
    rules = {r.inputs["type"]: r for r in plan.of_type("alicloud:dts/jobMonitorRule:JobMonitorRule")}
    assert set(rules) == {"delay", "error"} and rules["delay"].inputs["delayRuleTime"] == "15"
    assert all(
        _from(r, "dtsJobId") == [job.urn] and r.inputs["phone"] == "13800000000,13900000000" for r in rules.values()
    )


def test_backups_are_kept_a_week_and_copied_to_the_replica_region(run_components) -> None:
    plan = run_components(declare())
    policies = _named(plan, BACKUPS)
    primary = policies["cnhz-data-db"].inputs
    assert primary["dataLevel1BackupRetentionPeriod"] >= 7 and primary["logBackupRetentionPeriod"] >= 7
    assert len(primary["preferredBackupPeriods"]) == 7
    assert primary["dataLevel2BackupAnotherRegionRegion"] == primary["logBackupAnotherRegionRegion"] == REPLICA
    assert primary["dataLevel2BackupAnotherRegionRetentionPeriod"] >= 30
    replica = policies["cnhz-data-replica-db"].inputs
    assert replica["dataLevel1BackupRetentionPeriod"] >= 7 and "logBackupAnotherRegionRegion" not in replica


def test_buckets_are_versioned_private_and_encrypted_with_their_own_regions_key(run_components) -> None:
    plan = run_components(declare())
    keys = _named(plan, KEY)
    buckets = _named(plan, BUCKET)
    for bucket_key, key_key in (
        ("cnhz-data-media", "cnhz-data-data"),
        ("cnhz-data-replica-media", "cnhz-data-replica-data"),
    ):
        bucket, key = buckets[bucket_key], keys[key_key]
        assert bucket.region == key.region
        assert bucket.inputs["versioning"] == {"status": "Enabled"}
        assert bucket.inputs["serverSideEncryptionRule"]["sseAlgorithm"] == "KMS"
        assert _from(bucket, "serverSideEncryptionRule") == [key.urn]
        assert bucket.inputs["redundancyType"] == "ZRS" and bucket.inputs["forceDestroy"] is False
        assert key.inputs["automaticRotation"] == "Enabled"
        (acl,) = [a for a in plan.of_type("alicloud:oss/bucketAcl:BucketAcl") if _from(a, "bucket") == [bucket.urn]]
        (block,) = [
            b
            for b in plan.of_type("alicloud:oss/bucketPublicAccessBlock:BucketPublicAccessBlock")
            if _from(b, "bucket") == [bucket.urn]
        ]
        assert acl.inputs["acl"] == "private" and block.inputs["blockPublicAccess"] is True
        assert acl.region == block.region == bucket.region
    assert plan.outputs == {
        "bucket": bucket_name("prod", "cnhz", DOMAIN),
        "replicaBucket": bucket_name("prod", "cnsh", DOMAIN),
    }


def test_media_replicates_everything_to_the_replica_bucket_with_rtc(run_components) -> None:
    plan = run_components(declare())
    buckets, keys = _named(plan, BUCKET), _named(plan, KEY)
    (replication,) = plan.of_type(REPLICATION)
    (role,) = plan.of_type("alicloud:ram/role:Role")
    inputs = replication.inputs
    assert replication.region == PRIMARY
    assert _from(replication, "bucket") == [buckets["cnhz-data-media"].urn]
    assert _from(replication, "destination") == [buckets["cnhz-data-replica-media"].urn]
    assert inputs["destination"] == {"bucket": bucket_name("prod", "cnsh", DOMAIN), "location": f"oss-{REPLICA}"}
    assert inputs["rtc"] == {"enabled": True}
    assert (inputs["action"], inputs["historicalObjectReplication"]) == ("ALL", "enabled")
    assert inputs["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
    assert _from(replication, "encryptionConfiguration") == [keys["cnhz-data-replica-data"].urn]
    assert _from(replication, "syncRole") == [role.urn]
    (attachment,) = plan.of_type("alicloud:ram/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.urn in replication.dependencies


def test_only_oss_may_assume_the_replication_role_and_only_for_the_two_buckets(run_components) -> None:
    plan = run_components(declare())
    (role,) = plan.of_type("alicloud:ram/role:Role")
    (policy,) = plan.of_type("alicloud:ram/policy:Policy")
    trust = json.loads(role.inputs["assumeRolePolicyDocument"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": ["oss.aliyuncs.com"]}]
    statements = json.loads(policy.inputs["policyDocument"])["Statement"]
    account = invokes.ALICLOUD_ACCOUNT_ID
    source, target = bucket_name("prod", "cnhz", DOMAIN), bucket_name("prod", "cnsh", DOMAIN)
    granted: dict[str, set[str]] = {}
    for statement in statements:
        for action in statement["Action"]:
            granted.setdefault(action, set()).update(statement["Resource"])
    assert (
        granted["oss:ReplicatePut"]
        == granted["oss:ReplicateDelete"]
        == {
            f"acs:oss:*:{account}:{target}",
            f"acs:oss:*:{account}:{target}/*",
        }
    )
    assert granted["oss:ReplicateGet"] == {f"acs:oss:*:{account}:{b}{s}" for b in (source, target) for s in ("", "/*")}
    (decrypt,) = granted["kms:Decrypt"]
    (encrypt,) = granted["kms:GenerateDataKey"]
    assert decrypt.startswith(f"acs:kms:{PRIMARY}:{account}:key/") and encrypt.startswith(f"acs:kms:{REPLICA}:")
    assert all(s["Effect"] == "Allow" and "*" not in s["Action"] for s in statements)


def test_prod_protects_and_locks_every_stateful_resource(run_components) -> None:
    plan = run_components(declare())
    for resource_type in (CLUSTER, DATABASE, KEY, BUCKET):
        assert all(r.protect for r in plan.of_type(resource_type)), resource_type
    assert all(c.inputs["deletionLock"] == 1 for c in plan.of_type(CLUSTER))
    assert all(c.inputs["backupRetentionPolicyOnClusterDeletion"] == "ALL" for c in plan.of_type(CLUSTER))
    assert all(k.inputs["deletionProtection"] == "Enabled" for k in plan.of_type(KEY))


def test_dev_leaves_stores_unprotected_and_single_zone(run_components) -> None:
    plan = run_components(declare(stack="dev", protect=False, multi_zone=False))
    assert not any(r.protect for r in plan.resources)
    assert all(c.inputs["deletionLock"] == 0 and c.inputs["hotStandbyCluster"] == "OFF" for c in plan.of_type(CLUSTER))
    assert all("standbyAz" not in c.inputs for c in plan.of_type(CLUSTER))
    assert all(b.inputs["redundancyType"] == "LRS" for b in plan.of_type(BUCKET))
    assert all(k.inputs["deletionProtection"] == "Disabled" for k in plan.of_type(KEY))
    # Replication does not depend on the environment.
    assert plan.of_type(REPLICATION)[0].inputs["rtc"] == {"enabled": True} and plan.of_type(SYNC_JOB)


def test_names_start_with_the_stack_and_region(run_components) -> None:
    plan = run_components(declare())
    clusters = _named(plan, CLUSTER)
    assert clusters["cnhz-data-db"].inputs["description"].startswith("prod_cnhz-")
    assert clusters["cnhz-data-replica-db"].inputs["description"].startswith("prod_cnsh-")
    assert plan.of_type("alicloud:vpc/network:Network")[0].inputs["vpcName"].startswith("prod_cnsh-")
    assert all(s.inputs["vswitchName"].startswith("prod_cnsh-") for s in plan.of_type("alicloud:vpc/switch:Switch"))
    assert plan.of_type(SYNC_JOB)[0].inputs["dtsJobName"].startswith("prod_cnhz-")
    assert plan.of_type("alicloud:ram/role:Role")[0].inputs["roleName"].startswith("prod-cnhz-")
    assert {b.inputs["bucket"] for b in plan.of_type(BUCKET)} == {
        bucket_name("prod", "cnhz", DOMAIN),
        bucket_name("prod", "cnsh", DOMAIN),
    }
    assert bucket_name("prod", "cnhz", DOMAIN).startswith("prod-cnhz-media-")
    assert bucket_name("Prod.Team", "cnhz", DOMAIN) == bucket_name("Prod.Team", "cnhz", DOMAIN).lower()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"replica_region": "cn-hongkong", "replica_region_code": "cnhk"}, "same country as cn-hangzhou"),
        ({"replica_region": "ap-southeast-1", "replica_region_code": "alsg"}, "same country as cn-hangzhou"),
        ({"replica_region": PRIMARY, "replica_region_code": "cnhz"}, "another Alibaba Cloud region"),
        ({"engine_version": "11"}, "engine_version"),
        ({"backup_retention_days": 30}, "backup_retention_days"),
        ({"cross_region_backup_days": 7}, "cross_region_backup_days"),
        ({"zones": ("cn-hangzhou-h",)}, "one zone per app vSwitch"),
    ],
)
def test_rejects_bad_arguments(run_components, override: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=message):
        run_components(declare(**override))
