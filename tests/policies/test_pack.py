"""The pack as the Pulumi CLI runs it: started as a process, spoken to over the analyzer protocol.

The shipped stacks pass with no violation; each config in tests/fixtures/ fails with the
policies its header names; bad policy config is refused; unknown values stay mandatory.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2

from courier import analyze, cli
from courier.cli import make_plan
from courier.plan import Plan
from tests.conftest import AS_OF, ROOT, SHIPPED_STACKS, StackPlans

PACK = ROOT / "policies"
CONFIGS = PACK / "config"
ALL_FIXTURES = sorted((ROOT / "tests" / "fixtures").glob("*.yaml"))
#: A mistake the config check already refuses before any resource is declared (exit 2) says so
#: with a ``# Refused:`` line instead of ``# Expected:`` (the pack is the second line of defence).
REFUSED = [f for f in ALL_FIXTURES if "\n# Refused:" in "\n" + f.read_text(encoding="utf-8")]
FIXTURES = [f for f in ALL_FIXTURES if f not in REFUSED]
#: What the SDK sends for a value that is not known until the resource is created.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
NAME = re.compile(r"^(aws|alicloud|kubernetes|courier)-[a-z0-9]+(-[a-z0-9]+)+$")
#: Mandatory in the pack itself: it checks that the config in force is the environment's own.
MANDATORY_BY_DEFAULT = {"courier-environment-policy-config"}


def expected_policies(fixture: Path) -> set[str]:
    """The policies a fixture's header says it breaks (``# Expected: a, b``)."""
    for line in fixture.read_text(encoding="utf-8").splitlines():
        if line.startswith("# Expected:"):
            return {name.strip(" .") for name in line.removeprefix("# Expected:").split(",")}
    raise AssertionError(f"{fixture.name} has no '# Expected:' line")


@pytest.fixture(scope="module")
def info() -> analyzer_pb2.AnalyzerInfo:
    with analyze.running_pack(PACK) as analyzer:
        return analyzer.GetAnalyzerInfo(empty_pb2.Empty())


def test_pack_starts_like_the_cli_starts_it_and_describes_every_policy(info: analyzer_pb2.AnalyzerInfo) -> None:
    assert info.name == "courier-platform"
    assert len(info.policies) >= 25
    for policy in info.policies:
        assert NAME.match(policy.name), policy.name
        assert policy.description.endswith("."), policy.name
        # Advisory unless a stack's config says otherwise: dev must never be blocked by default.
        default = "MANDATORY" if policy.name in MANDATORY_BY_DEFAULT else "ADVISORY"
        assert policy.enforcementLevel == analyzer_pb2.EnforcementLevel.Value(default), policy.name
    families = {p.name.split("-")[1] for p in info.policies}
    assert {"autoscaling", "ess", "alb", "ec2", "security", "rds", "deployment", "pod", "vpc"} <= families


def test_thresholds_are_configurable_through_each_policys_schema(info: analyzer_pb2.AnalyzerInfo) -> None:
    from google.protobuf import json_format

    schemas = {p.name: json_format.MessageToDict(p.configSchema) for p in info.policies}
    cpu = schemas["aws-autoscaling-group-cpu-target-tracking"]["properties"]["maxCpuTarget"]
    assert cpu["default"] == 80 and cpu["type"] == "number"
    assert schemas["aws-autoscaling-group-multi-az"]["properties"]["minZones"]["default"] == 2
    assert "service" in schemas["aws-resource-required-tags"]["properties"]["requiredTags"]["default"]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_shipped_stack_passes_its_own_policy_config(stack_plans: StackPlans, stack: str) -> None:
    verdict = analyze.analyze(stack_plans[stack], PACK, CONFIGS / f"{stack}.json", plan_time=AS_OF)
    assert verdict.pack == "courier-platform@1.3.0"
    assert verdict.violations == []


@pytest.mark.parametrize("fixture", REFUSED, ids=[f.stem for f in REFUSED])
def test_a_mistake_the_config_check_refuses_never_reaches_the_program(fixture: Path) -> None:
    from components.spec.errors import SpecError

    (expected,) = [
        line.removeprefix("# Refused:").strip()
        for line in fixture.read_text(encoding="utf-8").splitlines()
        if line.startswith("# Refused:")
    ]
    with pytest.raises(SpecError) as refused:
        make_plan("prod", config_file=fixture, at=AS_OF)
    assert expected in str(refused.value), str(refused.value)


def test_there_is_a_deliberate_mistake_per_family_a_stack_config_can_make() -> None:
    named = " ".join(f.read_text(encoding="utf-8").split("\n", 3)[1] for f in ALL_FIXTURES)
    for family in ("aws-security-group-no-open-ingress", "alicloud-vpc-nat-per-zone", "apiAllowedCidrs", "instances"):
        assert family in named, family


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_each_deliberate_mistake_fails_with_the_policies_it_names(fixture: Path) -> None:
    plan = make_plan("prod", config_file=fixture, at=AS_OF)
    verdict = analyze.analyze(plan, PACK, CONFIGS / "prod.json", plan_time=AS_OF)
    failed = {v["policy"] for v in verdict.violations if v["level"] == "mandatory"}
    assert failed == expected_policies(fixture), json.dumps(verdict.violations, indent=1)[:3000]
    for violation in verdict.violations:
        assert violation["message"] and violation["urn"].startswith("urn:pulumi:prod::courier-platform::")


def test_the_same_mistake_only_advises_in_dev(tmp_path: Path) -> None:
    text = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    default = "scaling: {warmupSeconds: 180}"
    assert default in text
    candidate = tmp_path / "dev.yaml"
    candidate.write_text(text.replace(default, "scaling: {cpuTarget: 90, warmupSeconds: 180}", 1))
    verdict = analyze.analyze(
        make_plan("dev", config_file=candidate, at=AS_OF), PACK, CONFIGS / "dev.json", plan_time=AS_OF
    )
    assert {v["policy"] for v in verdict.violations} == {"aws-autoscaling-group-cpu-target-tracking"}
    assert {v["level"] for v in verdict.violations} == {"advisory"}


def test_cli_exits_1_naming_the_policy_and_records_it_in_the_plan(capsys, tmp_path: Path) -> None:
    fixture = ROOT / "tests" / "fixtures" / "prod-open-ssh.yaml"
    summary = tmp_path / "summary.md"
    summary.write_text("earlier steps\n")
    arguments = ["prod", "--config-file", str(fixture), "--at", AS_OF.isoformat(), "--out", str(tmp_path)]
    code = cli.main(["plan", *arguments, "--markdown", str(summary)])
    out = capsys.readouterr().out
    assert code == cli.EXIT_VERIFY
    assert "policy aws-security-group-no-open-ingress: " in out  # under "Needs attention"
    assert "4 mandatory and 0 advisory violation(s)" in out  # one SSH rule per fleet
    recorded = json.loads((tmp_path / "plan.json").read_text())["policies"]
    assert recorded["pack"] == "courier-platform@1.3.0"
    assert len(recorded["violations"]) == 4
    for violation in recorded["violations"]:
        assert violation["policy"] == "aws-security-group-no-open-ingress" and violation["level"] == "mandatory"
        assert "opens port 22 to the internet" in violation["message"] and violation["urn"].endswith("-ssh-0")
    # The job summary a reviewer reads: appended, blocked, one table row per violation.
    markdown = summary.read_text()
    assert markdown.startswith("earlier steps\n### courier-platform · `prod`: ❌ blocked")
    assert markdown.count("| mandatory | `aws-security-group-no-open-ingress` | apse1-") == 4
    assert "| ap-southeast-1 | apse1-orders | c6i.xlarge | 6/9/60 | 80% | yes | double-12-2026 17/60" in markdown


def test_a_single_zone_region_is_refused_before_any_policy_runs(capsys, tmp_path: Path) -> None:
    # ALBs and EKS need subnets in two zones, so one zone cannot be built at all: the config
    # check refuses it (exit 2); the multi-AZ policy covers what the config cannot express.
    text = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text()
    zones = "availabilityZones: [ap-northeast-2a, ap-northeast-2b, ap-northeast-2c]"
    assert zones in text
    candidate = tmp_path / "prod.yaml"
    candidate.write_text(text.replace(zones, "availabilityZones: [ap-northeast-2a]"))
    code = cli.main(["plan", "prod", "--config-file", str(candidate)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_INVALID
    assert "courier:regions[ap-northeast-2].availabilityZones" in err and "at least 2 zones" in err


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"aws-autoscaling-group-cpu-targets": "mandatory"}, "no such policy: aws-autoscaling-group-cpu-targets"),
        ({"aws-ec2-instance-imdsv2": "blocking"}, "enforcement level must be one of advisory, mandatory"),
        ({"all": {"enforcementLevel": "strict"}}, "enforcement level must be one of advisory, mandatory"),
        ({"aws-ec2-instance-imdsv2": 1}, "aws-ec2-instance-imdsv2: must be an enforcement level or an object"),
        (
            {"aws-autoscaling-group-cpu-target-tracking": {"maxCpuTarget": "eighty"}},
            "aws-autoscaling-group-cpu-target-tracking: 'eighty' is not of type 'number'",
        ),
        (
            {"aws-autoscaling-group-multi-az": {"minZone": 3}},
            "aws-autoscaling-group-multi-az: Additional properties are not allowed ('minZone' was unexpected)",
        ),
    ],
)
def test_bad_policy_config_is_refused_with_exit_2(capsys, tmp_path: Path, config: dict, expected: str) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(config))
    code = cli.main(["plan", "dev", "--policy-config", str(path)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_INVALID
    assert str(path) in err and expected in err, err


def test_unknown_values_during_preview_stay_mandatory(stack_plans: StackPlans) -> None:
    """A value computed at deploy time must not turn a mandatory policy into an advisory one."""
    plan: Plan = stack_plans["prod"]
    # A resource policy (the Analyze call judges one resource): the load balancer's own flag.
    template = next(r for r in plan.resources if r.type == "aws:lb/loadBalancer:LoadBalancer")
    inputs = json.loads(json.dumps(template.inputs))
    inputs["dropInvalidHeaderFields"] = UNKNOWN
    with analyze.running_pack(PACK) as analyzer:
        info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
        config = analyze.policy_config(info, analyze.load_config(CONFIGS / "prod.json"), "prod.json")
        analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=config))
        response = analyzer.Analyze(
            analyzer_pb2.AnalyzeRequest(
                type=template.type, properties=analyze._struct(inputs), urn=template.urn, name=template.name
            )
        )
    (diagnostic,) = [d for d in response.diagnostics if d.policyName == "aws-alb-drop-invalid-headers"]
    assert diagnostic.enforcementLevel == analyzer_pb2.EnforcementLevel.MANDATORY
    assert "cannot be verified during preview" in diagnostic.message


def test_a_pack_that_fails_to_start_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.1.0\n")
    (tmp_path / "__main__.py").write_text("raise RuntimeError('policy module is broken')\n")
    with pytest.raises(analyze.PolicyError) as raised, analyze.running_pack(tmp_path, timeout=30):
        pass
    assert f"the policy pack in {tmp_path} did not start" in str(raised.value)
    assert "policy module is broken" in str(raised.value)
