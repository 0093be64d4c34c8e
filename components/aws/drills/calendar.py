"""The drill calendar in a region: one EventBridge Scheduler schedule per enabled run
(components.spec.drills), starting its experiment template through Scheduler's universal target
for FIS StartExperiment, with a role that may start exactly those templates.

The schedules are the calendar's, not the region's: named after it (not after the region's
code), a region rebuilt elsewhere gets the runs the calendar gives it, not the lost region's
(``python -m courier dr`` compares what a region is)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components.aws import policies

if TYPE_CHECKING:
    from components.aws.drills import DrillsArgs

#: The tag every drill's template carries (its calendar key), and the started experiment too.
DRILL_TAG = "drill"
#: EventBridge Scheduler's universal target for FIS StartExperiment ("Using universal targets").
START_EXPERIMENT = "arn:aws:scheduler:::aws-sdk:fis:startExperiment"


def schedule(
    name: str, args: DrillsArgs, templates: Mapping[str, aws.fis.ExperimentTemplate], parent: pulumi.Resource
) -> None:
    """The region's enabled runs, scheduled (nothing when there is none)."""
    runs = [r for r in args.runs if r.enabled and r.region == args.region]
    scheduled = [(r, templates[r.key]) for r in runs if r.key in templates]
    if not scheduled:
        return
    role = aws.iam.Role(
        f"drills-calendar-{args.region}",
        assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
            lambda account: policies.assume_role("scheduler.amazonaws.com", account)
        ),
        description=f"EventBridge Scheduler starts the calendar's drills in {args.region}",
        tags=args.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.iam.RolePolicy(
        f"drills-calendar-{args.region}",
        role=role.id,
        policy=pulumi.Output.all(args.account_id, *[t.id for _, t in scheduled]).apply(
            lambda v: policies.document(
                {
                    "Sid": "StartCalendarDrills",
                    "Effect": "Allow",
                    "Action": "fis:StartExperiment",
                    "Resource": [
                        *[f"arn:aws:fis:{args.region}:{v[0]}:experiment-template/{i}" for i in v[1:]],
                        f"arn:aws:fis:{args.region}:{v[0]}:experiment/*",
                    ],
                },
                {
                    "Sid": "TagExperiments",
                    "Effect": "Allow",
                    "Action": "fis:TagResource",
                    "Resource": f"arn:aws:fis:{args.region}:{v[0]}:experiment/*",
                },
            )
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    for run, template in scheduled:
        aws.scheduler.Schedule(
            f"drills-calendar-{args.region}-{run.key}",
            name=f"courier-{args.stack}-{args.code}-{run.key}"[:64],
            description=f"Game day: the {run.key} drill in {args.region} ({run.schedule}, {args.timezone})",
            schedule_expression=run.schedule,
            schedule_expression_timezone=args.timezone,
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=START_EXPERIMENT,
                role_arn=role.arn,
                # The execution ID is the same on Scheduler's retries: FIS starts the drill once.
                input=pulumi.Output.json_dumps(
                    {
                        "ClientToken": "<aws.scheduler.execution-id>",
                        "ExperimentTemplateId": template.id,
                        "Tags": {DRILL_TAG: run.key, "started-by": "eventbridge-scheduler"},
                    }
                ),
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=0, maximum_event_age_in_seconds=3600
                ),
            ),
            state="ENABLED",
            opts=pulumi.ResourceOptions(parent=parent),
        )
