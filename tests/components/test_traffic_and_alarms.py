"""Alarms, on-call topics, certificates and global traffic."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.alarms import FAST_BURN, Alarms, AlarmsArgs, FleetWatch
from components.aws.certificates import CertificateRegion, Certificates, CertificatesArgs
from components.aws.global_traffic import GeoEndpoint, GlobalTraffic, GlobalTrafficArgs, RegionEndpoint
from components.aws.oncall_topics import OnCallTopics, OnCallTopicsArgs, Subscription, awaits_confirmation
from components.monitoring import oncall
from components.spec import RECEIVERS

TOPICS = {role: f"arn:aws:sns:ap-southeast-1:123456789012:{role}" for role in oncall.ROLES}


def declare_alarms() -> None:
    provider = aws.Provider("aws-apse1", region="ap-southeast-1")
    Alarms(
        "apse1",
        AlarmsArgs(
            load_balancer_arn_suffix="app/apse1-alb/abc",
            fleets=[FleetWatch("orders", "apse1-orders-asg", "targetgroup/apse1-orders/def", 80, 300)],
            topic_arns=TOPICS,
            availability_percent=99.95,
            tags={"environment": "prod"},
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )


def alarms_by_suffix(plan) -> dict[str, dict]:
    return {r.name.removeprefix("apse1-"): r.inputs for r in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}


def notified(alarm: dict) -> set[str]:
    return {arn.rsplit(":", 1)[-1] for arn in alarm["alarmActions"]}


def test_cpu_above_target_for_ten_minutes_warns_the_ops_coordinator(run_components) -> None:
    alarm = alarms_by_suffix(run_components(declare_alarms))["orders-cpu-above-target"]
    assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == ("AWS/EC2", "CPUUtilization", "Average")
    assert alarm["dimensions"] == {"AutoScalingGroupName": "apse1-orders-asg"}
    assert alarm["threshold"] == 80
    assert alarm["comparisonOperator"] == "GreaterThanThreshold"
    assert alarm["period"] * alarm["evaluationPeriods"] == 600
    assert alarm["datapointsToAlarm"] == alarm["evaluationPeriods"]
    assert alarm["treatMissingData"] == "missing"
    assert notified(alarm) == {"ops-coordinator"}
    assert alarm["okActions"] == alarm["alarmActions"]


def test_fleet_at_max_pages_commander_expert_and_customer_service(run_components) -> None:
    alarm = alarms_by_suffix(run_components(declare_alarms))["orders-at-max-capacity"]
    expression = next(q for q in alarm["metricQueries"] if q.get("expression"))
    assert expression["expression"] == "IF(inservice >= maxsize AND cpu > 80, 1, 0)"
    assert notified(alarm) == {"incident-commander", "tech-expert", "customer-service-lead"}
    assert alarm["treatMissingData"] == "notBreaching"


def test_no_healthy_targets_counts_missing_data_as_an_outage(run_components) -> None:
    alarm = alarms_by_suffix(run_components(declare_alarms))["orders-no-healthy-targets"]
    assert alarm["metricName"] == "HealthyHostCount"
    assert alarm["dimensions"] == {"TargetGroup": "targetgroup/apse1-orders/def", "LoadBalancer": "app/apse1-alb/abc"}
    assert alarm["treatMissingData"] == "breaching"


def test_unhealthy_hosts_and_latency_warn_the_tech_expert(run_components) -> None:
    alarms = alarms_by_suffix(run_components(declare_alarms))
    unhealthy = alarms["orders-unhealthy-targets"]
    assert (unhealthy["metricName"], unhealthy["statistic"], unhealthy["threshold"]) == (
        "UnHealthyHostCount",
        "Minimum",
        0,
    )
    assert notified(unhealthy) == {"tech-expert"}
    latency = alarms["orders-latency-p99"]
    assert latency["extendedStatistic"] == "p99"
    assert latency["threshold"] == pytest.approx(0.3)
    assert notified(latency) == {"tech-expert"}


def test_5xx_ratio_alarm_fires_at_a_fast_error_budget_burn(run_components) -> None:
    alarm = alarms_by_suffix(run_components(declare_alarms))["alb-5xx-ratio"]
    assert alarm["threshold"] == pytest.approx(round(0.05 * FAST_BURN, 3))
    expression = next(q for q in alarm["metricQueries"] if q.get("expression"))["expression"]
    assert "requests >= 60" in expression  # a minimum-traffic guard
    assert alarm["treatMissingData"] == "notBreaching"
    assert notified(alarm) == {"incident-commander", "tech-expert", "customer-service-lead"}


def test_oncall_topics_are_encrypted_with_a_key_cloudwatch_may_use(run_components) -> None:
    def program() -> None:
        provider = aws.Provider("aws-apse1", region="ap-southeast-1")
        OnCallTopics(
            "apse1",
            OnCallTopicsArgs(
                subscriptions={
                    "incident-commander": [
                        Subscription("email", "ic@courier.example.com"),
                        Subscription("https", pulumi.Output.secret("https://events.example.com/integration/key")),
                    ]
                },
                tags={"environment": "prod"},
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    plan = run_components(program)
    topics = plan.of_type("aws:sns/topic:Topic")
    assert sorted(t.inputs["tags"]["oncall-role"] for t in topics) == sorted(RECEIVERS)
    subscriptions = {r.name: r.inputs for r in plan.of_type("aws:sns/topicSubscription:TopicSubscription")}
    assert subscriptions["apse1-incident-commander-0"]["protocol"] == "email"
    # A secret endpoint never appears in the plan.
    assert subscriptions["apse1-incident-commander-1"]["endpoint"] == "[secret]"
    assert len(subscriptions) == 2
    (key,) = plan.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert all(
        t.inputs["kmsMasterKeyId"]
        == f"arn:aws:kms:ap-southeast-1:123456789012:key/{t.inputs['kmsMasterKeyId'].rsplit('/', 1)[-1]}"
        for t in topics
    )
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert statements["CloudWatchAlarmsEncrypt"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    # As AMP's alert manager guide grants it for an SSE topic.
    assert statements["ManagedPrometheusEncrypt"] == {
        "Sid": "ManagedPrometheusEncrypt",
        "Effect": "Allow",
        "Principal": {"Service": "aps.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
    }


def declare_topics(subscriptions):
    def program() -> None:
        provider = aws.Provider("aws-apse1", region="ap-southeast-1")
        OnCallTopics(
            "apse1",
            OnCallTopicsArgs(subscriptions=subscriptions, tags={"environment": "prod"}),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return program


def test_managed_prometheus_may_publish_and_read_attributes_from_its_workspaces_only(run_components) -> None:
    plan = run_components(declare_topics({}))
    policies = plan.of_type("aws:sns/topicPolicy:TopicPolicy")
    assert len(policies) == len(RECEIVERS)
    for policy in policies:
        statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
        topic = statements["ManagedPrometheusAlerts"]["Resource"]
        assert topic.startswith("arn:aws:sns:ap-southeast-1:123456789012:")
        assert statements["ManagedPrometheusAlerts"] == {
            "Sid": "ManagedPrometheusAlerts",
            "Effect": "Allow",
            "Principal": {"Service": "aps.amazonaws.com"},
            "Action": ["sns:GetTopicAttributes", "sns:Publish"],
            "Resource": topic,
            "Condition": {
                "ArnLike": {"aws:SourceArn": "arn:aws:aps:ap-southeast-1:123456789012:workspace/*"},
                "StringEquals": {"aws:SourceAccount": "123456789012"},
            },
        }
        assert statements["CloudWatchAlarms"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert statements["CloudWatchAlarms"]["Action"] == "sns:Publish"
        assert statements["CloudWatchAlarms"]["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_self_confirming_endpoints_are_confirmed_and_the_rest_are_listed(run_components) -> None:
    plan = run_components(
        declare_topics(
            {
                "incident-commander": [
                    Subscription("email", "ic@courier.example.com"),
                    Subscription("sms", "+6580000001"),
                ],
                "deadmans-switch": [Subscription("https", "https://heartbeat.example.com/p", auto_confirms=True)],
                "tech-expert": [Subscription("https", "https://events.example.com/integration/key")],
            }
        )
    )
    subscriptions = {r.name: r.inputs for r in plan.of_type("aws:sns/topicSubscription:TopicSubscription")}
    assert subscriptions["apse1-deadmans-switch-0"]["endpointAutoConfirms"] is True
    assert "endpointAutoConfirms" not in subscriptions["apse1-incident-commander-0"]
    topics = {t.inputs["tags"]["oncall-role"]: t.inputs["tags"] for t in plan.of_type("aws:sns/topic:Topic")}
    assert topics["incident-commander"]["awaiting-confirmation"] == "incident-commander-0"  # email; SMS needs none
    assert topics["tech-expert"]["awaiting-confirmation"] == "tech-expert-0"
    assert "awaiting-confirmation" not in topics["deadmans-switch"]
    pending = [
        name
        for name, inputs in subscriptions.items()
        if awaits_confirmation(inputs["protocol"], bool(inputs.get("endpointAutoConfirms")))
    ]
    assert sorted(pending) == ["apse1-incident-commander-0", "apse1-tech-expert-0"]


def test_every_region_certificate_covers_the_global_name_with_one_shared_record(run_components) -> None:
    def program() -> None:
        regions = [
            CertificateRegion(code, aws.Provider(f"aws-{code}", region=name))
            for code, name in (("apse1", "ap-southeast-1"), ("apne1", "ap-northeast-1"))
        ]
        Certificates("courier", CertificatesArgs("api.courier.example.com", "Z123", regions))

    plan = run_components(program)
    certificates = {r.name: r for r in plan.of_type("aws:acm/certificate:Certificate")}
    assert certificates["courier-apse1"].inputs["domainName"] == "apse1.api.courier.example.com"
    assert certificates["courier-apse1"].inputs["subjectAlternativeNames"] == ["api.courier.example.com"]
    assert certificates["courier-apse1"].region == "ap-southeast-1"
    assert certificates["courier-apne1"].region == "ap-northeast-1"
    records = {r.name: r.inputs for r in plan.of_type("aws:route53/record:Record")}
    assert set(records) == {"courier-shared-validation", "courier-apse1-validation", "courier-apne1-validation"}
    assert records["courier-shared-validation"]["name"].endswith(".api.courier.example.com.")
    validations = plan.of_type("aws:acm/certificateValidation:CertificateValidation")
    assert len(validations) == 2
    for validation in validations:
        assert len(validation.inputs["validationRecordFqdns"]) == 2


def declare_traffic(with_standby: bool):
    def program() -> None:
        provider = aws.Provider("aws-apse1", region="ap-southeast-1")
        endpoints = [
            RegionEndpoint(
                "apse1", "ap-southeast-1", "primary", "a.elb", "ZA", ["/orders/healthz", "/payments/healthz"]
            ),
            RegionEndpoint(
                "apne1", "ap-northeast-1", "secondary", "b.elb", "ZB", ["/orders/healthz", "/payments/healthz"]
            ),
        ]
        if with_standby:
            endpoints.append(
                RegionEndpoint(
                    "apne2", "ap-northeast-2", "standby", "c.elb", "ZC", ["/orders/healthz", "/payments/healthz"]
                )
            )
        GlobalTraffic(
            "courier",
            GlobalTrafficArgs("api.courier.example.com", "Z123", endpoints),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return program


def test_each_region_is_healthy_only_when_every_service_is(run_components) -> None:
    plan = run_components(declare_traffic(with_standby=True))
    checks = {r.name: r.inputs for r in plan.of_type("aws:route53/healthCheck:HealthCheck")}
    assert checks["courier-apse1-orders"]["fqdn"] == "apse1.api.courier.example.com"
    assert checks["courier-apse1-orders"]["resourcePath"] == "/orders/healthz"
    assert checks["courier-apse1-orders"]["type"] == "HTTPS"
    calculated = checks["courier-apse1"]
    assert calculated["type"] == "CALCULATED"
    assert calculated["childHealthThreshold"] == 2
    assert len(calculated["childHealthchecks"]) == 2


def test_active_regions_share_by_latency_and_standby_takes_over_on_failure(run_components) -> None:
    plan = run_components(declare_traffic(with_standby=True))
    records = {r.name: r.inputs for r in plan.of_type("aws:route53/record:Record")}
    primary, secondary = records["courier-primary"], records["courier-secondary"]
    assert primary["name"] == secondary["name"] == "api.courier.example.com"
    assert primary["failoverRoutingPolicies"] == [{"type": "PRIMARY"}]
    assert primary["aliases"][0]["name"] == "active.api.courier.example.com"
    assert secondary["failoverRoutingPolicies"] == [{"type": "SECONDARY"}]
    assert secondary["aliases"][0]["name"] == "standby.api.courier.example.com"
    assert records["courier-active-apse1"]["latencyRoutingPolicies"] == [{"region": "ap-southeast-1"}]
    assert records["courier-active-apne1"]["latencyRoutingPolicies"] == [{"region": "ap-northeast-1"}]
    assert records["courier-standby-apne2"]["name"] == "standby.api.courier.example.com"
    assert "courier-active-apne2" not in records
    for name in ("courier-active-apse1", "courier-active-apne1", "courier-standby-apne2"):
        assert records[name]["healthCheckId"]
        assert records[name]["aliases"][0]["evaluateTargetHealth"] is True


def test_without_standby_the_api_name_is_the_latency_set(run_components) -> None:
    plan = run_components(declare_traffic(with_standby=False))
    records = {r.name: r.inputs for r in plan.of_type("aws:route53/record:Record")}
    assert "courier-primary" not in records
    assert records["courier-active-apse1"]["name"] == "api.courier.example.com"


def declare_geo(*geos: tuple[str, str]):
    def program() -> None:
        provider = aws.Provider("aws-apse1", region="ap-southeast-1")
        GlobalTraffic(
            "courier",
            GlobalTrafficArgs(
                "api.courier.example.com",
                "Z123",
                [RegionEndpoint("apse1", "ap-southeast-1", "primary", "a.elb", "ZA", ["/orders/healthz"])],
                geo_endpoints=[
                    GeoEndpoint(code, country, f"{code}.alb", ["/orders/healthz"]) for code, country in geos
                ],
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return program


def geolocations(plan) -> list[tuple[str, str]]:
    return sorted(
        (r.inputs["name"], r.inputs["geolocationRoutingPolicies"][0]["country"])
        for r in plan.of_type("aws:route53/record:Record")
        if r.inputs.get("geolocationRoutingPolicies")
    )


def test_one_geolocation_record_per_country_even_with_two_regions_in_it(run_components) -> None:
    # Route 53 refuses two geolocation records for the same location under one name.
    plan = run_components(declare_geo(("cnhz", "CN"), ("cnsh", "CN"), ("cnhk", "HK")))
    assert geolocations(plan) == [
        ("api.courier.example.com", "*"),
        ("api.courier.example.com", "CN"),
        ("api.courier.example.com", "HK"),
    ]
    records = {r.name: r.inputs for r in plan.of_type("aws:route53/record:Record")}
    china = records["courier-geo-cn"]
    assert china["records"] == ["cn.api.courier.example.com"]
    assert records["courier-geo-cnhk"]["records"] == ["cnhk.api.courier.example.com"]
    # China goes to a weighted set of both regions, each answering only while healthy.
    members = [records["courier-cn-cnhz"], records["courier-cn-cnsh"]]
    assert [m["records"] for m in members] == [["cnhz.api.courier.example.com"], ["cnsh.api.courier.example.com"]]
    assert all(m["name"] == "cn.api.courier.example.com" for m in members)
    assert all(m["weightedRoutingPolicies"] == [{"weight": 100}] for m in members)
    checks = {r.name: r for r in plan.of_type("aws:route53/healthCheck:HealthCheck")}
    assert all(m["healthCheckId"] for m in members)
    # The country falls back to the AWS regions only when neither region is healthy.
    either = checks["courier-cn"].inputs
    assert either["type"] == "CALCULATED"
    assert either["childHealthThreshold"] == 1
    assert len(either["childHealthchecks"]) == 2
    assert "courier-cn" in china_health_sources(plan)


def test_a_single_region_country_points_straight_at_its_region(run_components) -> None:
    plan = run_components(declare_geo(("cnhz", "CN")))
    assert geolocations(plan) == [("api.courier.example.com", "*"), ("api.courier.example.com", "CN")]
    records = {r.name: r.inputs for r in plan.of_type("aws:route53/record:Record")}
    assert records["courier-geo-cnhz"]["records"] == ["cnhz.api.courier.example.com"]
    assert not [r for r in plan.of_type("aws:route53/record:Record") if r.inputs.get("weightedRoutingPolicies")]


def china_health_sources(plan) -> set[str]:
    """Names of the resources the China geolocation record's health check came from."""
    (record,) = [r for r in plan.of_type("aws:route53/record:Record") if r.name == "courier-geo-cn"]
    by_urn = {r.urn: r.name for r in plan.resources}
    return {by_urn[u] for u in record.property_dependencies.get("healthCheckId", [])}


def test_only_the_heartbeat_receiver_is_trusted_to_confirm_itself() -> None:
    from components.aws.region import subscriptions as _subscriptions
    from tests.builders import mutated, spec_of

    def receivers(config) -> None:
        config["alerting"]["receivers"]["deadmans-switch"] = [
            {"protocol": "https", "endpoint": "https://heartbeat.courier.example.com/p"}
        ]
        config["alerting"]["receivers"]["incident-commander"].append(
            {"protocol": "https", "endpoint": "https://events.example.com/integration/key"}
        )

    subscriptions = _subscriptions(spec_of(mutated(receivers)))
    assert [s.auto_confirms for s in subscriptions["deadmans-switch"]] == [True]
    assert [(s.protocol, s.auto_confirms) for s in subscriptions["incident-commander"]] == [
        ("email", False),
        ("https", False),
    ]
