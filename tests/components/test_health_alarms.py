"""An alarm on every region's Route 53 health check: in us-east-1 beside the checks' metrics,
paging the critical roles through topics of that region (a CloudWatch alarm notifies only
topics of its own region), evaluated on both sides of the threshold."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.global_traffic import (
    REGION_UNHEALTHY_ROLES,
    GeoEndpoint,
    GlobalTraffic,
    GlobalTrafficArgs,
    HealthAlerting,
    RegionEndpoint,
)
from components.aws.oncall_topics import Subscription
from components.monitoring import oncall
from courier.plan import Plan
from tests.components.alarm_eval import cloudwatch_alarms

RUNBOOKS = "https://github.com/courier-example/courier-platform/blob/main/docs/runbooks"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def declare(alerting: HealthAlerting | None):
    def program() -> None:
        provider = aws.Provider("aws-global", region="us-east-1")
        paths = ["/orders/healthz", "/payments/healthz"]
        GlobalTraffic(
            "courier",
            GlobalTrafficArgs(
                "api.courier.example.com",
                "Z123",
                [
                    RegionEndpoint("apse1", "ap-southeast-1", "primary", "a.elb", "ZA", paths),
                    RegionEndpoint("apne1", "ap-northeast-1", "secondary", "b.elb", "ZB", paths),
                ],
                geo_endpoints=[GeoEndpoint("cnhz", "CN", "cnhz.alb", paths)],
                alerting=alerting,
                tags={"environment": "prod", "service": "shared"},
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return program


ALERTING = HealthAlerting(
    subscriptions={
        oncall.INCIDENT_COMMANDER: [
            Subscription("email", "ic@courier.example.com"),
            Subscription("sms", "+6580000001"),
        ],
        oncall.TECH_EXPERT: [Subscription("email", "sre@courier.example.com")],
        oncall.CUSTOMER_SERVICE_LEAD: [Subscription("email", "cs@courier.example.com")],
        oncall.DATA_ANALYST: [Subscription("email", "data@courier.example.com")],
    },
    stack="prod",
    runbook_base_url=RUNBOOKS,
)


@pytest.fixture(scope="module")
def plan() -> Plan:
    from courier.engine import record
    from courier.plan import build_plan
    from tests.conftest import PROJECT

    return build_plan(PROJECT, "test", record(declare(ALERTING), project=PROJECT, stack="test"))


def test_region_unhealthy_is_a_level_one_incident_with_customer_impact() -> None:
    assert oncall.INCIDENT_LEVEL["critical"] == 1
    assert REGION_UNHEALTHY_ROLES == (oncall.INCIDENT_COMMANDER, oncall.TECH_EXPERT, oncall.CUSTOMER_SERVICE_LEAD)


def test_every_regions_calculated_check_has_an_alarm_in_us_east_1(plan: Plan) -> None:
    checks = {r.urn: r for r in plan.of_type("aws:route53/healthCheck:HealthCheck")}
    alarms = {r.name: r for r in plan.of_type(ALARM)}
    assert set(alarms) == {"courier-apse1-unhealthy", "courier-apne1-unhealthy", "courier-cnhz-unhealthy"}
    for code in ("apse1", "apne1", "cnhz"):
        alarm = alarms[f"courier-{code}-unhealthy"]
        assert alarm.region == "us-east-1"
        inputs = alarm.inputs
        assert (inputs["namespace"], inputs["metricName"], inputs["statistic"]) == (
            "AWS/Route53",
            "HealthCheckStatus",
            "Minimum",
        )
        # Its dimension is the region's calculated check (not a per-service one).
        (source,) = alarm.property_dependencies["dimensions"]
        assert checks[source].name == f"courier-{code}"
        assert checks[source].inputs["type"] == "CALCULATED"
        assert set(inputs["dimensions"]) == {"HealthCheckId"}
        assert inputs["alarmDescription"].startswith(f"{code}.api.courier.example.com: ")
        assert inputs["alarmDescription"].endswith(f"Runbook: {RUNBOOKS}/RegionUnhealthy.md")
        tags = inputs["tags"]
        assert (tags["severity"], tags["customer-impact"], tags["region-code"]) == ("critical", "true", code)


def test_the_alarm_fires_after_two_unhealthy_minutes_and_when_the_metric_vanishes(plan: Plan) -> None:
    (alarm,) = [r.inputs for r in plan.of_type(ALARM) if r.name == "courier-apse1-unhealthy"]
    assert (alarm["comparisonOperator"], alarm["threshold"]) == ("LessThanThreshold", 1)
    assert cloudwatch_alarms(alarm, [1, 0, 0])
    assert not cloudwatch_alarms(alarm, [1, 1, 0])  # one minute: a blip
    assert not cloudwatch_alarms(alarm, [0, 1])
    assert not cloudwatch_alarms(alarm, [1, 1, 1])
    assert cloudwatch_alarms(alarm, [1, None, None])  # the check or its metric is gone


def test_alarms_notify_topics_of_their_own_region_with_the_critical_roles_subscribers(plan: Plan) -> None:
    topics = {t.inputs["tags"]["oncall-role"]: t for t in plan.of_type("aws:sns/topic:Topic")}
    assert set(topics) == set(REGION_UNHEALTHY_ROLES)  # no data-analyst, no heartbeat topic here
    assert all(t.region == "us-east-1" for t in topics.values())
    (key,) = plan.of_type("aws:kms/key:Key")
    assert key.region == "us-east-1"
    assert all(t.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:us-east-1:") for t in topics.values())
    subscriptions = {
        (s.name, s.inputs["protocol"]) for s in plan.of_type("aws:sns/topicSubscription:TopicSubscription")
    }
    assert subscriptions == {
        ("courier-health-incident-commander-0", "email"),
        ("courier-health-incident-commander-1", "sms"),
        ("courier-health-tech-expert-0", "email"),
        ("courier-health-customer-service-lead-0", "email"),
    }
    for alarm in plan.of_type(ALARM):
        actions = alarm.inputs["alarmActions"]
        # CloudWatch refuses an SNS action in another region than the alarm's.
        assert all(arn.startswith("arn:aws:sns:us-east-1:") for arn in actions)
        by_urn = {t.urn: role for role, t in topics.items()}
        notified = {by_urn[u] for u in alarm.property_dependencies["alarmActions"]}
        assert notified == set(REGION_UNHEALTHY_ROLES)
        assert alarm.inputs["okActions"] == actions


def test_without_alerting_there_are_no_alarms_or_topics(run_components) -> None:
    plan = run_components(declare(None))
    assert not plan.of_type(ALARM)
    assert not plan.of_type("aws:sns/topic:Topic")
    assert len(plan.of_type("aws:route53/healthCheck:HealthCheck")) == 3 * 3  # two services + calculated
