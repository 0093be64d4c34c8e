"""RegionDashboard: the CloudWatch dashboard of one AWS region (the AWS-native metrics)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.monitoring.cloudwatch_dashboards import RegionMetrics, body

TYPE = "courier:aws:RegionDashboard"


@dataclass(frozen=True)
class RegionDashboardArgs:
    stack: str
    region: str
    code: str
    #: The region's ALB ARN suffix (``LoadBalancer`` dimension).
    load_balancer_arn_suffix: pulumi.Input[str]
    #: Service -> Auto Scaling group name, for the region's VM fleets.
    group_names: Mapping[str, pulumi.Input[str]]
    #: The region's media bucket.
    bucket: pulumi.Input[str]
    #: The stack's other AWS regions (where the global table replicates to).
    peers: Sequence[str] = ()


class RegionDashboard(pulumi.ComponentResource):
    """One CloudWatch dashboard, ``courier-<stack>-<region code>``, in the region (the caller's
    provider): load balancer, fleets, Aurora, DynamoDB, ElastiCache, S3 replication.
    CloudWatch dashboards take no tags (PutDashboard has none)."""

    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: RegionDashboardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        services = sorted(args.group_names)
        rendered = pulumi.Output.all(
            args.load_balancer_arn_suffix, args.bucket, *[args.group_names[s] for s in services]
        ).apply(
            lambda values: json.dumps(
                body(
                    RegionMetrics(
                        stack=args.stack,
                        region=args.region,
                        code=args.code,
                        load_balancer=str(values[0]),
                        bucket=str(values[1]),
                        groups={s: str(g) for s, g in zip(services, values[2:], strict=True)},
                        peers=tuple(args.peers),
                    )
                ),
                sort_keys=True,
            )
        )
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"courier-{args.stack}-{args.code}",
            dashboard_body=rendered,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboardName": self.dashboard_name})
