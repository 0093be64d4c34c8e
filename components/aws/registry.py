"""Registry: the stack's Amazon ECR repositories in one AWS region, and in the primary region the
replication that copies every release to the others."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

TYPE = "courier:aws:Registry"

#: Untagged images (orphans of a deleted index, digest-only pushes) are kept this long. Releases
#: are pushed with a tag and the tags are immutable, so nothing a fleet runs is ever untagged;
#: and ECR refuses to delete an image that an image index still references
#: (BatchDeleteImage's ImageReferencedByManifestList).
UNTAGGED_RETENTION_DAYS = 30


@dataclass(frozen=True)
class ContainerImage:
    """One image as an instance pulls it: its repository in the instance's own region."""

    #: ``<account>.dkr.ecr.<region>.amazonaws.com/<repository>``
    repository_url: pulumi.Input[str]
    #: ``@sha256:...`` (pinned) or ``:<tag>``, appended to the repository URL.
    reference: str
    #: What the instance role may pull from.
    repository_arn: pulumi.Input[str]

    @property
    def uri(self) -> pulumi.Output[str]:
        """The full reference a container runtime pulls: the repository URL and the reference."""
        return pulumi.Output.concat(self.repository_url, self.reference)


@dataclass(frozen=True)
class RegistryArgs:
    #: Repository names to create, e.g. ``courier/prod/orders``, ``courier/prod/platform/prometheus``.
    #: The same names in every region, so that replication lands in managed repositories.
    repositories: Sequence[str]
    #: The stack's name prefix, ``courier/<stack>/``: what the primary region replicates.
    prefix: str
    #: Regions to replicate the prefix to (the stack's other AWS regions). Non-empty only in the
    #: primary region: a registry's replication configuration is one per account and region.
    replicate_to: Sequence[str] = ()
    #: Releases are artifacts that running fleets depend on: prod protects the repositories.
    protect: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


class Registry(pulumi.ComponentResource):
    """One private ECR repository per name (immutable tags, scan on push, AES-256 encryption,
    never force-deleted, untagged images expired after UNTAGGED_RETENTION_DAYS) and, when
    ``replicate_to`` is set, the registry's replication configuration: every repository under
    ``prefix`` is copied to those regions of the same account, so CI pushes once, to the primary,
    and each region's instances pull from their own region even when the primary is down."""

    urls: dict[str, pulumi.Output[str]]
    arns: dict[str, pulumi.Output[str]]
    #: The registry's host, ``<account>.dkr.ecr.<region>.amazonaws.com``.
    host: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        for repository in args.repositories:
            if not repository.startswith(args.prefix):
                raise ValueError(f"RegistryArgs.repositories: {repository!r} is outside the prefix {args.prefix!r}")
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        self.urls, self.arns = {}, {}
        for repository in args.repositories:
            key = repository.removeprefix(args.prefix).replace("/", "-")
            ecr = aws.ecr.Repository(
                f"{name}-ecr-{key}",
                name=repository,
                # A tag, once pushed, names that image for good: what was reviewed is what runs.
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                # S3-managed keys: a customer key would put a key policy and KMS request quotas in
                # the path of every pull during a mass scale-out, for images that hold no secrets.
                encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
                force_delete=False,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-ecr-{key}",
                repository=ecr.name,
                policy=lifecycle_policy(),
                opts=child,
            )
            self.urls[repository] = ecr.repository_url
            self.arns[repository] = ecr.arn

        if not self.urls:
            raise ValueError("RegistryArgs.repositories is empty")
        self.host = next(iter(self.urls.values())).apply(lambda url: url.split("/", 1)[0])

        if args.replicate_to:
            identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
            aws.ecr.ReplicationConfiguration(
                f"{name}-ecr-replication",
                replication_configuration=aws.ecr.ReplicationConfigurationReplicationConfigurationArgs(
                    rules=[
                        aws.ecr.ReplicationConfigurationReplicationConfigurationRuleArgs(
                            destinations=[
                                aws.ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs(
                                    region=region, registry_id=identity.account_id
                                )
                                for region in args.replicate_to
                            ],
                            repository_filters=[
                                aws.ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArgs(
                                    filter=args.prefix, filter_type="PREFIX_MATCH"
                                )
                            ],
                        )
                    ]
                ),
                opts=child,
            )
        self.register_outputs({"repositoryUrls": self.urls})

    def image(self, repository: str, reference: str) -> ContainerImage:
        """``repository`` (one of RegistryArgs.repositories) at ``reference`` in this region."""
        if repository not in self.urls:
            raise KeyError(f"{repository!r} is not a repository of this registry: {sorted(self.urls)}")
        return ContainerImage(self.urls[repository], reference, self.arns[repository])


def lifecycle_policy(untagged_days: int = UNTAGGED_RETENTION_DAYS) -> str:
    """Expire untagged images ``untagged_days`` after their push; tagged images are kept (they
    are the releases a rollback or a standby region may still need)."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Expire untagged images {untagged_days} days after push; keep every release",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_days,
                    },
                    "action": {"type": "expire"},
                }
            ]
        },
        sort_keys=True,
    )
