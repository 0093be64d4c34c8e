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
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import cloudwatch as cloudwatch_query
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.builders import prometheus, stat, text, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import cloudwatch as cloudwatch_models
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as models

from components.aws.data import naming
from components.monitoring import routing
from components.spec import DEADMANS_SWITCH, EnvironmentSpec, RegionSpec, ServiceSpec

#: The one CloudWatch data source (its default region is the primary; every query names its own).
CLOUDWATCH_UID = "cloudwatch"
#: Grafana's own annotation store (promotion windows are annotations with this tag).
PROMOTION_TAG = "promotion"
#: Route 53 publishes health-check metrics in us-east-1 only.
ROUTE53_METRICS_REGION = "us-east-1"
#: Where each drill publishes its outcome (components/aws/drills*, courier/drill): per
#: ``Stack`` and ``Drill``, ``DrillPassed`` (1 the hypothesis held, 0 it did not) and
#: ``RecoverySeconds`` (injection to the service back within its objectives). A contract with
#: the drills; FIS itself publishes no per-experiment outcome metric.
DRILL_NAMESPACE = "Courier/Drills"
DRILL_METRICS = ("DrillPassed", "RecoverySeconds")

_MIXED = models.DataSourceRef(type_val="datasource", uid="-- Mixed --")
_GRAFANA = models.DataSourceRef(type_val="grafana", uid="-- Grafana --")
_CLOUDWATCH = models.DataSourceRef(type_val="cloudwatch", uid=CLOUDWATCH_UID)
_WIDTH = 8
_HEIGHT = 8


def prometheus_uid(region: RegionSpec) -> str:
    """The UID of the Grafana data source of ``region``'s Managed Prometheus workspace."""
    return f"amp-{region.code}"


def _prometheus(region: RegionSpec) -> models.DataSourceRef:
    return models.DataSourceRef(type_val="prometheus", uid=prometheus_uid(region))


def dashboard_uid(stack: str, slug: str) -> str:
    return f"courier-{stack}-{slug}"


@dataclass(frozen=True)
class Fleet:
    """An Auto Scaling group on the dashboards: its name is known once it exists."""

    region: str
    service: str
    group_name: str


# --------------------------------------------------------------------------------------
# Queries and panels.
# --------------------------------------------------------------------------------------


def _promql(expr: str, legend: str, ref: str, source: models.DataSourceRef | None = None) -> prometheus.Dataquery:
    query = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref)
    return query.datasource(source) if source is not None else query


def _metric(
    region: str, namespace: str, metric: str, dimensions: Mapping[str, str], statistic: str, ref: str, label: str
) -> cloudwatch_query.CloudWatchMetricsQuery:
    return (
        cloudwatch_query.CloudWatchMetricsQuery()
        .query_mode(cloudwatch_models.CloudWatchQueryMode.METRICS)
        .metric_query_type(cloudwatch_models.MetricQueryType.SEARCH)
        .metric_editor_mode(cloudwatch_models.MetricEditorMode.BUILDER)
        .region(region)
        .namespace(namespace)
        .metric_name(metric)
        .dimensions(dict(dimensions))
        .match_exact(True)
        .statistic(statistic)
        .period("60")
        .label(label)
        .id(ref.lower())
        .ref_id(ref)
        .datasource(_CLOUDWATCH)
    )


def _search(region: str, expression: str, ref: str, label: str) -> cloudwatch_query.CloudWatchMetricsQuery:
    """A CloudWatch metric-math SEARCH: for series whose dimension values the stack does not
    know at plan time (one per receiving region, node or health check)."""
    return (
        cloudwatch_query.CloudWatchMetricsQuery()
        .query_mode(cloudwatch_models.CloudWatchQueryMode.METRICS)
        .metric_query_type(cloudwatch_models.MetricQueryType.SEARCH)
        .metric_editor_mode(cloudwatch_models.MetricEditorMode.CODE)
        .region(region)
        .expression(expression)
        .label(label)
        .id(ref.lower())
        .ref_id(ref)
        .datasource(_CLOUDWATCH)
    )


def _thresholds(limit: float) -> builders.ThresholdsConfig:
    return (
        builders.ThresholdsConfig()
        .mode(models.ThresholdsMode.ABSOLUTE)
        .steps([models.Threshold(value=None, color="green"), models.Threshold(value=limit, color="red")])
    )


def _series(
    title: str,
    source: models.DataSourceRef,
    targets: Sequence[cogbuilder.Builder[Any]],
    *,
    unit: str = "short",
    limit: float | None = None,
    description: str = "",
    bars: bool = False,
    width: int = _WIDTH,
) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).description(description).datasource(source).unit(unit)
    panel = panel.height(_HEIGHT).span(width)
    for target in targets:
        panel = panel.with_target(target)
    if limit is not None:
        # The objective as a line across the graph: the eye compares, no alert needed.
        panel = panel.thresholds(_thresholds(limit)).thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)
        )
    if bars:
        panel = panel.draw_style(common.GraphDrawStyle.BARS).fill_opacity(60)
    return panel


def _stat(
    title: str, source: models.DataSourceRef, targets: Sequence[cogbuilder.Builder[Any]], *, width: int = 4
) -> stat.Panel:
    panel = stat.Panel().title(title).datasource(source).height(_HEIGHT // 2).span(width)
    for target in targets:
        panel = panel.with_target(target)
    return panel.thresholds(_thresholds(1)).no_value("0")


def _finish(dashboard: builders.Dashboard) -> dict[str, Any]:
    """The dashboard model as JSON data, panels numbered (Grafana keys panels by their id)."""
    model: dict[str, Any] = json.loads(json.dumps(dashboard.build(), cls=JSONEncoder))
    for number, panel in enumerate(model.get("panels", []), start=1):
        panel["id"] = number
    return model


def _dashboard(spec: EnvironmentSpec, slug: str, title: str, *tags: str) -> builders.Dashboard:
    return (
        builders.Dashboard(f"courier {spec.stack}: {title}")
        .uid(dashboard_uid(spec.stack, slug))
        .tags(["courier", spec.stack, *tags])
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("utc")
        .editable()
    )


def _promotions(spec: EnvironmentSpec) -> builders.AnnotationQuery:
    """Promotion windows, from the annotations the Grafana component writes per promotion."""
    return (
        builders.AnnotationQuery()
        .name("Promotions")
        .datasource(_GRAFANA)
        .enable(True)
        .icon_color("orange")
        .target(builders.AnnotationTarget().type("tags").tags([PROMOTION_TAG, spec.stack]).limit(100))
    )


def _active_regions(
    spec: EnvironmentSpec, service: ServiceSpec | None = None, shown: Sequence[RegionSpec] | None = None
) -> list[RegionSpec]:
    """The AWS regions a dashboard shows (``shown``, default the active ones), those that run
    ``service`` when given."""
    regions = spec.active_regions_of("aws") if shown is None else shown
    return [r for r in regions if service is None or service.runs_in(r)]


# --------------------------------------------------------------------------------------
# Dashboards.
# --------------------------------------------------------------------------------------


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


def recovery_dashboard(spec: EnvironmentSpec, regions: Sequence[RegionSpec] | None = None) -> dict[str, Any]:
    """Disaster recovery: replication lag (the RPO) of every store, region health (traffic and
    errors in each region's workspace) and the Route 53 health checks that steer users."""
    board = _dashboard(spec, "recovery", "disaster recovery", "dr")
    regions = _active_regions(spec, shown=regions)
    # The lag that raises the RPO warning (components/aws/data alarms), drawn on the graphs.
    rpo_ms = spec.data.rpo_alarm_seconds * 1000
    board = board.with_row(builders.Row("Replication lag (RPO) per store"))
    board = board.with_panel(
        _series(
            "Aurora global database: RPO lag",
            _CLOUDWATCH,
            [
                _metric(
                    r.name,
                    "AWS/RDS",
                    "AuroraGlobalDBRPOLag",
                    {"DBClusterIdentifier": naming.cluster(spec.stack, r.code)},
                    "Maximum",
                    f"R{i}",
                    r.name,
                )
                for i, r in enumerate(regions)
            ],
            unit="ms",
            limit=rpo_ms,
        )
    )
    board = board.with_panel(
        _series(
            "DynamoDB global table: replication latency",
            _CLOUDWATCH,
            [
                _search(
                    r.name,
                    'SEARCH(\'{AWS/DynamoDB,ReceivingRegion,TableName} MetricName="ReplicationLatency" '
                    f"TableName=\"{naming.table(spec.stack)}\"', 'Average', 60)",
                    f"R{i}",
                    f"{r.name} to ${{PROP('Dim.ReceivingRegion')}}",
                )
                for i, r in enumerate(regions)
            ],
            unit="ms",
            limit=rpo_ms,
        )
    )
    board = board.with_panel(
        _series(
            "ElastiCache global datastore: replication lag",
            _CLOUDWATCH,
            [
                _search(
                    r.name,
                    'SEARCH(\'{AWS/ElastiCache,CacheClusterId} MetricName="GlobalDatastoreReplicationLag" '
                    f"\"{naming.cache_group(spec.stack, r.code)}\"', 'Maximum', 60)",
                    f"R{i}",
                    "${PROP('Dim.CacheClusterId')}",
                )
                for i, r in enumerate(regions)
            ],
            unit="s",
        )
    )
    board = board.with_panel(
        _series(
            "S3 media replication: latency (RTC: 15 minutes)",
            _CLOUDWATCH,
            [
                _search(
                    r.name,
                    'SEARCH(\'{AWS/S3,DestinationBucket,RuleId,SourceBucket} MetricName="ReplicationLatency" '
                    f"\"courier-{spec.stack}\"', 'Maximum', 300)",
                    f"R{i}",
                    "${PROP('Dim.SourceBucket')} to ${PROP('Dim.DestinationBucket')}",
                )
                for i, r in enumerate(regions)
            ],
            unit="s",
            limit=15 * 60,
        )
    )
    board = board.with_row(builders.Row("Region health"))
    board = board.with_panel(
        _series(
            "Requests per region",
            _MIXED,
            [
                _promql("sum by (region) (courier:http_requests:rate5m)", "{{region}}", f"R{i}", _prometheus(r))
                for i, r in enumerate(regions)
            ],
            unit="reqps",
        )
    )
    board = board.with_panel(
        _series(
            "5xx ratio per region",
            _MIXED,
            [
                _promql("max by (region) (courier:http_errors:ratio_rate5m)", "{{region}}", f"R{i}", _prometheus(r))
                for i, r in enumerate(regions)
            ],
            unit="percentunit",
        )
    )
    board = board.with_panel(
        _series(
            "Route 53 health checks (1 healthy, 0 failing)",
            _CLOUDWATCH,
            [
                _search(
                    ROUTE53_METRICS_REGION,
                    "SEARCH('{AWS/Route53,HealthCheckId} MetricName=\"HealthCheckStatus\"', 'Minimum', 60)",
                    "A",
                    "${PROP('Dim.HealthCheckId')}",
                )
            ],
        )
    )
    return _finish(board)


def drills_dashboard(spec: EnvironmentSpec, regions: Sequence[RegionSpec] | None = None) -> dict[str, Any]:
    """Each drill's result and its measured recovery time over time (``DRILL_NAMESPACE``)."""
    board = _dashboard(spec, "drills", "drills and recovery", "drills")
    board = board.time("now-90d", "now")
    board = board.with_panel(
        text.Panel()
        .title("Where these numbers come from")
        .height(3)
        .span(24)
        .content(
            f"Each drill publishes `{DRILL_NAMESPACE}` metrics per `Stack` and `Drill`: "
            "`DrillPassed` (1 when its hypothesis held) and `RecoverySeconds` (from the injection "
            "to the service back within its objectives). Empty until the drills run."
        )
    )
    for metric, title, unit in (
        ("DrillPassed", "Drill results (1 passed, 0 failed)", "short"),
        ("RecoverySeconds", "Measured recovery time per drill", "s"),
    ):
        board = board.with_panel(
            _series(
                title,
                _CLOUDWATCH,
                [
                    _search(
                        r.name,
                        f'SEARCH(\'{{{DRILL_NAMESPACE},Drill,Stack}} MetricName="{metric}" '
                        f"Stack=\"{spec.stack}\"', 'Maximum', 86400)",
                        f"R{i}",
                        f"{r.name} ${{PROP('Dim.Drill')}}",
                    )
                    for i, r in enumerate(_active_regions(spec, shown=regions))
                ],
                unit=unit,
                bars=metric == "DrillPassed",
                width=12,
            )
        )
    return _finish(board)


def dashboards(
    spec: EnvironmentSpec, fleets: Iterable[Fleet], regions: Sequence[RegionSpec] | None = None
) -> dict[str, dict[str, Any]]:
    """Every dashboard of the stack, keyed by UID: one per service, incidents, disaster
    recovery, drills; over ``regions`` (default: the active AWS regions)."""
    fleets = list(fleets)
    boards = [service_dashboard(spec, s, fleets, regions) for s in spec.services if _active_regions(spec, s, regions)]
    boards += [incidents_dashboard(spec, regions), recovery_dashboard(spec, regions), drills_dashboard(spec, regions)]
    return {board["uid"]: board for board in boards}


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
            if kind == "prometheus" or (kind is None and "expr" in target):
                found.append((str(panel.get("title", "")), str(target.get("expr", ""))))
    return found
