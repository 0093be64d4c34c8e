"""The prod plan deploys the alerting pipeline in every AWS region."""

from __future__ import annotations

import base64
import json

from components.monitoring import oncall
from components.spec import RECEIVERS
from courier.plan import Plan
from tests.conftest import StackPlans

PROD_REGIONS = ("ap-southeast-1", "ap-northeast-1", "ap-northeast-2")  # the AWS ones


def in_region(plan: Plan, resource_type: str, region: str):
    return [r for r in plan.of_type(resource_type) if r.region == region]


def test_every_region_has_a_workspace_with_rules_and_routing(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    for region in PROD_REGIONS:
        (workspace,) = in_region(plan, "aws:amp/workspace:Workspace", region)
        assert workspace.inputs["loggingConfiguration"]["logGroupArn"].endswith(":*")
        (namespace,) = in_region(plan, "aws:amp/ruleGroupNamespace:RuleGroupNamespace", region)
        assert namespace.inputs["data"].startswith("groups:")
        assert f'region="{region}"' in namespace.inputs["data"]
        (definition,) = in_region(plan, "aws:amp/alertManagerDefinition:AlertManagerDefinition", region)
        assert definition.inputs["definition"].startswith("alertmanager_config: |")
        assert workspace.urn in namespace.dependencies and workspace.urn in definition.dependencies


def test_every_region_has_a_topic_per_role_with_its_subscribers(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    for region in PROD_REGIONS:
        topics = in_region(plan, "aws:sns/topic:Topic", region)
        assert sorted(t.inputs["tags"]["oncall-role"] for t in topics) == sorted(RECEIVERS)
        assert all(t.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:") for t in topics)
        subscriptions = in_region(plan, "aws:sns/topicSubscription:TopicSubscription", region)
        protocols = sorted((s.name.split("-", 1)[1].rsplit("-", 1)[0], s.inputs["protocol"]) for s in subscriptions)
        assert ("incident-commander", "sms") in protocols
        assert ("deadmans-switch", "https") in protocols
        assert {role for role, _ in protocols} == set(RECEIVERS)


def test_every_instance_remote_writes_to_its_regions_workspace(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    for region in PROD_REGIONS:
        (workspace,) = in_region(plan, "aws:amp/workspace:Workspace", region)
        endpoint = f"https://aps-workspaces.{region}.amazonaws.com/workspaces/"
        fleet_templates = [
            t for t in in_region(plan, "aws:ec2/launchTemplate:LaunchTemplate", region) if "userData" in t.inputs
        ]
        assert len(fleet_templates) == 4
        for template in fleet_templates:
            script = base64.b64decode(template.inputs["userData"]).decode()
            assert len(script.encode()) < 16 * 1024  # EC2's limit on raw user data
            assert endpoint in script and "/api/v1/remote_write" in script
            assert f"region: {region}" in script  # sigv4 region and the region label
            service = template.inputs["tags"]["service"]
            assert f"service: {service}" in script
            assert workspace.urn in template.dependencies
        policies = [p for p in in_region(plan, "aws:iam/rolePolicy:RolePolicy", region) if "remote-write" in p.name]
        assert len(policies) == 4
        for policy in policies:
            (statement,) = json.loads(policy.inputs["policy"])["Statement"]
            assert statement["Action"] == "aps:RemoteWrite"
            assert statement["Resource"].startswith(f"arn:aws:aps:{region}:")


def test_cloudwatch_alarms_notify_the_same_role_topics_with_a_runbook(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    for region in PROD_REGIONS:
        every = in_region(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", region)
        # The saturation alarms act on their fleet's step policy (components/aws/surge.py);
        # every other alarm pages.
        scaling = [a for a in every if a.name.endswith("-saturated")]
        assert len(scaling) == 4 and all("severity" not in a.inputs["tags"] for a in scaling)
        assert all(a.inputs["alarmActions"][0].startswith("arn:aws:autoscaling:") for a in scaling)
        alarms = [a for a in every if a not in scaling]
        # Per fleet 5, the load balancer's 5xx, the drill results' dead letters, and the data
        # tier's replication lag: Aurora's on the region's cluster (whichever writes today),
        # DynamoDB's towards each other serving AWS region, S3's lag and failures per destination.
        lag = [a for a in alarms if a.inputs["tags"].get("service") == "data"]
        (dead_letters,) = [a for a in alarms if a.inputs["tags"].get("service") == "monitoring"]
        assert dead_letters.inputs["namespace"] == "AWS/SQS"
        assert len(alarms) - len(lag) == 4 * 5 + 1 + 1
        stores = sorted(a.inputs["tags"]["store"] for a in lag)
        assert stores == ["Aurora"] + ["DynamoDB"] * 2 + ["S3"] * 4, region
        rto = [a for a in lag if a.inputs["metricName"] == "ReplicationLatency" and a.inputs["namespace"] == "AWS/S3"]
        assert all(a.inputs["threshold"] == 900 and a.inputs["period"] == 300 for a in rto)
        assert all(a.inputs["treatMissingData"] == "notBreaching" for a in lag)
        for alarm in alarms:
            tags = alarm.inputs["tags"]
            roles = oncall.roles_for(tags["severity"], tags.get("category"), tags["customer-impact"] == "true")
            notified = sorted(
                arn.split(":")[-1].split("-", 1)[1].rsplit("-", 1)[0] for arn in alarm.inputs["alarmActions"]
            )
            assert notified == sorted(roles), alarm.name
            assert all(f":sns:{region}:" in arn for arn in alarm.inputs["alarmActions"])
            assert "Runbook: https://" in alarm.inputs["alarmDescription"]


def test_every_eks_cluster_ships_its_metrics_to_the_regions_workspace(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    for region in PROD_REGIONS:
        (workspace,) = in_region(plan, "aws:amp/workspace:Workspace", region)
        (monitoring,) = [
            r
            for r in in_region(plan, "kubernetes:helm.sh/v3:Release", region)
            if r.inputs["chart"] == "kube-prometheus-stack"
        ]
        prometheus = monitoring.inputs["values"]["prometheus"]
        assert prometheus["agentMode"] is True
        (remote,) = prometheus["prometheusSpec"]["remoteWrite"]
        assert remote["url"].startswith(f"https://aps-workspaces.{region}.amazonaws.com/workspaces/")
        assert remote["sigv4"] == {"region": region}
        association = next(
            a
            for a in in_region(plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation", region)
            if a.name.endswith("-metrics")
        )
        assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == (
            "monitoring",
            "prometheus-agent",
        )
        policy = next(
            p for p in in_region(plan, "aws:iam/rolePolicy:RolePolicy", region) if p.name.endswith("-metrics")
        )
        (statement,) = json.loads(policy.inputs["policy"])["Statement"]
        assert statement["Action"] == "aps:RemoteWrite"
        assert workspace.urn in policy.dependencies


def test_the_alibaba_region_pages_the_same_roles_through_cloudmonitor(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    groups = {
        g.inputs["alarmContactGroupName"]
        for g in in_region(plan, "alicloud:cms/alarmContactGroup:AlarmContactGroup", "cn-hangzhou")
    }
    assert groups == {f"prod_cnhz-{role}" for role in oncall.ROLES}
    rules = {r.inputs["ruleName"]: r.inputs for r in in_region(plan, "alicloud:cms/eventRule:EventRule", "cn-hangzhou")}
    critical = {c["contactGroupName"] for c in rules["prod_cnhz-ess-critical"]["contactParameters"]}
    assert critical == {"prod_cnhz-incident-commander", "prod_cnhz-tech-expert", "prod_cnhz-customer-service-lead"}
    warning = {c["contactGroupName"] for c in rules["prod_cnhz-ess-warning"]["contactParameters"]}
    assert warning == {"prod_cnhz-ops-coordinator"}
    notifications = in_region(plan, "alicloud:ess/notification:Notification", "cn-hangzhou")
    assert len(notifications) == 4
    for notification in notifications:
        assert notification.inputs["notificationArn"].startswith("acs:ess:cn-hangzhou:")
        assert set(notification.inputs["notificationTypes"]) == {
            "AUTOSCALING:SCALE_REJECT",
            "AUTOSCALING:SCALE_OUT_ERROR",
        }
    alarms = in_region(plan, "alicloud:ess/alarm:Alarm", "cn-hangzhou")
    # Per fleet: 10 minutes 10 points above the target, and one saturated minute (the step).
    assert sorted(
        (a.inputs["metricName"], a.inputs["threshold"], a.inputs["evaluationCount"]) for a in alarms
    ) == sorted([("CpuUtilization", "90", 10)] * 3 + [("CpuUtilization", "80", 10)] + [("CpuUtilization", "95", 1)] * 4)


def test_the_plan_lists_the_alert_subscriptions_people_must_confirm(stack_plans: StackPlans) -> None:
    from courier.render import awaiting_confirmation, markdown

    plan = stack_plans["prod"]
    aws_regions = ("ap-northeast-1", "ap-northeast-2", "ap-southeast-1")
    # Email is confirmed by a person; SMS needs no confirmation; the heartbeat endpoint
    # confirms itself (endpointAutoConfirms), so only the emails wait.
    # us-east-1: the topics of the critical roles that the Route 53 health-check alarms notify.
    critical = oncall.roles_for("critical", None, True)
    assert awaiting_confirmation(plan) == sorted(
        [(region, role, "email") for region in aws_regions for role in oncall.ROLES]
        + [("us-east-1", role, "email") for role in critical]
    )
    heartbeat = [
        s for s in plan.of_type("aws:sns/topicSubscription:TopicSubscription") if s.inputs["protocol"] == "https"
    ]
    assert len(heartbeat) == 3 and all(s.inputs["endpointAutoConfirms"] is True for s in heartbeat)
    assert "18 alert subscription(s) in 4 region(s) receive nothing until confirmed" in markdown(plan)


def test_the_markdown_summary_carries_the_plans_warnings(stack_plans: StackPlans) -> None:
    from courier.render import markdown

    text = markdown(stack_plans["prod"])
    assert "#### Warnings" in text
    # The reviewer of a PR sees when the next `up` must run for Alibaba Cloud's horizon.
    assert "- double-11-2027 is beyond Auto Scaling's 89-day scheduling horizon" in text
    assert "run `pulumi up` between 2027-08-14 18:00 UTC and 2027-11-10 15:49 UTC" in text
