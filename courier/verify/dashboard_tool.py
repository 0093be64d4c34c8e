"""The artifact verifier of rendered dashboards: ``python -m courier.verify.dashboard_tool
grafana|cloudwatch FILE`` (exit 0 when it passes), the checks of courier/verify/dashboards.py
on one file. A Grafana dashboard's recorded series come from the rule files rendered beside it
(``../prometheus/*.yaml``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from components.monitoring.dashboards import prometheus_queries
from courier.verify.dashboards import RULER_SERIES, body_problems, documented_metrics, panel_problems, recorded_series


def main(argv: list[str]) -> int:
    """``grafana FILE`` or ``cloudwatch FILE``: the artifact verifier; 0 when it passes."""
    if len(argv) != 2 or argv[0] not in ("grafana", "cloudwatch"):
        print("usage: python -m courier.verify.dashboard_tool grafana|cloudwatch FILE", file=sys.stderr)
        return 2
    kind, path = argv[0], Path(argv[1])
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 1
    if kind == "cloudwatch":
        problems = body_problems(document)
    else:
        rules = sorted((path.parent.parent / "prometheus").glob("*.yaml"))
        known = documented_metrics() | RULER_SERIES | recorded_series(p.read_text(encoding="utf-8") for p in rules)
        problems = panel_problems(document, known)
        if not rules:
            problems.append("no rule files beside it (../prometheus/*.yaml): recorded series cannot be checked")
    for problem in problems:
        print(f"{path}: {problem}")
    if not problems:
        print(
            f"{path}: ok ({len(prometheus_queries(document)) if kind == 'grafana' else len(document['widgets'])} checked)"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
