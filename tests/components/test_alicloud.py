"""Alibaba Cloud: network, load balancer and ESS fleet; and the EKS cluster on AWS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pulumi
import pulumi_alicloud as ali
import pulumi_aws as aws

from components import planning
from components.alicloud.fleet import EssFleet, EssFleetArgs
from components.alicloud.load_balancer import TLS_POLICY, AlicloudLoadBalancer, AlicloudLoadBalancerArgs, AlicloudTarget
from components.alicloud.network import AlicloudNetwork, AlicloudNetworkArgs
from components.aws.eks import EksCluster, EksClusterArgs
from components.planning import PromotionSchedule

ZONES = ("cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j")


def with_provider(build):
    def program() -> None:
        provider = ali.Provider("alicloud-cnhz", region="cn-hangzhou")
        build(pulumi.ResourceOptions(providers=[provider]))

    return program


def test_network_plans_app_and_edge_vswitches_per_zone_with_nat_per_zone(run_components) -> None:
    plan = run_components(
        with_provider(
            lambda opts: AlicloudNetwork("cnhz", AlicloudNetworkArgs("10.40.0.0/16", ZONES, nat_per_zone=True), opts)
        )
    )
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


def test_single_nat_serves_every_zone(run_components) -> None:
    plan = run_components(
        with_provider(
            lambda opts: AlicloudNetwork("cnhz", AlicloudNetworkArgs("10.40.0.0/16", ZONES, nat_per_zone=False), opts)
        )
    )
    assert len(plan.of_type("alicloud:vpc/natGateway:NatGateway")) == 1
    assert len(plan.of_type("alicloud:vpc/snatEntry:SnatEntry")) == 3


def declare_load_balancer(opts: pulumi.ResourceOptions) -> None:
    AlicloudLoadBalancer(
        "cnhz",
        AlicloudLoadBalancerArgs(
            vpc_id="vpc-1",
            zone_mappings=[(zone, f"vsw-{zone[-1]}") for zone in ZONES],
            certificate_id="14012345-cn-hangzhou",
            log_project_name="courier-prod-cnhz-abc",
            services=[AlicloudTarget("orders", 8080, "/healthz", ("/orders", "/orders/*"))],
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
    assert rules["cnhz-orders"]["ruleConditions"][0]["pathConfig"]["values"] == ["/orders", "/orders/*"]
    assert rules["cnhz-to-https"]["ruleActions"][0]["redirectConfig"]["protocol"] == "HTTPS"
    assert rules["cnhz-not-found"]["ruleActions"][0]["fixedResponseConfig"]["httpCode"] == "404"
    (group,) = plan.of_type("alicloud:alb/serverGroup:ServerGroup")
    assert group.inputs["healthCheckConfig"]["healthCheckPath"] == "/healthz"


def declare_fleet(opts: pulumi.ResourceOptions, **overrides: Any) -> None:
    base = planning.Capacity(6, 9, 60)
    raise_at = datetime(2026, 12, 11, 14, 30, tzinfo=UTC)
    EssFleet(
        "cnhz-orders",
        EssFleetArgs(
            service="orders",
            port=8080,
            instance_types=["ecs.c7.xlarge", "ecs.c6.xlarge"],
            vpc_id="vpc-1",
            vswitch_ids=["vsw-h", "vsw-i", "vsw-j"],
            load_balancer_security_group_id="sg-alb",
            server_group_id="sgp-orders",
            capacity=base,
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
            **overrides,
        ),
        opts,
    )


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
    prewarm, restore = tasks["cnhz-orders-double-12-prewarm"], tasks["cnhz-orders-double-12-restore"]
    assert prewarm["launchTime"] == "2026-12-11T14:30Z"
    assert (prewarm["minValue"], prewarm["desiredCapacity"], prewarm["maxValue"]) == (27, 27, 60)
    assert (restore["minValue"], restore["maxValue"]) == (6, 60) and "desiredCapacity" not in restore


def test_ess_instances_are_private_encrypted_and_reached_only_from_the_alb(run_components) -> None:
    plan = run_components(with_provider(declare_fleet))
    (config,) = plan.of_type("alicloud:ess/scalingConfiguration:ScalingConfiguration")
    assert config.inputs["systemDiskEncrypted"] is True and config.inputs["systemDiskCategory"] == "cloud_essd"
    assert config.inputs["internetMaxBandwidthOut"] == 0
    assert config.inputs["imageId"].startswith("aliyun_3_x64")
    (rule,) = plan.of_type("alicloud:ecs/securityGroupRule:SecurityGroupRule")
    assert rule.inputs["sourceSecurityGroupId"] == "sg-alb" and rule.inputs["portRange"] == "8080/8080"
    (alarm,) = plan.of_type("alicloud:ess/alarm:Alarm")
    assert (alarm.inputs["threshold"], alarm.inputs["evaluationCount"]) == ("80", 10)
    assert alarm.inputs["alarmActions"][0].startswith("ari:acs:ess:cn-hangzhou:")


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
