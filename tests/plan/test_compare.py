"""python -m courier plan STACK --compare BASE: what changes against a base Plan (a JSON file or a
git ref), protected deletions failing the plan, bad bases refused in one line.

The diff is tested on the shared plans (tests/conftest.py) against bases made by editing a copy
of their JSON; the CLI runs the dev plan for the exit codes, and one test plans a git ref.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from courier import cli, compare
from tests.conftest import AS_OF, ROOT

AT = AS_OF.isoformat()


@pytest.fixture(scope="module")
def prod_json(stack_plans) -> dict[str, Any]:
    return stack_plans["prod"].to_json()


def resource(document: dict[str, Any], resource_type: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in document["resources"] if r["type"] == resource_type and r["name"] == name]
    return found


def of_type(document: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in document["resources"] if r["type"] == resource_type]


def names(entries: list[compare.Entry]) -> set[str]:
    return {e.name for e in entries}


def renamed_region(document: dict[str, Any], old: str, new: str, old_code: str, new_code: str) -> dict[str, Any]:
    """The plan as it was before a config change renamed region ``old`` to ``new``."""
    text = json.dumps(document).replace(new, old).replace(new_code, old_code)
    return json.loads(text)


# -- the diff of two Plans --------------------------------------------------------------------


def test_a_plan_compared_with_itself_changes_nothing(stack_plans, prod_json) -> None:
    changes = compare.diff(prod_json, stack_plans["prod"])
    assert changes.empty() and not changes.protected()
    assert changes.unchanged == sum(1 for r in prod_json["resources"] if r["custom"])


def test_a_urn_only_in_the_plan_is_created_and_only_in_the_base_deleted(stack_plans, prod_json) -> None:
    base = copy.deepcopy(prod_json)
    alarm = of_type(base, "aws:cloudwatch/metricAlarm:MetricAlarm")[0]
    base["resources"].remove(alarm)
    retired = copy.deepcopy(of_type(base, "aws:sns/topic:Topic")[0])
    retired.update(urn=retired["urn"] + "-retired", name=retired["name"] + "-retired")
    base["resources"].append(retired)

    changes = compare.diff(base, stack_plans["prod"])

    assert [(e.urn, e.region) for e in changes.created] == [(alarm["urn"], alarm["region"])]
    assert [e.urn for e in changes.deleted] == [retired["urn"]]
    assert not (changes.updated or changes.replaced or changes.moved or changes.protected())


def test_an_update_names_the_input_paths_that_changed(stack_plans, prod_json) -> None:
    base = copy.deepcopy(prod_json)
    group = of_type(base, "aws:autoscaling/group:Group")[0]
    group["inputs"]["maxSize"] = 3
    replication = of_type(base, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")[0]
    replication["inputs"]["rules"][0]["destination"]["bucket"] = "arn:aws:s3:::elsewhere"
    # A JSON document in a string (an IAM policy) is compared by its own paths.
    role_policy = of_type(base, "aws:iam/rolePolicy:RolePolicy")[0]
    policy = json.loads(role_policy["inputs"]["policy"])
    policy["Statement"][0]["Effect"] = "Deny"
    role_policy["inputs"]["policy"] = json.dumps(policy)

    changes = compare.diff(base, stack_plans["prod"])

    by_name = {e.name: e for e in changes.updated}
    assert set(by_name) == {group["name"], replication["name"], role_policy["name"]}
    assert not (changes.created or changes.deleted or changes.replaced)
    head_max = stack_plans["prod"].by_urn(group["urn"]).inputs["maxSize"]
    assert [c.to_json() for c in by_name[group["name"]].changes] == [{"path": "maxSize", "from": 3, "to": head_max}]
    assert [c.path for c in by_name[replication["name"]].changes] == ["rules[0].destination.bucket"]
    assert [c.text() for c in by_name[role_policy["name"]].changes] == ["policy.Statement[0].Effect: Deny → Allow"]


def test_a_replace_forcing_input_replaces_the_resource_and_what_is_built_on_it(stack_plans, prod_json) -> None:
    base = copy.deepcopy(prod_json)
    vpc = resource(base, "aws:ec2/vpc:Vpc", "apne1-vpc")
    vpc["inputs"]["cidrBlock"] = "10.21.0.0/16"

    changes = compare.diff(base, stack_plans["prod"])

    replaced = {e.name: e for e in changes.replaced}
    assert replaced["apne1-vpc"].reasons == ["cidrBlock: 10.21.0.0/16 → 10.20.0.0/16"]
    # Its subnets, security groups and target groups take its (new) ID on a ForceNew input...
    subnets = {r["name"] for r in of_type(prod_json, "aws:ec2/subnet:Subnet") if r["name"].startswith("apne1-")}
    assert subnets and subnets <= set(replaced)
    assert replaced["apne1-private-a"].reasons == ["vpcId from replaced apne1-vpc"]
    assert "apne1-orders" in replaced and replaced["apne1-orders"].type == "aws:lb/targetGroup:TargetGroup"
    # ...and the node group its subnets; nothing outside the region, nothing merely updated.
    assert replaced["apne1-nodes"].reasons == ["subnetIds from replaced apne1-private-a"]
    assert {e.region for e in changes.replaced} == {"ap-northeast-1"}
    assert not changes.updated and not changes.protected()


def test_an_elasticache_engine_version_replaces_only_when_it_goes_down(stack_plans, prod_json) -> None:
    (group,) = [
        r
        for r in of_type(prod_json, "aws:elasticache/replicationGroup:ReplicationGroup")
        if r["inputs"].get("engineVersion")
    ]
    current = group["inputs"]["engineVersion"]
    for base_version, section in (("99.0", "replace"), ("1.0", "update")):
        base = copy.deepcopy(prod_json)
        resource(base, group["type"], group["name"])["inputs"]["engineVersion"] = base_version
        changes = compare.diff(base, stack_plans["prod"]).sections()
        assert [(e.name, e.changes[0].text()) for e in changes[section]] == [
            (group["name"], f"engineVersion: {base_version} → {current}")
        ], section


def test_a_provider_move_replaces_the_resource(stack_plans, prod_json) -> None:
    """Route 53 moved from the primary's provider to the global one: the same URNs, another provider."""
    base = copy.deepcopy(prod_json)
    primary = resource(base, "pulumi:providers:aws", "aws-apse1")
    global_ = [r for r in base["resources"] if r["provider"] and r["provider"].endswith("::aws-global")]
    assert global_
    for moved in global_:
        moved.update(provider=primary["urn"], region="ap-southeast-1")

    changes = compare.diff(base, stack_plans["prod"])

    assert {e.urn for e in changes.moved} == {r["urn"] for r in global_}
    assert {tuple(e.reasons) for e in changes.moved} == {
        ("provider aws-apse1 → aws-global; region ap-southeast-1 → us-east-1",)
    }
    assert not (changes.created or changes.deleted or changes.updated or changes.replaced)
    assert compare.headline(changes).startswith(f"0 to create, 0 to delete, 0 to replace, {len(global_)} to move")


def test_renaming_a_region_deletes_and_creates_it_and_flags_its_protected_buckets(stack_plans, prod_json) -> None:
    """The README's region move: ap-northeast-3 in the base becomes ap-northeast-2 in the plan."""
    base = renamed_region(prod_json, "ap-northeast-3", "ap-northeast-2", "apne3", "apne2")

    changes = compare.diff(base, stack_plans["prod"], "main")

    in_region = [r for r in prod_json["resources"] if r["region"] == "ap-northeast-2"]
    assert len(changes.created) == len(changes.deleted) >= len(in_region)
    assert {e.region for e in changes.deleted} >= {"ap-northeast-3"}
    assert "ap-northeast-3" not in {e.region for e in changes.created}
    protected = {(e.type, e.name): (section, e.protection) for section, e in changes.protected()}
    for bucket in ("apne3-alb-logs", "apne3-media"):
        assert protected[("aws:s3/bucket:Bucket", bucket)] == ("delete", "protect")
    assert protected[("aws:rds/cluster:Cluster", "apne3-database")] == ("delete", "protect")
    assert protected[("aws:lb/loadBalancer:LoadBalancer", "apne3-alb")] == ("delete", "enableDeletionProtection")
    # The other regions replicate to it: updated in place, their paths named.
    updated = {e.name: [c.path for c in e.changes] for e in changes.updated}
    assert "rules[1].destination.bucket" in updated["courier-apse1-media-replication"]

    document = changes.to_json()
    assert document["summary"]["byRegion"]["ap-northeast-3"]["delete"] == len(in_region)
    assert document["summary"]["protected"] == len(document["protectedDeletes"]) == len(protected)


def test_the_output_counts_first_lists_every_protected_deletion_and_caps_the_details(stack_plans, prod_json) -> None:
    base = renamed_region(prod_json, "ap-northeast-3", "ap-northeast-2", "apne3", "apne2")
    changes = compare.diff(base, stack_plans["prod"], "main (0123456789ab)")
    console = Console(record=True, width=200)

    compare.render(console, changes)

    text = console.export_text()
    assert text.index("By region") < text.index("By type") < text.index("Created (")
    assert "PROTECTED:" in text and text.index("PROTECTED:") < text.index("By region")
    for _, entry in changes.protected():
        assert f"{entry.name}  {entry.region}  [{entry.protection}]" in text
    assert f"…and {len(changes.created) - compare.DETAIL_LIMIT} more" in text

    markdown = compare.markdown(changes)
    assert markdown.startswith("### Changes against `main (0123456789ab)`: ❌ blocked")
    assert "> [!CAUTION]" in markdown and "**apne3-media** in ap-northeast-3 (protect)" in markdown
    assert markdown.index("| Region |") < markdown.index("<details><summary>Created")
    assert "⚠️ allowed" in compare.markdown(changes, allow_protected=True)


# -- the CLI ----------------------------------------------------------------------------------


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["plan", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def dev_base_with_a_retired_bucket(stack_plans, tmp_path_factory) -> tuple[Path, str]:
    """dev's plan as if it also had a (protected) bucket the plan no longer declares."""
    base = stack_plans["dev"].to_json()
    (bucket,) = [r for r in of_type(base, "aws:s3/bucket:Bucket") if r["protect"]][:1]
    retired = copy.deepcopy(bucket)
    retired.update(urn=bucket["urn"] + "-retired", name=bucket["name"] + "-retired")
    base["resources"].append(retired)
    path = tmp_path_factory.mktemp("base") / "plan.json"
    path.write_text(json.dumps(base), encoding="utf-8")
    return path, retired["name"]


def test_a_protected_deletion_fails_the_plan(capsys, dev_base_with_a_retired_bucket) -> None:
    path, retired = dev_base_with_a_retired_bucket
    code, out, err = run_cli(capsys, "dev", "--at", AT, "--compare", str(path), "--json")
    assert code == 1
    assert f"error: 1 protected resource(s) would be deleted or replaced against {path}: {retired}" in err
    document = json.loads(out)
    assert list(document)[list(document).index("summary") + 1] == "compare"
    summary = document["compare"]["summary"]
    assert (summary["delete"], summary["create"], summary["update"], summary["replace"]) == (1, 0, 0, 0)
    assert [d["name"] for d in document["compare"]["protectedDeletes"]] == [retired]


def test_allow_protected_deletes_passes_and_the_summary_leads_with_the_diff(
    capsys, tmp_path: Path, dev_base_with_a_retired_bucket
) -> None:
    path, retired = dev_base_with_a_retired_bucket
    summary = tmp_path / "summary.md"
    code, out, err = run_cli(
        capsys,
        *("dev", "--at", AT, "--compare", str(path.parent), "--allow-protected-deletes"),
        *("--markdown", str(summary)),
    )
    assert code == 0, err
    assert "allowed" in err and "error" not in err
    assert f"Changes against {path}:" in out and "PROTECTED: 1 protected resource(s)" in out
    markdown = summary.read_text(encoding="utf-8")
    assert markdown.startswith(f"### Changes against `{path}`: ⚠️ allowed")
    assert f"**{retired}**" in markdown and markdown.index("Changes against") < markdown.index("#### Policies")


@pytest.mark.parametrize(
    ("base", "content", "message"),
    [
        ("missing.json", None, "--compare {tmp}/missing.json: no such file"),
        ("broken.json", "{", "--compare {tmp}/broken.json: not valid JSON (line 1: Expecting property name"),
        ("other.json", '{"stack": "dev"}', "--compare {tmp}/other.json: not a Plan JSON"),
        ("prod.json", '{"stack": "prod", "resources": []}', "is a plan of stack 'prod', not 'dev'"),
        ("no-such-ref-9f3c", None, "--compare no-such-ref-9f3c: neither a Plan JSON file nor a commit"),
    ],
)
def test_a_bad_base_exits_2_with_one_line_before_planning(
    capsys, tmp_path: Path, base: str, content: str | None, message: str
) -> None:
    target = tmp_path / base
    if content is not None:
        target.write_text(content, encoding="utf-8")
    code, out, err = run_cli(capsys, "dev", "--compare", str(target) if base.endswith(".json") else base)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and message.format(tmp=tmp_path) in err


# Files whose uncommitted changes make HEAD's plan differ from the working tree's (legitimately).
PROGRAM = ["__main__.py", "Pulumi.yaml", "components", "stacks", "courier/engine.py", "courier/invokes.py"]
PROGRAM += ["courier/plan.py", "courier/stackconfig.py"]


def test_compare_with_head_plans_it_in_a_worktree_and_finds_no_change(capsys) -> None:
    git = shutil.which("git")
    if git is None or subprocess.run([git, "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode:
        pytest.skip("not a git checkout")
    dirty = subprocess.run(
        [git, "status", "--porcelain", "--", *PROGRAM], cwd=ROOT, capture_output=True, text=True
    ).stdout
    if dirty.strip():
        pytest.skip(f"uncommitted changes to the program make HEAD's plan differ: {dirty.split()[-1]}")
    worktrees = subprocess.run([git, "worktree", "list"], cwd=ROOT, capture_output=True, text=True).stdout

    code, out, err = run_cli(capsys, "dev", "--at", AT, "--compare", "HEAD", "--json")

    assert code == 0, err
    changes = json.loads(out)["compare"]
    assert changes["base"].startswith("HEAD (")
    assert {k: v for k, v in changes["summary"].items() if k in compare.SECTIONS} == dict.fromkeys(compare.SECTIONS, 0)
    assert changes["summary"]["unchanged"] > 0
    # The temporary worktree is gone again.
    assert subprocess.run([git, "worktree", "list"], cwd=ROOT, capture_output=True, text=True).stdout == worktrees


def test_the_pull_request_job_compares_with_the_commit_it_merges_into() -> None:
    document = yaml.safe_load((ROOT / ".github" / "workflows" / "pr-review.yml").read_text(encoding="utf-8"))
    job = document["jobs"]["offline-plan"]
    (checkout,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 2
    (plan,) = [s for s in job["steps"] if "courier plan" in str(s.get("run", ""))]
    assert '--compare "$(git rev-parse HEAD^1)"' in plan["run"] and plan["env"]["EVENT"] == "${{ github.event_name }}"
    assert '--markdown "$GITHUB_STEP_SUMMARY"' in plan["run"] and "--allow-protected-deletes" not in plan["run"]
