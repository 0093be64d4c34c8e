"""Workload: one courier service on Kubernetes, scaling on CPU like the VM fleets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import planning
from components.kubernetes import autoscaling
from components.kubernetes.labels import tag_labels
from components.planning import PromotionSchedule

TYPE = "courier:kubernetes:Workload"
ZONE_LABEL = "topology.kubernetes.io/zone"


@dataclass(frozen=True)
class Resources:
    cpu_request_millicores: int
    memory_request_mib: int
    cpu_limit_millicores: int
    memory_limit_mib: int


@dataclass(frozen=True)
class WorkloadArgs:
    service: str
    #: Full image reference, e.g. ``<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:...``.
    image: pulumi.Input[str]
    port: int
    health_check_path: str
    resources: Resources
    #: Pods: min and max for the autoscaler (min at least 1: KEDA cannot scale to zero on a
    #: CPU trigger), desired for the first rollout.
    capacity: planning.Capacity
    #: Average CPU utilization (% of the CPU request) the autoscaler holds the pods at.
    cpu_target: int = 80
    #: Promotions still ahead: one KEDA cron trigger each (none: the CPU trigger alone).
    promotions: Sequence[PromotionSchedule] = ()
    #: Expose on this NodePort (the region's load balancer routes to it); None: ClusterIP.
    node_port: int | None = None
    #: The service's Prometheus rule groups (components.monitoring.rules), as a PrometheusRule.
    rule_groups: Sequence[Mapping[str, Any]] = ()
    region: str = ""
    environment: str = "dev"
    #: Installed KEDA (the ScaledObject needs its CRDs and webhook first).
    keda: pulumi.Resource | None = None
    #: Tags (spec.tags), set on every object as ``courier/<tag>`` labels; each must make a
    #: valid label (63 characters of letters, digits, '-', '_', '.'), or construction fails.
    labels: Mapping[str, str] = field(default_factory=dict)


class Workload(pulumi.ComponentResource):
    """A namespace (restricted pod security), a Deployment (requests and limits, startup,
    readiness and liveness probes on the health path, zone spread, rolling updates that
    never go below the desired count, non-root with a read-only root filesystem), a Service,
    a PodDisruptionBudget, a ServiceMonitor, a PrometheusRule, and the autoscaler: a KEDA
    ScaledObject, always, with a CPU trigger at the target (metricType Utilization) and a
    cron trigger per promotion ahead, from which KEDA creates and owns an HPA named after
    the service that scales up at once and down slowly."""

    def __init__(self, name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        autoscaling.validate(
            args.service, args.capacity, args.resources.cpu_request_millicores, args.cpu_target, args.promotions
        )
        child = pulumi.ResourceOptions(parent=self)
        service = args.service
        selector = {"app.kubernetes.io/name": service}
        labels = {**tag_labels(args.labels), **selector, "app.kubernetes.io/part-of": "courier"}

        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=service,
                labels={**labels, "pod-security.kubernetes.io/enforce": "restricted"},
            ),
            opts=child,
        )
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        def meta(object_name: str = service, **extra: Any) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=service, labels=labels, **extra)

        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta(),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=args.capacity.desired,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                # Surge first, never below the desired count while a new version rolls out.
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge="25%"),
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=_pod_spec(args, selector),
                ),
            ),
            # After the first rollout the autoscaler owns the replica count.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace], ignore_changes=["spec.replicas"]),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta(),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="NodePort" if args.node_port is not None else "ClusterIP",
                selector=selector,
                ports=[
                    k8s.core.v1.ServicePortArgs(
                        name="http", port=args.port, target_port="http", protocol="TCP", node_port=args.node_port
                    )
                ],
            ),
            opts=in_namespace,
        )

        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=meta(),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable="10%", selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector)
            ),
            opts=in_namespace,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-servicemonitor",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata=meta(),
            spec={
                "selector": {"matchLabels": selector},
                "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}],
            },
            opts=in_namespace,
        )
        if args.rule_groups:
            k8s.apiextensions.CustomResource(
                f"{name}-rules",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata=meta(),
                spec={"groups": [dict(g) for g in args.rule_groups]},
                opts=in_namespace,
            )
        # The only declaration of the autoscaler: KEDA creates the HPA (named after the
        # service) from it and owns it. Pulumi declares no HPA, so nothing is adopted from
        # Pulumi or garbage-collected when promotions come and go; between promotions the
        # ScaledObject holds the CPU trigger alone.
        after = [deployment, namespace, *([args.keda] if args.keda is not None else [])]
        k8s.apiextensions.CustomResource(
            f"{name}-scaledobject",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=meta(
                # Only for clusters where an earlier version of this program created the HPA
                # itself: KEDA's admission webhook refuses a ScaledObject for a workload an
                # unowned HPA already scales, unless it may take that HPA over. Once no such
                # HPA is declared (the pack refuses one beside a ScaledObject) it is inert.
                annotations={"scaledobject.keda.sh/transfer-hpa-ownership": "true"}
            ),
            spec=autoscaling.scaled_object_spec(args.service, args.capacity, args.cpu_target, args.promotions),
            # KEDA's webhook reads the Deployment's CPU requests when it admits a cpu trigger.
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )
        self.register_outputs({"namespace": namespace.metadata.name})


def _pod_spec(args: WorkloadArgs, selector: Mapping[str, str]) -> k8s.core.v1.PodSpecArgs:
    resources = args.resources
    probe_action = k8s.core.v1.HTTPGetActionArgs(path=args.health_check_path, port="http")
    return k8s.core.v1.PodSpecArgs(
        automount_service_account_token=False,
        security_context=k8s.core.v1.PodSecurityContextArgs(
            run_as_non_root=True,
            run_as_user=10001,
            run_as_group=10001,
            fs_group=10001,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        # Spread over zones so a zone outage takes a fraction of the pods; "ScheduleAnyway"
        # so a storm never leaves pods pending because one zone is momentarily full.
        topology_spread_constraints=[
            k8s.core.v1.TopologySpreadConstraintArgs(
                max_skew=1,
                topology_key=ZONE_LABEL,
                when_unsatisfiable="ScheduleAnyway",
                label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(selector)),
            ),
            k8s.core.v1.TopologySpreadConstraintArgs(
                max_skew=1,
                topology_key="kubernetes.io/hostname",
                when_unsatisfiable="ScheduleAnyway",
                label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(selector)),
            ),
        ],
        termination_grace_period_seconds=30,
        containers=[
            k8s.core.v1.ContainerArgs(
                name=args.service,
                image=args.image,
                ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=args.port, protocol="TCP")],
                env=[
                    k8s.core.v1.EnvVarArgs(name="COURIER_SERVICE", value=args.service),
                    k8s.core.v1.EnvVarArgs(name="COURIER_REGION", value=args.region),
                    k8s.core.v1.EnvVarArgs(name="COURIER_ENVIRONMENT", value=args.environment),
                    k8s.core.v1.EnvVarArgs(name="COURIER_PORT", value=str(args.port)),
                ],
                resources=k8s.core.v1.ResourceRequirementsArgs(
                    requests={
                        "cpu": f"{resources.cpu_request_millicores}m",
                        "memory": f"{resources.memory_request_mib}Mi",
                    },
                    limits={"cpu": f"{resources.cpu_limit_millicores}m", "memory": f"{resources.memory_limit_mib}Mi"},
                ),
                startup_probe=k8s.core.v1.ProbeArgs(http_get=probe_action, period_seconds=2, failure_threshold=60),
                readiness_probe=k8s.core.v1.ProbeArgs(
                    http_get=probe_action, period_seconds=5, timeout_seconds=2, failure_threshold=3
                ),
                liveness_probe=k8s.core.v1.ProbeArgs(
                    http_get=probe_action, period_seconds=10, timeout_seconds=2, failure_threshold=6
                ),
                security_context=k8s.core.v1.SecurityContextArgs(
                    allow_privilege_escalation=False,
                    read_only_root_filesystem=True,
                    run_as_non_root=True,
                    capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                ),
                volume_mounts=[k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
            )
        ],
        volumes=[
            k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="256Mi"))
        ],
    )
