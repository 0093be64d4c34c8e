"""The drill results feed of a region: FIS's "Experiment State Change" events for a finished
experiment go through an SQS queue that holds them ``DELAY_SECONDS`` (so the judged window runs
past the experiment's end, while the fleet recovers) to a Lambda function
(components.aws.drills.results_function) that judges the drill against its probes
(components.aws.drills.probes) and publishes ``Courier/Drills`` ``DrillPassed`` and
``RecoverySeconds``, which the drills dashboard reads.

Least privilege: the function may read this region's experiments and templates, query this
region's Prometheus workspace and CloudWatch metrics, publish metrics in ``Courier/Drills`` only, and consume its queue;
only EventBridge's rule may send to the queue. Messages that fail five times are kept 14 days in
a dead-letter queue.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.aws import policies
from components.aws.alarms import routed_alarm
from components.aws.drills import probes
from components.aws.drills.probes import Judgement

TYPE = "courier:aws:DrillResults"

#: SQS's maximum delay (DelaySeconds 0-900): the function judges 15 minutes after the end.
DELAY_SECONDS = 900
#: The function's timeout: two Prometheus queries per probe, a few probes, one PutMetricData.
TIMEOUT_SECONDS = 120
#: AWS: a queue feeding Lambda should have a visibility timeout of at least six times the
#: function's timeout (Lambda developer guide, "Using Lambda with Amazon SQS").
VISIBILITY_SECONDS = 6 * TIMEOUT_SECONDS
#: AWS: at least 5 for a Lambda consumer, so throttled receives do not dead-letter a message
#: too early (Lambda developer guide, "Using Lambda with Amazon SQS").
MAX_RECEIVES = 5
#: SQS's maximum retention for the dead letters (14 days).
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600
#: A drill's event waits DELAY_SECONDS, then up to MAX_RECEIVES visibility timeouts: a day is
#: plenty; past it the event is stale.
RETENTION_SECONDS = 24 * 3600
#: The alarm on the dead letters: one is enough (a drill's result is lost until it is redriven).
DEAD_LETTER_RUNBOOK = "DrillResultsDeadLetters"
#: Lambda's lowest maximum concurrency for an SQS event source (2-1000).
MAX_CONCURRENCY = 2
RUNTIME = "python3.13"
FUNCTION_SOURCE = Path(__file__).with_name("results_function.py")
HANDLER = f"{FUNCTION_SOURCE.stem}.handler"
#: The judgements' file in the function's archive (read by the function beside its module).
JUDGEMENTS_FILE = "judgements.json"
#: The terminal states of an experiment (FIS API ExperimentState.status).
TERMINAL_STATES = ("completed", "stopped", "failed", "cancelled")


@dataclass(frozen=True)
class DrillResultsArgs:
    stack: str
    region: str
    code: str
    account_id: pulumi.Input[str]
    #: The region's Managed Prometheus workspace: its ARN and its endpoint (``.../workspaces/<id>/``).
    prometheus_arn: pulumi.Input[str]
    prometheus_endpoint: pulumi.Input[str]
    judgements: Mapping[str, Judgement]
    log_retention_days: int
    #: Role -> the region's on-call SNS topic (the dead letters' alarm notifies the owner).
    topic_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    runbook_base_url: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


def event_pattern() -> str:
    return json.dumps(
        {
            "source": ["aws.fis"],
            "detail-type": ["FIS Experiment State Change"],
            "detail": {"new-state": {"status": list(TERMINAL_STATES)}},
        },
        sort_keys=True,
    )


def function_policy(
    region: str, account: str, log_group_arn: str, queue_arn: str, workspace_arn: str
) -> list[dict[str, object]]:
    """What the function does and nothing else."""
    return [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        },
        {
            "Sid": "Queue",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": queue_arn,
        },
        {
            "Sid": "Experiments",
            "Effect": "Allow",
            "Action": ["fis:GetExperiment", "fis:GetExperimentTemplate"],
            "Resource": [
                f"arn:aws:fis:{region}:{account}:experiment/*",
                f"arn:aws:fis:{region}:{account}:experiment-template/*",
            ],
        },
        {"Sid": "Probes", "Effect": "Allow", "Action": "aps:QueryMetrics", "Resource": workspace_arn},
        # GetMetricData has no resource either (the group metrics of the drilled fleets).
        {"Sid": "GroupMetrics", "Effect": "Allow", "Action": "cloudwatch:GetMetricData", "Resource": "*"},
        {
            "Sid": "Results",
            "Effect": "Allow",
            # PutMetricData has no resource: the namespace condition is its only scope.
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "Courier/Drills"}},
        },
    ]


class DrillResults(pulumi.ComponentResource):
    """The region's rule, queues, function and its role."""

    function: aws.lambda_.Function

    def __init__(self, name: str, args: DrillResultsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"courier-{args.stack}-{args.code}-drill-results"
        tags = dict(args.tags)
        dead_letters = aws.sqs.Queue(
            f"{name}-drill-results-dead",
            name=f"{prefix}-dead",
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            tags=tags,
            opts=child,
        )
        queue = aws.sqs.Queue(
            f"{name}-drill-results",
            name=prefix,
            delay_seconds=DELAY_SECONDS,
            visibility_timeout_seconds=VISIBILITY_SECONDS,
            message_retention_seconds=RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            redrive_policy=dead_letters.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVES})
            ),
            tags=tags,
            opts=child,
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-drill-results",
            name=prefix,
            description=f"Finished FIS experiments in {args.region}, to the drill results queue",
            event_pattern=event_pattern(),
            tags=tags,
            opts=child,
        )
        policy = aws.sqs.QueuePolicy(
            f"{name}-drill-results",
            queue_url=queue.url,
            policy=pulumi.Output.all(queue.arn, rule.arn).apply(
                lambda v: policies.document(
                    {
                        "Sid": "FinishedExperiments",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": v[0],
                        "Condition": {"ArnEquals": {"aws:SourceArn": v[1]}},
                    }
                )
            ),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-drill-results",
            rule=rule.name,
            arn=queue.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-drill-results",
            name=f"/aws/lambda/{prefix}",
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-drill-results",
            assume_role_policy=policies.assume_role("lambda.amazonaws.com"),
            description=f"The drill results function in {args.region}",
            tags=tags,
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-drill-results",
            role=role.id,
            policy=pulumi.Output.all(
                args.account_id, log_group.arn, queue.arn, pulumi.Output.from_input(args.prometheus_arn)
            ).apply(lambda v: policies.document(*function_policy(args.region, v[0], v[1], v[2], v[3]))),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            f"{name}-drill-results",
            name=prefix,
            description="Judges finished FIS drills; publishes Courier/Drills DrillPassed and RecoverySeconds",
            runtime=RUNTIME,
            architectures=["arm64"],
            handler=HANDLER,
            # The judgements name the fleets' Auto Scaling groups (outputs): written once known.
            code=pulumi.Output.from_input(probes.judgements(args.judgements)).apply(
                lambda found: pulumi.AssetArchive(
                    {
                        FUNCTION_SOURCE.name: pulumi.FileAsset(str(FUNCTION_SOURCE)),
                        JUDGEMENTS_FILE: pulumi.StringAsset(json.dumps(found, indent=2, sort_keys=True)),
                    }
                )
            ),
            role=role.arn,
            timeout=TIMEOUT_SECONDS,
            memory_size=256,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={"STACK": args.stack, "PROMETHEUS_URL": args.prometheus_endpoint}
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=log_group.name),
            tags=tags,
            # The role's policy first: the event source mapping checks the queue permissions.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        aws.lambda_.EventSourceMapping(
            f"{name}-drill-results",
            event_source_arn=queue.arn,
            function_name=self.function.arn,
            batch_size=1,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(maximum_concurrency=MAX_CONCURRENCY),
            tags=tags,
            opts=child,
        )
        if args.topic_arns:
            # A result that could not be judged five times is kept 14 days: someone must look.
            routed_alarm(
                f"{name}-drill-results-dead-letters",
                service="monitoring",
                severity="warning",
                runbook=DEAD_LETTER_RUNBOOK,
                topic_arns=args.topic_arns,
                runbook_base_url=args.runbook_base_url,
                tags=tags,
                settings=aws.cloudwatch.MetricAlarmArgs(
                    alarm_description=f"A finished drill in {args.region} could not be judged five times: its "
                    "result is in the dead-letter queue and on no dashboard.",
                    namespace="AWS/SQS",
                    metric_name="ApproximateNumberOfMessagesVisible",
                    dimensions={"QueueName": dead_letters.name},
                    statistic="Maximum",
                    period=300,
                    evaluation_periods=1,
                    threshold=0,
                    comparison_operator="GreaterThanThreshold",
                    # SQS publishes queue metrics only while the queue is active: no data is no letter.
                    treat_missing_data="notBreaching",
                ),
                parent=self,
            )
        self.register_outputs({"function": self.function.name, "queue": queue.url})
