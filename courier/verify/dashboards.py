"""Dashboards checked offline: Grafana panels' PromQL and CloudWatch dashboard bodies.

- ``grafana-panel-queries``: every Prometheus target of every Grafana dashboard the plan
  deploys parses (promql-parser, Prometheus's grammar) and names only series that exist:
  the metrics of docs/metrics.md (a histogram's ``_bucket``/``_sum``/``_count`` included),
  the series the stack's recording rules record (the ``data`` of the plan's AMP rule group
  namespaces) and ``ALERTS``, which every Prometheus-compatible ruler writes for its alerts;
- ``cloudwatch-dashboard-body``: every CloudWatch dashboard body against "Dashboard Body
  Structure and Syntax" (CloudWatch API Reference).

The same checks verify the rendered artifacts (courier/verify/dashboard_tool.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from components.monitoring.dashboards import prometheus_queries
from courier.verify.findings import Context, Issue, Rule

ROOT = Path(__file__).resolve().parents[2]
METRICS_DOC = ROOT / "docs" / "metrics.md"
RULES_TYPE = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
GRAFANA_TYPE = "grafana:oss/dashboard:Dashboard"
CLOUDWATCH_TYPE = "aws:cloudwatch/dashboard:Dashboard"

#: Series the ruler itself writes (Prometheus "Alerting rules: inspecting alerts").
RULER_SERIES = frozenset({"ALERTS", "ALERTS_FOR_STATE"})
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

PROMQL_SOURCE = "docs/metrics.md, the stack's recording rules, Prometheus query grammar (promql-parser)"
BODY_SOURCE = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html"
)

#: CloudWatch's documented limits on a dashboard body.
MAX_WIDGETS = 500
WIDGET_TYPES = frozenset({"metric", "text", "log", "alarm", "explorer"})
METRIC_VIEWS = frozenset({"timeSeries", "singleValue", "gauge", "bar", "pie", "table"})


def documented_metrics(text: str | None = None) -> frozenset[str]:
    """The metric names of docs/metrics.md's table (its first column), with a histogram's series."""
    text = METRICS_DOC.read_text(encoding="utf-8") if text is None else text
    names: set[str] = set()
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        for name in re.findall(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`", cells[0]):
            names.add(name)
            if "histogram" in cells[1]:
                names.update(name + suffix for suffix in _HISTOGRAM_SUFFIXES)
    return frozenset(names)


def recorded_series(rule_files: Iterable[str]) -> frozenset[str]:
    """Every ``record:`` name of the given Prometheus rule files (YAML text)."""
    names: set[str] = set()
    for text in rule_files:
        for group in (yaml.safe_load(text) or {}).get("groups", []):
            names.update(rule["record"] for rule in group.get("rules", []) if "record" in rule)
    return frozenset(names)


def query_problems(expr: str, known: frozenset[str]) -> list[str]:
    """Why ``expr`` cannot be a panel's query: it does not parse, or it reads a series that
    nothing exports or records."""
    try:
        parsed = promql_parser.parse(expr)
    except ValueError as error:
        return [f"does not parse: {error}"]
    unknown: list[str] = []

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            names = [node.name] if node.name else []
            names += [m.value for m in node.matchers.matchers if m.name == "__name__"]
            unknown.extend(n for n in names if n not in known and n not in unknown)
        return True

    promql_parser.walk(parsed, visit)
    return [f"reads {name}, which neither docs/metrics.md nor a recording rule defines" for name in unknown]


def panel_problems(model: Mapping[str, Any], known: frozenset[str]) -> list[str]:
    """Every problem of a dashboard model's Prometheus targets, one line each."""
    problems = []
    for title, expr in prometheus_queries(model):
        problems += [f"panel {title!r}: {expr!r} {problem}" for problem in query_problems(expr, known)]
    uid = str(model.get("uid", ""))
    if not uid or len(uid) > 40:
        problems.append(f"uid {uid!r}: Grafana needs a UID of 1 to 40 characters")
    return problems


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def body_problems(body: Any) -> list[str]:
    """A CloudWatch dashboard body against the documented structure, one line per problem."""
    if not isinstance(body, dict) or not isinstance(body.get("widgets"), list):
        return ["the body must be a JSON object with a widgets array"]
    widgets = body["widgets"]
    problems = [f"{len(widgets)} widgets: at most {MAX_WIDGETS}"] if len(widgets) > MAX_WIDGETS else []
    for index, widget in enumerate(widgets):
        where = f"widgets[{index}]"
        if not isinstance(widget, dict):
            problems.append(f"{where}: not an object")
            continue
        kind = widget.get("type")
        if kind not in WIDGET_TYPES:
            problems.append(f"{where}.type: {kind!r} is not one of {', '.join(sorted(WIDGET_TYPES))}")
        for key, low, high in (("x", 0, 23), ("y", 0, None), ("width", 1, 24), ("height", 1, 1000)):
            value = widget.get(key)
            if value is None:
                continue
            if not _integer(value) or value < low or (high is not None and value > high):
                problems.append(f"{where}.{key}: {value!r} is outside {low}-{high if high is not None else '∞'}")
        if _integer(widget.get("x")) and _integer(widget.get("width")) and widget["x"] + widget["width"] > 24:
            problems.append(f"{where}: x + width = {widget['x'] + widget['width']} exceeds the 24-column grid")
        properties = widget.get("properties")
        if not isinstance(properties, dict):
            problems.append(f"{where}.properties: required (an object)")
            continue
        if kind == "text" and not isinstance(properties.get("markdown"), str):
            problems.append(f"{where}.properties.markdown: a text widget needs its markdown")
        if kind == "metric":
            problems += _metric_problems(where, properties)
    return problems


def _metric_problems(where: str, properties: Mapping[str, Any]) -> Iterator[str]:
    if not isinstance(properties.get("region"), str):
        yield f"{where}.properties.region: a metric widget names its region"
    view = properties.get("view", "timeSeries")
    if view not in METRIC_VIEWS:
        yield f"{where}.properties.view: {view!r} is not one of {', '.join(sorted(METRIC_VIEWS))}"
    period = properties.get("period")
    if period is not None and (not _integer(period) or not (period in (1, 5, 10, 30) or period % 60 == 0)):
        yield f"{where}.properties.period: {period!r} must be 1, 5, 10, 30 or a multiple of 60"
    metrics = properties.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        yield f"{where}.properties.metrics: a metric widget needs at least one metric"
        return
    for number, metric in enumerate(metrics):
        at = f"{where}.properties.metrics[{number}]"
        if not isinstance(metric, list) or not metric:
            yield f"{at}: each metric is an array"
            continue
        options = metric[-1] if isinstance(metric[-1], dict) else None
        fields = metric[:-1] if options is not None else metric
        if not fields:
            if options is None or not isinstance(options.get("expression"), str):
                yield f"{at}: an options-only metric must hold an expression"
            continue
        if not all(isinstance(f, str) for f in fields):
            yield f"{at}: namespace, metric name and dimensions are strings"
        elif len(fields) < 2 or len(fields) % 2 != 0:
            yield f"{at}: [Namespace, MetricName, DimensionName, DimensionValue, ...] (got {len(fields)} strings)"


def _grafana(context: Context) -> Iterator[Issue]:
    known = documented_metrics() | RULER_SERIES
    known |= recorded_series(str(r.inputs.get("data", "")) for r in context.of_type(RULES_TYPE))
    for resource in context.of_type(GRAFANA_TYPE):
        try:
            model = json.loads(str(resource.inputs.get("configJson", "")))
        except json.JSONDecodeError as error:
            yield Issue(resource.urn, "configJson", f"not JSON: {error}")
            continue
        for problem in panel_problems(model, known):
            yield Issue(resource.urn, "configJson", problem)


def _cloudwatch(context: Context) -> Iterator[Issue]:
    for resource in context.of_type(CLOUDWATCH_TYPE):
        try:
            body = json.loads(str(resource.inputs.get("dashboardBody", "")))
        except json.JSONDecodeError as error:
            yield Issue(resource.urn, "dashboardBody", f"not JSON: {error}")
            continue
        for problem in body_problems(body):
            yield Issue(resource.urn, "dashboardBody", problem)


RULES: tuple[Rule, ...] = (
    Rule("grafana-panel-queries", PROMQL_SOURCE, _grafana),
    Rule("cloudwatch-dashboard-body", BODY_SOURCE, _cloudwatch),
)
