"""Kubernetes workloads: every pod the stack declares runs unprivileged, as non-root, outside the
node's namespaces, whichever object declares it; and no PodDisruptionBudget protects nothing.

A pod is declared by a bare Pod, or by the pod template of a Deployment, ReplicaSet,
StatefulSet, DaemonSet, ReplicationController, Job or CronJob: each is judged alike. Kubernetes'
defaults apply to what a pod leaves out: ``allowPrivilegeEscalation`` is true unless set false,
``runAsNonRoot`` is unset (root unless the image says otherwise), and a container's
``securityContext`` overrides its pod's (Kubernetes API reference, SecurityContext and
PodSecurityContext: "If set in both SecurityContext and PodSecurityContext, the value specified
in SecurityContext takes precedence"). Adding the ``ALL`` or ``SYS_ADMIN`` capability is as good
as privileged. These are the Pod Security Standards' "restricted" rules the namespaces enforce
in the cluster (components/kubernetes: restricted pod security), checked before `up`.

Objects that Helm installs in the cluster (the ``helm.sh/v3:Release`` charts) are rendered by the
cluster, not by the program, and are not seen here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs

from guardrails.common import (
    DEPLOYMENT,
    PDB,
    Report,
    get,
    of_type,
    resource_policy,
    same_cluster,
    stack_policy,
)
from guardrails.kubernetes import AUTOSCALERS, pod_autoscaler

POD = "kubernetes:core/v1:Pod"
REPLICATION_CONTROLLER = "kubernetes:core/v1:ReplicationController"
REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"

#: Where each kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    POD: ("spec",),
    DEPLOYMENT: ("spec", "template", "spec"),
    REPLICA_SET: ("spec", "template", "spec"),
    STATEFUL_SET: ("spec", "template", "spec"),
    DAEMON_SET: ("spec", "template", "spec"),
    REPLICATION_CONTROLLER: ("spec", "template", "spec"),
    JOB: ("spec", "template", "spec"),
    CRON_JOB: ("spec", "jobTemplate", "spec", "template", "spec"),
}
WORKLOADS = tuple(POD_SPEC_PATHS)
#: Kinds with a replica count a PodDisruptionBudget can be measured against.
REPLICATED = (DEPLOYMENT, REPLICA_SET, STATEFUL_SET, REPLICATION_CONTROLLER)
PRIVILEGED_CAPABILITIES = {"ALL", "SYS_ADMIN", "CAP_SYS_ADMIN"}


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any]:
    return get(props, *POD_SPEC_PATHS.get(resource_type, ("spec", "template", "spec")), default={})


def containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(field, container) for every container, init container and ephemeral container."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in get(spec, key, default=[]):
            yield key, container


def _title(args: ResourceValidationArgs) -> str:
    kind = args.resource_type.rsplit(":", 1)[-1]
    namespace = get(args.props, "metadata", "namespace", default="default")
    return f"{kind} {namespace}/{get(args.props, 'metadata', 'name', default=args.name)}"


@resource_policy(
    "kubernetes-pod-no-privilege",
    "No container of any workload (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob, ...) is "
    "privileged, adds ALL or SYS_ADMIN, or may escalate privileges (allowed unless set false).",
    list(WORKLOADS),
)
def no_privilege(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    for field, container in containers(pod_spec(args.resource_type, args.props)):
        context = get(container, "securityContext", default={})
        name = f"{_title(args)}: {field} {get(container, 'name')}"
        if get(context, "privileged", default=False):
            report(f"{name} is privileged (root on the node); remove privileged: true.")
        added = {str(c).upper() for c in get(context, "capabilities", "add", default=[])}
        if added & PRIVILEGED_CAPABILITIES:
            report(
                f"{name} adds {', '.join(sorted(added & PRIVILEGED_CAPABILITIES))}, as good as privileged; drop ALL "
                "and add only the narrow capability it needs (e.g. NET_BIND_SERVICE)."
            )
        if get(context, "allowPrivilegeEscalation", default=True) is not False:
            report(f"{name} may gain privileges (allowPrivilegeEscalation is true unless set); set it to false.")


@resource_policy(
    "kubernetes-pod-host-namespaces",
    "No pod of any workload shares the node's network, process or IPC namespace (hostNetwork, hostPID, hostIPC).",
    list(WORKLOADS),
)
def host_namespaces(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    spec = pod_spec(args.resource_type, args.props)
    shared = [k for k in ("hostNetwork", "hostPID", "hostIPC") if get(spec, k, default=False)]
    if shared:
        report(
            f"{_title(args)} shares the node's {', '.join(shared)}: it can see and reach everything on the node; "
            f"remove {' and '.join(f'{k}: true' for k in shared)}."
        )


@resource_policy(
    "kubernetes-pod-non-root",
    "Every container of any workload runs as non-root: runAsNonRoot true on the container, or on the pod "
    "and not overridden by the container.",
    list(WORKLOADS),
)
def non_root(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    spec = pod_spec(args.resource_type, args.props)
    pod = get(spec, "securityContext", default={})
    for field, container in containers(spec):
        context = get(container, "securityContext", default={})
        own = get(context, "runAsNonRoot")
        effective = own if own is not None else get(pod, "runAsNonRoot")
        user = get(context, "runAsUser", default=get(pod, "runAsUser"))
        name = f"{_title(args)}: {field} {get(container, 'name')}"
        if effective is not True:
            why = "overrides the pod with runAsNonRoot: false" if own is False else "sets no runAsNonRoot"
            report(f"{name} may run as root ({why}); set securityContext.runAsNonRoot: true (and a runAsUser).")
        elif user == 0:
            report(f"{name} asks for runAsUser 0 with runAsNonRoot: it never starts; run as a non-zero user.")


# -- PodDisruptionBudgets ------------------------------------------------------------------------

_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")


def _scaled(value: Any, replicas: int) -> int | None:
    """An int-or-percent of ``replicas``, rounded up as the disruption controller rounds it
    (kubernetes pkg/controller/disruption: GetScaledValueFromIntOrPercent(..., roundUp=true))."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    match = _PERCENT.match(str(value))
    if match:
        return math.ceil(float(match.group(1)) * replicas / 100)
    if str(value).strip().isdigit():
        return int(str(value).strip())
    return None


def _selects(budget: PolicyResource, workload: PolicyResource) -> bool:
    if not same_cluster(budget, workload):
        return False
    if get(budget.props, "metadata", "namespace", default="default") != get(
        workload.props, "metadata", "namespace", default="default"
    ):
        return False
    wanted = get(budget.props, "spec", "selector", "matchLabels", default={})
    labels = get(workload.props, "spec", "template", "metadata", "labels", default={})
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def _floor(args: StackValidationArgs, workload: PolicyResource) -> int:
    """The fewest replicas the workload runs: its autoscaler's floor, else spec.replicas (default 1)."""
    name = get(workload.props, "metadata", "name")
    namespace = get(workload.props, "metadata", "namespace", default="default")
    kind = workload.resource_type.rsplit(":", 1)[-1]
    floors = []
    for resource in of_type(args, *AUTOSCALERS):
        autoscaler = pod_autoscaler(resource.resource_type, resource.props)
        if (
            autoscaler is not None
            and same_cluster(resource, workload)
            and autoscaler.namespace == namespace
            and autoscaler.target_kind == kind
            and autoscaler.target_name == name
            and isinstance(autoscaler.min_replicas, (int, float))
        ):
            floors.append(int(autoscaler.min_replicas))
    if floors:
        return min(floors)
    replicas = get(workload.props, "spec", "replicas", default=1)
    return int(replicas) if isinstance(replicas, (int, float)) else 1


@stack_policy(
    "kubernetes-pdb-protects-pods",
    "A PodDisruptionBudget keeps at least one pod of what it selects: never minAvailable 0 / 0%, never "
    "maxUnavailable 100% or as many as the workload's fewest replicas.",
)
def pdb_protects(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    workloads = of_type(args, *REPLICATED)
    for budget in of_type(args, PDB):
        spec = get(budget.props, "spec", default={})
        title = (
            f"PodDisruptionBudget {get(budget.props, 'metadata', 'namespace', default='default')}/"
            f"{get(budget.props, 'metadata', 'name', default=budget.name)}"
        )
        minimum = get(spec, "minAvailable")
        maximum = get(spec, "maxUnavailable")
        if minimum is not None and _scaled(minimum, 100) == 0:
            report(
                f"{title} has minAvailable {minimum}: drains may evict every pod; set maxUnavailable 10%.", budget.urn
            )
            continue
        if maximum is None:
            continue
        share = _scaled(maximum, 100) if str(maximum).strip().endswith("%") else None
        if share is not None and share >= 100:
            report(f"{title} has maxUnavailable {maximum}: drains may evict every pod; set it to 10%.", budget.urn)
            continue
        for workload in workloads:
            if not _selects(budget, workload):
                continue
            replicas = _floor(args, workload)
            allowed = _scaled(maximum, replicas)
            if allowed is not None and allowed >= replicas:
                report(
                    f"{title} allows {allowed} of {workload.name}'s {replicas} replica(s) at its floor to be evicted "
                    f"at once (maxUnavailable {maximum}): it protects nothing. Lower maxUnavailable (10%, rounded up "
                    "to 1) or raise the workload's minimum replicas.",
                    budget.urn,
                )
