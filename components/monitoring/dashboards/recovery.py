"""The disaster-recovery dashboard: replication lag (the RPO) of every data store, region
health and the Route 53 health checks that steer users (all CloudWatch but region health)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import dashboard as builders

from components.aws.data import naming
from components.monitoring.dashboards.panels import (
    _CLOUDWATCH,
    _MIXED,
    _active_regions,
    _dashboard,
    _finish,
    _metric,
    _prometheus,
    _promql,
    _search,
    _series,
)
from components.spec import EnvironmentSpec, RegionSpec

#: Route 53 publishes health-check metrics in us-east-1 only.
ROUTE53_METRICS_REGION = "us-east-1"


def recovery_dashboard(spec: EnvironmentSpec, regions: Sequence[RegionSpec] | None = None) -> dict[str, Any]:
    """Disaster recovery: replication lag (the RPO) of every store, region health (traffic and
    errors in each region's workspace) and the Route 53 health checks that steer users."""
    board = _dashboard(spec, "recovery", "disaster recovery", "dr")
    regions = _active_regions(spec, shown=regions)
    # The lag that raises the RPO warning (components/aws/data alarms), drawn on the graphs.
    rpo_ms = spec.data.rpo_alarm_seconds * 1000
    board = board.with_row(builders.Row("Replication lag (RPO) per store"))
    board = board.with_panel(
        _series(
            "Aurora global database: RPO lag",
            _CLOUDWATCH,
            [
                _metric(
                    r.name,
                    "AWS/RDS",
                    "AuroraGlobalDBRPOLag",
                    {"DBClusterIdentifier": naming.cluster(spec.stack, r.code)},
                    "Maximum",
                    f"R{i}",
                    r.name,
                )
                for i, r in enumerate(regions)
            ],
            unit="ms",
            limit=rpo_ms,
        )
    )
    board = board.with_panel(
        _series(
            "DynamoDB global table: replication latency",
            _CLOUDWATCH,
            [
                _search(
                    r.name,
                    'SEARCH(\'{AWS/DynamoDB,ReceivingRegion,TableName} MetricName="ReplicationLatency" '
                    f"TableName=\"{naming.table(spec.stack)}\"', 'Average', 60)",
                    f"R{i}",
                    f"{r.name} to ${{PROP('Dim.ReceivingRegion')}}",
                )
                for i, r in enumerate(regions)
            ],
            unit="ms",
            limit=rpo_ms,
        )
    )
    board = board.with_panel(
        _series(
            "ElastiCache global datastore: replication lag",
            _CLOUDWATCH,
            [
                _search(
                    r.name,
                    'SEARCH(\'{AWS/ElastiCache,CacheClusterId} MetricName="GlobalDatastoreReplicationLag" '
                    f"\"{naming.cache_group(spec.stack, r.code)}\"', 'Maximum', 60)",
                    f"R{i}",
                    "${PROP('Dim.CacheClusterId')}",
                )
                for i, r in enumerate(regions)
            ],
            unit="s",
        )
    )
    board = board.with_panel(
        _series(
            "S3 media replication: latency (RTC: 15 minutes)",
            _CLOUDWATCH,
            [
                _search(
                    r.name,
                    'SEARCH(\'{AWS/S3,DestinationBucket,RuleId,SourceBucket} MetricName="ReplicationLatency" '
                    f"\"courier-{spec.stack}\"', 'Maximum', 300)",
                    f"R{i}",
                    "${PROP('Dim.SourceBucket')} to ${PROP('Dim.DestinationBucket')}",
                )
                for i, r in enumerate(regions)
            ],
            unit="s",
            limit=15 * 60,
        )
    )
    board = board.with_row(builders.Row("Region health"))
    board = board.with_panel(
        _series(
            "Requests per region",
            _MIXED,
            [
                _promql("sum by (region) (courier:http_requests:rate5m)", "{{region}}", f"R{i}", _prometheus(r))
                for i, r in enumerate(regions)
            ],
            unit="reqps",
        )
    )
    board = board.with_panel(
        _series(
            "5xx ratio per region",
            _MIXED,
            [
                _promql("max by (region) (courier:http_errors:ratio_rate5m)", "{{region}}", f"R{i}", _prometheus(r))
                for i, r in enumerate(regions)
            ],
            unit="percentunit",
        )
    )
    board = board.with_panel(
        _series(
            "Route 53 health checks (1 healthy, 0 failing)",
            _CLOUDWATCH,
            [
                _search(
                    ROUTE53_METRICS_REGION,
                    "SEARCH('{AWS/Route53,HealthCheckId} MetricName=\"HealthCheckStatus\"', 'Minimum', 60)",
                    "A",
                    "${PROP('Dim.HealthCheckId')}",
                )
            ],
        )
    )
    return _finish(board)
