"""The dashboard builders (pure) and the checks that guard them, without the engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.monitoring import cloudwatch_dashboards, dashboards, rules
from components.monitoring.dashboards import Fleet, prometheus_queries
from courier.verify.dashboard_tool import main as check_file
from courier.verify.dashboards import (
    RULER_SERIES,
    body_problems,
    documented_metrics,
    panel_problems,
    query_problems,
    recorded_series,
)
from tests.conftest import shipped_spec


def _known(stack: str) -> frozenset[str]:
    spec = shipped_spec(stack)
    rule_files = [rules.rule_file(spec, r) for r in spec.regions_of("aws")]
    return documented_metrics() | RULER_SERIES | recorded_series(rule_files)


def _fleets(stack: str) -> list[Fleet]:
    spec = shipped_spec(stack)
    return [
        Fleet(r.name, s.name, f"{r.code}-{s.name}-asg-0123456")
        for r in spec.active_regions_of("aws")
        for s in spec.services_on("vm", r)
    ]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_panel_query_parses_and_reads_only_series_that_exist(stack: str) -> None:
    known = _known(stack)
    models = dashboards.dashboards(shipped_spec(stack), _fleets(stack))
    assert {uid: panel_problems(model, known) for uid, model in models.items()} == {uid: [] for uid in models}
    assert sum(len(prometheus_queries(m)) for m in models.values()) > 50


def test_the_stack_has_a_dashboard_per_service_and_for_incidents_recovery_and_drills() -> None:
    spec = shipped_spec("prod")
    models = dashboards.dashboards(spec, _fleets("prod"))
    assert set(models) == {f"courier-prod-service-{s.name}" for s in spec.services} | {
        "courier-prod-incidents",
        "courier-prod-recovery",
        "courier-prod-drills",
    }
    assert all(len(uid) <= 40 for uid in models)


def _panels(model: dict[str, Any], title_start: str) -> list[dict[str, Any]]:
    return [p for p in model["panels"] if str(p.get("title", "")).startswith(title_start)]


def test_a_service_dashboard_draws_its_cpu_target_and_slo_as_lines_per_region() -> None:
    spec = shipped_spec("prod")
    payments = next(s for s in spec.services if s.name == "payments")
    model = dashboards.service_dashboard(spec, payments, _fleets("prod"))
    regions = [r for r in spec.active_regions_of("aws") if payments.runs_in(r)]
    assert [p["title"] for p in model["panels"] if p["type"] == "row"] == [r.name for r in regions]

    def line(panel: dict[str, Any]) -> float:
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        return steps[-1]["value"]

    (cpu, *_) = _panels(model, "CPU against")
    assert line(cpu) == pytest.approx(payments.scaling.cpu_target / 100)
    (errors, *_) = _panels(model, "5xx ratio")
    assert line(errors) == pytest.approx(1 - payments.slo.availability_percent / 100)
    (latency, *_) = _panels(model, "p99 latency")
    assert line(latency) == pytest.approx(payments.slo.latency_p99_ms / 1000)
    # Each region's Prometheus panels read that region's workspace.
    sources = {
        p["datasource"]["uid"]
        for p in model["panels"]
        if p.get("datasource", {}).get("type") == "grafana-amazonprometheus-datasource"
    }
    assert sources == {dashboards.prometheus_uid(r) for r in regions}
    # Desired / in service / max of the region's own group, from CloudWatch.
    (capacity, *_) = _panels(model, "Capacity")
    assert {t["metricName"] for t in capacity["targets"]} == {
        "GroupDesiredCapacity",
        "GroupInServiceInstances",
        "GroupMaxSize",
    }
    assert model["annotations"]["list"][0]["target"]["tags"] == [dashboards.PROMOTION_TAG, "prod"]


def test_a_kubernetes_service_shows_ready_pods_against_the_hpa_maximum() -> None:
    spec = shipped_spec("prod")
    service = next(s for s in spec.services if s.platform == "kubernetes")
    model = dashboards.service_dashboard(spec, service, _fleets("prod"))
    (capacity, *_) = _panels(model, "Capacity")
    assert [t["expr"] for t in capacity["targets"]] == [
        f'courier:fleet_instances:count{{service="{service.name}"}}',
        f'courier:fleet_max_instances:count{{service="{service.name}"}}',
    ]
    assert not _panels(model, "Warm pool")


def test_role_panels_follow_the_routing_tree() -> None:
    selectors = dashboards.role_selectors()
    assert "deadmans-switch" not in selectors
    assert 'customer_impact="true"' in selectors["customer-service-lead"]
    assert 'category="capacity"' in selectors["ops-coordinator"]
    # A capacity warning goes to the ops coordinator, so the tech expert's warnings exclude it.
    assert 'unless ALERTS{alertstate="firing", severity="warning", category="capacity"}' in selectors["tech-expert"]
    known = documented_metrics() | RULER_SERIES
    assert {role: query_problems(expr, known) for role, expr in selectors.items()} == {r: [] for r in selectors}


def test_rejects_a_panel_query_that_does_not_parse() -> None:
    (problem,) = query_problems("sum(rate(http_requests_total[5m])", documented_metrics())
    assert problem.startswith("does not parse")


def test_rejects_a_panel_query_that_reads_an_undocumented_metric() -> None:
    problems = query_problems(
        'rate(http_requests_totl{service="orders"}[5m]) / courier:cpu:ratio', documented_metrics()
    )
    assert problems == [
        "reads http_requests_totl, which neither docs/metrics.md nor a recording rule defines",
        "reads courier:cpu:ratio, which neither docs/metrics.md nor a recording rule defines",
    ]


def test_documented_metrics_include_each_histograms_series() -> None:
    known = documented_metrics()
    assert {"http_requests_total", "up", "node_cpu_seconds_total"} <= known
    assert {"http_request_duration_seconds_bucket", "courier_dispatch_assignment_seconds_count"} <= known
    assert "courier:fleet_cpu_busy:ratio" not in known  # recorded, not exported


def _region_body() -> dict[str, Any]:
    return cloudwatch_dashboards.body(
        cloudwatch_dashboards.RegionMetrics(
            stack="prod",
            region="ap-northeast-1",
            code="apne1",
            load_balancer="app/apne1-alb-0123456/0123456789abcdef",
            groups={"orders": "apne1-orders-asg-0123456", "payments": "apne1-payments-asg-0123456"},
            bucket="apne1-media-0123456",
            peers=("ap-southeast-1",),
        )
    )


def test_a_region_dashboard_follows_the_documented_body_structure() -> None:
    body = _region_body()
    assert body_problems(body) == []
    metrics = [m for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]]
    names = {m[1] for m in metrics if isinstance(m[0], str)}
    assert {"RequestCount", "GroupDesiredCapacity", "WarmPoolWarmedCapacity", "AuroraGlobalDBRPOLag"} <= names
    assert {"ReplicationLatency", "CPUUtilization"} <= names
    # Nothing overlaps on the grid.
    cells = [
        (w["x"] + dx, w["y"] + dy) for w in body["widgets"] for dx in range(w["width"]) for dy in range(w["height"])
    ]
    assert len(cells) == len(set(cells))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda w: w.update(x=20, width=8), "exceeds the 24-column grid"),
        (lambda w: w.update(type="graph"), ".type: 'graph' is not one of"),
        (lambda w: w["properties"].pop("region"), "names its region"),
        (lambda w: w["properties"].update(metrics=[["AWS/EC2", "CPUUtilization", "AutoScalingGroupName"]]), "got 3"),
        (lambda w: w["properties"].update(period=90), "multiple of 60"),
    ],
)
def test_rejects_a_dashboard_body_cloudwatch_would_refuse(change: Any, expected: str) -> None:
    body = _region_body()
    widget = next(w for w in body["widgets"] if w["type"] == "metric")
    change(widget)
    problems = body_problems(body)
    assert problems and any(expected in p for p in problems), problems


def test_the_artifact_checker_fails_a_dashboard_with_an_unknown_series(tmp_path: Path, capsys) -> None:
    spec = shipped_spec("staging")
    (tmp_path / "prometheus").mkdir()
    (tmp_path / "prometheus" / "x.yaml").write_text(rules.rule_file(spec, spec.primary))
    (tmp_path / "grafana").mkdir()
    model = dashboards.incidents_dashboard(spec)
    good = tmp_path / "grafana" / "good.json"
    good.write_text(json.dumps(model))
    assert check_file(["grafana", str(good)]) == 0
    model["panels"][1]["targets"][0]["expr"] = "sum(courier_rider_count)"
    bad = tmp_path / "grafana" / "bad.json"
    bad.write_text(json.dumps(model))
    assert check_file(["grafana", str(bad)]) == 1
    assert "reads courier_rider_count" in capsys.readouterr().out


def test_promql_targets_are_found_under_either_prometheus_type_and_nowhere_else() -> None:
    def panel(kind: str, expr: str) -> dict:
        return {"title": kind, "datasource": {"type": kind, "uid": "x"}, "targets": [{"expr": expr}]}

    model = {
        "panels": [
            panel("grafana-amazonprometheus-datasource", "up"),
            {"type": "row", "panels": [panel("prometheus", "courier:fleet_instances:count")]},
            panel("cloudwatch", "SEARCH('{AWS/EC2}', 'Average', 60)"),
        ]
    }
    assert prometheus_queries(model) == [
        ("grafana-amazonprometheus-datasource", "up"),
        ("prometheus", "courier:fleet_instances:count"),
    ]
