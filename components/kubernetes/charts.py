"""The cluster add-ons' Helm charts, pinned, and the container images each deploys, with the chart
values that make every one of them come from the stack's own ECR repositories in the cluster's
region. Pure: no resources.

A node that the cluster autoscaler adds during a storm starts DaemonSets (node-exporter) and
may reschedule add-on pods (metrics-server, KEDA, the autoscaler itself): with the charts'
defaults each of those pulls from quay.io, registry.k8s.io or ghcr.io, so the scale-out would
depend on a third party's availability and rate limits (ghcr.io and Docker Hub rate-limit
anonymous pulls). Instead the release pipeline copies each image below unchanged into
``courier/<stack>/platform/<name>`` of the primary region (tags are immutable there), ECR
replication brings it to every region, and the chart values point every image at the copy in
the cluster's own region, which the node role may already pull from
(AmazonEC2ContainerRegistryReadOnly).

Every image each chart deploys *with the values ClusterAddons passes* is listed, with the values
keys that build its reference, as read from the charts' templates at the pinned versions:
- metrics-server 3.13.1 (kubernetes-sigs/metrics-server, charts/metrics-server/templates/
  _helpers.tpl): ``printf "%s:%s" .Values.image.repository (.Values.image.tag | default
  appVersion)``: the repository key carries the registry host. addon-resizer is off by default.
- keda 2.20.2 (kedacore/charts, keda/templates/{manager,metrics-server,webhooks}/deployment.yaml):
  ``{{ global.image.registry | default image.<x>.registry }}/{{ image.<x>.repository }}:{{ tag }}``
  for the operator, the metrics API server and the admission webhooks.
- cluster-autoscaler 9.51.0 / 9.53.0 / 9.59.0 (kubernetes/autoscaler, deployment.yaml):
  ``"{{ .Values.image.repository }}:{{ .Values.image.tag }}"``.
- kube-prometheus-stack 88.5.3 in agent mode (prometheus-community/helm-charts): the operator,
  the config reloader it injects (``--prometheus-config-reloader=`` argument), Prometheus
  (``prometheusSpec.image``), the admission-webhook certificate jobs (kube-webhook-certgen) and
  the kube-state-metrics 8.4.0 and prometheus-node-exporter 4.56.1 subcharts, each
  ``<registry>/<repository>:<tag>`` (node-exporter appends ``-distroless`` to the tag when
  ``image.distroless``; it is switched off here and the tag names the distroless build itself,
  so the values say exactly what is pulled). Alertmanager, Grafana, Thanos and the webhook
  Deployment are not deployed with these values.
- prometheus-operator-crds 31.0.1 installs only CustomResourceDefinitions: no image.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Where the stack keeps third-party images, under its own prefix ``courier/<stack>/``.
PLATFORM = "platform"


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repository: str


#: Pinned chart versions (bump deliberately; a chart upgrade is a change to review, and its
#: images must be listed in CHART_IMAGES). Each was checked against the Kubernetes minors of
#: CLUSTER_AUTOSCALER below (1.33-1.35):
#: - metrics-server chart 3.13.1 = metrics-server 0.8.1, which supports Kubernetes 1.31+
#:   (kubernetes-sigs/metrics-server README, "Compatibility Matrix"; 0.9.x has no chart yet);
#: - KEDA chart 2.20.2 = KEDA 2.20.2, tested on Kubernetes 1.33-1.35 (keda.sh/docs/2.20/operate/cluster);
#: - kube-prometheus-stack 88.5.3 and prometheus-operator-crds 31.0.1 both ship Prometheus
#:   Operator v0.93.1 (prometheus-community/helm-charts, charts' Chart.yaml; kubeVersion >=1.25).
METRICS_SERVER = Chart("metrics-server", "3.13.1", "https://kubernetes-sigs.github.io/metrics-server/")
KEDA = Chart("keda", "2.20.2", "https://kedacore.github.io/charts")
KUBE_PROMETHEUS_STACK = Chart("kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts")
PROMETHEUS_OPERATOR_CRDS = Chart(
    "prometheus-operator-crds", "31.0.1", "https://prometheus-community.github.io/helm-charts"
)
AUTOSCALER_REPOSITORY = "https://kubernetes.github.io/autoscaler"


@dataclass(frozen=True)
class AutoscalerRelease:
    """The cluster-autoscaler chart whose app is built for one Kubernetes minor, and the
    newest image of that minor (the autoscaler simulates the scheduler of its own minor)."""

    chart_version: str
    image_tag: str

    @property
    def chart(self) -> Chart:
        return Chart("cluster-autoscaler", self.chart_version, AUTOSCALER_REPOSITORY)


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


@dataclass(frozen=True)
class ChartImage:
    """One image a chart deploys: where it comes from upstream, the name of its copy under
    ``courier/<stack>/platform/``, and the values keys that build its reference."""

    #: Repository name under ``courier/<stack>/platform/``; several tags may share it.
    name: str
    #: Upstream repository, e.g. ``quay.io/prometheus/prometheus``.
    upstream: str
    tag: str
    #: Dotted values path of the repository, e.g. ``image.keda.repository``.
    repository_key: str
    tag_key: str
    #: Dotted values path of the registry host, or None when the chart takes the host as part
    #: of the repository (metrics-server, cluster-autoscaler).
    registry_key: str | None = None
    #: Extra values that keep the chart from rewriting the reference (node-exporter's
    #: ``image.distroless``).
    fixed: tuple[tuple[str, Any], ...] = ()


def _kps(name: str, upstream: str, tag: str, prefix: str) -> ChartImage:
    """An image of kube-prometheus-stack or its subcharts: ``<prefix>.image.{registry,repository,tag}``."""
    return ChartImage(
        name, upstream, tag, f"{prefix}.image.repository", f"{prefix}.image.tag", f"{prefix}.image.registry"
    )


def _keda(name: str, key: str) -> ChartImage:
    return ChartImage(
        name,
        f"ghcr.io/kedacore/{name}",
        "2.20.2",
        f"image.{key}.repository",
        f"image.{key}.tag",
        f"image.{key}.registry",
    )


def _autoscaler(tag: str) -> tuple[ChartImage, ...]:
    return (
        ChartImage(
            "cluster-autoscaler", "registry.k8s.io/autoscaling/cluster-autoscaler", tag, "image.repository", "image.tag"
        ),
    )


#: (chart, version) -> every image it deploys with ClusterAddons' values. A chart or version not
#: listed here cannot be installed on an EKS cluster the stack builds (ClusterAddons refuses it
#: and the verification stage reports it): add its images after reading its templates.
CHART_IMAGES: dict[tuple[str, str], tuple[ChartImage, ...]] = {
    (METRICS_SERVER.name, METRICS_SERVER.version): (
        ChartImage(
            "metrics-server", "registry.k8s.io/metrics-server/metrics-server", "v0.8.1", "image.repository", "image.tag"
        ),
    ),
    (KEDA.name, KEDA.version): (
        _keda("keda", "keda"),
        _keda("keda-metrics-apiserver", "metricsApiServer"),
        _keda("keda-admission-webhooks", "webhooks"),
    ),
    # The cluster autoscaler's image follows the cluster's Kubernetes minor.
    **{("cluster-autoscaler", r.chart_version): _autoscaler(r.image_tag) for r in CLUSTER_AUTOSCALER.values()},
    (KUBE_PROMETHEUS_STACK.name, KUBE_PROMETHEUS_STACK.version): (
        _kps(
            "prometheus-operator",
            "quay.io/prometheus-operator/prometheus-operator",
            "v0.93.1",
            "prometheusOperator",
        ),
        _kps(
            "prometheus-config-reloader",
            "quay.io/prometheus-operator/prometheus-config-reloader",
            "v0.93.1",
            "prometheusOperator.prometheusConfigReloader",
        ),
        _kps("prometheus", "quay.io/prometheus/prometheus", "v3.14.0-distroless", "prometheus.prometheusSpec"),
        _kps(
            "kube-webhook-certgen",
            "ghcr.io/jkroepke/kube-webhook-certgen",
            "1.8.7",
            "prometheusOperator.admissionWebhooks.patch",
        ),
        _kps(
            "kube-state-metrics",
            "registry.k8s.io/kube-state-metrics/kube-state-metrics",
            "v2.20.0",
            "kube-state-metrics",
        ),
        ChartImage(
            "node-exporter",
            "quay.io/prometheus/node-exporter",
            "v1.12.1-distroless",
            "prometheus-node-exporter.image.repository",
            "prometheus-node-exporter.image.tag",
            "prometheus-node-exporter.image.registry",
            fixed=(("prometheus-node-exporter.image.distroless", False),),
        ),
    ),
    (PROMETHEUS_OPERATOR_CRDS.name, PROMETHEUS_OPERATOR_CRDS.version): (),
}


def chart_images(chart: str, version: str) -> tuple[ChartImage, ...]:
    """The images of ``chart`` at ``version``, or a KeyError naming the charts that are listed."""
    try:
        return CHART_IMAGES[(chart, version)]
    except KeyError:
        known = ", ".join(f"{c} {v}" for c, v in CHART_IMAGES)
        raise KeyError(
            f"chart {chart} {version} has no image list (components/kubernetes/addon_images.py): {known}"
        ) from None


def repository_names() -> tuple[str, ...]:
    """Every repository name under ``courier/<stack>/platform/`` that the add-ons pull from."""
    return tuple(sorted({image.name for images in CHART_IMAGES.values() for image in images}))


def image_values(chart: str, version: str, registry_host: Any, prefix: str) -> dict[str, Any]:
    """Values that point every image of the chart at ``<registry_host>/<prefix>platform/<name>:<tag>``.

    ``registry_host`` is the region's ECR host (``<account>.dkr.ecr.<region>.amazonaws.com``),
    a string or an Output; ``prefix`` is the stack's ``courier/<stack>/``."""
    values: dict[str, Any] = {}
    for image in chart_images(chart, version):
        repository = f"{prefix}{PLATFORM}/{image.name}"
        if image.registry_key is None:
            _set(values, image.repository_key, _join(registry_host, repository))
        else:
            _set(values, image.registry_key, registry_host)
            _set(values, image.repository_key, repository)
        _set(values, image.tag_key, image.tag)
        for key, value in image.fixed:
            _set(values, key, value)
    return values


def merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, nested mappings merged key by key (extra wins)."""
    merged = dict(base)
    for key, value in extra.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merge(current, value)
        else:
            merged[key] = value
    return merged


def lookup(values: Mapping[str, Any], key: str) -> Any:
    """The value at dotted ``key`` in nested ``values``, or None."""
    node: Any = values
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _set(values: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    node = values
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _join(host: Any, repository: str) -> Any:
    if isinstance(host, str):
        return f"{host}/{repository}"
    # A pulumi Output: the host is known once the repository exists.
    return host.apply(lambda h: f"{h}/{repository}")
