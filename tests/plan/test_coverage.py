"""What a config leaves unserved (courier.coverage): 404s on a region's load balancer, and
services that stop running where they ran."""

from __future__ import annotations

from dataclasses import replace

from courier import coverage
from tests.conftest import StackPlans


def test_prod_serves_every_service_everywhere_but_notifications_in_china(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    served = coverage.served(plan)
    assert served["ap-southeast-1"] == {"orders", "dispatch", "tracking", "payments", "notifications"}
    assert served["cn-hangzhou"] == {"orders", "dispatch", "tracking", "payments"}
    lines = coverage.unrouted(plan)
    assert lines == [
        "cn-hangzhou: its load balancer answers 404 on /notifications (the service runs in ap-northeast-1, "
        "ap-northeast-2, ap-southeast-1 only; users Route 53 sends to cn-hangzhou cannot reach it)"
    ]


def test_a_service_dropped_from_a_region_is_said(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    base = plan.to_json()
    head = replace(
        plan,
        resources=[r for r in plan.resources if not (r.region == "ap-northeast-2" and "payments" in r.name)],
    )
    assert coverage.dropped(base, head) == ["payments stops running in ap-northeast-2, where it ran in the base"]
    # Its route went with it: users Route 53 sends to Seoul get 404 on /payments.
    assert any(
        line.startswith("ap-northeast-2: its load balancer answers 404 on /payments")
        for line in coverage.unrouted(head)
    )
    assert coverage.dropped(base, plan) == []
    found = coverage.diagnostics(head, base)
    assert {
        "severity": "warning",
        "message": "payments stops running in ap-northeast-2, where it ran in the base",
    } in found


def resource(kind: str, region: str | None, **inputs) -> dict:
    return {"type": kind, "region": region, "inputs": inputs, "name": "x"}


ASG = "aws:autoscaling/group:Group"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
RULE = "aws:lb/listenerRule:ListenerRule"
ALI_RULE = "alicloud:alb/rule:Rule"


def test_what_runs_where_reads_tags_in_either_form_and_kubernetes_labels() -> None:
    plan = {
        "resources": [
            resource(ASG, "r1", tags={"service": "orders"}),
            resource(ASG, "r1", tags=[{"key": "service", "value": "payments"}]),
            resource(ASG, "r1", tags={"service": "shared"}),  # plumbing, not a service
            resource(ASG, "r1", tags={"service": "data"}),
            resource(ASG, None, tags={"service": "lost-in-space"}),  # no region: not counted
            resource("aws:ec2/vpc:Vpc", "r1", tags={"service": "vpc"}),  # not a runner
            resource(DEPLOYMENT, "r2", metadata={"labels": {"courier/service": "notifications"}, "namespace": "n"}),
            resource(DEPLOYMENT, "r3", metadata={"namespace": "tracking"}),
            resource(DEPLOYMENT, "r3", metadata={}),
        ]
    }
    assert coverage.served(plan) == {"r1": {"orders", "payments"}, "r2": {"notifications"}, "r3": {"tracking"}}


def test_routes_are_read_from_both_clouds_rules_and_wildcards_are_not_services() -> None:
    plan = {
        "resources": [
            resource(RULE, "r1", conditions=[{"pathPattern": {"values": ["/orders", "/orders/*"]}}]),
            resource(ALI_RULE, "r2", ruleConditions=[{"pathConfig": {"values": ["/payments/*"]}}]),
            resource(RULE, "r1", conditions=[{"pathPattern": {"values": ["/*", "/"]}}]),
            resource(RULE, None, conditions=[{"pathPattern": {"values": ["/ghost"]}}]),
            resource(ASG, "r1", conditions=[{"pathPattern": {"values": ["/not-a-rule"]}}]),
        ]
    }
    assert coverage.routed(plan) == {"r1": {"orders"}, "r2": {"payments"}}


def test_a_lost_region_is_not_reported_for_404s(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    outputs = {**plan.outputs, "dr": {**plan.outputs["dr"]}}
    outputs["dr"]["regions"] = [
        {**r, "status": "lost"} if r["name"] == "cn-hangzhou" else r for r in plan.outputs["dr"]["regions"]
    ]
    assert coverage.unrouted(replace(plan, outputs=outputs)) == []


def test_a_region_that_goes_away_is_left_to_the_diff(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    base = plan.to_json()
    head = replace(plan, resources=[r for r in plan.resources if r.region != "ap-northeast-2"])
    assert coverage.dropped(base, head) == []
