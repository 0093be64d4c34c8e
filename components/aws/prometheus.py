"""ManagedPrometheus: the region's Amazon Managed Prometheus workspace, rules and routing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.monitoring import routing

TYPE = "courier:aws:ManagedPrometheus"


@dataclass(frozen=True)
class ManagedPrometheusArgs:
    region: str
    #: The Prometheus rule file (``groups:``) for this region (components.monitoring.rules).
    rules_yaml: str
    #: Receiver (on-call role or deadmans-switch) -> SNS topic ARN in this region.
    topic_arns: Mapping[str, pulumi.Input[str]]
    #: Days the workspace's rule and alertmanager logs are kept.
    log_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)


class ManagedPrometheus(pulumi.ComponentResource):
    """A workspace (its rule-evaluation and alertmanager errors logged to CloudWatch), the
    region's rule groups as one rule group namespace, and an alert manager definition that
    sends each on-call role to its own SNS topic."""

    workspace_arn: pulumi.Output[str]
    remote_write_url: pulumi.Output[str]

    def __init__(self, name: str, args: ManagedPrometheusArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        logs = aws.cloudwatch.LogGroup(
            f"{name}-prometheus",
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        workspace = aws.amp.Workspace(
            f"{name}-prometheus",
            alias=f"courier-{name}",
            # Failed rule evaluations and undeliverable notifications show up here, instead of
            # alerts silently never firing.
            logging_configuration=aws.amp.WorkspaceLoggingConfigurationArgs(
                log_group_arn=logs.arn.apply(lambda arn: f"{arn}:*")
            ),
            tags=tags,
            opts=child,
        )
        aws.amp.RuleGroupNamespace(
            f"{name}-rules",
            name="courier",
            workspace_id=workspace.id,
            data=args.rules_yaml,
            tags=tags,
            opts=child,
        )
        receivers = list(args.topic_arns)
        aws.amp.AlertManagerDefinition(
            f"{name}-alertmanager",
            workspace_id=workspace.id,
            definition=pulumi.Output.all(*[args.topic_arns[r] for r in receivers]).apply(
                lambda arns: routing.amp_definition(
                    routing.alertmanager_yaml(args.region, dict(zip(receivers, arns, strict=True)))
                )
            ),
            opts=child,
        )

        self.workspace_arn = workspace.arn
        #: ``https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/``: queries go under ``api/v1/``.
        self.endpoint = workspace.prometheus_endpoint
        self.remote_write_url = workspace.prometheus_endpoint.apply(
            lambda url: f"{url.rstrip('/')}/api/v1/remote_write"
        )
        self.register_outputs({"workspaceArn": self.workspace_arn, "remoteWriteUrl": self.remote_write_url})
