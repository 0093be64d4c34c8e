"""Workload: one courier service on Kubernetes, scaling on CPU like the VM fleets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import planning
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
    image: str
    port: int
    health_check_path: str
    resources: Resources
    #: Pods: min and max for the autoscaler, desired for the first rollout.
    capacity: planning.Capacity
    #: Average CPU utilization (% of the CPU request) the HPA holds the pods at.
    cpu_target: int = 80
    promotions: Sequence[PromotionSchedule] = ()
    #: Expose on this NodePort (the region's load balancer routes to it); None: ClusterIP.
    node_port: int | None = None
    #: The service's Prometheus rule groups (components.monitoring.rules), as a PrometheusRule.
    rule_groups: Sequence[Mapping[str, Any]] = ()
    region: str = ""
    environment: str = "dev"
    #: Installed KEDA (the ScaledObject needs its CRDs and webhook first).
    keda: pulumi.Resource | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


class Workload(pulumi.ComponentResource):
    """A namespace (restricted pod security), a Deployment (requests and limits, startup,
    readiness and liveness probes on the health path, zone spread, rolling updates that
    never go below the desired count, non-root with a read-only root filesystem), a Service,
    an autoscaling/v2 HPA on CPU utilization at the target (fast up, slow down), a
    PodDisruptionBudget, a ServiceMonitor and a PrometheusRule; and, when promotions are
    ahead, a KEDA ScaledObject that adopts the HPA and adds a cron trigger per promotion so
    pods are pre-scaled like the fleets."""

    def __init__(self, name: str, args: WorkloadArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        service = args.service
        selector = {"app.kubernetes.io/name": service}
        labels = {**_labels(args.labels), **selector, "app.kubernetes.io/part-of": "courier"}

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

        k8s.apps.v1.Deployment(
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

        maximum = max([args.capacity.max, *(p.capacity.max for p in args.promotions)])
        behavior = _behavior()
        hpa = k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=meta(
                # KEDA takes the HPA over to add the promotion triggers; on a later config
                # change Pulumi re-applies its own fields instead of failing on the conflict.
                annotations={"pulumi.com/patchForce": "true"}
            ),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1", kind="Deployment", name=service
                ),
                min_replicas=args.capacity.min,
                max_replicas=maximum,
                metrics=[
                    k8s.autoscaling.v2.MetricSpecArgs(
                        type="Resource",
                        resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                            name="cpu",
                            target=k8s.autoscaling.v2.MetricTargetArgs(
                                type="Utilization", average_utilization=args.cpu_target
                            ),
                        ),
                    )
                ],
                behavior=behavior,
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
        if args.promotions:
            depends = [hpa] + ([args.keda] if args.keda is not None else [])
            k8s.apiextensions.CustomResource(
                f"{name}-scaledobject",
                api_version="keda.sh/v1alpha1",
                kind="ScaledObject",
                metadata=meta(annotations={"scaledobject.keda.sh/transfer-hpa-ownership": "true"}),
                spec={
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service},
                    "minReplicaCount": args.capacity.min,
                    "maxReplicaCount": maximum,
                    "advanced": {
                        "horizontalPodAutoscalerConfig": {"name": service, "behavior": _behavior_dict()},
                    },
                    "triggers": [
                        {"type": "cpu", "metricType": "Utilization", "metadata": {"value": str(args.cpu_target)}},
                        *(_cron_trigger(p) for p in args.promotions),
                    ],
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
            )
        self.register_outputs({"namespace": namespace.metadata.name})


def _labels(tags: Mapping[str, str]) -> dict[str, str]:
    return {f"courier/{k}": v for k, v in tags.items()}


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


def _behavior_dict() -> dict[str, Any]:
    """Scale up at once (double or +4 pods every 15 s), down slowly (10% a minute after 5
    minutes of lower load): a storm's first minutes matter, a premature scale-in hurts."""
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Percent", "value": 100, "periodSeconds": 15},
                {"type": "Pods", "value": 4, "periodSeconds": 15},
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 300,
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}],
        },
    }


def _behavior() -> k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs:
    up, down = _behavior_dict()["scaleUp"], _behavior_dict()["scaleDown"]

    def rules(spec: dict[str, Any]) -> k8s.autoscaling.v2.HPAScalingRulesArgs:
        return k8s.autoscaling.v2.HPAScalingRulesArgs(
            stabilization_window_seconds=spec["stabilizationWindowSeconds"],
            select_policy=spec["selectPolicy"],
            policies=[
                k8s.autoscaling.v2.HPAScalingPolicyArgs(
                    type=p["type"], value=p["value"], period_seconds=p["periodSeconds"]
                )
                for p in spec["policies"]
            ],
        )

    return k8s.autoscaling.v2.HorizontalPodAutoscalerBehaviorArgs(scale_up=rules(up), scale_down=rules(down))


def _cron(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return f"{utc.minute} {utc.hour} {utc.day} {utc.month} *"


def _cron_trigger(promotion: PromotionSchedule) -> dict[str, Any]:
    # Cron has no year: the trigger would recur a year later, but the next `pulumi up` after
    # the promotion drops it (only promotions still ahead are planned). A promotion already
    # under way keeps its real start, so the window is active from the moment KEDA sees it.
    start = promotion.window_start or promotion.raise_at or promotion.restore_at
    return {
        "type": "cron",
        "name": promotion.name,
        "metadata": {
            "timezone": "Etc/UTC",
            "start": _cron(start),
            "end": _cron(promotion.restore_at),
            "desiredReplicas": str(promotion.capacity.desired),
        },
    }
