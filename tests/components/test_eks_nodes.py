"""EKS nodes change only when the config says so: a pinned AMI release, or a plan warning."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from components import planning
from components.aws.eks import EksCluster, EksClusterArgs


def cluster(release: str | None):
    def program() -> None:
        provider = aws.Provider("aws-apse1", region="ap-southeast-1")
        EksCluster(
            "apse1",
            EksClusterArgs(
                cluster_name="courier-prod-apse1",
                region="ap-southeast-1",
                version="1.34",
                private_subnet_ids=["subnet-a", "subnet-b"],
                node_instance_types=["m6i.xlarge"],
                nodes=planning.Capacity(2, 2, 6),
                node_image_release=release,
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return program


@pytest.mark.parametrize("release", ["1.34.2-20251120", None])
def test_the_node_ami_is_pinned_or_the_plan_says_it_floats(run_components, release: str | None) -> None:
    plan = run_components(cluster(release))
    (nodes,) = plan.of_type("aws:eks/nodeGroup:NodeGroup")
    assert nodes.inputs.get("releaseVersion") == release
    floating = [d["message"] for d in plan.diagnostics if "node AMI is not pinned" in d["message"]]
    assert floating == (
        []
        if release
        else [
            "courier-prod-apse1: the node AMI is not pinned (regions[].kubernetes.nodeImageRelease): nodes take "
            "EKS's latest release whenever the node group changes"
        ]
    )
