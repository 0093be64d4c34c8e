"""The storm command over the shipped stacks' plans: fleets read from the Plan, scenarios,
objectives, and the CLI's contract and exit codes."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from courier import cli
from courier.storm import command, fleets, scenarios
from courier.storm.engine import StepRule, Tracking


@pytest.fixture(scope="module")
def prod(stack_plans) -> fleets.Environment:
    return fleets.read(stack_plans["prod"])


def by_key(environment: fleets.Environment) -> dict[str, fleets.Fleet]:
    return {f.key: f for f in environment.fleets}


def test_every_fleet_of_prod_is_read_from_the_plan(prod) -> None:
    found = by_key(prod)
    assert len(found) == 19
    orders = found["apse1-orders"]
    assert (orders.platform, orders.cloud, orders.role, orders.instance_type) == ("vm", "aws", "primary", "c6i.xlarge")
    assert (orders.min, orders.desired, orders.max, orders.base_desired) == (6, 9, 60, 9)
    assert (orders.cpu_target, orders.period, orders.warmup, orders.warm_pool) == (80, 60, 60, 23)
    # The 10-second CPU policy and the saturation step (components/aws/surge.py); the 1-minute
    # policy leaves scaling in to the fast one.
    assert orders.tracking == (Tracking(80, 10, 20, scale_in=True),)
    assert orders.step_rules == (StepRule(95, 1, 250, 2, 0, period=10, delay=20),)
    assert orders.scale_in is False
    assert [s.label for s in orders.schedules][:2] == ["double-12-2026-prewarm", "double-12-2026-restore"]
    standby = found["apne2-orders"]
    assert (standby.role, standby.desired, standby.normal_demand) == ("standby", 4, 0.0)
    china = found["cnhz-orders"]
    assert china.cloud == "alicloud" and china.warm_pool == 0
    assert china.step_rules == (
        StepRule(threshold=90, evaluations=10, percent=20, min_adjustment=2, cooldown=60),
        StepRule(threshold=95, evaluations=1, percent=250, min_adjustment=2, cooldown=360),
    )
    assert china.warmup == 120  # at least CloudMonitor's period plus its delay
    # As of 2026-11-25 the double-11-2027 tasks are beyond ESS's 90 days: two promotions' tasks.
    assert len(china.schedules) == 4
    pods = found["apse1-notifications"]
    assert pods.platform == "kubernetes" and pods.nodes is not None
    # m6i.xlarge: 4000m - 500m reserved and daemons = 3500m, 500m per pod.
    assert pods.nodes.pods_per_node == 7 and (pods.nodes.min, pods.nodes.max) == (3, 10)
    assert {w.name for w in pods.cron} == {"double-12-2026", "spring-festival-2027", "double-11-2027"}
    assert orders.normal_demand == 9 * 100 * 0.5


def test_scenarios_of_prod(prod) -> None:
    assert scenarios.names(prod) == [
        "double-12-2026",
        "double-12-2026@+25%",
        "double-12-2026@+50%",
        "spring-festival-2027",
        "spring-festival-2027@+25%",
        "spring-festival-2027@+50%",
        "double-11-2027",
        "double-11-2027@+25%",
        "double-11-2027@+50%",
        "surge-4x",
        "az-loss",
        "region-loss",
    ]
    region_loss = scenarios.build(prod, "region-loss")
    # The primary is lost (the busiest active region; ties go to the primary); the secondary
    # AWS region takes its users. China keeps its own (geolocation), the standby waits.
    assert region_loss.description.startswith("ap-southeast-1 is lost")
    assert {r.fleet.region for r in region_loss.runs} == {"ap-northeast-1"}


def test_a_deferred_alibaba_promotion_is_simulated_but_not_judged(prod) -> None:
    scenario = scenarios.build(prod, "double-11-2027")
    unjudged = {r.fleet.key for r in scenario.runs if r.unjudged}
    assert unjudged == {"cnhz-dispatch", "cnhz-orders", "cnhz-payments", "cnhz-tracking"}


def test_a_plan_without_the_storm_output_is_refused(stack_plans) -> None:
    old = replace(stack_plans["dev"], outputs={"environment": "dev"})
    with pytest.raises(fleets.PlanReadError, match="no `storm` output"):
        fleets.read(old)


def args(**given) -> argparse.Namespace:
    defaults = dict(
        stack="prod", config_file=None, scenario=None, at=None, json=False, out=None, markdown=None, sweep=None
    )
    return argparse.Namespace(**{**defaults, **given})


def run(stack_plans, capsys, stack: str = "prod", **given) -> tuple[int, str, str]:
    code = command.run(
        args(stack=stack, **given),
        lambda *a, **k: stack_plans[stack],
        Console(width=200, highlight=False),
        Console(stderr=True, width=200, soft_wrap=True),
    )
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_contract(stack_plans, capsys) -> None:
    code, out, _ = run(stack_plans, capsys, scenario=["surge-4x"], json=True)
    document = json.loads(out)
    assert document["stack"] == "prod"
    [scenario] = document["scenarios"]
    assert scenario["name"] == "surge-4x"
    fleet = scenario["fleets"][0]
    assert set(fleet) >= {
        "region",
        "service",
        "platform",
        "overloadedMinutes",
        "unservedPercent",
        "recoveryMinutes",
        "peakCpuPercent",
        "maxCapacity",
        "instanceHours",
        "idealInstanceHours",
        "cost",
    }
    objectives = document["objectives"]
    assert {o["objective"] for o in objectives} == {
        "surge.maxOverloadedMinutes",
        "surge.maxUnservedPercent",
        "surge.maxCostRatio",
    }
    assert code == (0 if document["met"] else 1)


def test_out_writes_json_and_a_chart_per_scenario(stack_plans, capsys, tmp_path: Path) -> None:
    run(stack_plans, capsys, scenario=["surge-4x", "az-loss"], out=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["az-loss.png", "storm.json", "surge-4x.png"]
    assert (tmp_path / "surge-4x.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_markdown_summary_is_appended(stack_plans, capsys, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("before\n")
    run(stack_plans, capsys, scenario=["surge-4x"], markdown=summary)
    text = summary.read_text()
    assert text.startswith("before\n### Storm simulation: `prod`")
    assert "| surge-4x |" in text


def test_a_stack_without_objectives_only_reports(stack_plans, capsys) -> None:
    code, out, _ = run(stack_plans, capsys, stack="dev")
    assert code == 0
    assert "Objectives: none in force" in out


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"scenario": ["surge-5x"]}, "unknown scenario 'surge-5x' (scenarios: double-12-2026,"),
        ({"scenario": ["replay:/nonexistent/week.csv"]}, "replay file /nonexistent/week.csv: cannot be read"),
        ({"sweep": "service.scaling.colour=1:2:1"}, "--sweep 'service.scaling.colour=1:2:1': unknown key"),
        ({"sweep": "service.scaling.cpuTarget=90:60:5"}, "needs FROM <= TO, STEP > 0"),
        ({"sweep": "service.scaling.cpuTarget=a:b:c"}, "expected FROM:TO:STEP numbers"),
    ],
)
def test_bad_storm_input_exits_2_with_one_line(stack_plans, capsys, given, message) -> None:
    code, out, err = run(stack_plans, capsys, **given)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("2026-11-30T00:00:00+00:00,100\n", "needs at least two rows"),
        (
            "2026-11-30T00:00:00+00:00,100\n2026-11-30T00:05:00+00:00,x\n",
            "line 2: expected an ISO 8601 timestamp and a number",
        ),
        ("2026-11-30T00:00:00+00:00,100\n2026-11-30T00:05:00,100\n", "line 2: the timestamp needs a UTC offset"),
        ("2026-11-30T00:05:00+00:00,100\n2026-11-30T00:00:00+00:00,100\n", "line 2: timestamps must increase"),
        ("2026-11-30T00:00:00+00:00,100,3\n", "line 1: expected timestamp,requests_per_second (got 3 fields)"),
        (
            "2026-11-30T00:00:00+00:00,-5\n2026-11-30T00:05:00+00:00,1\n",
            "line 1: requests per second must be 0 or more",
        ),
    ],
)
def test_malformed_replay_files_are_refused(stack_plans, capsys, tmp_path: Path, rows: str, message: str) -> None:
    path = tmp_path / "series.csv"
    path.write_text(rows)
    code, _, err = run(stack_plans, capsys, scenario=[f"replay:{path}"])
    assert code == 2 and message in err


def test_the_shipped_week_replays(stack_plans, capsys) -> None:
    week = Path(__file__).resolve().parents[2] / "data" / "courier-week.csv"
    code, out, _ = run(stack_plans, capsys, stack="dev", scenario=[f"replay:{week}"], json=True)
    assert code == 0  # dev has no objectives: the replay only reports
    [scenario] = json.loads(out)["scenarios"]
    assert scenario["name"] == "replay:courier-week.csv"
    assert "over 168 h" in scenario["description"]


def test_sweep_adjusts_every_service_or_one() -> None:
    config = {"courier:services": json.dumps([{"name": "orders", "scaling": {"cpuTarget": 80}}, {"name": "dispatch"}])}
    every = command.adjust(config, command.parse_sweep("service.scaling.cpuTarget=60:70:5"), 65)
    assert [s["scaling"]["cpuTarget"] for s in json.loads(every["courier:services"])] == [65, 65]
    one = command.adjust(config, command.parse_sweep("dispatch.capacity.max=10:20:10"), 20)
    assert json.loads(one["courier:services"])[1]["capacity"] == {"max": 20}
    assert command.parse_sweep("service.scaling.cpuTarget=60:90:5").values == (60, 65, 70, 75, 80, 85, 90)
    with pytest.raises(command.StormInputError, match="no service 'billing'"):
        command.adjust(config, command.parse_sweep("billing.scaling.cpuTarget=60:70:5"), 60)


def test_the_cli_runs_the_storm_end_to_end(capsys) -> None:
    code = cli.main(["storm", "dev", "--scenario", "surge-4x", "--at", datetime(2026, 11, 25, tzinfo=UTC).isoformat()])
    out = capsys.readouterr().out
    assert code == 0
    assert "surge-4x: unannounced 4x normal load at once, for an hour" in out


def test_a_policy_the_engine_does_not_model_is_named_in_the_notes(stack_plans) -> None:
    plan = stack_plans["dev"]
    group = next(r for r in plan.resources if r.type == "aws:autoscaling/group:Group")
    predictive = replace(
        next(r for r in plan.resources if r.type == "aws:autoscaling/policy:Policy"),
        urn=group.urn + "-predictive",
        name="dev-orders-predictive",
        inputs={"policyType": "PredictiveScaling", "autoscalingGroupName": "g"},
    )
    notes = fleets.read(replace(plan, resources=[*plan.resources, predictive])).notes
    assert notes == (
        "dev-orders-predictive: a PredictiveScaling policy is not simulated (predictive scaling forecasts from 24 h "
        "of history, which a storm scenario does not have)",
    )


def test_an_unannounced_surge_starts_from_a_normal_day(prod) -> None:
    assert scenarios.normal_moment(prod) == prod.as_of
    inside = replace(prod, as_of=datetime.fromisoformat("2026-12-12T01:00:00+08:00"))
    # Inside double-12-2026 (first pre-scale to end): an hour after it ends.
    assert scenarios.normal_moment(inside) == datetime.fromisoformat("2026-12-13T03:00:00+08:00")
    assert "after the promotion under way" in scenarios.surge(inside).description


def test_a_sweep_prints_a_row_per_value_without_exempt_fleets(stack_plans, capsys) -> None:
    code, out, _ = run(stack_plans, capsys, sweep="service.scaling.cpuTarget=80:80:5", scenario=["surge-4x"], json=True)
    document = json.loads(out)
    assert code == 0 and document["sweep"] == "service.scaling.cpuTarget"
    [row] = document["rows"]
    # China is exempt from the surge objective: its 4.17% is not the worst judged fleet.
    assert row["value"] == 80 and row["worstUnserved"] < 1.5 and row["missed"] == 0


def test_failover_takes_the_plans_health_checks_and_dns_caching(prod) -> None:
    # prod's endpoint checks: every 10 s, 3 failures; plus 60 s of DNS caching.
    assert prod.failover_seconds == 10 * 3 + 60
    assert "after 90 s of failover" in scenarios.build(prod, "region-loss").description
