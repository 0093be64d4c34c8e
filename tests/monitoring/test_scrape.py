"""Mainland China's scrape jobs (components.monitoring.scrape), run through a real Prometheus.

ARMS discovers the instances with ``aliyun_sd_configs``, which upstream Prometheus does not
have. The test swaps only that block for a file of targets carrying the labels ARMS's
discovery sets (``__meta_ecs_*``, as its reference lists them) and runs Prometheus on
127.0.0.1 with the same jobs and relabelling: the targets it keeps and the labels they get are
what the ARMS collector keeps, by Prometheus's own relabelling code.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from components.monitoring import scrape, yamltext
from components.monitoring.agent import NODE_EXPORTER_PORT, AgentTarget, agent_config
from tests.tools import require_tool

ORDERS = {"stack": "prod", "service": "orders", "region": "cn-hangzhou", "environment": "prod", "port": 8080}


def _instance(instance_id: str, ip: str, *, stack: str = "prod", service: str = "orders", status: str = "Running"):
    return {
        "targets": [f"{ip}:80"],  # ARMS's discovery sets an address; the jobs replace it
        "labels": {
            "__meta_ecs_instance_id": instance_id,
            "__meta_ecs_private_ip": ip,
            "__meta_ecs_status": status,
            "__meta_ecs_region_id": "cn-hangzhou",
            "__meta_ecs_tag_stack": stack,
            "__meta_ecs_tag_service": service,
        },
    }


INSTANCES = [
    _instance("i-orders-1", "10.40.1.5"),
    _instance("i-orders-2", "10.40.2.6"),
    _instance("i-dispatch", "10.40.1.7", service="dispatch"),
    _instance("i-staging", "10.40.1.8", stack="staging"),
    _instance("i-stopped", "10.40.1.9", status="Stopped"),
    _instance("i-orders-x", "10.40.1.10", service="orders-x"),  # a prefix is not the service
]


def _upstream(config: dict[str, Any], targets: Path) -> dict[str, Any]:
    """The jobs with ARMS's discovery replaced by a file of the same targets and labels."""
    jobs = []
    for job in config["scrape_configs"]:
        job = {k: v for k, v in job.items() if k != "aliyun_sd_configs"}
        job["file_sd_configs"] = [{"files": [str(targets)]}]
        jobs.append(job)
    return {"global": {"scrape_interval": "15s"}, "scrape_configs": jobs}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """/api/v1/targets of a Prometheus running the orders fleet's jobs over INSTANCES."""
    prometheus = require_tool("prometheus", "Debian package prometheus")
    root = tmp_path_factory.mktemp("scrape")
    (root / "targets.json").write_text(json.dumps(INSTANCES))
    (root / "prometheus.yml").write_text(
        yamltext.dump(_upstream(scrape.fleet_scrape_config(**ORDERS), root / "targets.json"))
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            prometheus,
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/targets?state=any", timeout=2) as answer:
                    data = json.load(answer)["data"]
                if len(data["activeTargets"]) + len(data["droppedTargets"]) == 2 * len(INSTANCES):
                    return data
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Prometheus did not load the targets: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_only_this_stacks_running_instances_of_the_service_are_scraped(targets: dict[str, Any]) -> None:
    kept = sorted((t["labels"]["job"], t["labels"]["instance"], t["scrapeUrl"]) for t in targets["activeTargets"])
    assert kept == [
        ("app", "i-orders-1", "http://10.40.1.5:8080/metrics"),
        ("app", "i-orders-2", "http://10.40.2.6:8080/metrics"),
        ("node", "i-orders-1", f"http://10.40.1.5:{NODE_EXPORTER_PORT}/metrics"),
        ("node", "i-orders-2", f"http://10.40.2.6:{NODE_EXPORTER_PORT}/metrics"),
    ]
    assert len(targets["droppedTargets"]) == 2 * 4


def test_the_series_get_the_aws_agents_labels(targets: dict[str, Any]) -> None:
    """The same label names and values the AWS agent gives (external labels plus the instance),
    so every alert rule reads both clouds alike."""
    aws = agent_config(AgentTarget("orders", "cn-hangzhou", "prod", 8080, "https://x/api/v1/remote_write"), "i-1")
    expected_names = {"job", "instance", *aws["global"]["external_labels"]}
    for target in targets["activeTargets"]:
        labels = target["labels"]
        assert set(labels) == expected_names, labels
        assert {k: labels[k] for k in aws["global"]["external_labels"]} == aws["global"]["external_labels"]
    assert {j["job_name"] for j in aws["scrape_configs"]} == {t["labels"]["job"] for t in targets["activeTargets"]}


def test_the_jobs_pass_promtool(tmp_path: Path) -> None:
    promtool = require_tool("promtool", "Debian package prometheus")
    (tmp_path / "targets.json").write_text(json.dumps(INSTANCES))
    path = tmp_path / "prometheus.yml"
    path.write_text(yamltext.dump(_upstream(scrape.fleet_scrape_config(**ORDERS), tmp_path / "targets.json")))
    result = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_arms_discovery_lists_every_instance_by_tag_in_the_region() -> None:
    (node, app) = scrape.fleet_scrape_config(**ORDERS)["scrape_configs"]
    for job, port in ((node, NODE_EXPORTER_PORT), (app, 8080)):
        (sd,) = job["aliyun_sd_configs"]
        assert sd == {
            "region_id": "cn-hangzhou",
            "port": port,
            "refresh_interval": "30s",
            "limit": -1,
            "tag_filters": [{"key": "stack", "values": ["prod"]}, {"key": "service", "values": ["orders"]}],
        }
        assert "access_key" not in json.dumps(job) and "password" not in json.dumps(job)
    assert [node["job_name"], app["job_name"]] == ["courier-prod-orders-node", "courier-prod-orders-app"]
    assert scrape.fleet_scrape_yaml(**ORDERS).startswith("scrape_configs:")
