"""EventBridge Scheduler's universal targets against botocore's models (courier/verify/scheduler.py):
the calendar's schedules make a call FIS would take; a wrong service, operation, member, type or
a read-only action is a finding."""

from __future__ import annotations

import json

import pytest

from courier.verify import RULES, scheduler
from courier.verify.findings import Context
from tests.conftest import AS_OF

START = "arn:aws:scheduler:::aws-sdk:fis:startExperiment"


def found(arn: str, request: object) -> list[str]:
    return list(scheduler.problems(arn, json.dumps(request)))


def test_the_calendars_call_is_what_fis_takes() -> None:
    request = {"ClientToken": "<aws.scheduler.execution-id>", "ExperimentTemplateId": "EXT1", "Tags": {"drill": "x"}}
    assert found(START, request) == []
    # The API reference's own spelling is the same member.
    assert found(START, {"clientToken": "t", "experimentTemplateId": "EXT1"}) == []


@pytest.mark.parametrize(
    ("arn", "request_", "expected"),
    [
        (START, {"TemplateId": "EXT1"}, "input.TemplateId: not a member of StartExperimentRequest"),
        (START, {"ClientToken": "t"}, 'Missing required parameter in input: "experimentTemplateId"'),
        (START, {"ExperimentTemplateId": 12}, "Invalid type for parameter experimentTemplateId"),
        (START, {"ExperimentTemplateId": "EXT1", "Tags": ["drill"]}, "Invalid type for parameter tags"),
        ("arn:aws:scheduler:::aws-sdk:fis:getExperiment", {"Id": "EXP1"}, "Scheduler refuses read-only actions"),
        ("arn:aws:scheduler:::aws-sdk:fault-injection:startExperiment", {}, "no such SDK service and operation"),
        ("arn:aws:scheduler:::aws-sdk:fis:beginExperiment", {}, "no such SDK service and operation"),
    ],
)
def test_a_call_the_api_would_refuse_is_a_finding(arn: str, request_: object, expected: str) -> None:
    assert any(expected in p for p in found(arn, request_)), found(arn, request_)


def test_a_templated_target_is_not_judged_here() -> None:
    assert found("arn:aws:lambda:ap-southeast-1:123456789012:function:f", {"anything": 1}) == []


def test_input_that_is_not_json_is_a_finding() -> None:
    (problem,) = scheduler.problems(START, "{not json")
    assert problem.startswith("input: not JSON")


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_shipped_schedules_pass(stack_plans, stack: str) -> None:
    plan = stack_plans[stack]
    assert plan.of_type(scheduler.SCHEDULE_TYPE), "the calendar schedules at least one run"
    assert list(scheduler.check(Context(plan, AS_OF))) == []
    assert "scheduler-universal-target" in {r.name for r in RULES}
