"""The storm engine against cases worked out by hand, and properties any fleet must have."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from courier.storm.engine import STEP, Action, Behaviour, Event, FleetSetup, Nodes, StepRule, Window, simulate

#: Issue 9's worked case: 10 instances at 50% CPU, target 80%, 60 s metrics seen 60 s late,
#: 180 s launches, 300 s warmup, hit by an unannounced 4x step.
TEN = FleetSetup(kind="vm", min=2, max=100, desired=10, cpu_target=80, rps=100, boot=180, metric_delay=60, warmup=300)
NORMAL = 10 * 100 * 0.5
SETTLE = 600


def step_surge(multiplier: float = 4, at: float = SETTLE):
    return lambda t: NORMAL if t < at else NORMAL * multiplier


def desired_changes(outcome, origin: float = SETTLE) -> list[tuple[float, int]]:
    changes, previous = [], None
    for t, desired in zip(outcome.series.time, outcome.series.desired, strict=True):
        if desired != previous:
            changes.append(((t - origin) / 60, desired))
            previous = desired
    return changes


def test_the_23_minute_storm_of_cpu_target_tracking_alone() -> None:
    outcome = simulate(TEN, step_surge(), SETTLE + 3600, measure_from=SETTLE)
    # 3 datapoints over target + 1 minute of delay = 4 minutes to the first scale-out; each round
    # grows the fleet by 100/80 (CPU is capped at 100%) and waits launch + warmup = 8 minutes.
    assert desired_changes(outcome) == [(-10.0, 10), (4.0, 13), (12.0, 17), (20.0, 22), (28.0, 25)]
    # 22 instances serve the 20 instance-loads of demand from minute 20 + 3 = 23.
    assert outcome.overloaded_minutes == 23.0
    assert outcome.recovery_minutes == 23.0
    assert round(outcome.unserved_percent, 2) == 12.5
    assert outcome.peak_cpu_percent == 100.0
    assert outcome.max_capacity == 25


def test_an_announced_pre_scale_leaves_nothing_unserved() -> None:
    # Forecast 3x = 15 instance-loads: 19 instances (at 80%) raised 10 minutes ahead.
    setup = replace(TEN, actions=(Action(SETTLE - 600, min=19, max=100, desired=19),))
    outcome = simulate(setup, step_surge(3), SETTLE + 3600, measure_from=SETTLE)
    assert outcome.unserved_percent == 0.0
    assert outcome.overloaded_minutes == 0.0
    assert round(outcome.peak_cpu_percent, 1) == round(1500 / 1900 * 100, 1)


def test_a_scheduled_action_runs_late_by_the_assumed_delay() -> None:
    setup = replace(TEN, actions=(Action(300, min=20, max=100, desired=20),), scheduled_delay=60)
    outcome = simulate(setup, lambda t: NORMAL, 900)
    first = next(t for t, d in zip(outcome.series.time, outcome.series.desired, strict=True) if d == 20)
    assert first == 360


def test_warm_pool_instances_serve_after_the_resume_time() -> None:
    pooled = replace(TEN, warm_pool=10, warm_resume=45)
    cold = simulate(TEN, step_surge(), SETTLE + 3600, measure_from=SETTLE)
    warm = simulate(pooled, step_surge(), SETTLE + 3600, measure_from=SETTLE)
    # Same detection (minute 4); the first wave serves 45 s after it instead of 180 s.
    assert desired_changes(warm)[1] == (4.0, 13)
    assert warm.overloaded_minutes < cold.overloaded_minutes
    total_at = dict(zip(warm.series.time, warm.series.serving, strict=True))
    assert total_at[SETTLE + 240 + 45] > total_at[SETTLE + 240 + 40]


def test_a_high_resolution_metric_detects_in_seconds() -> None:
    # min = desired: at 10 s a window of 15 calm datapoints is 150 s, and the fleet at 50% would
    # scale in before the surge.
    fast = replace(TEN, min=10, period=10, metric_delay=10)
    outcome = simulate(fast, step_surge(), SETTLE + 3600, measure_from=SETTLE)
    # 3 datapoints of 10 s + 10 s of delay.
    assert desired_changes(outcome)[1] == (40 / 60, 13)


def test_an_alibaba_style_step_rule_adds_its_share_after_its_evaluations() -> None:
    setup = replace(
        TEN,
        target_tracking=False,
        step_rules=(StepRule(threshold=80, evaluations=10, percent=20, min_adjustment=2, cooldown=180),),
    )
    outcome = simulate(setup, step_surge(), SETTLE + 1800, measure_from=SETTLE)
    # 10 datapoints at or above 80% (minutes 1-10) are seen at minute 11: +20% of 10 = 2.
    assert desired_changes(outcome)[1] == (11.0, 12)
    # Then every cooldown (3 minutes) while CPU stays high: +20% of 12 = 3 (rounded up).
    assert desired_changes(outcome)[2] == (14.0, 15)


def test_a_lost_zone_is_replaced_at_the_group_size() -> None:
    outcome = simulate(TEN, lambda t: NORMAL, 1800, events=(Event(600, 1 / 3),))
    totals = dict(zip(outcome.series.time, outcome.series.total, strict=True))
    serving = dict(zip(outcome.series.time, outcome.series.serving, strict=True))
    assert totals[600] == 10  # relaunched at once
    assert serving[600] == NORMAL  # 7 instances still carry 5 instance-loads
    assert serving[600 + 180 + STEP] == NORMAL


PODS = FleetSetup(
    kind="pods",
    min=6,
    max=48,
    desired=6,
    cpu_target=80,
    rps=25,
    boot=20,
    metric_delay=30,
    pod_start=20,
    behaviour=Behaviour(),
    nodes=Nodes(pods_per_node=7, min=3, max=10, desired=3),
    node_provision=120,
)


def test_the_hpa_reacts_within_one_sync_period_after_the_metric() -> None:
    demand = lambda t: 6 * 25 * 0.5 if t < 600 else 6 * 25 * 2  # noqa: E731
    outcome = simulate(PODS, demand, 1200, measure_from=600)
    first = next(t for t, d in zip(outcome.series.time, outcome.series.desired, strict=True) if d > 6)
    # The metric is 30 s old; the HPA syncs every 15 s: it sees the surge at 630 s.
    assert 630 <= first < 630 + 15
    # Utilization is capped at 100% of the request here (a pod serving ``rps`` at its request):
    # ceil(6 x 100 / 80) = 8, within max(100%, 4 pods) per sync.
    assert outcome.series.desired[outcome.series.time.index(first)] == 8


def test_pods_wait_for_a_node_when_the_group_is_full() -> None:
    roomy = replace(PODS, nodes=Nodes(pods_per_node=7, min=3, max=10, desired=10))
    demand = lambda t: 6 * 25 * 0.5 if t < 600 else 6 * 25 * 5  # noqa: E731
    tight = simulate(PODS, demand, 1800, measure_from=600)
    easy = simulate(roomy, demand, 1800, measure_from=600)
    # 30 pod-loads: 3 nodes hold 21 pods; the rest wait 120 s for new nodes.
    assert tight.overloaded_minutes > easy.overloaded_minutes


def test_a_cron_window_holds_its_replicas() -> None:
    held = replace(PODS, windows=(Window(300, 900, 18),))
    outcome = simulate(held, lambda t: 6 * 25 * 0.5, 1200)
    desired = dict(zip(outcome.series.time, outcome.series.desired, strict=True))
    assert desired[600] == 18
    assert desired[1200 - STEP] < 18  # released after the window, down 10% a minute at most


@settings(max_examples=25, deadline=None)
@given(extra=st.integers(min_value=1, max_value=30), multiplier=st.floats(min_value=1.5, max_value=6))
def test_more_capacity_never_serves_less(extra: int, multiplier: float) -> None:
    small = simulate(TEN, step_surge(multiplier), SETTLE + 2400, measure_from=SETTLE)
    bigger = replace(TEN, min=TEN.min + extra, desired=TEN.desired + extra)
    large = simulate(bigger, step_surge(multiplier), SETTLE + 2400, measure_from=SETTLE)
    assert large.unserved_percent <= small.unserved_percent + 1e-9


@settings(max_examples=25, deadline=None)
@given(ceiling=st.integers(min_value=10, max_value=60), more=st.integers(min_value=1, max_value=40))
def test_a_higher_max_never_overloads_longer(ceiling: int, more: int) -> None:
    low = simulate(replace(TEN, max=ceiling), step_surge(), SETTLE + 2400, measure_from=SETTLE)
    high = simulate(replace(TEN, max=ceiling + more), step_surge(), SETTLE + 2400, measure_from=SETTLE)
    assert high.overloaded_minutes <= low.overloaded_minutes
