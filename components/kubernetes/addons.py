"""ClusterAddons: what every cluster needs before the courier workloads can scale on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

TYPE = "courier:kubernetes:ClusterAddons"

#: Pinned chart versions (bump deliberately; a chart upgrade is a change to review).
METRICS_SERVER = ("metrics-server", "3.12.2", "https://kubernetes-sigs.github.io/metrics-server/")
KEDA = ("keda", "2.16.1", "https://kedacore.github.io/charts")
CLUSTER_AUTOSCALER = ("cluster-autoscaler", "9.43.2", "https://kubernetes.github.io/autoscaler")
KUBE_PROMETHEUS_STACK = ("kube-prometheus-stack", "65.1.1", "https://prometheus-community.github.io/helm-charts")
PROMETHEUS_OPERATOR_CRDS = ("prometheus-operator-crds", "16.0.0", "https://prometheus-community.github.io/helm-charts")

#: Service accounts that get AWS permissions (EKS Pod Identity).
AUTOSCALER_ACCOUNT = ("kube-system", "cluster-autoscaler")
PROMETHEUS_ACCOUNT = ("monitoring", "prometheus-agent")


@dataclass(frozen=True)
class ClusterAddonsArgs:
    region: str
    environment: str
    #: EKS cluster name: install the cluster autoscaler for its managed node group.
    eks_cluster_name: pulumi.Input[str] | None = None
    #: Amazon Managed Prometheus remote-write URL: run a Prometheus agent that ships the
    #: cluster's metrics there. Without it only the Prometheus Operator CRDs are installed.
    remote_write_url: pulumi.Input[str] | None = None


class ClusterAddons(pulumi.ComponentResource):
    """metrics-server (CPU metrics for the HPAs), KEDA (scheduled pre-scaling for promotions),
    the cluster autoscaler (nodes follow the pods, on EKS), and monitoring: a Prometheus agent
    with node-exporter and kube-state-metrics remote-writing to Managed Prometheus, or just the
    Prometheus Operator CRDs (ServiceMonitor, PrometheusRule) on a cluster monitored elsewhere."""

    releases: dict[str, k8s.helm.v3.Release]

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        self._name = name
        self.releases = {}
        self._release("metrics-server", METRICS_SERVER, "kube-system", {"replicas": 2})
        self._release(
            "keda",
            KEDA,
            "keda",
            {"resources": {"operator": {"requests": {"cpu": "100m", "memory": "128Mi"}}}},
        )
        if args.eks_cluster_name is not None:
            self._release(
                "cluster-autoscaler",
                CLUSTER_AUTOSCALER,
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

    def _release(self, label: str, chart: tuple[str, str, str], namespace: str, values: Mapping[str, Any]) -> None:
        chart_name, version, repository = chart
        self.releases[label] = k8s.helm.v3.Release(
            f"{self._name}-{label}",
            name=label,
            chart=chart_name,
            version=version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repository),
            namespace=namespace,
            create_namespace=True,
            atomic=True,
            values=dict(values),
            opts=pulumi.ResourceOptions(parent=self),
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
