"""The stack's dashboards, wired from the regions the environment built: the Grafana
workspace and its dashboards in the primary region, a CloudWatch dashboard per AWS region."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components import lost
from components.dashboards.cloudwatch import RegionDashboard, RegionDashboardArgs
from components.dashboards.grafana import (
    GrafanaDashboards,
    GrafanaDashboardsArgs,
    GrafanaWorkspace,
    GrafanaWorkspaceArgs,
    PrometheusSource,
    Promotion,
    grafana_provider,
)
from components.monitoring import dashboards
from components.spec import EnvironmentSpec, RegionSpec

if TYPE_CHECKING:
    from components.aws.region import AwsRegion

_REMOTE_WRITE = "api/v1/remote_write"


def declare(
    name: str,
    spec: EnvironmentSpec,
    regions: Mapping[str, AwsRegion],
    providers: Mapping[str, aws.Provider],
    parent: pulumi.Resource,
) -> None:
    """Everything the dashboards need, from the regions (``regions`` and ``providers`` keyed
    by region code).

    The Grafana workspace lives in the primary region and is named after it. When the primary
    is lost (``status: lost``) its workspace, like everything there, stays declared exactly as it
    was and is never changed (components.lost), and the promoted primary gets a workspace of its
    own: the dashboards are code, so the new one shows the same screens over the surviving
    regions. A lost region keeps its Prometheus data source and its CloudWatch dashboard as they
    were."""
    sources = [
        PrometheusSource(
            region=r.name,
            uid=dashboards.prometheus_uid(r),
            workspace_arn=regions[r.code].prometheus.workspace_arn,
            # The workspace's query endpoint is its remote-write URL without the write path.
            query_url=regions[r.code].prometheus.remote_write_url.apply(lambda url: url.removesuffix(_REMOTE_WRITE)),
        )
        for r in spec.regions_of("aws")
    ]
    for home in (r for r in spec.regions_of("aws") if r.role == "primary"):
        _grafana(f"{name}-{home.code}", spec, home, sources, regions, providers[home.code], parent)

    every = spec.regions_of("aws")
    for region in every:
        built = regions[region.code]
        RegionDashboard(
            region.code,
            RegionDashboardArgs(
                stack=spec.stack,
                region=region.name,
                code=region.code,
                load_balancer_arn_suffix=built.load_balancer.arn_suffix,
                group_names={s: f.group_name for s, f in built.fleets.items()},
                bucket=built.data_tier.bucket.bucket,
                # Every other AWS region, lost or not: a region's body never changes because
                # another one is lost.
                peers=[r.name for r in every if r.name != region.name],
            ),
            opts=pulumi.ResourceOptions.merge(
                pulumi.ResourceOptions(parent=parent, providers=[providers[region.code]]), lost.options(region.lost)
            ),
        )


def _grafana(
    name: str,
    spec: EnvironmentSpec,
    home: RegionSpec,
    sources: list[PrometheusSource],
    regions: Mapping[str, AwsRegion],
    provider: aws.Provider,
    parent: pulumi.Resource,
) -> None:
    """One workspace in ``home`` and its Grafana objects, over the regions it showed: the active
    ones, and itself when it is the lost one (kept as it was)."""
    shown = [r for r in spec.regions_of("aws") if not r.lost or r is home]
    workspace = GrafanaWorkspace(
        name,
        GrafanaWorkspaceArgs(
            stack=spec.stack,
            region=home.name,
            code=home.code,
            prometheus=sources,
            as_of=spec.as_of,
            tags=spec.tags(),
        ),
        opts=pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(parent=parent, providers=[provider]), lost.options(home.lost)
        ),
    )
    fleets = [(r.name, service, fleet.group_name) for r in shown for service, fleet in regions[r.code].fleets.items()]
    models = pulumi.Output.all(*[group for _, _, group in fleets]).apply(
        lambda names: dashboards.dashboards(
            spec,
            [
                dashboards.Fleet(region, service, str(group))
                for (region, service, _), group in zip(fleets, names, strict=True)
            ],
            shown,
        )
    )
    # The UIDs (which dashboards exist) are plain values; only the models wait for the groups.
    uids = sorted(dashboards.dashboards(spec, [], shown))
    GrafanaDashboards(
        name,
        GrafanaDashboardsArgs(
            stack=spec.stack,
            region=home.name,
            prometheus=sources,
            dashboards={uid: models.apply(lambda m, uid=uid: json.dumps(m[uid], sort_keys=True)) for uid in uids},
            promotions=[
                Promotion(p.name, p.start, p.end, float(p.expected_peak_multiplier)) for p in spec.upcoming_promotions()
            ],
        ),
        # Under the workspace: in its region, kept as they were with it when it is lost.
        opts=pulumi.ResourceOptions(parent=workspace, providers=[grafana_provider(name, workspace)]),
    )
