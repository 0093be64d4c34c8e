"""Promotions and the pack: a deploy in the middle of a pre-scaled promotion passes, one that
would shrink a fleet at the peak does not, ESS promotions beyond the scheduling horizon wait for
a later `up`, and the calendar is read from every place a promotion can be scheduled."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from components import planning
from courier import analyze, verify
from courier.cli import make_plan
from courier.plan import Plan, Resource
from tests.conftest import ROOT, SHIPPED_STACKS
from tests.plan.test_shipped_stacks import spec_for
from tests.policies.harness import BY_NAME, violations
from tests.tools import require_tool

ASG = "aws:autoscaling/group:Group"
ASG_SCHEDULE = "aws:autoscaling/schedule:Schedule"
ESS = "alicloud:ess/scalingGroup:ScalingGroup"
ESS_TASK = "alicloud:ess/scheduledTask:ScheduledTask"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
PRESCALE = ("aws-autoscaling-group-promotion-prescale", "alicloud-ess-group-promotion-prescale")


def inside_each_promotion() -> list[tuple[str, str, datetime]]:
    """(stack, promotion, a moment an hour after its start) for every shipped promotion ahead."""
    moments = []
    for stack in SHIPPED_STACKS:
        for promotion in spec_for(stack).upcoming_promotions():
            moments.append((stack, promotion.name, promotion.start + timedelta(hours=1)))
    return moments


MOMENTS = inside_each_promotion()
_PLANS: dict[tuple[str, datetime], Plan] = {}


def plan_at(stack: str, moment: datetime) -> Plan:
    key = (stack, moment)
    if key not in _PLANS:
        _PLANS[key] = make_plan(stack, at=moment)
    return _PLANS[key]


def settings(stack: str) -> dict[str, dict]:
    """Each policy's settings from the stack's policy config, read as the offline plan reads it."""
    document = analyze.load_config(ROOT / "policies" / "config" / f"{stack}.json")
    return {k: v for k, v in document.items() if isinstance(v, dict) and k != "all"}


def test_there_are_promotions_to_plan_inside() -> None:
    assert {(s, p) for s, p, _ in MOMENTS} >= {("prod", "double-12-2026"), ("staging", "double-12-2026")}


@pytest.mark.parametrize(("stack", "promotion", "moment"), MOMENTS, ids=[f"{s}-{p}" for s, p, _ in MOMENTS])
def test_every_shipped_stack_passes_every_policy_in_the_middle_of_each_promotion(
    stack: str, promotion: str, moment: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURIER_PLAN_TIME", moment.isoformat())
    plan = plan_at(stack, moment)
    config = settings(stack)
    found = {name: violations(name, plan.resources, config.get(name, {})) for name in BY_NAME}
    assert {k: v for k, v in found.items() if v} == {}
    # ... and what it declares is what the clouds accept at that moment.
    require_tool("shellcheck", "Debian package shellcheck")
    checked = verify.verify(plan, as_of=moment)
    assert [f"{f.rule}: {f.message}" for f in checked.findings] == []


def held_group(plan: Plan) -> tuple[Resource, Resource]:
    """An Auto Scaling group held at a promotion's capacity, and its restore action."""
    for group in plan.of_type(ASG):
        schedules = [r for r in plan.children(group.parent or "") if r.type == ASG_SCHEDULE]
        names = {s.inputs["scheduledActionName"] for s in schedules}
        for restore in schedules:
            name = restore.inputs["scheduledActionName"]
            if name.endswith("-restore") and name.replace("-restore", "-prewarm") not in names:
                return group, restore
    raise LookupError("no group in the middle of a promotion")


def test_the_program_holds_the_promotion_capacity_while_it_runs() -> None:
    moment = datetime.fromisoformat("2026-12-12T01:00:00+08:00")
    plan = plan_at("prod", moment)
    spec = spec_for("prod")
    group, restore = held_group(plan)
    assert restore.inputs["scheduledActionName"] == "double-12-2026-restore"
    region = next(r for r in spec.regions if r.name == group.region)
    service = next(s for s in spec.services if group.name == f"{region.code}-{s.name}-asg")
    base = spec.capacity(service, region)
    normal = spec.storm_assumptions(service)["normalCpuPercent"]
    peak = planning.promotion_capacity(base, 3, service.scaling.cpu_target, normal)
    assert (group.inputs["minSize"], group.inputs["maxSize"]) == (peak.min, max(peak.max, base.max))
    assert (restore.inputs["minSize"], restore.inputs["maxSize"]) == (base.min, base.max)


def test_an_update_that_would_shrink_a_fleet_at_the_peak_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    moment = datetime.fromisoformat("2026-12-12T01:00:00+08:00")
    monkeypatch.setenv("COURIER_PLAN_TIME", moment.isoformat())
    plan = plan_at("prod", moment)
    group, restore = held_group(plan)
    assert violations(PRESCALE[0], plan.resources) == []
    group.inputs["minSize"] = restore.inputs["minSize"]
    try:
        found = violations(PRESCALE[0], plan.resources)
    finally:
        group.inputs["minSize"] = restore.inputs["minSize"] + 1
        _PLANS.pop(("prod", moment))
    assert len(found) == 1
    assert "shrinks the fleet at the peak" in found[0] and "'double-12-2026'" in found[0]


def test_ess_groups_wait_for_promotions_beyond_the_scheduling_horizon(
    stack_plans, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = stack_plans["prod"]
    descriptions = {r.inputs.get("description") for r in plan.of_type(ESS_TASK)}
    # Double 11 2027 ends ~351 days after the plan: no ESS task yet, and no violation.
    assert not any("double-11-2027" in str(d) for d in descriptions)
    assert any("double-11-2027" in r.inputs["scheduledActionName"] for r in plan.of_type(ASG_SCHEDULE))
    assert violations(PRESCALE[1], plan.resources) == []
    warnings = [d["message"] for d in plan.diagnostics if "double-11-2027" in d["message"]]
    assert warnings and all("run `pulumi up` between 2027-08-14" in w for w in warnings), warnings
    # Once the horizon reaches it, a plan without the tasks is a violation on every ESS group.
    monkeypatch.setenv("COURIER_PLAN_TIME", "2027-09-01T00:00:00+00:00")
    found = violations(PRESCALE[1], plan.resources)
    assert len(found) == len(plan.of_type(ESS)) and all("double-11-2027" in f for f in found)


def without(plan: Plan, *types: str) -> list[Resource]:
    return [r for r in plan.resources if r.type not in types]


@pytest.mark.parametrize(
    ("kept", "policy", "flagged", "own", "promotions"),
    [
        # The calendar is whatever any fleet schedules: each source alone names the promotions
        # (ESS has only the two within its horizon; the ESS policy skips double-11-2027 there too).
        (ESS_TASK, PRESCALE[0], ASG, ASG_SCHEDULE, 2),
        (ASG_SCHEDULE, PRESCALE[1], ESS, ESS_TASK, 2),
        (SCALED_OBJECT, PRESCALE[0], ASG, ASG_SCHEDULE, 3),
    ],
)
def test_the_calendar_is_read_from_every_kind_of_schedule(
    stack_plans, kept: str, policy: str, flagged: str, own: str, promotions: int
) -> None:
    plan = stack_plans["prod"]
    # Only `kept` still names the promotions; the judged fleets lose their own schedules.
    removed = ({ASG_SCHEDULE, ESS_TASK, SCALED_OBJECT} - {kept}) | {own}
    found = violations(policy, without(plan, *removed))
    assert len(found) == promotions * len(plan.of_type(flagged)), found
    assert sum("double-12-2026" in f for f in found) == len(plan.of_type(flagged))
