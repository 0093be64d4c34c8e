"""Draw a Grafana dashboard's layout from its JSON model, for the README.

    python tools/render_dashboard.py                                   # prod's orders dashboard
    python tools/render_dashboard.py --stack staging --uid courier-staging-incidents --out x.png
    python tools/render_dashboard.py --json out/grafana/courier-prod-recovery.json --out y.png

The model comes from the Plan of the real program under the offline engine (the ``configJson``
of the stack's ``grafana:oss/dashboard:Dashboard``), or from a file ``plan --out`` rendered:
never a second description. Each panel is drawn where its ``gridPos`` puts it on Grafana's
24-column grid, with its title, its kind, its data source and its first query; rows are bands,
objectives (threshold lines) are noted. A picture of the layout, not of live data.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "images" / "dashboard-orders.png"
COLORS = {
    "prometheus": "#e8f1fb",
    "managed prometheus": "#e8f1fb",
    "cloudwatch": "#fdf1e3",
    "datasource": "#eef7ee",
    "text": "#f4f4f4",
}


def model_from_plan(stack: str, uid: str) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from courier.cli import make_plan

    plan = make_plan(stack)
    for resource in plan.of_type("grafana:oss/dashboard:Dashboard"):
        model = json.loads(str(resource.inputs["configJson"]))
        if model.get("uid") == uid:
            return model
    raise SystemExit(f"error: the {stack} plan has no dashboard {uid!r}")


def _query(panel: dict[str, Any]) -> str:
    for target in panel.get("targets", []):
        if target.get("expr"):
            return str(target["expr"])
        if target.get("expression"):
            return str(target["expression"])
        if target.get("metricName"):
            dims = ", ".join(f"{k}={v}" for k, v in (target.get("dimensions") or {}).items())
            return f"{target.get('namespace')} {target['metricName']} ({dims})"
    return str((panel.get("options") or {}).get("content", ""))


#: How a data source type is labelled on the drawing.
LABELS = {"datasource": "mixed", "grafana-amazonprometheus-datasource": "managed prometheus"}


def _source(panel: dict[str, Any]) -> str:
    kind = str((panel.get("datasource") or {}).get("type", "text"))
    return LABELS.get(kind, kind)


def draw(model: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    panels = model.get("panels", [])
    bottom = max((p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels), default=1)
    # Grafana's grid: 24 columns, rows of 30 px; here 1 column = 0.5 in, 1 row = 0.2 in.
    figure = plt.figure(figsize=(12, max(3.0, bottom * 0.2 + 0.6)), dpi=72)
    axes = figure.add_axes((0.01, 0.01, 0.98, 0.98 - 0.5 / max(3.0, bottom * 0.2 + 0.6)))
    axes.set_xlim(0, 24)
    axes.set_ylim(bottom, 0)
    axes.axis("off")
    figure.suptitle(f"{model.get('title')}  ({model.get('uid')}: layout drawn from the dashboard JSON)", fontsize=10)
    for panel in panels:
        pos = panel["gridPos"]
        x, y, w, h = pos["x"], pos["y"], pos["w"], pos["h"]
        if panel.get("type") == "row":
            axes.add_patch(Rectangle((x, y), w, h, color="#3d4a5c"))
            axes.text(x + 0.2, y + h / 2, f"▾ {panel.get('title')}", color="white", va="center", fontsize=8)
            continue
        kind = _source(panel)
        axes.add_patch(
            Rectangle(
                (x + 0.08, y + 0.08), w - 0.16, h - 0.16, facecolor=COLORS.get(kind, "#f4f4f4"), edgecolor="#8899aa"
            )
        )
        title = textwrap.shorten(str(panel.get("title", "")), width=w * 5, placeholder="…")
        axes.text(x + 0.3, y + 0.9, title, fontsize=7.5, fontweight="bold", va="center")
        axes.text(x + 0.3, y + 1.9, f"{panel.get('type')} · {kind}", fontsize=6.5, color="#556", va="center")
        steps = (((panel.get("fieldConfig") or {}).get("defaults") or {}).get("thresholds") or {}).get("steps") or []
        if len(steps) > 1 and panel.get("type") == "timeseries":
            axes.plot([x + 0.4, x + w - 0.4], [y + h * 0.45] * 2, linestyle="--", color="#c0392b", linewidth=1)
            axes.text(
                x + w - 0.4,
                y + h * 0.45 - 0.3,
                f"objective {steps[-1]['value']:g}",
                fontsize=6,
                color="#c0392b",
                ha="right",
            )
        query = "\n".join(textwrap.wrap(_query(panel), width=w * 6)[: max(1, h - 4)])
        axes.text(x + 0.3, y + h - 0.5, query, fontsize=5.5, family="monospace", color="#333", va="bottom")
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=72)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw a Grafana dashboard's layout from its JSON model.")
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--uid", help="the dashboard's UID (default: courier-<stack>-service-orders)")
    parser.add_argument("--json", type=Path, help="a dashboard model written by `plan --out` (grafana/<uid>.json)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.json:
        model = json.loads(args.json.read_text(encoding="utf-8"))
    else:
        model = model_from_plan(args.stack, args.uid or f"courier-{args.stack}-service-orders")
    draw(model, args.out)
    print(f"{args.out} ({args.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
