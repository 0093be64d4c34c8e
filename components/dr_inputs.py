"""What ``python -m courier dr`` needs beyond the resources, exported by the program as the
stack output ``dr``: the regions in failover order with their roles and status, where the
data tier's writer was created, and which stores each service uses. Pure."""

from __future__ import annotations

from typing import Any

from components.aws.data import naming
from components.spec import EnvironmentSpec


def dr_inputs(spec: EnvironmentSpec) -> dict[str, Any]:
    return {
        "regions": [
            {
                "name": r.name,
                "code": r.code,
                "cloud": r.cloud,
                "role": r.role,
                "status": r.status,
                "capacityPercent": r.capacity_percent,
                "zones": list(r.availability_zones),
                "cidr": r.cidr,
                "dataReplica": r.data_replica.name if r.data_replica is not None else None,
            }
            for r in spec.regions
        ],
        "primary": spec.primary.name,
        "dataOrigin": spec.data_origin.name,
        "globalCluster": naming.global_cluster(spec.stack),
        "table": naming.table(spec.stack),
        "rpoAlarmSeconds": spec.data.rpo_alarm_seconds,
        "stores": {s.name: list(s.stores) for s in spec.services},
    }
