"""The default view of a plan (courier.summary): one screen, every region and service, the
verdicts and what needs attention; plain text when piped."""

from __future__ import annotations

import io

from rich.console import Console

from courier import summary
from tests.conftest import StackPlans


def rendered(plan, width: int = 120) -> str:
    buffer = io.StringIO()
    summary.show(Console(file=buffer, width=width, force_terminal=False), plan, elapsed=1.0)
    return buffer.getvalue()


def test_prod_fits_one_screen_and_names_every_region_and_service(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    text = rendered(plan)
    lines = text.splitlines()
    assert len(lines) <= 45, len(lines)
    assert max(len(line) for line in lines) <= 120
    assert "\x1b[" not in text  # plain when piped
    for region in ("ap-southeast-1", "ap-northeast-1", "ap-northeast-2", "cn-hangzhou", "cn-shanghai", "us-east-1"):
        assert region in text
    assert "data replica of cn-hangzhou" in text and "global: Route 53, ARC, region alarms" in text
    services = {line.service: line for line in summary.services(plan)}
    assert set(services) == {"orders", "dispatch", "tracking", "payments", "notifications"}
    assert "cn-hangzhou" not in services["notifications"].capacity
    assert services["orders"].capacity["ap-northeast-2"] == "3/4/60 +pool"
    assert services["payments"].target == "70%"
    assert services["orders"].promotions == "double-12-2026 17/60"


def test_warnings_that_differ_only_in_a_region_read_as_one_line() -> None:
    lines = summary.condensed(
        [
            "cnhz-orders is not pre-scaled yet",
            "cnhz-dispatch is not pre-scaled yet",
            "apse1: the node AMI is not pinned",
            "something else entirely",
        ],
        ["cnhz", "apse1"],
    )
    assert lines == [
        "2x: … is not pre-scaled yet (cnhz-dispatch, cnhz-orders)",
        "apse1: the node AMI is not pinned",
        "something else entirely",
    ]
    assert summary.condensed(["a", "a"], []) == ["2x: a ()"]


def test_attention_lists_mandatory_violations_first(stack_plans: StackPlans) -> None:
    plan = stack_plans["prod"]
    original = plan.policies
    try:
        plan.policies = {
            "pack": "courier-platform@1.2.0",
            "policies": 62,
            "violations": [
                {"policy": "advice", "level": "advisory", "message": "consider", "urn": ""},
                {"policy": "rule", "level": "mandatory", "message": "fix it", "urn": ""},
            ],
        }
        notes = summary.attention(plan)
        assert notes[0] == "policy rule: fix it"
        assert "advisory advice: consider" in notes
        assert "1 mandatory and 1 advisory violation(s)" in rendered(plan)
    finally:
        plan.policies = original
