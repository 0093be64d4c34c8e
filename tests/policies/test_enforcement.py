"""Enforcement follows the environment, not the stack's name.

The offline plan takes policies/config/<courier:environment>.json and says so when there is
none; inside the pack, `courier-environment-policy-config` (mandatory whatever the config's
"all" level) refuses resources tagged prod under any other environment's config, so a
`pulumi preview --policy-pack policies` with the wrong config or none is blocked too.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import get_args

import pytest
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE
from rich.console import Console

from components.spec.fields import Environment
from courier import analyze, cli
from courier.plan import Resource
from tests.conftest import AS_OF, ROOT, StackPlans
from tests.policies.harness import mutate, violations

NAME = "courier-environment-policy-config"
PACK = ROOT / "policies"
CONFIGS = PACK / "config"
PROD_REFUSED = "these resources belong to a prod environment but the policy config in force is"


# -- the policy, over the shipped plans ----------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_each_shipped_plan_complies_with_its_own_environment(stack_plans: StackPlans, stack: str) -> None:
    assert violations(NAME, stack_plans[stack].resources, {"environment": stack}) == []


@pytest.mark.parametrize(
    ("configured", "in_force"),
    [("dev", "the one for 'dev'"), ("staging", "the one for 'staging'"), (None, "none (the pack's built-in levels)")],
)
def test_prod_resources_under_another_environments_config_or_none_are_refused(
    stack_plans: StackPlans, configured: str | None, in_force: str
) -> None:
    config = {} if configured is None else {"environment": configured}
    (message,) = violations(NAME, stack_plans["prod"].resources, config)
    assert re.match(r"\d{3,} resource\(s\) \([^)]+, \.\.\.\) are tagged environment=prod: ", message), message
    assert f"{PROD_REFUSED} {in_force}; " in message
    assert message.endswith("run with --policy-pack-config policies/config/prod.json.")


def test_a_stack_without_a_policy_config_is_refused_only_when_it_is_prod(stack_plans: StackPlans) -> None:
    # A new dev stack previewed without a config is advised by the pack's defaults, not blocked.
    assert violations(NAME, stack_plans["dev"].resources, {}) == []


def test_a_config_for_another_environment_is_refused_whichever_way_it_differs(stack_plans: StackPlans) -> None:
    (message,) = violations(NAME, stack_plans["dev"].resources, {"environment": "prod"})
    assert "are tagged environment=dev: these resources belong to environment 'dev'" in message
    assert "the policy config in force is the one for 'prod'" in message
    assert message.endswith("--policy-pack-config policies/config/dev.json.")


# One resource retagged prod in the staging plan (staging has AWS, Alibaba Cloud and EKS), for
# each place an environment is written: AWS tags, Auto Scaling tag lists, Alibaba Cloud tags,
# Kubernetes labels.
def tag_prod(resource: Resource) -> None:
    tags = resource.inputs["tags"]
    if isinstance(tags, list):
        (entry,) = [t for t in tags if t["key"] == "environment"]
        entry["value"] = "prod"
    else:
        tags["environment"] = "prod"


def label_prod(resource: Resource) -> None:
    resource.inputs["metadata"]["labels"]["courier/environment"] = "prod"


@pytest.mark.parametrize(
    ("resource_type", "change"),
    [
        ("aws:ec2/vpc:Vpc", tag_prod),
        ("aws:autoscaling/group:Group", tag_prod),
        ("alicloud:ess/scalingGroup:ScalingGroup", tag_prod),
        ("kubernetes:apps/v1:Deployment", label_prod),
    ],
)
def test_every_way_of_tagging_the_environment_is_read(stack_plans: StackPlans, resource_type: str, change) -> None:
    staging = stack_plans["staging"]
    resources = mutate(staging, resource_type, change)
    (changed,) = [r for r in resources if r.type == resource_type and r not in staging.resources]
    (message,) = violations(NAME, resources, {"environment": "staging"})
    assert message.startswith(f"1 resource(s) ({changed.name}) are tagged environment=prod: {PROD_REFUSED}")


def test_an_environment_tag_unknown_during_preview_is_passed_over(stack_plans: StackPlans) -> None:
    def unknown(resource: Resource) -> None:
        resource.inputs["tags"]["environment"] = UNKNOWN_STRING_VALUE

    resources = mutate(stack_plans["dev"], "aws:ec2/vpc:Vpc", unknown)
    # The other resources' literal tags still tell the environment: no "cannot be verified".
    assert violations(NAME, resources, {"environment": "dev"}) == []
    (message,) = violations(NAME, resources, {"environment": "staging"})
    assert "are tagged environment=dev" in message


# -- the pack as the CLI runs it -----------------------------------------------------------


@pytest.fixture(scope="module")
def info() -> analyzer_pb2.AnalyzerInfo:
    with analyze.running_pack(PACK) as analyzer:
        return analyzer.GetAnalyzerInfo(empty_pb2.Empty())


def test_the_policy_is_mandatory_in_the_pack_and_in_every_config(info: analyzer_pb2.AnalyzerInfo) -> None:
    (described,) = [p for p in info.policies if p.name == NAME]
    assert described.enforcementLevel == analyzer_pb2.EnforcementLevel.MANDATORY
    # A config's "all" overrides every policy's own level (as the Pulumi CLI does), so a config
    # without its own entry for this policy would make it advisory...
    downgraded = analyze.policy_config(info, {"all": "advisory"}, "all.json")[NAME]
    assert downgraded.enforcementLevel == analyzer_pb2.EnforcementLevel.ADVISORY
    # ...and every shipped config names it, mandatory, with the environment it is for.
    configs = sorted(CONFIGS.glob("*.json"))
    assert [c.stem for c in configs] == sorted(get_args(Environment))
    for path in configs:
        resolved = analyze.policy_config(info, analyze.load_config(path), path.name)[NAME]
        assert resolved.enforcementLevel == analyzer_pb2.EnforcementLevel.MANDATORY, path.name
        assert json_format.MessageToDict(resolved.properties) == {"environment": path.stem}, path.name


def test_a_prod_plan_previewed_with_the_dev_config_is_blocked(stack_plans: StackPlans) -> None:
    verdict = analyze.analyze(stack_plans["prod"], PACK, CONFIGS / "dev.json", plan_time=AS_OF)
    mandatory = [v for v in verdict.violations if v["level"] == "mandatory"]
    assert [v["policy"] for v in mandatory] == [NAME], json.dumps(verdict.violations, indent=1)[:2000]
    assert f"{PROD_REFUSED} the one for 'dev'" in mandatory[0]["message"]


# -- the offline CLI chooses the config by environment -------------------------------------


def console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=300, highlight=False), buffer


def test_the_cli_takes_the_environments_config_whatever_the_stack_is_called(stack_plans: StackPlans) -> None:
    err, said = console()
    qa = replace(stack_plans["prod"], stack="qa")
    assert cli.policy_config_file(qa, None, err) == CONFIGS / "prod.json"
    assert said.getvalue() == ""


def test_an_environment_without_a_policy_config_is_said_plainly(stack_plans: StackPlans, tmp_path: Path) -> None:
    err, said = console()
    assert cli.policy_config_file(stack_plans["prod"], None, err, configs=tmp_path) is None
    assert (
        f"note: no policy config for environment 'prod' ({tmp_path / 'prod.json'}): the pack runs at its "
        in said.getvalue()
    )


def test_a_policy_config_override_that_does_not_exist_is_refused(stack_plans: StackPlans, tmp_path: Path) -> None:
    err, _ = console()
    given = tmp_path / "prdo.json"
    with pytest.raises(analyze.PolicyError, match=r"prdo\.json: no such policy config file"):
        cli.policy_config_file(stack_plans["dev"], given, err)
    assert cli.policy_config_file(stack_plans["dev"], CONFIGS / "prod.json", err) == CONFIGS / "prod.json"


def test_a_prod_config_planned_as_another_stack_is_enforced_as_prod(capsys) -> None:
    """Defect 17: `plan qa` of a prod config took policies/config/qa.json (absent: advisory)."""
    fixture = ROOT / "tests" / "fixtures" / "prod-open-ssh.yaml"
    code = cli.main(["plan", "qa", "--config-file", str(fixture), "--at", AS_OF.isoformat()])
    captured = capsys.readouterr()
    assert code == cli.EXIT_VERIFY, captured.out[-3000:] + captured.err
    assert "policy aws-security-group-no-open-ingress: " in captured.out
    assert "no policy config" not in captured.err
