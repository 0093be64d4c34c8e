"""The pure generators: rules follow the spec, routing follows the matrix, the agent config is valid."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.monitoring import agent, oncall, routing, rules
from components.spec import RECEIVERS
from tests.builders import mutated, service, spec_of, valid_config
from tests.conftest import ROOT
from tests.tools import require_tool


def alerts_of(config: dict[str, Any], region_index: int = 0) -> list[dict[str, Any]]:
    spec = spec_of(config)
    groups = rules.rule_groups(spec, spec.regions[region_index])
    return [r for g in groups for r in g["rules"] if "alert" in r]


def test_every_alert_carries_the_required_labels_and_annotations() -> None:
    for alert in alerts_of(valid_config()):
        labels, annotations = alert["labels"], alert["annotations"]
        assert labels["severity"] in ("critical", "warning", "info"), alert["alert"]
        if alert["alert"] != "TargetDown":  # takes service and region from the series
            assert labels["service"] and labels["region"] == "ap-southeast-1", alert["alert"]
        assert set(annotations) == {"summary", "description", "runbook_url"}
        assert annotations["runbook_url"] == (
            f"https://runbooks.courier.example.com/courier-platform/{alert['alert']}.md"
        )
        if "customer_impact" in labels:
            assert labels["customer_impact"] == "true"


def test_cpu_alert_threshold_follows_each_services_target() -> None:
    alerts = [a for a in alerts_of(valid_config()) if a["alert"] == "FleetCpuAboveTarget"]
    by_service = {a["labels"]["service"]: a["expr"] for a in alerts}
    assert by_service["orders"].endswith("> 0.8")
    assert by_service["payments"].endswith("> 0.7")  # payments is configured at 70
    assert all(a["for"] == "10m" and a["labels"]["category"] == "capacity" for a in alerts)


def test_capacity_alert_compares_with_the_regions_max_in_force() -> None:
    spec = spec_of(valid_config())
    for region in spec.regions:
        groups = rules.rule_groups(spec, region)
        records = {
            r["labels"]["service"]: r
            for g in groups
            for r in g["rules"]
            if r.get("record") == rules.MAX_INSTANCES and "labels" in r
        }
        for fleet in spec.services:
            record = records[fleet.name]
            # The regional maximum (the standby's is its share), raised in promotion windows.
            assert record["expr"] == f"vector({rules.scheduled_max(spec, fleet, region)})"
            assert record["expr"].startswith(f"vector({spec.capacity(fleet, region).max}")
            assert record["labels"] == {"service": fleet.name, "region": region.name}
        alert = next(
            r
            for g in groups
            for r in g["rules"]
            if r.get("alert") == "FleetAtMaxCapacity" and r["labels"]["service"] == "orders"
        )
        # No number in the alert: it compares with the recorded maximum of its own fleet.
        assert f">= on (service, region) group_left\n{rules.MAX_INSTANCES}{{" in alert["expr"]
        assert not re.search(r">= \d", alert["expr"])


def test_scheduled_max_follows_each_promotions_window() -> None:
    config = valid_config()
    config["promotions"][0]["expectedPeakMultiplier"] = 12  # enough to need more than the max of 20
    spec = spec_of(config)
    region, orders = spec.regions[0], spec.services[0]
    (promotion,) = spec.promotion_schedules(orders, region)
    assert promotion.raise_at is not None and promotion.capacity.max > 20
    assert rules.scheduled_max(spec, orders, region) == (
        f"20 + {promotion.capacity.max - 20} * (time() >= bool {int(promotion.raise_at.timestamp())})"
        f" * (time() < bool {int(promotion.restore_at.timestamp())})"
    )


def test_kubernetes_max_is_the_hpas_live_maximum() -> None:
    from tests.builders import eks_config

    spec = spec_of(eks_config())
    (recording,) = [g for g in rules.rule_groups(spec, spec.regions[0]) if g["name"].startswith("courier-recording")]
    (ceiling,) = [r for r in recording["rules"] if r.get("record") == rules.MAX_INSTANCES]
    assert 'kube_horizontalpodautoscaler_spec_max_replicas{namespace=~"notifications"}' in ceiling["expr"]
    assert '"service", "$1", "namespace"' in ceiling["expr"]


def test_burn_rate_alerts_use_the_services_objective_in_four_windows() -> None:
    def objective(config: dict[str, Any]) -> None:
        config["services"][0]["slo"] = {"availabilityPercent": 99.9}

    alerts = [
        a
        for a in alerts_of(mutated(objective))
        if a["alert"] == "ErrorBudgetBurn" and a["labels"]["service"] == "orders"
    ]
    windows = {(a["labels"]["long_window"], a["labels"]["short_window"]): a for a in alerts}
    assert set(windows) == {("1h", "5m"), ("6h", "30m"), ("1d", "2h"), ("3d", "6h")}
    assert "ratio_rate1h{" in windows[("1h", "5m")]["expr"] and "> 0.0144" in windows[("1h", "5m")]["expr"]
    assert "> 0.006" in windows[("6h", "30m")]["expr"]
    assert windows[("1h", "5m")]["labels"]["severity"] == "critical"
    assert windows[("3d", "6h")]["labels"]["severity"] == "warning"
    for alert in alerts:
        assert f"courier:http_requests:rate{alert['labels']['short_window']}" in alert["expr"]  # traffic guard


def test_business_alerts_exist_only_for_the_services_that_emit_them() -> None:
    names = {a["alert"] for a in alerts_of(valid_config())}  # orders and payments only
    assert {"OrderCreationFailureRatioHigh", "PaymentFailureRatioHigh"} <= names
    assert not {"DispatchAssignmentSlow", "RiderLocationLagHigh"} & names

    def all_four(config: dict[str, Any]) -> None:
        config["services"] += [service("dispatch", 8081), service("tracking", 8082)]

    names = {a["alert"] for a in alerts_of(mutated(all_four))}
    assert {"DispatchAssignmentSlow", "RiderLocationLagHigh"} <= names


def test_business_thresholds_come_from_config() -> None:
    def stricter(config: dict[str, Any]) -> None:
        config["alerting"]["thresholds"] = {"paymentFailurePercent": 1.5}

    alert = next(a for a in alerts_of(mutated(stricter)) if a["alert"] == "PaymentFailureRatioHigh")
    assert "> 0.015" in alert["expr"]


def test_all_alert_names_are_known_and_have_a_runbook() -> None:
    config = mutated(lambda c: c["services"].extend([service("dispatch", 8081), service("tracking", 8082)]))
    names = {a["alert"] for a in alerts_of(config)}
    assert names == set(rules.ALERT_NAMES)
    for name in (*rules.ALERT_NAMES, "NoHealthyTargets", "UnhealthyTargets", "LoadBalancer5xxRatio"):
        page = ROOT / "docs" / "runbooks" / f"{name}.md"
        assert page.exists(), f"missing runbook {page}"
        text = page.read_text()
        for section in ("## What it means", "## First checks", "## Mitigation", "## Who is paged"):
            assert section in text, f"{page} lacks {section!r}"


def test_routing_tree_follows_the_oncall_matrix() -> None:
    receivers = [r["receiver"] for r in routing.routes()]
    assert receivers[0] == "deadmans-switch"
    critical = [r for r in routing.routes() if 'severity="critical"' in r["matchers"]]
    assert [r["receiver"] for r in critical] == [
        oncall.INCIDENT_COMMANDER,
        oncall.TECH_EXPERT,
        oncall.CUSTOMER_SERVICE_LEAD,
    ]
    assert [r.get("continue", False) for r in critical] == [True, True, False]


def test_routing_refuses_a_missing_topic() -> None:
    arns = {r: f"arn:aws:sns:ap-southeast-1:123456789012:{r}" for r in RECEIVERS if r != "data-analyst"}
    with pytest.raises(ValueError, match="no SNS topic for receivers: data-analyst"):
        routing.alertmanager_config("ap-southeast-1", arns)


def test_amp_definition_wraps_and_unwraps_the_config() -> None:
    arns = {r: f"arn:aws:sns:ap-southeast-1:123456789012:{r}" for r in RECEIVERS}
    text = routing.alertmanager_yaml("ap-southeast-1", arns)
    wrapped = routing.amp_definition(text)
    assert wrapped.startswith("alertmanager_config: |\n")
    assert routing.inner_config(wrapped) == text
    # AMP limits: SNS receivers only, repeat interval at most five days.
    config = yaml.safe_load(text)
    assert all(set(r) == {"name", "sns_configs"} for r in config["receivers"])


TARGET = agent.AgentTarget(
    "orders",
    "ap-southeast-1",
    "prod",
    8080,
    "https://aps-workspaces.ap-southeast-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write",
)


def test_agent_labels_series_and_remote_writes_with_sigv4() -> None:
    config = agent.agent_config(TARGET, "i-0abc")
    assert config["global"]["external_labels"] == {
        "service": "orders",
        "region": "ap-southeast-1",
        "environment": "prod",
    }
    assert [job["job_name"] for job in config["scrape_configs"]] == ["node", "app"]
    assert config["scrape_configs"][1]["static_configs"] == [{"targets": ["127.0.0.1:8080"]}]
    for job in config["scrape_configs"]:
        assert job["relabel_configs"] == [{"target_label": "instance", "replacement": "i-0abc"}]
    (remote,) = config["remote_write"]
    assert remote["url"] == TARGET.remote_write_url
    assert remote["sigv4"] == {"region": "ap-southeast-1"}


@pytest.mark.tools
def test_agent_config_passes_promtool_check_config(tmp_path: Path) -> None:
    promtool = require_tool("promtool", "Debian package prometheus")
    path = tmp_path / "agent.yml"
    path.write_text(agent.agent_config_yaml(TARGET, "i-0abc"))
    result = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_agent_runs_as_containers_from_the_regions_registry_without_downloads(tmp_path: Path) -> None:
    registry = "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/courier/prod/platform"
    images = agent.AgentImages(
        node_exporter=f"{registry}/node-exporter{agent.NODE_EXPORTER.reference}",
        prometheus=f"{registry}/prometheus{agent.PROMETHEUS.reference}",
    )
    steps = agent.boot_steps(TARGET, images)
    script = tmp_path / "boot.sh"
    script.write_text("#!/bin/bash\nset -euo pipefail\n" + steps)
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "github.com" not in steps and "releases/download" not in steps and "sha256sum" not in steps
    assert f" {images.node_exporter} --path.rootfs=/host --web.listen-address=127.0.0.1:9100\n" in steps
    assert f" {images.prometheus} --enable-feature=agent --config.file=/etc/prometheus/agent.yml " in steps
    assert TARGET.remote_write_url in steps
    # Units that start at every boot and keep retrying; the boot never waits for them.
    assert steps.count("Restart=always") == 2 and steps.count("WantedBy=multi-user.target") == 2
    assert "systemctl enable --now --no-block node-exporter.service prometheus-agent.service" in steps


def test_agent_images_are_pinned_by_digest() -> None:
    assert agent.NODE_EXPORTER.reference == "@sha256:4032c6d5bfd752342c3e631c2f1de93ba6b86c41db6b167b9a35372c139e7706"
    # The digest published for docker.io/prom/prometheus:v2.53.2; the mirror copies by it.
    assert agent.PROMETHEUS.reference == "@sha256:cafe963e591c872d38f3ea41ff8eb22cee97917b7c97b5c0ccd43a419f11f613"
    assert agent.PROMETHEUS.upstream == "docker.io/prom/prometheus"
    unpinned = agent.UpstreamImage("prometheus", "docker.io/prom/prometheus", "v2.53.2", None)
    assert unpinned.reference == ":v2.53.2"
    assert [i.name for i in agent.IMAGES] == ["node-exporter", "prometheus"]


def test_every_route_keeps_its_timing() -> None:
    # The dead man's switch beats every 5 minutes (the top-level 4h would make a dead
    # pipeline look alive for hours); pages repeat hourly; info waits half a day.
    timing = {
        (r["receiver"], tuple(r["matchers"])): {
            k: r[k] for k in ("group_wait", "group_interval", "repeat_interval") if k in r
        }
        for r in routing.routes()
    }
    assert timing[("deadmans-switch", ('alertname="Watchdog"',))] == {
        "group_wait": "0s",
        "group_interval": "1m",
        "repeat_interval": "5m",
    }
    critical = [t for (receiver, matchers), t in timing.items() if 'severity="critical"' in matchers]
    assert len(critical) == 3 and all(t == {"repeat_interval": "1h"} for t in critical)
    assert timing[("data-analyst", ('severity="info"',))] == {"repeat_interval": "12h"}
    top = routing.alertmanager_config("ap-southeast-1", {r: f"arn:{r}" for r in RECEIVERS})["route"]
    assert (top["group_wait"], top["group_interval"], top["repeat_interval"]) == ("30s", "5m", "4h")


def test_kubernetes_services_count_ready_pods_under_the_name_the_capacity_alert_reads() -> None:
    # FleetAtMaxCapacity compares courier:fleet_instances:count with the maximum: a
    # Kubernetes service must feed that very series from its ready pods, or the alert can
    # never fire for it.
    spec = spec_of(valid_config())
    region = spec.regions[0]
    recording = rules.recording_rules(region, pod_namespaces=["notifications"])
    counts = [r["expr"] for r in recording["rules"] if r["record"] == "courier:fleet_instances:count"]
    assert len(counts) == 2
    assert 'kube_pod_status_ready{namespace=~"notifications", condition="true"} == 1' in counts[1]
    assert '"service", "$1", "namespace", "(.*)"' in counts[1]
    capacity = next(r for r in alerts_of(valid_config()) if r["alert"] == "FleetAtMaxCapacity")
    assert capacity["expr"].startswith("courier:fleet_instances:count{")
