"""Registry: the stack's ECR repositories in every AWS region, replicated from the primary."""

from __future__ import annotations

import base64
import json

import pulumi
import pulumi_aws as aws
import pytest

from components.aws.registry import UNTAGGED_RETENTION_DAYS, Registry, RegistryArgs
from components.environment import CourierEnvironment, CourierEnvironmentArgs
from components.providers import alicloud_providers, aws_providers, global_provider, random_provider
from tests import builders

REPOSITORY = "aws:ecr/repository:Repository"
REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
NAMES = ["courier/prod/orders", "courier/prod/platform/prometheus"]


def declare(replicate_to=(), protect=True, repositories=NAMES):
    def program() -> None:
        provider = aws.Provider("aws-apse1", region="ap-southeast-1")
        registry = Registry(
            "apse1",
            RegistryArgs(
                repositories=repositories,
                prefix="courier/prod/",
                replicate_to=replicate_to,
                protect=protect,
                tags={"environment": "prod", "service": "shared"},
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )
        image = registry.image("courier/prod/orders", "@sha256:" + "0" * 64)
        pulumi.export("url", image.repository_url)

    return program


def test_repositories_hold_immutable_scanned_encrypted_releases(run_components) -> None:
    plan = run_components(declare())
    repositories = {r.inputs["name"]: r for r in plan.of_type(REPOSITORY)}
    assert sorted(repositories) == NAMES
    for repository in repositories.values():
        assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
        assert repository.inputs["forceDelete"] is False
        assert repository.protect is True
        assert repository.region == "ap-southeast-1"
    assert {r.name for r in plan.of_type(REPOSITORY)} == {"apse1-ecr-orders", "apse1-ecr-platform-prometheus"}
    assert plan.outputs["url"] == "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/courier/prod/orders"


def test_only_untagged_images_expire(run_components) -> None:
    plan = run_components(declare())
    policies = plan.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert len(policies) == 2
    for policy in policies:
        (rule,) = json.loads(policy.inputs["policy"])["rules"]
        assert rule["selection"] == {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": UNTAGGED_RETENTION_DAYS,
        }
        assert rule["action"] == {"type": "expire"}
        assert len(policy.inputs["policy"]) >= 100  # ECR's minimum policy length


def test_replicates_the_stacks_prefix_to_the_other_regions(run_components) -> None:
    plan = run_components(declare(replicate_to=["ap-northeast-1", "ap-northeast-2"]))
    (replication,) = plan.of_type(REPLICATION)
    (rule,) = replication.inputs["replicationConfiguration"]["rules"]
    assert rule["destinations"] == [
        {"region": "ap-northeast-1", "registryId": "123456789012"},
        {"region": "ap-northeast-2", "registryId": "123456789012"},
    ]
    assert rule["repositoryFilters"] == [{"filter": "courier/prod/", "filterType": "PREFIX_MATCH"}]
    assert not run_components(declare()).of_type(REPLICATION)


def test_rejects_a_repository_outside_the_prefix(run_components) -> None:
    with pytest.raises(Exception, match="outside the prefix"):
        run_components(declare(repositories=["courier/staging/orders"]))


def three_region_environment() -> None:
    config = builders.valid_config()
    config["regions"].append(builders.region("ap-northeast-2", "secondary", "10.30.0.0/16"))
    spec = builders.spec_of(config, stack="prod")
    CourierEnvironment(
        "courier",
        CourierEnvironmentArgs(
            spec=spec,
            aws_providers=aws_providers(spec),
            global_provider=global_provider(),
            random_provider=random_provider(),
            alicloud_providers=alicloud_providers(spec),
        ),
    )


def test_every_aws_region_has_the_repositories_and_only_the_primary_replicates(run_components) -> None:
    plan = run_components(three_region_environment, stack="prod")
    regions = ("ap-southeast-1", "ap-northeast-1", "ap-northeast-2")
    expected = [
        "courier/prod/orders",
        "courier/prod/payments",
        "courier/prod/platform/node-exporter",
        "courier/prod/platform/prometheus",
    ]
    for region in regions:
        names = sorted(r.inputs["name"] for r in plan.of_type(REPOSITORY) if r.region == region)
        assert names == expected, region
    (replication,) = plan.of_type(REPLICATION)
    assert replication.region == "ap-southeast-1"
    (rule,) = replication.inputs["replicationConfiguration"]["rules"]
    assert sorted(d["region"] for d in rule["destinations"]) == ["ap-northeast-1", "ap-northeast-2"]
    assert rule["repositoryFilters"] == [{"filter": "courier/prod/", "filterType": "PREFIX_MATCH"}]
    # Each region's fleets run their release from their own region's repository.
    templates = plan.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert templates
    for template in templates:
        script = base64.b64decode(template.inputs["userData"]).decode()
        service = template.inputs["tags"]["service"]
        assert f"123456789012.dkr.ecr.{template.region}.amazonaws.com/courier/prod/{service}@sha256:" in script


def test_a_kubernetes_service_on_eks_has_its_repository_in_every_aws_region(run_components) -> None:
    plan = run_components(builders.environment(builders.eks_config(), stack="prod"), stack="prod")
    for region in ("ap-southeast-1", "ap-northeast-1", "ap-northeast-2"):
        # Also where it does not run: replication from the primary lands in a managed repository.
        (repository,) = [
            r
            for r in plan.of_type(REPOSITORY)
            if r.region == region and r.inputs["name"] == "courier/prod/notifications"
        ]
        assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repository.protect is True
        assert repository.name.endswith("-ecr-notifications")
    (replication,) = plan.of_type(REPLICATION)
    (rule,) = replication.inputs["replicationConfiguration"]["rules"]
    assert rule["repositoryFilters"] == [{"filter": "courier/prod/", "filterType": "PREFIX_MATCH"}]


def test_a_stack_whose_account_replication_is_owned_elsewhere_declares_none(run_components) -> None:
    # ECR keeps one replication configuration per account and region, and a put replaces it:
    # two stacks in one account would overwrite each other's. The second one says "external".
    def program() -> None:
        config = builders.valid_config()
        config["registryReplication"] = "external"
        spec = builders.spec_of(config, stack="staging")
        CourierEnvironment(
            "courier",
            CourierEnvironmentArgs(
                spec=spec,
                aws_providers=aws_providers(spec),
                global_provider=global_provider(),
                random_provider=random_provider(),
                alicloud_providers=alicloud_providers(spec),
            ),
        )

    plan = run_components(program, stack="staging")
    assert plan.of_type(REPLICATION) == []
    assert {r.region for r in plan.of_type(REPOSITORY)} == {"ap-southeast-1", "ap-northeast-1"}
