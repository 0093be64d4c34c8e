"""The drills the shipped plans declare (components.aws.drills): which templates where, targets by
tag, stop conditions on the region's own critical alarms, least-privilege roles, logs, the
calendar's schedules, the pod drills' RBAC; and the FIS table of the verification
(courier/verify/fis.py) refusing what FIS would."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from courier.plan import Plan, Resource
from courier.verify import fis
from courier.verify.findings import Context
from tests.conftest import AS_OF

TEMPLATE = "aws:fis/experimentTemplate:ExperimentTemplate"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SCHEDULE = "aws:scheduler/schedule:Schedule"

#: Per FIS action, the permissions the AWS FIS actions reference lists (and the condition-scoped
#: extras it documents): a role may hold these and the logging and tag-resolution ones, no more.
DOCUMENTED = {
    "aws:ec2:stop-instances": {"ec2:StopInstances", "ec2:StartInstances", "ec2:DescribeInstances", "kms:CreateGrant"},
    "aws:ec2:terminate-instances": {"ec2:TerminateInstances", "ec2:DescribeInstances"},
    "aws:ec2:asg-insufficient-instance-capacity-error": {"ec2:InjectApiError", "autoscaling:DescribeAutoScalingGroups"},
    "aws:network:disrupt-connectivity": {
        "ec2:CreateNetworkAcl",
        "ec2:CreateNetworkAclEntry",
        "ec2:CreateTags",
        "ec2:DeleteNetworkAcl",
        "ec2:DescribeManagedPrefixLists",
        "ec2:DescribeNetworkAcls",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "ec2:GetManagedPrefixListEntries",
        "ec2:ReplaceNetworkAclAssociation",
    },
    "aws:rds:failover-db-cluster": {"rds:FailoverDBCluster", "rds:DescribeDBClusters"},
    "aws:ssm:send-command": {"ssm:SendCommand", "ssm:ListCommands", "ssm:CancelCommand"},
    "aws:ssm:start-automation-execution": {
        "ssm:GetAutomationExecution",
        "ssm:StartAutomationExecution",
        "ssm:StopAutomationExecution",
        "iam:PassRole",
    },
    "aws:eks:pod-delete": {"eks:DescribeCluster", "ec2:DescribeSubnets"},
    "aws:eks:pod-cpu-stress": {"eks:DescribeCluster", "ec2:DescribeSubnets"},
}
ALWAYS = {
    "logs:CreateLogDelivery",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "tag:GetResources",
}


def templates(plan: Plan) -> dict[tuple[str, str], Resource]:
    return {(str(t.region), t.inputs["tags"]["drill"]): t for t in plan.of_type(TEMPLATE)}


def role_of(plan: Plan, template: Resource) -> tuple[Resource, dict[str, Any]]:
    (role_urn,) = template.property_dependencies["roleArn"]
    policy = next(p for p in plan.of_type(ROLE_POLICY) if role_urn in p.property_dependencies.get("role", []))
    return plan.by_urn(role_urn), json.loads(policy.inputs["policy"])


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_aws_region_declares_its_drills(stack_plans, stack: str) -> None:
    plan = stack_plans[stack]
    found = templates(plan)
    vm = {"orders", "dispatch", "tracking", "payments"}
    aws_regions = {
        "staging": ["ap-southeast-1", "ap-northeast-1"],
        "prod": ["ap-southeast-1", "ap-northeast-1", "ap-northeast-2"],
    }
    pods = {"staging": {"ap-southeast-1"}, "prod": {"ap-southeast-1", "ap-northeast-1", "ap-northeast-2"}}
    for region in aws_regions[stack]:
        keys = {k for r, k in found if r == region}
        expected = {"zone-outage", *(f"{d}-{s}" for d in ("fleet-loss", "cpu-storm") for s in vm)}
        if region in pods[stack]:
            expected |= {"pod-delete-notifications", "pod-cpu-stress-notifications"}
        # The region drill: every region can take the writer (where the global database was
        # created, the next region takes it).
        expected.add("region-switchover")
        assert keys == expected, region


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_targets_are_chosen_by_tag_or_by_the_pods_parameters(stack_plans, stack: str) -> None:
    for (_, key), template in templates(stack_plans[stack]).items():
        for target in template.inputs.get("targets") or []:
            assert "resourceArns" not in target, key
            if target["resourceType"] == "aws:eks:pod":
                assert target["parameters"]["selectorType"] == "deploymentName"
                assert target["parameters"]["namespace"] == target["parameters"]["selectorValue"]
                continue
            tags = {t["key"]: t["value"] for t in target["resourceTags"]}
            assert tags["stack"] == stack and tags["project"] == "courier-platform", key
            if key.startswith(("fleet-loss-", "cpu-storm-")):
                assert tags["service"] == key.split("-", 2)[2]
            if key == "zone-outage" and target["resourceType"] in ("aws:ec2:instance", "aws:ec2:subnet"):
                zones = {f["path"]: f["values"] for f in target["filters"]}
                assert any(path.endswith("AvailabilityZone") for path in zones), target


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_drill_stops_on_critical_alarms_of_its_own_region(stack_plans, stack: str) -> None:
    plan = stack_plans[stack]
    for (region, key), template in templates(plan).items():
        conditions = template.inputs["stopConditions"]
        assert 1 <= len(conditions) <= fis.MAX_STOP_CONDITIONS, key
        assert {c["source"] for c in conditions} == {"aws:cloudwatch:alarm"}
        alarms = [plan.by_urn(u) for u in template.property_dependencies["stopConditions"]]
        assert len(alarms) == len(conditions)
        assert {(a.type, a.region, a.inputs["tags"]["severity"]) for a in alarms} == {(ALARM, region, "critical")}, key
        if key.startswith("fleet-loss-"):
            service = key.removeprefix("fleet-loss-")
            assert {a.inputs["tags"]["service"] for a in alarms} == {"shared", service}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_each_role_holds_only_what_fis_documents_for_its_actions(stack_plans, stack: str) -> None:
    plan = stack_plans[stack]
    for (region, key), template in templates(plan).items():
        role, policy = role_of(plan, template)
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "fis.amazonaws.com"}
        assert trust["Condition"]["StringEquals"]["aws:SourceAccount"]
        allowed = ALWAYS.union(*(DOCUMENTED[a["actionId"]] for a in template.inputs["actions"]))
        granted = {a for s in policy["Statement"] for a in actions_of(s)}
        assert granted <= allowed, (key, granted - allowed)
        assert not any("*" in a for a in granted), key
        for statement in policy["Statement"]:
            # Instances are touched only when they carry the stack's tags.
            if set(actions_of(statement)) & {"ec2:StopInstances", "ec2:TerminateInstances"}:
                assert statement["Condition"]["StringEquals"]["aws:ResourceTag/stack"] == stack
                assert statement["Resource"].startswith(f"arn:aws:ec2:{region}:")


def test_the_region_drill_runs_the_stacks_runbook_on_the_data_tiers_global_cluster(stack_plans) -> None:
    plan = stack_plans["prod"]
    (cluster,) = plan.of_type("aws:rds/globalCluster:GlobalCluster")
    clusters = {c.region: c.inputs["clusterIdentifier"] for c in plan.of_type("aws:rds/cluster:Cluster")}
    found = templates(plan)
    # Where the global database was created, the next region takes the writer; elsewhere, the region itself.
    for region, taker in [("ap-southeast-1", "ap-northeast-1"), ("ap-northeast-1", "ap-northeast-1"),
                          ("ap-northeast-2", "ap-northeast-2")]:  # fmt: skip
        (action,) = found[(region, "region-switchover")].inputs["actions"]
        assert action["actionId"] == "aws:ssm:start-automation-execution"
        parameters = {p["key"]: p["value"] for p in action["parameters"]}
        document = json.loads(parameters["documentParameters"])
        assert document["GlobalClusterIdentifier"] == [cluster.inputs["globalClusterIdentifier"]]
        assert document["TargetClusterArn"][0] == (f"arn:aws:rds:{taker}:123456789012:cluster:{clusters[taker]}"), (
            region
        )
        (runbook,) = [d for d in plan.of_type("aws:ssm/document:Document") if d.region == region]
        assert parameters["documentArn"].endswith(f":document/{runbook.inputs['name']}")
    steps = json.loads(runbook.inputs["content"])["mainSteps"]
    assert steps[0]["name"] == "FindWriter"
    assert [s["inputs"].get("TargetDbClusterIdentifier") for s in steps if s["action"] == "aws:executeAwsApi"] == [
        "{{ TargetClusterArn }}",
        "{{ FindWriter.WriterArn }}",
    ]
    assert {s.get("onCancel") for s in steps if s["name"] in ("Hold", "SwitchToTargetSettled")} == {"step:SwitchBack"}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_experiments_log_to_the_regions_log_group_and_carry_their_hypothesis(stack_plans, stack: str) -> None:
    plan = stack_plans[stack]
    groups = {g.urn: g for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup")}
    for (region, key), template in templates(plan).items():
        logging = template.inputs["logConfiguration"]
        assert logging["logSchemaVersion"] == 2
        (group,) = [groups[u] for u in template.property_dependencies["logConfiguration"] if u in groups]
        assert group.region == region and group.inputs["name"].endswith("/fis-experiments")
        assert logging["cloudwatchLogsConfiguration"]["logGroupArn"].endswith(":*")
        assert 0 < len(template.inputs["description"]) <= 512
        tags = template.inputs["tags"]
        assert tags["hypothesis-alert"] and float(tags["hypothesis-recovery-minutes"]) > 0
        if key.startswith("cpu-storm-"):
            assert tags["hypothesis-alert"] == "FleetCpuAboveTarget"


def test_staging_schedules_its_calendar_and_prod_only_the_enabled_run(stack_plans) -> None:
    def scheduled(plan: Plan) -> dict[str, Resource]:
        return {s.inputs["name"]: s for s in plan.of_type(SCHEDULE)}

    staging = scheduled(stack_plans["staging"])
    assert set(staging) == {
        f"courier-staging-apse1-{k}"
        for k in (
            "fleet-loss-orders",
            "cpu-storm-orders",
            "zone-outage",
            "region-switchover",
            "pod-delete-notifications",
            "pod-cpu-stress-notifications",
        )
    }
    assert set(scheduled(stack_plans["prod"])) == {"courier-prod-apse1-fleet-loss-orders"}
    plan = stack_plans["staging"]
    found = templates(plan)
    for schedule in staging.values():
        target = schedule.inputs["target"]
        assert target["arn"] == "arn:aws:scheduler:::aws-sdk:fis:startExperiment"
        assert target["retryPolicy"]["maximumRetryAttempts"] == 0
        (template_urn,) = [u for u in schedule.property_dependencies["target"] if plan.by_urn(u).type == TEMPLATE]
        key = plan.by_urn(template_urn).inputs["tags"]["drill"]
        assert found[("ap-southeast-1", key)].urn == template_urn
        assert json.loads(target["input"])["ExperimentTemplateId"]
        assert schedule.inputs["scheduleExpressionTimezone"] == "Asia/Singapore"


def test_pod_drills_come_with_their_service_account_rbac_and_access_entry(stack_plans) -> None:
    plan = stack_plans["staging"]
    bindings = plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    (binding,) = [b for b in bindings if b.inputs["metadata"]["name"] == "fis-experiments"]
    assert binding.inputs["metadata"]["namespace"] == "notifications"
    assert {(s["kind"], s["name"]) for s in binding.inputs["subjects"]} == {
        ("ServiceAccount", "fis-experiments"),
        ("User", "fis-experiment"),
    }
    (role,) = [r for r in plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role") if r.name.endswith("-fis")]
    resources = {res for rule in role.inputs["rules"] for res in rule["resources"]}
    assert resources == {"configmaps", "pods", "pods/ephemeralcontainers", "pods/exec", "deployments"}
    entries = [
        e for e in plan.of_type("aws:eks/accessEntry:AccessEntry") if e.inputs.get("userName") == "fis-experiment"
    ]
    assert [e.region for e in entries] == ["ap-southeast-1"]


# -- the FIS table of the verification ---------------------------------------------------------


def fis_findings(plan: Plan, template: Resource) -> list[str]:
    shrunk = dataclasses.replace(plan, resources=[*[r for r in plan.resources if r.type != TEMPLATE], template])
    return [f"{i.property}: {i.message}" for i in fis.check(Context(shrunk, AS_OF))]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_shipped_templates_pass_the_fis_table(stack_plans, stack: str) -> None:
    plan = stack_plans[stack]
    assert [f"{i.urn} {i.property}: {i.message}" for i in fis.check(Context(plan, AS_OF))] == []


def mutate(plan: Plan, key: str, change: Any) -> Resource:
    template = copy.deepcopy(templates(plan)[("ap-southeast-1", key)])
    change(template.inputs)
    return template


def _parameter(action: dict[str, Any], name: str, value: str) -> None:
    action["parameters"] = [p for p in action.get("parameters") or [] if p["key"] != name] + [
        {"key": name, "value": value}
    ]


@pytest.mark.parametrize(
    ("key", "change", "expected"),
    [
        (
            "fleet-loss-orders",
            lambda i: i["actions"][0].update(actionId="aws:ec2:terminate-instance"),
            "actions[terminate-instances].actionId: 'aws:ec2:terminate-instance' is not in the table of FIS actions",
        ),
        (
            "fleet-loss-orders",
            lambda i: i["targets"][0].update(resourceType="aws:ec2:subnet"),
            "aws:ec2:terminate-instances acts on aws:ec2:instance, but target 'fleet-instances' is aws:ec2:subnet",
        ),
        (
            "fleet-loss-orders",
            lambda i: i["targets"][0].update(selectionMode="PERCENT(130)"),
            "'PERCENT(130)': PERCENT takes 1 to 100",
        ),
        (
            "fleet-loss-orders",
            lambda i: i["targets"][0].update(selectionMode="HALF"),
            "'HALF' must be ALL, COUNT(n) or PERCENT(n)",
        ),
        (
            "fleet-loss-orders",
            lambda i: i["actions"][0]["target"].update(key="Instance"),
            "target key 'Instance' is refused by the provider",
        ),
        (
            "zone-outage",
            lambda i: _parameter(i["actions"][2], "duration", "30 minutes"),
            "duration '30 minutes' is not an ISO 8601 duration such as PT10M",
        ),
        (
            "zone-outage",
            lambda i: _parameter(i["actions"][2], "duration", "PT13H"),
            "duration 'PT13H' must be from one minute to 12 hours",
        ),
        (
            "zone-outage",
            lambda i: _parameter(i["actions"][2], "scope", "zone"),
            "scope 'zone' is not one of all, availability-zone",
        ),
        (
            "zone-outage",
            lambda i: _parameter(i["actions"][1], "percent", "50"),
            "has no parameter 'percent' (it takes: duration, availabilityZoneIdentifiers, percentage)",
        ),
        (
            "cpu-storm-orders",
            lambda i: _parameter(i["actions"][0], "documentParameters", '{"DurationSeconds": "60"}'),
            "does not match '[\\\\S]+'",
        ),
        (
            "cpu-storm-orders",
            lambda i: i["actions"][0].update(
                parameters=[p for p in i["actions"][0]["parameters"] if p["key"] != "duration"]
            ),
            "aws:ssm:send-command needs the parameter 'duration'",
        ),
        (
            "pod-delete-notifications",
            lambda i: i["targets"][0].update(resourceTags=[{"key": "stack", "value": "staging"}]),
            "aws:eks:pod targets cannot be identified by tags or ARNs, only by parameters",
        ),
        (
            "pod-delete-notifications",
            lambda i: i["targets"][0]["parameters"].update(selectorType="deployment"),
            "selectorType 'deployment' is not one of labelSelector, deploymentName, podName",
        ),
        (
            "fleet-loss-orders",
            lambda i: i["stopConditions"].append({"source": "aws:cloudwatch:alarms", "value": "arn:aws:x"}),
            "'aws:cloudwatch:alarms' is not one of",
        ),
    ],
)
def test_the_fis_table_refuses_what_fis_would(stack_plans, key: str, change: Any, expected: str) -> None:
    plan = stack_plans["staging"]
    found = fis_findings(plan, mutate(plan, key, change))
    assert any(expected in f for f in found), found


def test_the_fis_table_refuses_a_stop_alarm_of_another_region(stack_plans) -> None:
    plan = stack_plans["staging"]
    template = templates(plan)[("ap-southeast-1", "fleet-loss-orders")]
    elsewhere = next(a for a in plan.of_type(ALARM) if a.region == "ap-northeast-1")
    moved = dataclasses.replace(
        template, property_dependencies={**template.property_dependencies, "stopConditions": [elsewhere.urn]}
    )
    (found,) = fis_findings(plan, moved)
    assert found.startswith(f"stopConditions: stops on {elsewhere.name} in ap-northeast-1")


def test_the_verification_runs_the_fis_table(stack_plans) -> None:
    from courier.verify import RULES

    assert "aws-fis-experiment-template" in {r.name for r in RULES}
