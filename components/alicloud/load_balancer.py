"""AlicloudLoadBalancer: an internet-facing Alibaba Cloud ALB with a server group per service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_alicloud as ali

TYPE = "courier:alicloud:LoadBalancer"

#: TLS 1.2 and 1.3 with strong ciphers only.
TLS_POLICY = "tls_cipher_policy_1_2_strict_with_1_3"

#: Slow start and connection draining exist only on Standard and WAF-enabled ALB instances (not
#: Basic), and slow start only with the weighted round-robin scheduler, not Wlc or Sch (ALB API
#: reference, CreateServerGroup / UpdateServerGroupAttribute: SlowStartConfig,
#: ConnectionDrainConfig). Change these two together or not at all.
EDITION = "Standard"
SCHEDULER = "Wrr"
#: Health checks every 5 s (API range 1-50) that give up after 3 s (range 1-300): a probe ends
#: before the next one starts, as AWS requires of target groups, so a slow instance is never
#: probed twice at once; 3 failures (range 2-10) take it out within 15 s.
HEALTH_CHECK_INTERVAL_SECONDS = 5
HEALTH_CHECK_TIMEOUT_SECONDS = 3
#: New instances ramp up over 30 s (API range 30-900); removed ones finish requests for 30 s
#: (range 0-900).
SLOW_START_SECONDS = 30
CONNECTION_DRAIN_SECONDS = 30


@dataclass(frozen=True)
class AlicloudTarget:
    name: str
    port: int
    health_check_path: str
    path_patterns: Sequence[str]


@dataclass(frozen=True)
class AlicloudLoadBalancerArgs:
    vpc_id: pulumi.Input[str]
    #: (zone ID, edge vSwitch ID) per zone; the ALB has a node in each.
    zone_mappings: Sequence[tuple[str, pulumi.Input[str]]]
    #: Certificate Management Service ID of the certificate for the API names.
    certificate_id: str
    #: Simple Log Service project for the access logs (names are unique across Alibaba Cloud).
    log_project_name: str
    services: Sequence[AlicloudTarget]
    #: Start of every physical name (components.alicloud.names.prefix: stack and region code),
    #: so stacks sharing an account are told apart in the console.
    name_prefix: str
    deletion_protection: bool = True
    access_log_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)


class AlicloudLoadBalancer(pulumi.ComponentResource):
    """A security group that admits only 80 and 443, the ALB (deletion protection in prod,
    access logs to Simple Log Service), an HTTPS listener with a TLS 1.2+ policy, path rules to
    one health-checked server group per service, a 404 for anything else, and an HTTP listener
    that redirects to HTTPS."""

    load_balancer_id: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    server_group_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: AlicloudLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        prefix = args.name_prefix

        security_group = ali.ecs.SecurityGroup(
            f"{name}-alb",
            vpc_id=args.vpc_id,
            security_group_name=f"{prefix}-alb",
            description="Public HTTPS entry point: 443, and 80 only to redirect to 443",
            tags=tags,
            opts=child,
        )
        for port in (80, 443):
            ali.ecs.SecurityGroupRule(
                f"{name}-alb-in-{port}",
                security_group_id=security_group.id,
                type="ingress",
                ip_protocol="tcp",
                port_range=f"{port}/{port}",
                cidr_ip="0.0.0.0/0",
                policy="accept",
                nic_type="intranet",
                description="Clients",
                opts=child,
            )

        logs = ali.log.Project(
            f"{name}-alb-logs", project_name=args.log_project_name, description="ALB access logs", tags=tags, opts=child
        )
        store = ali.log.Store(
            f"{name}-alb-logs",
            project_name=logs.project_name,
            logstore_name="alb-access",
            retention_period=args.access_log_retention_days,
            opts=child,
        )

        alb = ali.alb.LoadBalancer(
            f"{name}-alb",
            vpc_id=args.vpc_id,
            load_balancer_name=f"{prefix}-alb",
            address_type="Internet",
            address_allocated_mode="Dynamic",
            load_balancer_edition=EDITION,
            load_balancer_billing_config=ali.alb.LoadBalancerLoadBalancerBillingConfigArgs(pay_type="PayAsYouGo"),
            zone_mappings=[
                ali.alb.LoadBalancerZoneMappingArgs(zone_id=zone, vswitch_id=vswitch)
                for zone, vswitch in args.zone_mappings
            ],
            deletion_protection_enabled=args.deletion_protection,
            access_log_config=ali.alb.LoadBalancerAccessLogConfigArgs(
                log_project=logs.project_name, log_store=store.logstore_name
            ),
            tags=tags,
            opts=child,
        )
        ali.alb.LoadBalancerSecurityGroupAttachment(
            f"{name}-alb", load_balancer_id=alb.id, security_group_id=security_group.id, opts=child
        )

        self.server_group_ids = {}
        for service in args.services:
            group = ali.alb.ServerGroup(
                f"{name}-{service.name}",
                server_group_name=f"{prefix}-{service.name}",
                protocol="HTTP",
                vpc_id=args.vpc_id,
                scheduler=SCHEDULER,
                health_check_config=ali.alb.ServerGroupHealthCheckConfigArgs(
                    health_check_enabled=True,
                    health_check_protocol="HTTP",
                    health_check_method="GET",
                    health_check_path=service.health_check_path,
                    health_check_codes=["http_2xx"],
                    health_check_interval=HEALTH_CHECK_INTERVAL_SECONDS,
                    health_check_timeout=HEALTH_CHECK_TIMEOUT_SECONDS,
                    healthy_threshold=3,
                    unhealthy_threshold=3,
                ),
                connection_drain_config=ali.alb.ServerGroupConnectionDrainConfigArgs(
                    connection_drain_enabled=True, connection_drain_timeout=CONNECTION_DRAIN_SECONDS
                ),
                slow_start_config=ali.alb.ServerGroupSlowStartConfigArgs(
                    slow_start_enabled=True, slow_start_duration=SLOW_START_SECONDS
                ),
                tags={**tags, "service": service.name},
                opts=child,
            )
            self.server_group_ids[service.name] = group.id

        first = self.server_group_ids[args.services[0].name]
        https = ali.alb.Listener(
            f"{name}-https",
            load_balancer_id=alb.id,
            listener_protocol="HTTPS",
            listener_port=443,
            security_policy_id=TLS_POLICY,
            certificates=ali.alb.ListenerCertificatesArgs(certificate_id=args.certificate_id),
            # The API only takes a forward here; the catch-all rule below answers 404 before it.
            default_actions=[_forward(first)],
            tags=tags,
            opts=child,
        )
        for priority, service in enumerate(args.services, start=1):
            _path_rule(
                f"{name}-{service.name}",
                f"{prefix}-{service.name}",
                https.id,
                priority * 10,
                list(service.path_patterns),
                ali.alb.RuleRuleActionArgs(
                    order=1,
                    type="ForwardGroup",
                    forward_group_config=ali.alb.RuleRuleActionForwardGroupConfigArgs(
                        server_group_tuples=[
                            ali.alb.RuleRuleActionForwardGroupConfigServerGroupTupleArgs(
                                server_group_id=self.server_group_ids[service.name]
                            )
                        ]
                    ),
                ),
                child,
            )
        _path_rule(
            f"{name}-not-found",
            f"{prefix}-not-found",
            https.id,
            10000,
            ["/*"],
            ali.alb.RuleRuleActionArgs(
                order=1,
                type="FixedResponse",
                fixed_response_config=ali.alb.RuleRuleActionFixedResponseConfigArgs(
                    content='{"error":"not found"}', content_type="application/json", http_code="404"
                ),
            ),
            child,
        )

        http = ali.alb.Listener(
            f"{name}-http",
            load_balancer_id=alb.id,
            listener_protocol="HTTP",
            listener_port=80,
            default_actions=[_forward(first)],
            tags=tags,
            opts=child,
        )
        _path_rule(
            f"{name}-to-https",
            f"{prefix}-to-https",
            http.id,
            1,
            ["/*"],
            ali.alb.RuleRuleActionArgs(
                order=1,
                type="Redirect",
                redirect_config=ali.alb.RuleRuleActionRedirectConfigArgs(protocol="HTTPS", port="443", http_code="301"),
            ),
            child,
        )

        self.load_balancer_id = alb.id
        self.dns_name = alb.dns_name
        self.security_group_id = security_group.id
        self.register_outputs(
            {"loadBalancerId": self.load_balancer_id, "dnsName": self.dns_name, "serverGroupIds": self.server_group_ids}
        )


def _path_rule(
    name: str,
    rule_name: str,
    listener_id: pulumi.Input[str],
    priority: int,
    paths: list[str],
    action: ali.alb.RuleRuleActionArgs,
    opts: pulumi.ResourceOptions,
) -> ali.alb.Rule:
    """A listener rule taking the requests whose path matches."""
    return ali.alb.Rule(
        name,
        listener_id=listener_id,
        rule_name=rule_name,
        priority=priority,
        rule_conditions=[
            ali.alb.RuleRuleConditionArgs(
                type="Path", path_config=ali.alb.RuleRuleConditionPathConfigArgs(values=paths)
            )
        ],
        rule_actions=[action],
        opts=opts,
    )


def _forward(server_group_id: pulumi.Input[str]) -> ali.alb.ListenerDefaultActionArgs:
    return ali.alb.ListenerDefaultActionArgs(
        type="ForwardGroup",
        forward_group_config=ali.alb.ListenerDefaultActionForwardGroupConfigArgs(
            server_group_tuples=[
                ali.alb.ListenerDefaultActionForwardGroupConfigServerGroupTupleArgs(server_group_id=server_group_id)
            ]
        ),
    )
