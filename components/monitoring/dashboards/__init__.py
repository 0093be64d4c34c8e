"""Grafana dashboards of one stack, built with grafana-foundation-sdk. Pure: no resources.

Every panel reads what the stack already records or AWS already publishes, never a second
definition of a metric:

- Prometheus panels query each AWS region's Managed Prometheus workspace (data source
  ``amp-<region code>``) for the series of docs/metrics.md and the recording rules of
  components/monitoring/rules.py, and ``ALERTS`` (the series every Prometheus-compatible
  ruler, AMP's included, writes for its pending and firing alerts);
- CloudWatch panels (data source ``cloudwatch``, each query naming its region) read the Auto
  Scaling group metrics the fleets enable, the data stores' replication lag, Route 53's health
  checks in us-east-1 and the drills' results (``DRILL_NAMESPACE``, published by the drills).

``dashboards`` returns each dashboard's model (classic dashboard JSON, schemaVersion of the
pinned SDK) keyed by its UID; the Grafana component deploys them unchanged and the offline
plan renders and checks them (courier/verify/dashboards.py).

One module per concern: ``panels`` (data sources, queries, panels and the dashboard
scaffolding every dashboard shares), ``service``, ``incidents``, ``recovery`` (disaster
recovery) and ``drills`` (one dashboard each), ``queries`` (reading a model back).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from components.monitoring.dashboards.drills import DRILL_METRICS, DRILL_NAMESPACE, drills_dashboard
from components.monitoring.dashboards.incidents import incidents_dashboard, role_selectors
from components.monitoring.dashboards.panels import (
    AMP_DATASOURCE_TYPE,
    CLOUDWATCH_UID,
    PROMOTION_TAG,
    _active_regions,
    dashboard_uid,
    prometheus_uid,
)
from components.monitoring.dashboards.queries import prometheus_queries
from components.monitoring.dashboards.recovery import ROUTE53_METRICS_REGION, recovery_dashboard
from components.monitoring.dashboards.service import Fleet, service_dashboard
from components.spec import EnvironmentSpec, RegionSpec

__all__ = [
    "AMP_DATASOURCE_TYPE",
    "CLOUDWATCH_UID",
    "DRILL_METRICS",
    "DRILL_NAMESPACE",
    "PROMOTION_TAG",
    "ROUTE53_METRICS_REGION",
    "Fleet",
    "dashboard_uid",
    "dashboards",
    "drills_dashboard",
    "incidents_dashboard",
    "prometheus_queries",
    "prometheus_uid",
    "recovery_dashboard",
    "role_selectors",
    "service_dashboard",
]


def dashboards(
    spec: EnvironmentSpec, fleets: Iterable[Fleet], regions: Sequence[RegionSpec] | None = None
) -> dict[str, dict[str, Any]]:
    """Every dashboard of the stack, keyed by UID: one per service, incidents, disaster
    recovery, drills; over ``regions`` (default: the active AWS regions)."""
    fleets = list(fleets)
    boards = [service_dashboard(spec, s, fleets, regions) for s in spec.services if _active_regions(spec, s, regions)]
    boards += [incidents_dashboard(spec, regions), recovery_dashboard(spec, regions), drills_dashboard(spec, regions)]
    return {board["uid"]: board for board in boards}
