"""The shipped stacks, planned offline: per region, what `pulumi up` would build."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import pytest

from components import catalog
from components.alicloud.fleet import SCHEDULING_HORIZON
from components.spec import EnvironmentSpec, RegionSpec, spec_from_config
from courier.plan import Plan, Resource
from courier.stackconfig import load_project, load_stack_config
from tests.conftest import AS_OF, PROJECT, ROOT, SHIPPED_STACKS, StackPlans

#: Route 53's own region: the global provider's (components.providers.global_provider).
GLOBAL = "us-east-1"
EXPECTED_REGIONS = {
    "dev": {"ap-southeast-1", GLOBAL},
    "staging": {"ap-southeast-1", "ap-northeast-1", "cn-shanghai", GLOBAL},
    # cn-shanghai: mainland China's data replica (PIPL), no fleet.
    "prod": {"ap-southeast-1", "ap-northeast-1", "ap-northeast-2", "cn-hangzhou", "cn-shanghai", GLOBAL},
}
COURIER_SERVICES = {"orders", "dispatch", "tracking", "payments"}

ASG = "aws:autoscaling/group:Group"
ESS = "alicloud:ess/scalingGroup:ScalingGroup"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def service_of(spec: EnvironmentSpec, group: Resource):
    tags = group.inputs["tags"]
    name = tags["service"] if isinstance(tags, dict) else next(t["value"] for t in tags if t["key"] == "service")
    return next(s for s in spec.services if s.name == name)


def forecast_size(spec: EnvironmentSpec, service, desired: int, floor: int, promotion) -> int:
    """ceil(desired x normal CPU x multiplier / target), at least one above the floor."""
    normal = spec.storm_assumptions(service)["normalCpuPercent"]
    load = desired * normal / 100 * promotion.expected_peak_multiplier
    return max(floor + 1, math.ceil(load * 100 / service.scaling.cpu_target - 1e-9))


def aws_time(moment) -> str:
    from components.planning import aws_timestamp

    return aws_timestamp(moment)


def spec_for(stack: str) -> EnvironmentSpec:
    """The spec of a shipped stack, read from its file the way the program reads it."""
    config, _ = load_stack_config(load_project(ROOT), stack)
    values = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("courier:")}
    return spec_from_config(values, project=PROJECT, stack=stack, as_of=AS_OF)


def in_region(plan: Plan, resource_type: str, region: str) -> list[Resource]:
    return [r for r in plan.of_type(resource_type) if r.region == region]


def siblings(plan: Plan, resource: Resource, resource_type: str) -> list[Resource]:
    return [r for r in plan.children(resource.parent or "") if r.type == resource_type]


@pytest.fixture(params=SHIPPED_STACKS)
def stack(request) -> str:
    return request.param


@dataclass(frozen=True)
class PodAutoscaler:
    """A Kubernetes service's autoscaler as the cluster will run it, whichever object declares
    it: a KEDA ScaledObject (KEDA derives the HPA) or an autoscaling/v2 HPA."""

    resource: Resource
    min: int
    max: int
    cpu_target: float | None
    #: Promotion -> desired replicas (cron triggers).
    crons: dict[str, int]


def pod_autoscalers(plan: Plan, region: str) -> dict[str, list[PodAutoscaler]]:
    """Deployment name -> the autoscalers targeting it in ``region``."""
    found: dict[str, list[PodAutoscaler]] = {}
    for resource in in_region(plan, SCALED_OBJECT, region):
        spec = resource.inputs["spec"]
        cpu = [t for t in spec["triggers"] if t["type"] == "cpu" and t["metricType"] == "Utilization"]
        found.setdefault(spec["scaleTargetRef"]["name"], []).append(
            PodAutoscaler(
                resource,
                spec["minReplicaCount"],
                spec["maxReplicaCount"],
                float(cpu[0]["metadata"]["value"]) if cpu else None,
                {t["name"]: int(t["metadata"]["desiredReplicas"]) for t in spec["triggers"] if t["type"] == "cron"},
            )
        )
    for resource in in_region(plan, HPA, region):
        spec = resource.inputs["spec"]
        cpu = [m for m in spec["metrics"] if m["type"] == "Resource" and m["resource"]["name"] == "cpu"]
        found.setdefault(spec["scaleTargetRef"]["name"], []).append(
            PodAutoscaler(
                resource,
                spec.get("minReplicas", 1),
                spec["maxReplicas"],
                cpu[0]["resource"]["target"]["averageUtilization"] if cpu else None,
                {},
            )
        )
    return found


def test_plan_covers_exactly_the_configured_regions(stack_plans: StackPlans, stack: str) -> None:
    assert set(stack_plans[stack].regions()) == EXPECTED_REGIONS[stack]


def test_only_global_concerns_go_through_the_global_provider(stack_plans: StackPlans, stack: str) -> None:
    """us-east-1 is Route 53's home, not a region the stack runs in: only DNS, the alarms on
    its health checks (Route 53 publishes their metrics there, and an alarm notifies topics of
    its own region) and prod's ARC plan land there, so losing or moving the primary region never
    moves a DNS resource to another provider."""
    plan = stack_plans[stack]
    there = {r.type for r in plan.resources if r.custom and r.region == GLOBAL and not r.type.startswith("pulumi:")}
    dns = {"aws:route53/record:Record", "aws:route53/healthCheck:HealthCheck"}
    alarms = {
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:sns/topic:Topic",
        "aws:sns/topicPolicy:TopicPolicy",
        "aws:sns/topicSubscription:TopicSubscription",
        "aws:kms/key:Key",
        "aws:kms/alias:Alias",
    }
    # prod's ARC Region switch plan is global too (its API is in us-east-1), with its IAM role.
    switch = {"aws:arcregionswitch/plan:Plan", "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"}
    assert there == (dns | alarms | switch if stack == "prod" else dns | alarms)
    health = [a for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.region == GLOBAL]
    assert health and all(a.inputs["metricName"] == "HealthCheckStatus" for a in health)
    provider = next(r for r in plan.resources if r.type == "pulumi:providers:aws" and r.region == GLOBAL)
    assert provider.name == "aws-global"


def test_every_cloud_resource_has_an_explicit_provider_in_its_region(stack_plans: StackPlans, stack: str) -> None:
    plan = stack_plans[stack]
    providers = {r.urn: r for r in plan.resources if r.type.startswith("pulumi:providers:")}
    for resource in plan.resources:
        if not resource.custom or resource.type.startswith(("pulumi:providers:", "random:")):
            # random: generated secrets, in no cloud (still through an explicit provider).
            continue
        provider = providers[resource.provider or ""]
        assert provider.type == f"pulumi:providers:{resource.type.split(':', 1)[0]}", resource.urn
        assert resource.region == provider.region, resource.urn
        assert resource.region in EXPECTED_REGIONS[stack], resource.urn


def test_each_region_spreads_subnets_over_its_zones(stack_plans: StackPlans, stack: str) -> None:
    plan = stack_plans[stack]
    for region in spec_for(stack).regions:
        if region.cloud == "aws":
            subnets = in_region(plan, "aws:ec2/subnet:Subnet", region.name)
            zones = {s.inputs["availabilityZone"] for s in subnets}
        else:
            subnets = in_region(plan, "alicloud:vpc/switch:Switch", region.name)
            zones = {s.inputs["zoneId"] for s in subnets}
        assert zones == set(region.availability_zones)
        assert zones <= set(catalog.region(region.cloud, region.name).zones)
        assert len(zones) >= (3 if stack == "prod" else 2)
        assert len(subnets) == 2 * len(zones)


def test_each_region_has_a_load_balancer_with_a_health_checked_group_per_service(
    stack_plans: StackPlans, stack: str
) -> None:
    plan = stack_plans[stack]
    spec = spec_for(stack)
    for region in spec.regions:
        fronted = spec.fronted_services(region)
        if region.cloud == "aws":
            (alb,) = in_region(plan, "aws:lb/loadBalancer:LoadBalancer", region.name)
            assert alb.inputs["internal"] is False
            groups = {
                g.inputs["tags"]["service"]: g for g in in_region(plan, "aws:lb/targetGroup:TargetGroup", region.name)
            }
            assert set(groups) == {s.name for s in fronted}
            for service in fronted:
                check = groups[service.name].inputs["healthCheck"]
                assert check["enabled"] is True and check["path"] == service.health_check_path
                expected_port = service.node_port if service.platform == "kubernetes" else service.port
                assert groups[service.name].inputs["port"] == expected_port
        else:
            (alb,) = in_region(plan, "alicloud:alb/loadBalancer:LoadBalancer", region.name)
            assert alb.inputs["addressType"] == "Internet"
            groups = {
                g.inputs["tags"]["service"]: g
                for g in in_region(plan, "alicloud:alb/serverGroup:ServerGroup", region.name)
            }
            assert set(groups) == {s.name for s in fronted}
            for service in fronted:
                check = groups[service.name].inputs["healthCheckConfig"]
                assert check["healthCheckEnabled"] is True and check["healthCheckPath"] == service.health_check_path


def test_each_aws_region_runs_a_hardened_elb_checked_fleet_per_vm_service(stack_plans: StackPlans, stack: str) -> None:
    plan = stack_plans[stack]
    spec = spec_for(stack)
    for region in spec.regions_of("aws"):
        groups = in_region(plan, ASG, region.name)
        assert {g.name.split("-")[1] for g in groups} == {s.name for s in spec.services_on("vm", region)}
        assert {s.name for s in spec.services_on("vm", region)} == COURIER_SERVICES
        for group in groups:
            assert group.inputs["healthCheckType"] == "ELB"
            assert len(group.inputs["vpcZoneIdentifiers"]) == len(region.availability_zones)
            assert group.ignore_changes == ["desiredCapacity"]
            (template,) = siblings(plan, group, "aws:ec2/launchTemplate:LaunchTemplate")
            assert template.inputs["metadataOptions"]["httpTokens"] == "required"
            assert template.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"


def test_each_alicloud_region_runs_an_ess_group_per_vm_service_across_its_zones(
    stack_plans: StackPlans, stack: str
) -> None:
    plan = stack_plans[stack]
    spec = spec_for(stack)
    for region in spec.regions_of("alicloud"):
        groups = in_region(plan, ESS, region.name)
        assert {g.name.split("-")[1] for g in groups} == COURIER_SERVICES
        for group in groups:
            assert len(group.inputs["vswitchIds"]) == len(region.availability_zones)
            assert group.inputs["albServerGroups"][0]["albServerGroupId"]
            assert group.inputs["multiAzPolicy"] == ("BALANCE" if stack == "prod" else "PRIORITY")
            assert group.inputs["groupDeletionProtection"] is (stack == "prod")
            assert group.ignore_changes == ["desiredCapacity"]
            (config,) = siblings(plan, group, "alicloud:ess/scalingConfiguration:ScalingConfiguration")
            assert config.inputs["systemDiskEncrypted"] is True
            assert config.inputs["internetMaxBandwidthOut"] == 0


def cpu_targets(plan: Plan, region: RegionSpec) -> dict[str, float]:
    """Service -> the CPU target its scaler holds, whatever the platform."""
    targets: dict[str, float] = {}
    fast: dict[str, float] = {}
    for policy in in_region(plan, "aws:autoscaling/policy:Policy", region.name):
        service = policy.name.split("-")[1]
        if policy.name.endswith("-surge"):
            continue  # the step acts on saturation only
        if policy.name.endswith("-cpu-10s"):
            fast[service] = policy.inputs["targetTrackingConfiguration"]["targetValue"]
            continue
        tracking = policy.inputs["targetTrackingConfiguration"]
        assert policy.inputs["policyType"] == "TargetTrackingScaling"
        assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "ASGAverageCPUUtilization"
        targets[service] = tracking["targetValue"]
    for rule in in_region(plan, "alicloud:ess/scalingRule:ScalingRule", region.name):
        if rule.inputs["scalingRuleType"] == "TargetTrackingScalingRule":
            assert rule.inputs["metricName"] == "CpuUtilization"
            targets[rule.name.split("-")[1]] = rule.inputs["targetValue"]
    for deployment, autoscalers in pod_autoscalers(plan, region.name).items():
        (autoscaler,) = autoscalers
        assert autoscaler.cpu_target is not None
        targets[deployment] = autoscaler.cpu_target
    # The 10-second CPU policy holds the same target as the 1-minute one.
    assert {s: targets[s] for s in fast} == fast
    return targets


def test_every_fleet_and_workload_tracks_cpu_at_its_services_target(stack_plans: StackPlans, stack: str) -> None:
    plan = stack_plans[stack]
    spec = spec_for(stack)
    for region in spec.regions:
        expected = {s.name: s.scaling.cpu_target for s in spec.services_in(region)}
        assert cpu_targets(plan, region) == expected
    assert next(s for s in spec.services if s.name == "orders").scaling.cpu_target == 80


def test_every_fleet_is_prescaled_for_every_upcoming_promotion(stack_plans: StackPlans, stack: str) -> None:
    plan = stack_plans[stack]
    spec = spec_for(stack)
    upcoming = [p for p in spec.promotions if p.end > AS_OF]
    for group in plan.of_type(ASG):
        service = service_of(spec, group)
        region = next(r for r in spec.regions if r.name == group.region)
        schedules = {
            s.inputs["scheduledActionName"]: s.inputs
            for s in siblings(plan, group, "aws:autoscaling/schedule:Schedule")
        }
        assert len(schedules) == 2 * len(upcoming)
        for promotion in upcoming:
            prewarm, restore = schedules[f"{promotion.name}-prewarm"], schedules[f"{promotion.name}-restore"]
            # Sized from the forecast load (normal CPU x multiplier) at the CPU target.
            assert prewarm["minSize"] == forecast_size(
                spec, service, group.inputs["desiredCapacity"], group.inputs["minSize"], promotion
            )
            assert prewarm["desiredCapacity"] == prewarm["minSize"] and prewarm["maxSize"] >= prewarm["desiredCapacity"]
            # Raised a cold launch + warmup + lateness + margin ahead, not hours ahead.
            lead = spec.prewarm_lead(service, region)
            assert prewarm["startTime"] == aws_time(promotion.start - timedelta(minutes=lead))
            assert lead == math.ceil((120 + 150 + service.scaling.warmup_seconds + 300) / 60)
            assert prewarm["startTime"] < restore["startTime"]
            assert (restore["minSize"], restore["maxSize"]) == (group.inputs["minSize"], group.inputs["maxSize"])
    # ESS takes tasks at most 90 days ahead: promotions ending later wait for a later `up`.
    reachable = [p for p in upcoming if p.end <= AS_OF + SCHEDULING_HORIZON]
    assert stack != "prod" or [p.name for p in reachable] == ["double-12-2026", "spring-festival-2027"]
    for group in plan.of_type(ESS):
        tasks = {
            ":".join(t.inputs["description"].split(":")[1:]): t.inputs
            for t in siblings(plan, group, "alicloud:ess/scheduledTask:ScheduledTask")
        }
        assert len(tasks) == 2 * len(reachable)
        service = service_of(spec, group)
        for promotion in reachable:
            prewarm, restore = tasks[f"{promotion.name}:prewarm"], tasks[f"{promotion.name}:restore"]
            assert prewarm["minValue"] == forecast_size(
                spec, service, group.inputs["desiredCapacity"], group.inputs["minSize"], promotion
            )
            assert prewarm["launchTime"] < restore["launchTime"]
            assert (restore["minValue"], restore["maxValue"]) == (group.inputs["minSize"], group.inputs["maxSize"])


def test_every_workload_is_prescaled_for_every_upcoming_promotion(stack_plans: StackPlans, stack: str) -> None:
    plan = stack_plans[stack]
    spec = spec_for(stack)
    upcoming = [p for p in spec.promotions if p.end > AS_OF]
    for region in spec.regions:
        for autoscalers in pod_autoscalers(plan, region.name).values():
            (autoscaler,) = autoscalers
            assert set(autoscaler.crons) == {p.name for p in upcoming}
            for promotion in upcoming:
                assert autoscaler.crons[promotion.name] >= math.ceil(
                    autoscaler.min * 0.5 * promotion.expected_peak_multiplier / 0.8 - 1e-9
                )
                assert autoscaler.crons[promotion.name] <= autoscaler.max


def test_prod_runs_three_aws_regions_and_mainland_china_on_alibaba_cloud(stack_plans: StackPlans) -> None:
    spec = spec_for("prod")
    assert [(r.cloud, r.role) for r in spec.regions] == [
        ("aws", "primary"),
        ("aws", "secondary"),
        ("aws", "standby"),
        ("alicloud", "secondary"),
    ]
    assert {s.name for s in spec.services_on("vm")} == COURIER_SERVICES
    assert [s.name for s in spec.services_on("kubernetes")] == ["notifications"]
    assert len(spec.promotions) >= 2 and any(p.expected_peak_multiplier >= 3 for p in spec.promotions)
    plan = stack_plans["prod"]
    standby = spec.regions[2]
    for group in in_region(plan, ASG, standby.name):
        assert group.inputs["minSize"] < group.inputs["maxSize"]


def test_kubernetes_runs_on_an_eks_cluster_sized_for_its_pods(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    spec = spec_for("prod")
    for region in spec.regions_of("aws"):
        (cluster,) = in_region(plan, "aws:eks/cluster:Cluster", region.name)
        assert cluster.inputs["version"] == "1.34"
        assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]
        assert len(cluster.inputs["vpcConfig"]["subnetIds"]) == 3
        (nodes,) = in_region(plan, "aws:eks/nodeGroup:NodeGroup", region.name)
        scaling = nodes.inputs["scalingConfig"]
        assert scaling["minSize"] >= 3 and scaling["maxSize"] > scaling["minSize"]
        assert nodes.ignore_changes == ["scalingConfig.desiredSize"]
        releases = {r.inputs["chart"]: r for r in in_region(plan, "kubernetes:helm.sh/v3:Release", region.name)}
        assert set(releases) == {"metrics-server", "keda", "cluster-autoscaler", "kube-prometheus-stack"}
        # The autoscaler's minor is the cluster's (kubernetes/autoscaler README, "Releases").
        autoscaler = releases["cluster-autoscaler"].inputs
        assert (autoscaler["version"], autoscaler["values"]["image"]["tag"]) == ("9.53.0", "v1.34.5")
        (attachment,) = in_region(plan, "aws:autoscaling/attachment:Attachment", region.name)
        assert attachment.inputs["lbTargetGroupArn"].startswith("arn:aws:elasticloadbalancing:")


def test_every_kubernetes_service_has_one_cpu_autoscaler_wherever_declared(stack_plans: StackPlans, stack: str) -> None:
    plan = stack_plans[stack]
    spec = spec_for(stack)
    for region in spec.regions:
        services = spec.services_on("kubernetes", region)
        autoscalers = pod_autoscalers(plan, region.name)
        assert set(autoscalers) == {s.name for s in services}
        for service in services:
            (autoscaler,) = autoscalers[service.name]  # one: never an HPA beside a ScaledObject
            capacity = spec.capacity(service, region)
            assert (autoscaler.min, autoscaler.cpu_target) == (capacity.min, service.scaling.cpu_target)
            assert autoscaler.min >= 1
            (deployment,) = [
                d
                for d in in_region(plan, DEPLOYMENT, region.name)
                if d.inputs["metadata"]["name"] == service.name and d.provider == autoscaler.resource.provider
            ]
            assert deployment.inputs["spec"]["replicas"] == capacity.desired


def test_helm_releases_wait_for_the_node_group_addons_pod_identity_and_access(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    for region in spec_for("prod").regions_of("aws"):
        needed = {
            r.urn
            for kind in (
                "aws:eks/nodeGroup:NodeGroup",
                "aws:eks/addon:Addon",
                "aws:eks/podIdentityAssociation:PodIdentityAssociation",
                "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
            )
            for r in in_region(plan, kind, region.name)
        }
        addons = {r.inputs["addonName"] for r in in_region(plan, "aws:eks/addon:Addon", region.name)}
        assert addons == {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"}
        assert len(needed) == 1 + 4 + 2 + 2
        for release in in_region(plan, "kubernetes:helm.sh/v3:Release", region.name):
            assert needed <= set(release.dependencies), (release.name, needed - set(release.dependencies))


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_eks_clusters_grant_exactly_the_configured_principals(stack_plans: StackPlans, stack: str) -> None:
    plan = stack_plans[stack]
    spec = spec_for(stack)
    wanted = {a.principal_arn: a.access for a in spec.kubernetes_access}
    assert set(wanted.values()) == {"admin", "view"}
    policies = {
        "admin": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        "view": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
    }
    clusters = plan.of_type("aws:eks/cluster:Cluster")
    assert clusters
    for cluster in clusters:
        assert cluster.inputs["accessConfig"] == {
            "authenticationMode": "API",
            "bootstrapClusterCreatorAdminPermissions": False,
        }
        entries = in_region(plan, "aws:eks/accessEntry:AccessEntry", cluster.region or "")
        # Besides them, only the region's pod-drill role (components.aws.drills): no access policy
        # (the associations below), no group, a username RBAC binds in the drilled namespaces.
        drills = [e for e in entries if e.inputs.get("userName") == "fis-experiment"]
        assert len(drills) <= 1 and not any(e.inputs.get("kubernetesGroups") for e in drills)
        assert {e.inputs["principalArn"] for e in entries if e not in drills} == set(wanted)
        associations = in_region(plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", cluster.region or "")
        assert {(a.inputs["principalArn"], a.inputs["policyArn"]) for a in associations} == {
            (principal, policies[access]) for principal, access in wanted.items()
        }
        assert all(a.inputs["accessScope"] == {"type": "cluster"} for a in associations)


def test_prod_has_the_production_safety_defaults(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    for region in ("ap-southeast-1", "ap-northeast-1", "ap-northeast-2"):
        assert len(in_region(plan, "aws:ec2/natGateway:NatGateway", region)) == 3
        (alb,) = in_region(plan, "aws:lb/loadBalancer:LoadBalancer", region)
        assert alb.inputs["enableDeletionProtection"] is True and alb.inputs["dropInvalidHeaderFields"] is True
        # The access-log bucket and the media bucket.
        buckets = in_region(plan, "aws:s3/bucket:Bucket", region)
        assert len(buckets) == 2 and all(bucket.protect is True for bucket in buckets)
        for group in in_region(plan, ASG, region):
            assert group.inputs["warmPool"]["poolState"] == "Stopped"
            assert group.inputs["minSize"] >= 2
    assert len(in_region(plan, "alicloud:vpc/natGateway:NatGateway", "cn-hangzhou")) == 3
    (ali_alb,) = in_region(plan, "alicloud:alb/loadBalancer:LoadBalancer", "cn-hangzhou")
    assert ali_alb.inputs["deletionProtectionEnabled"] is True


def test_dev_is_small_and_cheap(stack_plans: StackPlans) -> None:
    plan = stack_plans["dev"]
    assert len(plan.of_type("aws:ec2/natGateway:NatGateway")) == 1
    (alb,) = plan.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["enableDeletionProtection"] is False
    assert all("warmPool" not in g.inputs for g in plan.of_type(ASG))
    assert all(g.inputs["maxSize"] <= 3 for g in plan.of_type(ASG))
    assert not plan.of_type("aws:eks/cluster:Cluster")


def test_prod_routes_users_by_country_then_latency_then_failover(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    records = {r.name: r.inputs for r in plan.of_type("aws:route53/record:Record")}
    default, china = records["courier-geo-default"], records["courier-geo-cnhz"]
    assert default["name"] == china["name"] == "api.courier.example.com"
    assert default["geolocationRoutingPolicies"] == [{"country": "*"}]
    assert default["records"] == ["global.api.courier.example.com"]
    assert china["geolocationRoutingPolicies"] == [{"country": "CN"}]
    assert china["records"] == ["cnhz.api.courier.example.com"] and china["healthCheckId"]
    assert records["courier-cnhz"]["records"][0].endswith(".cn-hangzhou.alb.aliyuncs.com")
    assert records["courier-primary"]["name"] == "global.api.courier.example.com"
    assert records["courier-primary"]["failoverRoutingPolicies"] == [{"type": "PRIMARY"}]
    assert records["courier-secondary"]["aliases"][0]["name"] == "standby.api.courier.example.com"
    latency = {n: r for n, r in records.items() if r.get("latencyRoutingPolicies")}
    assert {r["latencyRoutingPolicies"][0]["region"] for r in latency.values()} == {
        "ap-southeast-1",
        "ap-northeast-1",
        "ap-northeast-2",
    }
    checks = {r.name: r.inputs for r in plan.of_type("aws:route53/healthCheck:HealthCheck")}
    assert checks["courier-apse1"]["childHealthThreshold"] == 5  # four VM services and notifications
    assert checks["courier-cnhz"]["childHealthThreshold"] == 4


def test_plan_json_writes_whole_numbers_as_integers(stack_plans: StackPlans) -> None:
    document = stack_plans["prod"].to_json()
    group = next(r for r in document["resources"] if r["type"] == ASG)
    assert type(group["inputs"]["minSize"]) is int
    assert type(group["inputs"]["healthCheckGracePeriod"]) is int
    scaled = next(r for r in document["resources"] if r["type"] == SCALED_OBJECT)
    assert type(scaled["inputs"]["spec"]["maxReplicaCount"]) is int
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
    # "global": the generated passwords, in no region.
    assert document["summary"]["byRegion"].keys() == EXPECTED_REGIONS["prod"] | {"global"}


def test_plan_is_reproducible(stack_plans: StackPlans) -> None:
    from courier.cli import make_plan

    again = make_plan("dev", at=AS_OF)
    assert again.dumps() == stack_plans["dev"].dumps()
