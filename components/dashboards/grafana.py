"""The stack's Amazon Managed Grafana workspace (in the primary region) and what it shows.

Two components, because a provider sits between them (docs/decisions.md, "Dashboards as
code"): ``GrafanaWorkspace`` makes the workspace with AWS (its role, a service account and a
token for Pulumi); the caller builds the Grafana provider from the workspace's URL and token
(``grafana_provider``); ``GrafanaDashboards`` then declares, through that provider, a data
source per AWS region's Managed Prometheus workspace, one for CloudWatch, the promotion
windows as annotations, a folder and the dashboards (components/monitoring/dashboards/).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pulumi
import pulumi_aws as aws
import pulumiverse_grafana as grafana

from components.aws import policies
from components.monitoring.dashboards import AMP_DATASOURCE_TYPE, CLOUDWATCH_UID, PROMOTION_TAG

TYPE_WORKSPACE = "courier:aws:GrafanaWorkspace"
TYPE_DASHBOARDS = "courier:grafana:Dashboards"

#: Amazon Managed Grafana's versions for CreateWorkspace (pulumi-aws 7.51 and
#: terraform-provider-aws docs: 9.4, 10.4, 12.4, 13.2). 12.4: the newest line the pinned
#: grafana-foundation-sdk (11.6 models) is known to load into; upgrades are one-way.
GRAFANA_VERSION = "12.4"
GRAFANA_VERSIONS = ("9.4", "10.4", "12.4", "13.2")
#: CreateWorkspaceServiceAccountToken allows at most 30 days (secondsToLive <= 2592000).
TOKEN_SECONDS = 30 * 24 * 3600
#: A new token every ISO week (its name carries the week): any `pulumi up` replaces a token
#: with 23 to 30 days left by one with 30, before the provider uses it.
TOKEN_ROTATION = "%G-w%V"

#: What the workspace's role may read: Grafana's CloudWatch data source's documented policy
#: (metrics, alarms, dimension values), none of which takes resource-level permissions.
_CLOUDWATCH_READ = (
    "cloudwatch:DescribeAlarmsForMetric",
    "cloudwatch:DescribeAlarmHistory",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:ListMetrics",
    "cloudwatch:GetMetricData",
    "cloudwatch:GetInsightRuleReport",
    "ec2:DescribeRegions",
    "tag:GetResources",
)
_PROMETHEUS_QUERY = ("aps:QueryMetrics", "aps:GetSeries", "aps:GetLabels", "aps:GetMetricMetadata")


@dataclass(frozen=True)
class PrometheusSource:
    """One AWS region's Managed Prometheus workspace, as a Grafana data source."""

    region: str
    #: The data source's UID (components.monitoring.dashboards.prometheus_uid).
    uid: str
    workspace_arn: pulumi.Input[str]
    #: The workspace's query endpoint (``.../workspaces/ws-.../``).
    query_url: pulumi.Input[str]


@dataclass(frozen=True)
class GrafanaWorkspaceArgs:
    stack: str
    #: The region the workspace runs in (the primary); the component's provider's region.
    region: str
    #: Its short code (the workspace's name carries it).
    code: str
    #: Every AWS region's Managed Prometheus workspace: the role may query these, no other.
    prometheus: Sequence[PrometheusSource]
    #: The moment of the run: which week's token the provider uses (TOKEN_ROTATION).
    as_of: datetime
    #: One of Amazon Managed Grafana's versions (default GRAFANA_VERSION).
    grafana_version: str = GRAFANA_VERSION
    tags: Mapping[str, str] = field(default_factory=dict)


def workspace_policy(workspace_arns: Sequence[str]) -> str:
    """Least privilege for the workspace's data sources: query these Prometheus workspaces,
    read CloudWatch metrics and alarms. Nothing to write, nothing else to read."""
    return policies.document(
        {
            "Sid": "QueryManagedPrometheus",
            "Effect": "Allow",
            "Action": list(_PROMETHEUS_QUERY),
            "Resource": sorted(workspace_arns),
        },
        {"Sid": "ReadCloudWatch", "Effect": "Allow", "Action": list(_CLOUDWATCH_READ), "Resource": "*"},
    )


def trust_policy(account_id: str, region: str) -> str:
    """Only Amazon Managed Grafana, only for this account's workspaces in ``region`` (the
    confused-deputy guard AWS documents for service roles)."""
    return policies.assume_role(
        "grafana.amazonaws.com", account_id, f"arn:aws:grafana:{region}:{account_id}:/workspaces/*"
    )


class GrafanaWorkspace(pulumi.ComponentResource):
    """A Grafana workspace signed into with IAM Identity Center (AWS_SSO), for this account
    only, assuming a role of its own (CUSTOMER_MANAGED: what CreateWorkspace requires outside
    the console, and narrower than the role AWS widens as data sources are ticked), an ADMIN
    service account for Pulumi (it manages data sources) and a token for it that is replaced
    every week and lives 30 days."""

    workspace_id: pulumi.Output[str]
    url: pulumi.Output[str]
    token: pulumi.Output[str]

    def __init__(self, name: str, args: GrafanaWorkspaceArgs, opts: pulumi.ResourceOptions | None = None):
        if args.grafana_version not in GRAFANA_VERSIONS:
            raise ValueError(
                f"GrafanaWorkspaceArgs.grafana_version: Amazon Managed Grafana offers {', '.join(GRAFANA_VERSIONS)} "
                f"(got {args.grafana_version!r})"
            )
        super().__init__(TYPE_WORKSPACE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))

        role = aws.iam.Role(
            f"{name}-grafana",
            description=f"Amazon Managed Grafana of courier {args.stack} reads metrics as this role",
            assume_role_policy=identity.account_id.apply(lambda account: trust_policy(account, args.region)),
            tags=tags,
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-grafana-read",
            role=role.name,
            policy=pulumi.Output.all(*[s.workspace_arn for s in args.prometheus]).apply(
                lambda arns: workspace_policy([str(a) for a in arns])
            ),
            opts=child,
        )
        workspace = aws.grafana.Workspace(
            f"{name}-grafana",
            # Named after its region: a promoted primary's workspace sits beside a lost one's.
            name=f"courier-{args.stack}-{args.code}",
            description=f"courier {args.stack}: shared dashboards (services, incidents, disaster recovery, drills)",
            account_access_type="CURRENT_ACCOUNT",
            authentication_providers=["AWS_SSO"],
            permission_type="CUSTOMER_MANAGED",
            role_arn=role.arn,
            # No `data_sources`: CreateWorkspace's workspaceDataSources is "for internal use
            # only, and should not be used" (botocore grafana model); the role grants access.
            grafana_version=args.grafana_version,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        account = aws.grafana.WorkspaceServiceAccount(
            f"{name}-grafana-pulumi",
            name="pulumi",
            # Data sources and folders need the Admin role; Editor may only edit dashboards.
            grafana_role="ADMIN",
            workspace_id=workspace.id,
            opts=child,
        )
        token = aws.grafana.WorkspaceServiceAccountToken(
            f"{name}-grafana-pulumi",
            # A new name replaces the token (the provider has no update): created before the
            # old one is deleted, and before any Grafana resource is touched (they depend on it).
            name=f"pulumi-{args.as_of.strftime(TOKEN_ROTATION)}",
            seconds_to_live=TOKEN_SECONDS,
            service_account_id=account.service_account_id,
            workspace_id=workspace.id,
            opts=child,
        )

        self.workspace_id = workspace.id
        self.url = workspace.endpoint.apply(lambda host: f"https://{host}")
        self.token = pulumi.Output.secret(token.key)
        self.register_outputs({"workspaceId": self.workspace_id, "url": self.url})


def grafana_provider(name: str, workspace: GrafanaWorkspace) -> grafana.Provider:
    """The provider of the workspace's own objects, from its URL and Pulumi's token. Made by
    the caller (providers are passed in); on the first `up` it is configured once the
    workspace and the token exist, in the same run."""
    return grafana.Provider(
        f"grafana-{name}",
        url=workspace.url,
        auth=workspace.token,
        # A workspace can answer 5xx while it finishes updating.
        retries=5,
        # Made in the workspace's component: the Grafana objects land in its region.
        opts=pulumi.ResourceOptions(parent=workspace),
    )


@dataclass(frozen=True)
class Promotion:
    name: str
    start: datetime
    end: datetime
    expected_peak_multiplier: float


@dataclass(frozen=True)
class GrafanaDashboardsArgs:
    stack: str
    #: The CloudWatch data source's default region (each panel's query names its own).
    region: str
    prometheus: Sequence[PrometheusSource]
    #: Dashboard UID -> its model as JSON (components.monitoring.dashboards).
    dashboards: Mapping[str, pulumi.Input[str]]
    #: Drawn on every dashboard that asks for PROMOTION_TAG.
    promotions: Sequence[Promotion] = ()


class GrafanaDashboards(pulumi.ComponentResource):
    """In the workspace (through the caller's Grafana provider): a Prometheus data source per
    AWS region, signed with SigV4 as the workspace's role; a CloudWatch data source; one
    annotation per promotion window; a folder with the dashboards."""

    folder_uid: pulumi.Output[str]

    def __init__(self, name: str, args: GrafanaDashboardsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE_DASHBOARDS, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        sources: list[pulumi.Resource] = []
        for source in args.prometheus:
            sources.append(
                grafana.oss.DataSource(
                    f"{name}-{source.uid}",
                    type=AMP_DATASOURCE_TYPE,
                    name=f"Managed Prometheus {source.region}",
                    uid=source.uid,
                    url=source.query_url,
                    json_data_encoded=json.dumps(
                        {
                            "httpMethod": "POST",
                            "sigV4Auth": True,
                            # The workspace's own role (CUSTOMER_MANAGED above): no keys anywhere.
                            "sigV4AuthType": "ec2_iam_role",
                            "sigV4Region": source.region,
                        },
                        sort_keys=True,
                    ),
                    opts=child,
                )
            )
        sources.append(
            grafana.oss.DataSource(
                f"{name}-{CLOUDWATCH_UID}",
                type="cloudwatch",
                name="CloudWatch",
                uid=CLOUDWATCH_UID,
                json_data_encoded=json.dumps(
                    {"authType": "ec2_iam_role", "defaultRegion": args.region}, sort_keys=True
                ),
                opts=child,
            )
        )
        for promotion in args.promotions:
            grafana.oss.Annotation(
                f"{name}-{promotion.name}",
                text=f"{promotion.name}: expected peak {promotion.expected_peak_multiplier:g}x normal load",
                time=promotion.start.isoformat(),
                time_end=promotion.end.isoformat(),
                tags=[PROMOTION_TAG, args.stack],
                opts=child,
            )
        folder = grafana.oss.Folder(
            f"{name}-dashboards",
            title=f"courier {args.stack}",
            uid=f"courier-{args.stack}",
            prevent_destroy_if_not_empty=True,
            opts=child,
        )
        for uid, model in sorted(args.dashboards.items()):
            grafana.oss.Dashboard(
                f"{name}-{uid.removeprefix(f'courier-{args.stack}-')}",
                config_json=model,
                folder=folder.uid,
                message="pulumi up",
                # Panels reference the data sources by UID.
                opts=pulumi.ResourceOptions(parent=self, depends_on=sources),
            )
        self.folder_uid = folder.uid
        self.register_outputs({"folderUid": self.folder_uid})
