"""The region drill, ``region-switchover`` (where the global database writes): the stack's SSM
Automation runbook (components.aws.drills.runbook) switches the writer to the next region and
back, with its own role; the template starts it (FIS has no global switchover action)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components.aws import policies
from components.aws.drills import hypotheses, permissions, runbook
from components.aws.drills.actions import action, compact

if TYPE_CHECKING:
    from components.aws.drills import Drills, Switchover


def region_switchover(drills: Drills, switchover: Switchover) -> None:
    """``region-switchover``: the runbook (its document and role) and the template starting it."""
    args = drills.args
    runbook_name = f"courier-{args.stack}-{args.code}-region-switchover"
    runbook_role = aws.iam.Role(
        f"{drills.name}-switchover-runbook",
        assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
            lambda account: policies.assume_role("ssm.amazonaws.com", account)
        ),
        description=f"The region drill's runbook: switch the global database's writer ({args.region})",
        tags=args.tags,
        opts=drills.child_opts,
    )
    aws.iam.RolePolicy(
        f"{drills.name}-switchover-runbook",
        role=runbook_role.id,
        policy=pulumi.Output.all(args.account_id, switchover.global_cluster_identifier).apply(
            lambda v: policies.document(*permissions.switchover_runbook(v[0], v[1], switchover.cluster_pattern))
        ),
        opts=drills.child_opts,
    )
    document = aws.ssm.Document(
        f"{drills.name}-switchover-runbook",
        name=runbook_name,
        document_type="Automation",
        document_format="JSON",
        content=json.dumps(runbook.switchover(), indent=2),
        tags=args.tags,
        opts=drills.child_opts,
    )
    # FIS parameter values match [\S]+ (botocore fis ExperimentTemplateActionParameter): compact JSON.
    parameters = pulumi.Output.all(
        runbook_role.arn, switchover.global_cluster_identifier, switchover.target_cluster_arn
    ).apply(
        lambda v: compact(
            {
                "AutomationAssumeRole": [v[0]],
                "GlobalClusterIdentifier": [v[1]],
                "TargetClusterArn": [v[2]],
                "HoldDuration": [f"PT{hypotheses.SWITCHOVER_HOLD_MINUTES}M"],
            }
        )
    )
    max_minutes = 2 * switchover.rto_minutes + hypotheses.SWITCHOVER_HOLD_MINUTES + 10
    drills.template(
        "region-switchover",
        "region-switchover",
        hypotheses.region_switchover(switchover.target_region, switchover.rto_minutes),
        drills.role(
            "region-switchover",
            pulumi.Output.all(args.account_id, runbook_role.arn).apply(
                lambda v: permissions.start_automation(args.region, v[0], runbook_name, v[1])
            ),
        ),
        [
            action(
                "switchover",
                "aws:ssm:start-automation-execution",
                documentArn=document.arn,
                documentParameters=parameters,
                maxDuration=f"PT{max_minutes}M",
            )
        ],
        [],
        [],
        # The runbook's own steps are the check: it fails unless the writer moved and came back.
        [],
    )
