"""CloudMonitor alarms on the Alibaba Cloud region's ALB: the AWS regions' coverage (5xx ratio,
no healthy / unhealthy servers, latency), routed to the same roles' contact groups, each naming
its runbook; evaluated on both sides of each threshold (tests/components/alarm_eval.py)."""

from __future__ import annotations

import json

import pulumi
import pulumi_alicloud as ali
import pytest

from components.alicloud.alarms import (
    PROJECT,
    SILENCE_SECONDS,
    AlicloudAlarms,
    AlicloudAlarmsArgs,
    ServerGroupWatch,
    runbook_tag,
)
from components.aws.alarms import FAST_BURN
from components.monitoring import oncall
from tests.components.alarm_eval import cloudmonitor_alarms
from tests.conftest import StackPlans

RUNBOOKS = "https://github.com/courier-example/courier-platform/blob/main/docs/runbooks"
GROUPS = {role: f"prod_cnhz-{role}" for role in oncall.ROLES}
CRITICAL_CUSTOMER = {"prod_cnhz-incident-commander", "prod_cnhz-tech-expert", "prod_cnhz-customer-service-lead"}
ALARM = "alicloud:cms/alarm:Alarm"


def declare_alarms(contact_groups=GROUPS):
    def program() -> None:
        provider = ali.Provider("alicloud-cnhz", region="cn-hangzhou")
        AlicloudAlarms(
            "cnhz",
            AlicloudAlarmsArgs(
                load_balancer_id="alb-123",
                server_groups=[ServerGroupWatch("orders", "sgp-orders", 300)],
                contact_groups=contact_groups,
                name_prefix="prod_cnhz",
                availability_percent=99.95,
                runbook_base_url=RUNBOOKS,
                tags={"environment": "prod"},
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return program


@pytest.fixture(scope="module")
def rules() -> dict[str, dict]:
    from courier.engine import record
    from courier.plan import build_plan
    from tests.conftest import PROJECT

    plan = build_plan(PROJECT, "test", record(declare_alarms(), project=PROJECT, stack="test"))
    (component,) = [r for r in plan.resources if r.type == "courier:alicloud:Alarms"]
    found = plan.of_type(ALARM)
    assert all(r.parent == component.urn and r.region == "cn-hangzhou" for r in found)
    return {r.inputs["name"]: r.inputs for r in found}


def test_every_rule_is_named_for_its_stack_region_and_runbook(rules: dict[str, dict]) -> None:
    assert set(rules) == {
        "prod_cnhz-alb-LoadBalancer5xxRatio",
        "prod_cnhz-orders-NoHealthyTargets",
        "prod_cnhz-orders-UnhealthyTargets",
        "prod_cnhz-orders-LatencyP99AboveObjective",
    }
    for name, rule in rules.items():
        page = name.rsplit("-", 1)[-1]
        assert rule["project"] == PROJECT == "acs_alb"
        assert rule["period"] == 60
        # Alibaba Cloud tag values may not contain a scheme: the address without it.
        assert rule["tags"]["runbook"] == f"{RUNBOOKS.removeprefix('https://')}/{page}.md"
        assert rule["tags"]["environment"] == "prod"
        assert rule["silenceTime"] == SILENCE_SECONDS[rule["tags"]["severity"]]


def test_5xx_ratio_pages_at_a_fast_error_budget_burn(rules: dict[str, dict]) -> None:
    rule = rules["prod_cnhz-alb-LoadBalancer5xxRatio"]
    assert json.loads(rule["metricDimensions"]) == [{"loadBalancerId": "alb-123"}]
    assert rule["compositeExpression"]["level"] == "CRITICAL"
    assert not any(k.startswith("escalations") for k in rule)
    assert set(rule["contactGroups"]) == CRITICAL_CUSTOMER
    assert (rule["tags"]["severity"], rule["tags"]["customer-impact"]) == ("critical", "true")
    threshold = round(0.05 * FAST_BURN, 3)  # percent of requests: 14.4x a 99.95% budget
    assert f"> {threshold:g}" in rule["compositeExpression"]["expressionRaw"]

    def minutes(qps: float, errors_per_second: float, count: int) -> list[dict[str, float]]:
        return [{"LoadBalancerQPS": qps, "LoadBalancerHTTPCode5XX": errors_per_second}] * count

    assert cloudmonitor_alarms(rule, minutes(100, 0.73, 5))  # 0.73% for 5 minutes
    assert not cloudmonitor_alarms(rule, minutes(100, 0.71, 5))  # just under
    assert not cloudmonitor_alarms(rule, minutes(100, 0.71, 1) + minutes(100, 5, 4))  # 4 minutes only
    assert not cloudmonitor_alarms(rule, minutes(0.5, 0.5, 10))  # every request failing, but quiet
    assert cloudmonitor_alarms(rule, minutes(1, 1, 5))


def test_no_healthy_server_pages_commander_expert_and_customer_service(rules: dict[str, dict]) -> None:
    rule = rules["prod_cnhz-orders-NoHealthyTargets"]
    assert rule["metric"] == "ServerGroupHealthyHostCount"
    assert json.loads(rule["metricDimensions"]) == [
        {"loadBalancerId": "alb-123", "listenerProtocol": "HTTPS", "listenerPort": "443", "serverGroupId": "sgp-orders"}
    ]
    assert rule["escalationsCritical"] == {
        "statistics": "Value",
        "comparisonOperator": "<",
        "threshold": "1",
        "times": 2,
    }
    assert set(rule["contactGroups"]) == CRITICAL_CUSTOMER
    assert rule["tags"]["service"] == "orders"

    def minutes(*healthy: float) -> list[dict[str, float]]:
        return [{"ServerGroupHealthyHostCount": h} for h in healthy]

    assert cloudmonitor_alarms(rule, minutes(3, 0, 0))
    assert not cloudmonitor_alarms(rule, minutes(0, 1))
    assert not cloudmonitor_alarms(rule, minutes(3, 0))  # one minute only


def test_unhealthy_servers_and_latency_warn_the_tech_expert(rules: dict[str, dict]) -> None:
    unhealthy = rules["prod_cnhz-orders-UnhealthyTargets"]
    assert unhealthy["metric"] == "ServerGroupUnHealthyHostCount"
    assert unhealthy["escalationsWarn"] == {
        "statistics": "Value",
        "comparisonOperator": ">",
        "threshold": "0",
        "times": 3,
    }
    assert unhealthy["contactGroups"] == ["prod_cnhz-tech-expert"]
    assert cloudmonitor_alarms(unhealthy, [{"ServerGroupUnHealthyHostCount": 1}] * 3)
    assert not cloudmonitor_alarms(
        unhealthy, [{"ServerGroupUnHealthyHostCount": 1}] * 2 + [{"ServerGroupUnHealthyHostCount": 0}]
    )

    latency = rules["prod_cnhz-orders-LatencyP99AboveObjective"]
    assert latency["metric"] == "ServerGroupUpstreamResponseTime"  # milliseconds
    assert latency["escalationsWarn"]["threshold"] == "300"  # the service's p99 objective
    assert latency["contactGroups"] == ["prod_cnhz-tech-expert"]
    assert cloudmonitor_alarms(latency, [{"ServerGroupUpstreamResponseTime": 301}] * 5)
    assert not cloudmonitor_alarms(latency, [{"ServerGroupUpstreamResponseTime": 300}] * 5)
    assert not cloudmonitor_alarms(latency, [{"ServerGroupUpstreamResponseTime": 900}] * 4)
    # No traffic, no datapoint: no alert.
    assert not cloudmonitor_alarms(latency, [{}] * 5)


def test_rejects_contact_groups_without_every_role(run_components) -> None:
    partial = {k: v for k, v in GROUPS.items() if k != oncall.TECH_EXPERT}
    with pytest.raises(Exception, match="lacks role"):
        run_components(declare_alarms(partial))


def test_runbook_tag_drops_the_scheme_and_falls_back_to_the_page() -> None:
    assert runbook_tag("https://runbooks.example.com/ops/", "NoHealthyTargets") == (
        "runbooks.example.com/ops/NoHealthyTargets.md"
    )
    assert runbook_tag("https://example.com/" + "x" * 200, "NoHealthyTargets") == "NoHealthyTargets.md"
    assert runbook_tag("", "NoHealthyTargets") == "NoHealthyTargets.md"


def test_prod_china_region_has_the_aws_regions_coverage(stack_plans: StackPlans) -> None:
    """Read from the prod Plan: every server group of cn-hangzhou's ALB is watched, the rules
    reach the region's own contact groups, and the 5xx threshold follows the strictest SLO."""
    plan = stack_plans["prod"]
    rules = [r for r in plan.of_type(ALARM) if r.region == "cn-hangzhou"]
    groups = {
        g.inputs["alarmContactGroupName"] for g in plan.of_type("alicloud:cms/alarmContactGroup:AlarmContactGroup")
    }
    server_groups = [g for g in plan.of_type("alicloud:alb/serverGroup:ServerGroup") if g.region == "cn-hangzhou"]
    services = sorted(g.inputs["tags"]["service"] for g in server_groups)
    by_kind: dict[str, list[str]] = {}
    for rule in rules:
        by_kind.setdefault(rule.inputs["name"].rsplit("-", 1)[-1], []).append(rule.inputs["tags"]["service"])
        assert set(rule.inputs["contactGroups"]) <= groups
        tags = rule.inputs["tags"]
        roles = oncall.roles_for(tags["severity"], tags.get("category"), tags["customer-impact"] == "true")
        assert sorted(rule.inputs["contactGroups"]) == sorted(f"prod_cnhz-{role}" for role in roles)
        assert rule.inputs["name"].startswith("prod_cnhz-")
    assert by_kind["LoadBalancer5xxRatio"] == ["shared"]
    for kind in ("NoHealthyTargets", "UnhealthyTargets", "LatencyP99AboveObjective"):
        assert sorted(by_kind[kind]) == services, kind
    (ratio,) = [r for r in rules if r.inputs["name"].endswith("LoadBalancer5xxRatio")]
    # The lowest objective among the region's services (99.9%) x 14.4, as on AWS (README: 1.44%).
    assert "> 1.44" in ratio.inputs["compositeExpression"]["expressionRaw"]
