"""Files rendered from a Plan, and their verification by the real tools.

Everything here reads the inputs the program gave its resources: the rule file is the
``data`` of each region's AMP rule group namespace, the routing is the ``definition`` of its
alert manager definition. Nothing is generated a second time from the spec.

- ``prometheus/<region>.yaml``: Prometheus rule files, checked by ``promtool check rules``;
- ``alertmanager/<region>.yaml``: Alertmanager configs (unwrapped from AMP's
  ``alertmanager_config:``), checked by ``amtool check-config``; the primary region's is
  also written as ``alertmanager/alertmanager.yaml``;
- ``kubernetes/<region>.yaml``: one multi-document manifest per cluster, the Kubernetes
  objects exactly as the program declared them, checked by ``kubernetes-validate --strict``
  against the cluster's Kubernetes version (custom resources such as ScaledObject have no
  built-in schema: the tool reports them and passes them);
- ``grafana/<uid>.json``: each Grafana dashboard's model, every panel's PromQL parsed and its
  series checked against docs/metrics.md and the rule files beside it; ``cloudwatch/<region>.json``:
  each CloudWatch dashboard body against its documented structure (courier/verify/dashboards.py).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.monitoring import routing
from courier.plan import Plan, Resource

RULES = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
ALERTMANAGER = "aws:amp/alertManagerDefinition:AlertManagerDefinition"
GRAFANA_DASHBOARD = "grafana:oss/dashboard:Dashboard"
CLOUDWATCH_DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
#: The dashboards' checker (courier/verify/dashboards.py), run as a tool like the others.
DASHBOARD_CHECK = "courier-dashboards"


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
    rendered.extend(_manifests(plan))
    rendered.extend(_dashboards(plan))
    return sorted(rendered, key=lambda r: r.path)


#: Apply order inside a manifest: namespaces first, custom resources last.
_KIND_ORDER = ("Namespace", "ServiceAccount", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget")
#: The top-level fields of the objects declared (RBAC objects carry rules, roleRef and subjects).
_DOCUMENT_KEYS = ("apiVersion", "kind", "metadata", "spec", "data", "rules", "roleRef", "subjects")


def _manifests(plan: Plan) -> list[Rendered]:
    by_cluster: dict[str, list[Resource]] = {}
    for resource in plan.resources:
        if resource.type.startswith("kubernetes:") and resource.custom and "kind" in resource.inputs:
            by_cluster.setdefault(resource.provider or "", []).append(resource)
    rendered = []
    for provider, resources in sorted(by_cluster.items()):
        region = resources[0].region or provider.rsplit("::", 1)[-1]
        documents = [
            {key: r.inputs[key] for key in _DOCUMENT_KEYS if key in r.inputs}
            for r in sorted(resources, key=_apply_order)
        ]
        text = yaml.safe_dump_all(documents, sort_keys=False, width=120)
        version = _cluster_version(plan, region)
        arguments = ("--strict", "--quiet", *(("-k", version) if version else ()))
        rendered.append(
            Rendered(f"kubernetes/{region}.yaml", "kubernetes-manifests", text, ("kubernetes-validate", arguments))
        )
    return rendered


def _apply_order(resource: Resource) -> tuple[int, str, str]:
    kind = str(resource.inputs.get("kind", ""))
    position = _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)
    return (position, str(resource.inputs.get("metadata", {}).get("namespace", "")), resource.name)


def _cluster_version(plan: Plan, region: str) -> str | None:
    """The Kubernetes version of the EKS cluster the stack builds in ``region`` (x.y.0)."""
    for cluster in plan.of_type("aws:eks/cluster:Cluster"):
        if cluster.region == region and cluster.inputs.get("version"):
            return f"{cluster.inputs['version']}.0"
    return None


def _dashboards(plan: Plan) -> list[Rendered]:
    """Each Grafana dashboard's model and each region's CloudWatch dashboard body, as the
    program declared them, checked by courier/verify/dashboards.py."""
    rendered = []
    for resource in plan.of_type(GRAFANA_DASHBOARD):
        model = json.loads(str(resource.inputs["configJson"]))
        rendered.append(
            Rendered(
                f"grafana/{model.get('uid', resource.name)}.json",
                "grafana-dashboard",
                json.dumps(model, indent=2, sort_keys=True) + "\n",
                (DASHBOARD_CHECK, ("grafana",)),
            )
        )
    for resource in plan.of_type(CLOUDWATCH_DASHBOARD):
        body = json.loads(str(resource.inputs["dashboardBody"]))
        rendered.append(
            Rendered(
                f"cloudwatch/{resource.region}.json",
                "cloudwatch-dashboard",
                json.dumps(body, indent=2, sort_keys=True) + "\n",
                (DASHBOARD_CHECK, ("cloudwatch",)),
            )
        )
    return rendered


Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _command(tool: str) -> list[str] | None:
    """How to run a verifier: kubernetes-validate is a Python package of this environment."""
    if tool == DASHBOARD_CHECK:
        return [sys.executable, "-m", "courier.verify.dashboard_tool"]
    if tool == "kubernetes-validate":
        return (
            [sys.executable, "-m", "kubernetes_validate"] if importlib.util.find_spec("kubernetes_validate") else None
        )
    executable = shutil.which(tool)
    return [executable] if executable else None


def write_and_verify(rendered: list[Rendered], out_dir: Path, run: Runner = _run) -> list[dict[str, Any]]:
    """Write every artifact under ``out_dir`` and check it with its tool when installed."""
    # Everything first, then the checks: a dashboard's check reads the rule files beside it.
    for artifact in rendered:
        target = out_dir / artifact.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(artifact.text, encoding="utf-8")
    results = []
    for artifact in rendered:
        target = out_dir / artifact.path
        tool, arguments = artifact.verifier
        command = _command(tool)
        entry: dict[str, Any] = {"path": artifact.path, "kind": artifact.kind}
        if command is None:
            # On a laptop a missing checker is said, not fatal; in CI (CI=true, as the PR
            # workflow and .ci/run set it) it fails the plan: a check that did not run is
            # never a pass there.
            required = os.environ.get("CI", "").lower() == "true"
            detail = f"{tool} is not installed: not verified" + (" (CI=true requires it)" if required else "")
            entry.update(verifiedBy=None, ok=not required, detail=detail)
        else:
            completed = run([*command, *arguments, str(target)])
            entry.update(
                verifiedBy=f"{tool} {' '.join(arguments)}",
                ok=completed.returncode == 0,
                detail=(completed.stdout + completed.stderr).strip(),
            )
        results.append(entry)
    return results
