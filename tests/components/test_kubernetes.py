"""Kubernetes: the Workload (one KEDA ScaledObject as its autoscaler, hardened pods, valid
labels), the cluster add-ons (pinned charts, ordered after the cluster is ready) and the EKS
cluster's access entries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from components import planning
from components.aws.eks import ACCESS_POLICIES, ClusterAccess, EksCluster, EksClusterArgs, PodRole
from components.kubernetes import addons
from components.kubernetes.addons import ClusterAddons, ClusterAddonsArgs
from components.kubernetes.labels import tag_labels
from components.kubernetes.services import KubernetesServices, KubernetesServicesArgs
from components.kubernetes.workload import Resources, Workload, WorkloadArgs
from components.planning import PromotionSchedule
from courier.render import fleet_rows
from tests.builders import NAMED_NETWORKS, eks_config, environment, kubernetes_service, mutated, spec_of
from tests.policies.harness import violations

RAISE = datetime(2026, 12, 11, 14, 30, tzinfo=UTC)
RESTORE = datetime(2026, 12, 12, 18, 0, tzinfo=UTC)
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
RELEASE = "kubernetes:helm.sh/v3:Release"


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


# -- the autoscaler: one ScaledObject, promotions or not ---------------------------------------


def test_the_autoscaler_is_a_scaled_object_with_a_cpu_trigger_and_an_hpa_named_after_the_service(
    run_components,
) -> None:
    plan = run_components(declare(cpu_target=75, promotions=[]))
    assert not plan.of_type(HPA)  # KEDA creates and owns it
    (scaled,) = plan.of_type(SCALED_OBJECT)
    spec = scaled.inputs["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "notifications"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (6, 48)
    assert spec["triggers"] == [{"type": "cpu", "metricType": "Utilization", "metadata": {"value": "75"}}]
    hpa = spec["advanced"]["horizontalPodAutoscalerConfig"]
    assert hpa["name"] == "notifications"
    assert hpa["behavior"]["scaleUp"] == {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Percent", "value": 100, "periodSeconds": 15},
            {"type": "Pods", "value": 4, "periodSeconds": 15},
        ],
    }
    assert hpa["behavior"]["scaleDown"] == {
        "stabilizationWindowSeconds": 300,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}],
    }
    assert spec["advanced"]["restoreToOriginalReplicaCount"] is False


def test_promotions_add_one_cron_trigger_each_beside_the_cpu_trigger(run_components) -> None:
    spec = kinds(run_components(declare()))["ScaledObject"]["spec"]
    cpu, cron = spec["triggers"]
    assert cpu == {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "80"}}
    assert cron == {
        "type": "cron",
        "name": "double-12",
        "metadata": {"timezone": "Etc/UTC", "start": "30 14 11 12 *", "end": "0 18 12 12 *", "desiredReplicas": "18"},
    }
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (6, 48)


def test_promotions_coming_and_going_only_update_the_same_scaled_object(run_components) -> None:
    """Defect 8: the autoscaler is never deleted (nor garbage-collected) when promotions end."""
    with_promotion = run_components(declare())
    without = run_components(declare(promotions=[]))
    (before,) = with_promotion.of_type(SCALED_OBJECT)
    (after,) = without.of_type(SCALED_OBJECT)
    assert before.urn == after.urn  # an update in place, not a replacement
    assert before.inputs["spec"]["triggers"][0] == after.inputs["spec"]["triggers"][0]
    assert {r.urn for r in with_promotion.resources} == {r.urn for r in without.resources}
    assert not with_promotion.of_type(HPA) and not without.of_type(HPA)


def test_the_scaled_object_is_declared_after_the_deployment_and_keda(run_components) -> None:
    def program() -> None:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        keda = k8s.helm.v3.Release("keda", chart="keda", opts=pulumi.ResourceOptions(provider=provider))
        declare(keda=keda)()

    plan = run_components(program)
    (scaled,) = plan.of_type(SCALED_OBJECT)
    (deployment,) = plan.of_type("kubernetes:apps/v1:Deployment")
    (keda,) = plan.of_type(RELEASE)
    # KEDA's admission webhook reads the Deployment's CPU requests to admit the cpu trigger.
    assert {deployment.urn, keda.urn} <= set(scaled.dependencies)


def spec_with_kubernetes(promotions: bool):
    def change(config: dict[str, Any]) -> None:
        config["regions"][0]["kubernetes"] = {"cluster": "existing", "kubeconfig": "{}"}
        config["services"].append(
            {
                "name": "notifications",
                "port": 8084,
                "platform": "kubernetes",
                "regions": ["ap-southeast-1"],
                "kubernetes": {
                    "image": "registry.example.com/notifications@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
                },
                "capacity": {"min": 3, "desired": 3, "max": 24},
            }
        )
        if not promotions:
            config["promotions"] = []

    return spec_of(mutated(change))


def plan_services(run_components, spec):
    def program() -> None:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        KubernetesServices("apse1", KubernetesServicesArgs(spec=spec, region=spec.regions[0], provider=provider))

    return run_components(program)


@pytest.mark.parametrize("promotions", [True, False], ids=["with-promotions", "without-promotions"])
def test_a_spec_without_promotions_keeps_a_cpu_autoscaler_for_the_deployment(run_components, promotions) -> None:
    spec = spec_with_kubernetes(promotions)
    plan = plan_services(run_components, spec)
    (scaled,) = plan.of_type(SCALED_OBJECT)
    triggers = scaled.inputs["spec"]["triggers"]
    assert triggers[0] == {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "80"}}
    assert [t["name"] for t in triggers[1:]] == (["double-12"] if promotions else [])
    # The pack agrees, whichever promotions the calendar holds.
    assert violations("kubernetes-deployment-cpu-autoscaling", plan.resources) == []
    assert violations("kubernetes-deployment-promotion-prescale", plan.resources) == []
    assert violations("kubernetes-deployment-single-autoscaler", plan.resources) == []


def test_the_fleet_table_shows_pods_from_the_scaled_object(run_components) -> None:
    (row,) = fleet_rows(run_components(declare()))
    assert (row.fleet, row.kind, row.capacity, row.target, row.promotions) == (
        "apse1-notifications",
        "pods",
        "6/6/48",
        "80%",
        "double-12 18/48",
    )
    (row,) = fleet_rows(run_components(declare(promotions=[])))
    assert (row.capacity, row.target, row.promotions) == ("6/6/48", "80%", "-")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"capacity": planning.Capacity(0, 0, 4)}, "must be at least 1"),
        ({"capacity": planning.Capacity(5, 4, 8)}, "min <= desired <= max"),
        ({"resources": Resources(0, 512, 1000, 512)}, "a CPU request is required"),
        (
            {
                "promotions": [
                    PromotionSchedule("double-12", RAISE, RESTORE, planning.Capacity(18, 18, 48), RAISE),
                    PromotionSchedule("double-12", RAISE, RESTORE, planning.Capacity(18, 18, 48), RAISE),
                ]
            },
            "trigger names must be unique",
        ),
    ],
)
def test_rejects_what_kedas_webhook_would_refuse(run_components, overrides, message) -> None:
    with pytest.raises(Exception, match=message):
        run_components(declare(**overrides))


# -- pods, service, monitoring ------------------------------------------------------------------


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


def test_deployments_on_eks_pull_the_release_from_ecr_in_their_own_region(run_components) -> None:
    config = eks_config()
    plan = run_components(environment(config, stack="prod"), stack="prod")
    (notifications,) = [s for s in config["services"] if s["name"] == "notifications"]
    digest = notifications["artifact"]["digest"]
    deployments = {r.name: r for r in plan.of_type("kubernetes:apps/v1:Deployment")}
    assert sorted(deployments) == ["apne1-notifications-deployment", "apse1-notifications-deployment"]
    for deployment in deployments.values():
        (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
        assert container["image"] == (
            f"123456789012.dkr.ecr.{deployment.region}.amazonaws.com/courier/prod/notifications@{digest}"
        )
    assert {d.region for d in deployments.values()} == {"ap-southeast-1", "ap-northeast-1"}


def test_an_existing_cluster_runs_the_configured_image(run_components) -> None:
    plan = plan_services(run_components, spec_with_kubernetes(promotions=False))
    (container,) = kinds(plan)["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example.com/notifications@sha256:" + "c" * 64


def test_rejects_a_service_with_no_image_to_run(run_components) -> None:
    def change(config: dict[str, Any]) -> None:
        config["regions"][0]["kubernetes"] = {"cluster": "eks", "apiAllowedCidrs": NAMED_NETWORKS}
        config["services"].append(kubernetes_service("notifications", 8084, regions=["ap-southeast-1"]))

    spec = spec_of(mutated(change))

    def program() -> None:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        KubernetesServices("apse1", KubernetesServicesArgs(spec=spec, region=spec.regions[0], provider=provider))

    with pytest.raises(Exception, match=r"KubernetesServicesArgs\.images: no image for 'notifications'"):
        run_components(program)


def test_service_is_a_nodeport_for_the_load_balancer_or_cluster_ip(run_components) -> None:
    service = kinds(run_components(declare()))["Service"]["spec"]
    assert service["type"] == "NodePort" and service["ports"][0]["nodePort"] == 30084
    service = kinds(run_components(declare(node_port=None)))["Service"]["spec"]
    assert service["type"] == "ClusterIP" and "nodePort" not in service["ports"][0]


def test_monitoring_objects_and_disruption_budget(run_components) -> None:
    objects = kinds(run_components(declare()))
    assert objects["ServiceMonitor"]["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "15s"}]
    assert objects["PrometheusRule"]["spec"]["groups"][0]["name"] == "courier-notifications"
    assert objects["PodDisruptionBudget"]["spec"]["maxUnavailable"] == "10%"
    assert objects["Namespace"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


# -- labels (defect 4) ----------------------------------------------------------------------------


def test_every_object_carries_the_tags_as_courier_labels(run_components) -> None:
    plan = run_components(declare(labels={"owner": "courier-platform-team", "environment": "prod"}))
    for resource in plan.resources:
        if resource.type.startswith("kubernetes:") and "kind" in resource.inputs:
            labels = resource.inputs["metadata"]["labels"]
            assert labels["courier/owner"] == "courier-platform-team", resource.urn
            assert labels["courier/environment"] == "prod", resource.urn


@pytest.mark.parametrize(
    "value",
    ["a", "A1", "x" * 63, "team_a.b-c", "", "9"],
    ids=["one-char", "mixed-case", "63-chars", "punctuation-inside", "empty", "digit"],
)
def test_valid_label_values_pass_unchanged(value: str) -> None:
    assert tag_labels({"owner": value}) == {"courier/owner": value}


@pytest.mark.parametrize(
    "value",
    ["Platform Team", "équipe", "x" * 64, "-team", "team.", "a/b", "team\n", "平台"],
    ids=["space", "non-ascii", "64-chars", "leading-dash", "trailing-dot", "slash", "newline", "cjk"],
)
def test_rejects_a_tag_that_is_not_a_valid_label_value(value: str) -> None:
    with pytest.raises(ValueError, match=r"The 'owner' tag \(from courier:owner\) .* is not a valid Kubernetes label"):
        tag_labels({"owner": value})


@pytest.mark.parametrize("tag", ["x" * 64, "bad tag", "-tag", ""], ids=["64-chars", "space", "leading-dash", "empty"])
def test_rejects_a_tag_name_that_is_not_a_valid_label_key(tag: str) -> None:
    with pytest.raises(ValueError, match="is not a valid Kubernetes label key"):
        tag_labels({tag: "value"})


def test_a_workload_with_an_invalid_label_fails_at_construction(run_components) -> None:
    with pytest.raises(Exception, match="not a valid Kubernetes label value"):
        run_components(declare(labels={"stack": "a" * 70}))


# -- add-ons: pinned charts, the autoscaler of the cluster's minor, ordered after the cluster ----


def addons_program(eks: bool, remote_write: bool, version: str | None = "1.34", ready: bool = False):
    def program() -> None:
        provider = k8s.Provider("k8s", kubeconfig="{}")
        needed = (
            [k8s.core.v1.Namespace("ready-marker", opts=pulumi.ResourceOptions(provider=provider))] if ready else []
        )
        ClusterAddons(
            "apse1",
            ClusterAddonsArgs(
                region="ap-southeast-1",
                environment="prod",
                eks_cluster_name="courier-prod-apse1" if eks else None,
                kubernetes_version=version,
                depends_on=needed,
                remote_write_url="https://aps/ws/api/v1/remote_write" if remote_write else None,
                image_registry=ECR_HOST if eks else None,
                image_prefix="courier/prod/" if eks else None,
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return program


ECR_HOST = "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com"


@pytest.mark.parametrize(
    ("eks", "remote_write", "charts"),
    [
        (
            True,
            True,
            {
                "metrics-server": "3.13.1",
                "keda": "2.20.2",
                "cluster-autoscaler": "9.53.0",
                "kube-prometheus-stack": "88.5.3",
            },
        ),
        (False, False, {"metrics-server": "3.13.1", "keda": "2.20.2", "prometheus-operator-crds": "31.0.1"}),
    ],
)
def test_cluster_addons_fit_the_cluster_with_pinned_charts(
    run_components, eks: bool, remote_write: bool, charts: dict[str, str]
) -> None:
    releases = run_components(addons_program(eks, remote_write)).of_type(RELEASE)
    assert {r.inputs["chart"]: r.inputs["version"] for r in releases} == charts
    assert all(r.inputs["atomic"] is True for r in releases)
    # On EKS every add-on image comes from the stack's copy in the region's ECR (nothing a new
    # node starts is pulled from the internet); an existing cluster keeps the charts' registries.
    keda = next(r for r in releases if r.inputs["chart"] == "keda").inputs["values"]
    if eks:
        assert keda["image"]["keda"] == {
            "registry": ECR_HOST,
            "repository": "courier/prod/platform/keda",
            "tag": "2.20.2",
        }
    else:
        assert "image" not in keda


def test_an_eks_cluster_without_its_image_registry_is_refused() -> None:
    with pytest.raises(ValueError, match="image_registry and image_prefix are required with eks_cluster_name"):
        ClusterAddons(
            "apse1",
            ClusterAddonsArgs(
                region="ap-southeast-1", environment="prod", eks_cluster_name="c", kubernetes_version="1.34"
            ),
        )


@pytest.mark.parametrize(
    ("version", "chart", "image"),
    [("1.33", "9.51.0", "v1.33.6"), ("1.34", "9.53.0", "v1.34.5"), ("1.35", "9.59.0", "v1.35.2")],
)
def test_the_cluster_autoscaler_matches_the_clusters_kubernetes_minor(
    run_components, version: str, chart: str, image: str
) -> None:
    releases = run_components(addons_program(True, False, version)).of_type(RELEASE)
    (autoscaler,) = [r for r in releases if r.inputs["chart"] == "cluster-autoscaler"]
    assert autoscaler.inputs["version"] == chart
    assert autoscaler.inputs["values"]["image"] == {
        "repository": f"{ECR_HOST}/courier/prod/platform/cluster-autoscaler",
        "tag": image,
    }
    assert image.startswith(f"v{version}.")


@pytest.mark.parametrize("version", ["1.30", "1.36", "2.0"])
def test_rejects_a_kubernetes_minor_without_a_pinned_cluster_autoscaler(version: str) -> None:
    with pytest.raises(ValueError, match=r"courier:regions\[\]\.kubernetes\.version .* Supported: 1\.33, 1\.34, 1\.35"):
        addons.autoscaler_release(version)


def test_every_release_waits_for_what_the_cluster_needs(run_components) -> None:
    plan = run_components(addons_program(True, True, ready=True))
    (marker,) = plan.of_type("kubernetes:core/v1:Namespace")
    releases = plan.of_type(RELEASE)
    assert len(releases) == 4
    for release in releases:
        assert marker.urn in release.dependencies, release.name


# -- EKS access entries (defect 10) ---------------------------------------------------------------

DEPLOYER = "arn:aws:iam::123456789012:role/courier-deploy"
PREVIEW = "arn:aws:iam::123456789012:role/courier-pr-preview"


def build_eks(access) -> EksCluster:
    provider = aws.Provider("aws-apse1", region="ap-southeast-1")
    return EksCluster(
        "apse1",
        EksClusterArgs(
            cluster_name="courier-prod-apse1",
            region="ap-southeast-1",
            version="1.34",
            private_subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
            node_instance_types=["m6i.xlarge"],
            nodes=planning.Capacity(3, 3, 10),
            pod_roles={"autoscaler": PodRole("kube-system", "cluster-autoscaler", [{"Effect": "Allow"}])},
            access=access,
            tags={"environment": "prod", "service": "shared", "owner": "team"},
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )


def eks_program(access):
    def program() -> None:
        build_eks(access)

    return program


def test_each_principal_gets_an_access_entry_and_a_cluster_wide_policy(run_components) -> None:
    plan = run_components(eks_program([ClusterAccess(DEPLOYER, "admin"), ClusterAccess(PREVIEW, "view")]))
    (cluster,) = plan.of_type("aws:eks/cluster:Cluster")
    assert cluster.inputs["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    entries = {e.inputs["principalArn"]: e for e in plan.of_type("aws:eks/accessEntry:AccessEntry")}
    assert set(entries) == {DEPLOYER, PREVIEW}
    assert all(e.inputs["type"] == "STANDARD" and e.inputs["clusterName"] for e in entries.values())
    associations = {
        a.inputs["principalArn"]: a for a in plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    }
    assert {p: a.inputs["policyArn"] for p, a in associations.items()} == {
        DEPLOYER: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        PREVIEW: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
    }
    assert all(a.inputs["accessScope"] == {"type": "cluster"} for a in associations.values())
    for principal, association in associations.items():
        assert entries[principal].urn in association.property_dependencies["principalArn"]
    assert ACCESS_POLICIES["edit"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"


def test_access_entries_are_named_after_the_principal_not_its_position(run_components) -> None:
    forward = run_components(eks_program([ClusterAccess(DEPLOYER, "admin"), ClusterAccess(PREVIEW, "view")]))
    backward = run_components(eks_program([ClusterAccess(PREVIEW, "view"), ClusterAccess(DEPLOYER, "admin")]))

    def names(plan) -> dict[str, str]:
        return {e.inputs["principalArn"]: e.name for e in plan.of_type("aws:eks/accessEntry:AccessEntry")}

    assert names(forward) == names(backward)
    assert names(forward)[DEPLOYER].startswith("apse1-access-courier-deploy-")


def test_ready_holds_the_node_group_addons_pod_identity_and_access(run_components) -> None:
    ready: list[str] = []

    def program() -> None:
        ready.extend(type(r).__name__ for r in build_eks([ClusterAccess(DEPLOYER, "admin")]).ready)

    run_components(program)
    assert sorted(ready) == sorted(
        ["NodeGroup", "Addon", "Addon", "Addon", "Addon", "PodIdentityAssociation", "AccessPolicyAssociation"]
    )


@pytest.mark.parametrize(
    ("access", "message"),
    [
        ([ClusterAccess(DEPLOYER, "admin"), ClusterAccess(DEPLOYER, "view")], "twice"),
        ([ClusterAccess("arn:aws-cn:iam::123456789012:role/x", "admin")], "partition 'aws-cn'"),
        ([ClusterAccess(DEPLOYER, "owner")], "not one of admin, edit, view"),  # type: ignore[arg-type]
    ],
)
def test_rejects_access_eks_would_refuse(run_components, access, message: str) -> None:
    with pytest.raises(Exception, match=message):
        run_components(eks_program(access))
