"""The prod plan deploys the alerting pipeline in every AWS region."""

from __future__ import annotations

import base64
import json

from components.monitoring import oncall
from components.spec import RECEIVERS
from courier.plan import Plan
from tests.conftest import StackPlans

PROD_REGIONS = ("ap-southeast-1", "ap-northeast-1", "ap-northeast-2")


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
        for template in in_region(plan, "aws:ec2/launchTemplate:LaunchTemplate", region):
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
        alarms = in_region(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", region)
        assert len(alarms) == 4 * 5 + 1
        for alarm in alarms:
            tags = alarm.inputs["tags"]
            roles = oncall.roles_for(tags["severity"], tags.get("category"), tags["customer-impact"] == "true")
            notified = sorted(
                arn.split(":")[-1].split("-", 1)[1].rsplit("-", 1)[0] for arn in alarm.inputs["alarmActions"]
            )
            assert notified == sorted(roles), alarm.name
            assert all(f":sns:{region}:" in arn for arn in alarm.inputs["alarmActions"])
            assert "Runbook: https://" in alarm.inputs["alarmDescription"]
