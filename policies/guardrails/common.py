"""Shared machinery of the courier guardrails: policy builders, config, resource lookups.

Nothing here has a side effect at import: the pack is assembled in policies/__main__.py.

Unknown values. During `pulumi preview` a property computed from another resource is
unknown; reading it raises UnknownValueError, and the policy SDK then reports the policy as
"can't run during preview" at advisory level, which would quietly turn a mandatory guardrail
off. Every validation here catches it and reports a violation instead ("cannot be verified
during preview"), at the policy's own level. The guardrails read literal settings (flags,
ports, sizes), which are known during preview; resource relationships are followed through
dependencies, not through computed IDs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError


@dataclass(frozen=True)
class Setting:
    """One configurable threshold of a policy (``--policy-pack-config``)."""

    name: str
    schema: Mapping[str, Any]

    @property
    def default(self) -> Any:
        return self.schema.get("default")


def _schema(settings: Sequence[Setting]) -> PolicyConfigSchema | None:
    if not settings:
        return None
    return PolicyConfigSchema(properties={s.name: dict(s.schema) for s in settings})


def setting(config: Mapping[str, Any], item: Setting) -> Any:
    """The configured value, or the schema's default (the CLI fills it in; tests may not)."""
    return config.get(item.name, item.default)


class Report(Protocol):
    """How checks report: the SDK's ReportViolation, with the URN optional as it is at runtime."""

    def __call__(self, message: str, urn: str | None = None, /) -> None: ...


def _reporter(report: ReportViolation) -> Report:
    def reported(message: str, urn: str | None = None, /) -> None:
        report(message, urn)

    return reported


def _unknown_as_violation(name: str, report: ReportViolation, error: UnknownValueError, urn: str | None) -> None:
    report(
        f"{name} cannot be verified during preview: {error.message}. Set the value literally in the "
        "program so the guardrail can check it.",
        urn,
    )


def _guarded(name: str, subject: str, run: Callable[[], None], report: ReportViolation) -> None:
    """Run a check; an unknown value or a failure of the check itself is a violation at the
    policy's level, never a silent pass (nor an advisory "can't run during preview")."""
    try:
        run()
    except UnknownValueError as error:
        _unknown_as_violation(name, report, error, None)
    except Exception as error:
        report(f"{name} could not evaluate {subject}: {type(error).__name__}: {error}", None)


ResourceCheck = Callable[[ResourceValidationArgs, Report, Mapping[str, Any]], None]
StackCheck = Callable[[StackValidationArgs, Report, Mapping[str, Any]], None]


def resource_policy(
    name: str,
    description: str,
    types: Sequence[str] | Callable[[str], bool],
    *settings: Setting,
    remediation: str | None = None,
) -> Callable[[ResourceCheck], ResourceValidationPolicy]:
    """A policy on the resources of ``types`` (a list of type tokens, or a predicate over the
    type token, e.g. "every type whose SDK class takes tags"); the check gets (args, report,
    config). A predicate that fails is a violation too, never a silent pass."""

    def build(check: ResourceCheck) -> ResourceValidationPolicy:
        applies = types if callable(types) else frozenset(types).__contains__

        def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
            try:
                wanted = applies(args.resource_type)
            except Exception as error:
                report(f"{name} could not tell whether it applies to {args.name}: {error}", None)
                return
            if wanted:
                _guarded(name, args.name, lambda: check(args, _reporter(report), args.get_config()), report)

        return ResourceValidationPolicy(
            name=name,
            description=description,
            validate=validate,
            config_schema=_schema(settings),
            remediation_steps=remediation,
        )

    return build


def stack_policy(
    name: str, description: str, *settings: Setting, remediation: str | None = None
) -> Callable[[StackCheck], StackValidationPolicy]:
    """A policy over all the stack's resources; the check gets (args, report, config)."""

    def build(check: StackCheck) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report: ReportViolation) -> None:
            _guarded(name, "the stack", lambda: check(args, _reporter(report), args.get_config()), report)

        return StackValidationPolicy(
            name=name,
            description=description,
            validate=validate,
            config_schema=_schema(settings),
            remediation_steps=remediation,
        )

    return build


# -- reading resources ---------------------------------------------------------------------


def of_type(args: StackValidationArgs, *types: str) -> list[PolicyResource]:
    return [r for r in args.resources if r.resource_type in types]


def get(props: Mapping[str, Any], *path: str | int, default: Any = None) -> Any:
    """``props[a][b][c]``, or ``default`` when any step is missing."""
    value: Any = props
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return default
        if value is None:
            return default
    return value


def declared(props: Mapping[str, Any], key: str) -> bool:
    """Whether the input ``key`` is set, without reading it (an unknown value is set too)."""
    return any(k == key for k in props)


def region_of(resource: PolicyResource) -> str:
    """The region a resource is created in: its own ``region`` input, else its provider's."""
    own = get(resource.props, "region")
    if own:
        return str(own)
    provider = resource.provider
    return str(get(provider.props, "region", default="")) if provider is not None else ""


def depends_on(resource: PolicyResource, other: PolicyResource, prop: str | None = None) -> bool:
    """Whether ``resource`` was declared from ``other``'s outputs (in ``prop`` if given)."""
    if prop is not None:
        return any(d.urn == other.urn for d in resource.property_dependencies.get(prop, []))
    return any(d.urn == other.urn for d in resource.dependencies)


def points_at(resource: PolicyResource, prop: str, target: PolicyResource, *names: str) -> bool:
    """Whether ``resource.props[prop]`` names ``target``: declared from its outputs or, when the
    value is literal, equal to one of ``target``'s literal ``names`` inputs."""
    if resource.property_dependencies.get(prop):
        return depends_on(resource, target, prop)
    value = get(resource.props, prop)
    return value is not None and any(value == get(target.props, name) for name in names)


def same_cluster(resource: PolicyResource, other: PolicyResource) -> bool:
    """Whether two Kubernetes objects go to the same cluster (the same provider instance).

    Every region's cluster gets its own provider, so a name and namespace only identify an
    object together with the provider that applies it.
    """
    mine = resource.provider.urn if resource.provider is not None else None
    theirs = other.provider.urn if other.provider is not None else None
    return mine == theirs


def siblings(args: StackValidationArgs, resource: PolicyResource, *types: str) -> list[PolicyResource]:
    """Resources of ``types`` declared by the same component as ``resource``."""
    parent = resource.parent.urn if resource.parent is not None else None
    return [
        r
        for r in args.resources
        if r.resource_type in types and (r.parent.urn if r.parent is not None else None) == parent
    ]


def num(value: Any) -> str:
    """Numbers as people write them: the protocol turns every 2 into 2.0."""
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


# Types the courier stack creates, grouped once for every module.
ASG = "aws:autoscaling/group:Group"
ASG_POLICY = "aws:autoscaling/policy:Policy"
ASG_SCHEDULE = "aws:autoscaling/schedule:Schedule"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SUBNET = "aws:ec2/subnet:Subnet"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
VPC = "aws:ec2/vpc:Vpc"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
AMP_RULES = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"
DYNAMODB_REPLICA = "aws:dynamodb/tableReplica:TableReplica"
CACHE_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_DATASTORE = "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"

ESS_GROUP = "alicloud:ess/scalingGroup:ScalingGroup"
ESS_CONFIG = "alicloud:ess/scalingConfiguration:ScalingConfiguration"
ESS_RULE = "alicloud:ess/scalingRule:ScalingRule"
ESS_TASK = "alicloud:ess/scheduledTask:ScheduledTask"
ESS_ALARM = "alicloud:ess/alarm:Alarm"
ESS_NOTIFICATION = "alicloud:ess/notification:Notification"
ALI_ALB = "alicloud:alb/loadBalancer:LoadBalancer"
ALI_LISTENER = "alicloud:alb/listener:Listener"
ALI_RULE = "alicloud:alb/rule:Rule"
ALI_SG_RULE = "alicloud:ecs/securityGroupRule:SecurityGroupRule"
ALI_SG_ATTACHMENT = "alicloud:alb/loadBalancerSecurityGroupAttachment:LoadBalancerSecurityGroupAttachment"
POLARDB_CLUSTER = "alicloud:polardb/cluster:Cluster"
POLARDB_GDN = "alicloud:polardb/globalDatabaseNetwork:GlobalDatabaseNetwork"
OSS_BUCKET = "alicloud:oss/bucket:Bucket"
OSS_REPLICATION = "alicloud:oss/bucketReplication:BucketReplication"
ALI_RDS_INSTANCE = "alicloud:rds/instance:Instance"
DTS_JOB = "alicloud:dts/synchronizationJob:SynchronizationJob"

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
