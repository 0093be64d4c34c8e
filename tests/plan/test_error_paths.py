"""The error paths the CLI and the pack promise: exit 2 on a program error (a traceback only
with --debug), a policy config that is not JSON, and a policy that raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from courier import cli
from tests.policies.harness import BY_NAME  # noqa: F401  (puts policies/ on sys.path)


def _broken_program(*args, **kwargs):
    raise RuntimeError("component exploded")


def test_a_program_error_exits_2_with_one_line_and_no_traceback(capsys, monkeypatch) -> None:
    monkeypatch.setattr(cli, "make_plan", _broken_program)
    code = cli.main(["plan", "dev"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_INVALID == 2
    assert "the program failed: RuntimeError: component exploded (run with --debug for the traceback)" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback_of_a_program_error(capsys, monkeypatch) -> None:
    monkeypatch.setattr(cli, "make_plan", _broken_program)
    code = cli.main(["plan", "dev", "--debug"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback (most recent call last)" in err and "component exploded" in err
    assert "run with --debug" not in err


def test_a_policy_config_that_is_not_json_exits_2_naming_the_file(capsys, tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text("{'all': 'mandatory',}")
    code = cli.main(["plan", "dev", "--policy-config", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}: not valid JSON" in err


def test_a_policy_that_raises_is_a_violation_at_its_own_level_not_a_pass() -> None:
    from guardrails.common import resource_policy
    from pulumi_policy import ResourceValidationArgs

    @resource_policy("aws-test-broken", "A policy whose check fails.", ["aws:s3/bucket:Bucket"])
    def broken(args, report, config) -> None:
        raise KeyError("bucketPrefix")

    reported: list[str] = []
    args = ResourceValidationArgs("aws:s3/bucket:Bucket", {}, "urn:x", "logs", None, None, {})
    broken.validate(args, lambda message, urn=None: reported.append(message))
    assert reported == ["aws-test-broken could not evaluate logs: KeyError: 'bucketPrefix'"]


@pytest.mark.parametrize("resource_type", ["aws:s3/bucket:Bucket"])
def test_a_policy_ignores_other_types(resource_type: str) -> None:
    from guardrails.common import resource_policy
    from pulumi_policy import ResourceValidationArgs

    @resource_policy("aws-test-other", "A policy on load balancers only.", ["aws:lb/loadBalancer:LoadBalancer"])
    def other(args, report, config) -> None:
        raise AssertionError("must not run")

    reported: list[str] = []
    other.validate(ResourceValidationArgs(resource_type, {}, "urn:x", "logs", None, None, {}), reported.append)
    assert reported == []


def test_a_policy_config_with_a_key_given_twice_exits_2(capsys, tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"all": "mandatory", "aws-lb-deletion-protection": "advisory", "all": "advisory"}')
    code = cli.main(["plan", "dev", "--policy-config", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}: 'all' is given twice; JSON keeps only the last one: keep one" in err
