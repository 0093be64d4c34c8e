"""Certificates: an ACM certificate per region for the API names, validated through DNS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import lost

TYPE = "courier:aws:Certificates"


@dataclass(frozen=True)
class CertificateRegion:
    code: str
    provider: aws.Provider
    #: A lost region's certificate and records stay as they are (components.lost).
    lost: bool = False

    def options(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(parent=parent, provider=self.provider), lost.options(self.lost)
        )


@dataclass(frozen=True)
class CertificatesArgs:
    #: The global API name clients use (``api.<domain>``); every region's certificate covers it.
    global_name: str
    #: Route 53 hosted zone that holds the validation records.
    zone_id: pulumi.Input[str]
    regions: Sequence[CertificateRegion]
    tags: Mapping[str, str] = field(default_factory=dict)


def regional_name(code: str, global_name: str) -> str:
    """The name that reaches one region directly (health checks, debugging): apse1.api.<domain>."""
    return f"{code}.{global_name}"


class Certificates(pulumi.ComponentResource):
    """Per region, a DNS-validated certificate for ``<code>.api.<domain>`` and ``api.<domain>``.

    ACM gives a domain name the same validation record in every region of an account, so the
    record for the shared global name is created once (from the first region's certificate)
    and every region's validation waits on it; a record per region would fight over one name.
    """

    arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: CertificatesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        certificates: dict[str, aws.acm.Certificate] = {}
        for region in args.regions:
            certificates[region.code] = aws.acm.Certificate(
                f"{name}-{region.code}",
                domain_name=regional_name(region.code, args.global_name),
                subject_alternative_names=[args.global_name],
                validation_method="DNS",
                tags=dict(args.tags),
                opts=region.options(self),
            )

        first = args.regions[0]
        shared_record = self._validation_record(
            f"{name}-shared", certificates[first.code], args.global_name, args.zone_id, first
        )
        self.arns = {}
        for region in args.regions:
            certificate = certificates[region.code]
            own_record = self._validation_record(
                f"{name}-{region.code}",
                certificate,
                regional_name(region.code, args.global_name),
                args.zone_id,
                region,
            )
            validation = aws.acm.CertificateValidation(
                f"{name}-{region.code}",
                certificate_arn=certificate.arn,
                validation_record_fqdns=[own_record.fqdn, shared_record.fqdn],
                opts=region.options(self),
            )
            self.arns[region.code] = validation.certificate_arn
        self.register_outputs({"certificateArns": self.arns})

    def _validation_record(
        self,
        name: str,
        certificate: aws.acm.Certificate,
        domain: str,
        zone_id: pulumi.Input[str],
        region: CertificateRegion,
    ) -> aws.route53.Record:
        option = certificate.domain_validation_options.apply(
            lambda options: next(o for o in options if o.domain_name == domain)
        )
        return aws.route53.Record(
            f"{name}-validation",
            zone_id=zone_id,
            name=option.apply(lambda o: o.resource_record_name or ""),
            type=option.apply(lambda o: o.resource_record_type or "CNAME"),
            records=[option.apply(lambda o: o.resource_record_value or "")],
            ttl=300,
            opts=region.options(self),
        )
