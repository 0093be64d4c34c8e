"""The shipped stacks, planned offline: per region, what `pulumi up` would build."""

from __future__ import annotations

import pytest

from components import catalog
from components.spec import EnvironmentSpec, spec_from_config
from courier.plan import Plan, Resource
from courier.stackconfig import load_project, load_stack_config
from tests.conftest import AS_OF, PROJECT, ROOT, SHIPPED_STACKS, StackPlans

EXPECTED_REGIONS = {
    "dev": {"ap-southeast-1"},
    "staging": {"ap-southeast-1", "ap-northeast-1"},
    "prod": {"ap-southeast-1", "ap-northeast-1", "ap-northeast-2"},
}
COURIER_SERVICES = {"orders", "dispatch", "tracking", "payments"}


def spec_for(stack: str) -> EnvironmentSpec:
    """The spec of a shipped stack, read from its file the way the program reads it."""
    config, _ = load_stack_config(load_project(ROOT), stack)
    values = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("courier:")}
    return spec_from_config(values, project=PROJECT, stack=stack, as_of=AS_OF)


def in_region(plan: Plan, resource_type: str, region: str) -> list[Resource]:
    return [r for r in plan.of_type(resource_type) if r.region == region]


@pytest.fixture(params=SHIPPED_STACKS)
def stack(request) -> str:
    return request.param


def test_plan_covers_exactly_the_configured_regions(stack_plans: StackPlans, stack: str) -> None:
    assert set(stack_plans[stack].regions()) == EXPECTED_REGIONS[stack]


def test_every_cloud_resource_has_an_explicit_provider_in_its_region(stack_plans: StackPlans, stack: str) -> None:
    plan = stack_plans[stack]
    providers = {r.urn: r for r in plan.of_type("pulumi:providers:aws")}
    for resource in plan.resources:
        if resource.custom and not resource.type.startswith("pulumi:providers:"):
            assert resource.provider in providers, resource.urn
            assert resource.region == providers[resource.provider].inputs["region"], resource.urn


def test_each_region_spreads_subnets_over_its_zones(stack_plans: StackPlans, stack: str) -> None:
    plan = stack_plans[stack]
    spec = spec_for(stack)
    for region in spec.regions:
        subnets = in_region(plan, "aws:ec2/subnet:Subnet", region.name)
        zones = {s.inputs["availabilityZone"] for s in subnets}
        assert zones == set(region.availability_zones)
        assert zones <= set(catalog.region("aws", region.name).zones)
        assert len(zones) >= (3 if stack == "prod" else 2)
        assert len(subnets) == 2 * len(zones)


def test_each_region_has_an_alb_with_a_health_checked_target_group_per_service(
    stack_plans: StackPlans, stack: str
) -> None:
    plan = stack_plans[stack]
    spec = spec_for(stack)
    for region in spec.regions:
        (alb,) = in_region(plan, "aws:lb/loadBalancer:LoadBalancer", region.name)
        assert alb.inputs["internal"] is False
        groups = in_region(plan, "aws:lb/targetGroup:TargetGroup", region.name)
        by_service = {g.inputs["tags"]["service"]: g for g in groups}
        assert set(by_service) == COURIER_SERVICES
        for service in spec.services:
            check = by_service[service.name].inputs["healthCheck"]
            assert check["enabled"] is True
            assert check["path"] == service.health_check_path
            assert by_service[service.name].inputs["port"] == service.port


def test_each_region_runs_a_hardened_elb_checked_fleet_per_service(stack_plans: StackPlans, stack: str) -> None:
    plan = stack_plans[stack]
    spec = spec_for(stack)
    for region in spec.regions:
        groups = in_region(plan, "aws:autoscaling/group:Group", region.name)
        templates = {t.urn: t for t in in_region(plan, "aws:ec2/launchTemplate:LaunchTemplate", region.name)}
        assert len(groups) == len(spec.services) == 4
        for group in groups:
            assert group.inputs["healthCheckType"] == "ELB"
            assert len(group.inputs["vpcZoneIdentifiers"]) == len(region.availability_zones)
            assert group.ignore_changes == ["desiredCapacity"]
            (template,) = [templates[d] for d in group.dependencies if d in templates]
            assert template.inputs["metadataOptions"]["httpTokens"] == "required"
            assert template.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"


def test_each_fleet_tracks_cpu_at_its_services_target(stack_plans: StackPlans, stack: str) -> None:
    plan = stack_plans[stack]
    spec = spec_for(stack)
    targets = {s.name: s.scaling.cpu_target for s in spec.services}
    for region in spec.regions:
        policies = in_region(plan, "aws:autoscaling/policy:Policy", region.name)
        assert len(policies) == len(spec.services)
        for policy in policies:
            service = policy.name.split("-", 1)[1].rsplit("-cpu", 1)[0]
            tracking = policy.inputs["targetTrackingConfiguration"]
            assert policy.inputs["policyType"] == "TargetTrackingScaling"
            assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "ASGAverageCPUUtilization"
            assert tracking["targetValue"] == targets[service]
    # "80 unless configured": only payments is tuned lower in staging and prod.
    assert targets["orders"] == 80


def test_each_fleet_is_prescaled_for_every_upcoming_promotion(stack_plans: StackPlans, stack: str) -> None:
    plan = stack_plans[stack]
    spec = spec_for(stack)
    upcoming = [p for p in spec.promotions if p.end > AS_OF]
    groups = plan.of_type("aws:autoscaling/group:Group")
    schedules = plan.of_type("aws:autoscaling/schedule:Schedule")
    assert len(schedules) == 2 * len(upcoming) * len(groups)
    for group in groups:
        fleet = plan.by_urn(group.parent)
        mine = {
            s.inputs["scheduledActionName"]: s.inputs
            for s in plan.children(fleet.urn)
            if s.type == "aws:autoscaling/schedule:Schedule"
        }
        for promotion in upcoming:
            prewarm = mine[f"{promotion.name}-prewarm"]
            restore = mine[f"{promotion.name}-restore"]
            assert prewarm["minSize"] >= group.inputs["desiredCapacity"] * promotion.expected_peak_multiplier - 1e-9
            assert prewarm["desiredCapacity"] == prewarm["minSize"]
            assert prewarm["maxSize"] >= prewarm["desiredCapacity"]
            assert prewarm["startTime"] < restore["startTime"]
            assert restore["minSize"] == group.inputs["minSize"]
            assert restore["maxSize"] == group.inputs["maxSize"]


def test_prod_is_three_regions_with_roles_and_a_warm_standby(stack_plans: StackPlans) -> None:
    spec = spec_for("prod")
    assert [r.role for r in spec.regions] == ["primary", "secondary", "standby"]
    assert {s.name for s in spec.services} == COURIER_SERVICES
    assert len(spec.promotions) >= 2
    assert any(p.expected_peak_multiplier >= 3 for p in spec.promotions)
    plan = stack_plans["prod"]
    standby = spec.regions[2]
    for group in in_region(plan, "aws:autoscaling/group:Group", standby.name):
        assert group.inputs["minSize"] < group.inputs["maxSize"]


def test_prod_has_the_production_safety_defaults(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    for region in EXPECTED_REGIONS["prod"]:
        assert len(in_region(plan, "aws:ec2/natGateway:NatGateway", region)) == 3
        (alb,) = in_region(plan, "aws:lb/loadBalancer:LoadBalancer", region)
        assert alb.inputs["enableDeletionProtection"] is True
        assert alb.inputs["dropInvalidHeaderFields"] is True
        (bucket,) = in_region(plan, "aws:s3/bucket:Bucket", region)
        assert bucket.protect is True
        for group in in_region(plan, "aws:autoscaling/group:Group", region):
            assert group.inputs["warmPool"]["poolState"] == "Stopped"
            assert group.inputs["minSize"] >= 2


def test_dev_is_small_and_cheap(stack_plans: StackPlans) -> None:
    plan = stack_plans["dev"]
    assert len(plan.of_type("aws:ec2/natGateway:NatGateway")) == 1
    (alb,) = plan.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["enableDeletionProtection"] is False
    assert all("warmPool" not in g.inputs for g in plan.of_type("aws:autoscaling/group:Group"))
    assert all(g.inputs["maxSize"] <= 3 for g in plan.of_type("aws:autoscaling/group:Group"))


def test_prod_sends_users_to_healthy_active_regions_and_fails_over_to_standby(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    records = {r.name: r.inputs for r in plan.of_type("aws:route53/record:Record")}
    assert records["courier-primary"]["name"] == "api.courier.example.com"
    assert records["courier-primary"]["failoverRoutingPolicies"] == [{"type": "PRIMARY"}]
    assert records["courier-secondary"]["aliases"][0]["name"] == "standby.api.courier.example.com"
    latency = {n: r for n, r in records.items() if r.get("latencyRoutingPolicies")}
    assert {r["latencyRoutingPolicies"][0]["region"] for r in latency.values()} == EXPECTED_REGIONS["prod"]
    assert {r["name"] for n, r in latency.items() if "active" in n} == {"active.api.courier.example.com"}


def test_plan_json_writes_whole_numbers_as_integers(stack_plans: StackPlans) -> None:
    document = stack_plans["prod"].to_json()
    group = next(r for r in document["resources"] if r["type"] == "aws:autoscaling/group:Group")
    assert type(group["inputs"]["minSize"]) is int
    assert type(group["inputs"]["healthCheckGracePeriod"]) is int
    assert set(group) >= {
        "urn",
        "type",
        "name",
        "custom",
        "parent",
        "provider",
        "region",
        "protect",
        "dependencies",
        "inputs",
    }
    assert set(document) >= {"project", "stack", "resources", "summary", "policies", "artifacts"}
    assert document["summary"]["byRegion"].keys() == EXPECTED_REGIONS["prod"]


def test_plan_is_reproducible(stack_plans: StackPlans) -> None:
    from courier.cli import make_plan

    again = make_plan("dev", at=AS_OF)
    assert again.dumps() == stack_plans["dev"].dumps()
