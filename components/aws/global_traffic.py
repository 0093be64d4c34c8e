"""GlobalTraffic: Route 53 health checks and records that send users to healthy regions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.alarms import routed_alarm
from components.aws.certificates import regional_name
from components.aws.oncall_topics import OnCallTopics, OnCallTopicsArgs, Subscription
from components.monitoring import oncall

TYPE = "courier:aws:GlobalTraffic"


@dataclass(frozen=True)
class RegionEndpoint:
    code: str
    region: str
    #: primary | secondary | standby. Primary and secondary share traffic by latency; a
    #: standby only receives traffic when every active region is unhealthy.
    role: str
    dns_name: pulumi.Input[str]
    zone_id: pulumi.Input[str]
    #: Paths checked through the load balancer, one per service (``/orders/healthz``).
    health_paths: Sequence[str]


@dataclass(frozen=True)
class GeoEndpoint:
    """A region outside AWS that serves the users of one country (Alibaba Cloud for CN)."""

    code: str
    #: ISO 3166 country code whose users it serves.
    country: str
    dns_name: pulumi.Input[str]
    health_paths: Sequence[str]


@dataclass(frozen=True)
class HealthAlerting:
    """Who is paged when a region's calculated health check fails.

    Route 53 publishes its health checks' metrics (``AWS/Route53 HealthCheckStatus``) in
    us-east-1 only, a CloudWatch alarm watches metrics of its own region, and its SNS actions
    must be topics of that region too: the alarms and their topics live with the health checks,
    under the global provider, not in any serving region (whose topics an alarm in us-east-1
    cannot notify, and which may be lost)."""

    #: Role -> who is subscribed to its us-east-1 topic (the same receivers as every region's).
    subscriptions: Mapping[str, Sequence[Subscription]]
    #: The stack, in the topics' key alias (unique per account and region).
    stack: str
    #: Base URL of docs/runbooks; each alarm's description ends with its runbook's link.
    runbook_base_url: str = ""


#: A region leaving DNS is a level-1 incident that customers notice (the traffic moves, and
#: the regions that take it must hold it): critical, customer impact.
REGION_UNHEALTHY_ROLES = oncall.roles_for("critical", None, customer_impact=True)


@dataclass(frozen=True)
class GlobalTrafficArgs:
    #: ``api.<domain>``: the one name clients use.
    global_name: str
    zone_id: pulumi.Input[str]
    endpoints: Sequence[RegionEndpoint]
    #: Regions outside AWS, each serving one country by geolocation.
    geo_endpoints: Sequence[GeoEndpoint] = ()
    #: Seconds between checks from each Route 53 checker (10 = fast, detects in ~30 s).
    request_interval: int = 10
    failure_threshold: int = 3
    #: When set, a CloudWatch alarm on every region's calculated health check pages the
    #: critical roles (default: no alarms, no topics).
    alerting: HealthAlerting | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class GlobalTraffic(pulumi.ComponentResource):
    """Per region: an alias ``<code>.api.<domain>`` to its load balancer, an HTTPS health
    check per service through it and a calculated check that is healthy only when every
    service is. Then latency records for the active regions (primary and secondary) and, when
    there are standby regions, a failover pair: ``api.<domain>`` answers with the nearest
    healthy active region, and with a standby only when no active region is healthy.

    With geo endpoints (Alibaba Cloud serving mainland China), ``api.<domain>`` becomes a
    geolocation set of CNAMEs: users in that country go to ``<code>.api.<domain>`` while it is
    healthy, everyone else (and they, when it is not) to ``global.api.<domain>``, which holds
    the AWS structure above.

    With ``alerting``, one encrypted SNS topic per critical role in us-east-1 (with the roles'
    subscribers) and, per region, an alarm when its calculated check is unhealthy for 2
    minutes, linking the RegionUnhealthy runbook."""

    health_check_ids: dict[str, pulumi.Output[str]]
    #: Region code -> the name of the alarm on its calculated health check (with ``alerting``).
    health_alarm_names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: GlobalTrafficArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)

        self.health_check_ids = {}
        for endpoint in args.endpoints:
            self._regional_alias(endpoint)
            self.health_check_ids[endpoint.code] = self._region_health(endpoint.code, endpoint.health_paths)
        for geo in args.geo_endpoints:
            self._regional_cname(geo)
            self.health_check_ids[geo.code] = self._region_health(geo.code, geo.health_paths)

        aws_name = f"global.{args.global_name}" if args.geo_endpoints else args.global_name
        active = [e for e in args.endpoints if e.role in ("primary", "secondary")]
        standby = [e for e in args.endpoints if e.role == "standby"]
        if standby:
            active_name = f"active.{args.global_name}"
            standby_name = f"standby.{args.global_name}"
            self._latency_set("active", active_name, active)
            self._latency_set("standby", standby_name, standby)
            self._failover("PRIMARY", active_name, aws_name)
            self._failover("SECONDARY", standby_name, aws_name)
        else:
            self._latency_set("active", aws_name, active)
        if args.geo_endpoints:
            self._geolocation(aws_name)
        self.health_alarm_names = {}
        if args.alerting is not None:
            self._health_alarms(args.alerting)
        self.register_outputs({"healthCheckIds": self.health_check_ids, "healthAlarmNames": self.health_alarm_names})

    def _health_alarms(self, alerting: HealthAlerting) -> None:
        """Topics for the critical roles beside the health checks' metrics, and an alarm per
        region's calculated check (``HealthCheckStatus`` is 1 healthy, 0 unhealthy)."""
        topics = OnCallTopics(
            f"{self._name}-health",
            OnCallTopicsArgs(
                roles=REGION_UNHEALTHY_ROLES,
                subscriptions={role: alerting.subscriptions.get(role, ()) for role in REGION_UNHEALTHY_ROLES},
                stack=alerting.stack,
                tags=self._args.tags,
            ),
            opts=self._child,
        )
        for code, check_id in self.health_check_ids.items():
            fqdn = regional_name(code, self._args.global_name)
            alarm = routed_alarm(
                f"{self._name}-{code}-unhealthy",
                service="shared",
                severity="critical",
                customer_impact=True,
                runbook="RegionUnhealthy",
                topic_arns=topics.topic_arns,
                runbook_base_url=alerting.runbook_base_url,
                tags={**self._args.tags, "region-code": code},
                settings=aws.cloudwatch.MetricAlarmArgs(
                    alarm_description=(
                        f"{fqdn}: Route 53's calculated health check of the region (every service's "
                        "health path through its load balancer) has been unhealthy for 2 minutes; "
                        "Route 53 sends its users elsewhere"
                    ),
                    namespace="AWS/Route53",
                    metric_name="HealthCheckStatus",
                    dimensions={"HealthCheckId": check_id},
                    statistic="Minimum",
                    period=60,
                    evaluation_periods=2,
                    datapoints_to_alarm=2,
                    threshold=1.0,
                    comparison_operator="LessThanThreshold",
                    # Route 53 reports every health check every minute: silence means the check
                    # (or its metric) is gone, and nobody watches the region any more.
                    treat_missing_data="breaching",
                ),
                parent=self,
            )
            self.health_alarm_names[code] = alarm.name

    def _regional_alias(self, endpoint: RegionEndpoint) -> None:
        aws.route53.Record(
            f"{self._name}-{endpoint.code}",
            zone_id=self._args.zone_id,
            name=regional_name(endpoint.code, self._args.global_name),
            type="A",
            aliases=[
                aws.route53.RecordAliasArgs(
                    name=endpoint.dns_name, zone_id=endpoint.zone_id, evaluate_target_health=True
                )
            ],
            opts=self._child,
        )

    def _regional_cname(self, geo: GeoEndpoint) -> None:
        aws.route53.Record(
            f"{self._name}-{geo.code}",
            zone_id=self._args.zone_id,
            name=regional_name(geo.code, self._args.global_name),
            type="CNAME",
            ttl=60,
            records=[geo.dns_name],
            opts=self._child,
        )

    def _geolocation(self, aws_name: str) -> None:
        args = self._args
        aws.route53.Record(
            f"{self._name}-geo-default",
            zone_id=args.zone_id,
            name=args.global_name,
            type="CNAME",
            ttl=60,
            set_identifier="default",
            geolocation_routing_policies=[aws.route53.RecordGeolocationRoutingPolicyArgs(country="*")],
            records=[aws_name],
            opts=self._child,
        )
        # Route 53 refuses two geolocation records for one location under one name, so each
        # country gets exactly one: straight to its region, or, when several regions serve
        # it, to a weighted set of them that is healthy while any of them is.
        by_country: dict[str, list[GeoEndpoint]] = {}
        for geo in args.geo_endpoints:
            by_country.setdefault(geo.country, []).append(geo)
        for country, endpoints in sorted(by_country.items()):
            if len(endpoints) == 1:
                (geo,) = endpoints
                target, label = regional_name(geo.code, args.global_name), geo.code
                health = self.health_check_ids[geo.code]
            else:
                target, label = f"{country.lower()}.{args.global_name}", country.lower()
                health = self._country_set(country, target, endpoints)
            # Unhealthy, the country falls back to the default record: the AWS regions.
            aws.route53.Record(
                f"{self._name}-geo-{label}",
                zone_id=args.zone_id,
                name=args.global_name,
                type="CNAME",
                ttl=60,
                set_identifier=label,
                geolocation_routing_policies=[aws.route53.RecordGeolocationRoutingPolicyArgs(country=country)],
                health_check_id=health,
                records=[target],
                opts=self._child,
            )

    def _country_set(self, country: str, record_name: str, endpoints: Sequence[GeoEndpoint]) -> pulumi.Output[str]:
        """Equal-weight CNAMEs to each region serving ``country``, each health-checked (an
        unhealthy one stops answering), and a calculated check healthy while one of them is."""
        args = self._args
        for geo in endpoints:
            aws.route53.Record(
                f"{self._name}-{country.lower()}-{geo.code}",
                zone_id=args.zone_id,
                name=record_name,
                type="CNAME",
                ttl=60,
                set_identifier=geo.code,
                weighted_routing_policies=[aws.route53.RecordWeightedRoutingPolicyArgs(weight=100)],
                health_check_id=self.health_check_ids[geo.code],
                records=[regional_name(geo.code, args.global_name)],
                opts=self._child,
            )
        check = aws.route53.HealthCheck(
            f"{self._name}-{country.lower()}",
            type="CALCULATED",
            child_health_threshold=1,
            child_healthchecks=[self.health_check_ids[geo.code] for geo in endpoints],
            tags={**args.tags, "Name": record_name},
            opts=self._child,
        )
        return check.id

    def _region_health(self, code: str, health_paths: Sequence[str]) -> pulumi.Output[str]:
        args, name = self._args, self._name
        fqdn = regional_name(code, args.global_name)
        checks = []
        for path in health_paths:
            service = path.strip("/").split("/", 1)[0]
            check = aws.route53.HealthCheck(
                f"{name}-{code}-{service}",
                type="HTTPS",
                fqdn=fqdn,
                port=443,
                resource_path=path,
                enable_sni=True,
                request_interval=args.request_interval,
                failure_threshold=args.failure_threshold,
                measure_latency=True,
                tags={**args.tags, "Name": f"{fqdn}{path}", "service": service},
                opts=self._child,
            )
            checks.append(check.id)
        # The region takes traffic only while every service answers: an order that cannot be
        # paid for is a failed order, so one broken service fails the whole region over.
        region_check = aws.route53.HealthCheck(
            f"{name}-{code}",
            type="CALCULATED",
            child_health_threshold=len(checks),
            child_healthchecks=checks,
            tags={**args.tags, "Name": fqdn},
            opts=self._child,
        )
        return region_check.id

    def _latency_set(self, label: str, record_name: str, endpoints: Sequence[RegionEndpoint]) -> None:
        for endpoint in endpoints:
            aws.route53.Record(
                f"{self._name}-{label}-{endpoint.code}",
                zone_id=self._args.zone_id,
                name=record_name,
                type="A",
                set_identifier=endpoint.code,
                latency_routing_policies=[aws.route53.RecordLatencyRoutingPolicyArgs(region=endpoint.region)],
                health_check_id=self.health_check_ids[endpoint.code],
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=endpoint.dns_name, zone_id=endpoint.zone_id, evaluate_target_health=True
                    )
                ],
                opts=self._child,
            )

    def _failover(self, kind: str, target: str, record_name: str) -> None:
        aws.route53.Record(
            f"{self._name}-{kind.lower()}",
            zone_id=self._args.zone_id,
            name=record_name,
            type="A",
            set_identifier=kind.lower(),
            failover_routing_policies=[aws.route53.RecordFailoverRoutingPolicyArgs(type=kind)],
            aliases=[aws.route53.RecordAliasArgs(name=target, zone_id=self._args.zone_id, evaluate_target_health=True)],
            opts=self._child,
        )
