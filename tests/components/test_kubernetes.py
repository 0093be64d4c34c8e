"""Kubernetes: the Workload (HPA at the CPU target, KEDA pre-scaling, hardened pods) and add-ons."""

from __future__ import annotations

from datetime import UTC, datetime

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components import planning
from components.kubernetes.addons import ClusterAddons, ClusterAddonsArgs
from components.kubernetes.workload import Resources, Workload, WorkloadArgs
from components.planning import PromotionSchedule

RAISE = datetime(2026, 12, 11, 14, 30, tzinfo=UTC)
RESTORE = datetime(2026, 12, 12, 18, 0, tzinfo=UTC)


def declare(**overrides):
    def program() -> None:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        settings = dict(
            service="notifications",
            image="registry.example.com/notifications:2.3.1",
            port=8084,
            health_check_path="/healthz",
            resources=Resources(500, 512, 1000, 512),
            capacity=planning.Capacity(6, 6, 48),
            cpu_target=80,
            promotions=[PromotionSchedule("double-12", RAISE, RESTORE, planning.Capacity(18, 18, 48), RAISE)],
            node_port=30084,
            rule_groups=[{"name": "courier-notifications", "rules": [{"alert": "X", "expr": "vector(1)"}]}],
            region="ap-southeast-1",
            environment="prod",
            labels={"service": "notifications", "environment": "prod"},
        )
        settings.update(overrides)
        Workload("apse1-notifications", WorkloadArgs(**settings), opts=pulumi.ResourceOptions(providers=[provider]))

    return program


def kinds(plan) -> dict[str, dict]:
    return {
        r.inputs["kind"]: r.inputs for r in plan.resources if r.type.startswith("kubernetes:") and "kind" in r.inputs
    }


def test_hpa_scales_on_cpu_utilization_at_the_target_fast_up_slow_down(run_components) -> None:
    hpa = kinds(run_components(declare(cpu_target=75)))["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "notifications"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (6, 48)
    (metric,) = hpa["metrics"]
    assert metric == {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 75}},
    }
    assert hpa["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300


def test_deployment_is_hardened_probed_spread_and_never_below_desired(run_components) -> None:
    plan = run_components(declare())
    deployment = kinds(plan)["Deployment"]
    spec = deployment["spec"]
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "1000m", "memory": "512Mi"},
    }
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}
    zones = [c for c in pod["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone"]
    assert zones and zones[0]["maxSkew"] == 1
    (resource,) = [r for r in plan.resources if r.type == "kubernetes:apps/v1:Deployment"]
    assert resource.ignore_changes == ["spec.replicas"]


def test_service_is_a_nodeport_for_the_load_balancer_or_cluster_ip(run_components) -> None:
    service = kinds(run_components(declare()))["Service"]["spec"]
    assert service["type"] == "NodePort" and service["ports"][0]["nodePort"] == 30084
    service = kinds(run_components(declare(node_port=None)))["Service"]["spec"]
    assert service["type"] == "ClusterIP" and "nodePort" not in service["ports"][0]


def test_promotions_add_keda_cron_triggers_beside_the_cpu_trigger(run_components) -> None:
    scaled = kinds(run_components(declare()))["ScaledObject"]
    assert scaled["metadata"]["annotations"] == {"scaledobject.keda.sh/transfer-hpa-ownership": "true"}
    spec = scaled["spec"]
    assert spec["advanced"]["horizontalPodAutoscalerConfig"]["name"] == "notifications"
    cpu, cron = spec["triggers"]
    assert cpu == {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "80"}}
    assert cron["type"] == "cron" and cron["name"] == "double-12"
    assert cron["metadata"] == {
        "timezone": "Etc/UTC",
        "start": "30 14 11 12 *",
        "end": "0 18 12 12 *",
        "desiredReplicas": "18",
    }
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (6, 48)


def test_no_promotions_no_scaled_object(run_components) -> None:
    assert "ScaledObject" not in kinds(run_components(declare(promotions=[])))


def test_monitoring_objects_and_disruption_budget(run_components) -> None:
    objects = kinds(run_components(declare()))
    assert objects["ServiceMonitor"]["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "15s"}]
    assert objects["PrometheusRule"]["spec"]["groups"][0]["name"] == "courier-notifications"
    assert objects["PodDisruptionBudget"]["spec"]["maxUnavailable"] == "10%"
    assert objects["Namespace"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize(
    ("eks", "remote_write", "charts"),
    [
        (True, True, {"metrics-server", "keda", "cluster-autoscaler", "kube-prometheus-stack"}),
        (False, False, {"metrics-server", "keda", "prometheus-operator-crds"}),
    ],
)
def test_cluster_addons_fit_the_cluster(run_components, eks: bool, remote_write: bool, charts: set[str]) -> None:
    def program() -> None:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        ClusterAddons(
            "apse1",
            ClusterAddonsArgs(
                region="ap-southeast-1",
                environment="prod",
                eks_cluster_name="courier-prod-apse1" if eks else None,
                remote_write_url="https://aps/ws/api/v1/remote_write" if remote_write else None,
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    releases = run_components(program).of_type("kubernetes:helm.sh/v3:Release")
    assert {r.inputs["chart"] for r in releases} == charts
    assert all(r.inputs["version"] for r in releases)  # pinned


def test_node_group_is_sized_for_min_and_peak_pods() -> None:
    demand = [planning.PodDemand(500, 512, 6, 48)]
    nodes = planning.node_group_capacity(demand, vcpus=4, memory_mib=16384, zones=3)
    # 48 pods x 500m on 3500m allocatable nodes -> 7 nodes, plus one per zone of headroom.
    assert (nodes.min, nodes.max) == (3, 10)
    with pytest.raises(ValueError, match="does not fit on a node"):
        planning.node_group_capacity([planning.PodDemand(8000, 512, 1, 2)], vcpus=2, memory_mib=8192, zones=2)
