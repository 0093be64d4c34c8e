"""ClusterAddons: what every cluster needs before the courier workloads can scale on it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

TYPE = "courier:kubernetes:ClusterAddons"

#: Pinned chart versions (bump deliberately; a chart upgrade is a change to review). Each was
#: checked against the Kubernetes minors of CLUSTER_AUTOSCALER below (1.33-1.35):
#: - metrics-server chart 3.13.1 = metrics-server 0.8.1, which supports Kubernetes 1.31+
#:   (kubernetes-sigs/metrics-server README, "Compatibility Matrix"; 0.9.x has no chart yet);
#: - KEDA chart 2.20.2 = KEDA 2.20.2, tested on Kubernetes 1.33-1.35 (keda.sh/docs/2.20/operate/cluster);
#: - kube-prometheus-stack 88.5.3 and prometheus-operator-crds 31.0.1 both ship Prometheus
#:   Operator v0.93.1 (prometheus-community/helm-charts, charts' Chart.yaml; kubeVersion >=1.25).
METRICS_SERVER = ("metrics-server", "3.13.1", "https://kubernetes-sigs.github.io/metrics-server/")
KEDA = ("keda", "2.20.2", "https://kedacore.github.io/charts")
KUBE_PROMETHEUS_STACK = ("kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts")
PROMETHEUS_OPERATOR_CRDS = ("prometheus-operator-crds", "31.0.1", "https://prometheus-community.github.io/helm-charts")
AUTOSCALER_REPOSITORY = "https://kubernetes.github.io/autoscaler"


@dataclass(frozen=True)
class AutoscalerRelease:
    """The cluster-autoscaler chart whose app is built for one Kubernetes minor, and the
    newest image of that minor (the autoscaler simulates the scheduler of its own minor)."""

    chart_version: str
    image_tag: str


#: Cluster autoscaler per Kubernetes minor: "use the latest Cluster Autoscaler release that
#: corresponds to the minor version of Kubernetes" (kubernetes/autoscaler, cluster-autoscaler
#: README, "Releases"). Chart = the last one whose appVersion is that minor (tags
#: cluster-autoscaler-chart-*), image = the newest cluster-autoscaler-1.NN.x tag. A minor not
#: listed is refused: add a row after checking KEDA and metrics-server support it too.
CLUSTER_AUTOSCALER: dict[str, AutoscalerRelease] = {
    "1.33": AutoscalerRelease("9.51.0", "v1.33.6"),
    "1.34": AutoscalerRelease("9.53.0", "v1.34.5"),
    "1.35": AutoscalerRelease("9.59.0", "v1.35.2"),
}
SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = tuple(CLUSTER_AUTOSCALER)


def autoscaler_release(kubernetes_version: str) -> AutoscalerRelease:
    """The cluster autoscaler for a cluster of ``kubernetes_version`` (``1.NN``), or a
    ValueError naming the config key and the versions this stack supports."""
    release = CLUSTER_AUTOSCALER.get(kubernetes_version)
    if release is None:
        raise ValueError(
            f"courier:regions[].kubernetes.version is {kubernetes_version!r}: no cluster autoscaler is pinned for "
            f"that Kubernetes minor (it must match the cluster's). Supported: {', '.join(SUPPORTED_KUBERNETES_VERSIONS)}."
        )
    return release


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


class ClusterAddons(pulumi.ComponentResource):
    """metrics-server (CPU metrics for the pod autoscalers), KEDA (the workloads' autoscalers:
    CPU and scheduled pre-scaling for promotions), the cluster autoscaler matching the
    cluster's Kubernetes minor (nodes follow the pods, on EKS), and monitoring: a Prometheus agent
    with node-exporter and kube-state-metrics remote-writing to Managed Prometheus, or just the
    Prometheus Operator CRDs (ServiceMonitor, PrometheusRule) on a cluster monitored elsewhere."""

    releases: dict[str, k8s.helm.v3.Release]

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        autoscaler: AutoscalerRelease | None = None
        if args.eks_cluster_name is not None:
            if args.kubernetes_version is None:
                raise ValueError("ClusterAddonsArgs.kubernetes_version is required with eks_cluster_name.")
            autoscaler = autoscaler_release(args.kubernetes_version)
        self._name = name
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
                ("cluster-autoscaler", autoscaler.chart_version, AUTOSCALER_REPOSITORY),
                AUTOSCALER_ACCOUNT[0],
                {
                    "image": {"tag": autoscaler.image_tag},
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
