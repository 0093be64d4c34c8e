"""AwsRegion: everything one AWS region runs, built with that region's provider."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import planning
from components.aws.alarms import Alarms, AlarmsArgs, FleetWatch
from components.aws.fleet import Fleet, FleetArgs, MetricsSink, PromotionSchedule
from components.aws.load_balancer import LoadBalancer, LoadBalancerArgs, ServiceTarget
from components.aws.network import Network, NetworkArgs
from components.aws.oncall_topics import OnCallTopics, OnCallTopicsArgs, Subscription
from components.aws.prometheus import ManagedPrometheus, ManagedPrometheusArgs
from components.monitoring import rules
from components.spec import EnvironmentSpec, RegionSpec, ServiceSpec

TYPE = "courier:aws:Region"

#: Public SSM parameters naming the current Amazon Linux 2023 AMI, per CPU architecture.
AL2023_IMAGES = {
    "x86_64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "arm64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
}


@dataclass(frozen=True)
class AwsRegionArgs:
    spec: EnvironmentSpec
    region: RegionSpec
    #: The region's AWS provider; every child resource is created through it.
    provider: aws.Provider
    #: An issued certificate for the API names, from components.aws.certificates.
    certificate_arn: pulumi.Input[str]


class AwsRegion(pulumi.ComponentResource):
    """Network, load balancer, on-call topics, the Managed Prometheus workspace with the
    region's rules and routing, one fleet per VM service (each instance remote-writing its
    metrics there) and the CloudWatch alarms."""

    load_balancer: LoadBalancer
    fleets: dict[str, Fleet]

    def __init__(self, name: str, args: AwsRegionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(
            TYPE, name, None, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[args.provider]))
        )
        spec, region = args.spec, args.region
        child = pulumi.ResourceOptions(parent=self)
        services = spec.services_on("vm")

        self.network = Network(
            name,
            NetworkArgs(
                cidr=region.cidr,
                availability_zones=region.availability_zones,
                nat_per_zone=spec.nat_per_zone(region),
                flow_log_retention_days=spec.safety.log_retention_days,
                tags=spec.tags(),
            ),
            opts=child,
        )
        self.load_balancer = LoadBalancer(
            name,
            LoadBalancerArgs(
                region=region.name,
                vpc_id=self.network.vpc_id,
                vpc_cidr=region.cidr,
                public_subnet_ids=self.network.public_subnet_ids,
                certificate_arn=args.certificate_arn,
                services=[ServiceTarget(s.name, s.port, s.health_check_path, s.path_patterns) for s in services],
                deletion_protection=spec.safety.deletion_protection,
                access_log_retention_days=spec.safety.log_retention_days,
                protect_logs=spec.safety.protect_stateful,
                tags=spec.tags(),
            ),
            opts=child,
        )
        self.topics = OnCallTopics(
            name, OnCallTopicsArgs(subscriptions=_subscriptions(spec), tags=spec.tags()), opts=child
        )
        self.prometheus = ManagedPrometheus(
            name,
            ManagedPrometheusArgs(
                region=region.name,
                rules_yaml=rules.rule_file(spec, region),
                topic_arns=self.topics.topic_arns,
                log_retention_days=spec.safety.log_retention_days,
                tags=spec.tags(),
            ),
            opts=child,
        )

        self.fleets = {}
        for service in services:
            self.fleets[service.name] = self._fleet(name, spec, region, service)

        Alarms(
            name,
            AlarmsArgs(
                load_balancer_arn_suffix=self.load_balancer.arn_suffix,
                fleets=[
                    FleetWatch(
                        service=s.name,
                        group_name=self.fleets[s.name].group_name,
                        target_group_arn_suffix=self.load_balancer.target_groups[s.name].arn_suffix,
                        cpu_target=s.scaling.cpu_target,
                        latency_p99_ms=s.slo.latency_p99_ms,
                    )
                    for s in services
                ],
                topic_arns=self.topics.topic_arns,
                availability_percent=min((s.slo.availability_percent for s in services), default=99.9),
                runbook_base_url=spec.alerting.runbook_base_url,
                tags=spec.tags(),
            ),
            opts=child,
        )
        self.register_outputs(
            {
                "loadBalancerDnsName": self.load_balancer.dns_name,
                "fleetGroupNames": {k: f.group_name for k, f in self.fleets.items()},
            }
        )

    def _fleet(self, name: str, spec: EnvironmentSpec, region: RegionSpec, service: ServiceSpec) -> Fleet:
        capacity = spec.capacity(service, region)
        return Fleet(
            f"{name}-{service.name}",
            FleetArgs(
                service=service.name,
                port=service.port,
                instance_types=service.instance_types,
                image=service.image or AL2023_IMAGES[service.cpu_architecture],
                vpc_id=self.network.vpc_id,
                private_subnet_ids=self.network.private_subnet_ids,
                load_balancer_security_group_id=self.load_balancer.security_group_id,
                target_group_arn=self.load_balancer.target_groups[service.name].arn,
                capacity=capacity,
                cpu_target=service.scaling.cpu_target,
                warmup_seconds=service.scaling.warmup_seconds,
                health_check_grace_seconds=service.scaling.health_check_grace_seconds,
                warm_pool=spec.warm_pool(service),
                promotions=[
                    PromotionSchedule(
                        name=p.name,
                        raise_at=p.window.raise_at if p.window.raise_at > spec.as_of else None,
                        restore_at=p.window.restore_at,
                        capacity=planning.promotion_capacity(
                            capacity, p.expected_peak_multiplier, service.scaling.cpu_target
                        ),
                    )
                    for p in spec.upcoming_promotions()
                ],
                environment=spec.environment,
                region=region.name,
                metrics=MetricsSink(self.prometheus.workspace_arn, self.prometheus.remote_write_url),
                tags=spec.tags(service.name),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _subscriptions(spec: EnvironmentSpec) -> dict[str, list[Subscription]]:
    # Endpoints from a secret config value stay secret in the state and in previews.
    secret = "alerting" in spec.secret_keys
    return {
        role: [Subscription(r.protocol, pulumi.Output.secret(r.endpoint) if secret else r.endpoint) for r in receivers]
        for role, receivers in spec.alerting.receivers.items()
    }
