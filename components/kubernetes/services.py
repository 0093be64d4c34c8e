"""KubernetesServices: a region's cluster add-ons and one Workload per Kubernetes service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.addons import ClusterAddons, ClusterAddonsArgs
from components.kubernetes.workload import Resources, Workload, WorkloadArgs
from components.monitoring import rules
from components.spec import EnvironmentSpec, RegionSpec

TYPE = "courier:kubernetes:Services"


@dataclass(frozen=True)
class KubernetesServicesArgs:
    spec: EnvironmentSpec
    region: RegionSpec
    #: The cluster's Kubernetes provider; every child resource is created through it.
    provider: k8s.Provider
    #: Set when the stack built the cluster on EKS (cluster autoscaler, NodePort exposure).
    eks_cluster_name: pulumi.Input[str] | None = None
    #: The EKS cluster's Kubernetes minor (picks the cluster autoscaler); with eks_cluster_name.
    kubernetes_version: str | None = None
    #: What must exist before the add-ons install: the EKS cluster's node group, add-ons, Pod
    #: Identity associations and access entries (EksCluster.ready).
    cluster_ready: Sequence[pulumi.Resource] = ()
    #: Managed Prometheus remote-write URL for the cluster's metrics agent.
    remote_write_url: pulumi.Input[str] | None = None
    #: The image each service runs, by service name: on an EKS cluster, its release in the
    #: region's ECR (Registry.image(...).uri). A service not listed runs its
    #: ``kubernetes.image`` (an existing cluster); one with neither is refused.
    images: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    #: On an EKS cluster: the region's ECR host and the stack's repository prefix, where the
    #: add-ons' images are copied (ClusterAddonsArgs.image_registry / image_prefix).
    image_registry: pulumi.Input[str] | None = None
    image_prefix: str | None = None


class KubernetesServices(pulumi.ComponentResource):
    """The cluster add-ons (components.kubernetes.addons) and, for every Kubernetes service of
    the region, a Workload: on a cluster the stack built, exposed on its NodePort for the
    region's load balancer; on an existing cluster, as a ClusterIP service for that cluster's
    own ingress."""

    def __init__(self, name: str, args: KubernetesServicesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(
            TYPE, name, None, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[args.provider]))
        )
        spec, region = args.spec, args.region
        child = pulumi.ResourceOptions(parent=self)
        addons = ClusterAddons(
            name,
            ClusterAddonsArgs(
                region=region.name,
                environment=spec.environment,
                eks_cluster_name=args.eks_cluster_name,
                kubernetes_version=args.kubernetes_version,
                depends_on=args.cluster_ready,
                remote_write_url=args.remote_write_url,
                image_registry=args.image_registry,
                image_prefix=args.image_prefix,
            ),
            opts=child,
        )
        for service in spec.services_on("kubernetes", region):
            workload = service.kubernetes
            assert workload is not None, "validated by the spec"
            image = args.images.get(service.name, workload.image)
            if image is None:
                raise ValueError(
                    f"KubernetesServicesArgs.images: no image for {service.name!r} (listed: {sorted(args.images)}) "
                    "and the service sets no kubernetes.image"
                )
            Workload(
                f"{name}-{service.name}",
                WorkloadArgs(
                    service=service.name,
                    image=image,
                    port=service.port,
                    health_check_path=service.health_check_path,
                    resources=Resources(
                        workload.cpu_request_millicores,
                        workload.memory_request_mib,
                        workload.cpu_limit,
                        workload.memory_limit,
                    ),
                    capacity=spec.capacity(service, region),
                    cpu_target=service.scaling.cpu_target,
                    promotions=spec.promotion_schedules(service, region),
                    node_port=service.node_port if args.eks_cluster_name is not None else None,
                    rule_groups=rules.rule_groups(spec, region, only=service),
                    region=region.name,
                    environment=spec.environment,
                    keda=addons.releases["keda"],
                    labels=spec.tags(service.name),
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[addons]),
            )
        self.register_outputs({})
