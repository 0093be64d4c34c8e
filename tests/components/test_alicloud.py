"""Alibaba Cloud: network, load balancer, container registry and ESS fleet (delivering the
application); and the EKS cluster on AWS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pulumi
import pulumi_alicloud as ali
import pulumi_aws as aws
import pytest

from components import boot, planning
from components.alicloud import load_balancer, names
from components.alicloud.fleet import EssFleet, EssFleetArgs, role_name
from components.alicloud.load_balancer import TLS_POLICY, AlicloudLoadBalancer, AlicloudLoadBalancerArgs, AlicloudTarget
from components.alicloud.network import AlicloudNetwork, AlicloudNetworkArgs
from components.alicloud.registry import AlicloudImage, AlicloudRegistry, AlicloudRegistryArgs
from components.aws.eks import EksCluster, EksClusterArgs
from components.planning import PromotionSchedule
from courier import invokes
from courier.cli import make_plan
from courier.engine import record
from courier.plan import Plan, Resource
from tests.conftest import AS_OF, PROJECT, ROOT, StackPlans
from tests.tools import require_tool

ZONES = ("cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j")


def with_provider(build):
    def program() -> None:
        provider = ali.Provider("alicloud-cnhz", region="cn-hangzhou")
        build(pulumi.ResourceOptions(providers=[provider]))

    return program


def declare_network(nat_per_zone: bool):
    return with_provider(
        lambda opts: AlicloudNetwork(
            "cnhz", AlicloudNetworkArgs("10.40.0.0/16", ZONES, nat_per_zone=nat_per_zone, name_prefix="prod_cnhz"), opts
        )
    )


def test_network_plans_app_and_edge_vswitches_per_zone_with_nat_per_zone(run_components) -> None:
    plan = run_components(declare_network(nat_per_zone=True))
    switches = {s.name: s.inputs for s in plan.of_type("alicloud:vpc/switch:Switch")}
    layout = planning.plan_subnets("10.40.0.0/16", list(ZONES))
    for zone in layout:
        letter = zone.zone[-1]
        assert switches[f"cnhz-app-{letter}"]["cidrBlock"] == str(zone.private)
        assert switches[f"cnhz-edge-{letter}"]["cidrBlock"] == str(zone.public)
        assert switches[f"cnhz-app-{letter}"]["zoneId"] == zone.zone
    assert len(plan.of_type("alicloud:vpc/natGateway:NatGateway")) == 3
    snat = plan.of_type("alicloud:vpc/snatEntry:SnatEntry")
    assert len(snat) == 3 and all(s.inputs["snatIp"].startswith("47.") for s in snat)
    assert {r.region for r in plan.resources if r.custom and not r.type.startswith("pulumi:")} == {"cn-hangzhou"}


def _named(plan: Plan, resource_type: str) -> dict[str, Resource]:
    return {r.name: r for r in plan.of_type(resource_type)}


def _from(resource: Resource, key: str) -> list[str]:
    """The URNs of the resources the input ``key`` was computed from."""
    return resource.property_dependencies.get(key, [])


def assert_zone_egress(plan: Plan, letter: str, nat: Resource) -> None:
    """Zone ``letter``'s app vSwitch has a route table of its own, attached to that vSwitch
    only, whose default route leads to ``nat``, which translates for that vSwitch."""
    (network,) = plan.of_type("courier:alicloud:Network")
    switch = _named(plan, "alicloud:vpc/switch:Switch")[f"cnhz-app-{letter}"]
    table = _named(plan, "alicloud:vpc/routeTable:RouteTable")[f"cnhz-app-{letter}"]
    assert (table.parent, table.region) == (network.urn, "cn-hangzhou")
    assert table.inputs["routeTableName"] == f"prod_cnhz-app-{letter}" and table.inputs["associateType"] == "VSwitch"
    attachments = [
        a
        for a in plan.of_type("alicloud:vpc/routeTableAttachment:RouteTableAttachment")
        if table.urn in _from(a, "routeTableId")
    ]
    assert len(attachments) == 1
    (attachment,) = attachments
    assert _from(attachment, "vswitchId") == [switch.urn] and attachment.parent == network.urn
    entries = [e for e in plan.of_type("alicloud:vpc/routeEntry:RouteEntry") if table.urn in _from(e, "routeTableId")]
    assert [(e.inputs["destinationCidrblock"], e.inputs["nexthopType"]) for e in entries] == [
        ("0.0.0.0/0", "NatGateway")
    ]
    (entry,) = entries
    assert _from(entry, "nexthopId") == [nat.urn] and entry.parent == network.urn
    (snat,) = [
        s for s in plan.of_type("alicloud:vpc/snatEntry:SnatEntry") if _from(s, "sourceVswitchId") == [switch.urn]
    ]
    assert _from(snat, "snatTableId") == [nat.urn]
    (association,) = [
        a for a in plan.of_type("alicloud:ecs/eipAssociation:EipAssociation") if _from(a, "instanceId") == [nat.urn]
    ]
    (eip,) = [
        e for e in plan.of_type("alicloud:ecs/eipAddress:EipAddress") if e.urn in _from(association, "allocationId")
    ]
    assert _from(snat, "snatIp") == [eip.urn] and association.urn in snat.dependencies
    # The vSwitch leaves the system route table only once its way out is complete.
    assert {entry.urn, snat.urn} <= set(attachment.dependencies)


def test_each_zone_egresses_through_its_own_nat_gateway(run_components) -> None:
    plan = run_components(declare_network(nat_per_zone=True))
    nats = _named(plan, "alicloud:vpc/natGateway:NatGateway")
    switches = _named(plan, "alicloud:vpc/switch:Switch")
    assert sorted(nats) == ["cnhz-nat-h", "cnhz-nat-i", "cnhz-nat-j"]
    for zone in ZONES:
        letter = zone[-1]
        nat = nats[f"cnhz-nat-{letter}"]
        assert _from(nat, "vswitchId") == [switches[f"cnhz-edge-{letter}"].urn] and nat.inputs["natType"] == "Enhanced"
        assert_zone_egress(plan, letter, nat)
    # Edge vSwitches stay on the system route table: they hold no instances that need egress.
    attachments = plan.of_type("alicloud:vpc/routeTableAttachment:RouteTableAttachment")
    assert {u for a in attachments for u in _from(a, "vswitchId")} == {
        switches[f"cnhz-app-{zone[-1]}"].urn for zone in ZONES
    }


def test_single_nat_serves_every_zone_through_explicit_routes(run_components) -> None:
    plan = run_components(declare_network(nat_per_zone=False))
    (nat,) = plan.of_type("alicloud:vpc/natGateway:NatGateway")
    assert len(plan.of_type("alicloud:vpc/snatEntry:SnatEntry")) == 3
    for zone in ZONES:
        assert_zone_egress(plan, zone[-1], nat)


def test_a_changed_next_hop_deletes_the_old_default_route_first() -> None:
    # A route table holds one route per destination (CreateRouteEntry): switching NAT layouts
    # replaces each default route, and create-before-delete would be refused.
    recording = record(declare_network(nat_per_zone=True), project=PROJECT, stack="test")
    entries = [r for r in recording.registrations if r.type == "alicloud:vpc/routeEntry:RouteEntry"]
    assert len(entries) == 3 and all(r.delete_before_replace for r in entries)
    assert sorted(r.inputs["name"] for r in entries) == [f"prod_cnhz-app-{zone[-1]}-default" for zone in ZONES]


def declare_load_balancer(opts: pulumi.ResourceOptions) -> None:
    AlicloudLoadBalancer(
        "cnhz",
        AlicloudLoadBalancerArgs(
            vpc_id="vpc-1",
            zone_mappings=[(zone, f"vsw-{zone[-1]}") for zone in ZONES],
            certificate_id="14012345-cn-hangzhou",
            log_project_name="courier-prod-cnhz-abc",
            services=[AlicloudTarget("orders", 8080, "/healthz", ("/orders", "/orders/*"))],
            name_prefix="prod_cnhz",
            deletion_protection=True,
        ),
        opts,
    )


def test_alibaba_alb_admits_https_routes_by_path_and_redirects_http(run_components) -> None:
    plan = run_components(with_provider(declare_load_balancer))
    ingress = sorted(r.inputs["portRange"] for r in plan.of_type("alicloud:ecs/securityGroupRule:SecurityGroupRule"))
    assert ingress == ["443/443", "80/80"]
    (alb,) = plan.of_type("alicloud:alb/loadBalancer:LoadBalancer")
    assert alb.inputs["deletionProtectionEnabled"] is True
    assert len(alb.inputs["zoneMappings"]) == 3
    assert alb.inputs["accessLogConfig"]["logProject"] == "courier-prod-cnhz-abc"
    listeners = {r.inputs["listenerPort"]: r.inputs for r in plan.of_type("alicloud:alb/listener:Listener")}
    assert listeners[443]["securityPolicyId"] == TLS_POLICY
    assert listeners[443]["certificates"] == {"certificateId": "14012345-cn-hangzhou"}
    rules = {r.inputs["ruleName"]: r.inputs for r in plan.of_type("alicloud:alb/rule:Rule")}
    assert rules["prod_cnhz-orders"]["ruleConditions"][0]["pathConfig"]["values"] == ["/orders", "/orders/*"]
    assert rules["prod_cnhz-to-https"]["ruleActions"][0]["redirectConfig"]["protocol"] == "HTTPS"
    assert rules["prod_cnhz-not-found"]["ruleActions"][0]["fixedResponseConfig"]["httpCode"] == "404"
    (group,) = plan.of_type("alicloud:alb/serverGroup:ServerGroup")
    assert group.inputs["healthCheckConfig"]["healthCheckPath"] == "/healthz"
    assert (group.name, group.inputs["serverGroupName"]) == ("cnhz-orders", "prod_cnhz-orders")


def test_alibaba_server_groups_use_only_what_a_standard_alb_accepts(run_components) -> None:
    # ALB API reference, CreateServerGroup: slow start and connection draining need a Standard
    # or WAF-enabled instance, slow start the Wrr scheduler; interval 1-50 s, timeout 1-300 s,
    # thresholds 2-10, slow start 30-900 s, draining 0-900 s.
    plan = run_components(with_provider(declare_load_balancer))
    (alb,) = plan.of_type("alicloud:alb/loadBalancer:LoadBalancer")
    assert alb.inputs["loadBalancerEdition"] == "Standard"
    (group,) = plan.of_type("alicloud:alb/serverGroup:ServerGroup")
    inputs = group.inputs
    assert inputs["slowStartConfig"] == {"slowStartEnabled": True, "slowStartDuration": 30}
    assert inputs["scheduler"] == "Wrr"
    assert inputs["connectionDrainConfig"] == {"connectionDrainEnabled": True, "connectionDrainTimeout": 30}
    check = inputs["healthCheckConfig"]
    assert (check["healthCheckInterval"], check["healthCheckTimeout"]) == (5, 3)
    # A probe gives up before the next one starts (AWS refuses anything else for target groups).
    assert check["healthCheckTimeout"] < check["healthCheckInterval"]
    assert (check["healthyThreshold"], check["unhealthyThreshold"]) == (3, 3)
    assert load_balancer.EDITION == "Standard" and load_balancer.SCHEDULER == "Wrr"


REGISTRY = "courier-prod-cnhz-ab12-registry-vpc.cn-hangzhou.cr.aliyuncs.com"
REGISTRY_INSTANCE = "cri-0123456789abcdef0"
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"{REGISTRY}/courier-prod/orders@{DIGEST}"
HOST_IMAGE = "aliyun_3_x64_20G_alibase_20251030.vhd"


def declare_fleet(opts: pulumi.ResourceOptions, **overrides: Any) -> None:
    base = planning.Capacity(6, 9, 60)
    raise_at = datetime(2026, 12, 11, 14, 30, tzinfo=UTC)
    settings: dict[str, Any] = dict(
        service="orders",
        port=8080,
        instance_types=["ecs.c7.xlarge", "ecs.c6.xlarge"],
        vpc_id="vpc-1",
        vswitch_ids=["vsw-h", "vsw-i", "vsw-j"],
        load_balancer_security_group_id="sg-alb",
        server_group_id="sgp-orders",
        capacity=base,
        name_prefix="prod_cnhz-orders",
        artifact=AlicloudImage(REGISTRY, REGISTRY_INSTANCE, "courier-prod", "orders", f"@{DIGEST}", "cn-hangzhou"),
        host_image=HOST_IMAGE,
        cpu_target=80,
        warmup_seconds=180,
        promotions=[
            PromotionSchedule(
                "double-12",
                raise_at,
                datetime(2026, 12, 12, 18, tzinfo=UTC),
                planning.promotion_capacity(base, 3, 80),
                raise_at,
            )
        ],
        account_id="1234567890123456",
        region="cn-hangzhou",
        environment="prod",
        tags={"environment": "prod", "service": "orders", "owner": "team"},
    )
    settings.update(overrides)
    EssFleet("cnhz-orders", EssFleetArgs(**settings), opts)


def test_ess_group_tracks_cpu_at_the_target_and_prescales_for_promotions(run_components) -> None:
    plan = run_components(with_provider(declare_fleet))
    (group,) = plan.of_type("alicloud:ess/scalingGroup:ScalingGroup")
    assert (group.inputs["minSize"], group.inputs["desiredCapacity"], group.inputs["maxSize"]) == (6, 9, 60)
    assert group.inputs["vswitchIds"] == ["vsw-h", "vsw-i", "vsw-j"]
    assert group.inputs["albServerGroups"] == [{"albServerGroupId": "sgp-orders", "port": 8080, "weight": 100}]
    assert group.ignore_changes == ["desiredCapacity"]
    rules = {r.inputs["scalingRuleType"]: r.inputs for r in plan.of_type("alicloud:ess/scalingRule:ScalingRule")}
    tracking = rules["TargetTrackingScalingRule"]
    assert (tracking["metricName"], tracking["targetValue"], tracking["estimatedInstanceWarmup"]) == (
        "CpuUtilization",
        80,
        180,
    )
    tasks = {t.inputs["scheduledTaskName"]: t.inputs for t in plan.of_type("alicloud:ess/scheduledTask:ScheduledTask")}
    prewarm, restore = tasks["prod_cnhz-orders-double-12-prewarm"], tasks["prod_cnhz-orders-double-12-restore"]
    assert prewarm["launchTime"] == "2026-12-11T14:30Z"
    assert (prewarm["minValue"], prewarm["desiredCapacity"], prewarm["maxValue"]) == (27, 27, 60)
    assert (restore["minValue"], restore["maxValue"]) == (6, 60) and "desiredCapacity" not in restore


def test_ess_instances_are_private_encrypted_and_reached_only_from_the_alb(run_components) -> None:
    plan = run_components(with_provider(declare_fleet))
    (config,) = plan.of_type("alicloud:ess/scalingConfiguration:ScalingConfiguration")
    assert config.inputs["systemDiskEncrypted"] is True and config.inputs["systemDiskCategory"] == "cloud_essd"
    assert config.inputs["internetMaxBandwidthOut"] == 0
    (rule,) = plan.of_type("alicloud:ecs/securityGroupRule:SecurityGroupRule")
    assert rule.inputs["sourceSecurityGroupId"] == "sg-alb" and rule.inputs["portRange"] == "8080/8080"
    (alarm,) = plan.of_type("alicloud:ess/alarm:Alarm")
    # 10 points above the 80% target for 10 minutes (at the target, tracking holds CPU there).
    assert (alarm.inputs["threshold"], alarm.inputs["evaluationCount"]) == ("90", 10)
    assert alarm.inputs["alarmActions"][0].startswith("ari:acs:ess:cn-hangzhou:")


def test_ess_saturation_adds_its_step_at_once_on_the_one_minute_metric(run_components) -> None:
    plan = run_components(with_provider(lambda opts: declare_fleet(opts, surge_step_percent=250)))
    alarms = {a.name.rsplit("-", 1)[-1]: a.inputs for a in plan.of_type("alicloud:ess/alarm:Alarm")}
    saturated = next(a for a in plan.of_type("alicloud:ess/alarm:Alarm") if a.name.endswith("cpu-saturated")).inputs
    assert (saturated["threshold"], saturated["period"], saturated["evaluationCount"]) == ("95", 60, 1)
    rules = {
        r.inputs["scalingRuleName"].rsplit("-", 1)[-1]: r.inputs
        for r in plan.of_type("alicloud:ess/scalingRule:ScalingRule")
    }
    step = rules["saturated"]
    assert (step["adjustmentType"], step["adjustmentValue"], step["minAdjustmentMagnitude"]) == (
        "PercentChangeInCapacity",
        250,
        2,
    )
    # Launch (180 s) + the alarm's period and delay (120 s) + the warmup: no second step on the
    # stale saturated minute.
    assert step["cooldown"] == 180 + 180 + 120  # warmup 180 s here
    assert rules["target"]["estimatedInstanceWarmup"] == 180
    assert len(alarms) == 2


def test_ess_instances_take_ssh_only_from_the_listed_networks(run_components) -> None:
    plan = run_components(with_provider(lambda opts: declare_fleet(opts, ssh_allowed_cidrs=["198.51.100.0/24"])))
    rules = plan.of_type("alicloud:ecs/securityGroupRule:SecurityGroupRule")
    (ssh,) = [r for r in rules if r.inputs["portRange"] == "22/22"]
    assert (ssh.inputs["cidrIp"], ssh.inputs["type"], ssh.inputs["nicType"]) == (
        "198.51.100.0/24",
        "ingress",
        "intranet",
    )
    assert len(rules) == 2


def test_eks_cluster_is_encrypted_logged_and_its_nodes_hardened(run_components) -> None:
    def program() -> None:
        provider = aws.Provider("aws-apse1", region="ap-southeast-1")
        EksCluster(
            "apse1",
            EksClusterArgs(
                cluster_name="courier-prod-apse1",
                region="ap-southeast-1",
                version="1.34",
                private_subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
                node_instance_types=["m6i.xlarge"],
                nodes=planning.Capacity(3, 3, 10),
                load_balancer_security_group_id="sg-alb",
                node_ports=[30084],
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    plan = run_components(program)
    (cluster,) = plan.of_type("aws:eks/cluster:Cluster")
    assert cluster.inputs["name"] == "courier-prod-apse1"
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert "audit" in cluster.inputs["enabledClusterLogTypes"]
    assert cluster.inputs["accessConfig"]["authenticationMode"] == "API"
    (logs,) = plan.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["name"] == "/aws/eks/courier-prod-apse1/cluster" and logs.urn in cluster.dependencies
    (nodes,) = plan.of_type("aws:eks/nodeGroup:NodeGroup")
    assert nodes.inputs["scalingConfig"] == {"minSize": 3, "desiredSize": 3, "maxSize": 10}
    assert nodes.inputs["subnetIds"] == ["subnet-a", "subnet-b", "subnet-c"]
    (template,) = plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    assert template.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    (ingress,) = plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert (ingress.inputs["fromPort"], ingress.inputs["referencedSecurityGroupId"]) == (30084, "sg-alb")
    assert {a.inputs["addonName"] for a in plan.of_type("aws:eks/addon:Addon")} == {
        "vpc-cni",
        "coredns",
        "kube-proxy",
        "eks-pod-identity-agent",
    }


# Names that must be unique per account (CloudMonitor) or per account and region (ESS), with
# the input that carries them; Log Service project names are unique across Alibaba Cloud.
UNIQUE_NAMES = {
    "alicloud:ess/scalingGroup:ScalingGroup": "scalingGroupName",
    "alicloud:ess/scalingConfiguration:ScalingConfiguration": "scalingConfigurationName",
    "alicloud:ess/scalingRule:ScalingRule": "scalingRuleName",
    "alicloud:ess/scheduledTask:ScheduledTask": "scheduledTaskName",
    "alicloud:ess/alarm:Alarm": "name",
    "alicloud:cms/alarmContact:AlarmContact": "alarmContactName",
    "alicloud:cms/alarmContactGroup:AlarmContactGroup": "alarmContactGroupName",
    "alicloud:cms/eventRule:EventRule": "ruleName",
    "alicloud:log/project:Project": "projectName",
    "alicloud:ram/role:Role": "roleName",
    "alicloud:ram/policy:Policy": "policyName",
    "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance": "instanceName",
}


def explicit_names(plan: Plan) -> set[tuple[str, str]]:
    """(type, name) of every name the plan gives an Alibaba Cloud resource, except the log
    store (unique within its project, whose name is the stack's) and the fleets' instance
    security groups (names need not be unique; fleet.py keeps its own)."""
    found = set()
    for r in plan.resources:
        if not r.type.startswith("alicloud:") or r.type == "alicloud:log/store:Store":
            continue
        if r.type == "alicloud:ecs/securityGroup:SecurityGroup" and plan.by_urn(r.parent or "").type.endswith(":Fleet"):
            continue
        found.update(
            (r.type, value)
            for key, value in r.inputs.items()
            # metricName names a CloudMonitor metric and moduleName a registry module, not the
            # resource; a registry repository's name is unique within its namespace, whose name
            # is the stack's.
            if isinstance(value, str)
            and (key == "name" or key.endswith("Name"))
            and key not in ("metricName", "moduleName")
            # Names inside a database cluster (unique within the cluster, whose name is the
            # stack's): its accounts, databases, character set, and what DTS connects to.
            and key not in ("accountName", "dbName", "characterSetName")
            and not key.endswith(("EndpointEngineName", "EndpointUserName", "EndpointDatabaseName"))
            and r.type != "alicloud:cs/registryEnterpriseRepo:RegistryEnterpriseRepo"
        )
    return found


def test_two_stacks_of_one_config_share_no_alibaba_name(stack_plans: StackPlans) -> None:
    prod = stack_plans["prod"]
    other = make_plan("prod-rehearsal", config_file=ROOT / "stacks" / "Pulumi.prod.yaml", at=AS_OF)
    ours, theirs = explicit_names(prod), explicit_names(other)
    assert ours and len(ours) == len(theirs)
    assert ours.isdisjoint(theirs), sorted(ours & theirs)[:10]
    for plan in (prod, other):
        for resource_type, key in UNIQUE_NAMES.items():
            values = [r.inputs[key] for r in plan.of_type(resource_type)]
            assert values and len(values) == len(set(values)), resource_type
    (group,) = [
        g
        for g in prod.of_type("alicloud:ess/scalingGroup:ScalingGroup")
        if g.name == "cnhz-orders-group" and g.region == "cn-hangzhou"
    ]
    assert group.inputs["scalingGroupName"] == "prod_cnhz-orders-courier"
    contacts = {c.inputs["alarmContactName"] for c in prod.of_type("alicloud:cms/alarmContact:AlarmContact")}
    assert "prod_cnhz_incident_commander_0" in contacts
    token = names.stack_token("prod-rehearsal")
    assert {r.inputs["ruleName"] for r in other.of_type("alicloud:cms/eventRule:EventRule")} == {
        f"{token}_cnhz-ess-critical",
        f"{token}_cnhz-ess-warning",
    }


def test_stack_tokens_are_short_dashless_and_distinct() -> None:
    assert [names.stack_token(s) for s in ("prod", "staging", "dev")] == ["prod", "staging", "dev"]
    odd = ["prod-rehearsal", "Prod", "feature.x", "2027-double-11", "a" * 100, "qa_team.eu"]
    tokens = [names.stack_token(s) for s in odd]
    assert len(set(tokens)) == len(odd)
    for token in tokens:
        assert len(token) <= names.STACK_TOKEN_MAX and token[0].isalpha() and token.isalnum() and token.islower()
    assert names.stack_token("prod-rehearsal") == names.stack_token("prod-rehearsal")
    assert names.prefix("staging", "cnzjk") == "staging_cnzjk"


def test_longest_names_are_shortened_deterministically_within_the_api_limits() -> None:
    prefix = f"{names.prefix('a' * 100, 'cnzjk')}-{'s' * 16}"
    first, second = "p" * 39 + "1", "p" * 39 + "2"
    tasks = [
        names.fit(f"{prefix}-{promotion}-{kind}", names.ESS_NAME_MAX, f"-{kind}")
        for promotion in (first, second)
        for kind in ("prewarm", "restore")
    ]
    assert len(set(tasks)) == 4
    assert all(len(t) <= names.ESS_NAME_MAX and t.startswith(prefix) for t in tasks)
    assert [t.rsplit("-", 1)[-1] for t in tasks] == ["prewarm", "restore", "prewarm", "restore"]
    assert tasks[0] == names.fit(f"{prefix}-{first}-prewarm", names.ESS_NAME_MAX, "-prewarm")
    assert names.fit("prod_cnhz-orders-double-12-prewarm", 64, "-prewarm") == "prod_cnhz-orders-double-12-prewarm"
    contact = names.cms_contact(names.prefix("a" * 100, "cnzjk"), "customer-service-lead", 12)
    assert len(contact) <= names.CMS_CONTACT_NAME_MAX and contact[0].isalpha()
    assert set(contact) <= set("abcdefghijklmnopqrstuvwxyz0123456789._")


# --------------------------------------------------------------------------------------
# Delivering the application: registry, instance role, pinned system image, boot script.
# --------------------------------------------------------------------------------------


def declare_registry(opts: pulumi.ResourceOptions, **overrides: Any) -> None:
    settings: dict[str, Any] = dict(
        instance_name="courier-prod-cnhz-ab12",
        region="cn-hangzhou",
        namespace="courier-prod",
        repositories=["orders", "dispatch"],
        vpc_id="vpc-1",
        vswitch_id="vsw-h",
        protect=True,
        tags={"environment": "prod", "service": "shared", "owner": "team"},
    )
    settings.update(overrides)
    AlicloudRegistry("cnhz", AlicloudRegistryArgs(**settings), opts)


def test_registry_is_a_private_enterprise_instance_reached_inside_the_vpc(run_components) -> None:
    plan = run_components(with_provider(declare_registry))
    (component,) = plan.of_type("courier:alicloud:Registry")
    (instance,) = plan.of_type("alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance")
    assert {k: instance.inputs[k] for k in ("instanceName", "instanceType", "paymentType")} == {
        "instanceName": "courier-prod-cnhz-ab12",
        "instanceType": "Basic",
        "paymentType": "Subscription",
    }
    # A lapsed subscription stops every pull in the region: renewed automatically, monthly.
    assert (instance.inputs["renewalStatus"], instance.inputs["period"], instance.inputs["renewPeriod"]) == (
        "AutoRenewal",
        1,
        1,
    )
    (namespace,) = plan.of_type("alicloud:cs/registryEnterpriseNamespace:RegistryEnterpriseNamespace")
    assert (namespace.inputs["name"], namespace.inputs["autoCreate"], namespace.inputs["defaultVisibility"]) == (
        "courier-prod",
        False,
        "PRIVATE",
    )
    repos = {r.inputs["name"]: r for r in plan.of_type("alicloud:cs/registryEnterpriseRepo:RegistryEnterpriseRepo")}
    assert sorted(repos) == ["dispatch", "orders"]
    for repo in repos.values():
        assert (repo.inputs["repoType"], repo.inputs["tagImmutability"]) == ("PRIVATE", True)
        assert _from(repo, "instanceId") == [instance.urn] and _from(repo, "namespace") == [namespace.urn]
    (link,) = plan.of_type("alicloud:cr/vpcEndpointLinkedVpc:VpcEndpointLinkedVpc")
    assert {k: link.inputs[k] for k in ("vpcId", "vswitchId", "moduleName", "enableCreateDnsRecordInPvzt")} == {
        "vpcId": "vpc-1",
        "vswitchId": "vsw-h",
        "moduleName": "Registry",
        "enableCreateDnsRecordInPvzt": True,
    }
    # Destroying the instance refunds and releases it with every image: prod protects it.
    assert instance.protect and namespace.protect and all(r.protect for r in repos.values())
    children = [instance, namespace, link, *repos.values()]
    assert {(c.parent, c.region) for c in children} == {(component.urn, "cn-hangzhou")}


def test_registry_left_unprotected_outside_prod(run_components) -> None:
    plan = run_components(with_provider(lambda opts: declare_registry(opts, protect=False)))
    assert not any(r.protect for r in plan.resources if r.type.startswith("alicloud:c"))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("instance_name", "Courier_Prod"),
        ("instance_name", "courier-" + "x" * 30),
        ("namespace", "courier/prod"),
        ("repositories", ["orders", "orders"]),
        ("repositories", ["Orders"]),
    ],
)
def test_registry_rejects_names_the_api_refuses(run_components, key: str, value: Any) -> None:
    with pytest.raises(Exception, match=f"AlicloudRegistryArgs.{key} for cnhz"):
        run_components(with_provider(lambda opts: declare_registry(opts, **{key: value})))


def test_instances_assume_a_role_that_may_only_pull_their_services_repository(run_components) -> None:
    plan = run_components(with_provider(declare_fleet))
    (fleet,) = plan.of_type("courier:alicloud:Fleet")
    (role,) = plan.of_type("alicloud:ram/role:Role")
    assert role.inputs["roleName"] == "courier-prod-cnhz-orders" == role_name("prod_cnhz-orders")
    assert json.loads(role.inputs["assumeRolePolicyDocument"]) == {
        "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": ["ecs.aliyuncs.com"]}}],
        "Version": "1",
    }
    (policy,) = plan.of_type("alicloud:ram/policy:Policy")
    assert policy.inputs["policyName"] == "courier-prod-cnhz-orders-pull"
    assert json.loads(policy.inputs["policyDocument"]) == {
        "Statement": [
            {"Action": ["cr:GetAuthorizationToken"], "Effect": "Allow", "Resource": ["*"]},
            {
                "Action": ["cr:PullRepository"],
                "Effect": "Allow",
                "Resource": [f"acs:cr:cn-hangzhou:1234567890123456:repository/{REGISTRY_INSTANCE}/courier-prod/orders"],
            },
        ],
        "Version": "1",
    }
    (attachment,) = plan.of_type("alicloud:ram/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyType"] == "Custom"
    assert _from(attachment, "roleName") == [role.urn] and _from(attachment, "policyName") == [policy.urn]
    (config,) = plan.of_type("alicloud:ess/scalingConfiguration:ScalingConfiguration")
    assert config.inputs["roleName"] == "courier-prod-cnhz-orders" and _from(config, "roleName") == [role.urn]
    # The configuration launches the first instances as soon as it is active: pulls must work.
    assert attachment.urn in config.dependencies
    assert {r.parent for r in (role, policy, attachment)} == {fleet.urn}
    assert role.inputs["tags"]["service"] == "orders" and policy.inputs["tags"]["service"] == "orders"


def test_the_system_image_is_the_pinned_name_not_the_newest(run_components) -> None:
    (config,) = run_components(with_provider(declare_fleet)).of_type(
        "alicloud:ess/scalingConfiguration:ScalingConfiguration"
    )
    assert config.inputs["imageId"] == HOST_IMAGE
    other = "aliyun_3_x64_20G_alibase_20250629.vhd"
    (pinned,) = run_components(with_provider(lambda opts: declare_fleet(opts, host_image=other))).of_type(
        "alicloud:ess/scalingConfiguration:ScalingConfiguration"
    )
    assert pinned.inputs["imageId"] == other


@pytest.mark.parametrize(
    "lookup",
    [
        {"nameRegex": "^aliyun_3_x64_20G_alibase_.*", "owners": "system", "mostRecent": True},
        {"imageName": HOST_IMAGE, "owners": "system", "mostRecent": True},
        {"imageName": HOST_IMAGE, "nameRegex": "^aliyun_3_.*", "owners": "system"},
        {"imageName": HOST_IMAGE, "owners": "self"},
        {"imageName": "aliyun_3_x64_20G_alibase_latest", "owners": "system"},
    ],
)
def test_offline_engine_answers_only_an_exact_system_image_name(lookup: dict[str, Any]) -> None:
    with pytest.raises(invokes.UnknownInvoke):
        invokes.answer("alicloud:ecs/getImages:getImages", lookup, "cn-hangzhou")
    exact = {"imageName": HOST_IMAGE, "nameRegex": f"^{re.escape(HOST_IMAGE)}$", "owners": "system"}
    assert invokes.answer("alicloud:ecs/getImages:getImages", exact, "cn-hangzhou")["ids"] == [HOST_IMAGE]


def ess_boot_script(plan: Plan) -> str:
    (config,) = plan.of_type("alicloud:ess/scalingConfiguration:ScalingConfiguration")
    return base64.b64decode(config.inputs["userData"]).decode()


def embedded_scripts(script: str) -> dict[str, str]:
    found = re.findall(r"install -m 0755 /dev/stdin (\S+) <<'SCRIPT'\n(.*?)SCRIPT\n", script, re.DOTALL)
    return dict(found)


#: Everything an Alibaba Cloud instance may contact at boot: the VPC-internal package mirror,
#: Container Registry's VPC API endpoint and the registry's VPC domain in its own region, the
#: metadata service, itself.
ALLOWED_HOSTS = {
    "mirrors.cloud.aliyuncs.com",
    "cr-vpc.cn-hangzhou.aliyuncs.com",
    REGISTRY,
    "100.100.100.200",
    "127.0.0.1",
}


def test_user_data_pulls_the_pinned_image_from_its_own_regions_registry_only(run_components) -> None:
    script = ess_boot_script(run_components(with_provider(declare_fleet)))
    assert "COURIER_SERVICE=orders\nCOURIER_REGION=cn-hangzhou\nCOURIER_ENVIRONMENT=prod\nCOURIER_PORT=8080\n" in script
    assert (
        "ExecStart=/usr/bin/docker run --rm --name courier-orders --env-file /etc/courier/service.env "
        f"--publish 8080:8080 --log-driver journald {IMAGE}\n"
    ) in script
    assert f"ExecStartPre=/usr/local/sbin/courier-pull {IMAGE}\nTimeoutStartSec=600\n" in script
    pull = embedded_scripts(script)[boot.PULL_SCRIPT]
    assert f"REGISTRY={REGISTRY}\nINSTANCE_ID={REGISTRY_INSTANCE}\nROLE=courier-prod-cnhz-orders\n" in pull
    assert "API=https://cr-vpc.cn-hangzhou.aliyuncs.com/\n" in pull
    # Nothing from the internet: every host the script names is inside the region's VPC.
    hosts = set(re.findall(r"https?://([^/\s'\":]+)", script)) | set(re.findall(r"\b[\w.-]+\.aliyuncs\.com\b", script))
    assert hosts <= ALLOWED_HOSTS, sorted(hosts - ALLOWED_HOSTS)
    for outside in ("github", "docker.com", "mirrors.aliyun.com", "cr.cn-hangzhou.aliyuncs.com", "releases/download"):
        assert outside not in script, outside
    assert (
        "retry dnf -y install dnf-plugin-releasever-adapter --repo alinux3-plus\nretry dnf -y install docker-ce\n"
        in script
    )
    assert "baseurl=http://mirrors.cloud.aliyuncs.com/docker-ce/linux/centos/$releasever/$basearch/stable\n" in script
    assert "gpgcheck=1\n" in script
    images = re.findall(r"\S+\.cr\.aliyuncs\.com/\S+", script)
    assert set(images) == {IMAGE}


def test_every_unit_starts_at_every_boot(run_components) -> None:
    script = ess_boot_script(run_components(with_provider(declare_fleet)))
    units = dict(re.findall(r"cat > /etc/systemd/system/(\S+) <<'UNIT'\n(.*?)\nUNIT\n", script, re.DOTALL))
    assert sorted(units) == ["courier-orders.service", "courier-ready.service"]
    for name, body in units.items():
        assert body.endswith("[Install]\nWantedBy=multi-user.target"), name
    assert "Restart=always" in units["courier-orders.service"]
    assert "StartLimitIntervalSec=0" in units["courier-orders.service"]
    assert "After=courier-orders.service" in units["courier-ready.service"]
    assert script.endswith(
        "systemctl daemon-reload\n"
        "systemctl enable --now --no-block courier-orders.service\n"
        "systemctl enable --now --no-block courier-ready.service\n"
    )
    ready = embedded_scripts(script)[boot.READY_SCRIPT]
    assert "until curl -fsS -o /dev/null --max-time 2 'http://127.0.0.1:8080/healthz'; do sleep 2; done" in ready


def test_boot_scripts_pass_shellcheck_and_fit_user_data(run_components, tmp_path: Path) -> None:
    shellcheck = require_tool("shellcheck", "Debian package shellcheck")
    script = ess_boot_script(run_components(with_provider(declare_fleet)))
    assert len(script.encode()) < 16 * 1024  # ESS's limit on raw user data
    texts = {"boot.sh": script, **{Path(k).name: v for k, v in embedded_scripts(script).items()}}
    assert sorted(texts) == ["boot.sh", "courier-pull", "courier-ready"]
    for name, text in texts.items():
        path = tmp_path / name
        path.write_text(text)
        result = subprocess.run([shellcheck, str(path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


def run_bash(program: str, **env: str) -> subprocess.CompletedProcess[str]:
    bash = require_tool("bash", "GNU bash")
    require_tool("openssl", "Debian package openssl")
    return subprocess.run(
        [bash, "-c", "set -euo pipefail\n" + program],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_request_signing_matches_the_documented_example() -> None:
    # Alibaba Cloud API reference, "Request signatures" (RPC, SignatureVersion 1.0): DescribeRegions
    # with AccessKeyId testid and secret testsecret signs to OLeaidS1JvxuMvnyHOwuJ+uX5qY=.
    done = run_bash(
        boot.RPC_SIGNING
        + "query=$(canonical Timestamp 2016-02-23T12:46:24Z Format XML AccessKeyId testid Action DescribeRegions "
        "SignatureMethod HMAC-SHA1 SignatureNonce 3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf Version 2014-05-26 "
        'SignatureVersion 1.0)\necho "$query"\nsign testsecret "$query"\n'
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "AccessKeyId=testid&Action=DescribeRegions&Format=XML&SignatureMethod=HMAC-SHA1"
        "&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0"
        "&Timestamp=2016-02-23T12%3A46%3A24Z&Version=2014-05-26",
        "OLeaidS1JvxuMvnyHOwuJ+uX5qY=",
    ]


FAKE_CURL = """#!/bin/bash
# Answers as the metadata service and Container Registry's API would; records each URL.
for url in "$@"; do [[ $url == http* ]] && break; done
echo "$url" >>"$CALLS"
case $url in
  */latest/api/token) echo metadata-token ;;
  */ram/security-credentials/*) printf '{\\n  "AccessKeyId" : "STS.key",\\n  "AccessKeySecret" : "s3cr\\\\/et+=",\\n'
    printf '  "SecurityToken" : "CAIS+token/=",\\n  "Expiration" : "2026-11-25T06:00:00Z"\\n}\\n' ;;
  https://cr-vpc.cn-hangzhou.aliyuncs.com/*) echo '{"TempUsername":"cr_temp_user","AuthorizationToken":"pass:word","IsSuccess":true}' ;;
  *) exit 22 ;;
esac
"""
FAKE_DOCKER = """#!/bin/bash
# Records what Docker is asked to do (and the password it reads for a login).
if [[ $1 == image ]]; then exit 1; fi
if [[ $1 == login ]]; then echo "login $* $(cat)" >>"$CALLS"; else echo "$*" >>"$CALLS"; fi
"""


def test_pull_script_signs_what_it_sends_and_logs_in_only_for_the_pull(run_components, tmp_path: Path) -> None:
    script = ess_boot_script(run_components(with_provider(declare_fleet)))
    pull = tmp_path / "courier-pull"
    pull.write_text(embedded_scripts(script)[boot.PULL_SCRIPT])
    for name, text in (("curl", FAKE_CURL), ("docker", FAKE_DOCKER)):
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    calls = tmp_path / "calls"
    done = run_bash(f'bash "{pull}" "{IMAGE}"', PATH=f"{tmp_path}:{os.environ['PATH']}", CALLS=str(calls))
    assert done.returncode == 0, done.stderr
    lines = calls.read_text().splitlines()
    assert lines[:2] == [
        "http://100.100.100.200/latest/api/token",
        "http://100.100.100.200/latest/meta-data/ram/security-credentials/courier-prod-cnhz-orders",
    ]
    request = urllib.parse.urlsplit(lines[2])
    assert (request.scheme, request.netloc, request.path) == ("https", "cr-vpc.cn-hangzhou.aliyuncs.com", "/")
    params = dict(urllib.parse.parse_qsl(request.query, keep_blank_values=True))
    signature = params.pop("Signature")
    assert {k: params[k] for k in ("Action", "Version", "InstanceId", "AccessKeyId", "SecurityToken")} == {
        "Action": "GetAuthorizationToken",
        "Version": "2018-12-01",
        "InstanceId": REGISTRY_INSTANCE,
        "AccessKeyId": "STS.key",
        "SecurityToken": "CAIS+token/=",
    }

    # Recomputed here from the documented algorithm, over the parameters as the API receives them.
    def encode(text: str) -> str:
        return urllib.parse.quote(text, safe="-_.~")

    canonical = "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(params.items()))
    expected = hmac.new(b"s3cr/et+=&", f"GET&%2F&{encode(canonical)}".encode(), hashlib.sha1).digest()
    assert signature == base64.b64encode(expected).decode()
    assert lines[3:] == [
        f"login login --username cr_temp_user --password-stdin {REGISTRY} pass:word",
        f"pull {IMAGE}",
        f"logout {REGISTRY}",
    ]


def test_prod_fleets_pull_from_their_regions_registry_and_boot_the_pinned_image(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    (instance,) = plan.of_type("alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance")
    assert instance.region == "cn-hangzhou" and instance.protect
    registry = f"{instance.inputs['instanceName']}-registry-vpc.cn-hangzhou.cr.aliyuncs.com"
    configs = plan.of_type("alicloud:ess/scalingConfiguration:ScalingConfiguration")
    assert len(configs) == 4
    for config in configs:
        service = config.name.removeprefix("cnhz-").removesuffix("-config")
        script = base64.b64decode(config.inputs["userData"]).decode()
        assert re.search(rf"ExecStart=.* {re.escape(registry)}/courier-prod/{service}@sha256:[0-9a-f]{{64}}\n", script)
        assert config.inputs["imageId"] == HOST_IMAGE and config.inputs["roleName"] == f"courier-prod-cnhz-{service}"
