"""The pod-autoscaler policies judge what the cluster will run, whichever object declares it:
a KEDA ScaledObject (cpu trigger; KEDA derives and owns the HPA) or an autoscaling/v2 HPA.

Each case runs on the prod Plan as the program declares it (ScaledObjects) and on the same
Plan with every ScaledObject rewritten as the equivalent HPA.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from courier.plan import Plan, Resource
from tests.conftest import StackPlans
from tests.policies.harness import violations

SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
FLOOR = {"minCapacity": 2}
POLICIES = {
    "kubernetes-hpa-min-replicas": FLOOR,
    "kubernetes-deployment-cpu-autoscaling": None,
    "kubernetes-deployment-single-autoscaler": None,
    "kubernetes-scaledobject-max-covers-peak": None,
}


@pytest.fixture(scope="module")
def prod(stack_plans: StackPlans) -> Plan:
    return stack_plans["prod"]


def as_hpa(scaled: Resource) -> Resource:
    """The autoscaling/v2 HPA equivalent to a ScaledObject's CPU autoscaling (no cron)."""
    spec = scaled.inputs["spec"]
    (cpu,) = [t for t in spec["triggers"] if t["type"] == "cpu"]
    hpa = copy.deepcopy(scaled)
    hpa.type = HPA
    hpa.urn = scaled.urn.replace("keda.sh/v1alpha1:ScaledObject", "autoscaling/v2:HorizontalPodAutoscaler").replace(
        "-scaledobject", "-hpa"
    )
    hpa.name = scaled.name.replace("-scaledobject", "-hpa")
    metadata = scaled.inputs["metadata"]
    hpa.inputs = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": metadata["name"], "namespace": metadata["namespace"], "labels": metadata["labels"]},
        "spec": {
            "scaleTargetRef": spec["scaleTargetRef"],
            "minReplicas": spec["minReplicaCount"],
            "maxReplicas": spec["maxReplicaCount"],
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": int(cpu["metadata"]["value"])},
                    },
                }
            ],
            "behavior": spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"],
        },
    }
    return hpa


def spelled(plan: Plan, spelling: str) -> list[Resource]:
    resources = copy.deepcopy(plan.resources)
    if spelling == "scaledobject":
        return resources
    return [as_hpa(r) if r.type == SCALED_OBJECT else r for r in resources]


def changed(resources: list[Resource], resource_type: str, change: Callable[[dict[str, Any]], None]) -> list[Resource]:
    """``resources`` with the first one of ``resource_type`` changed by ``change(inputs)``."""
    out = copy.deepcopy(resources)
    target = next(r for r in out if r.type == resource_type)
    change(target.inputs)
    return out


SPELLINGS = ["scaledobject", "hpa"]


def test_the_prod_plan_declares_scaled_objects_only(prod: Plan) -> None:
    assert len(prod.of_type(SCALED_OBJECT)) == 3
    assert not prod.of_type(HPA)
    assert len(spelled(prod, "hpa")) == len(prod.resources)


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_both_spellings_comply(prod: Plan, spelling: str, policy: str) -> None:
    assert violations(policy, spelled(prod, spelling), POLICIES[policy]) == []


def test_only_a_scaled_object_pre_scales_for_promotions(prod: Plan) -> None:
    assert violations("kubernetes-deployment-promotion-prescale", spelled(prod, "scaledobject")) == []
    found = violations("kubernetes-deployment-promotion-prescale", spelled(prod, "hpa"))
    # three regions x three promotions on the calendar (ASG schedules still name them)
    assert len(found) == 9
    assert all("has no KEDA cron trigger for promotion" in v and "HorizontalPodAutoscaler" in v for v in found)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(inputs: dict[str, Any]) -> None:
        target: Any = inputs
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def _drop(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(inputs: dict[str, Any]) -> None:
        target: Any = inputs
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return change


# (policy, spelling, change, expected message)
CASES: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    ("kubernetes-hpa-min-replicas", "scaledobject", _set(("spec", "minReplicaCount"), 1), "has minReplicaCount 1"),
    ("kubernetes-hpa-min-replicas", "hpa", _set(("spec", "minReplicas"), 1), "has minReplicas 1"),
    ("kubernetes-hpa-min-replicas", "scaledobject", _drop(("spec", "minReplicaCount")), "has minReplicaCount 0"),
    ("kubernetes-hpa-min-replicas", "hpa", _drop(("spec", "minReplicas")), "has minReplicas 1"),
    (
        "kubernetes-deployment-cpu-autoscaling",
        "scaledobject",
        _set(("spec", "triggers", 0, "metadata", "value"), "95"),
        "ScaledObject notifications/notifications of notifications/notifications targets 95% CPU",
    ),
    (
        "kubernetes-deployment-cpu-autoscaling",
        "hpa",
        _set(("spec", "metrics", 0, "resource", "target", "averageUtilization"), 95),
        "HorizontalPodAutoscaler notifications/notifications of notifications/notifications targets 95% CPU",
    ),
    (
        "kubernetes-deployment-cpu-autoscaling",
        "scaledobject",
        _set(("spec", "triggers", 0, "metricType"), "AverageValue"),
        "has no autoscaler on CPU utilization",
    ),
    (
        "kubernetes-deployment-cpu-autoscaling",
        "hpa",
        _set(("spec", "metrics", 0, "resource", "name"), "memory"),
        "has no autoscaler on CPU utilization",
    ),
    (
        "kubernetes-deployment-cpu-autoscaling",
        "scaledobject",
        _set(("metadata", "annotations"), {"autoscaling.keda.sh/paused": "true"}),
        "has no autoscaler on CPU utilization (or its ScaledObject is paused)",
    ),
    (
        "kubernetes-deployment-cpu-autoscaling",
        "scaledobject",
        _set(("metadata", "annotations"), {"autoscaling.keda.sh/paused-replicas": "6"}),
        "has no autoscaler on CPU utilization",
    ),
    (
        "kubernetes-deployment-cpu-autoscaling",
        "hpa",
        _set(("metadata", "namespace"), "elsewhere"),
        "has no autoscaler on CPU utilization",
    ),
    (
        "kubernetes-scaledobject-max-covers-peak",
        "scaledobject",
        _set(("spec", "minReplicaCount"), 60),
        "minReplicaCount 60 is above maxReplicaCount 48",
    ),
    (
        "kubernetes-scaledobject-max-covers-peak",
        "hpa",
        _set(("spec", "minReplicas"), 60),
        "minReplicas 60 is above maxReplicas 48",
    ),
    (
        "kubernetes-scaledobject-max-covers-peak",
        "scaledobject",
        _set(("spec", "triggers", 1, "metadata", "desiredReplicas"), "49"),
        "wants more replicas than maxReplicaCount 48",
    ),
]


@pytest.mark.parametrize(
    ("policy", "spelling", "change", "expected"), CASES, ids=[f"{c[0]}:{c[1]}:{c[3][:40]}" for c in CASES]
)
def test_one_change_one_violation_in_either_spelling(
    prod: Plan, policy: str, spelling: str, change, expected: str
) -> None:
    resource_type = SCALED_OBJECT if spelling == "scaledobject" else HPA
    # The first autoscaler is a full-size region's (min 6, max 48): check that, not assume it.
    resources = spelled(prod, spelling)
    first = next(r for r in resources if r.type == resource_type)
    assert (first.inputs["spec"].get("maxReplicaCount") or first.inputs["spec"].get("maxReplicas")) == 48
    found = violations(policy, changed(resources, resource_type, change), POLICIES.get(policy))
    assert any(expected in v for v in found), found
    assert len(found) == 1, found


def test_an_hpa_beside_a_scaled_object_is_refused(prod: Plan) -> None:
    """Defect 8 as a rule: KEDA adopts such an HPA (transfer-hpa-ownership) and garbage-collects
    it with the ScaledObject, or its webhook refuses the ScaledObject."""
    resources = copy.deepcopy(prod.resources)
    scaled = next(r for r in resources if r.type == SCALED_OBJECT)
    resources.append(as_hpa(scaled))
    (found,) = violations("kubernetes-deployment-single-autoscaler", resources)
    assert (
        "is scaled by ScaledObject notifications/notifications, HorizontalPodAutoscaler notifications/notifications"
        in (found)
    )
    assert "transfer-hpa-ownership" in found
    # Each autoscaler on its own is fine: only the pair is refused.
    assert violations("kubernetes-deployment-cpu-autoscaling", resources) == []


def test_autoscalers_count_only_on_their_own_cluster(prod: Plan) -> None:
    resources = copy.deepcopy(prod.resources)
    first, second = [r for r in resources if r.type == SCALED_OBJECT][:2]
    # The same namespace and name, applied by the other region's provider (cluster).
    first.provider = second.provider
    (uncovered,) = violations("kubernetes-deployment-cpu-autoscaling", resources)
    assert uncovered.startswith("Deployment notifications/notifications has no autoscaler on CPU utilization")
    (doubled,) = violations("kubernetes-deployment-single-autoscaler", resources)
    assert "is scaled by ScaledObject notifications/notifications, ScaledObject notifications/notifications" in doubled
