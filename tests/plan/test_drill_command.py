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
    # How the region's results function judges each drill (its judgements.json entry).
    assert all(d["judgement"] is not None for d in document["drills"])
    (probe,) = loss["judgement"]["probes"]
    assert probe["metric"]["name"] == "GroupInServiceInstances" and probe["threshold"] == "start"
    assert storm["judgement"]["mustFire"] == "FleetCpuAboveTarget"


def test_judged_by_says_what_the_results_function_reads() -> None:
    assert command.judged_by(None) == "not judged: no results function"
    assert command.judged_by({"probes": [], "mustFire": None}) == "the experiment completes"
    cpu = {
        "source": "prometheus",
        "query": 'courier:fleet_cpu_busy:ratio{service="orders"}',
        "op": "<",
        "threshold": 0.8,
    }
    assert command.judged_by({"probes": [cpu], "mustFire": "FleetCpuAboveTarget"}) == (
        "courier:fleet_cpu_busy:ratio < 0.8; FleetCpuAboveTarget fires"
    )


def test_next_runs_move_with_the_moment_asked(planned, capsys) -> None:
    _, document = drill_json(capsys, "prod", "--at", "2026-12-01T10:00:00+08:00")
    scheduled = [d for d in document["drills"] if d["schedule"]]
    assert [(d["key"], d["schedule"]["nextRun"]) for d in scheduled] == [
        ("fleet-loss-orders", "2027-01-05T10:00:00+08:00")
    ]


def test_the_default_view_is_one_screen_with_every_region_and_the_calendars_next_run(planned, capsys) -> None:
    assert cli.main(["drill", "prod", "--at", "2026-11-25T00:00:00+00:00"]) == 0
    shown = capsys.readouterr().out
    lines = shown.splitlines()
    # One screen: the full table of 36 drills is 244 lines; the summary is a tenth of it.
    assert len(lines) < 40, shown
    assert lines[0] == (
        "prod: 36 drills in 3 regions, 1 on the calendar; every one stops on an alarm of its own region"
    )
    # Every region, in failover order with its role; the Alibaba Cloud one says why it has none.
    for region in ("ap-southeast-1", "ap-northeast-1", "ap-northeast-2", "cn-hangzhou"):
        assert region in shown, region
    assert "cn-hangzhou" in shown and "no drills (FIS runs in AWS regions only)" in shown
    # The enabled run, with its next run, its schedule and how far ahead it is, on the calendar.
    (run,) = [line for line in lines if "fleet-loss-orders" in line and "cron(" in line]
    assert run.split() == [
        "2026-12-01T10:00:00+08:00",
        "ap-southeast-1",
        "fleet-loss-orders",
        "cron(0",
        "10",
        "?",
        "*",
        "TUE#1",
        "*)",
        "Asia/Singapore,",
        "in",
        "6",
        "days",
    ]
    assert "every other drill (35) runs on demand" in shown
    # One row per drill, its regions together, with its hypothesis: the alert, what the fleet
    # reaches (in the first region), the recovery time, and where the calendar runs it.
    drills = command.read(planned["prod"], datetime.fromisoformat("2026-11-25T00:00:00+00:00"))
    keys = list(dict.fromkeys(d.key for d in drills))
    rows = {line.split()[0]: line for line in lines if line.split() and line.split()[0] in keys}
    assert sorted(rows) == sorted(keys) and len(rows) == 12
    assert [k for k in rows][:5] == ["zone-outage", *sorted(k for k in keys if k.startswith("fleet-loss-"))]
    orders = rows["fleet-loss-orders"].split()
    assert orders[:3] == ["fleet-loss-orders", "all", "none"] and orders[-1] == "ap-southeast-1"
    assert "orders back at 9 in service" in rows["fleet-loss-orders"]
    storm = rows["cpu-storm-orders"]
    assert "FleetCpuAboveTarget" in storm and "orders scales out to 32 from 9" in storm
    assert storm.split()[-4:] == ["14", "min", "on", "demand"]
    assert rows["zone-outage"].split()[2] == "UnhealthyTargets"
    # The per-drill detail stays behind --all: no targets, no stop alarms here.
    assert "[project=courier-platform" not in shown and "apse1-alb-5xx-ratio" not in shown


def test_all_shows_every_drill_in_full(planned, capsys) -> None:
    assert cli.main(["drill", "prod", "--at", "2026-11-25T00:00:00+00:00", "--all"]) == 0
    shown = capsys.readouterr().out
    assert "prod: 36 drills in 3 regions, 1 on the calendar" in shown
    assert "region-switchover" in shown and "[project=courier-platform" in shown
    assert "2026-12-01T10:00:00+08:00" in shown
    # Every drill has its row (its region in the first cell) and its hypothesis: the alert, the
    # capacity it reaches and its recovery time.
    drills = command.read(planned["prod"], datetime.fromisoformat("2026-11-25T00:00:00+00:00"))
    assert len(drills) == 36
    for region in ("ap-southeast-1", "ap-northeast-1", "ap-northeast-2"):
        assert shown.count(f"│ {region} │") == 12, region
    assert shown.count("alert: ") == 36 and shown.count("recovery: ") == 36
    assert shown.count("judged by: ") == 36
    assert shown.count("recovery: 15 min") == 3 and shown.count("alert: FleetCpuAboveTarget") == 12
    assert "orders scales out to 32 from 9" in shown


def test_region_and_drill_narrow_the_listing_not_the_verdict(planned, capsys) -> None:
    at = "2026-11-25T00:00:00+00:00"
    assert cli.main(["drill", "staging", "--at", at, "--drill", "fleet-loss-orders", "--region", "ap-southeast-1"]) == 0
    shown = capsys.readouterr().out
    # A named drill is shown in full: its targets and stop alarms.
    assert "staging: 1 drill in 1 region, 1 on the calendar" in shown
    assert "apse1-orders-no-healthy-targets" in shown and "ap-northeast-1" not in shown
    code, document = drill_json(capsys, "staging", "--at", at, "--region", "ap-northeast-1", "--drill", "cpu-storm")
    assert code == 0
    assert {(d["region"], d["kind"]) for d in document["drills"]} == {("ap-northeast-1", "cpu-storm")}
    assert len(document["drills"]) == 4
    assert cli.main(["drill", "staging", "--at", at, "--region", "eu-west-1", "--drill", "chaos"]) == 2
    problems = capsys.readouterr().err
    assert "--region eu-west-1: the stack has no drill there" in problems
    assert "--drill chaos: no drill has that key or kind" in problems


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
