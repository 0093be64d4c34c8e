"""ArmsPrometheus: an Alibaba Cloud region's Managed Service for Prometheus (ARMS), its alert rules
and their routing to the on-call roles. Everything is created with the region's provider, so
the instance, its data and its notifications stay in that region (mainland China's: cn-hangzhou).

The alert rules are the AWS regions' (components.monitoring.rules, per (spec, region)), mapped
one by one onto ARMS's alert rules (expression, duration, labels, annotations), with two
differences that ARMS forces:

- **Recording rules are inlined.** ARMS takes recording rules only as a RecordingRule.yaml set
  in the console or through its AddRecordingRule API; pulumi_alicloud 4.0.0 has no resource for
  either. So each reference to a recorded series in an alert (``courier:...{service, region}``)
  is replaced by the recorded expression with the alert's matchers pushed into its selectors
  (equivalent: every recorded series is aggregated ``by (service, region)`` or carries exactly
  those labels), and ``courier:fleet_max_instances:count`` by its ``vector(...)`` with the two
  labels set by ``label_replace``.
- **Routing is per rule, not per label.** An ARMS notification policy (dispatch rule) matches
  only ARMS's own labels (``_aliyun_arms_alert_name``, ``_aliyun_arms_alert_level``, ...; the
  CreateDispatchRule reference lists no others), so it cannot match ``severity``. Each alert
  rule therefore names its policy (``notify_type = DISPATCH_RULE``) and each policy also
  matches exactly its rules' names: one policy per set of roles that
  components.monitoring.oncall.roles_for gives, notifying those roles' contact groups, repeating
  as often as Alertmanager does for that severity. ARMS has no inhibition: a warning is not
  held back by a critical alert of the same service.

Where the data comes from: the instance is of type ``ecs``, a Prometheus inside the region's VPC
(its collector's network interfaces in an app vSwitch, in a security group of its own), and one
ARMS custom job per fleet scrapes node_exporter and the service's ``/metrics``, finding the
instances with ARMS's ECS service discovery by their ``stack`` and ``service`` tags
(components.monitoring.scrape). Remote write is not used: ARMS documents only an AccessKey pair
for it, and no long-lived key goes on an instance. The series carry the AWS agent's labels, so
every rule, FleetTargetsAbsent included, reads them as it does on AWS.

What is not built, and why:

- **Watchdog** is not created: its only receiver, the dead man's switch, is an https endpoint,
  and ARMS's webhook contacts (CreateOrUpdateWebhookContact) have no resource in
  pulumi_alicloud 4.0.0. Receivers with protocol https on any role are skipped likewise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_alicloud as ali

from components.alicloud.oncall import Contact
from components.monitoring import oncall, rules, scrape
from components.spec import EnvironmentSpec, RegionSpec

TYPE = "courier:alicloud:ArmsPrometheus"

#: CreatePrometheusAlertRule ``Type``: 101 is a Prometheus alert (99 a custom one).
RULE_TYPE = "101"
#: Alerts that fire because data is missing: held back when nothing scrapes the fleets.
ABSENCE_ALERTS = frozenset({"FleetTargetsAbsent"})
#: Alerts whose receiver ARMS cannot reach through pulumi_alicloud (a webhook contact).
UNROUTABLE_ALERTS = frozenset({"Watchdog"})
#: Alertmanager's timing (components.monitoring.routing), in the seconds ARMS takes.
GROUP_WAIT_SECONDS = 30
GROUP_INTERVAL_SECONDS = 300
REPEAT_SECONDS: Mapping[str, int] = {"critical": 3600, "warning": 4 * 3600, "info": 12 * 3600}
#: CreatePrometheusAlertRule: a duration from 1m to 1440m, in minutes.
MAX_DURATION_MINUTES = 1440

#: A series selector: a metric name with matchers, or one followed by a range. Function names
#: and keywords (``rate(``, ``by (``) are followed by neither.
_SELECTOR = re.compile(r"\b([a-zA-Z_][a-zA-Z0-9_]*)(?:(\{[^}]*\})|(?=\[))")
_RECORDED = re.compile(r"(courier:[a-zA-Z0-9_:]+)(\{[^}]*\})")
_DURATION = re.compile(r"(\d+)([mhd])")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class ArmsAlert:
    """One ARMS alert rule, planned from one Prometheus alert rule."""

    #: The ARMS rule's name: ``<prefix>-<service or region>-<alert>[-<long window>]``, unique.
    name: str
    alert: str
    expression: str
    #: ARMS's form: whole minutes, e.g. ``60m`` for the rule file's ``1h``.
    duration: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    #: Who is notified (components.monitoring.oncall.roles_for of its labels).
    roles: tuple[str, ...]


def arms_duration(duration: str) -> str:
    """A Prometheus ``for`` (``2m``, ``1h``, ``3h``) as ARMS's minutes (``2m``, ``60m``, ``180m``)."""
    match = _DURATION.fullmatch(duration)
    if match is None:
        raise ValueError(f"cannot express the duration {duration!r} in whole minutes")
    minutes = int(match.group(1)) * {"m": 1, "h": 60, "d": 1440}[match.group(2)]
    if not 1 <= minutes <= MAX_DURATION_MINUTES:
        raise ValueError(f"duration {duration!r} is {minutes} minutes; ARMS takes 1 to {MAX_DURATION_MINUTES}")
    return f"{minutes}m"


def _with_matchers(expression: str, matchers: str) -> str:
    """``expression`` with ``matchers`` (``service="x", region="y"``) added to every selector."""

    def add(match: re.Match[str]) -> str:
        metric, existing = match.group(1), match.group(2)
        if existing is None:
            return f"{metric}{{{matchers}}}"
        inner = existing[1:-1].strip()
        return f"{metric}{{{inner + ', ' if inner else ''}{matchers}}}"

    return _SELECTOR.sub(add, expression)


def _labels_of(selector: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', selector))


def inline_recorded(expression: str, recording: Sequence[Mapping[str, Any]]) -> str:
    """``expression`` with every recorded series it reads replaced by its definition."""
    aggregated = {r["record"]: r["expr"] for r in recording if "labels" not in r}
    labelled = {(r["record"], tuple(sorted(r["labels"].items()))): r["expr"] for r in recording if "labels" in r}

    def replace(match: re.Match[str]) -> str:
        record, selector = match.group(1), match.group(2)
        labels = _labels_of(selector)
        if set(labels) != {"service", "region"}:
            raise ValueError(f"{record}{selector}: a recorded series is read by service and region only")
        key = (record, tuple(sorted(labels.items())))
        if key in labelled:
            expr = labelled[key]
            for name in ("service", "region"):
                expr = f'label_replace({expr}, "{name}", "{labels[name]}", "", "")'
            return expr
        if record not in aggregated:
            raise ValueError(f"{record} is read by an alert but recorded by no rule")
        return f"({_with_matchers(aggregated[record], selector[1:-1])})"

    return _RECORDED.sub(replace, expression)


def plan_alerts(spec: EnvironmentSpec, region: RegionSpec, *, name_prefix: str, fleets_report: bool) -> list[ArmsAlert]:
    """The region's alert rules as ARMS rules, in the rule file's order (see the module docstring
    for what is held back)."""
    groups = rules.rule_groups(spec, region)
    recording = [r for g in groups for r in g["rules"] if "record" in r]
    skipped = UNROUTABLE_ALERTS | (frozenset() if fleets_report else ABSENCE_ALERTS)
    planned: list[ArmsAlert] = []
    for rule in (r for g in groups for r in g["rules"] if "alert" in r):
        if rule["alert"] in skipped:
            continue
        labels: dict[str, str] = dict(rule["labels"])
        parts = [name_prefix, labels.get("service", region.code), rule["alert"]]
        if "long_window" in labels:
            parts.append(labels["long_window"])
        name = "-".join(parts)
        if not _SAFE_NAME.fullmatch(name):
            raise ValueError(f"ARMS alert rule name {name!r} has characters other than letters, digits, - and _")
        planned.append(
            ArmsAlert(
                name=name,
                alert=rule["alert"],
                expression=inline_recorded(rule["expr"], recording),
                duration=arms_duration(rule.get("for") or "1m"),
                labels=labels,
                annotations=dict(rule["annotations"]),
                roles=oncall.roles_for(
                    cast(oncall.Severity, labels["severity"]),
                    labels.get("category"),
                    labels.get("customer_impact") == "true",
                ),
            )
        )
    names = [a.name for a in planned]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"ARMS alert rule names collide: {duplicates}")
    return planned


def routes(alerts: Sequence[ArmsAlert]) -> dict[tuple[str, ...], list[ArmsAlert]]:
    """Alerts grouped by who is notified: one ARMS notification policy per group."""
    grouped: dict[tuple[str, ...], list[ArmsAlert]] = {}
    for alert in alerts:
        grouped.setdefault(alert.roles, []).append(alert)
    return grouped


@dataclass(frozen=True)
class ArmsPrometheusArgs:
    spec: EnvironmentSpec
    region: RegionSpec
    #: Start of every name (components.alicloud.names.prefix: stack and region code): ARMS
    #: contacts, contact groups and notification policies are account-wide.
    name_prefix: str
    #: Role -> who is reached (the stack config's alerting receivers; secret when set as secrets).
    #: Email and SMS receivers become ARMS contacts; https ones have no ARMS resource here.
    contacts: Mapping[str, Sequence[Contact]]
    #: The region's VPC and the app vSwitch the collector's network interfaces go in.
    vpc_id: pulumi.Input[str]
    vswitch_id: pulumi.Input[str]
    #: The fleets to scrape: service name -> its port (an ARMS custom job each). Empty: nothing
    #: reports, so alerts on missing data are held back (ABSENCE_ALERTS).
    fleets: Mapping[str, int] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


class ArmsPrometheus(pulumi.ComponentResource):
    """A Prometheus instance in the region's VPC (ARMS type ``ecs``, shared Grafana) with its
    collector's security group and a scrape job per fleet, an alert contact per email or SMS
    receiver and a contact group per on-call role, one notification policy per set of roles the
    on-call matrix notifies, and the region's alert rules, each sent to its policy."""

    cluster_id: pulumi.Output[str]
    #: The collector's security group: the fleets admit it on their service and node_exporter ports.
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: ArmsPrometheusArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix
        alerts = plan_alerts(args.spec, args.region, name_prefix=prefix, fleets_report=bool(args.fleets))

        scraper = ali.ecs.SecurityGroup(
            f"{name}-scraper",
            vpc_id=args.vpc_id,
            security_group_name=f"{prefix}-prometheus-collector",
            description="The ARMS Prometheus collector: scrapes the fleets; no ingress",
            tags=dict(args.tags),
            opts=child,
        )
        instance = ali.arms.Prometheus(
            f"{name}-prometheus",
            # ecs: a Prometheus for the ECS instances of one VPC, whose collector scrapes them
            # there (CreatePrometheusInstance; vpc, vSwitch and security group are required
            # for this type and ForceNew).
            cluster_type="ecs",
            cluster_name=f"{prefix}-courier",
            vpc_id=args.vpc_id,
            vswitch_id=args.vswitch_id,
            security_group_id=scraper.id,
            # The shared Grafana: a dedicated workspace is a product of its own.
            grafana_instance_id="free",
            tags=dict(args.tags),
            opts=child,
        )
        for service, port in sorted(args.fleets.items()):
            ali.arms.PrometheusMonitoring(
                f"{name}-scrape-{service}",
                cluster_id=instance.cluster_id,
                type="customJob",
                status="run",
                config_yaml=scrape.fleet_scrape_yaml(
                    stack=args.spec.stack,
                    service=service,
                    region=args.region.name,
                    environment=args.spec.environment,
                    port=port,
                ),
                opts=child,
            )
        groups, channels = self._contact_groups(name, args, child)
        policies: dict[tuple[str, ...], ali.arms.DispatchRule] = {}
        for index, (roles, members) in enumerate(routes(alerts).items()):
            severity = members[0].labels["severity"]
            policies[roles] = ali.arms.DispatchRule(
                f"{name}-route-{index}",
                dispatch_rule_name=f"{prefix}-{'.'.join(roles)}",
                dispatch_type="CREATE_ALERT",
                is_recover=True,
                group_rules=[
                    ali.arms.DispatchRuleGroupRuleArgs(
                        group_wait_time=GROUP_WAIT_SECONDS,
                        group_interval=GROUP_INTERVAL_SECONDS,
                        repeat_interval=REPEAT_SECONDS[severity],
                        grouping_fields=["alertname", "service", "region"],
                    )
                ],
                label_match_expression_grids=[
                    ali.arms.DispatchRuleLabelMatchExpressionGridArgs(
                        label_match_expression_groups=[
                            ali.arms.DispatchRuleLabelMatchExpressionGridLabelMatchExpressionGroupArgs(
                                label_match_expressions=[
                                    ali.arms.DispatchRuleLabelMatchExpressionGridLabelMatchExpressionGroupLabelMatchExpressionArgs(
                                        key="_aliyun_arms_alert_name",
                                        operator="re",
                                        value="^(" + "|".join(sorted({a.name for a in members})) + ")$",
                                    )
                                ]
                            )
                        ]
                    )
                ],
                notify_rules=[
                    ali.arms.DispatchRuleNotifyRuleArgs(
                        notify_objects=[
                            ali.arms.DispatchRuleNotifyRuleNotifyObjectArgs(
                                notify_object_id=groups[role].id,
                                notify_type="ARMS_CONTACT_GROUP",
                                name=groups[role].alert_contact_group_name,
                            )
                            for role in roles
                        ],
                        notify_channels=sorted({c for role in roles for c in channels.get(role, ())}) or ["email"],
                        notify_start_time="00:00",
                        notify_end_time="23:59",
                    )
                ],
                opts=child,
            )
        for alert in alerts:
            ali.arms.PrometheusAlertRule(
                f"{name}-{alert.name.removeprefix(prefix + '-')}",
                cluster_id=instance.cluster_id,
                prometheus_alert_rule_name=alert.name,
                type=RULE_TYPE,
                expression=alert.expression,
                duration=alert.duration,
                message=alert.annotations["summary"],
                labels=[ali.arms.PrometheusAlertRuleLabelArgs(name=k, value=v) for k, v in alert.labels.items()],
                annotations=[
                    ali.arms.PrometheusAlertRuleAnnotationArgs(name=k, value=v) for k, v in alert.annotations.items()
                ],
                notify_type="DISPATCH_RULE",
                dispatch_rule_id=policies[alert.roles].id,
                opts=child,
            )

        self.cluster_id = instance.cluster_id
        self.security_group_id = scraper.id
        self.register_outputs({"clusterId": self.cluster_id, "securityGroupId": self.security_group_id})

    def _contact_groups(
        self, name: str, args: ArmsPrometheusArgs, child: pulumi.ResourceOptions
    ) -> tuple[dict[str, ali.arms.AlertContactGroup], dict[str, set[str]]]:
        """A contact per email or SMS receiver, a group per role; and each role's channels."""
        groups: dict[str, ali.arms.AlertContactGroup] = {}
        channels: dict[str, set[str]] = {}
        for role in oncall.ROLES:
            members: list[pulumi.Input[str]] = []
            for index, contact in enumerate(args.contacts.get(role, ())):
                if contact.protocol not in ("email", "sms"):
                    continue
                person = ali.arms.AlertContact(
                    f"{name}-{role}-{index}",
                    alert_contact_name=f"{args.name_prefix}-{role}-{index}",
                    email=contact.endpoint if contact.protocol == "email" else None,
                    phone_num=contact.endpoint if contact.protocol == "sms" else None,
                    opts=child,
                )
                members.append(person.id)
                channels.setdefault(role, set()).add(contact.protocol)
            groups[role] = ali.arms.AlertContactGroup(
                f"{name}-{role}",
                alert_contact_group_name=f"{args.name_prefix}-{role}",
                contact_ids=members,
                opts=child,
            )
        return groups, channels
