"""``python -m courier dr prod --lose ap-southeast-1 --rebuild-in ap-southeast-3``: the playbook,
the rebuilt config and its plan (which must pass the pack), and the parity report, including
rebuilds that are missing something or weaker, which must fail."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import yaml

from courier import cli
from courier.dr import parity
from courier.plan import Plan
from tests.dr.conftest import DrRun


def test_the_run_passes_and_writes_what_it_promises(prod_dr: DrRun) -> None:
    assert prod_dr.code == 0, prod_dr.text[-2000:]
    assert {p.name for p in prod_dr.out_dir.iterdir()} == {"Pulumi.prod.yaml", "plan.json", "dr.json"}
    assert prod_dr.document["rebuiltPlan"]["ok"] is True
    assert prod_dr.document["parity"]["ok"] is True and prod_dr.document["parity"]["failures"] == 0


def test_the_playbook_moves_traffic_then_the_writer_then_checks_capacity(prod_dr: DrRun) -> None:
    book = prod_dr.document["playbook"]
    assert book["lost"] == "ap-southeast-1" and book["newPrimary"] == "ap-northeast-1" and book["writerLost"] is True
    # Seoul is the standby: it answers only when no active region is healthy.
    assert book["survivors"] == ["ap-northeast-1"]
    areas = [s["area"] for s in book["steps"]]
    assert areas[0] == "traffic" and areas[1] == "orchestration"
    assert areas.index("orders database (Aurora global)") < areas.index("capacity") < areas.index("rebuild")
    traffic = book["steps"][0]
    # Read from the Plan's Route 53 health checks: 3 failures 10 s apart, plus DNS caching.
    assert traffic["rto"].startswith("~90 s")
    database = next(s for s in book["steps"] if s["area"].startswith("orders database"))
    assert "failover-global-cluster" in database["command"] and "courier-prod-apne1-orders" in database["command"]
    assert database["rpo"].startswith("switchover: 0; failover:")
    switch = book["steps"][1]
    assert "courier-prod-apse1-apne1" in switch["action"]
    for step in book["steps"]:
        assert step["source"] and step["rto"] and step["rpo"]


def test_the_survivors_carry_today_and_the_peak(prod_dr: DrRun) -> None:
    capacity = prod_dr.document["playbook"]["capacity"]
    assert [c["scenario"] for c in capacity] == ["region-loss", "region-loss at double-12-2026"]
    for check in capacity:
        assert check["carried"] is True
        assert check["worstUnservedPercent"] <= 1.5


def test_the_rebuilt_config_is_written_and_plans_clean(prod_dr: DrRun) -> None:
    document = yaml.safe_load((prod_dr.out_dir / "Pulumi.prod.yaml").read_text())
    regions = {r["name"]: r for r in document["config"]["courier:regions"]}
    assert regions["ap-southeast-1"]["status"] == "lost"
    assert regions["ap-northeast-1"]["role"] == "primary"
    assert regions["ap-southeast-3"]["role"] == "secondary"
    assert document["config"]["courier:data"]["database"]["originRegion"] == "ap-southeast-1"
    after = prod_dr.after
    assert "ap-southeast-3" in after.regions()
    assert after.policies["violations"] == [] and after.verification["findings"] == []
    # The rebuilt region joins the data tier as a secondary of each store.
    cluster = next(c for c in after.of_type(parity.CLUSTER) if c.region == "ap-southeast-3")
    assert "masterUsername" not in cluster.inputs and cluster.inputs["globalClusterIdentifier"]
    assert any(r.region == "ap-southeast-3" for r in after.of_type(parity.TABLE_REPLICA))
    # The calendar's enabled run follows the primary role: scheduled in the new primary too.
    schedules = {(s.region, s.name) for s in after.of_type("aws:scheduler/schedule:Schedule")}
    assert ("ap-northeast-1", "drills-calendar-ap-northeast-1-fleet-loss-orders") in schedules
    assert ("ap-southeast-1", "drills-calendar-ap-southeast-1-fleet-loss-orders") in schedules


def test_parity_compares_every_kind(prod_dr: DrRun) -> None:
    rows = prod_dr.document["parity"]["rows"]
    kinds = {r["kind"] for r in rows}
    assert {
        "services",
        "resources",
        "fleet capacity",
        "scaling policy",
        "promotion schedule",
        "alarm",
        "rule group",
        "database",
        "locations",
        "cache",
        "media",
        "policies",
    } <= kinds
    services = {r["item"] for r in rows if r["kind"] == "services"}
    assert services == {"orders", "dispatch", "tracking", "payments", "notifications"}


def _without(plan: Plan, dropped) -> Plan:
    return replace(plan, resources=[r for r in plan.resources if not dropped(r)])


def _report(prod_dr: DrRun, after: Plan) -> parity.Report:
    return parity.compare(prod_dr.before, after, "ap-southeast-1", "ap-southeast-3", verdict_ok=True, verdict="ok")


def test_a_rebuild_missing_a_service_fails(prod_dr: DrRun) -> None:
    after = _without(prod_dr.after, lambda r: r.region == "ap-southeast-3" and "-payments" in r.name)
    report = _report(prod_dr, after)
    assert report.failed
    failed = [r for r in report.rows if r.failed]
    assert any(r.kind == "services" and r.item == "payments" and r.status == "missing" for r in failed)


def test_a_rebuild_missing_its_database_member_fails(prod_dr: DrRun) -> None:
    after = _without(prod_dr.after, lambda r: r.region == "ap-southeast-3" and r.type == parity.INSTANCE)
    failed = [r for r in _report(prod_dr, after).rows if r.failed]
    assert any(r.kind == "database" and r.item == "instances" for r in failed)
    assert any(parity.INSTANCE in r.item for r in failed)


def test_a_weaker_fleet_or_alarm_fails(prod_dr: DrRun) -> None:
    resources = []
    for resource in prod_dr.after.resources:
        if resource.region == "ap-southeast-3" and resource.type == parity.GROUP and "-orders" in resource.name:
            resource = replace(resource, inputs={**resource.inputs, "maxSize": 10})
        if (
            resource.region == "ap-southeast-3"
            and resource.type == parity.ALARM
            and resource.name.endswith("orders-cpu-above-target")
        ):
            resource = replace(resource, inputs={**resource.inputs, "threshold": 99.0})
        resources.append(resource)
    failed = [r for r in _report(prod_dr, replace(prod_dr.after, resources=resources)).rows if r.failed]
    assert any(r.kind == "fleet capacity" and r.item.endswith("maxSize") and r.status == "weaker" for r in failed)
    assert any(
        r.kind == "alarm" and r.item.endswith("orders-cpu-above-target") and r.status == "weaker" for r in failed
    )


def test_a_rebuilt_plan_that_fails_the_pack_fails_parity(prod_dr: DrRun) -> None:
    report = parity.compare(
        prod_dr.before, prod_dr.after, "ap-southeast-1", "ap-southeast-3", verdict_ok=False, verdict="1 mandatory"
    )
    assert report.failed and [r.kind for r in report.rows if r.failed] == ["policies"]


def test_capacity_is_compared_at_the_rebuilt_regions_share(prod_dr: DrRun) -> None:
    """Expected = lost x (rebuilt share / lost share): a rebuilt region that claims twice the
    lost one's share but builds the same fleets is short everywhere."""
    after = copy.deepcopy(prod_dr.after)
    next(r for r in after.outputs["dr"]["regions"] if r["name"] == "ap-southeast-3")["capacityPercent"] = 200
    failed = [r for r in _report(prod_dr, after).rows if r.failed]
    assert any(r.kind == "fleet capacity" and "minSize" in r.item and "x2" in r.lost for r in failed)
    assert not _report(prod_dr, prod_dr.after).failed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lose", "ap-southeast-1", "--rebuild-in", "mars-1"], "--rebuild-in 'mars-1': not a known aws region"),
        (["--lose", "ap-southeast-1", "--rebuild-in", "ap-northeast-1"], "already a region of the stack"),
        (["--lose", "ap-southeast-1", "--rebuild-in", "cn-beijing"], "a region of the other cloud"),
        (["--lose", "us-west-2"], "not a region of the stack"),
    ],
)
def test_bad_regions_exit_2_with_one_line_before_planning(capsys, argv: list[str], message: str) -> None:
    code = cli.main(["dr", "prod", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
