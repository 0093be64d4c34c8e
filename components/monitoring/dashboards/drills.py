"""The drills dashboard: each drill's result and its measured recovery time over time, read
from the metrics the drills publish (``DRILL_NAMESPACE``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import text

from components.monitoring.dashboards.panels import _CLOUDWATCH, _active_regions, _dashboard, _finish, _search, _series
from components.spec import EnvironmentSpec, RegionSpec

#: Where each drill publishes its outcome (components/aws/drills*, courier/drill): per
#: ``Stack`` and ``Drill``, ``DrillPassed`` (1 the hypothesis held, 0 it did not) and
#: ``RecoverySeconds`` (injection to the service back within its objectives). A contract with
#: the drills; FIS itself publishes no per-experiment outcome metric.
DRILL_NAMESPACE = "Courier/Drills"
DRILL_METRICS = ("DrillPassed", "RecoverySeconds")


def drills_dashboard(spec: EnvironmentSpec, regions: Sequence[RegionSpec] | None = None) -> dict[str, Any]:
    """Each drill's result and its measured recovery time over time (``DRILL_NAMESPACE``)."""
    board = _dashboard(spec, "drills", "drills and recovery", "drills")
    board = board.time("now-90d", "now")
    board = board.with_panel(
        text.Panel()
        .title("Where these numbers come from")
        .height(3)
        .span(24)
        .content(
            f"Each drill publishes `{DRILL_NAMESPACE}` metrics per `Stack` and `Drill`: "
            "`DrillPassed` (1 when its hypothesis held) and `RecoverySeconds` (from the injection "
            "to the service back within its objectives). Empty until the drills run."
        )
    )
    for metric, title, unit in (
        ("DrillPassed", "Drill results (1 passed, 0 failed)", "short"),
        ("RecoverySeconds", "Measured recovery time per drill", "s"),
    ):
        board = board.with_panel(
            _series(
                title,
                _CLOUDWATCH,
                [
                    _search(
                        r.name,
                        f'SEARCH(\'{{{DRILL_NAMESPACE},Drill,Stack}} MetricName="{metric}" '
                        f"Stack=\"{spec.stack}\"', 'Maximum', 86400)",
                        f"R{i}",
                        f"{r.name} ${{PROP('Dim.Drill')}}",
                    )
                    for i, r in enumerate(_active_regions(spec, shown=regions))
                ],
                unit=unit,
                bars=metric == "DrillPassed",
                width=12,
            )
        )
    return _finish(board)
