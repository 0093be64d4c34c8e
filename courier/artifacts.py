"""Files rendered from a Plan, and their verification by the real tools.

Everything here reads the inputs the program gave its resources: the rule file is the
``data`` of each region's AMP rule group namespace, the routing is the ``definition`` of its
alert manager definition. Nothing is generated a second time from the spec.

- ``prometheus/<region>.yaml``: Prometheus rule files, checked by ``promtool check rules``;
- ``alertmanager/<region>.yaml``: Alertmanager configs (unwrapped from AMP's
  ``alertmanager_config:``), checked by ``amtool check-config``; the primary region's is
  also written as ``alertmanager/alertmanager.yaml``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.monitoring import routing
from courier.plan import Plan

RULES = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
ALERTMANAGER = "aws:amp/alertManagerDefinition:AlertManagerDefinition"


@dataclass(frozen=True)
class Rendered:
    path: str
    kind: str
    text: str
    #: (tool, arguments before the file) that verifies it
    verifier: tuple[str, tuple[str, ...]]


def render(plan: Plan) -> list[Rendered]:
    rendered: list[Rendered] = []
    for resource in plan.of_type(RULES):
        rendered.append(
            Rendered(
                f"prometheus/{resource.region}.yaml",
                "prometheus-rules",
                str(resource.inputs["data"]),
                ("promtool", ("check", "rules")),
            )
        )
    primary = plan.outputs.get("primaryRegion")
    for resource in plan.of_type(ALERTMANAGER):
        config = routing.inner_config(str(resource.inputs["definition"]))
        names = [f"alertmanager/{resource.region}.yaml"]
        if resource.region == primary:
            names.append("alertmanager/alertmanager.yaml")
        for name in names:
            rendered.append(Rendered(name, "alertmanager-config", config, ("amtool", ("check-config",))))
    return sorted(rendered, key=lambda r: r.path)


Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def write_and_verify(rendered: list[Rendered], out_dir: Path, run: Runner = _run) -> list[dict[str, Any]]:
    """Write every artifact under ``out_dir`` and check it with its tool when installed."""
    results = []
    for artifact in rendered:
        target = out_dir / artifact.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(artifact.text, encoding="utf-8")
        tool, arguments = artifact.verifier
        executable = shutil.which(tool)
        entry: dict[str, Any] = {"path": artifact.path, "kind": artifact.kind}
        if executable is None:
            entry.update(verifiedBy=None, ok=True, detail=f"{tool} is not installed: not verified")
        else:
            completed = run([executable, *arguments, str(target)])
            entry.update(
                verifiedBy=f"{tool} {' '.join(arguments)}",
                ok=completed.returncode == 0,
                detail=(completed.stdout + completed.stderr).strip(),
            )
        results.append(entry)
    return results
