"""The pull-request workflow reviews every shipped stack with the same pack and configs."""

from __future__ import annotations

from typing import Any

import yaml

from tests.conftest import ROOT, SHIPPED_STACKS

WORKFLOW = ROOT / ".github" / "workflows" / "pr-review.yml"


def workflow() -> dict[str, Any]:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the bare key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def commands(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_runs_on_every_pull_request_with_read_only_contents() -> None:
    flow = workflow()
    assert "pull_request" in flow["on"]
    assert flow["permissions"] == {"contents": "read"}


def test_tests_job_runs_what_ci_runs() -> None:
    assert "bash .ci/run" in commands(workflow()["jobs"]["tests"])


def test_every_shipped_stack_is_planned_offline_with_its_policy_config_and_uploaded() -> None:
    job = workflow()["jobs"]["offline-plan"]
    assert sorted(job["strategy"]["matrix"]["stack"]) == sorted(SHIPPED_STACKS)
    assert sorted(p.name.split(".")[1] for p in (ROOT / "stacks").glob("Pulumi.*.yaml")) == sorted(SHIPPED_STACKS)
    run = commands(job)
    assert "python -m courier plan" in run
    assert '--policy-config "policies/config/${{ matrix.stack }}.json"' in run
    assert '--markdown "$GITHUB_STEP_SUMMARY"' in run
    (upload,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()" and upload["with"]["path"] == "plan-${{ matrix.stack }}/"
    for stack in SHIPPED_STACKS:
        assert (ROOT / "policies" / "config" / f"{stack}.json").is_file()


def test_cloud_preview_runs_the_pack_only_when_credentials_exist() -> None:
    jobs = workflow()["jobs"]
    preview = jobs["preview"]
    assert preview["needs"] == ["credentials"]
    assert preview["if"] == "needs.credentials.outputs.configured == 'true'"
    assert preview["permissions"]["id-token"] == "write"
    run = commands(preview)
    assert "pulumi preview" in run and "--policy-pack policies" in run
    assert '--policy-pack-config "policies/config/${{ matrix.stack }}.json"' in run
    assert sorted(preview["strategy"]["matrix"]["stack"]) == sorted(SHIPPED_STACKS)
