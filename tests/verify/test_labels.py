"""Tags and labels wherever a value lands."""

from __future__ import annotations

from typing import Any

import pytest

from components.kubernetes.labels import label_key_problem, label_value_problem
from tests.verify.plans import findings, resource


def _where(*resources: Any, rule: str) -> list[str]:
    return [f.property for f in findings(*resources, rule=rule)]


@pytest.mark.parametrize("value", ["", "courier-platform-team", "a", "A.b_c-9", "x" * 63])
def test_valid_label_values(value: str) -> None:
    assert label_value_problem(value) is None


@pytest.mark.parametrize("value", ["courier platform", "Zoë", "-team", "team_", "x" * 64, "a/b"])
def test_rejects_invalid_label_values(value: str) -> None:
    assert label_value_problem(value) is not None


@pytest.mark.parametrize(
    "key", ["app", "app.kubernetes.io/name", "courier/owner", "pod-security.kubernetes.io/enforce"]
)
def test_valid_label_keys(key: str) -> None:
    assert label_key_problem(key) is None


@pytest.mark.parametrize("key", ["", "/name", "Courier.IO/owner", "courier/", "a/b/c", "x" * 64, "bad key"])
def test_rejects_invalid_label_keys(key: str) -> None:
    assert label_key_problem(key) is not None


def _deployment(owner: str) -> Any:
    labels = {"app.kubernetes.io/name": "orders", "courier/owner": owner}
    return resource(
        "kubernetes:apps/v1:Deployment",
        "apne1-orders-deployment",
        {
            "metadata": {"name": "orders", "labels": labels, "annotations": {"pulumi.com/patchForce": "true"}},
            "spec": {
                "selector": {"matchLabels": {"app.kubernetes.io/name": "orders"}},
                "template": {"metadata": {"labels": labels}, "spec": {"nodeSelector": {"courier/pool": "general"}}},
            },
        },
    )


def test_rejects_an_invalid_label_value_in_metadata_and_the_pod_template() -> None:
    rule = "kubernetes-labels"
    assert _where(_deployment("courier-platform-team"), rule=rule) == []
    assert _where(_deployment("Platform Team Zoë"), rule=rule) == [
        "metadata.labels.courier/owner",
        "spec.template.metadata.labels.courier/owner",
    ]


def test_checks_service_selectors_match_expressions_and_annotation_keys() -> None:
    rule = "kubernetes-labels"
    service = resource(
        "kubernetes:core/v1:Service",
        "svc",
        {"metadata": {"annotations": {"bad key": "any value is fine"}}, "spec": {"selector": {"app": "or ders"}}},
    )
    pdb = resource(
        "kubernetes:policy/v1:PodDisruptionBudget",
        "pdb",
        {"spec": {"selector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a b"]}]}}},
    )
    assert _where(service, pdb, rule=rule) == [
        "metadata.annotations.bad key",
        "spec.selector.app",
        "spec.selector.matchExpressions[0].tier",
    ]


def test_checks_eks_node_group_labels_as_kubernetes_labels() -> None:
    nodes = resource("aws:eks/nodeGroup:NodeGroup", "nodes", {"labels": {"courier/pool": "general pool"}})
    assert _where(nodes, rule="kubernetes-labels") == ["labels.courier/pool"]


def test_rejects_a_deployment_selector_that_does_not_match_its_template() -> None:
    rule = "kubernetes-selector-matches-template"
    deployment = _deployment("team")
    assert _where(deployment, rule=rule) == []
    deployment.inputs["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] = "payments"
    assert _where(deployment, rule=rule) == ["spec.selector.matchLabels"]


def test_rejects_aws_tags_that_break_the_tagging_rules() -> None:
    rule = "aws-tags"
    good = resource("aws:ec2/vpc:Vpc", "vpc", {"tags": {"owner": "Platform Team Zoë", "Name": "apne1-vpc"}})
    assert _where(good, rule=rule) == []
    bad = resource(
        "aws:ec2/vpc:Vpc",
        "vpc",
        {"tags": {"aws:owner": "x", "k" * 129: "x", "note": "v" * 257, "emoji": "🚀"}},
    )
    assert sorted(_where(bad, rule=rule)) == sorted(["tags.aws:owner", f"tags.{'k' * 129}", "tags.note", "tags.emoji"])
    many = resource("aws:ec2/vpc:Vpc", "vpc", {"tags": {f"k{i}": "v" for i in range(51)}})
    assert _where(many, rule=rule) == ["tags"]


def test_checks_auto_scaling_group_tag_lists_and_launch_template_tag_specifications() -> None:
    group = resource(
        "aws:autoscaling/group:Group",
        "asg",
        {"tags": [{"key": "aws:team", "value": "x", "propagateAtLaunch": True}]},
    )
    template = resource(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "lt",
        {"tagSpecifications": [{"resourceType": "instance", "tags": {"owner": "a" * 257}}]},
    )
    assert _where(group, template, rule="aws-tags") == ["tags.aws:team", "tagSpecifications[0].tags.owner"]


def test_rejects_alibaba_tags_that_break_the_tagging_rules() -> None:
    rule = "alicloud-tags"
    good = resource("alicloud:vpc/network:Network", "vpc", {"tags": {"owner": "team"}}, region="cn-hangzhou")
    assert _where(good, rule=rule) == []
    bad = resource(
        "alicloud:vpc/network:Network",
        "vpc",
        {"tags": {"aliyun-owner": "x", "acs:team": "x", "doc": "https://example.com", "note": "v" * 129}},
        region="cn-hangzhou",
    )
    assert sorted(_where(bad, rule=rule)) == ["tags.acs:team", "tags.aliyun-owner", "tags.doc", "tags.note"]
    many = resource("alicloud:vpc/network:Network", "vpc", {"tags": {f"k{i}": "v" for i in range(21)}})
    assert _where(many, rule=rule) == ["tags"]
