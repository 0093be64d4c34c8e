"""Shared building blocks of the Grafana dashboards: data sources, queries, panels, the
dashboard scaffolding (UID, tags, time range, promotion annotations) and the finished model.

Prometheus panels query each AWS region's Managed Prometheus workspace (data source
``amp-<region code>``); CloudWatch panels use the one CloudWatch data source, each query
naming its region.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from grafana_foundation_sdk.builders import cloudwatch as cloudwatch_query
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import cloudwatch as cloudwatch_models
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as models

from components.spec import EnvironmentSpec, RegionSpec, ServiceSpec

#: The one CloudWatch data source (its default region is the primary; every query names its own).
CLOUDWATCH_UID = "cloudwatch"
#: Grafana's own annotation store (promotion windows are annotations with this tag).
PROMOTION_TAG = "promotion"

_MIXED = models.DataSourceRef(type_val="datasource", uid="-- Mixed --")
_GRAFANA = models.DataSourceRef(type_val="grafana", uid="-- Grafana --")
_CLOUDWATCH = models.DataSourceRef(type_val="cloudwatch", uid=CLOUDWATCH_UID)
_WIDTH = 8
_HEIGHT = 8


#: The data source type of a Managed Prometheus workspace: the dedicated plugin, which Amazon
#: Managed Grafana offers from version 12. SigV4 in the core Prometheus data source is deprecated
#: (Grafana's "Migrate from Prometheus SigV4 to Amazon Managed Service for Prometheus"; Grafana 13
#: migrates such sources on startup).
AMP_DATASOURCE_TYPE = "grafana-amazonprometheus-datasource"
#: The data source types whose targets are PromQL.
PROMQL_DATASOURCE_TYPES = frozenset({"prometheus", AMP_DATASOURCE_TYPE})


def prometheus_uid(region: RegionSpec) -> str:
    """The UID of the Grafana data source of ``region``'s Managed Prometheus workspace."""
    return f"amp-{region.code}"


def _prometheus(region: RegionSpec) -> models.DataSourceRef:
    return models.DataSourceRef(type_val=AMP_DATASOURCE_TYPE, uid=prometheus_uid(region))


def dashboard_uid(stack: str, slug: str) -> str:
    return f"courier-{stack}-{slug}"


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
