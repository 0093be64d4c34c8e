"""CourierEnvironment: the whole courier platform of one stack, in every configured region."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.certificates import CertificateRegion, Certificates, CertificatesArgs
from components.aws.global_traffic import GlobalTraffic, GlobalTrafficArgs, RegionEndpoint
from components.aws.region import AwsRegion, AwsRegionArgs
from components.spec import EnvironmentSpec

TYPE = "courier:index:Environment"


@dataclass(frozen=True)
class CourierEnvironmentArgs:
    spec: EnvironmentSpec
    #: AWS provider per region code (components.providers.aws_providers).
    aws_providers: Mapping[str, aws.Provider]


class CourierEnvironment(pulumi.ComponentResource):
    """Certificates for the API names, one AwsRegion per AWS region, and the global traffic
    layer that spreads users over the active regions and fails over to the standby."""

    regions: dict[str, AwsRegion]
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

        self.regions = {}
        for region in aws_regions:
            self.regions[region.code] = AwsRegion(
                region.code,
                AwsRegionArgs(
                    spec=spec,
                    region=region,
                    provider=args.aws_providers[region.code],
                    certificate_arn=certificates.arns[region.code],
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
                        health_paths=[s.public_health_path for s in spec.services_on("vm")],
                    )
                    for r in aws_regions
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
