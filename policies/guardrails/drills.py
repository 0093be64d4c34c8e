"""Drills: a fault injected on purpose must stop by itself when customers are hurt.

Mandatory in every environment's config that makes policies mandatory (prod and staging, where
the drills run); tests/policies/test_guardrails.py holds the failing cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from guardrails.common import Report, get, resource_policy

FIS_TEMPLATE = "aws:fis/experimentTemplate:ExperimentTemplate"
ALARM_SOURCE = "aws:cloudwatch:alarm"


@resource_policy(
    "aws-fis-experiment-template-stop-condition",
    "Every FIS experiment template stops on at least one CloudWatch alarm.",
    [FIS_TEMPLATE],
)
def stop_condition(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    # The source is known at preview even when the alarm's ARN is not: the count of alarm stop
    # conditions is what is judged, not which alarms.
    conditions = get(args.props, "stopConditions", default=[]) or []
    alarms = [c for c in conditions if get(c, "source") == ALARM_SOURCE]
    if not alarms:
        sources = sorted({str(get(c, "source", default="unset")) for c in conditions}) or ["none given"]
        report(
            f"{args.name} has no stop condition on a CloudWatch alarm (sources: {', '.join(sources)}); add "
            f'stopConditions with source "{ALARM_SOURCE}" and the ARN of an alarm of the same region that says '
            "customers are hurt (components.aws.drills stops on the region's critical alarms).",
        )
