"""One cloud provider per configured region, made by the program and passed to components."""

from __future__ import annotations

import pulumi_alicloud as ali
import pulumi_aws as aws
import pulumi_random as random

from components import lost
from components.spec import EnvironmentSpec


def aws_providers(spec: EnvironmentSpec) -> dict[str, aws.Provider]:
    """An explicit AWS provider per AWS region, keyed by region code.

    Stacks disable default providers (``pulumi:disable-default-providers``), so a resource
    that forgot its provider fails the preview instead of landing in an ambient region.
    """
    return {
        region.code: aws.Provider(
            f"aws-{region.code}",
            region=region.name,
            # A lost region's API is down: the account ID comes from STS elsewhere (components.lost).
            sts_region=lost.STS_REGION if region.lost else None,
        )
        for region in spec.regions_of("aws")
    }


def global_provider() -> aws.Provider:
    """The provider of what is global (Route 53's records and health checks, the hosted zone
    lookup): Route 53's API lives in us-east-1, whichever regions the stack runs in, so losing
    or moving the primary region never moves DNS to another provider."""
    return aws.Provider("aws-global", region="us-east-1")


def alicloud_providers(spec: EnvironmentSpec) -> dict[str, ali.Provider]:
    """An explicit Alibaba Cloud provider per Alibaba Cloud region, keyed by region code."""
    providers = {
        region.code: ali.Provider(
            f"alicloud-{region.code}",
            region=region.name,
            # A lost region's API is down: do not ask it whether it exists (components.lost).
            skip_region_validation=True if region.lost else None,
        )
        for region in spec.regions_of("alicloud")
    }
    # Where mainland China's data replicates (regions[].dataReplica): a region of its own.
    for region in spec.regions_of("alicloud"):
        replica = region.data_replica
        if replica is not None and replica.code not in providers:
            providers[replica.code] = ali.Provider(f"alicloud-{replica.code}", region=replica.name)
    return providers


def random_provider() -> random.Provider:
    """Generated secrets (the database passwords): stacks disable default providers."""
    return random.Provider("random")
