"""AlicloudRegistry: the stack's Container Registry Enterprise Edition instance in one Alibaba
Cloud region, its private repositories, and its endpoint inside the region's VPC.

Enterprise Edition, not Personal Edition (docs/decisions.md): Personal Edition instances created
after 2024-09-08 cannot issue the temporary passwords that let an instance pull with its RAM
role instead of a stored password (ACK documentation, aliyun-acr-credential-helper:
"supports only ACR Enterprise Edition instances and ACR Personal Edition instances created on or
before September 8, 2024"), and terraform-provider-alicloud
v1.276.0 deprecated its resources (alicloud_cr_namespace, alicloud_cr_repo) in favour of the
Enterprise Edition ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_alicloud as ali

TYPE = "courier:alicloud:Registry"

#: The smallest Enterprise Edition: what delivery needs is a private registry inside the VPC that
#: issues RAM-scoped temporary passwords. Advanced adds image acceleration (API reference,
#: CreateArtifactBuildRule: Advanced Edition only). Fixed at creation: the provider's
#: ``instance_type`` "only applies during resource creation" (upgrades happen in the console).
EDITION = "Basic"
#: A subscription renewed automatically every month: an expired instance stops serving pulls, and
#: a scale-out then fails everywhere in the region.
SUBSCRIPTION_MONTHS = 1

#: CreateInstance (API reference, Container Registry): "3 to 30 characters in length and can
#: contain lowercase letters, digits, and hyphens (-). The name cannot start or end with a hyphen."
_INSTANCE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,28}[a-z0-9]")
#: alicloud_cr_ee_namespace: "lowercase letters, digits, underscores (_), hyphens (-), and periods
#: (.). It cannot start or end with a delimiter"; alicloud_cr_ee_repo: namespaces of 2 to 30.
_NAMESPACE = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,28}[a-z0-9])?")
#: alicloud_cr_ee_repo: repository names of 2 to 64 characters, in the same alphabet.
_REPOSITORY = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?")


#: node_exporter's repository beside the services' (components.monitoring.scrape), the copy the
#: release pipeline makes of the upstream image (tools/mirror_images.py).
NODE_EXPORTER_REPOSITORY = "platform-node-exporter"


def vpc_endpoint(instance_name: str, region: str) -> str:
    """The registry's domain inside a linked VPC (API reference, RouteItem:
    ``test-instance-registry-vpc.cn-hangzhou.cr.aliyuncs.com``), resolved by the PrivateZone
    record the VPC link creates."""
    return f"{instance_name}-registry-vpc.{region}.cr.aliyuncs.com"


@dataclass(frozen=True)
class AlicloudImage:
    """One image as an instance pulls it: from the registry in its own region."""

    #: ``<instance>-registry-vpc.<region>.cr.aliyuncs.com``, known once the VPC is linked.
    registry: pulumi.Input[str]
    #: ``cri-...``: the instance that issues temporary passwords.
    instance_id: pulumi.Input[str]
    namespace: str
    #: Known once the repository exists.
    repository: pulumi.Input[str]
    #: ``@sha256:...`` (pinned) or ``:<tag>``.
    reference: str
    region: str


@dataclass(frozen=True)
class AlicloudRegistryArgs:
    #: The instance's name, which is also the start of its domain: unique in the region across
    #: Alibaba Cloud (include something of the organisation's own, as log projects do).
    instance_name: str
    region: str
    #: One namespace per stack, e.g. ``courier-prod``: the stacks never share a repository.
    namespace: str
    #: One private repository per VM service of the region, named after the service.
    repositories: Sequence[str]
    vpc_id: pulumi.Input[str]
    #: Where the registry's VPC endpoint takes its private address.
    vswitch_id: pulumi.Input[str]
    #: Enterprise Edition instance type (Basic, Standard, Advanced).
    edition: str = EDITION
    subscription_months: int = SUBSCRIPTION_MONTHS
    #: Releases are artifacts that running fleets depend on, and destroying the instance refunds
    #: it and releases it at once with every image (the provider's delete calls RefundInstance
    #: with ImmediatelyRelease): prod protects the instance, the namespace and the repositories.
    protect: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


class AlicloudRegistry(pulumi.ComponentResource):
    """A Container Registry Enterprise Edition instance (subscription, renewed monthly), one
    private namespace without automatic repository creation, one private
    repository per name with immutable tags, and the instance's endpoint in the region's VPC
    with its PrivateZone record. The internet endpoint is not managed here: CI pushes from
    inside the VPC, or through an internet endpoint whose access list admits CI only
    (``alicloud.cr.InternetEndpoint``), configured outside the stack."""

    instance_id: pulumi.Output[str]
    #: The registry's domain inside the VPC, an output of the VPC link: pulls wait for it.
    endpoint: pulumi.Output[str]
    repositories: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: AlicloudRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        _validate(name, args)
        self._args = args
        keep = pulumi.ResourceOptions(parent=self, protect=args.protect)
        child = pulumi.ResourceOptions(parent=self)

        instance = ali.cr.RegistryEnterpriseInstance(
            f"{name}-registry",
            instance_name=args.instance_name,
            instance_type=args.edition,
            payment_type="Subscription",
            period=args.subscription_months,
            renewal_status="AutoRenewal",
            renew_period=args.subscription_months,
            tags=dict(args.tags),
            opts=keep,
        )
        namespace = ali.cs.RegistryEnterpriseNamespace(
            f"{name}-registry-namespace",
            instance_id=instance.id,
            name=args.namespace,
            # Only the repositories declared here exist: a mistyped push fails instead of
            # creating a repository nobody pulls from.
            auto_create=False,
            default_visibility="PRIVATE",
            opts=keep,
        )
        self.repositories = {}
        for repository in args.repositories:
            repo = ali.cs.RegistryEnterpriseRepo(
                f"{name}-registry-{repository}",
                instance_id=instance.id,
                namespace=namespace.name,
                name=repository,
                repo_type="PRIVATE",
                summary=f"courier {repository} releases",
                # A tag, once pushed, names that image for good: what was reviewed is what runs.
                tag_immutability=True,
                opts=keep,
            )
            self.repositories[repository] = repo.name
        link = ali.cr.VpcEndpointLinkedVpc(
            f"{name}-registry-vpc",
            instance_id=instance.id,
            vpc_id=args.vpc_id,
            vswitch_id=args.vswitch_id,
            module_name="Registry",
            # The PrivateZone record that resolves the -registry-vpc domain inside the VPC.
            enable_create_dns_record_in_pvzt=True,
            opts=child,
        )
        self.instance_id = instance.id
        domain = vpc_endpoint(args.instance_name, args.region)
        self.endpoint = link.id.apply(lambda _: domain)
        self.register_outputs({"instanceId": self.instance_id, "endpoint": self.endpoint})

    def image(self, repository: str, reference: str) -> AlicloudImage:
        """``repository`` (one of AlicloudRegistryArgs.repositories) at ``reference``."""
        if repository not in self.repositories:
            raise KeyError(f"{repository!r} is not a repository of this registry: {sorted(self.repositories)}")
        return AlicloudImage(
            registry=self.endpoint,
            instance_id=self.instance_id,
            namespace=self._args.namespace,
            repository=self.repositories[repository],
            reference=reference,
            region=self._args.region,
        )


def _validate(name: str, args: AlicloudRegistryArgs) -> None:
    checks = [("instance_name", args.instance_name, _INSTANCE_NAME, "3-30 lowercase letters, digits and -")]
    checks.append(("namespace", args.namespace, _NAMESPACE, "2-30 lowercase letters, digits and . _ -"))
    checks += [("repositories", r, _REPOSITORY, "2-64 lowercase letters, digits and . _ -") for r in args.repositories]
    for key, value, pattern, allowed in checks:
        if not pattern.fullmatch(value):
            raise ValueError(f"AlicloudRegistryArgs.{key} for {name}: {value!r} is not a valid name ({allowed})")
    if len(set(args.repositories)) != len(args.repositories):
        raise ValueError(f"AlicloudRegistryArgs.repositories for {name}: duplicates in {list(args.repositories)}")
