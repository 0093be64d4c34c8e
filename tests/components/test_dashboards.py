"""The dashboards as the shipped stacks declare them: the Grafana workspace, its provider,
data sources and dashboards, the CloudWatch dashboards, and the checks the plan runs on them."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from courier import artifacts
from courier.plan import Plan, Resource
from courier.verify import verify
from tests.conftest import shipped_spec

WORKSPACE = "aws:grafana/workspace:Workspace"
DATA_SOURCE = "grafana:oss/dataSource:DataSource"
DASHBOARD = "grafana:oss/dashboard:Dashboard"
TOKEN = "aws:grafana/workspaceServiceAccountToken:WorkspaceServiceAccountToken"


def _one(plan: Plan, token: str) -> Resource:
    (found,) = plan.of_type(token)
    return found


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_one_grafana_workspace_in_the_primary_region(stack_plans, stack: str) -> None:
    spec = shipped_spec(stack)
    workspace = _one(stack_plans[stack], WORKSPACE)
    assert workspace.region == spec.primary.name
    assert workspace.provider and workspace.provider.endswith(f"aws-{spec.primary.code}")
    assert workspace.inputs["accountAccessType"] == "CURRENT_ACCOUNT"
    assert workspace.inputs["authenticationProviders"] == ["AWS_SSO"]
    assert workspace.inputs["permissionType"] == "CUSTOMER_MANAGED"
    assert workspace.inputs["grafanaVersion"] == "12.4"
    assert workspace.inputs["tags"] == spec.tags()
    role = next(
        r for r in stack_plans[stack].of_type("aws:iam/role:Role") if r.name == f"courier-{spec.primary.code}-grafana"
    )
    assert f":role/{role.name}-" in workspace.inputs["roleArn"]
    assert role.inputs["tags"] == spec.tags()


def test_the_workspace_role_may_query_only_the_stacks_prometheus_workspaces(stack_plans) -> None:
    spec = shipped_spec("prod")
    plan = stack_plans["prod"]
    role = next(r for r in plan.of_type("aws:iam/role:Role") if r.name == f"courier-{spec.primary.code}-grafana")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "grafana.amazonaws.com"}
    assert set(trust["Condition"]) == {"StringEquals", "ArnLike"}
    policy = next(
        r
        for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if r.name == f"courier-{spec.primary.code}-grafana-read"
    )
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    query = statements["QueryManagedPrometheus"]
    assert all(not a.endswith("*") for a in query["Action"])
    assert sorted(arn.split(":")[3] for arn in query["Resource"]) == sorted(r.name for r in spec.regions_of("aws"))
    assert all(
        a.startswith(("cloudwatch:Describe", "cloudwatch:Get", "cloudwatch:List", "ec2:Describe", "tag:Get"))
        for a in statements["ReadCloudWatch"]["Action"]
    )


def test_grafana_objects_go_through_a_provider_made_from_the_workspace_and_its_token(stack_plans) -> None:
    plan = stack_plans["staging"]
    (provider,) = plan.of_type("pulumi:providers:grafana")
    assert provider.inputs["url"].startswith("https://g-")
    assert provider.inputs["url"].endswith(".grafana-workspace.ap-southeast-1.amazonaws.com")
    assert provider.inputs["auth"] == "[secret]"
    grafana = [r for r in plan.resources if r.type.startswith("grafana:")]
    assert grafana and all(r.provider and r.provider.endswith(f"::{provider.name}") for r in grafana)
    # The token is replaced every ISO week (AS_OF is in week 48) and lives the API's 30 days.
    token = _one(plan, TOKEN)
    assert token.inputs["name"] == "pulumi-2026-w48"
    assert token.inputs["secondsToLive"] == 2592000


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_aws_regions_prometheus_workspace_is_a_data_source(stack_plans, stack: str) -> None:
    spec = shipped_spec(stack)
    sources = {r.inputs["uid"]: r.inputs for r in stack_plans[stack].of_type(DATA_SOURCE)}
    assert set(sources) == {f"amp-{r.code}" for r in spec.regions_of("aws")} | {"cloudwatch"}
    for region in spec.regions_of("aws"):
        source = sources[f"amp-{region.code}"]
        # The dedicated plugin: SigV4 in the core Prometheus data source is deprecated.
        assert source["type"] == "grafana-amazonprometheus-datasource"
        assert source["url"].startswith(f"https://aps-workspaces.{region.name}.amazonaws.com/workspaces/ws-")
        assert source["url"].endswith("/")
        assert json.loads(source["jsonDataEncoded"]) == {
            "httpMethod": "POST",
            "sigV4Auth": True,
            "sigV4AuthType": "ec2_iam_role",
            "sigV4Region": region.name,
        }


def test_dashboards_and_promotion_annotations_are_declared(stack_plans) -> None:
    spec = shipped_spec("prod")
    plan = stack_plans["prod"]
    uids = {json.loads(r.inputs["configJson"])["uid"] for r in plan.of_type(DASHBOARD)}
    assert {"courier-prod-incidents", "courier-prod-recovery", "courier-prod-drills"} <= uids
    assert all(r.inputs["folder"] == "courier-prod" for r in plan.of_type(DASHBOARD))
    annotations = plan.of_type("grafana:oss/annotation:Annotation")
    assert sorted(a.inputs["tags"][0] for a in annotations) == ["promotion"] * len(spec.upcoming_promotions())
    # The service dashboards name the real Auto Scaling groups.
    orders = next(r for r in plan.of_type(DASHBOARD) if r.name == f"courier-{spec.primary.code}-service-orders")
    groups = {
        t["dimensions"]["AutoScalingGroupName"]
        for p in json.loads(orders.inputs["configJson"])["panels"]
        for t in p.get("targets", [])
        if "dimensions" in t
    }
    assert groups and all("-orders-asg-" in g for g in groups)


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_a_cloudwatch_dashboard_per_active_aws_region(stack_plans, stack: str) -> None:
    spec = shipped_spec(stack)
    found = {r.region: r for r in stack_plans[stack].of_type("aws:cloudwatch/dashboard:Dashboard")}
    assert set(found) == {r.name for r in spec.active_regions_of("aws")}
    for region in spec.active_regions_of("aws"):
        assert found[region.name].inputs["dashboardName"] == f"courier-{stack}-{region.code}"
        assert found[region.name].provider and found[region.name].provider.endswith(f"aws-{region.code}")


def test_the_plan_finds_a_panel_that_reads_an_unknown_series(stack_plans) -> None:
    plan = copy.deepcopy(stack_plans["staging"])
    dashboard = next(r for r in plan.of_type(DASHBOARD) if r.name == "courier-apse1-incidents")
    model = json.loads(dashboard.inputs["configJson"])
    model["panels"][1]["targets"][0]["expr"] = "sum(rate(courier_orders_total[5m])"
    dashboard.inputs["configJson"] = json.dumps(model)
    body = next(iter(plan.of_type("aws:cloudwatch/dashboard:Dashboard")))
    broken = json.loads(body.inputs["dashboardBody"])
    broken["widgets"][1]["width"] = 30
    body.inputs["dashboardBody"] = json.dumps(broken)
    findings = [f for f in verify(plan, shellcheck=None).findings if f.rule.startswith(("grafana", "cloudwatch"))]
    assert [(f.rule, f.urn) for f in findings] == [
        ("cloudwatch-dashboard-body", body.urn),
        ("cloudwatch-dashboard-body", body.urn),
        ("grafana-panel-queries", dashboard.urn),
    ]
    assert "does not parse" in findings[2].message


def test_the_shipped_plans_dashboards_pass_their_checks(stack_plans) -> None:
    findings = verify(stack_plans["staging"], shellcheck=None).findings
    assert [f for f in findings if f.rule.startswith(("grafana", "cloudwatch"))] == []


def test_dashboards_are_rendered_and_verified_as_artifacts(stack_plans, tmp_path: Path) -> None:
    plan = stack_plans["staging"]
    rendered = [a for a in artifacts.render(plan) if a.path.startswith(("grafana/", "cloudwatch/", "prometheus/"))]
    results = {r["path"]: r for r in artifacts.write_and_verify(rendered, tmp_path)}
    dashboards = {p: r for p, r in results.items() if not p.startswith("prometheus/")}
    assert len([p for p in dashboards if p.startswith("grafana/")]) == len(plan.of_type(DASHBOARD))
    assert {p for p in dashboards if p.startswith("cloudwatch/")} == {
        "cloudwatch/ap-southeast-1.json",
        "cloudwatch/ap-northeast-1.json",
    }
    assert all(r["ok"] and r["verifiedBy"].startswith("courier-dashboards") for r in dashboards.values()), dashboards
    model = json.loads((tmp_path / "grafana" / "courier-staging-service-orders.json").read_text())
    assert model["uid"] == "courier-staging-service-orders"


@pytest.fixture(scope="module")
def lost_primary(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    """prod with its primary (ap-southeast-1) lost, as `courier dr --lose` marks it. The drills
    calendar is left out: it is not what this asks about (drills in a lost region are refused)."""
    import yaml

    from courier.cli import make_plan
    from courier.dr import config
    from tests.conftest import AS_OF, ROOT

    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    document["config"].pop("courier:drills", None)
    document["config"] = config.lose(document["config"], "ap-southeast-1").config
    path = tmp_path_factory.mktemp("lost-dashboards") / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return make_plan("prod", path, AS_OF)


def test_a_lost_primarys_workspace_is_kept_as_it_was_and_the_new_primary_gets_its_own(
    stack_plans, lost_primary: Plan
) -> None:
    before = {
        r.urn: r
        for r in stack_plans["prod"].resources
        if r.type.startswith(("grafana:", "aws:grafana/", "aws:cloudwatch/dashboard")) or "-grafana" in r.name
    }
    after = {r.urn: r for r in lost_primary.resources}
    kept = [r for r in before.values() if r.region == "ap-southeast-1"]
    assert kept and all(r.urn in after for r in kept)
    for resource in kept:
        assert after[resource.urn].inputs == resource.inputs, resource.urn
        assert "*" in after[resource.urn].ignore_changes, resource.urn
    workspaces = {r.region: r for r in lost_primary.of_type(WORKSPACE)}
    assert set(workspaces) == {"ap-southeast-1", "ap-northeast-1"}
    assert workspaces["ap-northeast-1"].inputs["name"] == "courier-prod-apne1"
    assert "*" not in workspaces["ap-northeast-1"].ignore_changes
    # The new workspace's dashboards show the surviving regions only.
    orders = next(r for r in lost_primary.of_type(DASHBOARD) if r.name == "courier-apne1-service-orders")
    rows = [p["title"] for p in json.loads(orders.inputs["configJson"])["panels"] if p["type"] == "row"]
    assert "ap-southeast-1" not in rows and "ap-northeast-1" in rows


def test_the_plan_refuses_a_grafana_version_amazon_managed_grafana_does_not_offer(stack_plans) -> None:
    plan = copy.deepcopy(stack_plans["staging"])
    workspace = _one(plan, WORKSPACE)
    workspace.inputs["grafanaVersion"] = "11.6"
    (finding,) = [f for f in verify(plan, shellcheck=None).findings if f.urn == workspace.urn]
    assert finding.property == "grafanaVersion"
    assert "'11.6' is not one of 9.4, 10.4, 12.4, 13.2" in finding.message


def test_rejects_a_grafana_version_at_construction() -> None:
    from datetime import UTC, datetime

    from components.dashboards.grafana import GrafanaWorkspace, GrafanaWorkspaceArgs

    args = GrafanaWorkspaceArgs(
        stack="test",
        region="ap-northeast-1",
        code="apne1",
        prometheus=[],
        as_of=datetime.now(UTC),
        grafana_version="11",
    )
    with pytest.raises(
        ValueError, match=r"grafana_version: Amazon Managed Grafana offers 9.4, 10.4, 12.4, 13.2 \(got '11'\)"
    ):
        GrafanaWorkspace("x", args)
