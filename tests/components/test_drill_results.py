"""The drill results feed the shipped plans declare (components.aws.drills.results): per AWS
region, FIS's finished-experiment events to a delayed queue, the function that judges them with
a judgement per template, least privilege, and the verification rule that refuses a feed which
could not judge (courier/verify/drill_results.py)."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import math
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.credentials import Credentials
from botocore.stub import Stubber

from components.aws.drills import probes, results
from components.monitoring.dashboards import DRILL_NAMESPACE
from courier.plan import Plan, Resource
from courier.verify import drill_results
from courier.verify.findings import Context
from tests.components.test_drill_results_function import T0, Prometheus, clients, expect_experiment, state_change
from tests.conftest import AS_OF

FUNCTION = "aws:lambda/function:Function"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TEMPLATE = "aws:fis/experimentTemplate:ExperimentTemplate"
WORKSPACE = "aws:amp/workspace:Workspace"


def in_region(plan: Plan, kind: str, region: str) -> list[Resource]:
    return [r for r in plan.of_type(kind) if r.region == region]


def the(plan: Plan, kind: str, region: str, suffix: str = "") -> Resource:
    found = [r for r in in_region(plan, kind, region) if str(r.inputs.get("name", r.name)).endswith(suffix)]
    assert len(found) == 1, (kind, region, [r.name for r in found])
    return found[0]


def judgements(function: Resource) -> dict[str, Any]:
    found = drill_results.judgements_of(function)
    assert found is not None, function.urn
    return dict(found)


def drill_regions(plan: Plan) -> list[str]:
    return sorted({str(t.region) for t in plan.of_type(TEMPLATE)})


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge's matching for the shapes used here: a list is "one of", a map nests."""
    if isinstance(pattern, list):
        return event in pattern
    return isinstance(event, dict) and all(k in event and matches(v, event[k]) for k, v in pattern.items())


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_region_with_drills_has_one_feed_judging_each_of_its_drills(stack_plans, stack: str) -> None:
    plan = stack_plans[stack]
    regions = drill_regions(plan)
    assert regions and sorted(str(f.region) for f in plan.of_type(FUNCTION)) == regions
    for region in regions:
        function = the(plan, FUNCTION, region)
        found = judgements(function)
        tags = {t.inputs["tags"]["drill"]: t.inputs["tags"] for t in in_region(plan, TEMPLATE, region)}
        assert set(found) == set(tags)
        for drill, judgement in found.items():
            # The hypothesis the template states, to the half minute it is rounded up to.
            assert math.ceil(judgement["recoveryMinutes"] * 2) / 2 == float(tags[drill]["hypothesis-recovery-minutes"])


def in_service_group(probe: dict[str, Any]) -> str:
    """The group an Auto Scaling in-service probe reads (asserting it is one)."""
    assert probe["source"] == "cloudwatch" and probe["op"] == ">=" and probe["threshold"] == "start"
    metric = probe["metric"]
    assert (metric["namespace"], metric["name"], metric["stat"], metric["period"]) == (
        "AWS/AutoScaling",
        "GroupInServiceInstances",
        "Minimum",
        60,
    )
    return metric["dimensions"]["AutoScalingGroupName"]


def test_each_kind_of_drill_is_judged_on_its_own_series(stack_plans) -> None:
    plan = stack_plans["prod"]
    region = "ap-southeast-1"
    function = the(plan, FUNCTION, region)
    found = judgements(function)
    # A VM fleet's loss: Auto Scaling's in-service count of the fleet's own group (the Prometheus
    # count would keep a terminated instance for its 5-minute lookback).
    (probe,) = found["fleet-loss-payments"]["probes"]
    group = in_service_group(probe)
    assert group.startswith("apse1-payments-asg-")
    # The group metric's minute of lag and its 1-minute period.
    assert found["fleet-loss-payments"]["allowanceSeconds"] == probes.GROUP_METRIC_LAG_SECONDS + 60 == 120
    # The function's code is written from the groups' names: it depends on each fleet's group.
    groups = {g.urn for g in in_region(plan, "aws:autoscaling/group:Group", region)}
    assert groups and groups <= set(function.property_dependencies["code"])
    # Payments scales at 70% CPU: its storm is over under 0.7, and its alert must fire.
    selector = '{service="payments", region="ap-southeast-1"}'
    storm = found["cpu-storm-payments"]
    assert storm["probes"] == [
        {"source": "prometheus", "query": f"{probes.CPU_BUSY}{selector}", "op": "<", "threshold": 0.7}
    ]
    assert (storm["mustFire"], storm["service"]) == ("FleetCpuAboveTarget", "payments")
    # 15 s scrape + 60 s rule evaluation + 60 s of the 2-minute rate + a 30 s step.
    assert storm["allowanceSeconds"] == probes.SERIES_LAG_SECONDS + probes.RATE_LAG_SECONDS + probes.STEP_SECONDS == 165
    # The zone outage: every VM fleet back; no alert must fire (UnhealthyTargets only may).
    vm = sorted(k.removeprefix("fleet-loss-") for k in found if k.startswith("fleet-loss-"))
    zone = found["zone-outage"]
    assert sorted(in_service_group(p) for p in zone["probes"]) == sorted(
        in_service_group(found[f"fleet-loss-{s}"]["probes"][0]) for s in vm
    )
    assert zone["mustFire"] is None
    # The region drill is judged by its runbook's own steps (and the stop conditions).
    assert found["region-switchover"]["probes"] == [] and found["region-switchover"]["allowanceSeconds"] == 0
    pods = [k.removeprefix("pod-delete-") for k in found if k.startswith("pod-delete-")]
    assert pods, "prod runs Kubernetes services in its primary"
    for service in pods:
        # Ready pods: kube-state-metrics' series of a deleted pod are marked stale by the scraper.
        assert found[f"pod-delete-{service}"]["probes"] == [
            {
                "source": "prometheus",
                "query": f'{probes.INSTANCES}{{service="{service}", region="{region}"}}',
                "op": ">=",
                "threshold": "start",
            }
        ]
        assert found[f"pod-cpu-stress-{service}"]["probes"][0]["op"] == "<"


def test_finished_experiments_reach_the_queue_and_wait_there(stack_plans) -> None:
    plan = stack_plans["prod"]
    for region in drill_regions(plan):
        rule = the(plan, RULE, region, "-drill-results")
        pattern = json.loads(rule.inputs["eventPattern"])
        event = {"source": "aws.fis", "detail-type": "FIS Experiment State Change", "detail": {"new-state": {}}}
        for status in ("completed", "stopped", "failed", "cancelled"):
            event["detail"]["new-state"]["status"] = status
            assert matches(pattern, event), status
        for status in ("pending", "initiating", "running", "stopping"):
            event["detail"]["new-state"]["status"] = status
            assert not matches(pattern, event), status
        queue = the(plan, QUEUE, region, "-drill-results")
        dead = the(plan, QUEUE, region, "-drill-results-dead")
        target = the(plan, TARGET, region)
        assert queue.urn in target.property_dependencies["arn"] and rule.urn in target.property_dependencies["rule"]
        assert queue.inputs["delaySeconds"] == 900 == results.DELAY_SECONDS
        function = the(plan, FUNCTION, region)
        assert queue.inputs["visibilityTimeoutSeconds"] >= 6 * function.inputs["timeout"]
        assert queue.inputs["sqsManagedSseEnabled"] is True and dead.inputs["sqsManagedSseEnabled"] is True
        redrive = json.loads(queue.inputs["redrivePolicy"])
        assert redrive["maxReceiveCount"] == 5 and dead.urn in queue.property_dependencies["redrivePolicy"]
        # Only this rule may send to the queue.
        policy = the(plan, QUEUE_POLICY, region)
        (statement,) = json.loads(policy.inputs["policy"])["Statement"]
        assert (
            statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
        )
        assert set(policy.property_dependencies["policy"]) == {queue.urn, rule.urn}
        assert "aws:SourceArn" in statement["Condition"]["ArnEquals"]
        # One message at a time; a failed one goes back alone.
        mapping = the(plan, MAPPING, region)
        assert mapping.inputs["batchSize"] == 1 and mapping.inputs["functionResponseTypes"] == [
            "ReportBatchItemFailures"
        ]
        assert queue.urn in mapping.property_dependencies["eventSourceArn"]
        assert function.urn in mapping.property_dependencies["functionName"]


def test_the_function_may_do_its_job_and_nothing_else(stack_plans) -> None:
    plan = stack_plans["prod"]
    for region in drill_regions(plan):
        function = the(plan, FUNCTION, region)
        (role_urn,) = function.property_dependencies["role"]
        policy = next(p for p in plan.of_type(ROLE_POLICY) if role_urn in p.property_dependencies.get("role", []))
        statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
        actions = sorted(
            a for s in statements.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        )
        assert actions == sorted(
            [
                "aps:QueryMetrics",
                "cloudwatch:GetMetricData",
                "cloudwatch:PutMetricData",
                "fis:GetExperiment",
                "fis:GetExperimentTemplate",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
            ]
        )
        assert statements["Results"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": DRILL_NAMESPACE}}
        assert all(r.startswith(f"arn:aws:fis:{region}:") for r in statements["Experiments"]["Resource"])
        workspace = the(plan, WORKSPACE, region)
        assert workspace.urn in policy.property_dependencies["policy"]
        assert statements["Probes"]["Resource"].startswith(f"arn:aws:aps:{region}:")
        env = function.inputs["environment"]["variables"]
        assert (
            env["STACK"] == plan.stack and f"aps-workspaces.{region}.amazonaws.com/workspaces/" in env["PROMETHEUS_URL"]
        )
        assert workspace.urn in function.property_dependencies["environment"]


# -- the verification rule ---------------------------------------------------------------------


def verify_with(plan: Plan, change) -> list[str]:
    """drill-results-function's findings after ``change`` edits the primary's judgements."""
    function = the(plan, FUNCTION, "ap-southeast-1")
    inputs = copy.deepcopy(function.inputs)
    found = judgements(function)
    change(found, inputs)
    inputs["code"]["assets"][results.JUDGEMENTS_FILE]["text"] = json.dumps(found)
    edited = dataclasses.replace(function, inputs=inputs)
    shrunk = dataclasses.replace(plan, resources=[edited if r.urn == function.urn else r for r in plan.resources])
    return [i.message for i in drill_results.check(Context(shrunk, AS_OF))]


def test_the_shipped_feeds_pass_the_verification(stack_plans) -> None:
    for stack in ("staging", "prod"):
        assert verify_with(stack_plans[stack], lambda j, i: None) == []


def test_a_probe_on_a_series_nothing_records_is_refused(stack_plans) -> None:
    def typo(found: dict[str, Any], _: Any) -> None:
        found["cpu-storm-orders"]["probes"][0]["query"] = 'courier:fleet_cpu_busy:rate{service="orders"}'

    (message,) = verify_with(stack_plans["prod"], typo)
    assert "courier:fleet_cpu_busy:rate" in message and "neither docs/metrics.md nor a recording rule" in message


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"AutoScalingGroupName": "apse1-orders-asg"}, "is none of the region's Auto Scaling groups"),
        ({"name": "GroupInServiceCapacity"}, "not an Auto Scaling group metric"),
        ({"period": 300}, "period 300, the group metrics' granularity is 60 s"),
        ({"stat": "p50"}, "statistic 'p50'"),
    ],
)
def test_a_cloudwatch_probe_that_could_read_nothing_is_refused(
    stack_plans, edit: dict[str, Any], expected: str
) -> None:
    def change(found: dict[str, Any], _: Any) -> None:
        metric = found["fleet-loss-orders"]["probes"][0]["metric"]
        if "AutoScalingGroupName" in edit:
            metric["dimensions"] = edit
        else:
            metric.update(edit)

    (message,) = verify_with(stack_plans["prod"], change)
    assert message.startswith("judgement 'fleet-loss-orders': probe AWS/AutoScaling") and expected in message


def test_a_probe_on_another_regions_group_is_refused(stack_plans) -> None:
    other = judgements(the(stack_plans["prod"], FUNCTION, "ap-northeast-1"))
    elsewhere = other["fleet-loss-orders"]["probes"][0]["metric"]["dimensions"]["AutoScalingGroupName"]

    def moved(found: dict[str, Any], _: Any) -> None:
        found["fleet-loss-orders"]["probes"][0]["metric"]["dimensions"] = {"AutoScalingGroupName": elsewhere}

    (message,) = verify_with(stack_plans["prod"], moved)
    assert f"group {elsewhere!r} is none of the region's Auto Scaling groups" in message


def test_a_judgement_without_a_recovery_time_is_refused(stack_plans) -> None:
    def forget(found: dict[str, Any], _: Any) -> None:
        del found["fleet-loss-orders"]["recoveryMinutes"]

    assert verify_with(stack_plans["prod"], forget) == [
        "judgement 'fleet-loss-orders': no recoveryMinutes (got None): nothing to hold the recovery to"
    ]


def test_probes_read_the_rules_of_their_own_region(stack_plans) -> None:
    plan = stack_plans["prod"]
    function = the(plan, FUNCTION, "ap-southeast-1")
    # Without the primary's rule namespace its CPU and pod probes read nothing, though the other
    # regions record the same series.
    bare = dataclasses.replace(
        plan,
        resources=[
            r
            for r in plan.resources
            if not (r.type == "aws:amp/ruleGroupNamespace:RuleGroupNamespace" and r.region == "ap-southeast-1")
        ],
    )
    messages = [i.message for i in drill_results.check(Context(bare, AS_OF)) if i.urn == function.urn]
    assert messages and all("neither docs/metrics.md nor a recording rule defines" in m for m in messages)


def test_a_group_named_explicitly_is_matched_by_its_name() -> None:
    group = Resource("urn:g", "aws:autoscaling/group:Group", "apse1-orders-asg", True, None, None, "x", False, [], {})
    assert drill_results._names(group, "apse1-orders-asg-0a1b2c3")
    assert not drill_results._names(group, "apse1-orders-asg-0a1b2c3x")
    named = dataclasses.replace(group, inputs={"name": "orders-fleet"})
    assert drill_results._names(named, "orders-fleet") and not drill_results._names(named, "apse1-orders-asg-0a1b2c3")


def test_a_group_that_does_not_enable_the_metric_is_refused(stack_plans) -> None:
    plan = stack_plans["prod"]
    function = the(plan, FUNCTION, "ap-southeast-1")
    group = next(g for g in in_region(plan, "aws:autoscaling/group:Group", "ap-southeast-1") if "orders" in g.name)
    quiet = dataclasses.replace(
        group,
        inputs={
            **group.inputs,
            "enabledMetrics": [m for m in group.inputs["enabledMetrics"] if m != "GroupInServiceInstances"],
        },
    )
    edited = dataclasses.replace(plan, resources=[quiet if r.urn == group.urn else r for r in plan.resources])
    messages = [i.message for i in drill_results.check(Context(edited, AS_OF)) if i.urn == function.urn]
    assert messages and all("does not enable it (enabledMetrics)" in m for m in messages)
    # fleet-loss-orders and the zone outage read it.
    assert len(messages) == 2


def test_a_probe_that_does_not_parse_is_refused(stack_plans) -> None:
    def broken(found: dict[str, Any], _: Any) -> None:
        found["cpu-storm-orders"]["probes"][0]["query"] = "courier:fleet_cpu_busy:ratio{service="

    assert any("does not parse" in m for m in verify_with(stack_plans["prod"], broken))


def test_a_template_without_a_judgement_is_refused(stack_plans) -> None:
    def forget(found: dict[str, Any], _: Any) -> None:
        del found["zone-outage"]

    assert verify_with(stack_plans["prod"], forget) == [
        "drill 'zone-outage' has a template but no judgement: nothing would publish its result"
    ]


def test_a_judgement_that_disagrees_with_its_hypothesis_is_refused(stack_plans) -> None:
    def drift(found: dict[str, Any], _: Any) -> None:
        found["fleet-loss-orders"]["recoveryMinutes"] += 1
        found["fleet-loss-orders"]["probes"][0]["op"] = ">"
        found["ghost"] = {"recoveryMinutes": 1, "probes": []}

    messages = verify_with(stack_plans["prod"], drift)
    assert "judgement 'ghost' names no experiment template of the region" in messages
    assert any(m.startswith("judgement 'fleet-loss-orders': recovery") for m in messages)
    assert any("probe op '>'" in m for m in messages)


def test_a_runtime_lambda_does_not_have_is_refused(stack_plans) -> None:
    def old(_: Any, inputs: dict[str, Any]) -> None:
        inputs["runtime"] = "python3.14-preview"

    assert verify_with(stack_plans["prod"], old) == ["'python3.14-preview' is not a Lambda runtime"]


def test_an_archive_that_is_not_the_projects_handler_is_refused(stack_plans) -> None:
    def stale(_: Any, inputs: dict[str, Any]) -> None:
        inputs["code"]["assets"][results.FUNCTION_SOURCE.name]["sha256"] = "0" * 64

    (message,) = verify_with(stack_plans["prod"], stale)
    assert "is not components/aws/drills/results_function.py as it is" in message


def test_the_verification_runs_the_rule() -> None:
    from courier.verify import RULES

    assert "drill-results-function" in {r.name for r in RULES}


# -- the handler, loaded from the archive the prod plan ships ------------------------------------


def shipped_archive(plan: Any, region: str) -> dict[str, Any]:
    (function,) = [f for f in plan.of_type("aws:lambda/function:Function") if f.region == region]
    return function.inputs["code"]["assets"]


def test_the_shipped_handler_judges_with_the_shipped_judgements(stack_plans, tmp_path: Path, monkeypatch) -> None:
    assets = shipped_archive(stack_plans["prod"], "ap-southeast-1")
    root = Path(__file__).resolve().parents[2]
    shutil.copy(root / assets["results_function.py"]["path"], tmp_path / "results_function.py")
    (tmp_path / results.JUDGEMENTS_FILE).write_text(assets[results.JUDGEMENTS_FILE]["text"])
    spec = importlib.util.spec_from_file_location("shipped_results_function", tmp_path / "results_function.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)

    fis, cloudwatch = clients()
    published: list[dict[str, Any]] = []
    with Stubber(fis) as fis_stub, Stubber(cloudwatch) as cw_stub:
        expect_experiment(fis_stub, {"stack": "prod", "drill": "fleet-loss-orders"})
        # Auto Scaling's count: 9 in service all along (recovered at once).
        cw_stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {
                        "Id": "probe",
                        "Timestamps": [datetime.fromtimestamp(T0 + 60 * i, UTC) for i in range(-1, 30)],
                        "Values": [9.0] * 31,
                    }
                ]
            },
            None,
        )
        cw_stub.add_response("put_metric_data", {}, None)
        cloudwatch.meta.events.register(
            "provide-client-params.cloudwatch.PutMetricData", lambda params, **_: published.append(params)
        )

        class Session:
            def create_client(self, service: str, region_name: str) -> Any:
                assert region_name == "ap-southeast-1"
                return {"fis": fis, "cloudwatch": cloudwatch}[service]

            def get_credentials(self) -> Credentials:
                return Credentials("AKIDEXAMPLE", "secret")

        monkeypatch.setattr(botocore.session, "get_session", Session)
        monkeypatch.setattr(module, "_prometheus", lambda *_: Prometheus([]))
        monkeypatch.setenv("AWS_REGION", "ap-southeast-1")
        monkeypatch.setenv("STACK", "prod")
        monkeypatch.setenv("PROMETHEUS_URL", "https://example.invalid/workspaces/ws/")
        event = {"Records": [{"messageId": "m-1", "body": json.dumps(state_change("completed"))}]}
        assert module.handler(event, None) == {"batchItemFailures": []}
        # A message it cannot judge goes back for a retry (and to the dead letters after five).
        broken = {"Records": [{"messageId": "m-2", "body": "not json"}]}
        assert module.handler(broken, None) == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    (params,) = published
    assert params["Namespace"] == DRILL_NAMESPACE
    assert [(m["MetricName"], m["Value"]) for m in params["MetricData"]] == [
        ("DrillPassed", 1.0),
        ("RecoverySeconds", 0.0),
    ]


def test_a_result_lost_to_the_dead_letters_pages_the_tech_expert(stack_plans) -> None:
    plan = stack_plans["prod"]
    topics = {t.urn: t for t in plan.of_type("aws:sns/topic:Topic")}
    codes = {r["name"]: r["code"] for r in plan.outputs["dr"]["regions"]}
    for region in drill_regions(plan):
        dead = the(plan, QUEUE, region, "-drill-results-dead")
        (alarm,) = [
            a
            for a in in_region(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", region)
            if dead.urn in a.property_dependencies.get("dimensions", [])
        ]
        inputs = alarm.inputs
        assert (inputs["namespace"], inputs["metricName"], inputs["statistic"]) == (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
        )
        # One message is one lost result; no data (an idle queue) is none.
        assert (inputs["comparisonOperator"], inputs["threshold"]) == ("GreaterThanThreshold", 0)
        assert inputs["treatMissingData"] == "notBreaching"
        assert inputs["tags"]["severity"] == "warning"
        assert inputs["alarmDescription"].endswith(f"/docs/runbooks/{results.DEAD_LETTER_RUNBOOK}.md")
        notified = {topics[u].name for u in alarm.property_dependencies["alarmActions"]}
        assert notified == {f"{codes[region]}-tech-expert"}, notified
        assert alarm.property_dependencies["okActions"] == alarm.property_dependencies["alarmActions"]
