"""CourierEnvironment: the whole courier platform of one stack, in every configured region."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_alicloud as ali
import pulumi_aws as aws
import pulumi_random as random

from components import lost
from components.alicloud.region import AlicloudRegion, AlicloudRegionArgs
from components.aws.certificates import CertificateRegion, Certificates, CertificatesArgs
from components.aws.data import DataReplication, DataReplicationArgs, MediaBucket, SharedData, SharedDataArgs
from components.aws.data.settings import data_settings
from components.aws.global_traffic import GeoEndpoint, GlobalTraffic, GlobalTrafficArgs, HealthAlerting, RegionEndpoint
from components.aws.region import AwsRegion, AwsRegionArgs, DataInputs, subscriptions
from components.aws.region_switch import RegionSwitch, RegionSwitchArgs
from components.dashboards import stack as dashboards
from components.spec import EnvironmentSpec

TYPE = "courier:index:Environment"


@dataclass(frozen=True)
class CourierEnvironmentArgs:
    spec: EnvironmentSpec
    #: AWS provider per region code (components.providers.aws_providers).
    aws_providers: Mapping[str, aws.Provider]
    #: The provider of global resources (components.providers.global_provider).
    global_provider: aws.Provider
    #: Generated secrets (components.providers.random_provider).
    random_provider: random.Provider
    #: Alibaba Cloud provider per region code (components.providers.alicloud_providers),
    #: including mainland China's data replica regions.
    alicloud_providers: Mapping[str, ali.Provider] = field(default_factory=dict)


class CourierEnvironment(pulumi.ComponentResource):
    """Certificates for the API names, one AwsRegion per AWS region, one AlicloudRegion per
    Alibaba Cloud region, and the global traffic layer that spreads users over the active
    regions, fails over to the standby and sends mainland China to Alibaba Cloud."""

    regions: dict[str, AwsRegion]
    alicloud_regions: dict[str, AlicloudRegion]
    api_url: pulumi.Output[str]

    def __init__(self, name: str, args: CourierEnvironmentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        spec = args.spec
        child = pulumi.ResourceOptions(parent=self)
        aws_regions = spec.regions_of("aws")
        global_name = f"api.{spec.domain}"

        # The domain's public hosted zone is managed with the domain itself, outside this stack.
        zone = aws.route53.get_zone_output(
            name=spec.domain,
            private_zone=False,
            opts=pulumi.InvokeOutputOptions(parent=self, provider=args.global_provider),
        )
        certificates = Certificates(
            name,
            CertificatesArgs(
                global_name=global_name,
                zone_id=zone.zone_id,
                regions=[CertificateRegion(r.code, args.aws_providers[r.code], r.lost) for r in aws_regions],
                tags=spec.tags(),
            ),
            opts=child,
        )

        # The data tier: the global database first (its origin region's cluster creates it),
        # then the regions, the origin's first (the others' members join its stores).
        origin = spec.data_origin
        shared = SharedData(
            name,
            SharedDataArgs(
                settings=data_settings(spec), origin_region=origin.name, random_provider=args.random_provider
            ),
            opts=pulumi.ResourceOptions.merge(
                pulumi.ResourceOptions(parent=self, provider=args.aws_providers[origin.code]), lost.options(origin.lost)
            ),
        )
        self.regions = {}
        handles = None
        after: tuple[pulumi.Resource, ...] = ()
        for region in sorted(aws_regions, key=lambda r: r.name != origin.name):
            built = AwsRegion(
                region.code,
                AwsRegionArgs(
                    spec=spec,
                    region=region,
                    provider=args.aws_providers[region.code],
                    certificate_arn=certificates.arns[region.code],
                    data=DataInputs(
                        global_cluster_identifier=shared.global_cluster_identifier,
                        global_writer_endpoint=shared.global_writer_endpoint,
                        master_password=shared.master_password,
                        handles=handles,
                        after=after,
                    ),
                ),
                opts=child,
            )
            if built.data is not None and built.data.handles is not None:
                handles, after = built.data.handles, tuple(built.data.primaries)
            self.regions[region.code] = built
        # Keep the configured order (failover priority) for everything that reads it.
        self.regions = {r.code: self.regions[r.code] for r in aws_regions}
        self._region_switch(name, spec, args, shared.global_cluster_identifier)
        DataReplication(
            name,
            DataReplicationArgs(
                settings=data_settings(spec),
                origin_region=origin.name,
                origin_provider=args.aws_providers[origin.code],
                buckets=[
                    MediaBucket(
                        region=r.name,
                        code=r.code,
                        provider=args.aws_providers[r.code],
                        bucket=self.regions[r.code].data_tier.bucket,
                        key_arn=self.regions[r.code].data_tier.key_arn,
                        versioning=self.regions[r.code].data_tier.bucket_versioning,
                        lost=r.lost,
                    )
                    for r in aws_regions
                ],
                aliases={r.name: self.regions[r.code].data_tier.alias for r in aws_regions},
                global_writer_endpoint=shared.global_writer_endpoint,
                master_password=shared.master_password,
                lost_options={r.name: lost.options(True) for r in aws_regions if r.lost},
                topic_arns={r.name: self.regions[r.code].topics.topic_arns for r in aws_regions},
            ),
            opts=child,
        )

        self.alicloud_regions = {}
        for region in spec.regions_of("alicloud"):
            self.alicloud_regions[region.code] = AlicloudRegion(
                region.code,
                AlicloudRegionArgs(
                    spec=spec,
                    region=region,
                    provider=args.alicloud_providers[region.code],
                    replica_provider=args.alicloud_providers[region.data_replica.code]
                    if region.data_replica is not None
                    else None,
                    random_provider=args.random_provider,
                ),
                opts=child,
            )

        GlobalTraffic(
            name,
            GlobalTrafficArgs(
                global_name=global_name,
                zone_id=zone.zone_id,
                endpoints=[
                    RegionEndpoint(
                        code=r.code,
                        region=r.name,
                        role=r.role,
                        dns_name=self.regions[r.code].load_balancer.dns_name,
                        zone_id=self.regions[r.code].load_balancer.zone_id,
                        health_paths=[s.public_health_path for s in spec.fronted_services(r)],
                    )
                    # A lost region leaves DNS: no records, no health checks probing it.
                    for r in spec.active_regions_of("aws")
                ],
                geo_endpoints=[
                    GeoEndpoint(
                        code=r.code,
                        # An Alibaba Cloud region serves its country (mainland China for cn-*).
                        country=r.info.country,
                        dns_name=self.alicloud_regions[r.code].load_balancer.dns_name,
                        health_paths=[s.public_health_path for s in spec.fronted_services(r)],
                    )
                    for r in spec.active_regions_of("alicloud")
                ],
                # A region going unhealthy is a level-1 incident: alarms in us-east-1 (where
                # Route 53 publishes health-check metrics) to on-call topics there.
                alerting=HealthAlerting(
                    subscriptions=subscriptions(spec),
                    stack=spec.stack,
                    runbook_base_url=spec.alerting.runbook_base_url,
                ),
                tags=spec.tags(),
            ),
            # Route 53 through the global provider: moving or losing the primary moves no record.
            opts=pulumi.ResourceOptions(parent=self, providers=[args.global_provider]),
        )

        # Shared dashboards: Grafana in the primary over every region's Prometheus, and a
        # CloudWatch dashboard per AWS region (components/dashboards).
        dashboards.declare(name, spec, self.regions, args.aws_providers, parent=self)

        self.api_url = pulumi.Output.from_input(f"https://{global_name}")
        self.register_outputs(
            {
                "apiUrl": self.api_url,
                "loadBalancers": {code: r.load_balancer.dns_name for code, r in self.regions.items()},
            }
        )

    def _region_switch(
        self,
        name: str,
        spec: EnvironmentSpec,
        args: CourierEnvironmentArgs,
        global_cluster_identifier: pulumi.Input[str],
    ) -> None:
        """Prod's failover in AWS's own engine: an ARC Region switch plan between the primary
        and the secondary (a plan takes exactly two regions), operable from AWS even when this
        repository's runner is not (components.aws.region_switch)."""
        if not spec.is_prod:
            return
        primary = spec.primary
        secondary = next((r for r in spec.active_regions_of("aws") if r.role == "secondary"), None)
        if secondary is None:
            return
        pair = (primary, secondary)
        # A service is switched when it has a fleet in both regions (the step takes one group each).
        services = [s for s in self.regions[primary.code].fleets if s in self.regions[secondary.code].fleets]
        RegionSwitch(
            name,
            RegionSwitchArgs(
                stack=spec.stack,
                primary_region=primary.name,
                secondary_region=secondary.name,
                auto_scaling_groups={
                    r.name: {s: self.regions[r.code].fleets[s].group_arn for s in services} for r in pair
                },
                database_cluster_arns={r.name: self.regions[r.code].data_tier.cluster_arn for r in pair},
                global_cluster_identifier=global_cluster_identifier,
                rto_minutes=spec.data.rto_minutes,
                # The receiving region keeps its own users and takes the other's: twice the
                # other's largest desired capacity of the last 24 hours.
                capacity_percent=200,
                tags=spec.tags(),
            ),
            # Region switch plans are global (their API is in us-east-1).
            opts=pulumi.ResourceOptions(parent=self, providers=[args.global_provider]),
        )
