"""Every guardrail: silent on the compliant prod Plan, and one failing case per violation,
each built from that Plan with one mutation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from courier.plan import Plan, Resource
from tests.conftest import StackPlans
from tests.policies.harness import BY_NAME, at, drop, mutate, violations
from tests.policies.test_data_stores import NEW as DATA_STORES
from tests.policies.test_families import COVERED as FAMILIES

PROD_CONFIG: dict[str, dict[str, Any]] = {
    "aws-autoscaling-group-multi-az": {"minZones": 3},
    "alicloud-ess-group-multi-zone": {"minZones": 3},
    "aws-autoscaling-group-min-capacity": {"minCapacity": 2},
    "alicloud-ess-group-min-capacity": {"minCapacity": 2},
    "kubernetes-hpa-min-replicas": {"minCapacity": 2},
    "aws-lb-deletion-protection": {"required": True},
    "alicloud-alb-deletion-protection": {"required": True},
    "aws-vpc-nat-per-az": {"required": True},
    "aws-autoscaling-group-max-size-cap": {"maxSize": 200},
    "alicloud-ess-group-max-size-cap": {"maxSize": 200},
    "courier-environment-policy-config": {"environment": "prod"},
}


@pytest.fixture(scope="module")
def prod(stack_plans: StackPlans) -> Plan:
    return stack_plans["prod"]


def rewire(key: str, urns: list[str]) -> Callable[[Resource], None]:
    def change(resource: Resource) -> None:
        resource.property_dependencies[key] = urns
        resource.dependencies = [d for d in resource.dependencies if d not in urns]

    return change


ASG = "aws:autoscaling/group:Group"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
FIS = "aws:fis/experimentTemplate:ExperimentTemplate"
ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
ESS = "alicloud:ess/scalingGroup:ScalingGroup"
ESS_CONFIG = "alicloud:ess/scalingConfiguration:ScalingConfiguration"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"


def rename_schedule(resource: Resource) -> None:
    resource.inputs["scheduledActionName"] = resource.inputs["scheduledActionName"].replace("-prewarm", "-warm")


def first_of(plan: Plan, resource_type: str, predicate: Callable[[Resource], bool] = lambda r: True) -> Resource:
    return next(r for r in plan.resources if r.type == resource_type and predicate(r))


# (policy, resource type to mutate, mutation, message expected)
CASES: list[tuple[str, str, Callable[[Resource], None], str]] = [
    # Capacity math: a peak the other zones' share of the maximum cannot carry; a peak the other
    # regions cannot grow to.
    (
        "courier-fleet-zone-loss-capacity",
        ASG,
        at("desiredCapacity", value=59),
        "with one of its 3 zones lost, the others' share (40)",
    ),
    ("courier-fleet-zone-loss-capacity", ESS, at("desiredCapacity", value=59), "raise the maximum to at least 89"),
    ("courier-fleet-region-loss-capacity", ASG, at("desiredCapacity", value=500), "at the peak its users need"),
    ("aws-autoscaling-group-multi-az", ASG, at("vpcZoneIdentifiers", value=["subnet-a"]), "spans 1 zone(s)"),
    ("alicloud-ess-group-multi-zone", ESS, at("vswitchIds", value=["vsw-a", "vsw-b"]), "spans 2 zone(s)"),
    ("aws-autoscaling-group-min-capacity", ASG, at("minSize", value=1), "has minSize 1; raise it to at least 2"),
    ("alicloud-ess-group-min-capacity", ESS, at("minSize", value=0), "has minSize 0"),
    ("kubernetes-hpa-min-replicas", SCALED_OBJECT, at("spec", "minReplicaCount", value=1), "has minReplicaCount 1"),
    ("aws-autoscaling-group-elb-health-check", ASG, at("healthCheckType", value="EC2"), "uses EC2 health checks"),
    (
        "alicloud-ess-group-health-check",
        ESS,
        at("healthCheckTypes", value=["ECS", "LOAD_BALANCER"]),
        "booting instances would be released",
    ),
    ("alicloud-ess-group-health-check", ESS, at("healthCheckTypes", value=["NONE"]), "does not replace failed ECS"),
    (
        "aws-autoscaling-group-cpu-target-tracking",
        "aws:autoscaling/policy:Policy",
        at("targetTrackingConfiguration", "targetValue", value=90),
        "holds CPU at 90%",
    ),
    (
        "aws-autoscaling-group-cpu-target-tracking",
        "aws:autoscaling/policy:Policy",
        at("policyType", value="StepScaling"),
        "has no enabled target-tracking policy on ASGAverageCPUUtilization",
    ),
    (
        "alicloud-ess-group-cpu-target-tracking",
        "alicloud:ess/scalingRule:ScalingRule",
        at("targetValue", value=85),
        "holds CPU at 85%",
    ),
    (
        "alicloud-ess-group-cpu-target-tracking",
        "alicloud:ess/scalingRule:ScalingRule",
        at("metricName", value="MemoryUtilization"),
        "has no TargetTrackingScalingRule on CpuUtilization",
    ),
    (
        "kubernetes-deployment-cpu-autoscaling",
        SCALED_OBJECT,
        at("spec", "triggers", 0, "metadata", "value", value="95"),
        "targets 95% CPU",
    ),
    (
        "kubernetes-deployment-cpu-autoscaling",
        SCALED_OBJECT,
        at("spec", "scaleTargetRef", "name", value="somebody-else"),
        "has no autoscaler on CPU utilization",
    ),
    (
        "aws-autoscaling-group-promotion-prescale",
        "aws:autoscaling/schedule:Schedule",
        rename_schedule,
        "is not pre-scaled for promotion",
    ),
    (
        "alicloud-ess-group-promotion-prescale",
        "alicloud:ess/scheduledTask:ScheduledTask",
        lambda r: r.inputs.update(description=r.inputs["description"].replace("prewarm", "warm")),
        "is not pre-scaled for promotion",
    ),
    (
        "kubernetes-deployment-promotion-prescale",
        SCALED_OBJECT,
        lambda r: r.inputs["spec"].update(triggers=r.inputs["spec"]["triggers"][:1]),
        "has no KEDA cron trigger for promotion",
    ),
    (
        "aws-autoscaling-schedule-max-covers-peak",
        "aws:autoscaling/schedule:Schedule",
        at("maxSize", value=5),
        "raise maxSize to cover the peak",
    ),
    (
        "alicloud-ess-task-max-covers-peak",
        "alicloud:ess/scheduledTask:ScheduledTask",
        at("maxValue", value=5),
        "raise maxValue",
    ),
    (
        "kubernetes-scaledobject-max-covers-peak",
        SCALED_OBJECT,
        at("spec", "maxReplicaCount", value=5),
        "wants more replicas than maxReplicaCount 5",
    ),
    ("aws-lb-deletion-protection", ALB, at("enableDeletionProtection", value=False), "set enableDeletionProtection"),
    (
        "alicloud-alb-deletion-protection",
        "alicloud:alb/loadBalancer:LoadBalancer",
        at("deletionProtectionEnabled", value=False),
        "set deletionProtectionEnabled",
    ),
    (
        "aws-vpc-nat-per-az",
        "aws:ec2/natGateway:NatGateway",
        rewire("subnetId", []),
        "have no public NAT gateway of their own",
    ),
    (
        "aws-autoscaling-group-alarms",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        lambda r: None,
        "",
    ),
    ("aws-ec2-instance-imdsv2", LT, at("metadataOptions", "httpTokens", value="optional"), "allows IMDSv1"),
    ("aws-ec2-instance-imdsv2", LT, at("metadataOptions", "httpPutResponseHopLimit", value=2), "HopLimit to 1"),
    (
        "aws-ec2-instance-encrypted-volumes",
        LT,
        at("blockDeviceMappings", 0, "ebs", "encrypted", value="false"),
        "is not encrypted",
    ),
    (
        "aws-ec2-instance-no-public-ip",
        LT,
        at("networkInterfaces", 0, "associatePublicIpAddress", value="true"),
        "gives instances public IPs",
    ),
    ("alicloud-ess-configuration-encrypted-disk", ESS_CONFIG, at("systemDiskEncrypted", value=False), "unencrypted"),
    ("alicloud-ess-configuration-no-public-ip", ESS_CONFIG, at("internetMaxBandwidthOut", value=10), "public IPs"),
    (
        "aws-security-group-no-open-ingress",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        lambda r: r.inputs.update(fromPort=22, toPort=22),
        "opens port 22 to the internet",
    ),
    (
        "aws-security-group-no-open-ingress",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        lambda r: r.inputs.update(fromPort=443, toPort=8443),
        "opens ports 443-8443 to the internet",
    ),
    (
        "alicloud-security-group-no-open-ingress",
        "alicloud:ecs/securityGroupRule:SecurityGroupRule",
        at("portRange", value="22/22"),
        "opens port 22 to the internet",
    ),
    ("aws-alb-drop-invalid-headers", ALB, at("dropInvalidHeaderFields", value=False), "forwards invalid headers"),
    ("aws-alb-access-logs", ALB, at("accessLogs", "enabled", value=False), "keeps no access logs"),
    (
        "alicloud-alb-access-logs",
        "alicloud:alb/loadBalancer:LoadBalancer",
        drop("accessLogConfig"),
        "keeps no access logs",
    ),
    (
        "aws-alb-listener-modern-tls",
        LISTENER,
        lambda r: (
            r.inputs.update(sslPolicy="ELBSecurityPolicy-2016-08") if r.inputs.get("protocol") == "HTTPS" else None
        ),
        "uses TLS policy 'ELBSecurityPolicy-2016-08'",
    ),
    (
        "alicloud-alb-listener-modern-tls",
        "alicloud:alb/listener:Listener",
        lambda r: (
            r.inputs.update(securityPolicyId="tls_cipher_policy_1_0")
            if r.inputs.get("listenerProtocol") == "HTTPS"
            else None
        ),
        "uses TLS policy 'tls_cipher_policy_1_0'",
    ),
    (
        "alicloud-alb-listener-http-redirect",
        "alicloud:alb/rule:Rule",
        lambda r: r.inputs.update(ruleActions=[]) if r.name.endswith("to-https") else None,
        "serves plain HTTP",
    ),
    (
        "kubernetes-deployment-resource-requests",
        DEPLOYMENT,
        at("spec", "template", "spec", "containers", 0, "resources", value={}),
        "requests no cpu or memory",
    ),
    (
        "kubernetes-pod-non-root",
        DEPLOYMENT,
        lambda r: (
            r.inputs["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot"),
            r.inputs["spec"]["template"]["spec"]["containers"][0]["securityContext"].pop("runAsNonRoot"),
        ),
        "runAsNonRoot",
    ),
    (
        "kubernetes-pod-no-privilege",
        DEPLOYMENT,
        at("spec", "template", "spec", "containers", 0, "securityContext", "allowPrivilegeEscalation", value=True),
        "allowPrivilegeEscalation",
    ),
    (
        "aws-fis-experiment-template-stop-condition",
        FIS,
        at("stopConditions", value=[{"source": "none"}]),
        "no stop condition on a CloudWatch alarm (sources: none)",
    ),
    (
        "aws-fis-experiment-template-stop-condition",
        FIS,
        lambda r: r.inputs.pop("stopConditions"),
        "no stop condition on a CloudWatch alarm (sources: none given)",
    ),
    ("aws-autoscaling-group-max-size-cap", ASG, at("maxSize", value=500), "allows 500 instances"),
    ("alicloud-ess-group-max-size-cap", ESS, at("maxSize", value=500), "allows 500 instances"),
    ("aws-instance-type-allowlist", LT, at("instanceType", value="p4d.24xlarge"), "uses p4d.24xlarge"),
    (
        "alicloud-instance-type-allowlist",
        ESS_CONFIG,
        at("instanceTypes", value=["ecs.gn7i-c8g1.2xlarge"]),
        "uses ecs.gn7i",
    ),
    ("aws-resource-required-tags", LT, drop("tags", "owner"), "lacks tag(s) owner"),
    ("aws-resource-required-tags", ASG, at("tags", value=[]), "lacks tag(s) service, environment, owner"),
    ("alicloud-resource-required-tags", ESS, drop("tags", "service"), "lacks tag(s) service"),
    (
        "kubernetes-resource-required-labels",
        DEPLOYMENT,
        drop("metadata", "labels", "courier/environment"),
        "courier/environment",
    ),
]
CASES = [c for c in CASES if c[3]]  # (the alarms cases are below: they remove resources)


def test_every_policy_has_a_failing_case() -> None:
    covered = (
        {c[0] for c in CASES}
        | set(REMOVALS)
        | {"aws-amp-rules-actionable", "kubernetes-prometheusrule-actionable"}
        | set(DATA)
        | {"courier-environment-policy-config"}  # tests/policies/test_enforcement.py
        | {"kubernetes-deployment-single-autoscaler"}  # tests/policies/test_kubernetes_autoscalers.py
        | DATA_STORES  # tests/policies/test_data_stores.py
        | FAMILIES  # tests/policies/test_families.py
    )
    assert covered == set(BY_NAME), sorted(set(BY_NAME) - covered)


@pytest.mark.parametrize("policy", sorted(BY_NAME))
def test_the_prod_plan_complies(prod: Plan, policy: str) -> None:
    assert violations(policy, prod.resources, PROD_CONFIG.get(policy)) == []


@pytest.mark.parametrize(
    ("policy", "resource_type", "mutation", "expected"),
    CASES,
    ids=[f"{c[0]}:{c[3][:30]}" for c in CASES],
)
def test_one_mutation_one_violation(prod: Plan, policy: str, resource_type: str, mutation, expected: str) -> None:
    # Some mutations matter on one resource of the type only (the HTTPS listener, not the
    # HTTP redirect): try each resource the change applies to until one is reported.
    seen: list[str] = []
    for index in range(sum(1 for r in prod.resources if r.type == resource_type)):
        try:
            resources = mutate(prod, resource_type, mutation, index=index)
        except LookupError:
            break
        found = violations(policy, resources, PROD_CONFIG.get(policy))
        if any(expected in v for v in found):
            return
        seen.extend(found)
    pytest.fail(f"{policy}: expected {expected!r}, got {seen[:3]}")


# Observability policies fail when the watcher is missing: remove it.
REMOVALS: dict[str, tuple[str, str]] = {
    "aws-autoscaling-group-alarms": ("aws:cloudwatch/metricAlarm:MetricAlarm", "has no CloudWatch alarm"),
    "aws-lb-alarms": ("aws:cloudwatch/metricAlarm:MetricAlarm", "has no CloudWatch alarm"),
    "alicloud-ess-group-alarms": ("alicloud:ess/alarm:Alarm", "has no CloudMonitor alarm on its CPU"),
    "kubernetes-deployment-disruption-budget": (
        "kubernetes:policy/v1:PodDisruptionBudget",
        "has no PodDisruptionBudget",
    ),
}


@pytest.mark.parametrize("policy", sorted(REMOVALS))
def test_a_missing_watcher_is_a_violation(prod: Plan, policy: str) -> None:
    removed, expected = REMOVALS[policy]
    resources = [r for r in prod.resources if r.type != removed]
    assert any(expected in v for v in violations(policy, resources, PROD_CONFIG.get(policy)))


@pytest.mark.parametrize(
    ("policy", "resource_type", "path"),
    [
        ("aws-amp-rules-actionable", "aws:amp/ruleGroupNamespace:RuleGroupNamespace", ("data",)),
        ("kubernetes-prometheusrule-actionable", "kubernetes:monitoring.coreos.com/v1:PrometheusRule", ("spec",)),
    ],
)
def test_alerts_without_routing_labels_or_runbook_are_refused(
    prod: Plan, policy: str, resource_type: str, path
) -> None:
    import yaml

    def strip(resource: Resource) -> None:
        if path == ("data",):
            document = yaml.safe_load(resource.inputs["data"])
            groups = document["groups"]
        else:
            groups = resource.inputs["spec"]["groups"]
        # An aggregated alert: one that keeps the series labels may take its region from them.
        alert = next(r for g in groups for r in g["rules"] if "alert" in r and " by (" in r["expr"])
        del alert["annotations"]["runbook_url"]
        alert["labels"]["severity"] = "page"
        alert["labels"].pop("region")
        if path == ("data",):
            resource.inputs["data"] = yaml.safe_dump(document)

    found = violations(policy, mutate(prod, resource_type, strip))
    assert any("no runbook_url" in v for v in found)
    assert any("severity 'page'" in v for v in found)
    assert any("lacks label(s) region" in v for v in found)


# The stack has no RDS instance (its Aurora clusters: tests/policies/test_data_stores.py): one
# compliant database, one mutation per violation.
DATABASE = {
    "engine": "aurora-postgresql",
    "multiAz": True,
    "storageEncrypted": True,
    "backupRetentionPeriod": 14,
    "deletionProtection": True,
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "orders-final",
    "tags": {"service": "orders", "environment": "prod", "owner": "team"},
}
DATA: dict[str, tuple[dict[str, Any], bool, str]] = {
    "aws-rds-multi-az": ({"multiAz": False}, True, "runs in one zone"),
    "aws-rds-encrypted": ({"storageEncrypted": False}, True, "stores data unencrypted"),
    "aws-rds-backup-retention": ({"backupRetentionPeriod": 1}, True, "keeps 1 days of backups"),
    "aws-rds-deletion-protection": ({"deletionProtection": False}, True, "set deletionProtection"),
    "aws-rds-final-snapshot": ({"skipFinalSnapshot": True}, True, "without a final snapshot"),
    "aws-rds-protected": ({}, False, "is not protected"),
}


def database(change: dict[str, Any], protect: bool) -> Resource:
    return Resource(
        urn="urn:pulumi:prod::courier-platform::aws:rds/instance:Instance::orders-db",
        type="aws:rds/instance:Instance",
        name="orders-db",
        custom=True,
        parent=None,
        provider=None,
        region="ap-southeast-1",
        protect=protect,
        dependencies=[],
        inputs={**DATABASE, **change},
    )


@pytest.mark.parametrize("policy", sorted(DATA))
def test_databases_are_resilient_encrypted_and_protected(policy: str) -> None:
    change, protect, expected = DATA[policy]
    assert violations(policy, [database({}, True)]) == []
    assert any(expected in v for v in violations(policy, [database(change, protect)]))


def test_an_unknown_value_is_a_violation_at_the_policys_own_level(prod: Plan) -> None:
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    resources = mutate(prod, LT, at("metadataOptions", "httpTokens", value=UNKNOWN_STRING_VALUE))
    found = violations("aws-ec2-instance-imdsv2", resources)
    assert any("cannot be verified during preview" in v for v in found)


def test_every_policy_is_named_service_resource_rule_and_documents_its_fix() -> None:
    import re

    for name, policy in BY_NAME.items():
        assert re.fullmatch(r"(aws|alicloud|kubernetes|courier)-[a-z0-9]+(-[a-z0-9]+)+", name), name
        assert policy.description.endswith("."), name
    assert len(BY_NAME) >= 25
