"""Observability: every fleet and load balancer is watched, every alert can be acted on."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs

from guardrails.common import (
    AMP_RULES,
    ASG,
    ESS_ALARM,
    ESS_GROUP,
    ESS_NOTIFICATION,
    METRIC_ALARM,
    PROMETHEUS_RULE,
    Report,
    Setting,
    depends_on,
    get,
    of_type,
    resource_policy,
    setting,
    stack_policy,
)
from guardrails.objects import LOAD_BALANCERS, length

REQUIRED_LABELS = Setting(
    "requiredLabels",
    {
        "type": "array",
        "items": {"type": "string"},
        "default": ["severity", "service", "region"],
        "description": "Labels every alert must carry (routing and inhibition depend on them).",
    },
)
SEVERITIES = ("critical", "warning", "info")


def _acts(alarm: PolicyResource) -> bool:
    """Whether an alarm notifies anyone: actions_enabled "Defaults to `true`", and an alarm with no
    alarmActions watches nobody's pager."""
    # How many actions, not which: the topic ARNs are unknown during preview.
    return get(alarm.props, "actionsEnabled", default=True) is not False and length(alarm.props, "alarmActions") != 0


@stack_policy(
    "aws-autoscaling-group-alarms",
    "Every Auto Scaling group is watched by CloudWatch alarms.",
)
def asg_alarms(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    alarms = [alarm for alarm in of_type(args, METRIC_ALARM) if _acts(alarm)]
    for group in of_type(args, ASG):
        if not any(depends_on(alarm, group) for alarm in alarms):
            report(
                f"{group.name} has no CloudWatch alarm with enabled actions; watch its CPU and its capacity "
                "(components.aws.alarms) and route them to an on-call topic (alarmActions).",
                group.urn,
            )


@stack_policy(
    "aws-lb-alarms",
    "Every load balancer is watched by CloudWatch alarms (5xx ratio, healthy targets).",
)
def alb_alarms(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    alarms = [alarm for alarm in of_type(args, METRIC_ALARM) if _acts(alarm)]
    for balancer in of_type(args, *LOAD_BALANCERS):
        if not any(depends_on(alarm, balancer) for alarm in alarms):
            report(
                f"{balancer.name} has no CloudWatch alarm with enabled actions; watch its 5xx ratio and healthy "
                "targets and route them to an on-call topic (alarmActions).",
                balancer.urn,
            )


@stack_policy(
    "alicloud-ess-group-alarms",
    "Every ESS group has a CloudMonitor alarm task and scaling-event notifications.",
)
def ess_alarms(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    alarms = of_type(args, ESS_ALARM)
    notifications = of_type(args, ESS_NOTIFICATION)
    for group in of_type(args, ESS_GROUP):
        if not any(depends_on(a, group, "scalingGroupId") for a in alarms):
            report(f"{group.name} has no CloudMonitor alarm on its CPU; add an ess.Alarm.", group.urn)
        if not any(depends_on(n, group, "scalingGroupId") for n in notifications):
            report(
                f"{group.name} sends no scaling-event notifications; notify SCALE_REJECT and SCALE_OUT_ERROR.",
                group.urn,
            )


def _alert_problems(groups: Iterable[Mapping[str, Any]], required: list[str]) -> Iterable[str]:
    for group in groups:
        for rule in get(group, "rules", default=[]):
            if "alert" not in rule:
                continue
            name = rule["alert"]
            labels = get(rule, "labels", default={})
            annotations = get(rule, "annotations", default={})
            missing = [label for label in required if label not in labels]
            # Labels may be filled from the series (TargetDown); the rule must at least not drop them.
            if missing and not _keeps_series_labels(rule, missing):
                yield f"alert {name} lacks label(s) {', '.join(missing)}"
            if labels.get("severity") not in SEVERITIES:
                yield f"alert {name} has severity {labels.get('severity')!r} (use critical, warning or info)"
            if not str(annotations.get("runbook_url", "")).startswith("https://"):
                yield f"alert {name} has no runbook_url annotation"


def _keeps_series_labels(rule: Mapping[str, Any], missing: list[str]) -> bool:
    expression = str(rule.get("expr", ""))
    return "severity" not in missing and " by (" not in expression and "absent(" not in expression


@resource_policy(
    "aws-amp-rules-actionable",
    "Every alert deployed to Managed Prometheus carries severity, service and region labels and a runbook link.",
    [AMP_RULES],
    REQUIRED_LABELS,
)
def amp_rules(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    document = yaml.safe_load(str(get(args.props, "data", default=""))) or {}
    for problem in _alert_problems(get(document, "groups", default=[]), setting(config, REQUIRED_LABELS)):
        report(f"{args.name}: {problem}; the routing sends alerts by these labels and responders need the runbook.")


@resource_policy(
    "kubernetes-prometheusrule-actionable",
    "Every alert of a PrometheusRule carries severity, service and region labels and a runbook link.",
    [PROMETHEUS_RULE],
    REQUIRED_LABELS,
)
def prometheus_rule(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    for problem in _alert_problems(get(args.props, "spec", "groups", default=[]), setting(config, REQUIRED_LABELS)):
        report(f"{args.name}: {problem}.")
