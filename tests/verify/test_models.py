"""AWS inputs against botocore's API models, the catalogue of create calls, and coverage."""

from __future__ import annotations

import pytest

from courier.verify import models, verify
from courier.verify.catalogue import CREATE_CALLS
from tests.verify.plans import findings, plan, resource, target_group

RULE = "aws-api-model"


def test_a_compliant_target_group_passes_the_model() -> None:
    assert findings(target_group(), rule=RULE) == []


def test_rejects_a_health_check_interval_above_the_model_range() -> None:
    [found] = findings(target_group(healthCheck_interval=400), rule=RULE)
    assert found.property == "healthCheck.interval"
    assert "400 is above the maximum 300" in found.message
    assert "CreateTargetGroup" in found.message and found.source.startswith("botocore elbv2/")


def test_rejects_a_threshold_outside_2_to_10() -> None:
    [found] = findings(target_group(healthCheck_unhealthyThreshold=1), rule=RULE)
    assert found.property == "healthCheck.unhealthyThreshold" and "below the minimum 2" in found.message


def test_rejects_a_value_outside_the_enum_case_insensitively() -> None:
    assert findings(target_group(protocol="http"), rule=RULE) == []
    [found] = findings(target_group(protocol="HTTPX"), rule=RULE)
    assert found.property == "protocol" and "'HTTPX' is not one of HTTP, HTTPS" in found.message


def test_rejects_an_instance_type_ec2_does_not_know() -> None:
    template = resource("aws:ec2/launchTemplate:LaunchTemplate", "apne1-orders", {"instanceType": "c6i.huge"})
    [found] = findings(template, rule=RULE)
    assert found.property == "instanceType" and "CreateLaunchTemplate" in found.message
    template.inputs["instanceType"] = "c6i.xlarge"
    assert findings(template, rule=RULE) == []


def test_rejects_a_latency_record_for_an_unknown_region() -> None:
    record = resource(
        "aws:route53/record:Record",
        "courier-active",
        {
            "name": "active.api.courier.example.com",
            "type": "A",
            "setIdentifier": "moon",
            "latencyRoutingPolicies": [{"region": "moon-1"}],
            "aliases": [{"name": "x.elb.amazonaws.com", "zoneId": "Z1", "evaluateTargetHealth": True}],
        },
    )
    [found] = findings(record, rule=RULE)
    assert found.property == "latencyRoutingPolicies[0].region" and "'moon-1'" in found.message


def test_rejects_a_documented_attribute_range_the_model_lacks() -> None:
    assert findings(target_group(slowStart=0), rule=RULE) == []
    [found] = findings(target_group(slowStart=10), rule=RULE)
    assert found.property == "slowStart" and "10 is outside 30-900 (or 0)" in found.message
    assert "TargetGroupAttribute" in found.source


def test_rejects_a_log_retention_cloudwatch_does_not_offer() -> None:
    group = resource("aws:cloudwatch/logGroup:LogGroup", "apne1-flow-logs", {"retentionInDays": 42})
    [found] = findings(group, rule=RULE)
    assert found.property == "retentionInDays" and "42" in found.message
    group.inputs["retentionInDays"] = 365
    assert findings(group, rule=RULE) == []


def test_checks_pulumi_maps_against_api_name_value_lists() -> None:
    alarm = resource(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "apne1-orders-cpu",
        {"metricName": "CPUUtilization", "namespace": "AWS/EC2", "period": 60, "dimensions": {"x" * 256: "asg"}},
    )
    [found] = findings(alarm, rule=RULE)
    assert found.property.startswith("dimensions[") and "256 characters is above the maximum 255" in found.message


def test_rejects_more_alarm_actions_than_the_model_allows() -> None:
    alarm = resource(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "apne1-orders-cpu",
        {"alarmActions": [f"arn:aws:sns:ap-northeast-1:123456789012:t{i}" for i in range(6)], "period": 60},
    )
    [found] = findings(alarm, rule=RULE)
    assert found.property == "alarmActions" and "6 items is above the maximum 5" in found.message


def test_values_computed_from_other_resources_and_secrets_are_not_judged() -> None:
    policy = resource("aws:iam/rolePolicy:RolePolicy", "apne1-agent", {"role": "not a role name!", "policy": "{}"})
    [found] = findings(policy, rule=RULE)
    assert found.property == "role" and "does not match" in found.message
    computed = resource(
        "aws:iam/rolePolicy:RolePolicy",
        "apne1-agent",
        {"role": "not a role name!", "policy": "{}"},
        computed={"role": ["urn:role"]},
    )
    assert findings(computed, rule=RULE) == []
    assert findings(target_group(protocol="[secret]"), rule=RULE) == []


def test_coverage_counts_checked_provider_only_and_unmapped_inputs() -> None:
    unknown = resource("aws:foo/bar:Baz", "x", {"a": 1, "b": {"c": "d"}, "tags": {"k": "v"}})
    result = verify(plan(target_group(), unknown), shellcheck=None).to_json()
    by_type = result["coverage"]["byType"]
    group = by_type["aws:lb/targetGroup:TargetGroup"]
    # 7 top-level values + 9 health check values; tags belong to the tag rule.
    assert group["inputs"] == 16
    assert group["checked"] == 16 and group["unmapped"] == 0 and group["providerOnly"] == 0
    assert by_type["aws:foo/bar:Baz"] == {
        "inputs": 2,
        "checked": 0,
        "constrained": 0,
        "providerOnly": 0,
        "unmapped": 2,
        "unmappedPaths": ["a", "b"],
    }
    assert result["coverage"]["inputs"] == 18


def test_every_alias_names_a_member_of_the_model() -> None:
    assert models.aliases_resolve() == []


def test_model_patterns_with_astral_ranges_compile() -> None:
    pattern = (
        models.operation("autoscaling", "CreateAutoScalingGroup")
        .input_shape.members["AutoScalingGroupName"]
        .metadata["pattern"]
    )
    compiled = models.compiled(pattern)
    assert compiled is not None and compiled.fullmatch("apne1-orders-asg \U0001f600")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_aws_type_the_shipped_stacks_declare_is_mapped_to_its_create_call(stack_plans, stack: str) -> None:
    declared = {r.type for r in stack_plans[stack].resources if r.custom and r.type.startswith("aws:")}
    assert declared - set(CREATE_CALLS) == set()
    coverage = verify(stack_plans[stack], shellcheck=None).to_json()["coverage"]
    assert coverage["unmapped"] == 0, {t: c["unmappedPaths"] for t, c in coverage["byType"].items() if c["unmapped"]}
