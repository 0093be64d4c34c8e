"""What every region's data stores are built with (decided by the spec, read by the components)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from components.spec import EnvironmentSpec


@dataclass(frozen=True)
class DataSettings:
    stack: str
    engine_version: str
    instance_class: str
    #: Aurora instances per cluster, one per zone in turn.
    instances: int
    backup_retention_days: int
    cache_engine_version: str
    cache_node_type: str
    #: prod: deletion protection on every store, `protect` on the stateful resources.
    deletion_protection: bool
    protect: bool
    #: Days older versions of a media object are kept.
    media_noncurrent_days: int
    #: Replication lag that raises the RPO warning (seconds).
    rpo_alarm_seconds: float
    log_retention_days: int
    runbook_base_url: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Routing:
    """Where a region's alarms go: role -> SNS topic ARN of that region."""

    topic_arns: Mapping[str, pulumi.Input[str]]


def data_settings(spec: EnvironmentSpec) -> DataSettings:
    """The data tier's settings for a stack, with its environment's safe defaults."""
    data = spec.data
    return DataSettings(
        stack=spec.stack,
        engine_version=data.database.engine_version,
        instance_class=data.database.instance_class,
        instances=spec.database_instances,
        backup_retention_days=data.database.backup_retention_days,
        cache_engine_version=data.cache.engine_version,
        cache_node_type=data.cache.node_type,
        # Data outlives a stray destroy in every environment (the pack asks it everywhere; a dev
        # teardown unprotects deliberately).
        deletion_protection=True,
        protect=True,
        media_noncurrent_days=data.media_noncurrent_days,
        rpo_alarm_seconds=float(data.rpo_alarm_seconds),
        log_retention_days=spec.safety.log_retention_days,
        runbook_base_url=spec.alerting.runbook_base_url,
        tags=spec.tags(),
    )
