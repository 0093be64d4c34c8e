"""Kubernetes: every Deployment can be disrupted safely, asks for what it needs, runs unprivileged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, StackValidationArgs

from guardrails.common import DEPLOYMENT, PDB, Report, get, of_type, resource_policy, same_cluster, stack_policy


@stack_policy(
    "kubernetes-deployment-disruption-budget",
    "Every Deployment is covered by a PodDisruptionBudget, so node drains never take all its pods.",
)
def disruption_budget(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    budgets = of_type(args, PDB)
    for deployment in of_type(args, DEPLOYMENT):
        namespace = get(deployment.props, "metadata", "namespace", default="default")
        labels = get(deployment.props, "spec", "template", "metadata", "labels", default={})
        covered = any(
            same_cluster(b, deployment)
            and get(b.props, "metadata", "namespace", default="default") == namespace
            and all(labels.get(k) == v for k, v in get(b.props, "spec", "selector", "matchLabels", default={}).items())
            and get(b.props, "spec", "selector", "matchLabels")
            for b in budgets
        )
        if not covered:
            report(
                f"Deployment {namespace}/{get(deployment.props, 'metadata', 'name')} has no PodDisruptionBudget; add one "
                "selecting its pods (maxUnavailable 10%).",
                deployment.urn,
            )


def _containers(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = get(props, "spec", "template", "spec", default={})
    return list(get(spec, "containers", default=[])) + list(get(spec, "initContainers", default=[]))


@resource_policy(
    "kubernetes-deployment-resource-requests",
    "Every container requests CPU and memory (the HPA's utilization and the scheduler depend on it).",
    [DEPLOYMENT],
)
def requests(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    for container in _containers(args.props):
        wanted = get(container, "resources", "requests", default={})
        missing = [r for r in ("cpu", "memory") if r not in wanted]
        if missing:
            report(
                f"{args.name}: container {container.get('name')} requests no {' or '.join(missing)}; set resources.requests."
            )


@resource_policy(
    "kubernetes-deployment-non-root",
    "Pods run as non-root, without privilege escalation.",
    [DEPLOYMENT],
)
def non_root(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    pod = get(args.props, "spec", "template", "spec", "securityContext", default={})
    for container in _containers(args.props):
        context = get(container, "securityContext", default={})
        if not (get(context, "runAsNonRoot") or get(pod, "runAsNonRoot")):
            report(f"{args.name}: container {container.get('name')} may run as root; set runAsNonRoot: true.")
        if get(context, "privileged") or get(context, "allowPrivilegeEscalation", default=True):
            report(
                f"{args.name}: container {container.get('name')} may gain privileges; set allowPrivilegeEscalation: "
                "false and privileged: false."
            )
