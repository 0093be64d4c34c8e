"""Each guardrail's threshold, defaults and boundaries, on the smallest resources that reach
them: the value at a limit passes, one step past it fails (from the mutation report of
tools/mutate.py, which showed the compliant-plan tests alone could not tell `<` from `<=`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from courier.plan import Resource
from tests.conftest import AS_OF
from tests.policies.harness import violations
from tests.verify.plans import resource

ASG = "aws:autoscaling/group:Group"
ASG_POLICY = "aws:autoscaling/policy:Policy"
ASG_SCHEDULE = "aws:autoscaling/schedule:Schedule"
ESS = "alicloud:ess/scalingGroup:ScalingGroup"
ESS_TASK = "alicloud:ess/scheduledTask:ScheduledTask"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"


def child(token: str, name: str, inputs: dict[str, Any], parent: str = "urn:fleet") -> Resource:
    made = resource(token, name, inputs)
    made.parent = parent
    return made


@pytest.mark.parametrize(("zones", "found"), [(2, 0), (1, 1)])
def test_a_group_spans_two_zones_by_default(zones: int, found: int) -> None:
    group = resource(ASG, "g", {"vpcZoneIdentifiers": [f"subnet-{i}" for i in range(zones)]})
    assert len(violations("aws-autoscaling-group-multi-az", [group])) == found


@pytest.mark.parametrize(("size", "found"), [(1, 0), (0, 1)])
def test_a_group_keeps_one_instance_by_default(size: int, found: int) -> None:
    assert len(violations("aws-autoscaling-group-min-capacity", [resource(ASG, "g", {"minSize": size})])) == found
    assert len(violations("alicloud-ess-group-min-capacity", [resource(ESS, "e", {"minSize": size})])) == found


@pytest.mark.parametrize(("size", "found"), [(2, 0), (1, 1)])
def test_the_configured_floor_is_inclusive(size: int, found: int) -> None:
    config = {"minCapacity": 2}
    assert (
        len(violations("aws-autoscaling-group-min-capacity", [resource(ASG, "g", {"minSize": size})], config)) == found
    )
    scaled = resource(SCALED_OBJECT, "so", {"spec": {"minReplicaCount": size, "maxReplicaCount": 10}})
    assert len(violations("kubernetes-hpa-min-replicas", [scaled], config)) == found


@pytest.mark.parametrize(("target", "found"), [(80, 0), (81, 1)])
def test_cpu_targets_up_to_80_by_default(target: int, found: int) -> None:
    group = resource(ASG, "g", {})
    tracking = resource(
        ASG_POLICY,
        "p",
        {
            "policyType": "TargetTrackingScaling",
            "targetTrackingConfiguration": {
                "predefinedMetricSpecification": {"predefinedMetricType": "ASGAverageCPUUtilization"},
                "targetValue": target,
            },
        },
        computed={"autoscalingGroupName": [group.urn]},
    )
    assert len(violations("aws-autoscaling-group-cpu-target-tracking", [group, tracking])) == found
    rule = resource(
        "alicloud:ess/scalingRule:ScalingRule",
        "r",
        {"scalingRuleType": "TargetTrackingScalingRule", "metricName": "CpuUtilization", "targetValue": target},
        computed={"scalingGroupId": ["urn:ess"]},
    )
    ess = resource(ESS, "e", {})
    ess.urn = "urn:ess"
    assert len(violations("alicloud-ess-group-cpu-target-tracking", [ess, rule])) == found


@pytest.mark.parametrize(("asked", "found"), [(10, 0), (11, 1)])
def test_a_schedule_may_ask_for_exactly_its_maximum(asked: int, found: int) -> None:
    schedule = resource(ASG_SCHEDULE, "s", {"minSize": asked, "desiredCapacity": asked, "maxSize": 10})
    assert len(violations("aws-autoscaling-schedule-max-covers-peak", [schedule])) == found
    task = resource(ESS_TASK, "t", {"minValue": asked, "maxValue": 10})
    assert len(violations("alicloud-ess-task-max-covers-peak", [task])) == found
    # A restore leaves desired alone (-1): only its floor is compared.
    restore = resource(ASG_SCHEDULE, "r", {"minSize": asked, "desiredCapacity": -1, "maxSize": 10})
    assert len(violations("aws-autoscaling-schedule-max-covers-peak", [restore])) == found


@pytest.mark.parametrize(("replicas", "found"), [(10, 0), (11, 1)])
def test_pod_bounds_and_cron_triggers_may_reach_exactly_the_maximum(replicas: int, found: int) -> None:
    spec = {
        "minReplicaCount": replicas,
        "maxReplicaCount": 10,
        "triggers": [{"type": "cron", "name": "p", "metadata": {"desiredReplicas": str(replicas)}}],
    }
    scaled = resource(SCALED_OBJECT, "so", {"metadata": {"name": "orders"}, "spec": spec})
    assert len(violations("kubernetes-scaledobject-max-covers-peak", [scaled])) == 2 * found


def _held_group(min_size: int, max_size: int) -> list[Resource]:
    group = child(ASG, "g", {"minSize": min_size, "maxSize": max_size})
    restore = child(ASG_SCHEDULE, "g-restore", {"scheduledActionName": "sale-restore", "minSize": 6, "maxSize": 60})
    return [group, restore]


@pytest.mark.parametrize(
    ("min_size", "max_size", "found"),
    [(7, 60, 0), (27, 80, 0), (6, 60, 1), (7, 59, 1)],
    ids=["floor-raised", "both-raised", "everyday-floor", "ceiling-lowered"],
)
def test_a_group_is_held_for_a_running_promotion_only_above_its_everyday_floor(
    min_size: int, max_size: int, found: int
) -> None:
    assert len(violations("aws-autoscaling-group-promotion-prescale", _held_group(min_size, max_size))) == found


def _ess_deferred(end_after: timedelta, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("COURIER_PLAN_TIME", AS_OF.isoformat())
    end = (AS_OF + end_after).strftime("%Y-%m-%dT%H:%M:%SZ")
    aws = child(ASG_SCHEDULE, "a-restore", {"scheduledActionName": "sale-restore", "startTime": end}, "urn:asg")
    ess = child(ESS, "e", {"minSize": 2, "maxSize": 4}, "urn:ess-fleet")
    other = child(ESS_TASK, "x", {"description": "courier-promotion:other:prewarm", "minValue": 2}, "urn:ess-fleet")
    return violations("alicloud-ess-group-promotion-prescale", [aws, ess, other])


def test_ess_waits_for_a_promotion_just_beyond_89_days_and_not_one_at_89(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _ess_deferred(timedelta(days=89, seconds=1), monkeypatch) == []
    found = _ess_deferred(timedelta(days=89), monkeypatch)
    assert len(found) == 1 and "'sale'" in found[0]


@pytest.mark.parametrize(
    "description",
    [
        "courier-promotion:sale",
        "promotion:sale:prewarm",
        "courier-promotion:sale:warm",
        "courier-promotion:sale:prewarm:x",
    ],
)
def test_only_well_formed_task_descriptions_name_a_promotion(description: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURIER_PLAN_TIME", AS_OF.isoformat())
    end = (AS_OF + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    aws = child(ASG_SCHEDULE, "a-restore", {"scheduledActionName": "sale-restore", "startTime": end}, "urn:asg")
    ess = child(ESS, "e", {"minSize": 2, "maxSize": 4}, "urn:ess-fleet")
    task = child(ESS_TASK, "t", {"description": description, "minValue": 9, "maxValue": 9}, "urn:ess-fleet")
    found = violations("alicloud-ess-group-promotion-prescale", [aws, ess, task])
    assert len(found) == 1 and "'sale'" in found[0] and "no scheduled tasks" in found[0]
