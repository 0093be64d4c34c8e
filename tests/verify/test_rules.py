"""Cross-field rules for fleets, load balancers, alarms and schedules: one passing case and
one failing case per rule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from courier.plan import Resource
from tests.verify.plans import AS_OF, findings, resource, target_group


def _rules(*resources: Resource, rule: str) -> list[tuple[str, str]]:
    return [(f.property, f.message) for f in findings(*resources, rule=rule)]


# -- target groups and listener rules ---------------------------------------------------


def test_rejects_slow_start_with_least_outstanding_requests_or_weighted_random() -> None:
    rule = "aws-targetgroup-slow-start-algorithm"
    assert _rules(target_group(loadBalancingAlgorithmType="round_robin"), rule=rule) == []
    assert _rules(target_group(loadBalancingAlgorithmType="least_outstanding_requests", slowStart=0), rule=rule) == []
    for algorithm in ("least_outstanding_requests", "weighted_random"):
        [(where, message)] = _rules(target_group(loadBalancingAlgorithmType=algorithm), rule=rule)
        assert where == "slowStart" and algorithm in message


def test_rejects_a_health_check_timeout_not_below_the_interval() -> None:
    rule = "aws-targetgroup-health-check-timeout"
    assert _rules(target_group(healthCheck_timeout=14), rule=rule) == []
    [(where, message)] = _rules(target_group(healthCheck_timeout=15), rule=rule)
    assert where == "healthCheck.timeout" and "15 s must be less than the interval 15 s" in message


def _listener_rule(name: str, priority: int, listener: str = "urn:listener-https") -> Resource:
    return resource(
        "aws:lb/listenerRule:ListenerRule",
        name,
        {"listenerArn": "arn:listener", "priority": priority, "actions": [{"type": "forward"}]},
        computed={"listenerArn": [listener]},
    )


def test_rejects_two_listener_rules_with_one_priority_on_one_listener() -> None:
    rule = "aws-listener-rule-priority-unique"
    other_listener = _listener_rule("b", 10, "urn:listener-other")
    assert _rules(_listener_rule("a", 10), _listener_rule("b", 20), other_listener, rule=rule) == []
    [(where, message)] = _rules(_listener_rule("a", 10), _listener_rule("b", 10), rule=rule)
    assert where == "priority" and "already used on this listener by 'a'" in message


def test_rejects_two_alibaba_alb_rules_with_one_priority_and_a_priority_above_10000() -> None:
    def alb_rule(name: str, priority: int) -> Resource:
        return resource(
            "alicloud:alb/rule:Rule",
            name,
            {"listenerId": "cnhz-https", "priority": priority, "ruleName": name},
            region="cn-hangzhou",
            computed={"listenerId": ["urn:cnhz-https"]},
        )

    assert _rules(alb_rule("cnhz-a", 10), alb_rule("cnhz-b", 20), rule="alicloud-alb-rule-priority-unique") == []
    assert _rules(alb_rule("cnhz-a", 10), alb_rule("cnhz-b", 10), rule="alicloud-alb-rule-priority-unique")
    [(where, message)] = _rules(alb_rule("cnhz-a", 10001), rule="alicloud-documented-limits")
    assert where == "priority" and "10001 is outside 1-10000" in message


# -- capacity ---------------------------------------------------------------------------


def _group(**inputs: Any) -> Resource:
    base = {"minSize": 6, "desiredCapacity": 6, "maxSize": 48, "launchTemplate": {"id": "lt-1", "version": "1"}}
    return resource("aws:autoscaling/group:Group", "apne1-orders-asg", {**base, **inputs})


def test_rejects_an_auto_scaling_group_whose_desired_capacity_is_outside_min_and_max() -> None:
    rule = "aws-asg-capacity-order"
    assert _rules(_group(), rule=rule) == []
    assert _rules(_group(desiredCapacity=4), rule=rule) == [("desiredCapacity", "desiredCapacity 4 is below minSize 6")]
    assert ("minSize", "minSize 50 is above maxSize 48") in _rules(_group(minSize=50), rule=rule)


def test_a_scheduled_action_may_leave_desired_alone_but_not_invert_min_and_max() -> None:
    def action(**inputs: Any) -> Resource:
        base = {"scheduledActionName": "x", "startTime": "2026-12-01T00:00:00Z", "minSize": 6, "maxSize": 48}
        return resource("aws:autoscaling/schedule:Schedule", "apne1-orders-x", {**base, **inputs})

    assert _rules(action(desiredCapacity=-1), rule="aws-asg-capacity-order") == []
    assert _rules(action(minSize=60, desiredCapacity=-1), rule="aws-asg-capacity-order")


def test_rejects_a_node_group_whose_desired_size_is_above_max() -> None:
    def nodes(desired: int) -> Resource:
        scaling = {"minSize": 3, "desiredSize": desired, "maxSize": 10}
        return resource("aws:eks/nodeGroup:NodeGroup", "apne1-nodes", {"scalingConfig": scaling})

    assert _rules(nodes(3), rule="aws-eks-nodegroup-capacity-order") == []
    [(where, _)] = _rules(nodes(11), rule="aws-eks-nodegroup-capacity-order")
    assert where == "scalingConfig.desiredSize"


def test_rejects_an_ess_group_or_task_outside_its_bounds() -> None:
    rule = "alicloud-ess-capacity-order"
    group = resource("alicloud:ess/scalingGroup:ScalingGroup", "g", {"minSize": 2, "desiredCapacity": 2, "maxSize": 8})
    task = resource(
        "alicloud:ess/scheduledTask:ScheduledTask", "t", {"minValue": 6, "desiredCapacity": 6, "maxValue": 8}
    )
    assert _rules(group, task, rule=rule) == []
    group.inputs["desiredCapacity"] = 9
    task.inputs["minValue"] = 9
    assert sorted(where for where, _ in _rules(group, task, rule=rule)) == [
        "desiredCapacity",
        "desiredCapacity",
        "minValue",
    ]


def test_rejects_pod_autoscalers_whose_minimum_is_above_the_maximum() -> None:
    rule = "kubernetes-replica-bounds-order"
    hpa = resource(
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "hpa", {"spec": {"minReplicas": 6, "maxReplicas": 48}}
    )
    keda = resource(
        "kubernetes:keda.sh/v1alpha1:ScaledObject", "so", {"spec": {"minReplicaCount": 6, "maxReplicaCount": 48}}
    )
    assert _rules(hpa, keda, rule=rule) == []
    hpa.inputs["spec"]["minReplicas"] = 50
    keda.inputs["spec"]["minReplicaCount"] = 50
    assert [where for where, _ in _rules(hpa, keda, rule=rule)] == ["spec.minReplicas", "spec.minReplicaCount"]


def test_rejects_a_warm_pool_on_a_mixed_instances_group_or_with_spot() -> None:
    rule = "aws-asg-warm-pool-single-instance-type"
    warm = {"warmPool": {"minSize": 2, "poolState": "Stopped"}}
    assert _rules(_group(**warm), rule=rule) == []
    mixed = _group(**warm, mixedInstancesPolicy={"launchTemplate": {"overrides": [{"instanceType": "c6i.xlarge"}]}})
    [(where, message)] = _rules(mixed, rule=rule)
    assert where == "warmPool" and "mixed instances policy" in message
    template = resource(
        "aws:ec2/launchTemplate:LaunchTemplate", "apne1-orders", {"instanceMarketOptions": {"marketType": "spot"}}
    )
    spot = _group(**warm)
    spot.property_dependencies["launchTemplate"] = [template.urn]
    assert "Spot" in _rules(template, spot, rule=rule)[0][1]


# -- alarms -----------------------------------------------------------------------------


def _alarm(**inputs: Any) -> Resource:
    base = {"metricName": "CPUUtilization", "namespace": "AWS/EC2", "period": 60, "evaluationPeriods": 5}
    return resource("aws:cloudwatch/metricAlarm:MetricAlarm", "apne1-orders-cpu", {**base, **inputs})


def test_rejects_alarm_periods_other_than_10_20_30_or_a_multiple_of_60() -> None:
    rule = "aws-alarm-period"
    assert _rules(_alarm(), _alarm(period=10), _alarm(period=300), rule=rule) == []
    assert _rules(_alarm(period=45), rule=rule) == [("period", "period 45 s: must be 10, 20, 30 or a multiple of 60")]
    queries = [{"id": "m", "metric": {"metricName": "x", "namespace": "y", "period": 90, "stat": "Sum"}}]
    [(where, _)] = _rules(_alarm(period=None, metricQueries=queries), rule=rule)
    assert where == "metricQueries[0].metric.period"


def test_rejects_an_evaluation_window_over_a_day_for_sub_hour_periods_or_a_week() -> None:
    rule = "aws-alarm-evaluation-window"
    assert _rules(_alarm(evaluationPeriods=1440), _alarm(period=3600, evaluationPeriods=168), rule=rule) == []
    assert "over the 86400 s (one day)" in _rules(_alarm(evaluationPeriods=1441), rule=rule)[0][1]
    assert "over the 604800 s" in _rules(_alarm(period=3600, evaluationPeriods=169), rule=rule)[0][1]


def test_rejects_more_datapoints_to_alarm_than_evaluation_periods() -> None:
    rule = "aws-alarm-datapoints-within-periods"
    assert _rules(_alarm(datapointsToAlarm=5), rule=rule) == []
    assert _rules(_alarm(datapointsToAlarm=6), rule=rule)[0][0] == "datapointsToAlarm"


# -- schedules --------------------------------------------------------------------------


def _stamp(days: float, fmt: str = "%Y-%m-%dT%H:%M:%SZ") -> str:
    return (AS_OF + timedelta(days=days)).strftime(fmt)


def test_rejects_a_scheduled_action_that_is_not_after_the_plans_moment() -> None:
    rule = "aws-asg-schedule-in-future"

    def action(start: str, **inputs: Any) -> Resource:
        base = {"scheduledActionName": "p", "startTime": start, "minSize": 1, "maxSize": 2}
        return resource("aws:autoscaling/schedule:Schedule", "apne1-orders-p", {**base, **inputs})

    assert _rules(action(_stamp(1)), rule=rule) == []
    assert _rules(action(_stamp(-1), recurrence="0 9 * * *"), rule=rule) == []
    [(where, message)] = _rules(action(_stamp(0)), rule=rule)
    assert where == "startTime" and "not after the plan's moment 2026-11-25T00:00:00+00:00" in message
    assert _rules(action(_stamp(2), endTime=_stamp(1)), rule=rule) == [
        ("endTime", f"end time {_stamp(1)} is not after the start time")
    ]


def test_rejects_an_ess_task_more_than_90_days_ahead_or_in_the_past() -> None:
    rule = "alicloud-ess-scheduled-task-horizon"

    def task(days: float) -> Resource:
        inputs = {"scheduledTaskName": "cnhz-orders-p", "launchTime": _stamp(days, "%Y-%m-%dT%H:%MZ"), "minValue": 1}
        return resource("alicloud:ess/scheduledTask:ScheduledTask", "t", inputs, region="cn-hangzhou")

    assert _rules(task(30), task(90), rule=rule) == []
    [(where, message)] = _rules(task(346), rule=rule)
    assert where == "launchTime" and "346 days out; ESS accepts at most 90 days (until 2027-02-23T00:00Z)" in message
    assert _rules(task(90.01), rule=rule)
    assert "not after the plan's moment" in _rules(task(-1), rule=rule)[0][1]


def test_rejects_alibaba_values_outside_their_documented_ranges() -> None:
    rule = "alicloud-documented-limits"
    task = resource(
        "alicloud:ess/scheduledTask:ScheduledTask",
        "t",
        {"scheduledTaskName": "cnhz-orders-double-11-2027-prewarm"},
        region="cn-hangzhou",
    )
    group = resource(
        "alicloud:alb/serverGroup:ServerGroup",
        "cnhz-orders",
        {"serverGroupName": "cnhz-orders", "healthCheckConfig": {"healthCheckInterval": 5, "healthyThreshold": 3}},
        region="cn-hangzhou",
    )
    assert _rules(task, group, rule=rule) == []
    task.inputs["scheduledTaskName"] = "prod_cnhz-notifications-spring-festival-2027-prewarm-with-margins"
    group.inputs["healthCheckConfig"]["healthCheckInterval"] = 60
    assert set(_rules(task, group, rule=rule)) == {
        ("scheduledTaskName", "65 characters is outside 2-64"),
        ("healthCheckConfig.healthCheckInterval", "60 is outside 1-50"),
    }
