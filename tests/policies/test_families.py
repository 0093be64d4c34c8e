"""The families issue 12 found uncovered: EC2 instances and EBS volumes, S3 buckets, IAM and RAM
grants, Aurora and PolarDB clusters, Kubernetes pods of every kind and their disruption budgets,
Alibaba Cloud NAT per zone, EKS API endpoints.

Each policy is silent on the compliant prod Plan under prod's own policy config
(policies/config/prod.json), trips on one mutation of that Plan per violation, and on a resource
of its family ADDED to prod (a bare Pod, an unencrypted EBS volume, a spot fleet ...), declared
from the Plan's own resources the way the program would declare it (property dependencies).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from courier.plan import Plan, Resource
from tests.conftest import ROOT, StackPlans
from tests.policies.harness import BY_NAME, at, drop, mutate, violations

PROD_CONFIG: dict[str, Any] = json.loads((ROOT / "policies" / "config" / "prod.json").read_text())

LT = "aws:ec2/launchTemplate:LaunchTemplate"
SUBNET = "aws:ec2/subnet:Subnet"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
RAM_POLICY = "alicloud:ram/policy:Policy"
RAM_ATTACHMENT = "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
POLARDB = "alicloud:polardb/cluster:Cluster"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
EKS = "aws:eks/cluster:Cluster"
SNAT = "alicloud:vpc/snatEntry:SnatEntry"
ROUTE_ENTRY = "alicloud:vpc/routeEntry:RouteEntry"
ALI_NAT = "alicloud:vpc/natGateway:NatGateway"

PUBLIC_READ = {
    "Sid": "PublicRead",
    "Effect": "Allow",
    "Principal": "*",
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::bucket/*",
}
FULL_ACCESS = {"Effect": "Allow", "Action": "*", "Resource": "*"}


@pytest.fixture(scope="module")
def prod(stack_plans: StackPlans) -> Plan:
    return stack_plans["prod"]


def config(policy: str) -> dict[str, Any] | None:
    entry = PROD_CONFIG.get(policy)
    return entry if isinstance(entry, dict) else None


def add_statement(key: str, statement: dict[str, Any]) -> Callable[[Resource], None]:
    def change(resource: Resource) -> None:
        document = json.loads(resource.inputs[key])
        document["Statement"].append(statement)
        resource.inputs[key] = json.dumps(document)

    return change


def first(plan: Plan, resource_type: str, predicate: Callable[[Resource], bool] = lambda r: True) -> Resource:
    return next(r for r in plan.resources if r.type == resource_type and predicate(r))


def new(
    plan: Plan,
    resource_type: str,
    name: str,
    inputs: dict[str, Any],
    like: Resource | None = None,
    property_dependencies: dict[str, list[str]] | None = None,
) -> Resource:
    """A resource of ``resource_type`` declared in prod beside ``like`` (same parent and provider)."""
    deps = property_dependencies or {}
    return Resource(
        urn=f"urn:pulumi:prod::courier-platform::{resource_type}::{name}",
        type=resource_type,
        name=name,
        custom=True,
        parent=like.parent if like else None,
        provider=like.provider if like else None,
        region=like.region if like else None,
        protect=False,
        dependencies=sorted({u for urns in deps.values() for u in urns}),
        inputs=inputs,
        property_dependencies=deps,
    )


def added(plan: Plan, *resources: Resource) -> list[Resource]:
    return copy.deepcopy(plan.resources) + list(resources)


def found(policy: str, resources: list[Resource]) -> list[str]:
    return violations(policy, resources, config(policy))


# -- one mutation of the prod Plan, one violation --------------------------------------------------

# (policy, resource type to mutate, mutation, message expected)
CASES: list[tuple[str, str, Callable[[Resource], object], str]] = [
    # EC2: the provider's defaults are the violations (httpTokens optional, encrypted false, the
    # subnet deciding the public IP).
    ("aws-ec2-instance-imdsv2", LT, drop("metadataOptions", "httpTokens"), "optional by default"),
    ("aws-ec2-instance-imdsv2", LT, at("metadataOptions", "httpTokens", value="optional"), "allows IMDSv1"),
    (
        "aws-ec2-instance-encrypted-volumes",
        LT,
        drop("blockDeviceMappings", 0, "ebs", "encrypted"),
        "(encrypted is unset: false)",
    ),
    ("aws-ec2-instance-encrypted-volumes", LT, at("blockDeviceMappings", value=[]), "declares no root volume"),
    (
        "aws-ec2-instance-no-public-ip",
        LT,
        at("networkInterfaces", 0, "associatePublicIpAddress", value="true"),
        "gives instances public IPs",
    ),
    # The EKS node template names no network interface: a private subnet that maps public IPs
    # gives its nodes public addresses.
    ("aws-ec2-instance-no-public-ip", SUBNET, at("mapPublicIpOnLaunch", value=True), "map public IPs on launch"),
    # S3
    (
        "aws-s3-bucket-public-access-block",
        PUBLIC_ACCESS_BLOCK,
        at("blockPublicPolicy", value=False),
        "leaves blockPublicPolicy off",
    ),
    (
        "aws-s3-bucket-public-access-block",
        PUBLIC_ACCESS_BLOCK,
        lambda r: r.property_dependencies.update(bucket=[]) or r.inputs.update(bucket="someone-elses-bucket"),
        "has no public access block",
    ),
    ("aws-s3-bucket-policy-no-public-principal", BUCKET_POLICY, add_statement("policy", PUBLIC_READ), "PublicRead"),
    (
        "aws-s3-bucket-policy-no-public-principal",
        BUCKET_POLICY,
        add_statement(
            "policy",
            {**PUBLIC_READ, "Principal": {"AWS": ["*"]}, "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        ),
        "allows everyone (Principal *) to s3:GetObject",
    ),
    (
        "aws-s3-bucket-policy-no-public-principal",
        BUCKET_POLICY,
        add_statement(
            "policy",
            {**PUBLIC_READ, "Condition": {"IpAddress": {"aws:SourceIp": ["0.0.0.0/1", "128.0.0.0/1"]}}},
        ),
        "PublicRead allows everyone",
    ),
    (
        "aws-s3-bucket-policy-no-public-principal",
        BUCKET_POLICY,
        add_statement("policy", {**PUBLIC_READ, "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}),
        "PublicRead allows everyone",
    ),
    # IAM and RAM: "*" on "*" in any spelling, and the clouds' own full-access policies.
    ("aws-iam-policy-no-full-access", ROLE_POLICY, add_statement("policy", FULL_ACCESS), "full administrator access"),
    (
        "aws-iam-policy-no-full-access",
        ROLE_POLICY,
        add_statement("policy", {"Effect": "Allow", "Action": ["s3:GetObject", "*:*"], "Resource": ["*"]}),
        "allows every action on every resource",
    ),
    (
        "aws-iam-policy-no-full-access",
        ROLE_POLICY,
        add_statement("policy", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        "every action but iam:* on every resource",
    ),
    (
        "aws-iam-policy-no-full-access",
        ROLE_ATTACHMENT,
        at("policyArn", value="arn:aws:iam::aws:policy/AdministratorAccess"),
        "attaches AdministratorAccess",
    ),
    (
        "alicloud-ram-policy-no-full-access",
        RAM_POLICY,
        add_statement("policyDocument", {"Effect": "Allow", "Action": "*", "Resource": ["*"]}),
        "full administrator access",
    ),
    (
        "alicloud-ram-policy-no-full-access",
        RAM_ATTACHMENT,
        lambda r: r.inputs.update(policyName="AdministratorAccess", policyType="System"),
        "attaches the system policy AdministratorAccess",
    ),
    # Aurora: two instances in one zone are one zone; PolarDB: one node.
    (
        "aws-rds-cluster-multi-az",
        CLUSTER_INSTANCE,
        lambda r: r.inputs.update(availabilityZone=r.inputs["availabilityZone"][:-1] + "a"),
        "spanning 1 zone(s)",
    ),
    ("alicloud-polardb-cluster-multi-node", POLARDB, at("dbNodeCount", value=1), "has dbNodeCount 1"),
    (
        "alicloud-polardb-cluster-multi-node",
        POLARDB,
        at("creationCategory", value="Basic"),
        "single-node Basic edition",
    ),
    # Kubernetes pods (the Deployment's template here; other kinds are added below).
    (
        "kubernetes-pod-no-privilege",
        DEPLOYMENT,
        at("spec", "template", "spec", "containers", 0, "securityContext", "privileged", value=True),
        "is privileged",
    ),
    (
        "kubernetes-pod-no-privilege",
        DEPLOYMENT,
        at("spec", "template", "spec", "containers", 0, "securityContext", "capabilities", "add", value=["SYS_ADMIN"]),
        "adds SYS_ADMIN",
    ),
    (
        "kubernetes-pod-no-privilege",
        DEPLOYMENT,
        drop("spec", "template", "spec", "containers", 0, "securityContext", "allowPrivilegeEscalation"),
        "allowPrivilegeEscalation is true unless set",
    ),
    ("kubernetes-pod-host-namespaces", DEPLOYMENT, at("spec", "template", "spec", "hostPID", value=True), "hostPID"),
    (
        "kubernetes-pod-non-root",
        DEPLOYMENT,
        at("spec", "template", "spec", "containers", 0, "securityContext", "runAsNonRoot", value=False),
        "overrides the pod with runAsNonRoot: false",
    ),
    (
        "kubernetes-pod-non-root",
        DEPLOYMENT,
        lambda r: (
            r.inputs["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot"),
            r.inputs["spec"]["template"]["spec"]["containers"][0]["securityContext"].pop("runAsNonRoot"),
        ),
        "sets no runAsNonRoot",
    ),
    # PodDisruptionBudgets that protect nothing (notifications' floor is its ScaledObject's 6).
    ("kubernetes-pdb-protects-pods", PDB, at("spec", "maxUnavailable", value="100%"), "maxUnavailable 100%"),
    ("kubernetes-pdb-protects-pods", PDB, at("spec", "maxUnavailable", value=6), "allows 6 of"),
    ("kubernetes-pdb-protects-pods", PDB, at("spec", "maxUnavailable", value="90%"), "allows 6 of"),
    (
        "kubernetes-pdb-protects-pods",
        PDB,
        lambda r: (r.inputs["spec"].pop("maxUnavailable"), r.inputs["spec"].update(minAvailable="0%")),
        "has minAvailable 0%",
    ),
    # EKS: the internet in two halves, and the provider's defaults.
    (
        "aws-eks-cluster-endpoint-not-public",
        EKS,
        at("vpcConfig", "publicAccessCidrs", value=["0.0.0.0/1", "128.0.0.0/1"]),
        "admits all of IPv4",
    ),
    (
        "aws-eks-cluster-endpoint-not-public",
        EKS,
        drop("vpcConfig", "publicAccessCidrs"),
        "no publicAccessCidrs (EKS admits 0.0.0.0/0)",
    ),
    (
        "aws-eks-cluster-endpoint-not-public",
        EKS,
        at("vpcConfig", "publicAccessCidrs", value=["203.0.113.16/28", "8.0.0.0/7"]),
        "(publicAccessCidrs 203.0.113.16/28, 8.0.0.0/7)",
    ),
    # Alibaba Cloud NAT per zone: a zone's SNAT entry or default route on another zone's gateway.
    (
        "alicloud-vpc-nat-per-zone",
        SNAT,
        lambda r: _rewire_to_other_nat(r, "snatTableId"),
        "translates a vSwitch of cn-hangzhou-h on the NAT gateway of cn-hangzhou-j",
    ),
    (
        "alicloud-vpc-nat-per-zone",
        ROUTE_ENTRY,
        lambda r: _rewire_to_other_nat(r, "nexthopId"),
        "sends cn-hangzhou-h's default route to the NAT gateway of cn-hangzhou-j",
    ),
]

NAT = "urn:pulumi:prod::courier-platform::courier:alicloud:Network$alicloud:vpc/natGateway:NatGateway::cnhz-nat-"


def _rewire_to_other_nat(resource: Resource, key: str) -> None:
    """Point ``key`` of zone h's entry at zone j's NAT gateway (other zones' entries are left alone)."""
    if not resource.name.startswith("cnhz-snat-h") and not resource.name.startswith("cnhz-app-h"):
        raise KeyError(resource.name)  # harness.mutate: not the resource the change applies to
    urns = resource.property_dependencies.get(key, [])
    resource.property_dependencies[key] = [NAT + "j" if u == NAT + "h" else u for u in urns] or [NAT + "j"]


@pytest.mark.parametrize(
    ("policy", "resource_type", "mutation", "expected"),
    CASES,
    ids=[f"{c[0]}:{c[3][:40]}" for c in CASES],
)
def test_one_mutation_one_violation(prod: Plan, policy: str, resource_type: str, mutation, expected: str) -> None:
    seen: list[str] = []
    for index in range(sum(1 for r in prod.resources if r.type == resource_type)):
        try:
            resources = mutate(prod, resource_type, mutation, index=index)
        except LookupError:
            break
        reported = found(policy, resources)
        if any(expected in v for v in reported):
            return
        seen.extend(reported)
    pytest.fail(f"{policy}: expected {expected!r}, got {seen[:3]}")


def test_the_prod_plan_complies_with_every_family_under_prods_config(prod: Plan) -> None:
    for policy in sorted(COVERED):
        assert found(policy, prod.resources) == [], policy


# -- removing what protects -------------------------------------------------------------------------


def test_an_aurora_cluster_left_with_one_instance_is_a_violation(prod: Plan) -> None:
    gone = first(prod, CLUSTER_INSTANCE)
    resources = [copy.deepcopy(r) for r in prod.resources if r.urn != gone.urn]
    (message,) = found("aws-rds-cluster-multi-az", resources)
    assert "has 1 instance(s) in " in message and "losing it takes the database down" in message


def test_a_zone_without_its_own_nat_gateway_is_a_violation(prod: Plan) -> None:
    # Zone j's gateway gone and its vSwitch translated by zone i's: j still needs its own.
    resources = [copy.deepcopy(r) for r in prod.resources if r.urn != NAT + "j"]
    for resource in resources:
        for key in ("snatTableId", "nexthopId"):
            resource.property_dependencies[key] = [
                NAT + "i" if u == NAT + "j" else u for u in resource.property_dependencies.get(key, [])
            ]
    assert any(
        "Zones cn-hangzhou-j have no NAT gateway of their own" in v
        for v in found("alicloud-vpc-nat-per-zone", resources)
    )


def test_the_prod_only_rules_do_not_apply_elsewhere(prod: Plan) -> None:
    gone = first(prod, CLUSTER_INSTANCE)
    single = [copy.deepcopy(r) for r in prod.resources if r.urn != gone.urn]
    assert violations("aws-rds-cluster-multi-az", single, {"required": False}) == []
    assert violations("alicloud-vpc-nat-per-zone", single) == []  # required defaults to false
    basic = mutate(prod, POLARDB, at("creationCategory", value="Basic"))
    assert violations("alicloud-polardb-cluster-multi-node", basic) == []


# -- resources of a family added to prod -------------------------------------------------------------


def test_an_added_instance_is_judged_with_the_providers_defaults(prod: Plan) -> None:
    subnet = first(prod, SUBNET, lambda r: r.name.endswith("-public-a"))
    bare = new(
        prod,
        "aws:ec2/instance:Instance",
        "bastion",
        {"ami": "ami-0123456789abcdef0", "instanceType": "t3.micro"},
        like=subnet,
    )
    resources = added(prod, bare)
    assert any("optional by default" in v for v in found("aws-ec2-instance-imdsv2", resources))
    assert any("declares no root volume" in v for v in found("aws-ec2-instance-encrypted-volumes", resources))
    assert any("default VPC's default subnet" in v for v in found("aws-ec2-instance-no-public-ip", resources))

    # In a public subnet that maps public IPs, without saying otherwise: a public instance.
    public = copy.deepcopy(subnet)
    public.inputs["mapPublicIpOnLaunch"] = True
    placed = new(
        prod,
        "aws:ec2/instance:Instance",
        "bastion",
        {
            "ami": "ami-0123456789abcdef0",
            "instanceType": "t3.micro",
            "subnetId": "subnet-public",
            "metadataOptions": {"httpTokens": "required"},
            "rootBlockDevice": {"encrypted": True},
        },
        like=subnet,
        property_dependencies={"subnetId": [subnet.urn]},
    )
    resources = [public if r.urn == subnet.urn else r for r in added(prod, placed)]
    assert any("map(s) public IPs on launch" in v for v in found("aws-ec2-instance-no-public-ip", resources))
    assert found("aws-ec2-instance-imdsv2", resources) == []
    assert found("aws-ec2-instance-encrypted-volumes", resources) == []
    # Saying false explicitly overrides the subnet.
    placed.inputs["associatePublicIpAddress"] = False
    assert found("aws-ec2-instance-no-public-ip", resources) == []


def test_an_instance_from_the_stacks_launch_template_inherits_its_settings(prod: Plan) -> None:
    template = first(prod, LT, lambda r: bool(r.inputs.get("networkInterfaces")))
    instance = new(
        prod,
        "aws:ec2/spotInstanceRequest:SpotInstanceRequest",
        "spot",
        {"launchTemplate": {"id": "lt-1", "version": "1"}},
        like=template,
        property_dependencies={"launchTemplate": [template.urn]},
    )
    resources = added(prod, instance)
    for policy in ("aws-ec2-instance-imdsv2", "aws-ec2-instance-encrypted-volumes", "aws-ec2-instance-no-public-ip"):
        assert found(policy, resources) == [], policy
    # A template outside the stack cannot be checked: the instance must say it itself.
    instance.property_dependencies = {}
    assert any("template outside the stack" in v for v in found("aws-ec2-instance-imdsv2", resources))


def test_a_spot_fleet_and_a_launch_configuration_are_instances_too(prod: Plan) -> None:
    subnet = first(prod, SUBNET)
    fleet = new(
        prod,
        "aws:ec2/spotFleetRequest:SpotFleetRequest",
        "batch",
        {
            "iamFleetRole": "arn:aws:iam::123456789012:role/fleet",
            "targetCapacity": 2,
            "launchSpecifications": [
                {
                    "ami": "ami-1",
                    "instanceType": "c6i.large",
                    "rootBlockDevices": [{"volumeSize": 30}],
                    "associatePublicIpAddress": True,
                }
            ],
        },
        like=subnet,
    )
    configuration = new(
        prod,
        "aws:ec2/launchConfiguration:LaunchConfiguration",
        "legacy",
        {
            "imageId": "ami-1",
            "instanceType": "c6i.large",
            "metadataOptions": {"httpTokens": "optional"},
            "rootBlockDevice": {"encrypted": True},
            "ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": False}],
        },
        like=subnet,
    )
    resources = added(prod, fleet, configuration)
    imds = found("aws-ec2-instance-imdsv2", resources)
    assert any("spot fleet launch specifications have no metadata options" in v for v in imds)
    assert any("legacy allows IMDSv1 (httpTokens 'optional')" in v for v in imds)
    volumes = found("aws-ec2-instance-encrypted-volumes", resources)
    assert any(
        "batch (launchSpecifications[0]): volume root is not encrypted (encrypted is unset" in v for v in volumes
    )
    assert any("legacy: volume /dev/sdf is not encrypted;" in v for v in volumes)
    assert any(
        "batch (launchSpecifications[0]) asks for a public IP" in v
        for v in found("aws-ec2-instance-no-public-ip", resources)
    )


def test_an_added_ebs_volume_is_encrypted_only_when_it_says_so(prod: Plan) -> None:
    volume = new(prod, "aws:ebs/volume:Volume", "scratch", {"availabilityZone": "ap-southeast-1a", "size": 100})
    assert any(
        "no encrypted setting (the account default: off)" in v
        for v in found("aws-ebs-volume-encrypted", added(prod, volume))
    )
    volume.inputs["encrypted"] = True
    assert found("aws-ebs-volume-encrypted", added(prod, volume)) == []


def test_an_added_bucket_needs_its_own_public_access_block_and_no_public_policy(prod: Plan) -> None:
    bucket = new(prod, "aws:s3/bucketV2:BucketV2", "exports", {"policy": json.dumps({"Statement": [PUBLIC_READ]})})
    resources = added(prod, bucket)
    assert any("exports has no public access block" in v for v in found("aws-s3-bucket-public-access-block", resources))
    assert any(
        "exports: PublicRead allows everyone" in v for v in found("aws-s3-bucket-policy-no-public-principal", resources)
    )
    block = new(
        prod,
        PUBLIC_ACCESS_BLOCK,
        "exports",
        {
            "bucket": "exports-1",
            **{f: True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")},
        },
        property_dependencies={"bucket": [bucket.urn]},
    )
    assert found("aws-s3-bucket-public-access-block", added(prod, bucket, block)) == []


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
        {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
        {"ForAnyValue:StringEquals": {"aws:SourceAccount": ["123456789012"]}},
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    ],
)
def test_a_grant_to_everyone_pinned_by_a_fixed_condition_is_not_public(prod: Plan, condition: dict) -> None:
    resources = mutate(prod, BUCKET_POLICY, add_statement("policy", {**PUBLIC_READ, "Condition": condition}))
    assert found("aws-s3-bucket-policy-no-public-principal", resources) == []


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
        {"StringLike": {"aws:PrincipalOrgID": "o-*"}},
        {"ForAllValues:StringEquals": {"aws:SourceAccount": ["123456789012"]}},
        {"Bool": {"aws:SecureTransport": "true"}},
    ],
)
def test_a_condition_that_pins_nobody_leaves_the_grant_public(prod: Plan, condition: dict) -> None:
    resources = mutate(prod, BUCKET_POLICY, add_statement("policy", {**PUBLIC_READ, "Condition": condition}))
    assert any("PublicRead allows everyone" in v for v in found("aws-s3-bucket-policy-no-public-principal", resources))


def test_the_shipped_tls_only_deny_to_everyone_stays_allowed(prod: Plan) -> None:
    policies = [r for r in prod.resources if r.type == BUCKET_POLICY]
    assert policies and all('"Effect": "Deny", "Principal": "*"' in r.inputs["policy"] for r in policies)
    assert found("aws-s3-bucket-policy-no-public-principal", prod.resources) == []


def test_added_iam_grants_of_everything_are_refused_wherever_they_are_written(prod: Plan) -> None:
    document = json.dumps({"Version": "2012-10-17", "Statement": [FULL_ACCESS]})
    managed = new(prod, "aws:iam/policy:Policy", "admin", {"policy": document})
    role = new(
        prod,
        "aws:iam/role:Role",
        "breakglass",
        {
            "assumeRolePolicy": "{}",
            "inlinePolicies": [{"name": "all", "policy": document}],
            "managedPolicyArns": ["arn:aws-cn:iam::aws:policy/AdministratorAccess"],
        },
    )
    user = new(prod, "aws:iam/userPolicy:UserPolicy", "ops", {"user": "ops", "policy": document})
    reported = found("aws-iam-policy-no-full-access", added(prod, managed, role, user))
    assert sum("full administrator access" in v for v in reported) == 3
    assert any("breakglass attaches AdministratorAccess (arn:aws-cn:" in v for v in reported)
    # Narrow grants are fine, even on "*" (Describe calls have no resource), and so is a Deny.
    narrow = json.dumps(
        {
            "Statement": [
                {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
                {**FULL_ACCESS, "Effect": "Deny"},
            ]
        }
    )
    managed.inputs["policy"] = narrow
    assert found("aws-iam-policy-no-full-access", added(prod, managed)) == []


def test_an_unreadable_policy_document_is_reported_not_passed(prod: Plan) -> None:
    managed = new(prod, "aws:iam/policy:Policy", "broken", {"policy": "{not json"})
    assert any("is not JSON" in v for v in found("aws-iam-policy-no-full-access", added(prod, managed)))


POD_SPEC = {
    "containers": [{"name": "main", "image": "registry.example.com/app@sha256:" + "0" * 64}],
}


@pytest.mark.parametrize(
    ("resource_type", "spec"),
    [
        ("kubernetes:core/v1:Pod", POD_SPEC),
        ("kubernetes:apps/v1:DaemonSet", {"selector": {}, "template": {"spec": POD_SPEC}}),
        ("kubernetes:apps/v1:StatefulSet", {"serviceName": "db", "selector": {}, "template": {"spec": POD_SPEC}}),
        ("kubernetes:batch/v1:Job", {"template": {"spec": POD_SPEC}}),
        (
            "kubernetes:batch/v1:CronJob",
            {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": POD_SPEC}}}},
        ),
    ],
)
def test_every_kind_of_workload_is_held_to_the_pod_rules(prod: Plan, resource_type: str, spec: dict) -> None:
    kind = resource_type.rsplit(":", 1)[-1]
    resource = new(
        prod, resource_type, "added", {"metadata": {"name": "added", "namespace": "ops"}, "spec": copy.deepcopy(spec)}
    )
    resources = added(prod, resource)
    assert any(
        f"{kind} ops/added: containers main may run as root" in v for v in found("kubernetes-pod-non-root", resources)
    )
    assert any("may gain privileges" in v for v in found("kubernetes-pod-no-privilege", resources))
    assert found("kubernetes-pod-host-namespaces", resources) == []

    pod: Any = resource.inputs["spec"]
    for step in ("jobTemplate", "spec", "template", "spec"):
        if step in pod:
            pod = pod[step]
    pod["hostNetwork"] = True
    pod["securityContext"] = {"runAsNonRoot": True, "runAsUser": 10001}
    pod["containers"][0]["securityContext"] = {"allowPrivilegeEscalation": False}
    assert any("shares the node's hostNetwork" in v for v in found("kubernetes-pod-host-namespaces", resources))
    assert found("kubernetes-pod-non-root", resources) == []  # the pod's runAsNonRoot applies
    assert found("kubernetes-pod-no-privilege", resources) == []


def test_an_added_budget_for_a_single_replica_protects_nothing(prod: Plan) -> None:
    deployment = first(prod, DEPLOYMENT)
    pdb = first(prod, PDB, lambda r: r.provider == deployment.provider)
    lonely = copy.deepcopy(deployment)
    lonely.urn += "-lonely"
    lonely.inputs["metadata"]["name"] = "lonely"
    lonely.inputs["spec"]["replicas"] = 1
    lonely.inputs["spec"]["template"]["metadata"]["labels"] = {"app.kubernetes.io/name": "lonely"}
    budget = copy.deepcopy(pdb)
    budget.urn += "-lonely"
    budget.inputs["spec"] = {"selector": {"matchLabels": {"app.kubernetes.io/name": "lonely"}}, "maxUnavailable": 1}
    reported = found("kubernetes-pdb-protects-pods", added(prod, lonely, budget))
    assert any("allows 1 of" in v and "1 replica(s)" in v for v in reported)


def test_an_eks_endpoint_private_only_complies_whatever_its_cidrs(prod: Plan) -> None:
    resources = mutate(
        prod,
        EKS,
        lambda r: r.inputs["vpcConfig"].update(endpointPublicAccess=False, publicAccessCidrs=["0.0.0.0/0"]),
    )
    assert found("aws-eks-cluster-endpoint-not-public", resources) == []
    # Left out, endpointPublicAccess is true and the CIDRs 0.0.0.0/0 (the provider's defaults).
    defaults = mutate(prod, EKS, lambda r: r.inputs.update(vpcConfig={"subnetIds": ["subnet-1"]}))
    assert any("admits all of IPv4" in v for v in found("aws-eks-cluster-endpoint-not-public", defaults))


COVERED = {c[0] for c in CASES} | {"aws-ebs-volume-encrypted"}


def test_every_family_policy_is_in_the_pack() -> None:
    assert set(BY_NAME) >= COVERED


# -- prod ships compliant: the EKS endpoints are refused open before any resource ---------------------

NAMED = "apiAllowedCidrs: [203.0.113.16/28, 198.51.100.32/29]"


@pytest.mark.parametrize(
    ("replacement", "expected"),
    [
        ("apiAllowedCidrs: [0.0.0.0/1, 128.0.0.0/1]", "(got 0.0.0.0/1, 128.0.0.0/1)"),
        ("apiAllowedCidrs: [203.0.113.16/28, 32.0.0.0/8]", "(got 203.0.113.16/28, 32.0.0.0/8)"),
        ("kubernetes.version-only: true", "(got 0.0.0.0/0, the default)"),
    ],
)
def test_prod_refuses_an_eks_endpoint_open_to_the_internet(capsys, tmp_path, replacement: str, expected: str) -> None:
    from courier import cli

    text = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text()
    assert text.count(NAMED) == 3
    lines = [line for line in text.splitlines() if NAMED not in line or not replacement.startswith("kubernetes.")]
    candidate = tmp_path / "prod.yaml"
    candidate.write_text(
        "\n".join(lines) if replacement.startswith("kubernetes.") else text.replace(NAMED, replacement, 1)
    )
    code = cli.main(["plan", "prod", "--config-file", str(candidate)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_INVALID, err
    assert "courier:regions[ap-southeast-1].kubernetes.apiAllowedCidrs: must list only the named networks" in err
    assert expected in err


def test_an_snat_entry_by_cidr_is_followed_to_the_vswitches_inside_it(prod: Plan) -> None:
    app_h = first(prod, "alicloud:vpc/switch:Switch", lambda r: r.name == "cnhz-app-h")

    def by_cidr(resource: Resource) -> None:
        if resource.name != "cnhz-snat-h":
            raise KeyError(resource.name)
        resource.property_dependencies.pop("sourceVswitchId", None)
        resource.inputs.pop("sourceVswitchId", None)
        resource.inputs["sourceCidr"] = app_h.inputs["cidrBlock"]
        resource.property_dependencies["snatTableId"] = [NAT + "j"]

    resources = mutate(prod, SNAT, by_cidr)
    assert any(
        "cnhz-snat-h translates a vSwitch of cn-hangzhou-h on the NAT gateway of cn-hangzhou-j" in v
        for v in found("alicloud-vpc-nat-per-zone", resources)
    )
    # On its own zone's gateway, the same entry is compliant.
    resources = mutate(prod, SNAT, lambda r: (by_cidr(r), r.property_dependencies.update(snatTableId=[NAT + "h"])))
    assert found("alicloud-vpc-nat-per-zone", resources) == []


# -- documents computed from other resources: judged when known --------------------------------

IDENTITY_TYPES = {
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "alicloud:ram/policy:Policy",
    "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment",
}

DOCUMENT_POLICIES = (
    "aws-iam-policy-no-full-access",
    "alicloud-ram-policy-no-full-access",
    "aws-s3-bucket-policy-no-public-principal",
)


@pytest.mark.parametrize("policy", DOCUMENT_POLICIES)
def test_documents_unknown_during_a_real_preview_are_left_to_the_update(prod: Plan, policy: str) -> None:
    """prod's documents are built from ARNs and IDs, so `pulumi preview` sees them unknown: no
    violation then (the engine runs the pack again at `up`, with the values known)."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    from tests.policies.test_sidesteps import preview_of

    previewed = preview_of(prod)
    unknown = [r for r in previewed if any(v == UNKNOWN_STRING_VALUE for v in r.inputs.values())]
    assert any(r.type in (IDENTITY_TYPES | {"aws:s3/bucketPolicy:BucketPolicy"}) for r in unknown)
    assert violations(policy, previewed) == []


def test_a_literal_full_access_document_is_still_caught_in_preview(prod: Plan) -> None:
    from tests.policies.test_sidesteps import preview_of

    previewed = preview_of(prod)
    role = next(r for r in previewed if r.type == "aws:iam/rolePolicy:RolePolicy")
    role.inputs["policy"] = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    assert violations("aws-iam-policy-no-full-access", previewed) != []
