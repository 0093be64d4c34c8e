"""The stage in the plan: its result in the Plan JSON, the terminal preview, the Markdown
summary and the exit code; a rule that cannot run is a finding, never a pass."""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from typing import Any

import pytest
from rich.console import Console

import courier.verify as stage
from courier import cli, render
from courier.plan import Plan
from courier.verify import RULES, Rule, verify
from tests.verify.plans import AS_OF, plan, resource, target_group

SLOW_START = "aws-targetgroup-slow-start-algorithm"


def _failing_plan() -> Plan:
    failing = plan(target_group(loadBalancingAlgorithmType="least_outstanding_requests"))
    failing.verification = verify(failing, shellcheck=None).to_json()
    return failing


def test_the_stage_reports_rules_resources_findings_and_coverage() -> None:
    result = verify(plan(target_group()), shellcheck=None).to_json()
    assert result["rules"] == 1 + len(RULES) and result["checked"] == 1
    assert result["findings"] == []
    assert result["coverage"]["byType"]["aws:lb/targetGroup:TargetGroup"]["checked"] == 16


def test_every_rule_has_a_unique_name_and_a_source() -> None:
    names = [rule.name for rule in RULES]
    assert len(set(names)) == len(names) and "aws-api-model" not in names
    assert all(rule.source for rule in RULES)


def test_a_rule_that_breaks_is_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(context: Any) -> Any:
        raise KeyError("spec")

    monkeypatch.setattr(stage, "RULES", (Rule("broken-rule", "nowhere", broken),))
    [found] = verify(plan(target_group()), shellcheck=None).findings
    assert found.rule == "verify-stage-error" and "broken-rule could not run: KeyError" in found.message


def test_the_time_rules_read_the_plans_moment() -> None:
    action = resource("aws:autoscaling/schedule:Schedule", "p", {"startTime": "2026-11-26T00:00:00Z"})
    assert verify(plan(action), shellcheck=None).findings == []
    later = plan(action, as_of=AS_OF.replace(day=27))
    assert [f.rule for f in verify(later, shellcheck=None).findings] == ["aws-asg-schedule-in-future"]


def test_findings_and_the_moment_are_in_the_plan_json() -> None:
    written = json.loads(_failing_plan().dumps())
    assert written["asOf"] == "2026-11-25T00:00:00+00:00"
    [finding] = written["verification"]["findings"]
    assert finding["rule"] == SLOW_START and finding["property"] == "slowStart"
    assert set(finding) == {"rule", "urn", "property", "message", "source"}
    assert finding["source"].startswith("https://docs.aws.amazon.com/elasticloadbalancing/")


def test_findings_are_in_the_preview_and_the_markdown_summary() -> None:
    failing = _failing_plan()
    console = Console(record=True, width=300)
    render.preview(console, failing, elapsed=0.1)
    text = console.export_text()
    assert "Verification:" in text and "1 finding(s)" in text
    assert f"[{SLOW_START}] apne1-orders slowStart: slow start (30 s) cannot be combined" in text
    summary = render.markdown(failing)
    assert "❌ blocked" in summary and "#### Verification" in summary
    assert f"| `{SLOW_START}` | apne1-orders | slowStart |" in summary


def test_a_clean_plan_says_so() -> None:
    clean = plan(target_group())
    clean.verification = verify(clean, shellcheck=None).to_json()
    assert "no findings" in render.markdown(clean) and "✅ passes" in render.markdown(clean)


class _Verdict:
    def to_json(self) -> dict[str, Any]:
        return {"pack": "courier-guardrails", "policies": 1, "violations": []}


@pytest.mark.parametrize(("algorithm", "code"), [("round_robin", 0), ("least_outstanding_requests", 1)])
def test_a_finding_makes_the_plan_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], algorithm: str, code: int
) -> None:
    made = plan(target_group(loadBalancingAlgorithmType=algorithm))
    made.outputs = {"environment": "dev"}
    monkeypatch.setattr(cli, "make_plan", lambda *args, **kwargs: made)
    monkeypatch.setattr(cli.analyze, "analyze", lambda *args, **kwargs: _Verdict())
    monkeypatch.setattr(cli, "attach_artifacts", lambda plan, out: None)
    assert cli.main(["plan", "test", "--json"]) == code
    written = json.loads(capsys.readouterr().out)
    assert [f["rule"] for f in written["verification"]["findings"]] == ([SLOW_START] if code else [])


def test_the_shipped_dev_plan_is_made_as_of_its_moment_and_verified_quickly(stack_plans) -> None:
    dev = stack_plans["dev"]
    assert dev.as_of is not None and dev.as_of.isoformat() == "2026-11-25T00:00:00+00:00"
    started = time.perf_counter()
    result = verify(dev).to_json()
    assert time.perf_counter() - started < 5
    assert result["checked"] == len([r for r in dev.resources if r.custom and not r.type.startswith("pulumi:")])


def test_the_issue_8_defects_are_caught_on_a_copy_of_the_prod_plan(stack_plans) -> None:
    """Each deploy-breaking defect of issue 8, put back into a copy of the real prod plan."""
    prod = copy.deepcopy(stack_plans["prod"])
    groups = prod.of_type("aws:lb/targetGroup:TargetGroup")
    for group in groups:
        group.inputs.update(slowStart=30, loadBalancingAlgorithmType="least_outstanding_requests")
    [task, *_] = prod.of_type("alicloud:ess/scheduledTask:ScheduledTask")
    geo = next(r for r in prod.of_type("aws:route53/record:Record") if r.inputs.get("geolocationRoutingPolicies"))
    twin = copy.deepcopy(geo)
    twin.urn, twin.name = twin.urn + "-twin", twin.name + "-twin"
    twin.inputs["setIdentifier"] = str(twin.inputs.get("setIdentifier")) + "-twin"
    prod.resources.append(twin)
    deployment = prod.of_type("kubernetes:apps/v1:Deployment")[0]
    deployment.inputs["metadata"]["labels"]["courier/owner"] = "Platform Team Zoë"
    task.inputs["launchTime"] = "2027-11-06T14:30Z"

    rules = Counter(f.rule for f in verify(prod, shellcheck=None).findings)
    assert rules["aws-targetgroup-slow-start-algorithm"] == len(groups) > 0
    assert rules["aws-route53-geolocation-unique"] == 1
    assert rules["kubernetes-labels"] >= 1
    assert rules["alicloud-ess-scheduled-task-horizon"] == 1
