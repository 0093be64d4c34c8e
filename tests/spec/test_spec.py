"""EnvironmentSpec: every validation rule rejects its mistake with a precise, one-line message."""

from __future__ import annotations

import importlib.util
import re
from datetime import UTC
from typing import Any

import pytest

from components import catalog
from components.spec import Problem, SpecError
from tests import builders
from tests.builders import HANGZHOU, mutated, region, service, spec_of, valid_config
from tests.conftest import ROOT


def problems_of(config: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as raised:
        spec_of(config)
    return [str(p) for p in raised.value.problems]


def set_in(path: list[Any], value: Any):
    def change(config: dict[str, Any]) -> None:
        target = config
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def delete(path: list[Any]):
    def change(config: dict[str, Any]) -> None:
        target = config
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


# (test id, mutation, the exact problem line expected)
REJECTIONS = [
    (
        "environment_unknown",
        set_in(["environment"], "production"),
        "courier:environment: must be one of 'dev', 'staging' or 'prod' (got 'production')",
    ),
    ("domain_missing", delete(["domain"]), "courier:domain: is required"),
    (
        "domain_not_dns",
        set_in(["domain"], "Courier Example"),
        "courier:domain: must be a lowercase DNS name such as courier.example.com (got 'Courier Example')",
    ),
    (
        "regions_empty",
        set_in(["regions"], []),
        "courier:regions: must have at least 1 item",
    ),
    (
        "region_unknown",
        set_in(["regions", 0, "name"], "ap-southeast-9"),
        "courier:regions[0].name: is not an AWS region (got 'ap-southeast-9'; known: us-east-1,",
    ),
    (
        "region_duplicate",
        set_in(["regions", 1], region("ap-southeast-1", "standby", "10.20.0.0/16")),
        "courier:regions[1].name: duplicates regions[0] (got 'ap-southeast-1')",
    ),
    (
        "region_role_unknown",
        set_in(["regions", 1, "role"], "backup"),
        "courier:regions[ap-northeast-1].role: must be one of 'primary', 'secondary' or 'standby' (got 'backup')",
    ),
    (
        "region_cloud_unknown",
        set_in(["regions", 1, "cloud"], "gcp"),
        "courier:regions[1].cloud: must be one of 'aws' or 'alicloud' (got 'gcp')",
    ),
    (
        "zone_of_another_region",
        set_in(["regions", 0, "availabilityZones", 2], "ap-northeast-1a"),
        "courier:regions[ap-southeast-1].availabilityZones[2]: is not a zone of ap-southeast-1 (got 'ap-northeast-1a'; "
        "known: ap-southeast-1a, ap-southeast-1b, ap-southeast-1c)",
    ),
    (
        "zone_listed_twice",
        set_in(["regions", 0, "availabilityZones", 2], "ap-southeast-1a"),
        "courier:regions[ap-southeast-1].availabilityZones[2]: is listed twice (got 'ap-southeast-1a')",
    ),
    (
        "single_zone",
        set_in(["regions", 0, "availabilityZones"], ["ap-southeast-1a"]),
        "courier:regions[ap-southeast-1].availabilityZones: must list at least 2 zones so losing one keeps the region serving (got 1)",
    ),
    (
        "cidr_not_a_network",
        set_in(["regions", 0, "cidr"], "10.10.0.0/33"),
        "courier:regions[ap-southeast-1].cidr: must be an IPv4 network such as 10.10.0.0/16 (got '10.10.0.0/33')",
    ),
    (
        "cidr_public",
        set_in(["regions", 0, "cidr"], "8.8.0.0/16"),
        "courier:regions[ap-southeast-1].cidr: must be a private (RFC 1918) range (got '8.8.0.0/16')",
    ),
    (
        "cidr_too_large",
        set_in(["regions", 0, "cidr"], "10.0.0.0/8"),
        "courier:regions[ap-southeast-1].cidr: must be /16 or smaller, the largest VPC AWS allows (got '10.0.0.0/8')",
    ),
    (
        "cidr_too_small_for_zones",
        set_in(["regions", 0, "cidr"], "10.10.0.0/25"),
        "courier:regions[ap-southeast-1].cidr: /25 is too small for 3 zones (needs /24 or larger) (got '10.10.0.0/25')",
    ),
    (
        "cidr_overlapping",
        set_in(["regions", 1, "cidr"], "10.10.128.0/17"),
        "courier:regions[ap-northeast-1].cidr: overlaps regions[ap-southeast-1].cidr 10.10.0.0/16 (got '10.10.128.0/17')",
    ),
    (
        "no_primary",
        set_in(["regions", 0, "role"], "secondary"),
        "courier:regions: must have exactly one region with role 'primary' (got 0)",
    ),
    (
        "two_primaries",
        set_in(["regions", 1, "role"], "primary"),
        "courier:regions: must have exactly one region with role 'primary' (got 2)",
    ),
    (
        "prod_single_region",
        lambda c: c["regions"].pop(),
        "courier:regions: prod needs at least two regions (a primary plus a secondary or standby) "
        "to survive a region outage (got 1)",
    ),
    (
        "capacity_percent_out_of_range",
        set_in(["regions", 1, "capacityPercent"], 0),
        "courier:regions[ap-northeast-1].capacityPercent: must be between 1 and 100 (got 0)",
    ),
    (
        "nat_gateways_unknown",
        set_in(["regions", 0, "natGateways"], "none"),
        "courier:regions[ap-southeast-1].natGateways: must be one of 'perZone' or 'single' (got 'none')",
    ),
    (
        "unknown_region_key",
        set_in(["regions", 0, "zones"], ["ap-southeast-1a"]),
        "courier:regions[ap-southeast-1].zones: unknown key (allowed: name, cloud, role, status, availabilityZones, cidr, "
        "capacityPercent, natGateways, kubernetes, sshAllowedCidrs, quotas, certificateId, dataReplica, armsPrometheus)",
    ),
    (
        "services_empty",
        set_in(["services"], []),
        "courier:services: must have at least 1 item",
    ),
    (
        "service_name_invalid",
        set_in(["services", 0, "name"], "Orders_API"),
        "courier:services[0].name: must be a lowercase DNS label of 2 to 16 characters (got 'Orders_API')",
    ),
    (
        "service_duplicate",
        set_in(["services", 1, "name"], "orders"),
        "courier:services[1].name: duplicates services[0] (got 'orders')",
    ),
    (
        "port_privileged",
        set_in(["services", 0, "port"], 80),
        "courier:services[orders].port: must be between 1024 and 65535 (got 80)",
    ),
    (
        "port_shared",
        set_in(["services", 1, "port"], 8080),
        "courier:services[payments].port: is already used by services[orders] (got 8080)",
    ),
    (
        "health_path_relative",
        set_in(["services", 0, "healthCheckPath"], "healthz"),
        "courier:services[orders].healthCheckPath: must be an absolute URL path such as /healthz (got 'healthz')",
    ),
    (
        "platform_unknown",
        set_in(["services", 0, "platform"], "lambda"),
        "courier:services[orders].platform: must be one of 'vm' or 'kubernetes' (got 'lambda')",
    ),
    (
        "instance_type_malformed",
        set_in(["services", 0, "instanceTypes"], ["large"]),
        "courier:services[orders].instanceTypes[0]: must be an EC2 instance type such as c6i.large (got 'large')",
    ),
    (
        "instance_types_mixed_architectures",
        lambda c: c["services"][0].update(instanceTypes=["c6i.large", "c7g.large"], scaling={"warmPool": False}),
        "courier:services[orders].instanceTypes: must all share one CPU architecture, since the fleet boots one image "
        "(got c6i.large, c7g.large: arm64 and x86_64)",
    ),
    (
        "instance_type_twice",
        lambda c: c["services"][0].update(instanceTypes=["c6i.large", "c6i.large"], scaling={"warmPool": False}),
        "courier:services[orders].instanceTypes: lists an instance type twice (got ['c6i.large', 'c6i.large'])",
    ),
    (
        "warm_pool_with_mixed_types",
        set_in(["services", 0, "instanceTypes"], ["c6i.large", "c5.large"]),
        "courier:services[orders].instanceTypes: must list exactly one instance type when the fleet has a warm pool",
    ),
    (
        "image_not_a_parameter",
        set_in(["services", 0, "image"], "ami-0123456789abcdef0"),
        "courier:services[orders].image: must be an SSM parameter path such as /courier/images/orders",
    ),
    (
        "capacity_out_of_order",
        set_in(["services", 0, "capacity"], {"min": 4, "desired": 3, "max": 20}),
        "courier:services[orders].capacity: must satisfy min <= desired <= max (got min=4, desired=3, max=20)",
    ),
    (
        "capacity_desired_above_max",
        set_in(["services", 0, "capacity"], {"min": 2, "desired": 30, "max": 20}),
        "courier:services[orders].capacity: must satisfy min <= desired <= max (got min=2, desired=30, max=20)",
    ),
    (
        "capacity_min_below_prod_floor",
        set_in(["services", 0, "capacity"], {"min": 1, "desired": 1, "max": 20}),
        "courier:services[orders].capacity.min: must be at least 2 in prod so one instance per zone survives a zone "
        "outage (got 1)",
    ),
    (
        "capacity_max_zero",
        set_in(["services", 0, "capacity", "max"], 0),
        "courier:services[orders].capacity.max: must be between 1 and 1000 (got 0)",
    ),
    (
        "capacity_missing",
        delete(["services", 0, "capacity"]),
        "courier:services[orders].capacity: is required",
    ),
    (
        "cpu_target_too_high",
        set_in(["services", 0, "scaling"], {"cpuTarget": 150}),
        "courier:services[orders].scaling.cpuTarget: must be between 10 and 95 (got 150)",
    ),
    (
        "cpu_target_too_low",
        set_in(["services", 0, "scaling"], {"cpuTarget": 5}),
        "courier:services[orders].scaling.cpuTarget: must be between 10 and 95 (got 5)",
    ),
    (
        "cpu_target_not_a_number",
        set_in(["services", 0, "scaling"], {"cpuTarget": "high"}),
        "courier:services[orders].scaling.cpuTarget: must be a whole number (got 'high')",
    ),
    (
        "cpu_target_misspelled",
        set_in(["services", 0, "scaling"], {"cpuTarge": 80}),
        "courier:services[orders].scaling.cpuTarge: unknown key (allowed: cpuTarget, warmupSeconds, "
        "healthCheckGraceSeconds, warmPool, warmPoolSize, highResolution, surgeStepPercent); did you mean 'cpuTarget'?",
    ),
    (
        "warmup_too_long",
        set_in(["services", 0, "scaling"], {"warmupSeconds": 7200}),
        "courier:services[orders].scaling.warmupSeconds: must be between 0 and 3600 (got 7200)",
    ),
    (
        "grace_negative",
        set_in(["services", 0, "scaling"], {"healthCheckGraceSeconds": -1}),
        "courier:services[orders].scaling.healthCheckGraceSeconds: must be between 0 and 7200 (got -1)",
    ),
    (
        "warm_pool_not_boolean",
        set_in(["services", 0, "scaling"], {"warmPool": "sometimes"}),
        "courier:services[orders].scaling.warmPool: must be true or false (got 'sometimes')",
    ),
    (
        "slo_availability_too_high",
        set_in(["services", 0, "slo"], {"availabilityPercent": 100}),
        "courier:services[orders].slo.availabilityPercent: must be between 90 and 99.999 (got 100)",
    ),
    (
        "slo_latency_zero",
        set_in(["services", 0, "slo"], {"latencyP99Ms": 0}),
        "courier:services[orders].slo.latencyP99Ms: must be between 1 and 60000 (got 0)",
    ),
    (
        "promotion_without_offset",
        set_in(["promotions", 0, "start"], "2026-12-12T00:00:00"),
        "courier:promotions[double-12].start: must be an ISO 8601 date-time with a UTC offset, e.g. "
        "2026-11-11T00:00:00+08:00 (got '2026-12-12T00:00:00')",
    ),
    (
        "promotion_not_a_date",
        set_in(["promotions", 0, "end"], "next friday"),
        "courier:promotions[double-12].end: must be an ISO 8601 date-time with a UTC offset",
    ),
    (
        "promotion_ends_before_start",
        set_in(["promotions", 0, "end"], "2026-12-11T00:00:00+08:00"),
        "courier:promotions[double-12].end: must be after start 2026-12-12T00:00:00+08:00 (got 2026-12-11T00:00:00+08:00)",
    ),
    (
        "promotion_multiplier_below_one",
        set_in(["promotions", 0, "expectedPeakMultiplier"], 0.5),
        "courier:promotions[double-12].expectedPeakMultiplier: must be between 1.1 and 20 (got 0.5)",
    ),
    (
        "promotion_prewarm_too_long",
        set_in(["promotions", 0, "prewarmMinutes"], 5000),
        "courier:promotions[double-12].prewarmMinutes: must be between 0 and 1440 (got 5000)",
    ),
    (
        "promotion_duplicate",
        lambda c: c["promotions"].append(
            dict(c["promotions"][0], start="2027-01-01T00:00:00+08:00", end="2027-01-02T00:00:00+08:00")
        ),
        "courier:promotions[1].name: duplicates promotions[0] (got 'double-12')",
    ),
    (
        "promotion_overlap",
        lambda c: c["promotions"].append(
            dict(
                c["promotions"][0],
                name="flash-sale",
                start="2026-12-13T01:30:00+08:00",
                end="2026-12-13T05:00:00+08:00",
            )
        ),
        "courier:promotions[flash-sale].start: its window (including prewarmMinutes) overlaps promotions[double-12]",
    ),
    (
        "promotion_peak_beyond_limit",
        lambda c: c["services"][0].update(capacity={"min": 2, "desired": 400, "max": 800}),
        "courier:promotions[double-12].expectedPeakMultiplier: would need 1500 instances of services[orders], above the "
        "1000-instance limit (got 3)",
    ),
    (
        "unknown_top_level_key",
        set_in(["regoins"], []),
        "courier:regoins: unknown config key (allowed: environment, domain, owner, regions, services, promotions, alerting, hostImages, kubernetesAccess, registryReplication, storm, data, drills); "
        "did you mean 'courier:regions'?",
    ),
    (
        "services_not_a_list",
        set_in(["services"], "orders"),
        "courier:services: must be a list (got 'orders')",
    ),
    (
        "service_not_a_mapping",
        set_in(["services", 1], "payments"),
        "courier:services[1]: must be a mapping of keys to values (got 'payments')",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "expected"), [(m, e) for _, m, e in REJECTIONS], ids=[i for i, _, _ in REJECTIONS]
)
def test_rejects_with_a_precise_message(mutation, expected: str) -> None:
    problems = problems_of(mutated(mutation))
    assert any(p.startswith(expected) for p in problems), f"expected a line starting with:\n  {expected}\ngot:\n  " + (
        "\n  ".join(problems)
    )


def test_every_rule_has_a_distinct_rejecting_case() -> None:
    ids = [i for i, _, _ in REJECTIONS]
    assert len(ids) == len(set(ids))


def test_valid_config_is_accepted_with_defaults() -> None:
    spec = spec_of(valid_config())
    orders = spec.services[0]
    assert orders.scaling.cpu_target == 80
    assert orders.scaling.warmup_seconds == 300
    assert orders.health_check_path == "/healthz"
    assert orders.platform == "vm"
    assert spec.services[1].scaling.cpu_target == 70
    assert spec.primary.name == "ap-southeast-1"
    assert spec.primary.code == "apse1"


def test_reports_every_problem_at_once_one_line_each() -> None:
    def many(config: dict[str, Any]) -> None:
        config["environment"] = "production"
        config["services"][0]["scaling"] = {"cpuTarget": 150}
        config["services"][1]["capacity"] = {"min": 5, "desired": 1, "max": 2}
        config["regions"][1]["availabilityZones"][0] = "ap-northeast-1b"
        config["promotions"][0]["expectedPeakMultiplier"] = 50

    with pytest.raises(SpecError) as raised:
        spec_of(mutated(many))
    lines = str(raised.value).splitlines()
    assert lines[0] == f"invalid stack config ({len(raised.value.problems)} problems):"
    assert len(raised.value.problems) >= 5
    assert all("\n" not in str(p) for p in raised.value.problems)
    joined = "\n".join(lines)
    for path in (
        "courier:environment:",
        "courier:services[orders].scaling.cpuTarget:",
        "courier:services[payments].capacity:",
        "courier:regions[ap-northeast-1].availabilityZones[0]:",
        "courier:promotions[double-12].expectedPeakMultiplier:",
    ):
        assert path in joined


def test_spec_error_is_a_pulumi_run_error() -> None:
    import pulumi

    # The Pulumi CLI prints a RunError's message without a Python traceback.
    assert issubclass(SpecError, pulumi.RunError)


def test_spec_is_frozen() -> None:
    spec = spec_of(valid_config())
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen models
        spec.services[0].scaling.cpu_target = 90  # type: ignore[misc]


@pytest.mark.parametrize(
    ("environment", "nat_per_zone", "warm_pool", "deletion_protection"),
    [("prod", True, True, True), ("staging", False, False, False), ("dev", False, False, False)],
)
def test_environment_decides_safe_defaults(environment, nat_per_zone, warm_pool, deletion_protection) -> None:
    def single_region(config: dict[str, Any]) -> None:
        if environment != "prod":
            config["regions"].pop()
            for s in config["services"]:
                s["capacity"] = {"min": 1, "desired": 1, "max": 4}

    spec = spec_of(mutated(single_region, environment))
    assert spec.nat_per_zone(spec.primary) is nat_per_zone
    assert spec.warm_pool(spec.services[0]) is warm_pool
    assert spec.safety.deletion_protection is deletion_protection


def test_region_settings_override_environment_defaults() -> None:
    def overrides(config: dict[str, Any]) -> None:
        config["regions"][1]["natGateways"] = "single"
        config["services"][0]["scaling"] = {"warmPool": False}

    spec = spec_of(mutated(overrides))
    assert spec.nat_per_zone(spec.regions[0]) is True
    assert spec.nat_per_zone(spec.regions[1]) is False
    assert spec.warm_pool(spec.services[0]) is False


def test_standby_capacity_is_scaled_but_keeps_full_max() -> None:
    spec = spec_of(valid_config())
    standby = spec.regions[1]
    capacity = spec.capacity(spec.services[0], standby)
    assert (capacity.min, capacity.desired, capacity.max) == (2, 2, 20)


def test_past_promotions_are_not_upcoming() -> None:
    from datetime import datetime

    from components.spec import build_spec

    config = valid_config()
    later = datetime(2026, 12, 14, tzinfo=UTC)
    spec = build_spec(config, project="p", stack="s", as_of=later)
    assert spec.upcoming_promotions() == ()
    assert len(spec.promotions) == 1


def test_tags_name_service_environment_and_owner() -> None:
    spec = spec_of(valid_config(), stack="prod")
    assert spec.tags("orders") == {
        "project": "courier-platform",
        "environment": "prod",
        "stack": "prod",
        "owner": "platform-team",
        "service": "orders",
        "managed-by": "pulumi",
    }


def test_service_routes_and_public_health_path() -> None:
    spec = spec_of(mutated(lambda c: c["services"].append(service("tracking", 8082, healthCheckPath="/ready"))))
    tracking = spec.services[2]
    assert tracking.path_patterns == ("/tracking", "/tracking/*")
    assert tracking.public_health_path == "/tracking/ready"


ALERTING_REJECTIONS = [
    (
        "alerting_missing",
        delete(["alerting"]),
        "courier:alerting: is required",
    ),
    (
        "runbook_base_not_https",
        set_in(["alerting", "runbookBaseUrl"], "http://wiki/runbooks"),
        "courier:alerting.runbookBaseUrl: must be an https:// URL (got 'http://wiki/runbooks')",
    ),
    (
        "receiver_role_unknown",
        set_in(["alerting", "receivers", "incident-comander"], []),
        "courier:alerting.receivers.incident-comander: unknown role (allowed: incident-commander, tech-expert, "
        "ops-coordinator, customer-service-lead, data-analyst, deadmans-switch); did you mean 'incident-commander'?",
    ),
    (
        "receiver_email_malformed",
        set_in(["alerting", "receivers", "tech-expert"], [{"protocol": "email", "endpoint": "sre-oncall"}]),
        "courier:alerting.receivers.tech-expert[0].endpoint: must be an email address for protocol 'email' (got 'sre-oncall')",
    ),
    (
        "receiver_https_not_https",
        set_in(["alerting", "receivers", "deadmans-switch"], [{"protocol": "https", "endpoint": "http://beat"}]),
        "courier:alerting.receivers.deadmans-switch[0].endpoint: must be an https:// URL for protocol 'https'",
    ),
    (
        "receiver_sms_not_e164",
        set_in(["alerting", "receivers", "incident-commander"], [{"protocol": "sms", "endpoint": "91234567"}]),
        "courier:alerting.receivers.incident-commander[0].endpoint: must be an E.164 phone number",
    ),
    (
        "receiver_protocol_unknown",
        set_in(["alerting", "receivers", "tech-expert"], [{"protocol": "slack", "endpoint": "#sre"}]),
        "courier:alerting.receivers.tech-expert[0].protocol: must be one of 'email', 'https' or 'sms' (got 'slack')",
    ),
    (
        "prod_role_without_receiver",
        delete(["alerting", "receivers", "data-analyst"]),
        "courier:alerting.receivers.data-analyst: prod needs at least one receiver for every role, or its alerts "
        "reach nobody (got none)",
    ),
    (
        "threshold_out_of_range",
        set_in(["alerting", "thresholds"], {"orderFailurePercent": 80}),
        "courier:alerting.thresholds.orderFailurePercent: must be between 0.1 and 50 (got 80)",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "expected"), [(m, e) for _, m, e in ALERTING_REJECTIONS], ids=[i for i, _, _ in ALERTING_REJECTIONS]
)
def test_rejects_alerting_mistakes(mutation, expected: str) -> None:
    problems = problems_of(mutated(mutation))
    assert any(p.startswith(expected) for p in problems), "\n".join(problems)


def test_a_secret_endpoint_the_offline_plan_cannot_read_is_accepted() -> None:
    from components.spec import SECRET_PLACEHOLDER

    config = mutated(
        set_in(["alerting", "receivers", "incident-commander"], [{"protocol": "https", "endpoint": SECRET_PLACEHOLDER}])
    )
    assert spec_of(config).alerting.receivers["incident-commander"][0].endpoint == SECRET_PLACEHOLDER


def test_dev_may_leave_roles_without_receivers() -> None:
    def dev(config: dict[str, Any]) -> None:
        config["regions"].pop()
        config["alerting"]["receivers"] = {}

    assert spec_of(mutated(dev, "dev")).alerting.receivers == {}


KUBE_IMAGE = "registry.example.com/notify@sha256:" + "c" * 64
#: On an EKS cluster the stack builds: the release from ECR in the cluster's region.
KUBE_SERVICE = {
    "name": "notify",
    "port": 8090,
    "platform": "kubernetes",
    "capacity": {"min": 2, "desired": 3, "max": 12},
    "artifact": {"digest": "sha256:" + "c" * 64},
    "kubernetes": {"cpuRequestMillicores": 500},
}
#: On an existing cluster: a full image reference, no artifact.
EXISTING_KUBE_SERVICE = {
    **{k: v for k, v in KUBE_SERVICE.items() if k != "artifact"},
    "kubernetes": {"image": KUBE_IMAGE},
}


def with_cluster(config: dict[str, Any]) -> None:
    config["services"].append(dict(KUBE_SERVICE))
    for entry in config["regions"]:
        entry["kubernetes"] = {"cluster": "eks", "apiAllowedCidrs": builders.NAMED_NETWORKS}


def with_existing_cluster(config: dict[str, Any]) -> None:
    config["services"].append(dict(EXISTING_KUBE_SERVICE))
    for entry in config["regions"]:
        entry["kubernetes"] = {"cluster": "existing", "kubeconfig": "[secret]"}


PLATFORM_REJECTIONS = [
    (
        "alicloud_region_needs_a_certificate",
        lambda c: c["regions"].append({k: v for k, v in HANGZHOU.items() if k != "certificateId"}),
        "courier:regions[cn-hangzhou].certificateId: is required for an Alibaba Cloud region",
    ),
    (
        "alicloud_region_must_be_secondary",
        lambda c: c["regions"].append(dict(HANGZHOU, role="standby")),
        "courier:regions[cn-hangzhou].role: an Alibaba Cloud region serves mainland China as an active region and must be "
        "'secondary' (got 'standby')",
    ),
    (
        "alicloud_region_in_prod_needs_its_prometheus_alerts",
        lambda c: c["regions"].append(dict(HANGZHOU, armsPrometheus=False)),
        "courier:regions[cn-hangzhou].armsPrometheus: must be true in prod for an Alibaba Cloud region: without it "
        "the region has none of the AWS regions' Prometheus alerts",
    ),
    (
        "arms_prometheus_on_aws",
        set_in(["regions", 0, "armsPrometheus"], True),
        "courier:regions[ap-southeast-1].armsPrometheus: is only for Alibaba Cloud regions",
    ),
    (
        "alicloud_zone_unknown",
        lambda c: c["regions"].append(dict(HANGZHOU, availabilityZones=["cn-hangzhou-h", "cn-hangzhou-z"])),
        "courier:regions[cn-hangzhou].availabilityZones[1]: is not a zone of cn-hangzhou",
    ),
    (
        "primary_must_be_aws",
        lambda c: c["regions"].insert(0, dict(HANGZHOU, role="primary")) or c["regions"][1].update(role="secondary"),
        "courier:regions[cn-hangzhou].cloud: the primary region must be an AWS region",
    ),
    (
        "certificate_id_on_aws",
        set_in(["regions", 0, "certificateId"], "12345678"),
        "courier:regions[ap-southeast-1].certificateId: is only for Alibaba Cloud regions (AWS regions use ACM)",
    ),
    (
        "eks_on_alicloud",
        lambda c: c["regions"].append(dict(HANGZHOU, kubernetes={"cluster": "eks"})),
        "courier:regions[cn-hangzhou].kubernetes.cluster: eks is only for AWS regions; use 'existing' with a kubeconfig",
    ),
    (
        "existing_cluster_without_kubeconfig",
        set_in(["regions", 0, "kubernetes"], {"cluster": "existing"}),
        "courier:regions[ap-southeast-1].kubernetes.kubeconfig: is required when cluster is 'existing'",
    ),
    (
        "node_type_unknown",
        # A real EC2 type (an unknown one stops at the EC2 catalogue) the node catalogue lacks.
        set_in(["regions", 0, "kubernetes"], {"nodeInstanceTypes": ["m5.large"]}),
        "courier:regions[ap-southeast-1].kubernetes.nodeInstanceTypes[0]: is not a node type the stack can size (got 'm5.large'",
    ),
    (
        "api_cidr_invalid",
        set_in(["regions", 0, "kubernetes"], {"apiAllowedCidrs": ["office"]}),
        "courier:regions[ap-southeast-1].kubernetes.apiAllowedCidrs[0]: must be an IPv4 network (got 'office')",
    ),
    (
        "kubernetes_version_malformed",
        set_in(["regions", 0, "kubernetes"], {"version": "latest"}),
        "courier:regions[ap-southeast-1].kubernetes.version: must be a Kubernetes minor version such as 1.34 (got 'latest')",
    ),
    (
        "kubernetes_service_without_workload",
        lambda c: with_cluster(c) or c["services"][-1].pop("kubernetes"),
        "courier:services[notify].kubernetes: is required when platform is 'kubernetes'",
    ),
    (
        "vm_service_with_workload",
        set_in(["services", 0, "kubernetes"], {"image": "registry.example.com/orders:1"}),
        "courier:services[orders].kubernetes: is only for platform: kubernetes (got platform 'vm')",
    ),
    (
        "workload_image_malformed",
        lambda c: with_existing_cluster(c) or c["services"][-1].update(kubernetes={"image": "Not An Image"}),
        "courier:services[notify].kubernetes.image: must be a container image reference",
    ),
    (
        "workload_cpu_request_too_small",
        lambda c: with_cluster(c) or c["services"][-1].update(kubernetes={"cpuRequestMillicores": 10}),
        "courier:services[notify].kubernetes.cpuRequestMillicores: must be between 50 and 16000 (got 10)",
    ),
    (
        "node_port_collision",
        lambda c: with_cluster(c) or c["services"].append(dict(KUBE_SERVICE, name="notify2", port=8090 + 2768)),
        "courier:services[notify2].port: maps to NodePort 31530, already taken by services[notify]; pick another port",
    ),
    (
        "kubernetes_service_in_a_region_without_a_cluster",
        lambda c: c["services"].append(dict(KUBE_SERVICE)),
        "courier:regions[ap-southeast-1].kubernetes: is required: services[notify] runs on Kubernetes in this region",
    ),
    (
        "service_region_unknown",
        set_in(["services", 0, "regions"], ["ap-southeast-1", "eu-west-1"]),
        "courier:services[orders].regions[1]: is not a configured region (got 'eu-west-1'",
    ),
    (
        "service_regions_empty",
        set_in(["services", 0, "regions"], []),
        "courier:services[orders].regions: must name at least one region",
    ),
    (
        "alicloud_instance_type_malformed",
        set_in(["services", 0, "alicloudInstanceTypes"], ["c7.large"]),
        "courier:services[orders].alicloudInstanceTypes[0]: must be an Alibaba Cloud instance type such as ecs.c7.large",
    ),
    (
        "kubernetes_image_by_tag_in_prod",
        lambda c: (
            with_existing_cluster(c),
            c["services"][-1].update(kubernetes={"image": "registry.example.com/notify:1.0.0"}),
        ),
        "courier:services[notify].kubernetes.image: prod runs releases pinned by digest",
    ),
    (
        "eks_without_an_admin",
        lambda c: (c["regions"][0].update(kubernetes={"cluster": "eks"}), c.update(kubernetesAccess=[])),
        "courier:kubernetesAccess: must list at least one admin principal: regions[ap-southeast-1] builds an EKS cluster, and "
        "only the principals listed here can use it, including the role that runs `pulumi up` (got none)",
    ),
    (
        "eks_with_viewers_only",
        lambda c: (
            c["regions"][0].update(kubernetes={"cluster": "eks"}),
            c.update(kubernetesAccess=[{"principalArn": "arn:aws:iam::123456789012:role/ci", "access": "view"}]),
        ),
        "courier:kubernetesAccess: must list at least one admin principal",
    ),
    (
        "access_principal_twice",
        set_in(
            ["kubernetesAccess"],
            [
                {"principalArn": "arn:aws:iam::123456789012:role/ci", "access": "admin"},
                {"principalArn": "arn:aws:iam::123456789012:role/ci", "access": "view"},
            ],
        ),
        "courier:kubernetesAccess[1].principalArn: duplicates kubernetesAccess[0] "
        "(got 'arn:aws:iam::123456789012:role/ci')",
    ),
    (
        "access_principal_not_an_arn",
        set_in(["kubernetesAccess"], [{"principalArn": "deployer", "access": "admin"}]),
        "courier:kubernetesAccess[0].principalArn: must be an IAM role or user ARN",
    ),
    (
        "eks_version_without_addons",
        set_in(["regions", 0, "kubernetes"], {"cluster": "eks", "version": "1.29"}),
        "courier:regions[ap-southeast-1].kubernetes.version: must be a Kubernetes minor the stack has add-ons for",
    ),
    (
        "ssh_cidr_malformed",
        set_in(["regions", 0, "sshAllowedCidrs"], ["office"]),
        "courier:regions[ap-southeast-1].sshAllowedCidrs[0]: must be an IPv4 network such as 203.0.113.0/24 (got 'office')",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "expected"), [(m, e) for _, m, e in PLATFORM_REJECTIONS], ids=[i for i, _, _ in PLATFORM_REJECTIONS]
)
def test_rejects_impossible_cloud_and_platform_combinations(mutation, expected: str) -> None:
    problems = problems_of(mutated(mutation))
    assert any(p.startswith(expected) for p in problems), "\n".join(problems)


def test_a_kubernetes_service_may_be_limited_to_regions_with_a_cluster() -> None:
    def limited(config: dict[str, Any]) -> None:
        config["regions"].append(dict(HANGZHOU))
        config["regions"][0]["kubernetes"] = {"cluster": "eks", "apiAllowedCidrs": builders.NAMED_NETWORKS}
        config["regions"][1]["kubernetes"] = {"cluster": "existing", "kubeconfig": "[secret]"}
        # Both kinds of cluster: the artifact for EKS, the image for the existing one.
        config["services"].append(
            dict(KUBE_SERVICE, kubernetes={"image": KUBE_IMAGE}, regions=["ap-southeast-1", "ap-northeast-1"])
        )

    spec = spec_of(mutated(limited))
    hangzhou = spec.regions[2]
    assert [s.name for s in spec.services_in(hangzhou)] == ["orders", "payments"]
    assert [s.name for s in spec.services_on("kubernetes", spec.regions[0])] == ["notify"]
    notify = spec.services[2]
    assert notify.node_port == 30000 + (8090 - 1024) % 2768
    assert (
        notify.kubernetes is not None and notify.kubernetes.cpu_limit == 1000 and notify.kubernetes.memory_limit == 512
    )


def test_a_kubernetes_service_on_eks_names_its_artifact_and_no_image() -> None:
    spec = spec_of(mutated(with_cluster))
    notify = spec.services[2]
    assert notify.artifact is not None and notify.artifact.reference == "@sha256:" + "c" * 64
    assert notify.kubernetes is not None and notify.kubernetes.image is None
    assert spec.services_on_eks() == (notify,)
    assert spec.repository(notify) == "courier/test/notify"


def test_a_kubernetes_service_on_an_existing_cluster_names_its_image_and_no_artifact() -> None:
    spec = spec_of(mutated(with_existing_cluster))
    notify = spec.services[2]
    assert notify.artifact is None and notify.kubernetes is not None and notify.kubernetes.image == KUBE_IMAGE
    assert spec.services_on_eks() == ()


KUBERNETES_RELEASE_REJECTIONS = [
    (
        "eks_service_without_artifact",
        lambda c: with_cluster(c) or c["services"][-1].pop("artifact"),
        "courier:services[notify].artifact: is required: the service runs on the EKS cluster of regions[ap-southeast-1], whose "
        "pods pull the release from the stack's ECR repository in their own region",
    ),
    (
        "eks_service_with_an_image_no_cluster_runs",
        lambda c: with_cluster(c) or c["services"][-1].update(kubernetes={"image": KUBE_IMAGE}),
        "courier:services[notify].kubernetes.image: is only for existing clusters: on EKS the service runs its "
        "artifact from ECR",
    ),
    (
        "eks_service_artifact_by_tag_in_prod",
        lambda c: with_cluster(c) or c["services"][-1].update(artifact={"tag": "1.0.0"}),
        "courier:services[notify].artifact.tag: prod runs releases pinned by digest",
    ),
    (
        "eks_service_artifact_with_digest_and_tag",
        lambda c: with_cluster(c) or c["services"][-1].update(artifact={"digest": "sha256:" + "c" * 64, "tag": "1"}),
        "courier:services[notify].artifact: must name exactly one of digest or tag",
    ),
    (
        "existing_cluster_service_without_image",
        lambda c: with_existing_cluster(c) or c["services"][-1].update(kubernetes={"cpuRequestMillicores": 500}),
        "courier:services[notify].kubernetes.image: is required: the service runs on the existing cluster of regions[ap-southeast-1]",
    ),
    (
        "existing_cluster_service_with_an_artifact_no_cluster_runs",
        lambda c: with_existing_cluster(c) or c["services"][-1].update(artifact={"digest": "sha256:" + "c" * 64}),
        "courier:services[notify].artifact: is only for VM fleets and EKS clusters the stack builds",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [(m, e) for _, m, e in KUBERNETES_RELEASE_REJECTIONS],
    ids=[i for i, _, _ in KUBERNETES_RELEASE_REJECTIONS],
)
def test_rejects_a_kubernetes_release_its_clusters_cannot_run(mutation, expected: str) -> None:
    problems = problems_of(mutated(mutation))
    assert [p for p in problems if p.startswith("courier:services[notify]")] == [
        p for p in problems if p.startswith(expected)
    ], "\n".join(problems)
    assert any(p.startswith(expected) for p in problems), "\n".join(problems)


# --------------------------------------------------------------------------------------
# Input hardening (issue 8, part 3): what pydantic's lax mode would quietly accept, values
# no cloud offers, and values too long to echo.
# --------------------------------------------------------------------------------------

HARDENING_REJECTIONS = [
    (
        "whole_number_given_true",
        set_in(["regions", 1, "capacityPercent"], True),
        "courier:regions[ap-northeast-1].capacityPercent: must be a whole number (got true)",
    ),
    (
        "whole_number_given_yes",
        set_in(["regions", 1, "capacityPercent"], "yes"),
        "courier:regions[ap-northeast-1].capacityPercent: must be a whole number (got 'yes')",
    ),
    (
        "number_given_false",
        set_in(["promotions", 0, "expectedPeakMultiplier"], False),
        "courier:promotions[double-12].expectedPeakMultiplier: must be a number (got false)",
    ),
    (
        "flag_given_yes",
        set_in(["services", 0, "scaling"], {"warmPool": "yes"}),
        "courier:services[orders].scaling.warmPool: must be true or false (got 'yes')",
    ),
    (
        "flag_given_one",
        set_in(["services", 0, "scaling"], {"warmPool": 1}),
        "courier:services[orders].scaling.warmPool: must be true or false (got 1)",
    ),
    (
        "promotion_start_unix_timestamp",
        set_in(["promotions", 0, "start"], 1765468800),
        "courier:promotions[double-12].start: must be an ISO 8601 date-time with a UTC offset, e.g. "
        "2026-11-11T00:00:00+08:00, not a Unix timestamp (got 1765468800)",
    ),
    (
        "promotion_end_unix_timestamp_as_text",
        set_in(["promotions", 0, "end"], "1765555200"),
        "courier:promotions[double-12].end: must be an ISO 8601 date-time with a UTC offset, e.g. "
        "2026-11-11T00:00:00+08:00 (got '1765555200')",
    ),
    (
        "ec2_size_unknown",
        set_in(["services", 0, "instanceTypes"], ["c6i.lage"]),
        "courier:services[orders].instanceTypes[0]: is not an EC2 instance type (got 'c6i.lage'); did you mean "
        "'c6i.large'? c6i comes in large, xlarge, 2xlarge, 4xlarge, 8xlarge, 12xlarge, 16xlarge, 24xlarge, "
        "32xlarge, metal",
    ),
    (
        "ec2_family_unknown",
        set_in(["services", 0, "instanceTypes"], ["c6x.large"]),
        "courier:services[orders].instanceTypes[0]: is not an EC2 instance type (got 'c6x.large'): AWS's EC2 API "
        "model (botocore ",
    ),
    (
        "ecs_size_unknown",
        set_in(["services", 0, "alicloudInstanceTypes"], ["ecs.c7.larg"]),
        "courier:services[orders].alicloudInstanceTypes[0]: is not an Alibaba Cloud ECS instance type (got "
        "'ecs.c7.larg'); did you mean 'ecs.c7.large'? ecs.c7 comes in large, xlarge, 2xlarge, 3xlarge, 4xlarge, "
        "6xlarge, 8xlarge, 16xlarge, 32xlarge",
    ),
    (
        "ecs_family_unknown",
        set_in(["services", 0, "alicloudInstanceTypes"], ["ecs.g77.large"]),
        "courier:services[orders].alicloudInstanceTypes[0]: is not an Alibaba Cloud ECS instance type (got "
        "'ecs.g77.large'): the Alibaba Cloud catalogue in components/catalog.py has no family 'ecs.g77'; did you "
        "mean 'ecs.g7.large'?",
    ),
    (
        "node_type_not_ec2",
        set_in(["regions", 0, "kubernetes"], {"nodeInstanceTypes": ["m6i.xlage"]}),
        "courier:regions[ap-southeast-1].kubernetes.nodeInstanceTypes[0]: is not an EC2 instance type (got 'm6i.xlage'); "
        "did you mean 'm6i.xlarge'?",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [(m, e) for _, m, e in HARDENING_REJECTIONS],
    ids=[i for i, _, _ in HARDENING_REJECTIONS],
)
def test_rejects_what_lax_parsing_or_a_typo_would_let_through(mutation, expected: str) -> None:
    problems = problems_of(mutated(mutation))
    assert any(p.startswith(expected) for p in problems), "\n".join(problems)


def test_real_instance_types_of_every_shape_are_accepted() -> None:
    def shapes(config: dict[str, Any]) -> None:
        config["services"][0]["instanceTypes"] = ["c7i.metal-24xl"]
        config["services"][0]["alicloudInstanceTypes"] = ["ecs.g8i.xlarge", "ecs.hfc7.2xlarge"]

    spec = spec_of(mutated(shapes))
    assert spec.services[0].instance_types == ("c7i.metal-24xl",)


def test_an_invalid_list_item_is_one_problem_not_two() -> None:
    # pydantic also says the list is "too short after validation"; that only repeats the item.
    problems = problems_of(
        mutated(set_in(["regions"], [region("ap-southeast-1", "primary", "10.10.0.0/16", capacityPercent=0)]))
    )
    assert problems == ["courier:regions[ap-southeast-1].capacityPercent: must be between 1 and 100 (got 0)"]


def test_a_long_value_is_echoed_in_at_most_200_characters() -> None:
    problems = problems_of(mutated(set_in(["domain"], "d" * 100_000)))
    line = next(p for p in problems if p.startswith("courier:domain:"))
    echoed = line.split("(got ", 1)[1]
    assert len(echoed) <= 201 and "…" in echoed


def test_any_message_keeps_a_long_word_short() -> None:
    # Whoever builds a Problem (a rule, the loader), a long value in it is shortened.
    problem = Problem("courier:services[0].regions[0]", f"is not a configured region (got {'r' * 10_000!r})")
    assert len(str(problem)) < 300
    assert "r…r" in str(problem)


def test_at_most_thirty_problems_are_listed() -> None:
    error = SpecError([Problem(f"courier:x{n:02}", "is wrong") for n in range(42)])
    lines = str(error).splitlines()
    assert lines[0] == "invalid stack config (42 problems):"
    assert lines[1:31] == [f"courier:x{n:02}: is wrong" for n in range(30)]
    assert lines[31:] == ["... and 12 more problems"]
    assert len(error.problems) == 42


def _shipped_instance_types() -> list[tuple[str, str]]:
    found = []
    for path in sorted([*(ROOT / "stacks").glob("*.yaml"), *(ROOT / "tests" / "fixtures").glob("*.yaml")]):
        text = path.read_text(encoding="utf-8")
        for key, listed in re.findall(r"(alicloudInstanceTypes|nodeInstanceTypes|instanceTypes): \[([^\]]*)\]", text):
            found += [(key, t.strip()) for t in listed.split(",")]
    return found


def test_the_catalogues_know_every_shipped_instance_type() -> None:
    shipped = _shipped_instance_types()
    assert shipped
    for key, name in shipped:
        exists = (
            catalog.ecs_instance_type_exists if key == "alicloudInstanceTypes" else catalog.ec2_instance_type_exists
        )
        assert exists(name), f"{key}: {name}"
    assert all(catalog.ec2_instance_type_exists(t) for t in catalog.NODE_TYPES)


def test_the_ec2_catalogue_is_botocores_instance_type_enum() -> None:
    tool_spec = importlib.util.spec_from_file_location("ec2_instance_types", ROOT / "tools" / "ec2_instance_types.py")
    assert tool_spec is not None and tool_spec.loader is not None
    tool = importlib.util.module_from_spec(tool_spec)
    tool_spec.loader.exec_module(tool)
    types, version = tool.instance_types()
    committed = {f"{family}.{size}" for family, sizes in catalog.EC2_FAMILIES.items() for size in sizes}
    # Never accept a type AWS's model does not list.
    assert committed <= set(types), sorted(committed - set(types))
    if version != catalog.EC2_BOTOCORE_VERSION:
        pytest.skip(
            f"botocore {version} is installed but the catalogue comes from {catalog.EC2_BOTOCORE_VERSION}: "
            f"{len(set(types) - committed)} newer types; run python tools/ec2_instance_types.py"
        )
    assert tool.TARGET.read_text(encoding="utf-8") == tool.render(types, version)


def test_a_key_in_the_project_namespace_is_refused_not_ignored() -> None:
    # `pulumi config set owner x` (no namespace) stores courier-platform:owner, which the
    # program never reads: under the real CLI it would be dropped without a word.
    import json as _json

    import pytest as _pytest

    from components.spec import SpecError, load_spec
    from courier.engine import record
    from tests.builders import valid_config

    config = {f"courier:{k}": v if isinstance(v, str) else _json.dumps(v) for k, v in valid_config().items()}
    config["courier-platform:owner"] = "night-shift"
    with _pytest.raises(SpecError) as raised:
        record(load_spec, project="courier-platform", stack="test", config=config)
    assert [str(p) for p in raised.value.problems] == [
        "courier-platform:owner: is in the project's namespace, which nothing reads; did you mean "
        "'courier:owner'? (set it with `pulumi config set courier:owner ...`)"
    ]


def test_a_node_image_release_must_belong_to_the_clusters_version() -> None:
    def pinned(release: str):
        def change(config: dict[str, Any]) -> None:
            config["regions"][0]["kubernetes"] = {
                "cluster": "eks",
                "version": "1.34",
                "nodeImageRelease": release,
                "apiAllowedCidrs": builders.NAMED_NETWORKS,
            }

        return change

    assert spec_of(mutated(pinned("1.34.2-20251120"))).regions[0].kubernetes.node_image_release == "1.34.2-20251120"
    assert problems_of(mutated(pinned("1.33.5-20251120"))) == [
        "courier:regions[ap-southeast-1].kubernetes.nodeImageRelease: must be a release of the cluster's Kubernetes 1.34 "
        "(got '1.33.5-20251120')"
    ]
    assert problems_of(mutated(pinned("latest")))[0].startswith(
        "courier:regions[ap-southeast-1].kubernetes.nodeImageRelease: must be an EKS AMI release such as 1.34.2-20251120"
    )


def test_data_stores_are_refused_for_kubernetes_services_and_named_once() -> None:
    def change(config: dict) -> None:
        config["services"][-1]["stores"] = ["database"]
        config["services"][0]["stores"] = ["media", "media"]

    config = builders.mutated(change)
    config["services"].append(builders.kubernetes_service("notifications", 8090, stores=["cache"]))
    config["regions"][0]["kubernetes"] = {"cluster": "eks"}
    config["services"][-1]["regions"] = [config["regions"][0]["name"]]
    problems = problems_of(config)
    assert any(p.startswith("courier:services[notifications].stores: is for VM services so far") for p in problems)
    assert "courier:services[orders].stores[1]: is listed twice (got 'media')" in problems


def test_china_data_must_stay_in_the_country() -> None:
    def change(config: dict) -> None:
        china = dict(
            builders.HANGZHOU,
            dataReplica={
                "name": "cn-hongkong",
                "availabilityZones": ["cn-hongkong-b", "cn-hongkong-c"],
                "cidr": "10.41.0.0/16",
            },
        )
        config["regions"].append(china)

    problems = problems_of(builders.mutated(change))
    assert any("dataReplica.name: must be in the same country as cn-hangzhou (CN)" in p for p in problems), problems
