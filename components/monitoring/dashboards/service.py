"""The per-service dashboard: per AWS region the service runs in, demand, CPU against its
target, capacity, the warm pool, 5xx and p99 latency against the SLO, scale events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.builders import timeseries

from components.monitoring.dashboards.panels import (
    _CLOUDWATCH,
    _active_regions,
    _dashboard,
    _finish,
    _metric,
    _prometheus,
    _promotions,
    _promql,
    _series,
)
from components.spec import EnvironmentSpec, RegionSpec, ServiceSpec


@dataclass(frozen=True)
class Fleet:
    """An Auto Scaling group on the dashboards: its name is known once it exists."""

    region: str
    service: str
    group_name: str


def service_dashboard(
    spec: EnvironmentSpec, service: ServiceSpec, fleets: Sequence[Fleet], regions: Sequence[RegionSpec] | None = None
) -> dict[str, Any]:
    """Per AWS region the service runs in: demand, CPU against its target, capacity (desired,
    in service, max; the HPA's for a Kubernetes service), the warm pool, 5xx and p99 latency
    against the SLO, scale events; promotion windows as annotations."""
    board = _dashboard(spec, f"service-{service.name}", f"{service.name}", "service").annotation(_promotions(spec))
    selector = f'{{service="{service.name}"}}'
    target = service.scaling.cpu_target / 100
    budget = 1 - service.slo.availability_percent / 100
    for region in _active_regions(spec, service, regions):
        amp = _prometheus(region)
        group = next((f.group_name for f in fleets if f.region == region.name and f.service == service.name), None)
        board = board.with_row(builders.Row(region.name))
        board = board.with_panel(
            _series(
                "Demand (requests/s)",
                amp,
                [_promql(f"courier:http_requests:rate5m{selector}", "{{region}}", "A")],
                unit="reqps",
            )
        )
        board = board.with_panel(
            _series(
                f"CPU against the {service.scaling.cpu_target}% target",
                amp,
                [_promql(f"courier:fleet_cpu_busy:ratio{selector}", "fleet CPU", "A")],
                unit="percentunit",
                limit=target,
            )
        )
        board = board.with_panel(_capacity(region, service, group, selector))
        if group is not None:
            pool = spec.warm_pool_size(service, region)
            board = board.with_panel(
                _series(
                    f"Warm pool (target {pool} stopped instances)" if pool else "Warm pool (none in this stack)",
                    _CLOUDWATCH,
                    [
                        _metric(
                            region.name,
                            "AWS/AutoScaling",
                            "WarmPoolWarmedCapacity",
                            {"AutoScalingGroupName": group},
                            "Maximum",
                            "A",
                            "warmed",
                        )
                    ],
                )
            )
        board = board.with_panel(
            _series(
                f"5xx ratio against the {service.slo.availability_percent:g}% objective",
                amp,
                [
                    _promql(f"courier:http_errors:ratio_rate5m{selector}", "5m", "A"),
                    _promql(f"courier:http_errors:ratio_rate1h{selector}", "1h", "B"),
                ],
                unit="percentunit",
                limit=budget,
                description="The line is the error budget (1 - objective); ErrorBudgetBurn pages at 14.4x it.",
            )
        )
        board = board.with_panel(
            _series(
                f"p99 latency against {service.slo.latency_p99_ms} ms",
                amp,
                [_promql(f"courier:http_request_duration_seconds:p99_5m{selector}", "p99", "A")],
                unit="s",
                limit=service.slo.latency_p99_ms / 1000,
            )
        )
        board = board.with_panel(
            _series(
                "Scale events (instances added or removed per 5 minutes)",
                amp,
                [_promql(f"delta(courier:fleet_instances:count{selector}[5m])", "change", "A")],
                bars=True,
                width=24,
            )
        )
    return _finish(board)


def _capacity(region: RegionSpec, service: ServiceSpec, group: str | None, selector: str) -> timeseries.Panel:
    if group is None:
        # A Kubernetes service: ready pods against the HPA's live maximum.
        amp = _prometheus(region)
        return _series(
            "Capacity: ready pods and the HPA maximum",
            amp,
            [
                _promql(f"courier:fleet_instances:count{selector}", "ready", "A"),
                _promql(f"courier:fleet_max_instances:count{selector}", "max", "B"),
            ],
        )
    dimensions = {"AutoScalingGroupName": group}
    return _series(
        "Capacity: desired, in service, max",
        _CLOUDWATCH,
        [
            _metric(region.name, "AWS/AutoScaling", metric, dimensions, "Maximum", ref, label)
            for ref, metric, label in (
                ("A", "GroupDesiredCapacity", "desired"),
                ("B", "GroupInServiceInstances", "in service"),
                ("C", "GroupMaxSize", "max"),
            )
        ],
    )
