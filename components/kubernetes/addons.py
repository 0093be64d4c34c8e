"""ClusterAddons: what every cluster needs before the courier workloads can scale on it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes import charts
from components.kubernetes.charts import (  # re-exported: the pins live with their images
    CLUSTER_AUTOSCALER,
    KEDA,
    KUBE_PROMETHEUS_STACK,
    METRICS_SERVER,
    PROMETHEUS_OPERATOR_CRDS,
    SUPPORTED_KUBERNETES_VERSIONS,
    AutoscalerRelease,
    Chart,
    autoscaler_release,
)

TYPE = "courier:kubernetes:ClusterAddons"
__all__ = [
    "CLUSTER_AUTOSCALER",
    "KEDA",
    "KUBE_PROMETHEUS_STACK",
    "METRICS_SERVER",
    "PROMETHEUS_OPERATOR_CRDS",
    "SUPPORTED_KUBERNETES_VERSIONS",
    "AutoscalerRelease",
    "ClusterAddons",
    "ClusterAddonsArgs",
    "autoscaler_release",
    "autoscaler_statements",
]

#: Service accounts that get AWS permissions (EKS Pod Identity).
AUTOSCALER_ACCOUNT = ("kube-system", "cluster-autoscaler")
PROMETHEUS_ACCOUNT = ("monitoring", "prometheus-agent")


@dataclass(frozen=True)
class ClusterAddonsArgs:
    region: str
    environment: str
    #: EKS cluster name: install the cluster autoscaler for its managed node group.
    eks_cluster_name: pulumi.Input[str] | None = None
    #: The EKS cluster's Kubernetes minor (``1.NN``): picks the cluster autoscaler (required
    #: with ``eks_cluster_name``; one of SUPPORTED_KUBERNETES_VERSIONS).
    kubernetes_version: str | None = None
    #: What the releases need before they install: the node group their pods schedule on, the
    #: EKS add-ons (CNI, CoreDNS), the Pod Identity associations their service accounts use
    #: and the access entries of whoever runs the deploy. Helm's atomic install otherwise races
    #: them on the first `up` and rolls back.
    depends_on: Sequence[pulumi.Resource] = ()
    #: Amazon Managed Prometheus remote-write URL: run a Prometheus agent that ships the
    #: cluster's metrics there. Without it only the Prometheus Operator CRDs are installed.
    remote_write_url: pulumi.Input[str] | None = None
    #: The region's ECR host (``<account>.dkr.ecr.<region>.amazonaws.com``) and the stack's
    #: repository prefix (``courier/<stack>/``): every add-on image is pulled from
    #: ``<host>/<prefix>platform/<name>`` (components.kubernetes.charts). Required with
    #: ``eks_cluster_name``; an existing cluster keeps the charts' own registries.
    image_registry: pulumi.Input[str] | None = None
    image_prefix: str | None = None


class ClusterAddons(pulumi.ComponentResource):
    """metrics-server (CPU metrics for the pod autoscalers), KEDA (the workloads' autoscalers:
    CPU and scheduled pre-scaling for promotions), the cluster autoscaler matching the
    cluster's Kubernetes minor (nodes follow the pods, on EKS), and monitoring: a Prometheus agent
    with node-exporter and kube-state-metrics remote-writing to Managed Prometheus, or just the
    Prometheus Operator CRDs (ServiceMonitor, PrometheusRule) on a cluster monitored elsewhere."""

    releases: dict[str, k8s.helm.v3.Release]

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        # Arguments first: a refused add-on set registers nothing.
        autoscaler: AutoscalerRelease | None = None
        if args.eks_cluster_name is not None:
            if args.kubernetes_version is None:
                raise ValueError("ClusterAddonsArgs.kubernetes_version is required with eks_cluster_name.")
            autoscaler = autoscaler_release(args.kubernetes_version)
            if args.image_registry is None or args.image_prefix is None:
                raise ValueError(
                    "ClusterAddonsArgs.image_registry and image_prefix are required with eks_cluster_name."
                )
        super().__init__(TYPE, name, None, opts)
        self._name = name
        self._images: tuple[pulumi.Input[str], str] | None = None
        if args.eks_cluster_name is not None and args.image_registry is not None and args.image_prefix is not None:
            self._images = (args.image_registry, args.image_prefix)
        self._depends_on = list(args.depends_on)
        self.releases = {}
        self._release("metrics-server", METRICS_SERVER, "kube-system", {"replicas": 2})
        self._release(
            "keda",
            KEDA,
            "keda",
            {"resources": {"operator": {"requests": {"cpu": "100m", "memory": "128Mi"}}}},
        )
        if autoscaler is not None:
            self._release(
                "cluster-autoscaler",
                autoscaler.chart,
                AUTOSCALER_ACCOUNT[0],
                {
                    "autoDiscovery": {"clusterName": args.eks_cluster_name},
                    "awsRegion": args.region,
                    "rbac": {"serviceAccount": {"name": AUTOSCALER_ACCOUNT[1]}},
                    "extraArgs": {
                        "balance-similar-node-groups": True,
                        "expander": "least-waste",
                        "skip-nodes-with-system-pods": False,
                        # Scale nodes in slowly after a storm, like the pods above them.
                        "scale-down-unneeded-time": "10m",
                    },
                },
            )
        if args.remote_write_url is not None:
            self._release(
                "monitoring",
                KUBE_PROMETHEUS_STACK,
                PROMETHEUS_ACCOUNT[0],
                _agent_values(args),
            )
        else:
            self._release("monitoring-crds", PROMETHEUS_OPERATOR_CRDS, PROMETHEUS_ACCOUNT[0], {})
        self.register_outputs({"releases": {k: r.status for k, r in self.releases.items()}})

    def _release(self, label: str, chart: Chart, namespace: str, values: Mapping[str, Any]) -> None:
        if self._images is not None:
            # On a cluster the stack builds, every image from the region's own ECR.
            registry, prefix = self._images
            values = charts.merge(values, charts.image_values(chart.name, chart.version, registry, prefix))
        self.releases[label] = k8s.helm.v3.Release(
            f"{self._name}-{label}",
            name=label,
            chart=chart.name,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
            namespace=namespace,
            create_namespace=True,
            atomic=True,
            values=dict(values),
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._depends_on),
        )


def _agent_values(args: ClusterAddonsArgs) -> dict[str, Any]:
    return {
        "alertmanager": {"enabled": False},
        "grafana": {"enabled": False},
        "prometheus": {
            # Rules are evaluated by Managed Prometheus, alerts routed by its alertmanager.
            "agentMode": True,
            "serviceAccount": {"create": True, "name": PROMETHEUS_ACCOUNT[1]},
            "prometheusSpec": {
                "externalLabels": {"region": args.region, "environment": args.environment},
                "remoteWrite": [{"url": args.remote_write_url, "sigv4": {"region": args.region}}],
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
            },
        },
    }


def autoscaler_statements(cluster_name: str) -> list[dict[str, object]]:
    """What the cluster autoscaler may do: only groups tagged as this cluster's."""
    return [
        {
            "Effect": "Allow",
            "Action": [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
                "eks:DescribeNodegroup",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
            "Resource": "*",
            "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
        },
    ]
