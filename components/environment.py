"""CourierEnvironment: the whole courier platform of one stack, in every configured region."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_alicloud as ali
import pulumi_aws as aws

from components import lost
from components.alicloud.region import AlicloudRegion, AlicloudRegionArgs
from components.aws.certificates import CertificateRegion, Certificates, CertificatesArgs
from components.aws.data import DataReplication, DataReplicationArgs, MediaBucket, SharedData, SharedDataArgs
from components.aws.data.settings import data_settings
from components.aws.global_traffic import GeoEndpoint, GlobalTraffic, GlobalTrafficArgs, RegionEndpoint
from components.aws.region import AwsRegion, AwsRegionArgs, DataInputs
from components.spec import EnvironmentSpec

TYPE = "courier:index:Environment"


@dataclass(frozen=True)
class CourierEnvironmentArgs:
    spec: EnvironmentSpec
    #: AWS provider per region code (components.providers.aws_providers).
    aws_providers: Mapping[str, aws.Provider]
    #: Alibaba Cloud provider per region code (components.providers.alicloud_providers).
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
        primary = args.aws_providers[spec.primary.code]
        global_name = f"api.{spec.domain}"

        # The domain's public hosted zone is managed with the domain itself, outside this stack.
        zone = aws.route53.get_zone_output(
            name=spec.domain, private_zone=False, opts=pulumi.InvokeOutputOptions(parent=self, provider=primary)
        )
        certificates = Certificates(
            name,
            CertificatesArgs(
                global_name=global_name,
                zone_id=zone.zone_id,
                regions=[CertificateRegion(r.code, args.aws_providers[r.code]) for r in aws_regions],
                tags=spec.tags(),
            ),
            opts=child,
        )

        # The data tier: the global database first (its origin region's cluster creates it),
        # then the regions, the origin's first (the others' members join its stores).
        origin = spec.data_origin
        shared = SharedData(
            name,
            SharedDataArgs(settings=data_settings(spec), origin_region=origin.name),
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
            ),
            opts=child,
        )

        self.alicloud_regions = {}
        for region in spec.regions_of("alicloud"):
            self.alicloud_regions[region.code] = AlicloudRegion(
                region.code,
                AlicloudRegionArgs(spec=spec, region=region, provider=args.alicloud_providers[region.code]),
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
                    for r in aws_regions
                ],
                geo_endpoints=[
                    GeoEndpoint(
                        code=r.code,
                        # An Alibaba Cloud region serves its country (mainland China for cn-*).
                        country=r.info.country,
                        dns_name=self.alicloud_regions[r.code].load_balancer.dns_name,
                        health_paths=[s.public_health_path for s in spec.fronted_services(r)],
                    )
                    for r in spec.regions_of("alicloud")
                ],
                tags=spec.tags(),
            ),
            opts=pulumi.ResourceOptions(parent=self, providers=[primary]),
        )

        self.api_url = pulumi.Output.from_input(f"https://{global_name}")
        self.register_outputs(
            {
                "apiUrl": self.api_url,
                "loadBalancers": {code: r.load_balancer.dns_name for code, r in self.regions.items()},
            }
        )
