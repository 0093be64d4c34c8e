"""Mainland China's Managed Service for Prometheus (ARMS): the AWS regions' alert rules for
cn-hangzhou, each mapped onto an ARMS rule (recorded series inlined), routed by severity to the
same on-call roles, everything in cn-hangzhou, no receiver in plain text when it is secret."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_alicloud as ali
import pytest
import yaml

from components.alicloud import prometheus
from components.alicloud.oncall import Contact
from components.alicloud.prometheus import (
    ABSENCE_ALERTS,
    UNROUTABLE_ALERTS,
    ArmsPrometheus,
    ArmsPrometheusArgs,
    arms_duration,
    inline_recorded,
    plan_alerts,
)
from components.monitoring import oncall, rules
from components.spec import EnvironmentSpec, RegionSpec
from courier.plan import Plan, Resource
from tests.conftest import ROOT, StackPlans, shipped_spec

ROOT_PROD = ROOT / "stacks" / "Pulumi.prod.yaml"

RULE = "alicloud:arms/prometheusAlertRule:PrometheusAlertRule"
POLICY = "alicloud:arms/dispatchRule:DispatchRule"
CONTACT = "alicloud:arms/alertContact:AlertContact"
GROUP = "alicloud:arms/alertContactGroup:AlertContactGroup"
INSTANCE = "alicloud:arms/prometheus:Prometheus"
SCRAPE = "alicloud:arms/prometheusMonitoring:PrometheusMonitoring"
ARMS_TYPES = (RULE, POLICY, CONTACT, GROUP, INSTANCE, SCRAPE)
SECURITY_GROUP = "alicloud:ecs/securityGroup:SecurityGroup"
SG_RULE = "alicloud:ecs/securityGroupRule:SecurityGroupRule"


@pytest.fixture(scope="module")
def prod_spec() -> EnvironmentSpec:
    return shipped_spec("prod")


@pytest.fixture(scope="module")
def hangzhou(prod_spec: EnvironmentSpec) -> RegionSpec:
    (region,) = [r for r in prod_spec.regions if r.name == "cn-hangzhou"]
    return region


@pytest.fixture(scope="module")
def prod(stack_plans: StackPlans) -> Plan:
    return stack_plans["prod"]


def test_prod_and_staging_watch_mainland_china_dev_has_no_alibaba_region(stack_plans: StackPlans) -> None:
    for stack, region in (("prod", "cn-hangzhou"), ("staging", "cn-shanghai")):
        (instance,) = stack_plans[stack].of_type(INSTANCE)
        assert instance.region == region
    assert not [r for r in stack_plans["dev"].resources if r.type.startswith("alicloud:arms")]


def _aws_alerts(spec: EnvironmentSpec, region: RegionSpec) -> list[dict[str, Any]]:
    return [r for g in rules.rule_groups(spec, region) for r in g["rules"] if "alert" in r]


def _policy_of(rule: Resource) -> str:
    """The URN of the notification policy whose ID the rule's ``dispatchRuleId`` is."""
    (urn,) = rule.property_dependencies["dispatchRuleId"]
    return urn


def _pairs(value: Any) -> dict[str, str]:
    return {item["name"]: item["value"] for item in value}


def test_everything_is_in_hangzhou_under_the_component(prod: Plan) -> None:
    (component,) = [r for r in prod.resources if r.type == prometheus.TYPE]
    children = [r for r in prod.resources if r.parent == component.urn]
    assert {r.type for r in children} == {*ARMS_TYPES, SECURITY_GROUP}
    assert all(r.region == "cn-hangzhou" for r in children)
    # Nothing of ARMS anywhere else: mainland China's metrics and alerts stay in mainland China.
    assert {r.region for t in ARMS_TYPES for r in prod.of_type(t)} == {"cn-hangzhou"}
    (instance,) = prod.of_type(INSTANCE)
    assert instance.inputs["clusterType"] == "ecs"
    assert instance.inputs["clusterName"] == "prod_cnhz-courier"
    assert instance.inputs["tags"]["environment"] == "prod"


def test_the_collector_sits_in_hangzhous_vpc_in_a_security_group_of_its_own(prod: Plan) -> None:
    (instance,) = prod.of_type(INSTANCE)
    (vpc,) = [r for r in prod.of_type("alicloud:vpc/network:Network") if r.region == "cn-hangzhou"]
    (scraper,) = [r for r in prod.of_type(SECURITY_GROUP) if r.parent == instance.parent]
    assert instance.property_dependencies["vpcId"] == [vpc.urn]
    assert instance.property_dependencies["securityGroupId"] == [scraper.urn]
    (vswitch_urn,) = instance.property_dependencies["vswitchId"]
    vswitch = prod.by_urn(vswitch_urn)
    assert vswitch.type == "alicloud:vpc/switch:Switch" and vswitch.name.startswith("cnhz-app")
    # No rule admits anything to the collector: it only scrapes.
    assert not [r for r in prod.of_type(SG_RULE) if scraper.urn in r.property_dependencies.get("securityGroupId", [])]


def test_a_scrape_job_per_fleet_and_the_fleets_admit_only_the_collector(prod: Plan) -> None:
    (instance,) = prod.of_type(INSTANCE)
    (scraper,) = [r for r in prod.of_type(SECURITY_GROUP) if r.parent == instance.parent]
    jobs = prod.of_type(SCRAPE)
    fleets = {
        r.inputs["tags"]["service"]: r
        for r in prod.of_type("alicloud:ess/scalingGroup:ScalingGroup")
        if r.region == "cn-hangzhou"
    }
    assert len(jobs) == len(fleets) == 4
    ports = {s["name"]: s["port"] for s in yaml.safe_load(ROOT_PROD.read_text())["config"]["courier:services"]}
    for job in jobs:
        assert job.inputs["type"] == "customJob" and job.inputs["status"] == "run"
        assert job.property_dependencies["clusterId"] == [instance.urn]
        config = yaml.safe_load(job.inputs["configYaml"])
        (app,) = [j for j in config["scrape_configs"] if j["job_name"].endswith("-app")]
        (node,) = [j for j in config["scrape_configs"] if j["job_name"].endswith("-node")]
        service = next(r["replacement"] for r in app["relabel_configs"] if r.get("target_label") == "service")
        assert service in fleets
        assert app["aliyun_sd_configs"][0]["port"] == ports[service]
        assert node["aliyun_sd_configs"][0]["port"] == 9100
        assert all(j["aliyun_sd_configs"][0]["region_id"] == "cn-hangzhou" for j in (app, node))
        assert {f["key"]: f["values"] for f in app["aliyun_sd_configs"][0]["tag_filters"]} == {
            "stack": ["prod"],
            "service": [service],
        }
    # Each fleet's instances admit the collector on the service's port and node_exporter's.
    for service, group in fleets.items():
        sg_urn = next(
            r.property_dependencies["securityGroupId"][0]
            for r in prod.of_type("alicloud:ess/scalingConfiguration:ScalingConfiguration")
            if r.property_dependencies["scalingGroupId"] == [group.urn]
        )
        scrapes = [
            r
            for r in prod.of_type(SG_RULE)
            if r.property_dependencies.get("securityGroupId") == [sg_urn]
            and r.property_dependencies.get("sourceSecurityGroupId") == [scraper.urn]
        ]
        assert sorted(r.inputs["portRange"] for r in scrapes) == sorted(
            [f"{ports[service]}/{ports[service]}", "9100/9100"]
        ), service
        assert all(r.inputs["type"] == "ingress" and "cidrIp" not in r.inputs for r in scrapes)


def test_each_alert_has_the_rule_files_labels_duration_and_annotations(
    prod: Plan, prod_spec: EnvironmentSpec, hangzhou: RegionSpec
) -> None:
    # The fleets report (scraped), so the absence alerts are in; only Watchdog cannot be routed.
    expected = [r for r in _aws_alerts(prod_spec, hangzhou) if r["alert"] not in UNROUTABLE_ALERTS]
    found = prod.of_type(RULE)
    assert len(found) == len(expected)
    by_key = {
        (r.inputs["labels"] and _pairs(r.inputs["labels"]).get("service"), r.inputs["prometheusAlertRuleName"]): r
        for r in found
    }
    recording = [r for g in rules.rule_groups(prod_spec, hangzhou) for r in g["rules"] if "record" in r]
    for rule in expected:
        labels = rule["labels"]
        matches = [
            r
            for r in found
            if _pairs(r.inputs["labels"]) == labels
            and r.inputs["prometheusAlertRuleName"].endswith(
                "-" + "-".join([rule["alert"], *([labels["long_window"]] if "long_window" in labels else [])])
            )
        ]
        assert len(matches) == 1, (rule["alert"], labels)
        (arms,) = matches
        assert arms.inputs["expression"] == inline_recorded(rule["expr"], recording)
        assert arms.inputs["duration"] == arms_duration(rule["for"])
        assert _pairs(arms.inputs["annotations"]) == rule["annotations"]
        assert arms.inputs["message"] == rule["annotations"]["summary"]
        assert arms.inputs["type"] == "101"
        assert arms.inputs["notifyType"] == "DISPATCH_RULE"
    assert by_key  # every rule is keyed by its service label and unique name
    business = {
        "OrderCreationFailureRatioHigh",
        "PaymentFailureRatioHigh",
        "DispatchAssignmentSlow",
        "RiderLocationLagHigh",
    }
    names = {
        r.inputs["prometheusAlertRuleName"].split("-")[2]
        for r in found
        if r.inputs["prometheusAlertRuleName"].count("-") >= 2
    }
    assert business | {"ErrorBudgetBurn", "TrafficSurge", "TargetDown", "FleetTargetsAbsent"} <= names


def test_expressions_read_no_recorded_series(prod: Plan) -> None:
    for rule in prod.of_type(RULE):
        assert "courier:" not in rule.inputs["expression"], rule.inputs["prometheusAlertRuleName"]


def test_inlining_pushes_the_alerts_matchers_into_the_recorded_expression(
    prod_spec: EnvironmentSpec, hangzhou: RegionSpec
) -> None:
    recording = [r for g in rules.rule_groups(prod_spec, hangzhou) for r in g["rules"] if "record" in r]
    s = '{service="orders", region="cn-hangzhou"}'
    assert inline_recorded(f"courier:fleet_cpu_busy:ratio{s} > 0.8", recording) == (
        '(1 - avg by (service, region) (rate(node_cpu_seconds_total{mode="idle", service="orders", '
        'region="cn-hangzhou"}[2m]))) > 0.8'
    )
    assert inline_recorded(f"courier:http_requests:rate5m{s} > 0.5", recording) == (
        '(sum by (service, region) (rate(http_requests_total{service="orders", region="cn-hangzhou"}[5m]))) > 0.5'
    )
    maximum = inline_recorded(f"{rules.MAX_INSTANCES}{s}", recording)
    assert maximum.startswith("label_replace(label_replace(vector(60") and maximum.endswith(
        '"service", "orders", "", ""), "region", "cn-hangzhou", "", "")'
    )


def test_rejects_a_recorded_series_read_by_other_labels() -> None:
    recording = [{"record": "courier:x:ratio", "expr": "sum by (service, region) (rate(y[5m]))"}]
    with pytest.raises(ValueError, match="by service and region only"):
        inline_recorded('courier:x:ratio{service="a"}', recording)


def test_durations_are_whole_minutes_within_armss_range() -> None:
    assert [arms_duration(d) for d in ("2m", "15m", "1h", "3h")] == ["2m", "15m", "60m", "180m"]
    with pytest.raises(ValueError, match="1 to 1440"):
        arms_duration("2d")


def test_routing_by_severity_reaches_the_roles_of_the_oncall_matrix(prod: Plan) -> None:
    groups = {r.urn: r.inputs["alertContactGroupName"] for r in prod.of_type(GROUP)}
    assert set(groups.values()) == {f"prod_cnhz-{role}" for role in oncall.ROLES}
    policies = {r.urn: r for r in prod.of_type(POLICY)}
    for rule in prod.of_type(RULE):
        labels = _pairs(rule.inputs["labels"])
        roles = oncall.roles_for(labels["severity"], labels.get("category"), labels.get("customer_impact") == "true")
        policy = policies[_policy_of(rule)]
        (notify,) = policy.inputs["notifyRules"]
        assert [o["name"] for o in notify["notifyObjects"]] == [f"prod_cnhz-{role}" for role in roles]
        assert all(o["notifyType"] == "ARMS_CONTACT_GROUP" for o in notify["notifyObjects"])
        # The policy also matches the rule by name (ARMS matches its own labels only).
        (grid,) = policy.inputs["labelMatchExpressionGrids"]
        (expression,) = grid["labelMatchExpressionGroups"][0]["labelMatchExpressions"]
        assert expression["key"] == "_aliyun_arms_alert_name"
        assert re.fullmatch(expression["value"], rule.inputs["prometheusAlertRuleName"])
        (group_rule,) = policy.inputs["groupRules"]
        assert group_rule["repeatInterval"] == prometheus.REPEAT_SECONDS[labels["severity"]]
        assert group_rule["groupingFields"] == ["alertname", "service", "region"]
    # Each policy's name pattern matches its own rules only.
    names = [r.inputs["prometheusAlertRuleName"] for r in prod.of_type(RULE)]
    for policy in policies.values():
        pattern = policy.inputs["labelMatchExpressionGrids"][0]["labelMatchExpressionGroups"][0][
            "labelMatchExpressions"
        ][0]["value"]
        mine = {r.inputs["prometheusAlertRuleName"] for r in prod.of_type(RULE) if _policy_of(r) == policy.urn}
        assert {n for n in names if re.fullmatch(pattern, n)} == mine


def test_critical_customer_alerts_page_the_incident_commander_by_sms_and_email(prod: Plan) -> None:
    policies = {r.urn: r for r in prod.of_type(POLICY)}
    (rule,) = [
        r
        for r in prod.of_type(RULE)
        if r.inputs["prometheusAlertRuleName"] == "prod_cnhz-orders-OrderCreationFailureRatioHigh"
    ]
    (notify,) = policies[_policy_of(rule)].inputs["notifyRules"]
    assert [o["name"] for o in notify["notifyObjects"]] == [
        "prod_cnhz-incident-commander",
        "prod_cnhz-tech-expert",
        "prod_cnhz-customer-service-lead",
    ]
    assert notify["notifyChannels"] == ["email", "sms"]


def test_absence_alerts_are_held_back_until_the_fleets_report(prod_spec: EnvironmentSpec, hangzhou: RegionSpec) -> None:
    quiet = {a.alert for a in plan_alerts(prod_spec, hangzhou, name_prefix="prod_cnhz", fleets_report=False)}
    reporting = {a.alert for a in plan_alerts(prod_spec, hangzhou, name_prefix="prod_cnhz", fleets_report=True)}
    assert "FleetTargetsAbsent" not in quiet and "FleetTargetsAbsent" in reporting
    assert "Watchdog" not in reporting  # its only receiver is an https heartbeat ARMS cannot reach here
    assert reporting - quiet == ABSENCE_ALERTS


def test_secret_receivers_never_appear_in_plain_text(
    run_components, prod_spec: EnvironmentSpec, hangzhou: RegionSpec
) -> None:
    def declare() -> None:
        provider = ali.Provider("alicloud-cnhz", region="cn-hangzhou")
        ArmsPrometheus(
            "cnhz",
            ArmsPrometheusArgs(
                spec=prod_spec,
                region=hangzhou,
                name_prefix="prod_cnhz",
                vpc_id="vpc-cnhz",
                vswitch_id="vsw-cnhz-app-h",
                contacts={
                    "incident-commander": [
                        Contact("email", pulumi.Output.secret("ic@courier.example.com")),
                        Contact("sms", pulumi.Output.secret("+6580000001")),
                        Contact("https", pulumi.Output.secret("https://pager.example.com/key")),
                    ]
                },
                tags={"environment": "prod"},
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    plan = run_components(declare)
    contacts = plan.of_type(CONTACT)
    assert len(contacts) == 2  # the https receiver has no ARMS contact
    text = repr([r.inputs for r in plan.resources])
    for secret in ("ic@courier.example.com", "+6580000001", "pager.example.com"):
        assert secret not in text
    assert all(
        isinstance(r, Resource) and r.region == "cn-hangzhou"
        for r in plan.resources
        if r.custom and r.type in ARMS_TYPES
    )


def test_inlined_expressions_parse_as_promql(prod_spec: EnvironmentSpec, hangzhou: RegionSpec, tmp_path) -> None:
    import subprocess

    from components.monitoring import yamltext
    from tests.tools import require_tool

    promtool = require_tool("promtool", "Debian package prometheus")
    alerts = plan_alerts(prod_spec, hangzhou, name_prefix="prod_cnhz", fleets_report=True)
    document = {
        "groups": [
            {
                "name": "arms",
                "rules": [
                    {"alert": a.alert, "expr": a.expression, "for": a.duration, "labels": dict(a.labels)}
                    for a in alerts
                ],
            }
        ]
    }
    path = tmp_path / "arms.yml"
    path.write_text(yamltext.dump(document))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _fleet_of(prod: Plan, service: str, resource_type: str) -> Resource:
    (fleet,) = [
        r for r in prod.of_type("courier:alicloud:Fleet") if r.region == "cn-hangzhou" and r.name == f"cnhz-{service}"
    ]
    (found,) = [r for r in prod.of_type(resource_type) if r.parent == fleet.urn]
    return found


def test_instances_run_node_exporter_from_their_regions_registry_by_digest(prod: Plan, tmp_path) -> None:
    import base64
    import subprocess

    from components import boot
    from components.monitoring import agent
    from tests.tools import require_tool

    config = _fleet_of(prod, "orders", "alicloud:ess/scalingConfiguration:ScalingConfiguration")
    script = base64.b64decode(config.inputs["userData"]).decode()
    units = dict(re.findall(r"cat > /etc/systemd/system/(\S+) <<'UNIT'\n(.*?)\nUNIT\n", script, re.DOTALL))
    assert sorted(units) == ["courier-orders.service", "courier-ready.service", "node-exporter.service"]
    exporter = units["node-exporter.service"]
    (image,) = re.findall(r"--log-driver journald (\S+) ", exporter)
    assert re.fullmatch(
        r"courier-prod-cnhz-[0-9a-f]{4}-registry-vpc\.cn-hangzhou\.cr\.aliyuncs\.com/courier-prod/"
        r"platform-node-exporter@" + re.escape(agent.NODE_EXPORTER_DIGEST or ""),
        image,
    ), image
    assert f"ExecStartPre={boot.PULL_SCRIPT} {image}\n" in exporter
    # On the private address, for the collector (the security group admits nobody else).
    assert "--web.listen-address=:9100" in exporter and "Restart=always" in exporter
    # Never waited on: serving does not depend on metrics.
    assert script.endswith("systemctl enable --now --no-block node-exporter.service\n")
    assert "AccessKey" not in script.replace("AccessKeyId", "").replace("AccessKeySecret", "")
    shellcheck = require_tool("shellcheck", "Debian package shellcheck")
    path = tmp_path / "boot.sh"
    path.write_text(script)
    result = subprocess.run([shellcheck, str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_instance_role_may_pull_node_exporter_too_and_nothing_else(prod: Plan) -> None:
    import json

    (fleet,) = [r for r in prod.of_type("courier:alicloud:Fleet") if r.name == "cnhz-orders"]
    (policy,) = [
        r for r in prod.of_type("alicloud:ram/policy:Policy") if r.parent == fleet.urn and r.name.endswith("-pull")
    ]
    statements = json.loads(policy.inputs["policyDocument"])["Statement"]
    (pull,) = [s for s in statements if s["Action"] == ["cr:PullRepository"]]
    assert [r.rsplit("/", 2)[1:] for r in pull["Resource"]] == [
        ["courier-prod", "orders"],
        ["courier-prod", "platform-node-exporter"],
    ]
