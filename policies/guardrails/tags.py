"""Tags: every resource says which service, environment and owner it belongs to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from guardrails.common import Report, Setting, get, resource_policy, setting

REQUIRED_TAGS = Setting(
    "requiredTags",
    {
        "type": "array",
        "items": {"type": "string"},
        "default": ["service", "environment", "owner"],
        "description": "Tags every taggable resource carries (labels courier/<tag> on Kubernetes objects).",
    },
)

#: Taggable types the stack creates: a missing `tags` input is itself a violation for these.
AWS_TAGGABLE = [
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/eip:Eip",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:ec2/flowLog:FlowLog",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:lb/targetGroup:TargetGroup",
    "aws:lb/listener:Listener",
    "aws:autoscaling/group:Group",
    "aws:iam/role:Role",
    "aws:kms/key:Key",
    "aws:sns/topic:Topic",
    "aws:s3/bucket:Bucket",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:acm/certificate:Certificate",
    "aws:route53/healthCheck:HealthCheck",
    "aws:amp/workspace:Workspace",
    "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:rds/clusterInstance:ClusterInstance",
    "aws:rds/globalCluster:GlobalCluster",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:dynamodb/table:Table",
    "aws:dynamodb/tableReplica:TableReplica",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:elasticache/subnetGroup:SubnetGroup",
    "aws:secretsmanager/secret:Secret",
]
ALICLOUD_TAGGABLE = [
    "alicloud:vpc/network:Network",
    "alicloud:vpc/switch:Switch",
    "alicloud:vpc/natGateway:NatGateway",
    "alicloud:ecs/eipAddress:EipAddress",
    "alicloud:ecs/securityGroup:SecurityGroup",
    "alicloud:alb/loadBalancer:LoadBalancer",
    "alicloud:alb/serverGroup:ServerGroup",
    "alicloud:alb/listener:Listener",
    "alicloud:ess/scalingGroup:ScalingGroup",
    "alicloud:ess/scalingConfiguration:ScalingConfiguration",
    "alicloud:log/project:Project",
]
KUBERNETES_LABELLED = [
    "kubernetes:core/v1:Namespace",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:core/v1:Service",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    "kubernetes:policy/v1:PodDisruptionBudget",
    "kubernetes:keda.sh/v1alpha1:ScaledObject",
]


def _tags(props: Mapping[str, Any]) -> dict[str, Any]:
    tags = get(props, "tags", default={})
    if isinstance(tags, Mapping):
        return dict(tags)
    # Auto Scaling groups: [{key, value, propagateAtLaunch}]
    return {t.get("key"): t.get("value") for t in tags}


def _missing(tags: Mapping[str, Any], required: list[str]) -> list[str]:
    return [t for t in required if not tags.get(t)]


def _required_tags(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    missing = _missing(_tags(args.props), setting(config, REQUIRED_TAGS))
    if missing:
        report(f"{args.name} lacks tag(s) {', '.join(missing)}; pass spec.tags(<service>) to it.")


aws_tags = resource_policy(
    "aws-resource-required-tags",
    "Taggable AWS resources carry the required tags (service, environment, owner).",
    AWS_TAGGABLE,
    REQUIRED_TAGS,
)(_required_tags)
alicloud_tags = resource_policy(
    "alicloud-resource-required-tags",
    "Taggable Alibaba Cloud resources carry the required tags (service, environment, owner).",
    ALICLOUD_TAGGABLE,
    REQUIRED_TAGS,
)(_required_tags)


@resource_policy(
    "kubernetes-resource-required-labels",
    "Courier's Kubernetes objects carry the required labels as courier/<tag>.",
    KUBERNETES_LABELLED,
    REQUIRED_TAGS,
)
def kubernetes_labels(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    labels = get(args.props, "metadata", "labels", default={})
    missing = [t for t in setting(config, REQUIRED_TAGS) if not labels.get(f"courier/{t}")]
    if missing:
        report(f"{args.name} lacks label(s) {', '.join(f'courier/{t}' for t in missing)}.")
