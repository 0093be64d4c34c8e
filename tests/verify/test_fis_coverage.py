"""The coverage credits a FIS template's actions and targets to courier/verify/fis.py, which
checks them (its tables and the reshaped request against botocore's fis model), never as
provider-only; and only the fields fis.py carries into that request."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from courier.plan import Plan
from courier.render import verification_summary
from courier.verify import RULES, catalogue, fis, models, verify
from tests.conftest import StackPlans
from tests.verify.plans import findings, plan, resource

TEMPLATE = "aws:fis/experimentTemplate:ExperimentTemplate"


@pytest.fixture(scope="module")
def prod_templates(stack_plans: StackPlans) -> Plan:
    """prod's FIS templates alone (the coverage is counted per resource): verified in a moment."""
    return plan(*(copy.deepcopy(t) for t in stack_plans["prod"].of_type(TEMPLATE)))


def template(**changes: Any) -> dict[str, Any]:
    """A template using every field of an action and a target the provider has."""
    inputs: dict[str, Any] = {
        "description": "drill",
        "roleArn": "arn:aws:iam::123456789012:role/fis",
        "stopConditions": [{"source": "none"}],
        "actions": [
            {
                "name": "stop",
                "actionId": "aws:ec2:stop-instances",
                "description": "stop them",
                "parameters": [{"key": "startInstancesAfterDuration", "value": "PT10M"}],
                "startAfters": ["wait"],
                "target": {"key": "Instances", "value": "fleet"},
            },
            {"name": "wait", "actionId": "aws:fis:wait", "parameters": [{"key": "duration", "value": "PT1M"}]},
        ],
        "targets": [
            {
                "name": "fleet",
                "resourceType": "aws:ec2:instance",
                "selectionMode": "PERCENT(30)",
                "resourceTags": [{"key": "service", "value": "orders"}],
                "filters": [{"path": "State.Name", "values": ["running"]}],
            },
            {
                "name": "pods",
                "resourceType": "aws:eks:pod",
                "selectionMode": "ALL",
                "parameters": {"namespace": "orders", "selectorType": "deploymentName", "selectorValue": "orders"},
            },
            {
                "name": "writer",
                "resourceType": "aws:rds:cluster",
                "selectionMode": "ALL",
                "resourceArns": ["arn:aws:rds:ap-northeast-1:123456789012:cluster:orders"],
            },
        ],
    }
    inputs.update(changes)
    return inputs


def _changed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: f"{v}-x" for k, v in value.items()}
    if isinstance(value, list):
        return [f"{v}-x" for v in value]
    return f"{value}-x"


def coverage_of(inputs: dict[str, Any]) -> dict[str, Any]:
    result = verify(plan(resource(TEMPLATE, "apne1-drill", inputs)), shellcheck=None).to_json()
    return result["coverage"]["byType"][TEMPLATE]


def test_prods_fis_actions_and_targets_are_checked_by_fis_py_not_provider_only(prod_templates: Plan) -> None:
    result = verify(prod_templates, shellcheck=None).to_json()
    coverage = result["coverage"]
    entry = coverage["byType"][TEMPLATE]
    # Every action and target value of the 36 templates (961 when this was written) is fis.py's:
    # none provider-only, none unmapped.
    assert entry["providerOnly"] == 0 and entry["unmapped"] == 0, entry
    assert entry["checkedByRule"] > 900
    assert entry["inputs"] == entry["checked"] + entry["checkedByRule"] + entry["providerOnly"] + entry["unmapped"]
    # The totals carry the new key; the existing keys keep their meaning.
    assert coverage["checkedByRule"] == entry["checkedByRule"] and coverage["providerOnly"] == 0
    assert [f for f in result["findings"] if f["rule"] == "aws-fis-experiment-template"] == []
    line = verification_summary(Plan("courier-platform", "prod", [], verification=result))
    assert f"({entry['checkedByRule']} FIS action and target inputs checked by fis.py, 0 provider-only" in line


def test_the_fis_inputs_are_mapped_to_the_rule_that_checks_them() -> None:
    call = catalogue.CREATE_CALLS[TEMPLATE]
    assert call.aliases["actions"] is catalogue.FIS_ACTIONS and call.aliases["targets"] is catalogue.FIS_TARGETS
    assert {catalogue.FIS_ACTIONS.rule, catalogue.FIS_TARGETS.rule} == {"aws-fis-experiment-template"}
    assert "aws-fis-experiment-template" in {rule.name for rule in RULES}


@pytest.mark.parametrize(
    ("what", "fields"), [("actions", catalogue.FIS_ACTIONS.fields), ("targets", catalogue.FIS_TARGETS.fields)]
)
def test_every_credited_field_is_carried_into_the_request_fis_py_checks(what: str, fields: frozenset[str]) -> None:
    """A field is credited only if request() carries it: changing it changes the request."""
    inputs = template()
    before = fis.request(inputs)
    for field in sorted(fields):
        changed = copy.deepcopy(inputs)
        head, _, tail = field.partition(".")
        hits = 0
        for item in changed[what]:
            if item.get(head) is None:
                continue
            hits += 1
            if not tail:
                item[head] = _changed(item[head])
                continue
            for pair in item[head] if isinstance(item[head], list) else [item[head]]:
                pair[tail] = _changed(pair[tail])
        assert hits, f"the test template does not use {what}.{field}"
        assert fis.request(changed) != before, f"{what}.{field} is credited but request() does not carry it"


def test_a_field_fis_py_does_not_carry_is_unmapped_not_credited() -> None:
    inputs = template()
    inputs["actions"][0]["experimentalKnob"] = "on"
    inputs["targets"][0]["resourceTags"][0]["extra"] = "x"
    assert fis.request(inputs) == fis.request(template())
    entry = coverage_of(inputs)
    assert entry["unmappedPaths"] == ["actions.experimentalKnob", "targets.resourceTags.extra"]
    assert entry["unmapped"] == 2 and entry["providerOnly"] == 0
    assert coverage_of(template())["checkedByRule"] == entry["checkedByRule"]


def test_a_template_counts_each_action_and_target_value_once() -> None:
    entry = coverage_of(template())
    # stop: name, actionId, description, parameter key and value, startAfters (a list: once),
    # target key and value = 8; wait: name, actionId, parameter key and value = 4; fleet: name,
    # resourceType, selectionMode, tag key and value, filter path and values = 7; pods: name,
    # resourceType, selectionMode and 3 parameters = 6; writer: name, resourceType, selectionMode,
    # resourceArns (a list: once) = 4.
    assert entry["checkedByRule"] == 8 + 4 + 7 + 6 + 4
    assert entry["providerOnly"] == 0 and entry["unmapped"] == 0
    assert models.Coverage().to_json().keys() == {
        "inputs",
        "checked",
        "constrained",
        "providerOnly",
        "unmapped",
        "unmappedPaths",
    }


def test_an_empty_actions_list_is_credited_because_fis_py_refuses_it() -> None:
    empty = resource(TEMPLATE, "apne1-drill", template(actions=[], targets=[]))
    messages = [f.message for f in findings(empty, rule="aws-fis-experiment-template")]
    assert "a template needs at least one action (a required member)" in messages
    assert coverage_of(template(actions=[], targets=[]))["checkedByRule"] == 2
