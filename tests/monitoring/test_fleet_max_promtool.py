"""FleetAtMaxCapacity follows the maximum in force: promtool on both sides of the maximum,
outside a promotion (the configured maximum) and inside one (the promotion's, as the Auto
Scaling group's scheduled actions set it). The promotion is placed in the first hours of 1970,
where promtool's clock runs, by planning the spec as of then."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from components.monitoring import rules
from components.spec import build_spec
from tests.builders import valid_config
from tests.monitoring.promtool_cases import REGION, Case, Expect, labels, run_promtool

pytestmark = pytest.mark.tools

MINUTES = 240


@pytest.fixture(scope="module")
def spec():
    config = valid_config()
    config["promotions"] = [
        {
            "name": "flash-sale",
            "start": "1970-01-01T02:00:00Z",
            "end": "1970-01-01T03:00:00Z",
            "expectedPeakMultiplier": 12,
            "prewarmMinutes": 60,
        }
    ]
    return build_spec(config, project="courier-platform", stack="test", as_of=datetime(1970, 1, 1, tzinfo=UTC))


def fleet(instances: int, busy: float = 0.9) -> dict[str, str]:
    idle_per_minute = round(60 * (1 - busy), 6)
    series = {f"up{labels(job='node', instance=f'i-{n}')}": f"1x{MINUTES}" for n in range(instances)}
    series[f"node_cpu_seconds_total{labels(job='node', instance='i-0', cpu='0', mode='idle')}"] = (
        f"0+{idle_per_minute}x{MINUTES}"
    )
    return series


def firing(spec, instances: int) -> list[dict[str, Any]]:
    maximum = spec.capacity(spec.services[0], spec.regions[0]).max
    return [
        {
            "labels": {
                "severity": "critical",
                "category": "capacity",
                "customer_impact": "true",
                "service": "orders",
                "region": REGION,
            },
            "annotations": {
                "summary": f"orders in {REGION}: fleet at its maximum size and still above 80% CPU",
                "description": f"{instances} instances are serving, the group's maximum in force (configured "
                f"{maximum}, raised by promotions while they last), and CPU is still above the target: "
                "the fleet cannot scale out any further.",
                "runbook_url": spec.alerting.runbook_url("FleetAtMaxCapacity"),
            },
        }
    ]


def test_the_promotion_raises_the_maximum_between_its_prewarm_and_its_restore(spec) -> None:
    orders, region = spec.services[0], spec.regions[0]
    (promotion,) = spec.promotion_schedules(orders, region)
    assert promotion.raise_at == datetime(1970, 1, 1, 1, tzinfo=UTC)
    assert promotion.restore_at == datetime(1970, 1, 1, 3, tzinfo=UTC)
    assert (spec.capacity(orders, region).max, promotion.capacity.max) == (20, 38)


def test_fleet_at_max_capacity_follows_the_maximum_in_force(spec, tmp_path: Path) -> None:
    at_max = "FleetAtMaxCapacity"
    run_promtool(
        tmp_path,
        rules.rule_file(spec, spec.regions[0]),
        [
            # 20 instances: the configured maximum before 01:00 and after 03:00, but 18 short of
            # the promotion's 38 in between: silent while the group may still grow.
            Case(
                fleet(20),
                [
                    Expect("50m", at_max, firing(spec, 20)),
                    Expect("2h", at_max),
                    Expect("3h2m", at_max),  # `for: 5m` starts again at the restore
                    Expect("3h30m", at_max, firing(spec, 20)),
                ],
            ),
            # The promotion's maximum reached and still hot: it pages inside the window too.
            Case(fleet(38), [Expect("2h", at_max, firing(spec, 38))]),
            # One short of the promotion's maximum: silent inside the window, paging outside.
            Case(fleet(37), [Expect("2h", at_max), Expect("3h30m", at_max, firing(spec, 37))]),
            # At the maximum but cool: nothing to do, inside or outside the window.
            Case(fleet(38, busy=0.5), [Expect("50m", at_max), Expect("2h", at_max)]),
        ],
    )
