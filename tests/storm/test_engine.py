"""The storm engine against cases worked out by hand, and properties any fleet must have."""

from __future__ import annotations

import itertools
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from courier.storm.engine import STEP, Action, Behaviour, Event, FleetSetup, Nodes, StepRule, Tracking, Window, simulate

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


FIXED = replace(TEN, target_tracking=False)


def test_a_fixed_fleet_at_steady_load_measures_exactly() -> None:
    # 10 instances x 100 rps; 640 rps = 64% CPU; the ideal at 80%: ceil(640 / 80) = 8.
    outcome = simulate(FIXED, lambda t: 640, 3600)
    assert (outcome.overloaded_minutes, outcome.unserved_percent, outcome.recovery_minutes) == (0.0, 0.0, 0.0)
    assert outcome.peak_cpu_percent == 64.0
    assert (outcome.max_capacity, outcome.instance_hours, outcome.ideal_instance_hours) == (10, 10.0, 8.0)
    assert outcome.series.serving[0] == 640 and outcome.series.cpu[0] == 64.0


def test_an_overloaded_fixed_fleet_serves_its_capacity_and_no_more() -> None:
    # Twice its capacity for the measured half hour: half unserved, overloaded throughout.
    outcome = simulate(FIXED, lambda t: 500 if t < 600 else 2000, 600 + 1800, measure_from=600)
    assert (outcome.overloaded_minutes, outcome.recovery_minutes, outcome.peak_cpu_percent) == (30.0, 30.0, 100.0)
    assert outcome.unserved_percent == 50.0
    assert outcome.ideal_instance_hours == 25 * 0.5  # ceil(2000 / 80) = 25 instances for half an hour
    # Before the measured window: 50% CPU, nothing unserved, and none of it counted.
    assert outcome.series.cpu[0] == 50.0 and outcome.instance_hours == 5.0


def test_no_demand_is_zero_cpu_and_no_serving_instance_is_full_cpu() -> None:
    idle = simulate(FIXED, lambda t: 0, 600)
    assert idle.peak_cpu_percent == 0.0 and idle.unserved_percent == 0.0 and idle.ideal_instance_hours == 0.0
    empty = simulate(replace(FIXED, min=0, desired=0), lambda t: 100, 600)
    assert empty.peak_cpu_percent == 100.0 and empty.unserved_percent == 100.0


def test_scale_in_needs_15_datapoints_below_90_percent_of_the_target() -> None:
    # 75% is below the 80% target but above 72% (0.9 x 80): the fleet stays (20 instances, so
    # that a scale-in would change it: ceil(20 x 75 / 80) = 19).
    held = simulate(replace(TEN, min=2, desired=20), lambda t: 1500, 3600)
    assert set(held.series.desired) == {20}
    # 70%: 15 datapoints below 72% are seen after 15 minutes + 1 minute of delay.
    calm = simulate(replace(TEN, min=2), lambda t: 700, 3600)
    assert desired_changes(calm, origin=0)[:2] == [(0.0, 10), (16.0, 9)]


def test_the_hpa_scales_up_by_at_most_the_larger_of_100_percent_and_4_pods() -> None:
    # At a 20% target a saturated pod set asks for 5x; the behaviour allows 6 -> 12 per sync.
    eager = replace(PODS, cpu_target=20, nodes=Nodes(pods_per_node=7, min=10, max=10, desired=10))
    demand = lambda t: 6 * 25 * 0.1 if t < 600 else 6 * 25 * 4  # noqa: E731
    outcome = simulate(eager, demand, 900, measure_from=600)
    steps = [d for t, d in zip(outcome.series.time, outcome.series.desired, strict=True) if t >= 600]
    assert steps[0] == 6 and max(steps) > 12
    first = next(d for d in steps if d > 6)
    assert first == 12


def test_the_hpa_scales_down_after_its_window_and_by_at_most_10_percent_a_minute() -> None:
    busy = replace(PODS, min=2, desired=20)
    outcome = simulate(busy, lambda t: 20 * 25 * 0.8 if t < 300 else 2 * 25 * 0.8, 1500, measure_from=0)
    changes = desired_changes(outcome, origin=0)
    # Load falls at 300 s; the 300 s stabilization window holds 20 until 600 s and more (the
    # metric is 30 s old); then no more than 10% (rounded down) every 60 s.
    first_drop = next(t for t, d in changes if d < 20)
    assert 10.0 <= first_drop <= 11.0
    drops = [d for t, d in changes if t >= first_drop]
    assert drops[0] == 18  # floor(20 x 0.9)
    assert all(b >= int(a * 0.9) for a, b in itertools.pairwise(drops))


def test_recovery_counts_from_the_onset_of_the_storm() -> None:
    # Overloaded from 600 s (the onset) for 23 minutes; measured from 0, recovery still counts
    # from the onset, not from the start of the measured window.
    outcome = simulate(TEN, step_surge(), SETTLE + 3600, measure_from=0, surge_at=SETTLE)
    assert outcome.recovery_minutes == 23.0
    assert simulate(TEN, step_surge(), SETTLE + 3600, measure_from=0).recovery_minutes == 33.0


def test_an_instance_serves_exactly_its_launch_time_after_desired_rises() -> None:
    setup = replace(FIXED, actions=(Action(100, desired=11),))
    outcome = simulate(setup, lambda t: 2000, 600)
    serving = dict(zip(outcome.series.time, outcome.series.serving, strict=True))
    # Raised at 100 s, launched then, serving from 100 + 180 s on (not a step later).
    assert serving[275] == 1000 and serving[280] == 1100


def test_the_hpa_adds_at_least_4_pods_to_a_small_set() -> None:
    # 2 pods saturated at a 20% target ask for far more; max(100% = 2, 4 pods) allows +4.
    small = replace(PODS, min=2, desired=2, cpu_target=20, nodes=Nodes(pods_per_node=7, min=10, max=10, desired=10))
    outcome = simulate(small, lambda t: 2 * 25 * 0.1 if t < 300 else 2 * 25 * 4, 600, measure_from=300)
    first = next(d for t, d in zip(outcome.series.time, outcome.series.desired, strict=True) if t >= 300 and d > 2)
    assert first == 6


def test_nodes_are_asked_for_at_the_autoscalers_scan_and_ready_after_provisioning() -> None:
    # 3 nodes x 7 pods are full at 21; the HPA asks for more at a sync, the cluster autoscaler
    # sees the pending pods at its next 10 s scan, and the node serves 120 s later.
    crowded = replace(PODS, min=21, desired=21, max=40, nodes=Nodes(pods_per_node=7, min=3, max=10, desired=3))
    outcome = simulate(crowded, lambda t: 21 * 25 * 0.5 if t < 300 else 21 * 25 * 1.5, 900, measure_from=300)
    asked = next(t for t, d in zip(outcome.series.time, outcome.series.desired, strict=True) if d > 21)
    sync = asked - STEP  # the change is recorded at the step after the sync that made it
    assert sync % 15 == 0 and sync == 330  # the surge at 300 s, seen 30 s late
    scan = sync if sync % 10 == 0 else sync + (10 - sync % 10)
    serving = dict(zip(outcome.series.time, outcome.series.serving, strict=True))
    # No pod beyond 21 serves before the node (scan + 120 s) and its pod start (20 s).
    assert serving[scan + 120 + 20 - STEP] == 21 * 25
    assert serving[scan + 120 + 20] == 27 * 25


#: prod's AWS fleet shape (components/aws/surge.py): the 1-minute CPU policy without scale-in,
#: the 10-second one, and the step on saturation.
SURGE = replace(
    TEN,
    min=6,
    desired=6,
    max=60,
    warmup=60,
    warm_pool=15,
    warm_resume=45,
    scale_in=False,
    tracking=(Tracking(80, 10, 20),),
    step_rules=(StepRule(95, 1, 250, 2, 0, period=10, delay=20),),
)


def test_the_saturation_step_adds_its_share_of_the_serving_instances_once() -> None:
    normal = 6 * 100 * 0.75
    outcome = simulate(SURGE, lambda t: normal if t < 600 else normal * 4, 1800, measure_from=600)
    changes = desired_changes(outcome)
    # The first saturated 10 s datapoint (600-610) is seen at 630: +250% of 6 = 15 -> 21.
    assert changes[1] == (0.5, 21)
    # Instances launching or warming count as added: no second step while they come; they
    # serve 45 s later from the warm pool, the 10 s policy then tops up to the target (23 at
    # 140 s), and the 1-minute policy, a few minutes behind on 86% datapoints, adds one more.
    assert changes[2:] == [(140 / 60, 23), (7.0, 24)]
    assert outcome.overloaded_minutes == 1.25 and outcome.max_capacity == 24


def test_scale_in_waits_for_every_policy_that_may_scale_in() -> None:
    # 12 instances at 40%: the 10 s policy alone scales in after 15 x 10 s (+20 s); with the
    # 1-minute policy also voting, only after 15 minutes (+1 minute).
    fast_only = simulate(replace(SURGE, desired=12), lambda t: 480, 1800)
    both = simulate(replace(SURGE, desired=12, scale_in=True), lambda t: 480, 1800)
    assert desired_changes(fast_only, origin=0)[1] == (170 / 60, 6)
    assert desired_changes(both, origin=0)[1] == (16.0, 6)


def test_the_hpa_ignores_a_deviation_within_its_10_percent_tolerance() -> None:
    pods = replace(PODS, nodes=None)
    held = simulate(pods, lambda t: 6 * 25 * 0.5 if t < 300 else 6 * 25 * 0.85, 900, measure_from=300)
    moved = simulate(pods, lambda t: 6 * 25 * 0.5 if t < 300 else 6 * 25 * 0.9, 900, measure_from=300)
    assert set(held.series.desired) == {6}  # 85 / 80 = 1.0625
    assert max(moved.series.desired) == 8  # 90 / 80 = 1.125: ceil(6 x 1.125) = 7, then 8


def test_the_hpa_scale_down_sequence_exactly() -> None:
    busy = replace(PODS, min=2, desired=20, nodes=None)
    outcome = simulate(busy, lambda t: 20 * 25 * 0.8 if t < 300 else 2 * 25 * 0.8, 1500, measure_from=0)
    # The low metric is seen at 330 s; the 300 s window keeps the highest recommendation until
    # it has passed; then floor(90%) of the current count every 60 s down to the 2 it needs.
    assert [d for _, d in desired_changes(outcome, origin=0)] == [20, 18, 16, 14, 12, 10, 9, 8, 7, 6, 5, 4, 3, 2]
    assert desired_changes(outcome, origin=0)[1][0] * 60 == 620
    assert all(round((b[0] - a[0]) * 60) == 60 for a, b in itertools.pairwise(desired_changes(outcome, origin=0)[1:]))


def test_the_node_group_maximum_caps_the_pods_that_serve() -> None:
    capped = replace(PODS, min=21, desired=21, max=60, nodes=Nodes(pods_per_node=7, min=3, max=6, desired=3))
    outcome = simulate(capped, lambda t: 21 * 25 * 0.5 if t < 300 else 21 * 25 * 3, 1200, measure_from=300)
    # 6 nodes x 7 pods: 42 pods serve, whatever the HPA asks for (it asks for 44 and more).
    assert max(outcome.series.serving) == 42 * 25
    assert max(outcome.series.desired) > 42


def test_pods_of_a_lost_zone_restart_on_the_other_nodes() -> None:
    # Held at 6 pods (max 6), each at 100%, on 3 nodes.
    full = replace(PODS, max=6, nodes=Nodes(pods_per_node=7, min=3, max=10, desired=3))
    outcome = simulate(full, lambda t: 6 * 25, 900, events=(Event(300, 1 / 3),))
    serving = dict(zip(outcome.series.time, outcome.series.serving, strict=True))
    # 2 of 6 pods go with the zone; 2 nodes still have room: they restart 20 s later.
    assert (serving[295], serving[300], serving[315], serving[320]) == (150, 100, 100, 150)


def test_the_hpa_bounds_growth_over_its_policy_period() -> None:
    # With a 60 s period, 100% more than the count 60 s ago: 6 -> 12 at the first sync, and no
    # more until a minute after the surge was seen (the 15 s period lets it double every sync).
    eager = replace(PODS, cpu_target=20, nodes=Nodes(pods_per_node=7, min=20, max=20, desired=20))
    demand = lambda t: 6 * 25 * 0.1 if t < 600 else 6 * 25 * 4  # noqa: E731
    slow = simulate(replace(eager, behaviour=Behaviour(up_period=60)), demand, 900, measure_from=600)
    fast = simulate(eager, demand, 900, measure_from=600)
    growth = lambda o: [d for t, d in zip(o.series.time, o.series.desired, strict=True) if 635 <= t <= 680]  # noqa: E731
    assert growth(slow)[0] == 12 and max(growth(slow)) == 12
    assert max(growth(fast)) > 12
