"""promtool unit tests for every alert prod deploys to ap-southeast-1, on both sides of its
threshold: silent below it, silent before `for` elapses, firing after with exact labels and
annotations. The rules come from the prod Plan (the AMP rule group namespace's data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import StackPlans
from tests.monitoring.promtool_cases import REGION, Case, Expect, alert, labels, rule_file_of, run_promtool

pytestmark = pytest.mark.tools


@pytest.fixture(scope="module")
def prod_rules(stack_plans: StackPlans) -> str:
    return rule_file_of(stack_plans["prod"])


def cpu_series(busy: float, service: str = "orders", minutes: int = 40) -> dict[str, str]:
    idle_per_minute = round(60 * (1 - busy), 6)
    return {
        f"node_cpu_seconds_total{labels(service, job='node', instance='i-1', cpu='0', mode='idle')}": f"0+{idle_per_minute}x{minutes}"
    }


def up_series(count: int, service: str = "orders", minutes: int = 40, job: str = "node") -> dict[str, str]:
    return {f"up{labels(service, job=job, instance=f'i-{n}')}": f"1x{minutes}" for n in range(count)}


def requests(ok: float, errors: float, minutes: int, service: str = "orders") -> dict[str, str]:
    series = {f"http_requests_total{labels(service, job='app', instance='i-1', code='200')}": f"0+{ok}x{minutes}"}
    if errors:
        series[f"http_requests_total{labels(service, job='app', instance='i-1', code='500')}"] = f"0+{errors}x{minutes}"
    return series


def histogram(
    metric: str, bounds: list[str], filled: str, per_minute: int, minutes: int, service: str
) -> dict[str, str]:
    """Cumulative buckets with every observation in the bucket whose upper bound is ``filled``."""
    series = {}
    reached = False
    for bound in bounds:
        reached = reached or bound == filled
        value = f"0+{per_minute}x{minutes}" if reached else f"0x{minutes}"
        series[f"{metric}_bucket{labels(service, job='app', instance='i-1', le=bound)}"] = value
    return series


# -- capacity ------------------------------------------------------------------------------


def test_fleet_cpu_above_target(prod_rules: str, tmp_path: Path) -> None:
    firing = alert(
        {"severity": "warning", "category": "capacity", "service": "orders", "region": REGION},
        f"orders in {REGION}: fleet CPU above the 80% target for 10 minutes",
        "Average CPU of the fleet is 90%, above the 80% target-tracking target for 10 minutes: "
        "autoscaling is not keeping up.",
        "FleetCpuAboveTarget",
    )
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(
                cpu_series(0.9), [Expect("8m", "FleetCpuAboveTarget"), Expect("15m", "FleetCpuAboveTarget", [firing])]
            ),
            Case(cpu_series(0.7), [Expect("30m", "FleetCpuAboveTarget")]),
        ],
    )


def test_fleet_at_max_capacity(prod_rules: str, tmp_path: Path) -> None:
    firing = alert(
        {
            "severity": "critical",
            "category": "capacity",
            "customer_impact": "true",
            "service": "orders",
            "region": REGION,
        },
        f"orders in {REGION}: fleet at its maximum size and still above 80% CPU",
        "60 instances are serving, the group's maximum in force (configured 60, raised by promotions while "
        "they last), and CPU is still above the target: the fleet cannot scale out any further.",
        "FleetAtMaxCapacity",
    )
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(
                {**up_series(60), **cpu_series(0.9)},
                [Expect("3m", "FleetAtMaxCapacity"), Expect("12m", "FleetAtMaxCapacity", [firing])],
            ),
            # One short of the maximum: it can still scale out.
            Case({**up_series(59), **cpu_series(0.9)}, [Expect("20m", "FleetAtMaxCapacity")]),
            # At the maximum but cool: nothing to do.
            Case({**up_series(60), **cpu_series(0.5)}, [Expect("20m", "FleetAtMaxCapacity")]),
        ],
    )


def test_kubernetes_fleet_at_max_compares_with_the_live_hpa_maximum(prod_rules: str, tmp_path: Path) -> None:
    """notifications runs on EKS: its ceiling is its HPA's maxReplicas as kube-state-metrics
    reports it now (KEDA raises it for promotions), not a number in the rule."""
    pod = {"namespace": "notifications", "container": "notifications"}
    # Two ready pods, each burning 0.45 of its 0.5 CPU request: 90%, above the 80% target.
    series = {
        f"kube_pod_status_ready{labels('notifications', namespace='notifications', pod=f'n-{n}', condition='true')}": "1x30"
        for n in (1, 2)
    }
    for n in (1, 2):
        series[f"container_cpu_usage_seconds_total{labels('notifications', pod=f'n-{n}', **pod)}"] = "0+27x30"
        series[
            f"kube_pod_container_resource_requests{labels('notifications', pod=f'n-{n}', resource='cpu', **pod)}"
        ] = "0.5x30"
    # kube-state-metrics' own Service label, as the ServiceMonitor scrape attaches it.
    hpa = f'kube_horizontalpodautoscaler_spec_max_replicas{{namespace="notifications", horizontalpodautoscaler="notifications", region="{REGION}", service="kube-state-metrics"}}'
    firing = alert(
        {
            "severity": "critical",
            "category": "capacity",
            "customer_impact": "true",
            "namespace": "notifications",
            "service": "notifications",
            "region": REGION,
        },
        f"notifications in {REGION}: fleet at its maximum size and still above 80% CPU",
        "2 instances are serving, the HPA's maxReplicas, and CPU is still above the target: "
        "the fleet cannot scale out any further.",
        "FleetAtMaxCapacity",
    )
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(
                {**series, hpa: "2x30"},
                [Expect("4m", "FleetAtMaxCapacity"), Expect("12m", "FleetAtMaxCapacity", [firing])],
            ),
            # The HPA may grow to 3: the same two hot pods can still scale out.
            Case({**series, hpa: "3x30"}, [Expect("20m", "FleetAtMaxCapacity")]),
        ],
    )


# -- SLO burn rates (orders: 99.95% -> budget 0.05%) -------------------------------------------


def burn(long: str, short: str, rate: str, severity: str, shown: str) -> dict:
    return alert(
        {
            "severity": severity,
            "category": "availability",
            "customer_impact": "true",
            "long_window": long,
            "short_window": short,
            "service": "orders",
            "region": REGION,
        },
        f"orders in {REGION}: burning the 99.95% availability error budget {rate}x too fast",
        f"The 5xx ratio over the last {long} is {shown} (and still high over {short}): "
        f"at {rate}x the budget of a 99.95% objective.",
        "ErrorBudgetBurn",
    )


def test_error_budget_fast_burn_pages(prod_rules: str, tmp_path: Path) -> None:
    # 1% errors > 14.4 x 0.05% = 0.72%
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(
                requests(594, 6, 30),
                [
                    Expect("1m", "ErrorBudgetBurn"),
                    Expect("10m", "ErrorBudgetBurn", [burn("1h", "5m", "14.4", "critical", "1%")]),
                ],
            ),
            # 0.5% is below the fast threshold (and the 6x one has not held for 15 minutes yet).
            Case(requests(597, 3, 30), [Expect("10m", "ErrorBudgetBurn")]),
            # The same 1% on a trickle of traffic (0.1 requests/s) is not an outage.
            Case(requests(5.94, 0.06, 30), [Expect("10m", "ErrorBudgetBurn")]),
        ],
    )


def test_error_budget_slow_burn_pages(prod_rules: str, tmp_path: Path) -> None:
    # 0.5% errors > 6 x 0.05% = 0.3%, held 15 minutes
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(
                requests(597, 3, 45),
                [
                    Expect("10m", "ErrorBudgetBurn"),
                    Expect("30m", "ErrorBudgetBurn", [burn("6h", "30m", "6", "critical", "0.5%")]),
                ],
            ),
            Case(requests(598.8, 1.2, 45), [Expect("30m", "ErrorBudgetBurn")]),
        ],
    )


def test_error_budget_one_day_burn_tickets(prod_rules: str, tmp_path: Path) -> None:
    # 0.2% errors > 3 x 0.05% = 0.15%, held an hour
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(
                requests(598.8, 1.2, 100),
                [
                    Expect("50m", "ErrorBudgetBurn"),
                    Expect("90m", "ErrorBudgetBurn", [burn("1d", "2h", "3", "warning", "0.2%")]),
                ],
            ),
            Case(requests(599.4, 0.6, 100), [Expect("90m", "ErrorBudgetBurn")]),
        ],
    )


def test_error_budget_three_day_burn_tickets(prod_rules: str, tmp_path: Path) -> None:
    # 0.1% errors > 1 x 0.05%, held three hours
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(
                requests(599.4, 0.6, 220),
                [
                    Expect("150m", "ErrorBudgetBurn"),
                    Expect("200m", "ErrorBudgetBurn", [burn("3d", "6h", "1", "warning", "0.1%")]),
                ],
            ),
            Case(requests(599.76, 0.24, 220), [Expect("200m", "ErrorBudgetBurn")]),
        ],
    )


# -- latency and business signals -------------------------------------------------------------

LATENCY_BOUNDS = ["0.1", "0.25", "0.5", "1", "+Inf"]


def test_latency_p99_above_objective(prod_rules: str, tmp_path: Path) -> None:
    firing = alert(
        {
            "severity": "warning",
            "category": "latency",
            "customer_impact": "true",
            "service": "orders",
            "region": REGION,
        },
        f"orders in {REGION}: p99 latency above 300 ms for 10 minutes",
        "p99 response time is 995ms, above the 300 ms objective.",
        "LatencyP99AboveObjective",
    )
    slow = {
        **histogram("http_request_duration_seconds", LATENCY_BOUNDS, "1", 600, 40, "orders"),
        **requests(600, 0, 40),
    }
    fast = {
        **histogram("http_request_duration_seconds", LATENCY_BOUNDS, "0.1", 600, 40, "orders"),
        **requests(600, 0, 40),
    }
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(slow, [Expect("5m", "LatencyP99AboveObjective"), Expect("20m", "LatencyP99AboveObjective", [firing])]),
            Case(fast, [Expect("20m", "LatencyP99AboveObjective")]),
        ],
    )


def attempts(metric: str, service: str, good: str, ok: int, failed: int) -> dict[str, str]:
    return {
        f"{metric}{labels(service, job='app', instance='i-1', outcome=good)}": f"0+{ok}x30",
        f"{metric}{labels(service, job='app', instance='i-1', outcome='failed')}": f"0+{failed}x30",
    }


def test_order_creation_failure_ratio(prod_rules: str, tmp_path: Path) -> None:
    firing = alert(
        {
            "severity": "critical",
            "category": "business",
            "customer_impact": "true",
            "service": "orders",
            "region": REGION,
        },
        f"orders in {REGION}: more than 2% of order creations failing",
        "5% of order creations failed over the last 5 minutes (threshold 2%).",
        "OrderCreationFailureRatioHigh",
    )
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(
                attempts("courier_order_attempts_total", "orders", "created", 570, 30),
                [
                    Expect("3m", "OrderCreationFailureRatioHigh"),
                    Expect("12m", "OrderCreationFailureRatioHigh", [firing]),
                ],
            ),
            Case(
                attempts("courier_order_attempts_total", "orders", "created", 594, 6),
                [Expect("20m", "OrderCreationFailureRatioHigh")],
            ),
        ],
    )


def test_payment_failure_ratio(prod_rules: str, tmp_path: Path) -> None:
    firing = alert(
        {
            "severity": "critical",
            "category": "business",
            "customer_impact": "true",
            "service": "payments",
            "region": REGION,
        },
        f"payments in {REGION}: more than 3% of payments failing",
        "5% of payments failed over the last 5 minutes (threshold 3%).",
        "PaymentFailureRatioHigh",
    )
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(
                attempts("courier_payment_attempts_total", "payments", "succeeded", 570, 30),
                [Expect("3m", "PaymentFailureRatioHigh"), Expect("12m", "PaymentFailureRatioHigh", [firing])],
            ),
            Case(
                attempts("courier_payment_attempts_total", "payments", "succeeded", 594, 6),
                [Expect("20m", "PaymentFailureRatioHigh")],
            ),
        ],
    )


def test_dispatch_assignment_slow(prod_rules: str, tmp_path: Path) -> None:
    bounds = ["30", "60", "120", "300", "+Inf"]
    firing = alert(
        {
            "severity": "warning",
            "category": "business",
            "customer_impact": "true",
            "service": "dispatch",
            "region": REGION,
        },
        f"dispatch in {REGION}: p95 time to assign a rider above 90 s",
        "p95 time to assign a rider is 4m 51s, above 90 s.",
        "DispatchAssignmentSlow",
    )
    metric = "courier_dispatch_assignment_seconds"
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(
                histogram(metric, bounds, "300", 60, 40, "dispatch"),
                [Expect("5m", "DispatchAssignmentSlow"), Expect("20m", "DispatchAssignmentSlow", [firing])],
            ),
            Case(histogram(metric, bounds, "60", 60, 40, "dispatch"), [Expect("20m", "DispatchAssignmentSlow")]),
        ],
    )


def test_rider_location_lag(prod_rules: str, tmp_path: Path) -> None:
    bounds = ["5", "10", "30", "60", "+Inf"]
    firing = alert(
        {
            "severity": "warning",
            "category": "business",
            "customer_impact": "true",
            "service": "tracking",
            "region": REGION,
        },
        f"tracking in {REGION}: p95 rider location update lag above 20 s",
        "p95 rider location update lag is 58.5s, above 20 s.",
        "RiderLocationLagHigh",
    )
    metric = "courier_rider_location_lag_seconds"
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(
                histogram(metric, bounds, "60", 600, 40, "tracking"),
                [Expect("3m", "RiderLocationLagHigh"), Expect("12m", "RiderLocationLagHigh", [firing])],
            ),
            Case(histogram(metric, bounds, "10", 600, 40, "tracking"), [Expect("20m", "RiderLocationLagHigh")]),
        ],
    )


# -- traffic, targets and the dead man's switch -----------------------------------------------


def test_traffic_surge_warns_the_data_analyst_early(prod_rules: str, tmp_path: Path) -> None:
    series = f"http_requests_total{labels('orders', job='app', instance='i-1', code='200')}"
    firing = alert(
        {"severity": "info", "category": "traffic", "service": "orders", "region": REGION},
        f"orders in {REGION}: traffic 2x above the same time yesterday",
        "3 requests per second, more than 2x yesterday's rate at this hour: an early warning of an unplanned surge.",
        "TrafficSurge",
    )
    run_promtool(
        tmp_path,
        prod_rules,
        [
            # One request per second for a day, then three (5-minute samples and evaluations:
            # a day of history is needed, minute by minute it would take promtool long).
            Case(
                {series: "0+300x288 86400+900x12"},
                [Expect("1445m", "TrafficSurge"), Expect("1475m", "TrafficSurge", [firing])],
                interval="5m",
            ),
            Case({series: "0+300x288 86400+500x12"}, [Expect("1475m", "TrafficSurge")], interval="5m"),
        ],
        evaluation_interval="5m",
    )


def test_target_down(prod_rules: str, tmp_path: Path) -> None:
    firing = alert(
        {
            "severity": "warning",
            "category": "monitoring",
            "job": "app",
            "instance": "i-0",
            "service": "orders",
            "region": REGION,
        },
        f"orders in {REGION}: target i-0 (app) down",
        "The scrape target i-0 of job app has been down for 5 minutes.",
        "TargetDown",
    )
    down = {f"up{labels('orders', job='app', instance='i-0')}": "0x20"}
    healthy = {f"up{labels('orders', job='app', instance='i-0')}": "1x20"}
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(down, [Expect("3m", "TargetDown"), Expect("10m", "TargetDown", [firing])]),
            Case(healthy, [Expect("10m", "TargetDown")]),
        ],
    )


def test_fleet_targets_absent(prod_rules: str, tmp_path: Path) -> None:
    others = {k: v for s in ("dispatch", "tracking", "payments") for k, v in up_series(1, s, 30).items()}
    # notifications runs on Kubernetes: its pods are present when kube-state-metrics reports them ready.
    others[
        f"kube_pod_status_ready{labels('notifications', namespace='notifications', pod='n-1', condition='true')}"
    ] = "1x30"
    firing = alert(
        {"severity": "critical", "category": "monitoring", "job": "node", "service": "orders", "region": REGION},
        f"orders in {REGION}: no instance has reported metrics for 10 minutes",
        "No node_exporter target of the fleet is being scraped: the fleet is gone or monitoring is blind.",
        "FleetTargetsAbsent",
    )
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(others, [Expect("5m", "FleetTargetsAbsent"), Expect("15m", "FleetTargetsAbsent", [firing])]),
            Case({**others, **up_series(1, "orders", 30)}, [Expect("15m", "FleetTargetsAbsent")]),
        ],
    )


def test_watchdog_always_fires(prod_rules: str, tmp_path: Path) -> None:
    heartbeat = alert(
        {"severity": "info", "service": "monitoring", "region": REGION},
        f"Alerting pipeline of {REGION} is alive",
        "Always firing. If the dead man's switch stops receiving it, the rules or the alertmanager of this "
        "region are broken.",
        "Watchdog",
    )
    run_promtool(
        tmp_path,
        prod_rules,
        [Case({}, [Expect("0m", "Watchdog", [heartbeat]), Expect("2h", "Watchdog", [heartbeat])])],
    )


# -- Kubernetes services (prod runs notifications on EKS) ------------------------------------


def test_kubernetes_cpu_above_target_compares_container_cpu_with_requests(prod_rules: str, tmp_path: Path) -> None:
    pod = {"namespace": "notifications", "container": "notifications", "pod": "n-1"}
    # The pod requests 0.5 CPU and burns 0.45 (27 CPU-seconds a minute): 90% of its request.
    hot = {
        f"container_cpu_usage_seconds_total{labels('notifications', **pod)}": "0+27x40",
        f"kube_pod_container_resource_requests{labels('notifications', resource='cpu', **pod)}": "0.5x40",
    }
    cool = {**hot, f"container_cpu_usage_seconds_total{labels('notifications', **pod)}": "0+15x40"}
    firing = alert(
        {
            "severity": "warning",
            "category": "capacity",
            "namespace": "notifications",
            "service": "notifications",
            "region": REGION,
        },
        f"notifications in {REGION}: fleet CPU above the 80% target for 10 minutes",
        "Average CPU of the fleet is 90%, above the 80% target-tracking target for 10 minutes: "
        "autoscaling is not keeping up.",
        "FleetCpuAboveTarget",
    )
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(hot, [Expect("8m", "FleetCpuAboveTarget"), Expect("15m", "FleetCpuAboveTarget", [firing])]),
            Case(cool, [Expect("30m", "FleetCpuAboveTarget")]),
        ],
    )


def test_kubernetes_service_without_ready_pods_is_absent(prod_rules: str, tmp_path: Path) -> None:
    vm = {k: v for s in ("orders", "dispatch", "tracking", "payments") for k, v in up_series(1, s, 30).items()}
    ready = {
        f"kube_pod_status_ready{labels('notifications', namespace='notifications', pod='n-1', condition='true')}": "1x30"
    }
    not_ready = {
        f"kube_pod_status_ready{labels('notifications', namespace='notifications', pod='n-1', condition='true')}": "0x30"
    }
    firing = alert(
        {"severity": "critical", "category": "monitoring", "service": "notifications", "region": REGION},
        f"notifications in {REGION}: no ready pod for 10 minutes",
        "No pod of the service is ready (or kube-state-metrics is not reporting): the workload is down or monitoring is blind.",
        "FleetTargetsAbsent",
    )
    run_promtool(
        tmp_path,
        prod_rules,
        [
            Case(
                {**vm, **not_ready}, [Expect("5m", "FleetTargetsAbsent"), Expect("15m", "FleetTargetsAbsent", [firing])]
            ),
            Case({**vm, **ready}, [Expect("15m", "FleetTargetsAbsent")]),
        ],
    )
