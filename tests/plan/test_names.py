"""Stacks may share an AWS account: names that must be unique per account (and region) carry
the stack, so planning one config as two stacks gives no two resources the same such name."""

from __future__ import annotations

from courier.cli import make_plan
from courier.plan import Plan
from tests.conftest import AS_OF, ROOT, StackPlans

#: Resource type -> the input that names it, for names AWS requires to be unique per account
#: (IAM, S3) or per account and region (the rest).
UNIQUE_NAMES = {
    "aws:kms/alias:Alias": "name",
    "aws:eks/cluster:Cluster": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:ecr/repository:Repository": "name",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:iam/role:Role": "name",
    "aws:autoscaling/group:Group": "name",
    "aws:lb/loadBalancer:LoadBalancer": "name",
    "aws:lb/targetGroup:TargetGroup": "name",
    "aws:ec2/launchTemplate:LaunchTemplate": "name",
    "aws:sns/topic:Topic": "name",
}


def explicit_names(plan: Plan) -> set[tuple[str, str | None, str]]:
    return {
        (r.type, r.region, str(r.inputs[UNIQUE_NAMES[r.type]]))
        for r in plan.resources
        if r.type in UNIQUE_NAMES and UNIQUE_NAMES[r.type] in r.inputs
    }


def test_two_stacks_in_one_account_never_share_a_unique_name(stack_plans: StackPlans) -> None:
    prod = stack_plans["prod"]
    other = make_plan("prod-rehearsal", config_file=ROOT / "stacks" / "Pulumi.prod.yaml", at=AS_OF)
    names = explicit_names(prod)
    # The KMS alias of every region's alert key is explicitly named, as are the EKS clusters.
    assert {t for t, _, _ in names} >= {"aws:kms/alias:Alias", "aws:eks/cluster:Cluster"}
    assert names & explicit_names(other) == set()
