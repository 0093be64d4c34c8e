"""Alarms: CloudWatch alarms for a region's fleets and load balancer, routed by severity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.monitoring import oncall

TYPE = "courier:aws:Alarms"

#: A fast error-budget burn: at 14.4x the budget, a 30-day budget is gone in ~2 days
#: (the SRE workbook's paging threshold for a 1-hour window).
FAST_BURN = 14.4
#: Below this many requests a minute, an error ratio is noise, not a signal.
MIN_REQUESTS_PER_MINUTE = 60


@dataclass(frozen=True)
class FleetWatch:
    """What to watch for one service's fleet."""

    service: str
    group_name: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    cpu_target: int
    latency_p99_ms: int


@dataclass(frozen=True)
class AlarmsArgs:
    load_balancer_arn_suffix: pulumi.Input[str]
    fleets: Sequence[FleetWatch]
    #: Role -> SNS topic ARN (see components.monitoring.oncall for who gets what).
    topic_arns: Mapping[str, pulumi.Input[str]]
    #: Lowest availability objective among the services (percent), for the 5xx alarm.
    availability_percent: float = 99.9
    #: Base URL of docs/runbooks; each alarm's description ends with its runbook's link.
    runbook_base_url: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


class Alarms(pulumi.ComponentResource):
    """Per fleet: CPU above target for 10 minutes (autoscaling is not keeping up), fleet at
    max size and still above target, no healthy or some unhealthy targets, p99 latency above
    objective. Per load balancer: 5xx ratio burning the error budget 14.4x too fast. Every
    alarm notifies the roles that own its severity, on ALARM and on OK."""

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        self._name = name
        self._args = args
        self.alarm_names: list[pulumi.Output[str]] = []
        #: The critical alarms' ARNs by service ("shared": the load balancer's) and runbook: what
        #: the region's drills stop on (components.aws.drills).
        self.critical_alarm_arns: dict[str, dict[str, pulumi.Output[str]]] = {}
        for fleet in args.fleets:
            self._fleet_alarms(fleet)
        self._load_balancer_alarms()
        self.register_outputs({"alarmNames": self.alarm_names})

    def _alarm(
        self,
        suffix: str,
        service: str,
        severity: oncall.Severity,
        *,
        runbook: str,
        category: str | None = None,
        customer_impact: bool = False,
        settings: aws.cloudwatch.MetricAlarmArgs,
    ) -> None:
        alarm = routed_alarm(
            f"{self._name}-{suffix}",
            service=service,
            severity=severity,
            category=category,
            customer_impact=customer_impact,
            runbook=runbook,
            topic_arns=self._args.topic_arns,
            runbook_base_url=self._args.runbook_base_url,
            tags=self._args.tags,
            settings=settings,
            parent=self,
        )
        self.alarm_names.append(alarm.name)
        if severity == "critical":
            self.critical_alarm_arns.setdefault(service, {})[runbook] = alarm.arn

    def _fleet_alarms(self, fleet: FleetWatch) -> None:
        group = {"AutoScalingGroupName": fleet.group_name}
        target = pulumi.Output.all(fleet.target_group_arn_suffix, self._args.load_balancer_arn_suffix).apply(
            lambda v: {"TargetGroup": v[0], "LoadBalancer": v[1]}
        )
        svc = fleet.service
        self._alarm(
            f"{svc}-cpu-above-target",
            svc,
            "warning",
            runbook="FleetCpuAboveTarget",
            category="capacity",
            settings=aws.cloudwatch.MetricAlarmArgs(
                alarm_description=(
                    f"{svc}: average CPU above the {fleet.cpu_target}% target for 10 minutes; "
                    "target tracking is not keeping up"
                ),
                namespace="AWS/EC2",
                metric_name="CPUUtilization",
                dimensions=group,
                statistic="Average",
                period=60,
                evaluation_periods=10,
                datapoints_to_alarm=10,
                threshold=float(fleet.cpu_target),
                comparison_operator="GreaterThanThreshold",
                # No datapoints means no running instances to measure: the capacity and
                # healthy-host alarms speak for that case, this one keeps its last state.
                treat_missing_data="missing",
            ),
        )
        self._alarm(
            f"{svc}-at-max-capacity",
            svc,
            "critical",
            runbook="FleetAtMaxCapacity",
            category="capacity",
            customer_impact=True,
            settings=aws.cloudwatch.MetricAlarmArgs(
                alarm_description=(
                    f"{svc}: the fleet is at its maximum size and CPU is still above "
                    f"{fleet.cpu_target}%; it cannot scale out further"
                ),
                metric_queries=[
                    _metric("inservice", "AWS/AutoScaling", "GroupInServiceInstances", group, "Maximum"),
                    _metric("maxsize", "AWS/AutoScaling", "GroupMaxSize", group, "Maximum"),
                    _metric("cpu", "AWS/EC2", "CPUUtilization", group, "Average"),
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="atmax",
                        expression=f"IF(inservice >= maxsize AND cpu > {fleet.cpu_target}, 1, 0)",
                        label="At max size and above CPU target",
                        return_data=True,
                    ),
                ],
                evaluation_periods=5,
                datapoints_to_alarm=5,
                threshold=1.0,
                comparison_operator="GreaterThanOrEqualToThreshold",
                # Group metrics are always published once enabled; a gap is not evidence of load.
                treat_missing_data="notBreaching",
            ),
        )
        self._alarm(
            f"{svc}-no-healthy-targets",
            svc,
            "critical",
            runbook="NoHealthyTargets",
            customer_impact=True,
            settings=aws.cloudwatch.MetricAlarmArgs(
                alarm_description=f"{svc}: no healthy targets behind the load balancer; requests fail",
                namespace="AWS/ApplicationELB",
                metric_name="HealthyHostCount",
                dimensions=target,
                statistic="Minimum",
                period=60,
                evaluation_periods=2,
                datapoints_to_alarm=2,
                threshold=1.0,
                comparison_operator="LessThanThreshold",
                # The metric disappears when nothing is registered at all: that is an outage too.
                treat_missing_data="breaching",
            ),
        )
        self._alarm(
            f"{svc}-unhealthy-targets",
            svc,
            "warning",
            runbook="UnhealthyTargets",
            settings=aws.cloudwatch.MetricAlarmArgs(
                alarm_description=f"{svc}: at least one target has failed its health check for 3 minutes",
                namespace="AWS/ApplicationELB",
                metric_name="UnHealthyHostCount",
                dimensions=target,
                statistic="Minimum",
                period=60,
                evaluation_periods=3,
                datapoints_to_alarm=3,
                threshold=0.0,
                comparison_operator="GreaterThanThreshold",
                # Missing means no targets registered; the healthy-targets alarm covers that.
                treat_missing_data="notBreaching",
            ),
        )
        self._alarm(
            f"{svc}-latency-p99",
            svc,
            "warning",
            runbook="LatencyP99AboveObjective",
            settings=aws.cloudwatch.MetricAlarmArgs(
                alarm_description=f"{svc}: p99 response time above {fleet.latency_p99_ms} ms for 5 minutes",
                namespace="AWS/ApplicationELB",
                metric_name="TargetResponseTime",
                dimensions=target,
                extended_statistic="p99",
                period=60,
                evaluation_periods=5,
                datapoints_to_alarm=5,
                threshold=fleet.latency_p99_ms / 1000,
                comparison_operator="GreaterThanThreshold",
                # ALB metrics only exist while there is traffic: no requests, no latency problem.
                treat_missing_data="notBreaching",
            ),
        )

    def _load_balancer_alarms(self) -> None:
        lb = {"LoadBalancer": self._args.load_balancer_arn_suffix}
        budget = 100 - self._args.availability_percent
        threshold = round(budget * FAST_BURN, 3)
        self._alarm(
            "alb-5xx-ratio",
            "shared",
            "critical",
            runbook="LoadBalancer5xxRatio",
            customer_impact=True,
            settings=aws.cloudwatch.MetricAlarmArgs(
                alarm_description=(
                    f"More than {threshold}% of requests failed with 5xx for 5 minutes "
                    f"({FAST_BURN}x the {self._args.availability_percent}% objective's error budget)"
                ),
                metric_queries=[
                    _metric("elb5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", lb, "Sum"),
                    _metric("target5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", lb, "Sum"),
                    _metric("requests", "AWS/ApplicationELB", "RequestCount", lb, "Sum"),
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="ratio",
                        expression=(
                            f"IF(requests >= {MIN_REQUESTS_PER_MINUTE}, "
                            "100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests, 0)"
                        ),
                        label="5xx ratio (%)",
                        return_data=True,
                    ),
                ],
                evaluation_periods=5,
                datapoints_to_alarm=5,
                threshold=threshold,
                comparison_operator="GreaterThanThreshold",
                # No requests means no metrics; quiet hours are not an outage.
                treat_missing_data="notBreaching",
            ),
        )


def routed_alarm(
    name: str,
    *,
    service: str,
    severity: oncall.Severity,
    runbook: str,
    topic_arns: Mapping[str, pulumi.Input[str]],
    runbook_base_url: str,
    tags: Mapping[str, str],
    settings: aws.cloudwatch.MetricAlarmArgs,
    parent: pulumi.Resource,
    category: str | None = None,
    customer_impact: bool = False,
    opts: pulumi.ResourceOptions | None = None,
) -> aws.cloudwatch.MetricAlarm:
    """A CloudWatch alarm that notifies the roles owning its severity (on ALARM and on OK), its
    description ending with its runbook's link, tagged with what it is about."""
    topics = [topic_arns[role] for role in oncall.roles_for(severity, category, customer_impact)]
    if runbook_base_url:
        settings.alarm_description = (
            f"{settings.alarm_description} Runbook: {runbook_base_url.rstrip('/')}/{runbook}.md"
        )
    settings.alarm_actions = topics
    settings.ok_actions = topics
    settings.tags = {
        **tags,
        "service": service,
        "severity": severity,
        **({"category": category} if category else {}),
        "customer-impact": str(customer_impact).lower(),
    }
    return aws.cloudwatch.MetricAlarm(
        name, settings, opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=parent), opts)
    )


def _metric(
    query_id: str, namespace: str, metric: str, dimensions: pulumi.Input[Mapping[str, pulumi.Input[str]]], stat: str
) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query_id,
        return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=namespace, metric_name=metric, dimensions=dimensions, period=60, stat=stat
        ),
    )
