"""``python -m courier drill``: the drills read from the Plan (hypotheses, targets, stop
conditions, next runs), as a table and as JSON, and the exit code when a drill is unguarded."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

import pytest

from courier import cli
from courier.drill import command
from courier.plan import Plan


@pytest.fixture
def planned(stack_plans, monkeypatch: pytest.MonkeyPatch) -> dict[str, Plan]:
    """The CLI plans nothing itself: it gets the session's plans of the shipped stacks."""
    plans: dict[str, Plan] = {}

    def make_plan(stack: str, config_file: Any = None, at: datetime | None = None, **_: Any) -> Plan:
        plans.setdefault(stack, stack_plans[stack])
        return plans[stack]

    monkeypatch.setattr(cli, "make_plan", make_plan)
    return plans


def drill_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(["drill", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_drill_json_lists_hypotheses_targets_stop_conditions_and_next_runs(planned, capsys) -> None:
    code, document = drill_json(capsys, "staging", "--at", "2026-11-25T00:00:00+00:00")
    assert code == 0
    assert document["stack"] == "staging" and document["environment"] == "staging"
    drills = {(d["region"], d["key"]): d for d in document["drills"]}
    loss = drills[("ap-southeast-1", "fleet-loss-orders")]
    assert loss["kind"] == "fleet-loss" and loss["service"] == "orders"
    assert loss["hypothesis"]["alert"] == "none" and loss["hypothesis"]["recoveryMinutes"] > 0
    assert loss["hypothesis"]["summary"].startswith("Terminating 30% of the orders fleet's instances")
    (target,) = loss["targets"]
    assert target["resourceTags"] == {"project": "courier-platform", "stack": "staging", "service": "orders"}
    assert target["selectionMode"] == "PERCENT(30)"
    assert {s["alarm"] for s in loss["stopConditions"]} == {
        "apse1-alb-5xx-ratio",
        "apse1-orders-no-healthy-targets",
        "apse1-orders-at-max-capacity",
    }
    # Staging's calendar: the first Tuesday of December, 10:00 in Singapore.
    assert loss["schedule"]["nextRun"] == "2026-12-01T10:00:00+08:00"
    assert loss["schedule"]["expression"] == "cron(0 10 ? * TUE#1 *)"
    storm = drills[("ap-southeast-1", "cpu-storm-orders")]
    assert storm["hypothesis"]["alert"] == "FleetCpuAboveTarget"
    assert storm["schedule"]["nextRun"] == "2026-12-08T10:00:00+08:00"
    assert drills[("ap-northeast-1", "zone-outage")]["schedule"] is None
    assert all(d["problems"] == [] for d in document["drills"])


def test_next_runs_move_with_the_moment_asked(planned, capsys) -> None:
    _, document = drill_json(capsys, "prod", "--at", "2026-12-01T10:00:00+08:00")
    scheduled = [d for d in document["drills"] if d["schedule"]]
    assert [(d["key"], d["schedule"]["nextRun"]) for d in scheduled] == [
        ("fleet-loss-orders", "2027-01-05T10:00:00+08:00")
    ]


def test_drill_table_shows_every_drill(planned, capsys) -> None:
    assert cli.main(["drill", "prod", "--at", "2026-11-25T00:00:00+00:00"]) == 0
    shown = capsys.readouterr().out
    assert "prod: 36 drills in 3 regions, 1 on the calendar" in shown
    assert "region-switchover" in shown and "[project=courier-platform" in shown
    assert "2026-12-01T10:00:00+08:00" in shown


def test_a_drill_without_an_alarm_to_stop_on_fails_the_command(stack_plans) -> None:
    plan = stack_plans["staging"]
    unguarded = [
        dataclasses.replace(r, property_dependencies={**r.property_dependencies, "stopConditions": []})
        if r.type == command.FIS_TEMPLATE and r.name == "apse1-drill-zone-outage"
        else r
        for r in plan.resources
    ]
    drills = command.read(dataclasses.replace(plan, resources=unguarded))
    assert [(d.key, d.problems) for d in drills if d.problems] == [
        ("zone-outage", ["no stop condition on a CloudWatch alarm"])
    ]
