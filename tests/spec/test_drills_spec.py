"""courier:drills: the calendar's defaults per environment, its clear errors, and the schedule
expressions' next runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from components.spec import SpecError
from components.spec.drills import DEFAULT_SCHEDULES, ScheduleError, calendar, next_run, parse_schedule
from tests.builders import eks_config, mutated, spec_of, valid_config


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as raised:
        spec_of(config)
    return [str(p) for p in raised.value.problems]


def with_runs(*runs: dict[str, Any], environment: str = "prod", **section: Any) -> dict[str, Any]:
    def change(config: dict[str, Any]) -> None:
        config["drills"] = {**section, "runs": list(runs)}

    return mutated(change, environment)


def test_staging_runs_every_drill_monthly_in_the_primary_by_default() -> None:
    runs, found = calendar(spec_of(valid_config("staging")))
    assert found == []
    assert {r.drill: (r.region, r.schedule, r.enabled) for r in runs} == {
        kind: ("ap-southeast-1", DEFAULT_SCHEDULES[kind], True)
        for kind in ("zone-outage", "fleet-loss", "cpu-storm", "region-switchover")
    }
    assert {r.service for r in runs if r.drill in ("fleet-loss", "cpu-storm")} == {"orders"}
    assert next(r.zone for r in runs if r.drill == "zone-outage") == "ap-southeast-1a"


def test_prod_runs_nothing_by_itself_unless_a_run_is_enabled() -> None:
    runs, _ = calendar(spec_of(valid_config("prod")))
    assert runs and not any(r.enabled for r in runs)
    runs, _ = calendar(spec_of(with_runs({"drill": "fleet-loss", "service": "payments", "enabled": True})))
    assert [(r.key, r.enabled, r.schedule) for r in runs] == [
        ("fleet-loss-payments", True, DEFAULT_SCHEDULES["fleet-loss"])
    ]


def test_pod_drills_default_to_the_kubernetes_services_on_eks() -> None:
    config = eks_config()
    config["environment"] = "staging"
    runs, _ = calendar(spec_of(config))
    assert {(r.drill, r.service) for r in runs if r.drill.startswith("pod-")} == {
        ("pod-delete", "notifications"),
        ("pod-cpu-stress", "notifications"),
    }


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (
            {"drill": "zone-outage", "zone": "ap-southeast-1z"},
            "courier:drills.runs[0].zone: is not a zone of ap-southeast-1 in this stack (zones: ap-southeast-1a, "
            "ap-southeast-1b, ap-southeast-1c; got 'ap-southeast-1z')",
        ),
        (
            {"drill": "fleet-loss", "service": "ordrs"},
            "courier:drills.runs[0].service: fleet-loss needs a VM service running in ap-southeast-1 (orders, payments; "
            "got 'ordrs'); did you mean 'orders'?",
        ),
        (
            {"drill": "fleet-loss", "region": "eu-west-9"},
            "courier:drills.runs[0].region: is not a region of this stack; drills run in its AWS regions: "
            "ap-southeast-1, ap-northeast-1 (got 'eu-west-9')",
        ),
        (
            {"drill": "zone-outage", "service": "orders"},
            "courier:drills.runs[0].service: zone-outage drills the whole region: it takes no service (got 'orders')",
        ),
        (
            {"drill": "pod-delete"},
            "courier:drills.runs[0].drill: pod-delete needs a Kubernetes service on the stack's EKS cluster in "
            "ap-southeast-1, and none runs there",
        ),
        (
            {"drill": "cpu-storm", "zone": "ap-southeast-1a"},
            "courier:drills.runs[0].zone: is only for zone-outage (got zone 'ap-southeast-1a' on cpu-storm)",
        ),
    ],
)
def test_rejects_runs_that_name_what_the_stack_does_not_have(run: dict[str, Any], expected: str) -> None:
    assert problems(with_runs(run)) == [expected]


def test_rejects_an_unknown_drill_naming_the_kinds() -> None:
    (found,) = problems(with_runs({"drill": "chaos-monkey"}))
    assert found.startswith("courier:drills.runs[0].drill: ")
    assert "'zone-outage'" in found and "'pod-cpu-stress'" in found and "chaos-monkey" in found


@pytest.mark.parametrize(
    ("schedule", "why"),
    [
        ("rate(1 day)", "must be cron(...) or at(...)"),
        ("cron(0 10 * * TUE *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 25 ? * TUE *)", "'25' is not a value of 0-23"),
        ("cron(0 10 ? * TUE#6 *)", "the n in DAY#n must be 1-5"),
        ("cron(0 10 ? *)", "cron takes 6 fields"),
        ("at(2026-13-01T10:00:00)", "is not a date and time"),
    ],
)
def test_rejects_schedules_outside_eventbridge_schedulers_grammar(schedule: str, why: str) -> None:
    (found,) = problems(with_runs({"drill": "fleet-loss", "schedule": schedule}))
    assert found.startswith("courier:drills.runs[0].schedule: must be an EventBridge Scheduler expression")
    assert why in found and f"(got {schedule!r})" in found


def test_rejects_an_unknown_time_zone_with_the_nearest() -> None:
    (found,) = problems(with_runs(timezone="Asia/Singapur"))
    assert found.startswith("courier:drills.timezone: must be an IANA time zone")
    assert "'Asia/Singapur'" in found and "did you mean 'Asia/Singapore'" in found


def test_rejects_two_enabled_drills_at_once_in_one_region() -> None:
    found = problems(
        with_runs(
            {"drill": "fleet-loss", "schedule": "cron(0 10 ? * TUE#1 *)", "enabled": True},
            {"drill": "cpu-storm", "schedule": "cron(0 10 ? * TUE#1 *)", "enabled": True},
        )
    )
    assert found == [
        "courier:drills.runs: cpu-storm-orders and fleet-loss-orders in ap-southeast-1 both run at "
        "'cron(0 10 ? * TUE#1 *)': one drill at a time per region (move one to another day)"
    ]


def test_rejects_yes_for_enabled() -> None:
    (found,) = problems(with_runs({"drill": "fleet-loss", "enabled": "yes"}))
    assert found == "courier:drills.runs[0].enabled: must be true or false (got 'yes')"


@pytest.mark.parametrize(
    ("expression", "timezone", "after", "expected"),
    [
        # The second Tuesday of December 2026 is the 8th (the 1st is a Tuesday).
        ("cron(0 10 ? * TUE#2 *)", "Asia/Singapore", "2026-11-25T00:00:00+00:00", "2026-12-08T10:00:00+08:00"),
        # Exactly at a run: the next one, a month later.
        ("cron(0 10 ? * TUE#1 *)", "UTC", "2026-12-01T10:00:00+00:00", "2027-01-05T10:00:00+00:00"),
        ("cron(30 2 15 * ? *)", "UTC", "2026-12-01T00:00:00+00:00", "2026-12-15T02:30:00+00:00"),
        ("cron(0 9 ? * MON-FRI *)", "UTC", "2026-12-05T12:00:00+00:00", "2026-12-07T09:00:00+00:00"),
        ("cron(0 10 1 JAN ? 2027)", "UTC", "2026-11-25T00:00:00+00:00", "2027-01-01T10:00:00+00:00"),
        ("at(2026-12-08T10:00:00)", "Asia/Singapore", "2026-11-25T00:00:00+00:00", "2026-12-08T10:00:00+08:00"),
    ],
)
def test_next_run_follows_eventbridge_schedulers_calendar(
    expression: str, timezone: str, after: str, expected: str
) -> None:
    moment = next_run(expression, timezone, datetime.fromisoformat(after))
    assert moment is not None and moment.isoformat() == expected


def test_no_next_run_after_a_one_off_or_the_last_year() -> None:
    after = datetime(2026, 11, 25, tzinfo=UTC)
    assert next_run("at(2026-01-01T10:00:00)", "UTC", after) is None
    assert next_run("cron(0 10 1 JAN ? 2025)", "UTC", after) is None


def test_parse_refuses_an_unknown_weekday_name() -> None:
    with pytest.raises(ScheduleError, match="'TUX' is not a value"):
        parse_schedule("cron(0 10 ? * TUX *)")


# -- the worst day: never a fault in the middle of a festival sale --------------------------------

DURING_DOUBLE_12 = {"drill": "fleet-loss", "schedule": "at(2026-12-12T10:00:00)", "enabled": True}


def test_an_enabled_prod_run_inside_a_promotion_is_refused() -> None:
    found = problems(with_runs(DURING_DOUBLE_12, timezone="Asia/Singapore"))
    assert any(
        p.startswith(
            "courier:drills.runs: fleet-loss-orders in ap-southeast-1 would run at 2026-12-12T10:00:00+08:00, "
            "inside promotion 'double-12'"
        )
        and "move its schedule or disable it" in p
        for p in found
    ), found


def test_the_prewarm_counts_as_the_promotion_and_the_day_after_is_fine() -> None:
    # double-12 raises capacity 60 minutes before its start (prewarmMinutes).
    prewarm = dict(DURING_DOUBLE_12, schedule="at(2026-12-11T23:30:00)")
    assert any("inside promotion 'double-12'" in p for p in problems(with_runs(prewarm, timezone="Asia/Singapore")))
    after = dict(DURING_DOUBLE_12, schedule="at(2026-12-13T02:00:00)")
    calendar(spec_of(with_runs(after, timezone="Asia/Singapore")))  # ends as the promotion restores


def test_a_disabled_run_or_staging_may_fall_in_a_promotion() -> None:
    calendar(spec_of(with_runs(dict(DURING_DOUBLE_12, enabled=False), timezone="Asia/Singapore")))
    calendar(spec_of(with_runs(DURING_DOUBLE_12, environment="staging", timezone="Asia/Singapore")))
