"""Kubernetes: every Deployment can be disrupted safely, asks for what it needs, runs unprivileged,
and is scaled by exactly one pod autoscaler.

A pod autoscaler is written in one of two spellings, judged alike by every policy that reads
one (here and in resilience.py): an autoscaling/v2 HorizontalPodAutoscaler, or a KEDA
ScaledObject, from which KEDA creates and owns the HPA (its ``cpu`` trigger with metricType
Utilization is the HPA's CPU Resource metric, its ``cron`` triggers pre-scale).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs

from guardrails.common import (
    DEPLOYMENT,
    HPA,
    PDB,
    SCALED_OBJECT,
    Report,
    get,
    of_type,
    resource_policy,
    same_cluster,
    stack_policy,
)

AUTOSCALERS = (HPA, SCALED_OBJECT)
#: KEDA stops scaling a ScaledObject with paused-replicas set, or paused true (kedacore/keda,
#: ScaledObject.NeedToBePausedByAnnotation; keda.sh "Pause autoscaling").
_KEDA_PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas"
_KEDA_PAUSED = "autoscaling.keda.sh/paused"


@dataclass(frozen=True)
class PodAutoscaler:
    """What a pod autoscaler does, whichever spelling declares it."""

    #: "HorizontalPodAutoscaler" or "ScaledObject".
    kind: str
    name: str
    namespace: str
    target_kind: str
    target_name: str
    min_replicas: Any
    max_replicas: Any
    #: The field holding the floor, as the object spells it (minReplicas / minReplicaCount).
    min_field: str
    #: Average CPU utilization targets (% of the request); none when paused.
    cpu_targets: list[Any] = field(default_factory=list)
    #: Cron trigger name -> desiredReplicas (ScaledObject only).
    crons: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def pod_autoscaler(resource_type: str, props: Mapping[str, Any]) -> PodAutoscaler | None:
    """The autoscaler ``props`` declare (None for other types), with each API's defaults:
    HPA minReplicas 1; KEDA minReplicaCount 0, maxReplicaCount 100, target kind Deployment."""
    name = str(get(props, "metadata", "name", default=""))
    namespace = str(get(props, "metadata", "namespace", default="default"))
    spec = get(props, "spec", default={})
    if resource_type == HPA:
        return PodAutoscaler(
            kind="HorizontalPodAutoscaler",
            name=name,
            namespace=namespace,
            target_kind=str(get(spec, "scaleTargetRef", "kind", default="")),
            target_name=str(get(spec, "scaleTargetRef", "name", default="")),
            min_replicas=get(spec, "minReplicas", default=1),
            max_replicas=get(spec, "maxReplicas"),
            min_field="minReplicas",
            cpu_targets=[
                get(m, "resource", "target", "averageUtilization")
                for m in get(spec, "metrics", default=[])
                if get(m, "type") == "Resource"
                and get(m, "resource", "name") == "cpu"
                and get(m, "resource", "target", "type") == "Utilization"
            ],
        )
    if resource_type == SCALED_OBJECT:
        triggers = list(get(spec, "triggers", default=[]))
        annotations = get(props, "metadata", "annotations", default={})
        paused = _KEDA_PAUSED_REPLICAS in annotations or str(annotations.get(_KEDA_PAUSED, "")).lower() in (
            "true",
            "t",
            "1",
        )
        return PodAutoscaler(
            kind="ScaledObject",
            name=name,
            namespace=namespace,
            target_kind=str(get(spec, "scaleTargetRef", "kind", default="Deployment")),
            target_name=str(get(spec, "scaleTargetRef", "name", default="")),
            min_replicas=get(spec, "minReplicaCount", default=0),
            max_replicas=get(spec, "maxReplicaCount", default=100),
            min_field="minReplicaCount",
            cpu_targets=[]
            if paused
            else [
                _percent(get(t, "metadata", "value"))
                for t in triggers
                if get(t, "type") == "cpu"
                # metricType, or the deprecated metadata.type
                and (get(t, "metricType") or get(t, "metadata", "type")) == "Utilization"
            ],
            crons={
                str(get(t, "name", default="")): get(t, "metadata", "desiredReplicas")
                for t in triggers
                if get(t, "type") == "cron"
            },
        )
    return None


def _percent(value: Any) -> Any:
    # KEDA's trigger metadata values are strings ("80").
    try:
        return int(str(value))
    except ValueError:
        return value


def autoscalers_of(args: StackValidationArgs, deployment: PolicyResource) -> list[tuple[PolicyResource, PodAutoscaler]]:
    """The pod autoscalers (either spelling) that scale ``deployment`` on its own cluster."""
    name = get(deployment.props, "metadata", "name")
    namespace = get(deployment.props, "metadata", "namespace", default="default")
    found = []
    for resource in of_type(args, *AUTOSCALERS):
        autoscaler = pod_autoscaler(resource.resource_type, resource.props)
        if (
            autoscaler is not None
            and same_cluster(resource, deployment)
            and autoscaler.namespace == namespace
            and autoscaler.target_kind == "Deployment"
            and autoscaler.target_name == name
        ):
            found.append((resource, autoscaler))
    return found


@stack_policy(
    "kubernetes-deployment-single-autoscaler",
    "A Deployment is scaled by one pod autoscaler: an HPA or a KEDA ScaledObject, never both.",
)
def single_autoscaler(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    for deployment in of_type(args, DEPLOYMENT):
        mine = autoscalers_of(args, deployment)
        if len(mine) > 1:
            namespace = get(deployment.props, "metadata", "namespace", default="default")
            report(
                f"Deployment {namespace}/{get(deployment.props, 'metadata', 'name')} is scaled by "
                f"{', '.join(a.title for _, a in mine)}: KEDA's webhook refuses a ScaledObject for a workload "
                "another HPA scales, or, with transfer-hpa-ownership, takes that HPA over and garbage-collects "
                "it with the ScaledObject. Declare one autoscaler (the ScaledObject, with a cpu trigger).",
                deployment.urn,
            )


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
