"""python -m courier plan: output, JSON, files, exit codes and clean errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from courier import cli
from courier.engine import ProgramError
from courier.plan import build_plan
from tests.conftest import PROJECT, ROOT


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["plan", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def bad_copy(tmp_path: Path, old: str, new: str, stack: str = "prod") -> Path:
    text = (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    assert old in text
    target = tmp_path / "candidate.yaml"
    target.write_text(text.replace(old, new, 1))
    return target


def test_default_output_is_one_screen_and_the_tree_is_behind_a_flag(capsys) -> None:
    code, out, err = run_cli(capsys, "dev", "--at", "2026-11-25T00:00:00+00:00")
    assert code == 0, err
    assert out.startswith("Plan dev (offline") and "the resource tree: --tree" in out
    assert "└─ " not in out and "courier:aws:Region" not in out
    assert "Capacity (min/desired/max per region):" in out and "Verdicts:" in out
    assert len(out.splitlines()) <= 30
    code, out, err = run_cli(capsys, "dev", "--at", "2026-11-25T00:00:00+00:00", "--tree")
    assert code == 0, err
    assert "Previewing update (dev)" in out
    assert "courier:aws:Region" in out
    assert "└─ " in out
    assert "aws:autoscaling:Group" in out
    assert "to create" in out


def test_json_prints_the_plan(capsys) -> None:
    code, out, _ = run_cli(capsys, "dev", "--json")
    assert code == 0
    plan = json.loads(out)
    assert plan["stack"] == "dev" and plan["project"] == PROJECT
    assert plan["summary"]["resources"] == len(
        [r for r in plan["resources"] if r["custom"] and not r["type"].startswith("pulumi:providers:")]
    )


def test_out_writes_plan_json(capsys, tmp_path: Path) -> None:
    code, _, _ = run_cli(capsys, "dev", "--out", str(tmp_path / "out"))
    assert code == 0
    written = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert written["stack"] == "dev"


def test_config_file_replaces_the_stack_file(capsys, tmp_path: Path) -> None:
    candidate = bad_copy(
        tmp_path, "capacity: {min: 1, desired: 1, max: 3}", "capacity: {min: 1, desired: 2, max: 5}", "dev"
    )
    code, out, _ = run_cli(capsys, "dev", "--config-file", str(candidate), "--json")
    assert code == 0
    sizes = {r["inputs"]["maxSize"] for r in json.loads(out)["resources"] if r["type"] == "aws:autoscaling/group:Group"}
    assert 5 in sizes


def test_invalid_config_exits_2_with_one_line_per_mistake(capsys, tmp_path: Path) -> None:
    candidate = bad_copy(
        tmp_path,
        "cpuTarget: 80, warmupSeconds: 60, healthCheckGraceSeconds: 240}",
        "cpuTarget: 150, warmupSeconds: 60, healthCheckGraceSeconds: 240}",
    )
    text = (
        candidate.read_text().replace("ap-northeast-2c]", "ap-northeast-2z]").replace("courier:owner:", "courier:ownr:")
    )
    candidate.write_text(text)
    code, out, err = run_cli(capsys, "prod", "--config-file", str(candidate))
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert "nothing was planned" in lines[0]
    assert lines[1:] == [
        "  courier:regions[ap-northeast-2].availabilityZones[2]: is not a zone of ap-northeast-2 (got 'ap-northeast-2z'; "
        "known: ap-northeast-2a, ap-northeast-2b, ap-northeast-2c, ap-northeast-2d)",
        "  courier:services[orders].scaling.cpuTarget: must be between 10 and 95 (got 150)",
        "  courier:ownr: unknown config key (allowed: environment, domain, owner, regions, services, promotions, alerting, "
        "hostImages, kubernetesAccess, registryReplication, storm, data, drills); did you mean 'courier:owner'?",
    ]
    assert "Traceback" not in err


def test_malformed_yaml_exits_2_naming_the_line(capsys, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("config:\n  courier:environment: prod\n  courier:regions: [\n")
    code, _, err = run_cli(capsys, "prod", "--config-file", str(broken))
    assert code == 2
    assert f"{broken}: not valid YAML at line 4" in err
    assert "Traceback" not in err


def test_missing_stack_file_exits_2_listing_the_stacks(capsys) -> None:
    code, _, err = run_cli(capsys, "qa")
    assert code == 2
    assert "Pulumi.qa.yaml: no such stack config file (stacks here: dev, prod, staging)" in err


def test_config_that_is_not_a_mapping_exits_2(capsys, tmp_path: Path) -> None:
    odd = tmp_path / "odd.yaml"
    odd.write_text("- just\n- a list\n")
    code, _, err = run_cli(capsys, "prod", "--config-file", str(odd))
    assert code == 2
    assert "must be a mapping with a 'config:' section" in err


def test_structured_key_given_as_text_is_a_config_error(capsys, tmp_path: Path) -> None:
    candidate = tmp_path / "text.yaml"
    candidate.write_text(
        (ROOT / "stacks" / "Pulumi.dev.yaml")
        .read_text()
        .replace("  courier:regions:\n", "  courier:regions: us-east-1\n  courier:unused:\n", 1)
    )
    code, _, err = run_cli(capsys, "dev", "--config-file", str(candidate))
    assert code == 2
    assert "courier:regions: must be a list (got 'us-east-1')" in err


def test_at_decides_which_promotions_are_still_ahead(capsys) -> None:
    code, out, _ = run_cli(capsys, "staging", "--json", "--at", "2027-01-01T00:00:00+00:00")
    assert code == 0
    names = {
        r["inputs"]["scheduledActionName"]
        for r in json.loads(out)["resources"]
        if r["type"] == "aws:autoscaling/schedule:Schedule"
    }
    assert names == {"spring-festival-2027-prewarm", "spring-festival-2027-restore"}


def test_at_without_offset_is_refused(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["plan", "dev", "--at", "2027-01-01T00:00:00"])
    assert exited.value.code == 2
    assert "needs a UTC offset" in capsys.readouterr().err


def test_module_entry_point_runs_without_traceback(tmp_path: Path) -> None:
    candidate = tmp_path / "bad.yaml"
    candidate.write_text(
        (ROOT / "stacks" / "Pulumi.dev.yaml").read_text().replace("environment: dev", "environment: qa")
    )
    result = subprocess.run(
        [sys.executable, "-m", "courier", "plan", "dev", "--config-file", str(candidate)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "courier:environment: must be one of 'dev', 'staging' or 'prod' (got 'qa')" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_invoke_is_a_clear_program_error(run_components) -> None:
    def program() -> None:
        provider = aws.Provider("aws-apse1", region="ap-southeast-1")
        aws.ec2.get_vpc_output(default=True, opts=pulumi.InvokeOutputOptions(provider=provider))

    with pytest.raises(ProgramError, match=r"does not know the invoke 'aws:ec2/getVpc:getVpc'"):
        run_components(program)


def test_a_resource_without_an_explicit_provider_is_refused() -> None:
    from courier.engine import record

    def program() -> None:
        aws.s3.Bucket("stray")

    recording = record(program, project=PROJECT, stack="test")
    with pytest.raises(ProgramError, match="uses the default aws provider"):
        build_plan(PROJECT, "test", recording)


@pytest.mark.tools
def test_out_writes_verified_rule_and_routing_files(capsys, tmp_path: Path) -> None:
    from tests.tools import require_tool

    require_tool("promtool", "Debian package prometheus")
    require_tool("amtool", "Debian package prometheus-alertmanager")
    out = tmp_path / "out"
    code, stdout, _ = run_cli(capsys, "staging", "--out", str(out))
    assert code == 0
    assert (out / "prometheus" / "ap-southeast-1.yaml").read_text().startswith("groups:")
    assert (out / "prometheus" / "ap-northeast-1.yaml").exists()
    assert "route:" in (out / "alertmanager" / "alertmanager.yaml").read_text()
    recorded = json.loads((out / "plan.json").read_text())["artifacts"]
    kinds = {a["path"]: (a["kind"], a["verifiedBy"], a["ok"]) for a in recorded}
    assert kinds["prometheus/ap-southeast-1.yaml"] == ("prometheus-rules", "promtool check rules", True)
    assert kinds["alertmanager/alertmanager.yaml"] == ("alertmanager-config", "amtool check-config", True)
    counted = re.search(r"artifacts +(\d+): (\d+) verified", stdout)
    assert counted and counted.group(1) == counted.group(2) == str(len(recorded))


@pytest.mark.tools
def test_a_failed_verification_makes_the_plan_exit_1(capsys, monkeypatch, tmp_path: Path) -> None:
    from courier import artifacts
    from tests.tools import require_tool

    require_tool("promtool", "Debian package prometheus")
    real_render = artifacts.render

    def with_a_broken_rule(plan):
        broken = artifacts.Rendered(
            "prometheus/broken.yaml",
            "prometheus-rules",
            "groups:\n- name: broken\n  rules:\n  - alert: Broken\n    expr: rate(x[5m]\n",
            ("promtool", ("check", "rules")),
        )
        return [*real_render(plan), broken]

    monkeypatch.setattr(artifacts, "render", with_a_broken_rule)
    code, stdout, _ = run_cli(capsys, "dev", "--out", str(tmp_path / "out"))
    assert code == 1
    assert "prometheus/broken.yaml" in stdout and "FAILED" in stdout


def test_without_the_tools_artifacts_are_written_but_marked_unverified(capsys, monkeypatch, tmp_path: Path) -> None:
    from courier import artifacts

    # Only the artifact verifiers are missing (shellcheck, for the boot scripts, is not), on
    # a laptop: CI=true would make the missing checkers a failure (next test).
    monkeypatch.setattr(artifacts, "_command", lambda tool: None)
    monkeypatch.delenv("CI", raising=False)
    code, stdout, _ = run_cli(capsys, "dev", "--out", str(tmp_path / "out"))
    assert code == 0
    recorded = json.loads((tmp_path / "out" / "plan.json").read_text())["artifacts"]
    assert recorded and all(a["verifiedBy"] is None and a["ok"] for a in recorded)
    assert "not verified" in stdout


def test_secret_receiver_endpoints_stay_secret_in_the_plan(capsys, tmp_path: Path) -> None:
    text = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    text = text.replace(
        "        - {protocol: email, endpoint: dev-alerts@courier.example.com}",
        "        - {protocol: email, endpoint: dev-alerts@courier.example.com}\n"
        "        - protocol: https\n          endpoint:\n            secure: v1:c2VjcmV0LWluY2lkZW50LWtleQ==",
    )
    candidate = tmp_path / "secret.yaml"
    candidate.write_text(text)
    code, out, err = run_cli(capsys, "dev", "--config-file", str(candidate), "--json")
    assert code == 0, err
    assert "c2VjcmV0LWluY2lkZW50LWtleQ" not in out
    subscriptions = {
        r["name"]: r["inputs"]
        for r in json.loads(out)["resources"]
        if r["type"] == "aws:sns/topicSubscription:TopicSubscription"
    }
    assert subscriptions["apse1-tech-expert-1"]["endpoint"] == "[secret]"
    assert subscriptions["apse1-tech-expert-0"]["endpoint"] == "[secret]"  # the whole key is secret


def test_manifests_are_written_per_cluster_and_pass_strict_validation(capsys, tmp_path: Path) -> None:
    import yaml

    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "staging", "--out", str(out))
    assert code == 0, err
    documents = list(yaml.safe_load_all((out / "kubernetes" / "ap-southeast-1.yaml").read_text()))
    kinds = [d["kind"] for d in documents]
    assert kinds[0] == "Namespace"
    assert {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "ServiceMonitor",
        "PrometheusRule",
        "ScaledObject",
    } <= set(kinds)
    # KEDA makes the HPA from the ScaledObject: Pulumi declares none (see docs/decisions.md).
    assert "HorizontalPodAutoscaler" not in kinds
    scaled = next(d for d in documents if d["kind"] == "ScaledObject")
    assert type(scaled["spec"]["maxReplicaCount"]) is int
    recorded = {a["path"]: a for a in json.loads((out / "plan.json").read_text())["artifacts"]}
    manifest = recorded["kubernetes/ap-southeast-1.yaml"]
    assert manifest["ok"] is True
    assert manifest["verifiedBy"] == "kubernetes-validate --strict --quiet -k 1.34.0"


def test_an_invalid_manifest_fails_verification(tmp_path: Path) -> None:
    from courier import artifacts

    broken = artifacts.Rendered(
        "kubernetes/broken.yaml",
        "kubernetes-manifests",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: two, selector: {}, template: {}}\n",
        ("kubernetes-validate", ("--strict", "--quiet", "-k", "1.34.0")),
    )
    (result,) = artifacts.write_and_verify([broken], tmp_path)
    assert result["ok"] is False
    assert "replicas" in result["detail"]


def test_an_existing_cluster_gets_the_workloads_without_an_eks_cluster(capsys, tmp_path: Path) -> None:
    text = (
        (ROOT / "stacks" / "Pulumi.staging.yaml")
        .read_text()
        .replace(
            'kubernetes: {cluster: eks, version: "1.34", nodeInstanceTypes: [m6i.large], '
            "apiAllowedCidrs: [203.0.113.16/28, 198.51.100.32/29]}",
            "kubernetes:\n        cluster: existing\n        kubeconfig:\n          secure: v1:a3ViZWNvbmZpZw==",
        )
        # An existing cluster pulls a full image reference, not the stack's ECR release.
        .replace(
            'artifact: {tag: "2.3.1"}\n      kubernetes: {',
            'kubernetes: {image: "registry.courier.example.com/notifications:2.3.1", ',
        )
    )
    candidate = tmp_path / "existing.yaml"
    candidate.write_text(text)
    code, out, err = run_cli(capsys, "staging", "--config-file", str(candidate), "--json")
    assert code == 0, err
    plan = json.loads(out)
    types = {r["type"] for r in plan["resources"]}
    assert "aws:eks/cluster:Cluster" not in types
    service = next(r for r in plan["resources"] if r["type"] == "kubernetes:core/v1:Service")
    assert service["inputs"]["spec"]["type"] == "ClusterIP"
    deployment = next(r for r in plan["resources"] if r["type"] == "kubernetes:apps/v1:Deployment")
    (container,) = deployment["inputs"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.courier.example.com/notifications:2.3.1"
    provider = next(r for r in plan["resources"] if r["type"] == "pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    charts = {r["inputs"]["chart"] for r in plan["resources"] if r["type"] == "kubernetes:helm.sh/v3:Release"}
    assert charts == {"metrics-server", "keda", "prometheus-operator-crds"}
    # The region's load balancer does not front a service it cannot reach.
    groups = [
        r
        for r in plan["resources"]
        if r["type"] == "aws:lb/targetGroup:TargetGroup" and r["region"] == "ap-southeast-1"
    ]
    assert "notifications" not in {g["inputs"]["tags"]["service"] for g in groups}


def test_in_ci_a_missing_artifact_checker_fails_the_plan(tmp_path: Path, monkeypatch) -> None:
    from courier import artifacts

    monkeypatch.setattr(artifacts, "_command", lambda tool: None)
    monkeypatch.setenv("CI", "true")
    rendered = [
        artifacts.Rendered("prometheus/x.yaml", "prometheus-rules", "groups: []\n", ("promtool", ("check", "rules")))
    ]
    (result,) = artifacts.write_and_verify(rendered, tmp_path)
    assert result["ok"] is False
    assert result["detail"] == "promtool is not installed: not verified (CI=true requires it)"
    monkeypatch.setenv("CI", "false")
    (result,) = artifacts.write_and_verify(rendered, tmp_path)
    assert result["ok"] is True
