"""The Workload's autoscaler: one KEDA ScaledObject, whether or not promotions are ahead.

KEDA creates the autoscaling/v2 HPA from it (named after the service) and owns it; Pulumi
declares no HPA, so promotions coming and going only change the ScaledObject's triggers. The
admission rules of KEDA 2.20 (kedacore/keda apis/keda/v1alpha1/scaledobject_webhook.go,
scaletriggers_types.go, pkg/scalers/cron_scaler.go) are checked here, before anything is
declared.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from components import planning
from components.planning import PromotionSchedule


def validate(
    service: str,
    capacity: planning.Capacity,
    cpu_request_millicores: int,
    cpu_target: int,
    promotions: Sequence[PromotionSchedule],
) -> None:
    """Refuse what KEDA's webhook or scalers would refuse, naming the service."""
    if capacity.min < 1:
        raise ValueError(
            f"Workload {service}: capacity min is {capacity.min}; it must be at least 1 (KEDA refuses "
            "minReplicaCount 0 when the CPU trigger is the only one, i.e. between promotions)."
        )
    if not capacity.min <= capacity.desired <= capacity.max:
        raise ValueError(
            f"Workload {service}: capacity {capacity.min}/{capacity.desired}/{capacity.max} must satisfy "
            "min <= desired <= max."
        )
    if cpu_request_millicores < 1:
        raise ValueError(
            f"Workload {service}: a CPU request is required (the CPU trigger's utilization is relative to it)."
        )
    if not 1 <= cpu_target <= 100:
        raise ValueError(f"Workload {service}: cpu_target {cpu_target} is not a percentage in 1-100.")
    names = [p.name for p in promotions]
    if len(set(names)) != len(names):
        raise ValueError(f"Workload {service}: promotion names {names} repeat; KEDA trigger names must be unique.")
    for promotion in promotions:
        trigger = _cron_trigger(promotion)["metadata"]
        if trigger["start"] == trigger["end"]:
            raise ValueError(
                f"Workload {service}: promotion {promotion.name!r} starts and ends at the same minute of the "
                f"year ({trigger['start']}); KEDA refuses a cron trigger whose start equals its end."
            )


def scaled_object_spec(
    service: str, capacity: planning.Capacity, cpu_target: int, promotions: Sequence[PromotionSchedule]
) -> dict[str, Any]:
    """The ScaledObject's spec: the CPU trigger always, a cron trigger per promotion ahead,
    and the HPA KEDA derives from it (its name and behaviour)."""
    maximum = max([capacity.max, *(p.capacity.max for p in promotions)])
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": service},
        "minReplicaCount": capacity.min,
        "maxReplicaCount": maximum,
        "advanced": {
            # Deleting the ScaledObject (say, by hand) leaves the pods as they are.
            "restoreToOriginalReplicaCount": False,
            "horizontalPodAutoscalerConfig": {"name": service, "behavior": _behavior()},
        },
        "triggers": [
            {"type": "cpu", "metricType": "Utilization", "metadata": {"value": str(cpu_target)}},
            *(_cron_trigger(p) for p in promotions),
        ],
    }


def _behavior() -> dict[str, Any]:
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
