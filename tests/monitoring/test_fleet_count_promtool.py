"""``courier:fleet_instances:count`` counts only instances heard from in the last minute: promtool
on a fleet that loses an instance. The agent runs on the instance, so a terminated instance's
``up`` series just stops (no staleness marker); without the freshness clause PromQL's 5-minute
lookback keeps counting it, and a fleet loss would not show for 5 minutes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.monitoring import rules
from components.spec import build_spec
from tests.builders import valid_config
from tests.monitoring.promtool_cases import REGION, labels
from tests.tools import require_tool

pytestmark = pytest.mark.tools


def test_a_terminated_instance_leaves_the_count_within_a_minute(tmp_path: Path) -> None:
    import subprocess

    spec = build_spec(valid_config(), project="courier-platform", stack="test")
    group = rules.recording_rules(spec.regions[0])
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": [group]}, sort_keys=False))
    # Three instances scraped every 15 s; i-2 is terminated after 10 minutes (its last sample at 10m).
    series = [
        {"series": f"up{labels(job='node', instance=f'i-{n}')}", "values": "1x80" if n < 2 else "1x40"}
        for n in range(3)
    ]
    count = f'courier:fleet_instances:count{{service="orders", region="{REGION}"}}'
    # Counted while its last sample is under a minute old; without the clause, until 15m.
    expected = {"5m": 3, "10m": 3, "10m45s": 3, "11m": 2, "12m": 2, "14m": 2}
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": "15s",
                "input_series": series,
                "promql_expr_test": [
                    {
                        "expr": count,
                        "eval_time": at,
                        "exp_samples": [
                            {
                                "labels": f'courier:fleet_instances:count{{service="orders", region="{REGION}"}}',
                                "value": n,
                            }
                        ],
                    }
                    for at, n in expected.items()
                ],
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test, sort_keys=False, width=1000))
    promtool = require_tool("promtool", "Debian package prometheus")
    result = subprocess.run(
        [promtool, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
