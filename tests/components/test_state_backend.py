"""StateBackend: the Pulumi state buckets, in two regions replicating both ways, and the
bootstrap project that creates them."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
import yaml

from components.aws.state_backend import StateBackend, StateBackendArgs, validate
from courier.engine import run_program
from courier.plan import Plan, Resource, build_plan
from tests.conftest import ROOT, SHIPPED_STACKS

HOME, REPLICA = "us-west-2", "us-east-2"
BOTH = sorted([HOME, REPLICA])
ACCOUNT = "123456789012"
HOME_BUCKET = f"courier-platform-state-{ACCOUNT}"
REPLICA_BUCKET = f"courier-platform-state-{ACCOUNT}-{REPLICA}"
TAGS = {"project": "courier-platform", "service": "pulumi-state", "owner": "courier-platform-team"}
BOOTSTRAP = ROOT / "bootstrap" / "state-backend"

BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"


def args(**change: Any) -> StateBackendArgs:
    base = StateBackendArgs(
        bucket_prefix="courier-platform-state",
        account_id=ACCOUNT,
        home_region=HOME,
        home_provider=None,  # type: ignore[arg-type]  # validate() never reads the providers
        replica_region=REPLICA,
        replica_provider=None,  # type: ignore[arg-type]
        tags=TAGS,
    )
    return dataclasses.replace(base, **change)


def declare(noncurrent_days: int = 365):
    def program() -> None:
        home = aws.Provider("aws-home", region=HOME)
        replica = aws.Provider("aws-replica", region=REPLICA)
        backend = StateBackend(
            "state",
            StateBackendArgs(
                bucket_prefix="courier-platform-state",
                account_id=ACCOUNT,
                home_region=HOME,
                home_provider=home,
                replica_region=REPLICA,
                replica_provider=replica,
                tags=TAGS,
                noncurrent_days=noncurrent_days,
            ),
        )
        pulumi.export("homeUrl", backend.home_url)
        pulumi.export("replicaUrl", backend.replica_url)

    return program


@pytest.fixture
def plan(run_components) -> Plan:
    return run_components(declare())


def in_region(plan: Plan, resource_type: str, region: str) -> Resource:
    (found,) = [r for r in plan.of_type(resource_type) if r.region == region]
    return found


def regions(resources: Iterable[Resource]) -> list[str]:
    return sorted(str(r.region) for r in resources)


def bucket_of(plan: Plan, resource: Resource) -> Resource:
    """The bucket a bucket-level configuration applies to (through its ``bucket`` input)."""
    (urn,) = resource.property_dependencies["bucket"]
    return plan.by_urn(urn)


def test_buckets_live_in_the_home_and_replica_regions_protected(plan: Plan) -> None:
    buckets = {r.region: r for r in plan.of_type(BUCKET)}
    assert {region: b.inputs["bucket"] for region, b in buckets.items()} == {
        HOME: HOME_BUCKET,
        REPLICA: REPLICA_BUCKET,
    }
    for bucket in buckets.values():
        assert bucket.protect is True
        assert bucket.inputs["forceDestroy"] is False
    assert {b.name for b in buckets.values()} == {"state-home", "state-replica"}


def test_each_region_has_a_protected_rotated_key_with_an_alias(plan: Plan) -> None:
    keys = plan.of_type(KEY)
    assert regions(keys) == BOTH
    for key in keys:
        assert key.protect is True
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == 30
    aliases = plan.of_type("aws:kms/alias:Alias")
    assert sorted((a.region, a.inputs["name"]) for a in aliases) == [
        (REPLICA, "alias/courier-platform-state"),
        (HOME, "alias/courier-platform-state"),
    ]


def test_both_buckets_are_versioned(plan: Plan) -> None:
    versionings = plan.of_type(VERSIONING)
    assert len(versionings) == 2
    for versioning in versionings:
        assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
        assert bucket_of(plan, versioning).region == versioning.region


def test_each_bucket_is_encrypted_with_its_own_regions_key(plan: Plan) -> None:
    configs = plan.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert len(configs) == 2
    for config in configs:
        ((rule),) = config.inputs["rules"]
        default = rule["applyServerSideEncryptionByDefault"]
        assert default["sseAlgorithm"] == "aws:kms"
        assert default["kmsMasterKeyId"].startswith(f"arn:aws:kms:{config.region}:{ACCOUNT}:key/")
        (key_urn,) = config.property_dependencies["rules"]
        assert plan.by_urn(key_urn).type == KEY and plan.by_urn(key_urn).region == config.region
        assert rule["bucketKeyEnabled"] is True
        assert bucket_of(plan, config).region == config.region


def test_nothing_is_public_and_ownership_is_enforced(plan: Plan) -> None:
    blocks = plan.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert regions(blocks) == BOTH
    for block in blocks:
        for setting in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
            assert block.inputs[setting] is True, setting
    for ownership in plan.of_type("aws:s3/bucketOwnershipControls:BucketOwnershipControls"):
        assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_bucket_policies_refuse_requests_without_tls(plan: Plan) -> None:
    policies = {r.region: json.loads(r.inputs["policy"]) for r in plan.of_type("aws:s3/bucketPolicy:BucketPolicy")}
    for region, name in ((HOME, HOME_BUCKET), (REPLICA, REPLICA_BUCKET)):
        (statement,) = policies[region]["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert statement["Resource"] == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]


def test_lifecycle_expires_old_checkpoints_and_abandoned_uploads(run_components) -> None:
    plan = run_components(declare(noncurrent_days=90))
    lifecycles = plan.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert len(lifecycles) == 2
    for lifecycle in lifecycles:
        (rule,) = lifecycle.inputs["rules"]
        assert rule["status"] == "Enabled"
        assert rule["filter"] == {"prefix": ""}
        assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
        assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
        assert rule["expiration"] == {"expiredObjectDeleteMarker": True}
        # Lifecycle rules on a versioned bucket wait for versioning.
        assert any(plan.by_urn(d).type == VERSIONING for d in lifecycle.dependencies)


def test_replicates_both_ways_with_rtc_delete_markers_and_the_destinations_key(plan: Plan) -> None:
    directions = {HOME: (REPLICA, REPLICA_BUCKET), REPLICA: (HOME, HOME_BUCKET)}
    configs = plan.of_type(REPLICATION)
    assert regions(configs) == BOTH
    for config in configs:
        target_region, target_bucket = directions[str(config.region)]
        assert bucket_of(plan, config).region == config.region
        (rule,) = config.inputs["rules"]
        assert rule["id"] == f"to-{target_region}"
        assert rule["status"] == "Enabled"
        assert rule["filter"] == {"prefix": ""}
        assert rule["deleteMarkerReplication"] == {"status": "Enabled"}
        assert rule["sourceSelectionCriteria"] == {
            "sseKmsEncryptedObjects": {"status": "Enabled"},
            "replicaModifications": {"status": "Enabled"},
        }
        destination = rule["destination"]
        assert destination["bucket"] == f"arn:aws:s3:::{target_bucket}"
        assert destination["encryptionConfiguration"]["replicaKmsKeyId"].startswith(
            f"arn:aws:kms:{target_region}:{ACCOUNT}:key/"
        )
        assert destination["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
        assert destination["metrics"] == {"status": "Enabled", "eventThreshold": {"minutes": 15}}


def test_replication_waits_for_both_versionings_and_its_policy(plan: Plan) -> None:
    for config in plan.of_type(REPLICATION):
        waits_for = [plan.by_urn(d) for d in config.dependencies]
        assert regions(r for r in waits_for if r.type == VERSIONING) == BOTH
        assert [r.region for r in waits_for if r.type == ROLE_POLICY] == [config.region]


def test_replication_roles_trust_s3_and_name_only_the_two_buckets_and_keys(plan: Plan) -> None:
    # The keys' ARNs, as the buckets' default encryption names them.
    key_arns = {
        c.region: c.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"]
        for c in plan.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    }
    roles = {r.region: r for r in plan.of_type(ROLE)}
    assert {region: role.inputs["name"] for region, role in roles.items()} == {
        HOME: f"courier-platform-state-replicate-to-{REPLICA}",
        REPLICA: f"courier-platform-state-replicate-to-{HOME}",
    }
    for role in roles.values():
        trust = json.loads(role.inputs["assumeRolePolicy"])
        assert trust["Statement"] == [
            {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
    names = {HOME: HOME_BUCKET, REPLICA: REPLICA_BUCKET}
    for policy in plan.of_type(ROLE_POLICY):
        source = str(policy.region)
        target = REPLICA if source == HOME else HOME
        source_arn, target_arn = f"arn:aws:s3:::{names[source]}", f"arn:aws:s3:::{names[target]}"
        statements = json.loads(policy.inputs["policy"])["Statement"]
        resources: set[str] = set()
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert "*" not in json.dumps(statement["Action"])
            named = statement["Resource"]
            resources.update([named] if isinstance(named, str) else named)
        # Only the two buckets (the source's versions, the destination's objects) and the two keys.
        assert resources == {source_arn, f"{source_arn}/*", f"{target_arn}/*", *key_arns.values()}
        by_action = {json.dumps(s["Action"]): s for s in statements}
        decrypt, encrypt = by_action['"kms:Decrypt"'], by_action['"kms:Encrypt"']
        assert decrypt["Resource"] == key_arns[source]
        assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{source}.amazonaws.com"}}
        assert encrypt["Resource"] == key_arns[target]
        assert encrypt["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{target}.amazonaws.com"}}
        # Reads only from its source, writes only into its destination.
        writes = by_action[json.dumps(["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"])]
        assert writes["Resource"] == f"{target_arn}/*"
        reads = by_action[
            json.dumps(["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"])
        ]
        assert reads["Resource"] == f"{source_arn}/*"


def test_every_child_is_parented_tagged_and_in_a_region(plan: Plan) -> None:
    (component,) = plan.of_type("courier:aws:StateBackend")
    children = plan.children(component.urn)
    assert len(children) == 24
    for child in children:
        assert child.region in (HOME, REPLICA), child.name
        assert child.provider is not None, child.name
        if "tags" in child.inputs:
            assert child.inputs["tags"] == TAGS, child.name
    assert {c.type for c in children if "tags" in c.inputs} == {KEY, BUCKET, ROLE}


def test_exports_the_diy_backend_urls(plan: Plan) -> None:
    assert plan.outputs == {
        "homeUrl": f"s3://{HOME_BUCKET}?region={HOME}&awssdk=v2",
        "replicaUrl": f"s3://{REPLICA_BUCKET}?region={REPLICA}&awssdk=v2",
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bucket_prefix": "Courier_State"}, "StateBackendArgs.bucket_prefix: 'Courier_State' is not"),
        ({"bucket_prefix": "a--b"}, "StateBackendArgs.bucket_prefix: 'a--b' is not"),
        ({"bucket_prefix": "x" * 41}, "makes a 64-character replica bucket name; S3 allows 63"),
        ({"home_region": "oregon"}, "StateBackendArgs.home_region: 'oregon' is not an AWS region"),
        ({"replica_region": HOME}, "StateBackendArgs.replica_region: must differ from home_region"),
        ({"noncurrent_days": 0}, "StateBackendArgs.noncurrent_days: 0 must be at least 1"),
    ],
)
def test_rejects_inputs_s3_and_iam_refuse(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate(args(**change))
    validate(args())


def test_rejects_bad_inputs_before_declaring_anything(run_components) -> None:
    def program() -> None:
        provider = aws.Provider("aws-home", region=HOME)
        StateBackend("state", args(replica_region=HOME, home_provider=provider, replica_provider=provider))

    with pytest.raises(Exception, match="must differ from home_region"):
        run_components(program)


def stack_config() -> dict[str, str]:
    config = yaml.safe_load((BOOTSTRAP / "Pulumi.state.yaml").read_text(encoding="utf-8"))["config"]
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}


def test_the_bootstrap_project_builds_the_backend_with_its_stack_config() -> None:
    project = yaml.safe_load((BOOTSTRAP / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert project["name"] == "courier-platform-state"
    assert project["backend"]["url"].startswith("file://")
    config = stack_config()
    assert config["pulumi:disable-default-providers"] == '["*"]'
    recording = run_program(BOOTSTRAP, project=project["name"], stack="state", config=config)
    plan = build_plan(project["name"], "state", recording)
    assert plan.outputs == {
        "homeUrl": f"s3://{HOME_BUCKET}?region={HOME}&awssdk=v2",
        "replicaUrl": f"s3://{REPLICA_BUCKET}?region={REPLICA}&awssdk=v2",
    }
    # Every resource goes through an explicit provider (default providers are disabled).
    for resource in plan.resources:
        if resource.custom and not resource.type.startswith("pulumi:providers:"):
            assert resource.provider is not None and "default" not in resource.provider, resource.name


def test_the_state_lives_outside_every_serving_region() -> None:
    config = stack_config()
    state_regions = {config["courier-platform-state:homeRegion"], config["courier-platform-state:replicaRegion"]}
    assert state_regions == {HOME, REPLICA}
    serving: set[str] = set()
    for stack in SHIPPED_STACKS:
        text = (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
        for region in yaml.safe_load(text)["config"]["courier:regions"]:
            serving.add(region["name"])
            if region.get("dataReplica"):
                serving.add(region["dataReplica"]["name"])
    assert serving and not serving & state_regions
