"""The CloudWatch dashboard of one AWS region: the AWS-native metrics. Pure: no resources.

The body follows CloudWatch's "Dashboard Body Structure and Syntax" (CloudWatch API
Reference): a ``widgets`` array of up to 500 widgets on a 24-column grid, each with ``type``,
``x`` (0-23), ``y`` (>= 0), ``width`` (1-24), ``height`` (1-1000) and ``properties``; a metric
widget's ``metrics`` are arrays ``[Namespace, MetricName, DimensionName, DimensionValue, ...,
{options}]`` or ``[{"expression": ...}]``, and it names its ``region``.
courier/verify/dashboards.py checks every rendered body against exactly that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.aws.data import naming

WIDTH = 8
HEIGHT = 6


@dataclass(frozen=True)
class RegionMetrics:
    """What one region's dashboard plots, by the names CloudWatch files its metrics under."""

    stack: str
    region: str
    code: str
    #: The ALB's ARN suffix (``app/<name>/<id>``): the ``LoadBalancer`` dimension.
    load_balancer: str
    #: Service -> Auto Scaling group name (VM fleets).
    groups: Mapping[str, str]
    #: The media bucket (the source of its replication rules).
    bucket: str
    #: The other AWS regions (DynamoDB's ``ReceivingRegion`` dimension).
    peers: Sequence[str] = ()


def _metric(
    title: str, region: str, metrics: list[list[Any]], *, stat: str = "Average", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "metric",
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stat": stat,
            "period": 60,
            "metrics": metrics,
            **extra,
        },
    }


def _search(expression: str, label: str, ref: str) -> list[Any]:
    return [{"expression": expression, "label": label, "id": ref}]


def _text(markdown: str) -> dict[str, Any]:
    return {"type": "text", "height": 1, "width": 24, "properties": {"markdown": markdown}}


def _place(widgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Left to right, top to bottom on the 24-column grid; a header starts a new line."""
    x = y = row_height = 0
    for widget in widgets:
        width, height = widget.setdefault("width", WIDTH), widget.setdefault("height", HEIGHT)
        if x + width > 24 or widget["type"] == "text":
            x, y = 0, y + row_height
            row_height = 0
        widget["x"], widget["y"] = x, y
        x += width
        row_height = max(row_height, height)
        if widget["type"] == "text":
            x, y, row_height = 0, y + height, 0
    return widgets


def body(metrics: RegionMetrics) -> dict[str, Any]:
    """The dashboard of one region: load balancer, fleets, Aurora, DynamoDB, ElastiCache and
    S3 replication, each under a header."""
    region = metrics.region
    lb = ["LoadBalancer", metrics.load_balancer]
    widgets: list[dict[str, Any]] = [_text(f"## Load balancer ({region})")]
    widgets += [
        _metric("Requests", region, [["AWS/ApplicationELB", "RequestCount", *lb]], stat="Sum"),
        _metric(
            "5xx (load balancer and targets)",
            region,
            [
                ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", *lb],
                ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *lb],
            ],
            stat="Sum",
        ),
        _metric("Target response time p99", region, [["AWS/ApplicationELB", "TargetResponseTime", *lb]], stat="p99"),
    ]
    if metrics.groups:
        widgets.append(_text("## Fleets (Auto Scaling groups)"))
    for service, group in sorted(metrics.groups.items()):
        asg = ["AutoScalingGroupName", group]
        widgets += [
            _metric(f"{service}: CPU", region, [["AWS/EC2", "CPUUtilization", *asg]]),
            _metric(
                f"{service}: desired, in service, max",
                region,
                [
                    ["AWS/AutoScaling", "GroupDesiredCapacity", *asg],
                    ["AWS/AutoScaling", "GroupInServiceInstances", *asg],
                    ["AWS/AutoScaling", "GroupMaxSize", *asg],
                ],
                stat="Maximum",
            ),
            _metric(
                f"{service}: warm pool", region, [["AWS/AutoScaling", "WarmPoolWarmedCapacity", *asg]], stat="Maximum"
            ),
        ]
    cluster = ["DBClusterIdentifier", naming.cluster(metrics.stack, metrics.code)]
    table = ["TableName", naming.table(metrics.stack)]
    cache = naming.cache_group(metrics.stack, metrics.code)
    widgets += [
        _text("## Data stores and replication"),
        _metric(
            "Aurora: global replication lag and RPO lag",
            region,
            [["AWS/RDS", "AuroraGlobalDBReplicationLag", *cluster], ["AWS/RDS", "AuroraGlobalDBRPOLag", *cluster]],
            stat="Maximum",
        ),
        _metric("Aurora: CPU", region, [["AWS/RDS", "CPUUtilization", *cluster]]),
        _metric(
            "DynamoDB: replication latency",
            region,
            [["AWS/DynamoDB", "ReplicationLatency", *table, "ReceivingRegion", peer] for peer in metrics.peers]
            or [["AWS/DynamoDB", "SuccessfulRequestLatency", *table, "Operation", "PutItem"]],
        ),
        _metric(
            "DynamoDB: throttled requests",
            region,
            [["AWS/DynamoDB", "WriteThrottleEvents", *table], ["AWS/DynamoDB", "ReadThrottleEvents", *table]],
            stat="Sum",
        ),
        _metric(
            "ElastiCache: engine CPU and global datastore lag",
            region,
            [
                _search(
                    f'SEARCH(\'{{AWS/ElastiCache,CacheClusterId}} MetricName="EngineCPUUtilization" "{cache}"\', '
                    "'Average', 60)",
                    "engine CPU",
                    "cpu",
                ),
                _search(
                    'SEARCH(\'{AWS/ElastiCache,CacheClusterId} MetricName="GlobalDatastoreReplicationLag" '
                    f"\"{cache}\"', 'Maximum', 60)",
                    "replication lag",
                    "lag",
                ),
            ],
        ),
        _metric(
            "S3 media replication: latency and pending operations",
            region,
            [
                _search(
                    'SEARCH(\'{AWS/S3,DestinationBucket,RuleId,SourceBucket} MetricName="ReplicationLatency" '
                    f"SourceBucket=\"{metrics.bucket}\"', 'Maximum', 300)",
                    "latency",
                    "latency",
                ),
                _search(
                    'SEARCH(\'{AWS/S3,DestinationBucket,RuleId,SourceBucket} MetricName="OperationsPendingReplication" '
                    f"SourceBucket=\"{metrics.bucket}\"', 'Maximum', 300)",
                    "pending",
                    "pending",
                ),
            ],
            period=300,
        ),
    ]
    return {"start": "-PT6H", "periodOverride": "inherit", "widgets": _place(widgets)}
