"""Mainland China's ARMS alert rules fire exactly as the AWS regions' rule file does.

ARMS takes no recording rules, so each of Hangzhou's alerts has its recorded series inlined
(components.alicloud.prometheus.inline_recorded) and its ``for`` in minutes. The promtool cases
of tests/monitoring/test_rules_promtool.py, which hold every alert on both sides of its
threshold (silent below it, silent before ``for`` elapses, firing after with exact labels and
annotations), run here again with the region set to cn-hangzhou, against a rule file made of
the ARMS rules only: the inlined expressions must behave as the recorded ones.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from components.alicloud.prometheus import plan_alerts
from components.monitoring import yamltext
from components.spec import EnvironmentSpec, RegionSpec
from tests.conftest import shipped_spec
from tests.monitoring import promtool_cases, test_rules_promtool

pytestmark = pytest.mark.tools

HANGZHOU = "cn-hangzhou"
#: The cases for what runs in mainland China: the VM fleets (notifications, on Kubernetes, runs
#: in the AWS regions only) and not Watchdog (no ARMS receiver for its heartbeat).
CASES: dict[str, Callable[[str, Path], None]] = {
    name: getattr(test_rules_promtool, name)
    for name in dir(test_rules_promtool)
    if name.startswith("test_") and "kubernetes" not in name and "watchdog" not in name
}


@pytest.fixture(scope="module")
def arms_rules() -> str:
    spec = shipped_spec("prod")
    (region,) = [r for r in spec.regions if r.name == HANGZHOU]
    return _rule_file(spec, region)


def _rule_file(spec: EnvironmentSpec, region: RegionSpec) -> str:
    alerts = plan_alerts(spec, region, name_prefix="prod_cnhz", fleets_report=True)
    return yamltext.dump(
        {
            "groups": [
                {
                    "name": "arms",
                    "rules": [
                        {
                            "alert": a.alert,
                            "expr": a.expression,
                            "for": a.duration,
                            "labels": dict(a.labels),
                            "annotations": dict(a.annotations),
                        }
                        for a in alerts
                    ],
                }
            ]
        }
    )


def test_the_cases_cover_every_business_and_slo_alert() -> None:
    assert len(CASES) >= 14
    for needed in ("order_creation", "payment_failure", "dispatch", "rider_location", "traffic_surge", "target_down"):
        assert any(needed in name for name in CASES), needed


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_arms_rules_fire_as_the_rule_file_does(
    case: str, arms_rules: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(promtool_cases, "REGION", HANGZHOU)
    monkeypatch.setattr(test_rules_promtool, "REGION", HANGZHOU)
    CASES[case](arms_rules, tmp_path)
