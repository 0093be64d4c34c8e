"""EksCluster: the region's Kubernetes cluster for the services with ``platform: kubernetes``."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import pulumi
import pulumi_aws as aws

from components import planning
from components.aws import policies

TYPE = "courier:aws:EksCluster"

_WORKER_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
)
_ADDONS = ("vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent")

#: EKS access policies per access level (EKS user guide, "Associate access policies with
#: access entries"; the ARNs have no region or account). The catalogue's AWS regions are all
#: in the commercial partition, so the partition is ``aws``.
ACCESS_POLICIES = {
    "admin": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
    "edit": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
    "view": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
}
_PARTITION = "aws"


class AccessGrant(Protocol):
    """An IAM principal that may use the cluster, and how much (the spec's AccessSpec)."""

    @property
    def principal_arn(self) -> str: ...

    #: admin: cluster admin; edit: change workloads (no RBAC); view: read (no Secrets).
    @property
    def access(self) -> Literal["admin", "edit", "view"]: ...


@dataclass(frozen=True)
class ClusterAccess:
    """An AccessGrant built in code (tests, other callers)."""

    principal_arn: str
    access: Literal["admin", "edit", "view"]


@dataclass(frozen=True)
class PodRole:
    """An IAM role for one Kubernetes service account (EKS Pod Identity)."""

    namespace: str
    service_account: str
    #: IAM policy statements the pods may use.
    statements: Sequence[pulumi.Input[Mapping[str, object]]]


@dataclass(frozen=True)
class EksClusterArgs:
    #: Cluster name (explicit: the control-plane log group is named after it).
    cluster_name: str
    region: str
    version: str
    private_subnet_ids: Sequence[pulumi.Input[str]]
    node_instance_types: Sequence[str]
    #: Node group size, from components.planning.node_group_capacity.
    nodes: planning.Capacity
    #: EKS-optimized AMI release of the nodes (None: EKS's latest at each node group change).
    node_image_release: str | None = None
    api_allowed_cidrs: Sequence[str] = ("0.0.0.0/0",)
    #: The load balancer's security group and the NodePorts it reaches the services on.
    load_balancer_security_group_id: pulumi.Input[str] | None = None
    node_ports: Sequence[int] = ()
    #: Service accounts that get AWS permissions through EKS Pod Identity.
    pod_roles: Mapping[str, PodRole] = field(default_factory=dict)
    #: Who may use the cluster (default: nobody). No identity gets access implicitly, not even
    #: the one that creates the cluster: the identity that runs `pulumi up` must be an admin
    #: here, or the Kubernetes resources cannot be installed.
    access: Sequence[AccessGrant] = ()
    deletion_protection: bool = True
    log_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)


class EksCluster(pulumi.ComponentResource):
    """An EKS control plane (private and public endpoint, secrets encrypted with a rotated KMS
    key, all control-plane logs kept) and a managed node group across the private subnets
    (IMDSv2 only, encrypted gp3 volumes) sized for the services it hosts; the VPC CNI,
    CoreDNS, kube-proxy and Pod Identity add-ons; Pod Identity roles for the cluster's own
    agents; an access entry with a cluster-wide access policy per principal of ``access``; and
    ingress from the load balancer to the services' NodePorts."""

    name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    node_group_asg_name: pulumi.Output[str]
    #: What Kubernetes installs on the cluster need first: the node group, the add-ons, the
    #: Pod Identity associations and the access policies.
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        _check_access(args.access)
        self._name = name
        self.ready = []
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        role = aws.iam.Role(
            f"{name}-cluster", assume_role_policy=policies.assume_role("eks.amazonaws.com"), tags=tags, opts=child
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )
        key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Encrypts Kubernetes secrets of {args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )
        # Created before the cluster so its retention applies (EKS would create it unbounded).
        logs = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=args.cluster_name,
            version=args.version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(args.private_subnet_ids),
                endpoint_private_access=True,
                endpoint_public_access=True,
                public_access_cidrs=list(args.api_allowed_cidrs),
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
            ),
            enabled_cluster_log_types=["api", "audit", "authenticator", "controllerManager", "scheduler"],
            # Access entries only, each declared below: bootstrapping the creator as admin would
            # make an explicit entry for the same identity (the deploy role) fail with
            # ResourceInUseException, and the setting cannot change later without replacing
            # the cluster.
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False
            ),
            deletion_protection=args.deletion_protection,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster_policy, logs]),
        )

        node_role = aws.iam.Role(
            f"{name}-nodes", assume_role_policy=policies.assume_role("ec2.amazonaws.com"), tags=tags, opts=child
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-nodes-{arn.rsplit('/', 1)[-1]}", role=node_role.name, policy_arn=arn, opts=child
            )
            for arn in _WORKER_POLICIES
        ]
        template = aws.ec2.LaunchTemplate(
            f"{name}-nodes",
            description=f"Nodes of {args.cluster_name}",
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                # Pods get AWS credentials from Pod Identity, never from the node's metadata.
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
            ),
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=50, volume_type="gp3", encrypted="true", delete_on_termination="true"
                    ),
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags)
                for kind in ("instance", "volume")
            ],
            tags=tags,
            opts=child,
        )
        if args.node_image_release is None:
            pulumi.log.warn(
                f"{args.cluster_name}: the node AMI is not pinned (regions[].kubernetes.nodeImageRelease): "
                "nodes take EKS's latest release whenever the node group changes",
                self,
            )
        node_group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=cluster.name,
            node_role_arn=node_role.arn,
            subnet_ids=list(args.private_subnet_ids),
            instance_types=list(args.node_instance_types),
            capacity_type="ON_DEMAND",
            # Pinned, the node AMI changes only with the config (a reviewable diff); unset,
            # EKS takes its latest release whenever the node group or its template changes.
            release_version=args.node_image_release,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=args.nodes.min, desired_size=args.nodes.desired, max_size=args.nodes.max
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=25),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            labels={"courier/pool": "general"},
            tags=tags,
            # The cluster autoscaler owns the node count after creation.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=attachments, ignore_changes=["scalingConfig.desiredSize"]
            ),
        )
        self.ready.append(node_group)
        for addon in _ADDONS:
            addon_resource = aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=cluster.name,
                addon_name=addon,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                tags=tags,
                # CoreDNS needs nodes to schedule on.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[node_group] if addon == "coredns" else []),
            )
            self.ready.append(addon_resource)

        if args.load_balancer_security_group_id is not None:
            for port in args.node_ports:
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-nodeport-{port}",
                    security_group_id=cluster.vpc_config.cluster_security_group_id,
                    referenced_security_group_id=args.load_balancer_security_group_id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description="Requests and health checks from the load balancer",
                    tags=tags,
                    opts=child,
                )

        for label, pod_role in args.pod_roles.items():
            self.ready.append(self._pod_role(label, pod_role, cluster.name, tags))
        for grant in args.access:
            self.ready.append(self._access(grant, cluster.name, tags))

        self.name = cluster.name
        self.endpoint = cluster.endpoint
        self.node_group_asg_name = node_group.resources.apply(_asg_name)
        self.kubeconfig = pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
            lambda values: _kubeconfig(values[0], values[1], values[2] or "", args.region)
        )
        self.register_outputs({"name": self.name, "nodeGroupAsgName": self.node_group_asg_name})

    def _access(
        self, grant: AccessGrant, cluster_name: pulumi.Output[str], tags: dict[str, str]
    ) -> aws.eks.AccessPolicyAssociation:
        # Named after the principal, not its position in the list: reordering the config must
        # not replace entries (a second entry for the same principal is refused).
        label = f"{self._name}-access-{_principal_label(grant.principal_arn)}"
        entry = aws.eks.AccessEntry(
            label,
            cluster_name=cluster_name,
            principal_arn=grant.principal_arn,
            type="STANDARD",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.eks.AccessPolicyAssociation(
            label,
            cluster_name=cluster_name,
            principal_arn=entry.principal_arn,
            policy_arn=ACCESS_POLICIES[grant.access],
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _pod_role(
        self, label: str, pod_role: PodRole, cluster_name: pulumi.Output[str], tags: dict[str, str]
    ) -> aws.eks.PodIdentityAssociation:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{self._name}-{label}",
            assume_role_policy=policies.document(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "pods.eks.amazonaws.com"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                }
            ),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-{label}",
            role=role.id,
            policy=pulumi.Output.all(*pod_role.statements).apply(lambda statements: policies.document(*statements)),
            opts=child,
        )
        return aws.eks.PodIdentityAssociation(
            f"{self._name}-{label}",
            cluster_name=cluster_name,
            namespace=pod_role.namespace,
            service_account=pod_role.service_account,
            role_arn=role.arn,
            tags=tags,
            opts=child,
        )


def _check_access(access: Sequence[AccessGrant]) -> None:
    seen: set[str] = set()
    for grant in access:
        if grant.access not in ACCESS_POLICIES:
            raise ValueError(
                f"courier:kubernetesAccess: access {grant.access!r} for {grant.principal_arn} is not one of "
                f"{', '.join(ACCESS_POLICIES)}."
            )
        partition = grant.principal_arn.split(":", 2)[1] if grant.principal_arn.count(":") >= 2 else ""
        if partition != _PARTITION:
            raise ValueError(
                f"courier:kubernetesAccess: {grant.principal_arn} is in partition {partition!r}; the stack's EKS "
                f"clusters are in {_PARTITION!r}."
            )
        if grant.principal_arn in seen:
            raise ValueError(
                f"courier:kubernetesAccess lists {grant.principal_arn} twice; EKS allows one access entry per principal."
            )
        seen.add(grant.principal_arn)


def _principal_label(arn: str) -> str:
    """A stable, readable child name for a principal: its name and a short hash of the ARN."""
    name = re.sub(r"[^a-z0-9-]+", "-", arn.rsplit("/", 1)[-1].lower()).strip("-")[:40]
    return f"{name}-{hashlib.sha256(arn.encode()).hexdigest()[:8]}"


def _asg_name(resources: Sequence[aws.eks.outputs.NodeGroupResource]) -> str:
    groups = resources[0].autoscaling_groups if resources else None
    return (groups[0].name or "") if groups else ""


def _kubeconfig(name: str, endpoint: str, certificate: str, region: str) -> str:
    """A kubeconfig that authenticates with `aws eks get-token` (no long-lived credentials)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": certificate}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                name,
                                "--region",
                                region,
                                "--output",
                                "json",
                            ],
                        }
                    },
                }
            ],
        }
    )
