"""Every runbook an alert or alarm of a shipped stack links to exists, has the sections every
page has, and is listed in the runbooks' index: read from the Plans, so a new alarm (the data
tier's DataReplicationLag) cannot ship with a dead link."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ROOT, SHIPPED_STACKS, StackPlans

RUNBOOKS = ROOT / "docs" / "runbooks"
SECTIONS = ("## What it means", "## First checks", "## Mitigation", "## Who is paged")
#: A link to a page under the stacks' courier:alerting.runbookBaseUrl (alarm descriptions end
#: with "Runbook: <url>"; alert rules carry runbook_url).
LINK = re.compile(r"https://[^\s\"'\\]+/docs/runbooks/([A-Za-z0-9]+)\.md")


def linked(stack_plans: StackPlans, stack: str) -> set[str]:
    text = json.dumps([r.inputs for r in stack_plans[stack].resources])
    return set(LINK.findall(text))


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_runbook_a_stack_links_to_exists_with_its_sections(stack_plans: StackPlans, stack: str) -> None:
    names = linked(stack_plans, stack)
    assert names, "the stack links no runbook: has runbookBaseUrl changed?"
    index = (RUNBOOKS / "README.md").read_text()
    for name in sorted(names):
        page = RUNBOOKS / f"{name}.md"
        assert page.exists(), f"{stack} links {name} but {page} is missing"
        text = page.read_text()
        assert text.startswith(f"# {name}\n"), page
        for section in SECTIONS:
            assert section in text, f"{page} lacks {section!r}"
        assert f"[{name}]({name}.md)" in index, f"docs/runbooks/README.md does not list {name}"


def test_the_data_tiers_alarms_link_the_replication_lag_runbook(stack_plans: StackPlans) -> None:
    alarms = [
        r
        for r in stack_plans["prod"].resources
        if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm" and r.inputs.get("tags", {}).get("service") == "data"
    ]
    assert {a.inputs["tags"]["store"] for a in alarms} == {"Aurora", "DynamoDB", "S3"}
    assert all(a.inputs["alarmDescription"].endswith("/docs/runbooks/DataReplicationLag.md") for a in alarms)
    text = (RUNBOOKS / "DataReplicationLag.md").read_text()
    for metric in {a.inputs["metricName"] for a in alarms}:
        assert metric in text, f"DataReplicationLag.md does not explain {metric}"
    assert "(../dr.md)" in text and (ROOT / "docs" / "dr.md").exists()
