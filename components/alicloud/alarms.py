"""AlicloudAlarms: CloudMonitor alarm rules on an Alibaba Cloud region's ALB, routed by severity.

The same coverage as an AWS region's load balancer alarms (components/aws/alarms.py), on the
metrics CloudMonitor publishes for ALB (namespace ``acs_alb``; "ALB monitoring metrics",
https://www.alibabacloud.com/help/en/slb/application-load-balancer/user-guide/alb-monitoring-metrics):

- ``LoadBalancerHTTPCode5XX`` and ``LoadBalancerQPS`` (per second, by ``loadBalancerId``);
- ``ServerGroupHealthyHostCount``, ``ServerGroupUnHealthyHostCount`` and
  ``ServerGroupUpstreamResponseTime`` (ms), by ``loadBalancerId``, ``listenerProtocol``,
  ``listenerPort`` and ``serverGroupId``.

Every ALB metric has one statistic, ``Value``. CloudMonitor has no percentile for ALB latency:
the latency alarm compares the period's value with the p99 objective, so it fires only when the
typical request is as slow as the objective allows the slowest 1% to be (Prometheus' p99 alert
is the sharper one, where the agent runs; it does not run on these fleets).

Alarm rules (``cms.Alarm``, CloudMonitor's PutResourceMetricRule) have no description: the rule
name ends with its runbook's page (``prod_cnhz-orders-NoHealthyTargets``), which the
notification carries, and the ``runbook`` tag holds the page's address without its scheme
(Alibaba Cloud tag values may not contain ``https://``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_alicloud as ali

from components.aws.alarms import FAST_BURN
from components.monitoring import oncall

TYPE = "courier:alicloud:Alarms"

#: CloudMonitor's namespace of ALB metrics.
PROJECT = "acs_alb"
#: The only statistic CloudMonitor publishes for ALB metrics.
STATISTIC = "Value"
#: Seconds per datapoint (ALB metrics: 60 or a multiple).
PERIOD = 60
#: Below one request a second, a ratio of 5xx is noise (AWS: 60 requests a minute).
MIN_REQUESTS_PER_SECOND = 1
#: Re-notify while still in alarm as often as Alertmanager repeats the same severity
#: (components/monitoring/routing.py); CloudMonitor's default is once a day.
SILENCE_SECONDS: Mapping[str, int] = {"critical": 3600, "warning": 4 * 3600}
#: CloudMonitor's levels for each severity (escalations_critical / escalations_warn).
_LEVEL = {"critical": "CRITICAL", "warning": "WARN"}


@dataclass(frozen=True)
class ServerGroupWatch:
    """What to watch for one service's server group."""

    service: str
    server_group_id: pulumi.Input[str]
    latency_p99_ms: int


@dataclass(frozen=True)
class AlicloudAlarmsArgs:
    load_balancer_id: pulumi.Input[str]
    server_groups: Sequence[ServerGroupWatch]
    #: Role -> CloudMonitor contact group name (components.alicloud.oncall); who gets what is
    #: components.monitoring.oncall's matrix, as on AWS.
    contact_groups: Mapping[str, pulumi.Input[str]]
    #: Start of every rule name (components.alicloud.names.prefix: stack and region code).
    name_prefix: str
    #: Lowest availability objective among the services (percent), for the 5xx ratio.
    availability_percent: float = 99.9
    #: Base URL of docs/runbooks; each rule's ``runbook`` tag is its page's address.
    runbook_base_url: str = ""
    #: The listener the server groups serve behind (the HTTP listener only redirects).
    listener_protocol: str = "HTTPS"
    listener_port: int = 443
    tags: Mapping[str, str] = field(default_factory=dict)


class AlicloudAlarms(pulumi.ComponentResource):
    """Per load balancer: 5xx ratio burning the error budget 14.4x too fast (critical, customer
    impact). Per server group: no healthy server (critical, customer impact), some unhealthy
    server for 3 minutes (warning), backend response time above the p99 objective for 5
    minutes (warning). Every rule notifies the contact groups of the roles that own its
    severity, and again every hour (critical) or four hours (warning) while it lasts."""

    rule_names: list[pulumi.Output[str | None]]

    def __init__(self, name: str, args: AlicloudAlarmsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        missing = [r for r in oncall.ROLES if r not in args.contact_groups]
        if missing:
            raise ValueError(f"AlicloudAlarmsArgs.contact_groups lacks role(s) {missing}; every on-call role needs one")
        self._name = name
        self._args = args
        self.rule_names = []
        self._load_balancer_rule()
        for group in args.server_groups:
            self._server_group_rules(group)
        self.register_outputs({"ruleNames": self.rule_names})

    def _dimensions(self, server_group_id: pulumi.Input[str] | None = None) -> pulumi.Output[str]:
        args = self._args
        if server_group_id is None:
            return pulumi.Output.from_input(args.load_balancer_id).apply(
                lambda lb: json.dumps([{"loadBalancerId": lb}])
            )
        return pulumi.Output.all(args.load_balancer_id, server_group_id).apply(
            lambda ids: json.dumps(
                [
                    {
                        "loadBalancerId": ids[0],
                        "listenerProtocol": args.listener_protocol,
                        "listenerPort": str(args.listener_port),
                        "serverGroupId": ids[1],
                    }
                ]
            )
        )

    def _rule(
        self,
        subject: str,
        service: str,
        severity: oncall.Severity,
        *,
        suffix: str,
        runbook: str,
        metric: str,
        dimensions: pulumi.Input[str],
        category: str | None = None,
        customer_impact: bool = False,
        comparison: str = ">",
        threshold: float = 0,
        times: int = 1,
        expression: str | None = None,
    ) -> None:
        """One alarm rule on ``subject`` (a service, or the ALB): ``metric`` against
        ``threshold``, or ``expression`` over several metrics, true ``times`` periods in a row."""
        args = self._args
        roles = oncall.roles_for(severity, category, customer_impact)
        level = _LEVEL[severity]
        # A rule takes either one metric's escalation or a composite expression, not both.
        escalate = expression is None
        rule = ali.cms.Alarm(
            f"{self._name}-{subject}-{suffix}",
            name=f"{args.name_prefix}-{subject}-{runbook}",
            project=PROJECT,
            metric=metric,
            metric_dimensions=dimensions,
            period=PERIOD,
            contact_groups=[args.contact_groups[role] for role in roles],
            silence_time=SILENCE_SECONDS[severity],
            escalations_critical=ali.cms.AlarmEscalationsCriticalArgs(
                statistics=STATISTIC, comparison_operator=comparison, threshold=_num(threshold), times=times
            )
            if escalate and level == "CRITICAL"
            else None,
            escalations_warn=ali.cms.AlarmEscalationsWarnArgs(
                statistics=STATISTIC, comparison_operator=comparison, threshold=_num(threshold), times=times
            )
            if escalate and level == "WARN"
            else None,
            composite_expression=None
            if escalate
            else ali.cms.AlarmCompositeExpressionArgs(expression_raw=expression, level=level, times=times),
            tags={
                **args.tags,
                "service": service,
                "severity": severity,
                **({"category": category} if category else {}),
                "customer-impact": str(customer_impact).lower(),
                "runbook": runbook_tag(args.runbook_base_url, runbook),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.rule_names.append(rule.name)

    def _load_balancer_rule(self) -> None:
        budget = 100 - self._args.availability_percent
        threshold = round(budget * FAST_BURN, 3)
        qps, errors = f"@LoadBalancerQPS[{PERIOD}].${STATISTIC}", f"@LoadBalancerHTTPCode5XX[{PERIOD}].${STATISTIC}"
        self._rule(
            "alb",
            "shared",
            "critical",
            suffix="5xx-ratio",
            runbook="LoadBalancer5xxRatio",
            customer_impact=True,
            metric="LoadBalancerHTTPCode5XX",
            dimensions=self._dimensions(),
            # Both metrics are per second over the same minute: their ratio is the minute's
            # share of 5xx answers, guarded against quiet minutes.
            expression=f"{qps} >= {MIN_REQUESTS_PER_SECOND} && 100 * {errors} / {qps} > {_num(threshold)}",
            times=5,
        )

    def _server_group_rules(self, group: ServerGroupWatch) -> None:
        svc = group.service
        dimensions = self._dimensions(group.server_group_id)
        self._rule(
            svc,
            svc,
            "critical",
            suffix="no-healthy-hosts",
            runbook="NoHealthyTargets",
            customer_impact=True,
            metric="ServerGroupHealthyHostCount",
            dimensions=dimensions,
            comparison="<",
            threshold=1,
            times=2,
        )
        self._rule(
            svc,
            svc,
            "warning",
            suffix="unhealthy-hosts",
            runbook="UnhealthyTargets",
            metric="ServerGroupUnHealthyHostCount",
            dimensions=dimensions,
            comparison=">",
            threshold=0,
            times=3,
        )
        self._rule(
            svc,
            svc,
            "warning",
            suffix="latency",
            runbook="LatencyP99AboveObjective",
            metric="ServerGroupUpstreamResponseTime",
            dimensions=dimensions,
            comparison=">",
            threshold=group.latency_p99_ms,
            times=5,
        )


def runbook_tag(base_url: str, runbook: str) -> str:
    """The runbook's address without its scheme, as an Alibaba Cloud tag value (at most 128
    characters, no ``http://`` or ``https://``); the page's name alone when it would not fit."""
    address = f"{base_url.rstrip('/')}/{runbook}.md".split("://", 1)[-1] if base_url else f"{runbook}.md"
    return address if len(address) <= 128 else f"{runbook}.md"


def _num(value: float) -> str:
    return f"{value:g}"
