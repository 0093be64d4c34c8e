"""The pod drills, ``pod-delete-<service>`` and ``pod-cpu-stress-<service>``, for the Kubernetes
services on the EKS cluster the stack builds: one experiment role for them all, mapped into the
cluster by an EKS access entry, and per service the RBAC FIS's pods need
(components.aws.drills.kubernetes). Targets by cluster, namespace and Deployment, as pods have
no tags."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws.drills import hypotheses, kubernetes, permissions, probes
from components.aws.drills.actions import action
from components.aws.drills.kubernetes import FIS_KUBERNETES_USER, FIS_SERVICE_ACCOUNT

if TYPE_CHECKING:
    from components.aws.drills import Drills


def pod_drills(drills: Drills, cluster_name: pulumi.Input[str], provider: k8s.Provider) -> None:
    """The pod drills of every pod service on ``cluster_name`` (RBAC through ``provider``)."""
    args = drills.args
    # One role for the region's pod drills: FIS documents the same permissions for both
    # actions, and EKS takes one access entry per principal; RBAC scopes it per namespace.
    role = drills.role(
        "pods",
        pulumi.Output.all(args.account_id, cluster_name).apply(
            lambda v: [*permissions.eks_pods(args.region, v[0], v[1]), permissions.TAG_RESOLUTION]
        ),
    )
    entry = aws.eks.AccessEntry(
        f"{drills.name}-drill-pods",
        cluster_name=cluster_name,
        principal_arn=role.arn,
        user_name=FIS_KUBERNETES_USER,
        type="STANDARD",
        tags=args.tags,
        opts=drills.child_opts,
    )
    in_cluster = pulumi.ResourceOptions(parent=drills, provider=provider, depends_on=[*args.kubernetes_after, entry])
    for pod in args.pods:
        kubernetes.fis_access(f"{drills.name}-{pod.service}-fis", pod.service, args.tags, in_cluster)
        target = aws.fis.ExperimentTemplateTargetArgs(
            name="pods",
            resource_type="aws:eks:pod",
            selection_mode="ALL",
            parameters={
                "clusterIdentifier": cluster_name,
                "namespace": pod.service,
                "selectorType": "deploymentName",
                "selectorValue": pod.service,
            },
        )
        common = {
            "kubernetesServiceAccount": FIS_SERVICE_ACCOUNT,
            # The namespaces enforce the restricted pod security standard.
            "fisPodSecurityPolicy": "restricted",
        }
        deleted = aws.fis.ExperimentTemplateTargetArgs(
            name="pods",
            resource_type="aws:eks:pod",
            selection_mode=f"PERCENT({hypotheses.POD_DELETE_PERCENT})",
            parameters=target.parameters,
        )
        drills.template(
            f"pod-delete-{pod.service}",
            "pod-delete",
            hypotheses.pod_delete(pod.service, pod.pod_start_seconds),
            role,
            [action("delete-pods", "aws:eks:pod-delete", "Pods", "pods", **common)],
            [deleted],
            [],
            [probes.pods_ready(pod.service, args.region)],
            service=pod.service,
        )
        drills.template(
            f"pod-cpu-stress-{pod.service}",
            "pod-cpu-stress",
            hypotheses.pod_cpu_stress(pod.service, pod.cpu_target, pod.pod_start_seconds),
            role,
            [
                action(
                    "stress-pods",
                    "aws:eks:pod-cpu-stress",
                    "Pods",
                    "pods",
                    duration=f"PT{hypotheses.POD_STRESS_MINUTES}M",
                    percent="100",
                    **common,
                )
            ],
            [target],
            [],
            [probes.cpu_under_target(pod.service, args.region, pod.cpu_target)],
            service=pod.service,
        )
