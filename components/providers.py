"""One cloud provider per configured region, made by the program and passed to components."""

from __future__ import annotations

import pulumi_alicloud as ali
import pulumi_aws as aws

from components.spec import EnvironmentSpec


def aws_providers(spec: EnvironmentSpec) -> dict[str, aws.Provider]:
    """An explicit AWS provider per AWS region, keyed by region code.

    Stacks disable default providers (``pulumi:disable-default-providers``), so a resource
    that forgot its provider fails the preview instead of landing in an ambient region.
    """
    return {region.code: aws.Provider(f"aws-{region.code}", region=region.name) for region in spec.regions_of("aws")}


def alicloud_providers(spec: EnvironmentSpec) -> dict[str, ali.Provider]:
    """An explicit Alibaba Cloud provider per Alibaba Cloud region, keyed by region code."""
    return {
        region.code: ali.Provider(f"alicloud-{region.code}", region=region.name)
        for region in spec.regions_of("alicloud")
    }
