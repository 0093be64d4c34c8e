"""Marking a region lost: every resource of it stays declared with the same inputs and is never
changed by the engine, nothing protected anywhere is deleted, the region leaves DNS, and the
program asks nothing of its API. And the Aurora drift guard: after a switch, no cluster of the
global database is redeclared in a way that would detach, promote or replace it."""

from __future__ import annotations

import io

import pytest
import yaml
from rich.console import Console

from components.aws.fleet import KEPT_IMAGE
from courier import compare
from courier.cli import make_plan
from courier.dr import config
from courier.plan import Plan
from tests.conftest import AS_OF, ROOT, StackPlans

LOST = "ap-southeast-1"
CLUSTER = "aws:rds/cluster:Cluster"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
#: Computed from the region's own API (the AMI by name), which is down: declared as a marker,
#: and the engine keeps the recorded value (ignore_changes "*").
LOOKUPS = {(LAUNCH_TEMPLATE, "imageId")}
#: Inputs the real provider replaces a cluster on (terraform-provider-aws rds/cluster.go ForceNew).
CLUSTER_FORCE_NEW = (
    "clusterIdentifier",
    "engine",
    "masterUsername",
    "databaseName",
    "kmsKeyId",
    "storageEncrypted",
    "dbSubnetGroupName",
    "availabilityZones",
    "snapshotIdentifier",
)


@pytest.fixture(scope="module")
def lost_plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    """prod with its primary lost and nothing rebuilt (the promotion is part of marking it)."""
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    document["config"] = config.lose(document["config"], LOST).config
    path = tmp_path_factory.mktemp("lost") / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return make_plan("prod", path, AS_OF)


def of_region(plan: Plan, region: str) -> dict[str, object]:
    return {r.urn: r for r in plan.resources if r.region == region and not r.type.startswith("pulumi:providers:")}


def test_every_resource_of_the_lost_region_stays_declared_with_the_same_inputs(
    stack_plans: StackPlans, lost_plan: Plan
) -> None:
    before, after = of_region(stack_plans["prod"], LOST), {r.urn: r for r in lost_plan.resources}
    assert len(before) > 300
    assert set(before) <= set(after)
    changed = []
    for urn, resource in before.items():
        kept = after[urn]
        assert kept.protect == resource.protect, urn
        for key in set(resource.inputs) | set(kept.inputs):
            if resource.inputs.get(key) != kept.inputs.get(key):
                changed.append((resource.type, key))
                assert (resource.type, key) in LOOKUPS, (urn, key)
    assert {key for _, key in changed} == {"imageId"}
    fleets = [r for r in lost_plan.of_type(LAUNCH_TEMPLATE) if r.region == LOST and "imageId" in r.inputs]
    assert len(fleets) == 4 and all(t.inputs["imageId"] == KEPT_IMAGE for t in fleets)


def test_the_engine_may_change_nothing_in_the_lost_region(lost_plan: Plan) -> None:
    kept = [r for r in lost_plan.resources if r.region == LOST and r.custom and not r.type.startswith("pulumi:")]
    assert kept and all("*" in r.ignore_changes for r in kept)
    # ...and nothing elsewhere is frozen.
    others = [r for r in lost_plan.resources if r.region not in (LOST, None) and r.custom]
    assert others and not any("*" in r.ignore_changes for r in others)


def test_the_lost_regions_providers_ask_nothing_of_it(lost_plan: Plan) -> None:
    (aws,) = [p for p in lost_plan.of_type("pulumi:providers:aws") if p.name == "aws-apse1"]
    # STS (the account ID lookups) is answered elsewhere; the AMI is not looked up at all.
    assert aws.inputs["stsRegion"] == "us-east-1"
    (kube,) = [p for p in lost_plan.of_type("pulumi:providers:kubernetes") if p.name == "apse1-k8s"]
    assert kube.inputs["skipUpdateUnreachable"] in (True, "true")


def test_nothing_protected_is_deleted_anywhere(stack_plans: StackPlans, lost_plan: Plan) -> None:
    protected = {r.urn for r in stack_plans["prod"].resources if r.protect}
    assert len(protected) > 20
    assert protected <= {r.urn for r in lost_plan.resources}


def test_the_lost_region_leaves_dns(stack_plans: StackPlans, lost_plan: Plan) -> None:
    def dns(plan: Plan) -> set[str]:
        return {
            r.name
            for r in plan.resources
            if r.type in ("aws:route53/record:Record", "aws:route53/healthCheck:HealthCheck")
            and r.region == "us-east-1"
        }

    assert any("apse1" in name for name in dns(stack_plans["prod"]))
    assert not any("apse1" in name for name in dns(lost_plan))
    # The certificate's validation records stay (they live with the lost region's certificate).
    assert any("apse1" in r.name for r in lost_plan.of_type("aws:route53/record:Record") if r.region == LOST)


def test_replication_no_longer_targets_the_lost_region(lost_plan: Plan) -> None:
    for replication in lost_plan.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig"):
        if replication.region == LOST:
            continue
        destinations = [rule["destination"]["bucket"] for rule in replication.inputs["rules"]]
        assert destinations and not any("apse1" in d for d in destinations)


def test_the_drift_guard_covers_every_cluster_of_the_global_database(stack_plans: StackPlans) -> None:
    clusters = stack_plans["prod"].of_type(CLUSTER)
    assert {c.region for c in clusters} == {"ap-southeast-1", "ap-northeast-1", "ap-northeast-2"}
    for cluster in clusters:
        # After a switchover or failover RDS reports the new topology on these two inputs;
        # applying the program's view would detach or promote the cluster.
        assert {"globalClusterIdentifier", "replicationSourceIdentifier"} <= set(cluster.ignore_changes)
        assert cluster.protect is True and cluster.inputs["deletionProtection"] is True
        assert "replicationSourceIdentifier" not in cluster.inputs
    origin = [c for c in clusters if "masterUsername" in c.inputs]
    assert [c.region for c in origin] == ["ap-southeast-1"]
    # Secondaries carry no credentials (RDS refuses them) and forward their region's writes.
    for secondary in (c for c in clusters if c not in origin):
        assert "masterPassword" not in secondary.inputs and secondary.inputs["enableGlobalWriteForwarding"] is True


def test_after_a_switch_no_cluster_is_redeclared_so_that_it_would_be_replaced(
    stack_plans: StackPlans, lost_plan: Plan
) -> None:
    """Tokyo becomes the primary (the writer) in config: its cluster's declaration must not
    change, least of all an input the provider replaces the cluster on."""
    before = {c.urn: c for c in stack_plans["prod"].of_type(CLUSTER)}
    after = {c.urn: c for c in lost_plan.of_type(CLUSTER)}
    assert set(before) == set(after)
    for urn, cluster in before.items():
        for key in CLUSTER_FORCE_NEW:
            assert cluster.inputs.get(key) == after[urn].inputs.get(key), (urn, key)
        assert cluster.inputs == after[urn].inputs, urn
    (shared,) = lost_plan.of_type("aws:rds/globalCluster:GlobalCluster")
    assert shared.protect is True and shared.region == "ap-southeast-1"


def test_a_lost_alibaba_region_is_kept_as_it_was_too(stack_plans: StackPlans, tmp_path_factory) -> None:
    """Mainland China's region lost: its resources (and its data's replica in Shanghai) keep
    their inputs, nothing is looked up (a system image's ID is its name), and China's users
    leave its geolocation record for the AWS regions."""
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    document["config"] = config.lose(document["config"], "cn-hangzhou").config
    path = tmp_path_factory.mktemp("lost-china") / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    after = {r.urn: r for r in make_plan("prod", path, AS_OF).resources}
    before = [r for r in stack_plans["prod"].resources if r.region in ("cn-hangzhou", "cn-shanghai")]
    assert len(before) > 100
    for resource in before:
        if resource.type.startswith("pulumi:providers:"):
            continue
        kept = after[resource.urn]
        assert kept.inputs == resource.inputs, resource.urn
        if resource.custom:
            assert "*" in kept.ignore_changes, resource.urn
    (provider,) = [r for r in after.values() if r.type == "pulumi:providers:alicloud" and r.name == "alicloud-cnhz"]
    assert provider.inputs["skipRegionValidation"] in (True, "true")

    def china_records(records) -> list[str]:
        return [
            r.name
            for r in records
            if r.type == "aws:route53/record:Record" and r.region == "us-east-1" and "cnhz" in r.name
        ]

    assert china_records(stack_plans["prod"].resources) and not china_records(after.values())


def test_a_resource_new_in_a_lost_region_fails_the_comparison(prod_dr) -> None:
    """A change that adds resources to every region (the drill results feed did) would make `up`
    create them in the lost region too, whose API is down: `plan --compare` says so and fails."""
    after = prod_dr.after
    feed = [
        r.urn for r in after.resources if r.region in ("ap-southeast-1", "ap-southeast-3") and "drill-results" in r.name
    ]
    base = after.to_json()
    base["resources"] = [r for r in base["resources"] if r["urn"] not in feed]
    changes = compare.diff(base, after, "before the feed")
    assert changes.lost == ("ap-southeast-1",)
    # The lost region's new cloud resources are unreachable; the rebuilt region's are not.
    assert {e.region for _, e in changes.unreachable} == {"ap-southeast-1"}
    assert {s for s, _ in changes.unreachable} == {"create"}
    assert len(changes.unreachable) == sum(
        1 for r in after.resources if r.urn in feed and r.region == "ap-southeast-1" and r.custom
    )
    assert any(e.region == "ap-southeast-3" for e in changes.created)
    err = Console(file=io.StringIO(), width=400)
    assert compare.refused(changes, allow_protected=True, err=err)
    said = err.file.getvalue()  # type: ignore[attr-defined]
    assert "in lost region(s) ap-southeast-1" in said and "--exclude" in said
    assert compare.markdown(changes).startswith("### Changes against `before the feed`: ❌ blocked")
    assert changes.to_json()["summary"]["unreachable"] == len(changes.unreachable)
    # Without anything new there, the comparison passes.
    assert not compare.diff(after.to_json(), after).unreachable
