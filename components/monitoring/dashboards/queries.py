"""Reading a finished dashboard model back: its Prometheus targets, for the offline checks
(courier/verify/dashboards.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.monitoring.dashboards.panels import PROMQL_DATASOURCE_TYPES


def prometheus_queries(model: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every Prometheus target of a dashboard model (also inside rows)."""
    found: list[tuple[str, str]] = []
    panels = list(model.get("panels", []))
    while panels:
        panel = panels.pop(0)
        panels.extend(panel.get("panels", []))
        default = (panel.get("datasource") or {}).get("type")
        for target in panel.get("targets", []):
            kind = (target.get("datasource") or {}).get("type", default)
            if kind in PROMQL_DATASOURCE_TYPES or (kind is None and "expr" in target):
                found.append((str(panel.get("title", "")), str(target.get("expr", ""))))
    return found
