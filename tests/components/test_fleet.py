"""Fleet: a hardened launch template that boots the pinned AMI and runs the service's pinned
image from its own region's registry, an ELB-checked ASG that holds new instances until they
serve, a fixed-size warm pool, CPU target tracking, promotion schedules."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from components import boot, planning
from components.aws.fleet import FLEET_TAG, GROUP_METRICS, LAUNCH_HOOK, Fleet, FleetArgs, MetricsSink
from components.aws.registry import ContainerImage
from components.planning import PromotionSchedule
from courier import invokes
from tests.tools import require_tool

BASE = planning.Capacity(min=6, desired=9, max=60)
PEAK = planning.promotion_capacity(BASE, 3, 80)
RAISE = datetime(2026, 12, 11, 14, 30, tzinfo=UTC)
RESTORE = datetime(2026, 12, 12, 18, 0, tzinfo=UTC)
REGION = "ap-southeast-1"
REGISTRY = f"123456789012.dkr.ecr.{REGION}.amazonaws.com"
DIGEST = "sha256:" + "ab" * 32
AMI_NAME = "al2023-ami-2023.11.20260526.0-kernel-6.18-x86_64"
WORKSPACE = f"arn:aws:aps:{REGION}:123456789012:workspace/ws-1"
REMOTE_WRITE = f"https://aps-workspaces.{REGION}.amazonaws.com/workspaces/ws-1/api/v1/remote_write"


def image(repository: str, reference: str) -> ContainerImage:
    return ContainerImage(
        f"{REGISTRY}/{repository}", reference, f"arn:aws:ecr:{REGION}:123456789012:repository/{repository}"
    )


METRICS = MetricsSink(
    WORKSPACE,
    REMOTE_WRITE,
    node_exporter=image("courier/prod/platform/node-exporter", "@sha256:" + "cd" * 32),
    prometheus=image("courier/prod/platform/prometheus", ":v2.53.2"),
)


def declare(**overrides):
    def program() -> None:
        provider = aws.Provider("aws-apse1", region=REGION)
        settings = dict(
            service="orders",
            port=8080,
            instance_types=["c6i.xlarge"],
            ami_name=AMI_NAME,
            vpc_id="vpc-1",
            private_subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
            load_balancer_security_group_id="sg-alb",
            target_group_arn=f"arn:aws:elasticloadbalancing:{REGION}:123456789012:targetgroup/orders/1",
            capacity=BASE,
            artifact=image("courier/prod/orders", f"@{DIGEST}"),
            cpu_target=80,
            warmup_seconds=180,
            health_check_grace_seconds=240,
            warm_pool_size=9,
            promotions=[PromotionSchedule("double-12", RAISE, RESTORE, PEAK)],
            environment="prod",
            region=REGION,
            fleet_id="courier-platform/prod/apse1-orders",
            tags={"environment": "prod", "service": "orders", "owner": "team"},
        )
        settings.update(overrides)
        Fleet("apse1-orders", FleetArgs(**settings), opts=pulumi.ResourceOptions(providers=[provider]))

    return program


def boot_script(plan) -> str:
    (template,) = plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    return base64.b64decode(template.inputs["userData"]).decode()


def policy(plan, suffix: str) -> dict:
    (found,) = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == f"apse1-orders-{suffix}"]
    return json.loads(found.inputs["policy"])


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
    assert template.inputs["instanceType"] == "c6i.xlarge"


def test_the_ami_is_the_amazon_image_of_the_pinned_name_in_the_fleets_region(run_components) -> None:
    plan = run_components(declare())
    (template,) = plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    lookup = {"owners": ["amazon"], "filters": [{"name": "name", "values": [AMI_NAME]}], "mostRecent": False}
    expected = invokes.answer("aws:ec2/getAmi:getAmi", lookup, REGION)["id"]
    assert template.inputs["imageId"] == expected
    # AMI IDs are regional: the same name is another ID elsewhere.
    assert invokes.answer("aws:ec2/getAmi:getAmi", lookup, "ap-northeast-1")["id"] != expected


def test_a_teams_ssm_parameter_still_overrides_the_pinned_ami(run_components) -> None:
    parameter = "/courier/images/orders"
    plan = run_components(declare(ami_name=None, image_parameter=parameter))
    (template,) = plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert (
        template.inputs["imageId"]
        == invokes.answer("aws:ssm/getParameter:getParameter", {"name": parameter}, REGION)["value"]
    )


@pytest.mark.parametrize("images", [{"ami_name": None}, {"image_parameter": "/courier/images/orders"}])
def test_rejects_anything_but_exactly_one_image_source(run_components, images) -> None:
    with pytest.raises(Exception, match="exactly one of ami_name and image_parameter"):
        run_components(declare(**images))


@pytest.mark.parametrize(
    ("name", "most_recent"),
    [
        ("al2023-ami-2023*-x86_64", False),  # a pattern, not a release
        ("amzn2-ami-hvm-2.0.20250101.0-x86_64-gp2", False),  # not AL2023
        ("al2023-ami-2023.11.20260526.0-kernel-6.18", False),  # no architecture
        (AMI_NAME, True),  # the newest match instead of the pinned one
    ],
)
def test_offline_engine_refuses_amis_that_are_not_a_pinned_al2023_release(name: str, most_recent: bool) -> None:
    lookup = {"owners": ["amazon"], "filters": [{"name": "name", "values": [name]}], "mostRecent": most_recent}
    with pytest.raises(invokes.UnknownInvoke):
        invokes.answer("aws:ec2/getAmi:getAmi", lookup, REGION)


def test_user_data_runs_the_pinned_image_from_the_registry_in_its_own_region(run_components) -> None:
    script = boot_script(run_components(declare(metrics=METRICS)))
    assert "COURIER_SERVICE=orders" in script and "COURIER_REGION=ap-southeast-1" in script
    assert (
        "ExecStart=/usr/bin/docker run --rm --name courier-orders --env-file /etc/courier/service.env "
        f"--publish 8080:8080 --log-driver journald {REGISTRY}/courier/prod/orders@{DIGEST}\n"
    ) in script
    # Every image comes from this region's registry; nothing is downloaded from the internet.
    images = re.findall(r"\S+\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/\S+", script)
    assert sorted(images) == sorted(
        [
            f"{REGISTRY}/courier/prod/orders@{DIGEST}",
            f"{REGISTRY}/courier/prod/platform/node-exporter@sha256:{'cd' * 32}",
            f"{REGISTRY}/courier/prod/platform/prometheus:v2.53.2",
        ]
    )
    assert "github.com" not in script and "releases/download" not in script
    assert not re.search(r"curl [^\n]*https://", script)
    # Docker from the region's AL2023 repository; ECR credentials from the instance profile.
    assert "retry dnf install -y docker amazon-ecr-credential-helper awscli-2\n" in script
    assert json.dumps({"credHelpers": {REGISTRY: "ecr-login"}}) in script


def test_every_unit_starts_at_every_boot_and_the_service_before_the_agent(run_components) -> None:
    script = boot_script(run_components(declare(metrics=METRICS)))
    units = re.findall(r"cat > /etc/systemd/system/(\S+) <<'UNIT'\n(.*?)\nUNIT\n", script, re.DOTALL)
    assert [name for name, _ in units] == [
        "courier-orders.service",
        "courier-ready.service",
        "node-exporter.service",
        "prometheus-agent.service",
    ]
    for name, body in units:
        assert body.endswith("[Install]\nWantedBy=multi-user.target"), name
        if name != "courier-ready.service":
            assert "Restart=always" in body and "StartLimitIntervalSec=0" in body, name
    assert script.index("systemctl enable --now courier-orders.service") < script.index("node-exporter.service")
    assert "systemctl enable --now --no-block courier-ready.service" in script
    assert "systemctl enable --now --no-block node-exporter.service prometheus-agent.service" in script
    assert f"url: {REMOTE_WRITE}" in script and "sigv4:\n    region: ap-southeast-1" in script


def test_boot_script_passes_shellcheck_and_fits_user_data(run_components, tmp_path: Path) -> None:
    shellcheck = require_tool("shellcheck", "Debian package shellcheck")
    script = boot_script(run_components(declare(metrics=METRICS)))
    assert len(script.encode()) < 16 * 1024  # EC2's limit on raw user data
    ready = re.search(r"<<'SCRIPT'\n(.*?)SCRIPT\n", script, re.DOTALL)
    assert ready is not None
    for name, text in (("boot.sh", script), ("courier-ready.sh", ready.group(1))):
        path = tmp_path / name
        path.write_text(text)
        result = subprocess.run([shellcheck, str(path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_launch_hook_holds_each_instance_until_the_service_answers_locally(run_components) -> None:
    plan = run_components(declare())
    (group,) = plan.of_type("aws:autoscaling/group:Group")
    assert group.inputs["initialLifecycleHooks"] == [
        {
            "name": LAUNCH_HOOK,
            "lifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
            "heartbeatTimeout": 600,
            "defaultResult": "ABANDON",
        }
    ]
    assert not plan.of_type("aws:autoscaling/lifecycleHook:LifecycleHook")  # would miss the first instances
    script = boot_script(plan)
    ready = script[script.index("<<'SCRIPT'") : script.index("\nSCRIPT\n")]
    health = "until curl -fsS -o /dev/null --max-time 2 'http://127.0.0.1:8080/healthz'; do sleep 2; done"
    complete = "complete-lifecycle-action"
    assert ready.index(health) < ready.index(complete)
    assert f"HOOK={LAUNCH_HOOK}\n" in ready and "REGION=ap-southeast-1\n" in ready
    assert '--lifecycle-hook-name "$HOOK" --instance-id "$INSTANCE_ID" --lifecycle-action-result CONTINUE' in ready
    assert "ExecStart=/usr/local/sbin/courier-ready\nTimeoutStartSec=600\n" in script


def test_the_warm_pool_holds_exactly_its_size_whatever_the_desired_capacity(run_components) -> None:
    (group,) = run_components(declare(warm_pool_size=9)).of_type("aws:autoscaling/group:Group")
    assert group.inputs["warmPool"] == {
        "poolState": "Stopped",
        "minSize": 9,
        "maxGroupPreparedCapacity": 9,
        "instanceReusePolicy": {"reuseOnScaleIn": True},
    }
    (without,) = run_components(declare(warm_pool_size=0)).of_type("aws:autoscaling/group:Group")
    assert "warmPool" not in without.inputs


def test_rejects_a_warm_pool_with_several_instance_types(run_components) -> None:
    with pytest.raises(Exception, match="a warm pool needs exactly one instance type"):
        run_components(declare(instance_types=["c6i.xlarge", "c5.xlarge"], warm_pool_size=3))


def test_instances_pull_only_the_fleets_repositories(run_components) -> None:
    plan = run_components(declare(metrics=METRICS))
    assert policy(plan, "pull")["Statement"] == [
        {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "PullFleetImages",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": [
                f"arn:aws:ecr:{REGION}:123456789012:repository/courier/prod/orders",
                f"arn:aws:ecr:{REGION}:123456789012:repository/courier/prod/platform/node-exporter",
                f"arn:aws:ecr:{REGION}:123456789012:repository/courier/prod/platform/prometheus",
            ],
        },
    ]
    remote_write = policy(plan, "remote-write")["Statement"]
    assert remote_write == [{"Effect": "Allow", "Action": "aps:RemoteWrite", "Resource": WORKSPACE}]


def test_instances_complete_lifecycle_actions_only_on_their_own_group(run_components) -> None:
    plan = run_components(declare())
    assert policy(plan, "lifecycle")["Statement"] == [
        {
            "Sid": "CompleteOwnLaunch",
            "Effect": "Allow",
            "Action": "autoscaling:CompleteLifecycleAction",
            "Resource": f"arn:aws:autoscaling:{REGION}:123456789012:autoScalingGroup:*:autoScalingGroupName/*",
            "Condition": {
                "StringEquals": {f"autoscaling:ResourceTag/{FLEET_TAG}": "courier-platform/prod/apse1-orders"}
            },
        },
        {
            "Sid": "FindOwnGroup",
            "Effect": "Allow",
            "Action": "autoscaling:DescribeAutoScalingInstances",
            "Resource": "*",
        },
    ]
    (group,) = plan.of_type("aws:autoscaling/group:Group")
    tags = {t["key"]: t["value"] for t in group.inputs["tags"]}
    assert tags[FLEET_TAG] == "courier-platform/prod/apse1-orders"
    # The permissions exist before the group launches its first instances, and do not wait on it.
    policies = {p.name: p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")}
    assert {policies["apse1-orders-pull"].urn, policies["apse1-orders-lifecycle"].urn} <= set(group.dependencies)
    assert all(group.urn not in p.dependencies for p in policies.values())


def test_instance_role_is_managed_through_ssm_only(run_components) -> None:
    plan = run_components(declare())
    (attachment,) = plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    assert sorted(p.name for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")) == [
        "apse1-orders-lifecycle",
        "apse1-orders-pull",
    ]


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
    # Planned before the promotion: the everyday capacity.
    assert (inputs["minSize"], inputs["desiredCapacity"], inputs["maxSize"]) == (6, 9, 60)
    assert inputs["healthCheckType"] == "ELB"
    assert inputs["healthCheckGracePeriod"] == 240
    assert inputs["defaultInstanceWarmup"] == 180
    assert inputs["targetGroupArns"] == [f"arn:aws:elasticloadbalancing:{REGION}:123456789012:targetgroup/orders/1"]
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
    assert refresh["preferences"]["checkpointPercentages"] == [20, 50, 100]


def test_several_instance_types_use_a_mixed_instances_policy(run_components) -> None:
    plan = run_components(declare(instance_types=["c6i.xlarge", "c5.xlarge"], warm_pool_size=0))
    (group,) = plan.of_type("aws:autoscaling/group:Group")
    assert "launchTemplate" not in group.inputs
    overrides = group.inputs["mixedInstancesPolicy"]["launchTemplate"]["overrides"]
    assert [o["instanceType"] for o in overrides] == ["c6i.xlarge", "c5.xlarge"]
    assert group.inputs["capacityRebalance"] is True


def test_target_tracking_holds_average_cpu_at_the_target(run_components) -> None:
    plan = run_components(declare(cpu_target=70))
    (policy_,) = plan.of_type("aws:autoscaling/policy:Policy")
    assert policy_.inputs["policyType"] == "TargetTrackingScaling"
    tracking = policy_.inputs["targetTrackingConfiguration"]
    assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "ASGAverageCPUUtilization"
    assert tracking["targetValue"] == 70
    assert tracking["disableScaleIn"] is False
    assert policy_.inputs["estimatedInstanceWarmup"] == 180


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


def test_promotion_under_way_holds_its_capacity_and_is_only_restored(run_components) -> None:
    plan = run_components(declare(promotions=[PromotionSchedule("double-12", None, RESTORE, PEAK)]))
    names = [r.inputs["scheduledActionName"] for r in plan.of_type("aws:autoscaling/schedule:Schedule")]
    assert names == ["double-12-restore"]
    (group,) = plan.of_type("aws:autoscaling/group:Group")
    assert (group.inputs["minSize"], group.inputs["maxSize"]) == (PEAK.min, PEAK.max)
    assert any("under way" in d["message"] for d in plan.diagnostics)


def test_children_are_parented_tagged_and_regional(run_components) -> None:
    plan = run_components(declare())
    (fleet,) = plan.of_type("courier:aws:Fleet")
    children = list(plan.descendants(fleet.urn))
    assert all(c.parent == fleet.urn for c in children)
    assert {c.region for c in children} == {REGION}
    for child in children:
        if "tags" in child.inputs and isinstance(child.inputs["tags"], dict):
            assert child.inputs["tags"]["service"] == "orders"
    (group,) = plan.of_type("aws:autoscaling/group:Group")
    tags = {t["key"]: t["value"] for t in group.inputs["tags"]}
    assert tags["service"] == "orders" and tags["environment"] == "prod"


def test_ready_script_is_what_the_unit_runs() -> None:
    launch = boot.Launch(
        boot.Identity("orders", REGION, "prod", 8080), f"{REGISTRY}/courier/prod/orders@{DIGEST}", "/healthz", "h", 60
    )
    assert boot.ready_script(launch) in boot.aws_service(launch)
    assert launch.registry == REGISTRY


def test_surge_scaling_adds_a_10_second_policy_and_a_saturation_step(run_components) -> None:
    plan = run_components(declare(high_resolution=True, surge_step_percent=250, warmup_seconds=60))
    policies_ = {p.name.removeprefix("apse1-orders-"): p for p in plan.of_type("aws:autoscaling/policy:Policy")}
    assert set(policies_) == {"cpu", "cpu-10s", "surge"}
    # The 1-minute CPU policy stays, but the 10-second one does the scaling in.
    assert policies_["cpu"].inputs["targetTrackingConfiguration"]["disableScaleIn"] is True
    fast = policies_["cpu-10s"].inputs["targetTrackingConfiguration"]
    (metric,) = fast["customizedMetricSpecification"]["metrics"]
    stat = metric["metricStat"]
    assert (stat["period"], stat["stat"], fast["targetValue"], fast["disableScaleIn"]) == (10, "Average", 80, False)
    assert (stat["metric"]["namespace"], stat["metric"]["metricName"]) == ("CWAgent", "cpu_usage_active")
    assert [d["name"] for d in stat["metric"]["dimensions"]] == ["AutoScalingGroupName"]
    step = policies_["surge"].inputs
    assert (step["policyType"], step["adjustmentType"], step["minAdjustmentMagnitude"]) == (
        "StepScaling",
        "PercentChangeInCapacity",
        2,
    )
    assert step["stepAdjustments"] == [{"scalingAdjustment": 250, "metricIntervalLowerBound": "0"}]
    (alarm,) = plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert (alarm.inputs["period"], alarm.inputs["evaluationPeriods"], alarm.inputs["threshold"]) == (10, 1, 95)
    assert alarm.inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert policies_["surge"].urn in alarm.property_dependencies["alarmActions"]
    publish = policy(plan, "publish-cpu")
    assert publish["Statement"][0]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CWAgent"}}
    # The agent comes from the region's AL2023 repository and starts at every boot.
    script = boot_script(plan)
    assert "retry dnf install -y amazon-cloudwatch-agent\n" in script
    assert '"metrics_collection_interval": 10' in script and '"force_flush_interval": 10' in script
    assert "amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:" in script


def test_without_high_resolution_only_the_one_minute_policy_scales(run_components) -> None:
    plan = run_components(declare())
    assert [p.name for p in plan.of_type("aws:autoscaling/policy:Policy")] == ["apse1-orders-cpu"]
    assert not plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert "amazon-cloudwatch-agent" not in boot_script(plan)
