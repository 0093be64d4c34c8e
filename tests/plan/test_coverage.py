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
    assert len(lines) == 1 and lines[0].startswith("cn-hangzhou: its load balancer answers 404 on /notifications")


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
