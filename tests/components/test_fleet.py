"""Fleet: a hardened launch template, an ELB-checked ASG, CPU target tracking, promotion schedules."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pulumi
import pulumi_aws as aws

from components import planning
from components.aws.fleet import GROUP_METRICS, Fleet, FleetArgs
from components.planning import PromotionSchedule

BASE = planning.Capacity(min=6, desired=9, max=60)
PEAK = planning.promotion_capacity(BASE, 3, 80)
RAISE = datetime(2026, 12, 11, 14, 30, tzinfo=UTC)
RESTORE = datetime(2026, 12, 12, 18, 0, tzinfo=UTC)


def declare(**overrides):
    def program() -> None:
        provider = aws.Provider("aws-apse1", region="ap-southeast-1")
        settings = dict(
            service="orders",
            port=8080,
            instance_types=["c6i.xlarge"],
            image="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
            vpc_id="vpc-1",
            private_subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
            load_balancer_security_group_id="sg-alb",
            target_group_arn="arn:aws:elasticloadbalancing:ap-southeast-1:123456789012:targetgroup/orders/1",
            capacity=BASE,
            cpu_target=80,
            warmup_seconds=180,
            health_check_grace_seconds=240,
            warm_pool=True,
            promotions=[PromotionSchedule("double-12", RAISE, RESTORE, PEAK)],
            environment="prod",
            region="ap-southeast-1",
            tags={"environment": "prod", "service": "orders", "owner": "team"},
        )
        settings.update(overrides)
        Fleet("apse1-orders", FleetArgs(**settings), opts=pulumi.ResourceOptions(providers=[provider]))

    return program


def test_launch_template_requires_imdsv2_and_encrypts_the_root_volume(run_components) -> None:
    plan = run_components(declare())
    (template,) = plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    metadata = template.inputs["metadataOptions"]
    assert metadata["httpTokens"] == "required"
    assert metadata["httpPutResponseHopLimit"] == 1
    (device,) = template.inputs["blockDeviceMappings"]
    assert device["ebs"]["encrypted"] == "true"
    assert device["ebs"]["volumeType"] == "gp3"
    assert template.inputs["monitoring"] == {"enabled": True}
    (interface,) = template.inputs["networkInterfaces"]
    assert interface["associatePublicIpAddress"] == "false"
    assert template.inputs["imageId"].startswith("ami-")
    assert template.inputs["instanceType"] == "c6i.xlarge"


def test_user_data_tells_the_instance_its_service_and_region(run_components) -> None:
    plan = run_components(declare())
    (template,) = plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    script = base64.b64decode(template.inputs["userData"]).decode()
    assert "COURIER_SERVICE=orders" in script
    assert "COURIER_REGION=ap-southeast-1" in script
    assert "COURIER_PORT=8080" in script
    assert "prometheus-agent" not in script  # no workspace given: no agent


def test_service_starts_before_the_metrics_agent_is_installed(run_components) -> None:
    from components.aws.fleet import MetricsSink

    plan = run_components(
        declare(
            metrics=MetricsSink(
                "arn:aws:aps:ap-southeast-1:123456789012:workspace/ws-1", "https://aps/ws-1/api/v1/remote_write"
            )
        )
    )
    (template,) = plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    script = base64.b64decode(template.inputs["userData"]).decode()
    assert script.index("systemctl enable --now courier-orders.service") < script.index("courier-metrics-agent.service")
    assert "https://aps/ws-1/api/v1/remote_write" in script
    policy = next(p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("remote-write"))
    assert "aps:RemoteWrite" in policy.inputs["policy"]


def test_instance_profile_allows_only_ssm_management(run_components) -> None:
    plan = run_components(declare())
    (attachment,) = plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    assert not plan.of_type("aws:iam/rolePolicy:RolePolicy")


def test_instances_accept_only_the_load_balancer_on_the_service_port(run_components) -> None:
    plan = run_components(declare())
    (ingress,) = plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert ingress.inputs["referencedSecurityGroupId"] == "sg-alb"
    assert (ingress.inputs["fromPort"], ingress.inputs["toPort"]) == (8080, 8080)
    assert "cidrIpv4" not in ingress.inputs


def test_ssh_is_opened_only_to_the_listed_networks(run_components) -> None:
    plan = run_components(declare(ssh_allowed_cidrs=["203.0.113.0/24"]))
    rules = plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    (ssh,) = [r for r in rules if r.inputs.get("fromPort") == 22]
    assert (ssh.inputs["toPort"], ssh.inputs["cidrIpv4"]) == (22, "203.0.113.0/24")
    assert len(rules) == 2


def test_group_spans_private_subnets_with_elb_health_checks(run_components) -> None:
    plan = run_components(declare())
    (group,) = plan.of_type("aws:autoscaling/group:Group")
    inputs = group.inputs
    assert inputs["vpcZoneIdentifiers"] == ["subnet-a", "subnet-b", "subnet-c"]
    assert (inputs["minSize"], inputs["desiredCapacity"], inputs["maxSize"]) == (6, 9, 60)
    assert inputs["healthCheckType"] == "ELB"
    assert inputs["healthCheckGracePeriod"] == 240
    assert inputs["defaultInstanceWarmup"] == 180
    assert inputs["targetGroupArns"] == [
        "arn:aws:elasticloadbalancing:ap-southeast-1:123456789012:targetgroup/orders/1"
    ]
    assert set(inputs["enabledMetrics"]) == {m.value for m in GROUP_METRICS}
    assert inputs["launchTemplate"]["version"] == "1"  # a numbered version, not $Latest


def test_desired_capacity_is_left_to_the_autoscaler(run_components) -> None:
    plan = run_components(declare())
    (group,) = plan.of_type("aws:autoscaling/group:Group")
    assert group.ignore_changes == ["desiredCapacity"]


def test_instance_refresh_rolls_with_auto_rollback_and_no_capacity_loss(run_components) -> None:
    plan = run_components(declare())
    (group,) = plan.of_type("aws:autoscaling/group:Group")
    refresh = group.inputs["instanceRefresh"]
    assert refresh["strategy"] == "Rolling"
    assert refresh["preferences"]["autoRollback"] is True
    assert refresh["preferences"]["minHealthyPercentage"] == 100
    assert refresh["preferences"]["checkpointPercentages"][-1] == 100


def test_warm_pool_only_when_asked(run_components) -> None:
    with_pool = run_components(declare(warm_pool=True)).of_type("aws:autoscaling/group:Group")[0]
    assert with_pool.inputs["warmPool"]["poolState"] == "Stopped"
    assert with_pool.inputs["warmPool"]["instanceReusePolicy"] == {"reuseOnScaleIn": True}
    without = run_components(declare(warm_pool=False)).of_type("aws:autoscaling/group:Group")[0]
    assert "warmPool" not in without.inputs


def test_several_instance_types_use_a_mixed_instances_policy(run_components) -> None:
    plan = run_components(declare(instance_types=["c6i.xlarge", "c5.xlarge"], warm_pool=False))
    (group,) = plan.of_type("aws:autoscaling/group:Group")
    assert "launchTemplate" not in group.inputs
    overrides = group.inputs["mixedInstancesPolicy"]["launchTemplate"]["overrides"]
    assert [o["instanceType"] for o in overrides] == ["c6i.xlarge", "c5.xlarge"]
    assert group.inputs["capacityRebalance"] is True


def test_target_tracking_holds_average_cpu_at_the_target(run_components) -> None:
    plan = run_components(declare(cpu_target=70))
    (policy,) = plan.of_type("aws:autoscaling/policy:Policy")
    assert policy.inputs["policyType"] == "TargetTrackingScaling"
    tracking = policy.inputs["targetTrackingConfiguration"]
    assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "ASGAverageCPUUtilization"
    assert tracking["targetValue"] == 70
    assert tracking["disableScaleIn"] is False
    assert policy.inputs["estimatedInstanceWarmup"] == 180


def test_promotion_is_prewarmed_then_restored(run_components) -> None:
    plan = run_components(declare())
    schedules = {r.inputs["scheduledActionName"]: r.inputs for r in plan.of_type("aws:autoscaling/schedule:Schedule")}
    assert set(schedules) == {"double-12-prewarm", "double-12-restore"}
    prewarm = schedules["double-12-prewarm"]
    assert prewarm["startTime"] == "2026-12-11T14:30:00Z"
    assert (prewarm["minSize"], prewarm["desiredCapacity"], prewarm["maxSize"]) == (27, 27, 60)
    restore = schedules["double-12-restore"]
    assert restore["startTime"] == "2026-12-12T18:00:00Z"
    assert (restore["minSize"], restore["maxSize"]) == (6, 60)
    assert restore["desiredCapacity"] == -1  # unchanged: the autoscaler drains the fleet


def test_promotion_under_way_is_only_restored_and_warned_about(run_components) -> None:
    plan = run_components(declare(promotions=[PromotionSchedule("double-12", None, RESTORE, PEAK)]))
    names = [r.inputs["scheduledActionName"] for r in plan.of_type("aws:autoscaling/schedule:Schedule")]
    assert names == ["double-12-restore"]
    assert any("already under way" in d["message"] for d in plan.diagnostics)


def test_children_are_parented_tagged_and_regional(run_components) -> None:
    plan = run_components(declare())
    (fleet,) = plan.of_type("courier:aws:Fleet")
    children = list(plan.descendants(fleet.urn))
    assert all(c.parent == fleet.urn for c in children)
    assert {c.region for c in children} == {"ap-southeast-1"}
    for child in children:
        if "tags" in child.inputs and isinstance(child.inputs["tags"], dict):
            assert child.inputs["tags"]["service"] == "orders"
    (group,) = plan.of_type("aws:autoscaling/group:Group")
    tags = {t["key"]: t["value"] for t in group.inputs["tags"]}
    assert tags["service"] == "orders" and tags["environment"] == "prod"
