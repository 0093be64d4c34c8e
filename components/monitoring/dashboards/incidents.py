"""The incidents dashboard: firing alerts per AWS region by severity, by service and by the
on-call role they page (the routing tree of components/monitoring/routing.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import dashboard as builders

from components.monitoring import routing
from components.monitoring.dashboards.panels import (
    _active_regions,
    _dashboard,
    _finish,
    _prometheus,
    _promotions,
    _promql,
    _series,
    _stat,
)
from components.spec import DEADMANS_SWITCH, EnvironmentSpec, RegionSpec


def role_selectors() -> dict[str, str]:
    """On-call role -> PromQL of the firing alerts routed to it, from the routing tree itself:
    a route sees what no earlier sibling without ``continue`` has taken; a role on several
    routes gets their union. The dead man's switch (the Watchdog heartbeat) is no role."""
    taken: list[str] = []
    selectors: dict[str, list[str]] = {}
    for route in routing.routes():
        matchers = ", ".join(['alertstate="firing"', *route["matchers"]])
        expr = f"ALERTS{{{matchers}}}" + "".join(f" unless ALERTS{{{earlier}}}" for earlier in taken)
        if route["receiver"] != DEADMANS_SWITCH:
            selectors.setdefault(route["receiver"], []).append(expr)
        if not route.get("continue"):
            taken.append(matchers)
    return {role: " or ".join(f"({e})" for e in exprs) for role, exprs in selectors.items()}


def incidents_dashboard(spec: EnvironmentSpec, regions: Sequence[RegionSpec] | None = None) -> dict[str, Any]:
    """Per AWS region: firing alerts by severity, and by the on-call role they page (the
    routing tree of components/monitoring/routing.py, as AMP's alertmanager applies it)."""
    board = _dashboard(spec, "incidents", "incidents", "incidents").annotation(_promotions(spec))
    for region in _active_regions(spec, shown=regions):
        amp = _prometheus(region)
        board = board.with_row(builders.Row(region.name))
        board = board.with_panel(
            _series(
                "Firing alerts by severity",
                amp,
                [
                    _promql(
                        'count by (severity) (ALERTS{alertstate="firing", alertname!="Watchdog"})', "{{severity}}", "A"
                    )
                ],
                bars=True,
                width=12,
            )
        )
        board = board.with_panel(
            _series(
                "Firing alerts by service",
                amp,
                [
                    _promql(
                        'count by (service, alertname) (ALERTS{alertstate="firing", alertname!="Watchdog"})',
                        "{{service}} {{alertname}}",
                        "A",
                    )
                ],
                bars=True,
                width=12,
            )
        )
        # Watchdog always fires: 0 here means the ruler writes no ALERTS series (or the
        # pipeline is down) and every other panel of this row is blind (docs/decisions.md).
        board = board.with_panel(
            _stat(
                "Ruler writes ALERTS (Watchdog)",
                amp,
                [_promql('count(ALERTS{alertname="Watchdog", alertstate="firing"})', "watchdog", "A")],
                width=4,
            )
        )
        for role, expr in role_selectors().items():
            board = board.with_panel(
                _stat(f"Paging {role}", amp, [_promql(f"count by (severity) ({expr})", "{{severity}}", "A")], width=4)
            )
    return _finish(board)
