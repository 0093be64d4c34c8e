"""The routing prod deploys, checked by amtool: each role receives exactly what the matrix says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from components.monitoring import oncall
from components.spec import RECEIVERS
from courier import artifacts
from tests.conftest import StackPlans
from tests.monitoring.promtool_cases import rule_file_of
from tests.tools import require_tool

pytestmark = pytest.mark.tools

IC, TECH, OPS, CS, DATA = (
    "incident-commander",
    "tech-expert",
    "ops-coordinator",
    "customer-service-lead",
    "data-analyst",
)


@pytest.fixture(scope="module")
def configs(stack_plans: StackPlans, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every alertmanager artifact of the prod plan, written to disk: path -> file."""
    directory = tmp_path_factory.mktemp("alertmanager")
    written = {}
    for artifact in artifacts.render(stack_plans["prod"]):
        if artifact.kind == "alertmanager-config":
            target = directory / artifact.path.replace("/", "_")
            target.write_text(artifact.text)
            written[artifact.path] = target
    return written


def routes_test(config: Path, labels: dict[str, str], expected: list[str]) -> subprocess.CompletedProcess[str]:
    amtool = require_tool("amtool", "Debian package prometheus-alertmanager")
    return subprocess.run(
        [
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={config}",
            f"--verify.receivers={','.join(expected)}",
            *[f"{k}={v}" for k, v in labels.items()],
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_region_config_passes_amtool_check_config(configs: dict[str, Path]) -> None:
    amtool = require_tool("amtool", "Debian package prometheus-alertmanager")
    assert set(configs) == {
        "alertmanager/alertmanager.yaml",
        "alertmanager/ap-southeast-1.yaml",
        "alertmanager/ap-northeast-1.yaml",
        "alertmanager/ap-northeast-2.yaml",
    }
    for config in configs.values():
        result = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "6 receivers" in result.stdout
        assert "2 inhibit rules" in result.stdout


MATRIX = [
    ({"severity": "critical"}, [IC, TECH]),
    ({"severity": "critical", "customer_impact": "true"}, [IC, TECH, CS]),
    ({"severity": "critical", "category": "capacity", "customer_impact": "true"}, [IC, TECH, CS]),
    ({"severity": "critical", "customer_impact": "false"}, [IC, TECH]),
    ({"severity": "warning", "category": "capacity"}, [OPS]),
    ({"severity": "warning", "category": "latency", "customer_impact": "true"}, [TECH]),
    ({"severity": "warning"}, [TECH]),
    ({"severity": "info"}, [DATA]),
    ({"severity": "info", "category": "traffic"}, [DATA]),
    ({"alertname": "Watchdog", "severity": "info"}, ["deadmans-switch"]),
    # Nothing is dropped: an alert without a known severity still reaches a person.
    ({"severity": "page-me"}, [TECH]),
]


@pytest.mark.parametrize(
    ("labels", "expected"), MATRIX, ids=[",".join(f"{k}={v}" for k, v in m.items()) for m, _ in MATRIX]
)
def test_routes_reach_exactly_the_roles_in_the_matrix(configs: dict[str, Path], labels, expected) -> None:
    result = routes_test(
        configs["alertmanager/alertmanager.yaml"], {"service": "orders", "region": "ap-southeast-1", **labels}, expected
    )
    assert result.returncode == 0, f"expected {expected}, amtool said: {result.stdout.strip()} {result.stderr.strip()}"
    assert result.stdout.strip() == ",".join(expected)


def test_a_wrong_expectation_is_caught(configs: dict[str, Path]) -> None:
    # The check can fail: a critical alert does not go to the data analyst.
    result = routes_test(configs["alertmanager/alertmanager.yaml"], {"severity": "critical"}, [DATA])
    assert result.returncode != 0


def test_every_generated_alert_routes_to_its_owners(stack_plans: StackPlans, configs: dict[str, Path]) -> None:
    rules = yaml.safe_load(rule_file_of(stack_plans["prod"]))
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    assert len(alerts) > 30
    for rule in alerts:
        labels = {"alertname": rule["alert"], **rule["labels"]}
        if rule["alert"] == "Watchdog":
            expected = ["deadmans-switch"]
        else:
            expected = list(
                oncall.roles_for(labels["severity"], labels.get("category"), labels.get("customer_impact") == "true")
            )
        result = routes_test(configs["alertmanager/ap-southeast-1.yaml"], labels, expected)
        assert result.returncode == 0, f"{labels} -> {result.stdout.strip()}, expected {expected}"


def test_each_region_sends_to_its_own_topics(configs: dict[str, Path]) -> None:
    for path, config_file in configs.items():
        if path.endswith("alertmanager.yaml"):
            continue
        region = Path(path).stem
        config = yaml.safe_load(config_file.read_text())
        assert {r["name"] for r in config["receivers"]} == set(RECEIVERS)
        for receiver in config["receivers"]:
            (sns,) = receiver["sns_configs"]
            assert sns["sigv4"] == {"region": region}
            assert sns["topic_arn"].startswith(f"arn:aws:sns:{region}:")
            assert receiver["name"] in sns["topic_arn"]


def test_primary_region_config_is_the_published_alertmanager_yaml(configs: dict[str, Path]) -> None:
    assert (
        configs["alertmanager/alertmanager.yaml"].read_text() == configs["alertmanager/ap-southeast-1.yaml"].read_text()
    )


def test_critical_inhibits_warning_and_info_and_warning_inhibits_info_per_service_and_region(
    configs: dict[str, Path],
) -> None:
    config = yaml.safe_load(configs["alertmanager/alertmanager.yaml"].read_text())
    assert config["inhibit_rules"] == [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity=~"warning|info"'],
            "equal": ["service", "region"],
        },
        {
            "source_matchers": ['severity="warning"'],
            "target_matchers": ['severity="info"'],
            "equal": ["service", "region"],
        },
    ]
    assert config["route"]["group_by"] == ["alertname", "service", "region"]
