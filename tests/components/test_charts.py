"""The add-on charts' images: every one from the stack's ECR copy, by the keys each chart reads."""

from __future__ import annotations

import pytest

from components.kubernetes import charts

HOST = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"


def test_every_image_of_kube_prometheus_stack_points_at_the_stacks_copy() -> None:
    values = charts.image_values("kube-prometheus-stack", "88.5.3", HOST, "courier/prod/")

    def image(key: str) -> tuple[str, str, str]:
        node = charts.lookup(values, key)
        return node["registry"], node["repository"], node["tag"]

    assert image("prometheusOperator.image") == (HOST, "courier/prod/platform/prometheus-operator", "v0.93.1")
    assert image("prometheusOperator.prometheusConfigReloader.image") == (
        HOST,
        "courier/prod/platform/prometheus-config-reloader",
        "v0.93.1",
    )
    assert image("prometheus.prometheusSpec.image") == (HOST, "courier/prod/platform/prometheus", "v3.14.0-distroless")
    assert image("prometheusOperator.admissionWebhooks.patch.image") == (
        HOST,
        "courier/prod/platform/kube-webhook-certgen",
        "1.8.7",
    )
    assert image("kube-state-metrics.image") == (HOST, "courier/prod/platform/kube-state-metrics", "v2.20.0")
    assert image("prometheus-node-exporter.image") == (
        HOST,
        "courier/prod/platform/node-exporter",
        "v1.12.1-distroless",
    )
    assert charts.lookup(values, "prometheus-node-exporter.image.distroless") is False


def test_charts_that_take_the_host_in_the_repository_get_it_there() -> None:
    values = charts.image_values("metrics-server", "3.13.1", HOST, "courier/prod/")
    assert values == {"image": {"repository": f"{HOST}/courier/prod/platform/metrics-server", "tag": "v0.8.1"}}
    autoscaler = charts.image_values("cluster-autoscaler", "9.53.0", HOST, "courier/staging/")
    assert autoscaler == {
        "image": {"repository": f"{HOST}/courier/staging/platform/cluster-autoscaler", "tag": "v1.34.5"}
    }


def test_each_autoscaler_chart_lists_the_image_of_its_minor() -> None:
    for release in charts.CLUSTER_AUTOSCALER.values():
        [image] = charts.chart_images("cluster-autoscaler", release.chart_version)
        assert image.tag == release.image_tag


def test_the_crds_chart_pulls_nothing_and_an_unknown_chart_is_named() -> None:
    assert charts.chart_images("prometheus-operator-crds", "31.0.1") == ()
    with pytest.raises(KeyError, match=r"chart keda 2\.21\.0 has no image list"):
        charts.chart_images("keda", "2.21.0")


def test_the_repositories_the_stack_creates_for_the_addons() -> None:
    assert charts.repository_names() == (
        "cluster-autoscaler",
        "keda",
        "keda-admission-webhooks",
        "keda-metrics-apiserver",
        "kube-state-metrics",
        "kube-webhook-certgen",
        "metrics-server",
        "node-exporter",
        "prometheus",
        "prometheus-config-reloader",
        "prometheus-operator",
    )


def test_merge_keeps_both_sides_and_the_override_wins() -> None:
    base = {"image": {"tag": "old", "pullPolicy": "IfNotPresent"}, "replicas": 2}
    assert charts.merge(base, {"image": {"tag": "new"}}) == {
        "image": {"tag": "new", "pullPolicy": "IfNotPresent"},
        "replicas": 2,
    }
    assert base["image"]["tag"] == "old"


def test_the_mirror_list_copies_every_image_once_pinned_ones_by_digest() -> None:
    import subprocess
    import sys
    from pathlib import Path

    tool = Path(__file__).resolve().parents[2] / "tools" / "mirror_images.py"
    host = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
    done = subprocess.run(
        [sys.executable, str(tool), "--stack", "prod", "--registry", host], capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    destinations = [line.split()[-1] for line in lines]
    # Every chart image at its tag, plus the agent's two (node-exporter and prometheus share
    # repositories with the charts' newer tags), each exactly once.
    expected = {f"{i.name}:{i.tag}" for images in charts.CHART_IMAGES.values() for i in images}
    expected |= {"node-exporter:v1.8.2", "prometheus:v2.53.2"}
    assert sorted(destinations) == sorted(f"{host}/courier/prod/platform/{e}" for e in expected)
    assert (
        f"crane copy docker.io/prom/prometheus@sha256:cafe963e591c872d38f3ea41ff8eb22cee97917b7c97b5c0ccd43a419f11f613 "
        f"{host}/courier/prod/platform/prometheus:v2.53.2"
    ) in lines
    refused = subprocess.run(
        [sys.executable, str(tool), "--stack", "prod", "--registry", "quay.io"], capture_output=True, text=True
    )
    assert refused.returncode == 2 and "--registry 'quay.io'" in refused.stderr and not refused.stdout
