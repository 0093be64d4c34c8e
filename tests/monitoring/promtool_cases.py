"""Building and running promtool unit tests against the rule files of a Plan."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from courier import artifacts
from courier.plan import Plan
from tests.tools import require_tool

REGION = "ap-southeast-1"
RUNBOOKS = "https://github.com/courier-example/courier-platform/blob/main/docs/runbooks"


def rule_file_of(plan: Plan, region: str = REGION) -> str:
    """The rule file the plan deploys to ``region`` (the AMP rule group namespace's data)."""
    (rendered,) = [a for a in artifacts.render(plan) if a.path == f"prometheus/{region}.yaml"]
    return rendered.text


def labels(service: str = "orders", **extra: str) -> str:
    pairs = {"service": service, "region": REGION, **extra}
    return "{" + ",".join(f'{k}="{v}"' for k, v in pairs.items()) + "}"


@dataclass
class Expect:
    """Alerts expected for one alert name at one moment (empty: expected silent)."""

    at: str
    alertname: str
    alerts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Case:
    series: dict[str, str]
    expect: list[Expect]
    #: Spacing of the input samples.
    interval: str = "1m"

    def as_test(self) -> dict[str, Any]:
        return {
            "interval": self.interval,
            "input_series": [{"series": s, "values": v} for s, v in self.series.items()],
            "alert_rule_test": [
                {
                    "eval_time": e.at,
                    "alertname": e.alertname,
                    "exp_alerts": [{"exp_labels": a["labels"], "exp_annotations": a["annotations"]} for a in e.alerts],
                }
                for e in self.expect
            ],
        }


def alert(labels_: dict[str, str], summary: str, description: str, runbook: str) -> dict[str, Any]:
    return {
        "labels": labels_,
        "annotations": {"summary": summary, "description": description, "runbook_url": f"{RUNBOOKS}/{runbook}.md"},
    }


def run_promtool(tmp_path: Path, rule_text: str, cases: list[Case], evaluation_interval: str = "1m") -> None:
    promtool = require_tool("promtool", "Debian package prometheus")
    (tmp_path / "rules.yaml").write_text(rule_text)
    test = {
        "rule_files": ["rules.yaml"],  # relative to the test file
        "evaluation_interval": evaluation_interval,
        "tests": [c.as_test() for c in cases],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test, sort_keys=False, width=1000))
    result = subprocess.run(
        [promtool, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
