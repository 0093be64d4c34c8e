"""Which API call creates each resource type, and the limits AWS documents only in prose.

Pulumi inputs are matched to the call's input members by normalised name (models.py); this
table gives the call and the aliases where the names differ. An alias maps a Pulumi input path
(dots, no list indices) to a member path of the call's input (``Member.Sub``), to a member of
another call the provider makes (``service:Operation:Member``), to a :class:`Documented` limit,
to a :class:`CheckedByRule` (an input a rule of its own reshapes and checks, e.g. courier/verify/
fis.py), or to ``None``: a provider-only setting with no API member, counted as such in the
coverage.

The calls are the ones terraform-provider-aws makes in each resource's create function
(internal/service/<service>/<resource>.go), which pulumi-aws bridges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: Tags are checked by labels.py against the tagging rules (the per-service models disagree
#: on tag shapes: maps, Key/Value lists, lists with PropagateAtLaunch).
TAG_PROPERTIES = frozenset({"tags", "tagsAll"})


@dataclass(frozen=True)
class Documented:
    """A limit AWS states in its documentation but its model does not encode."""

    source: str
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[Any, ...] = ()
    #: Also allowed outside [minimum, maximum] (slow start: 0 turns it off).
    also: tuple[Any, ...] = ()

    def problem(self, value: Any, unit: str = "") -> str | None:
        if value is None:
            return None
        if self.allowed:
            if str(value).lower() not in {str(a).lower() for a in self.allowed}:
                return f"{value!r} is not one of {', '.join(str(a) for a in self.allowed)}"
            return None
        if value in self.also:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        outside = (self.minimum is not None and number < self.minimum) or (
            self.maximum is not None and number > self.maximum
        )
        if not outside:
            return None
        also = f" (or {', '.join(str(a) for a in self.also)})" if self.also else ""
        return f"{value}{unit} is outside {_fmt(self.minimum)}-{_fmt(self.maximum)}{also}"


def _fmt(value: float | None) -> str:
    if value is None:
        return "∞"
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class CheckedByRule:
    """An input the model walk cannot match by name, checked instead by a rule of its own that
    turns it into the request the provider sends and checks that (against the same model and
    the rule's own tables). The coverage credits exactly the leaves in ``fields`` (paths below
    the input, dots, no list indices; a field also covers everything below it) as checked by
    the rule; any other leaf is unmapped. An empty input is credited too: the rule judges what
    is missing (an action that needs a target, a template without actions)."""

    #: The rule's name (courier.verify.RULES) whose findings cover the input.
    rule: str
    fields: frozenset[str]

    def covers(self, leaf: str) -> bool:
        return not leaf or any(leaf == f or leaf.startswith(f"{f}.") for f in self.fields)


#: What courier/verify/fis.py (request()) carries of each Pulumi action and target into the
#: CreateExperimentTemplate request, every one then checked against botocore's fis model and
#: the FIS tables: a name becomes its map key (at most 64 characters), ``[{key, value}]`` pairs
#: become maps. A test keeps this and request() in step.
FIS_ACTIONS = CheckedByRule(
    "aws-fis-experiment-template",
    frozenset({"name", "actionId", "description", "parameters.key", "parameters.value", "startAfters", "target.key",
               "target.value"}),
)  # fmt: skip
FIS_TARGETS = CheckedByRule(
    "aws-fis-experiment-template",
    frozenset({"name", "resourceType", "selectionMode", "resourceTags.key", "resourceTags.value", "resourceArns",
               "filters.path", "filters.values", "parameters"}),
)  # fmt: skip

Target = str | Documented | CheckedByRule | None


@dataclass(frozen=True)
class CreateCall:
    service: str
    operation: str
    #: Where top-level inputs are matched by name (``LaunchTemplateData`` for a template).
    root: str = ""
    aliases: Mapping[str, Target] = field(default_factory=dict)


def _call(service: str, operation: str, root: str = "", **aliases: Target) -> CreateCall:
    # Keyword names cannot hold dots: "__" in a keyword stands for "." in the Pulumi path.
    return CreateCall(service, operation, root, MappingProxyType({k.replace("__", "."): v for k, v in aliases.items()}))


ELB_TG_ATTRIBUTES = (
    "botocore elbv2 service-2.json TargetGroupAttribute.Key documentation "
    "(https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupAttribute.html)"
)
ELB_LB_ATTRIBUTES = (
    "botocore elbv2 service-2.json LoadBalancerAttribute.Key documentation "
    "(https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_LoadBalancerAttribute.html)"
)

#: PutRetentionPolicy.retentionInDays: "Possible values are: 1, 3, 5, 7, 14, 30, ... and 3653."
# fmt: off
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
# fmt: on

SQS_ATTRIBUTES = (
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html (Attributes)"
)

#: ReplicationTimeValue.Minutes (Replication Time Control and its metrics): "Valid value: 15".
S3_REPLICATION_MINUTES = Documented("botocore s3 ReplicationTimeValue.Minutes documentation", allowed=(15,))

#: The execution blocks of an ARC Region switch step: one list per kind in Pulumi
#: (``ec2AsgCapacityIncreaseConfigs``), one member of ``executionBlockConfiguration`` in the API.
_ARC_BLOCKS = (
    "arcRoutingControlConfig",
    "auroraProvisionedScalingConfig",
    "auroraServerlessScalingConfig",
    "customActionLambdaConfig",
    "documentDbConfig",
    "ec2AsgCapacityIncreaseConfig",
    "ecsCapacityIncreaseConfig",
    "eksResourceScalingConfig",
    "executionApprovalConfig",
    "globalAuroraConfig",
    "lambdaEventSourceMappingConfig",
    "neptuneGlobalDatabaseConfig",
    "rdsCreateCrossRegionReadReplicaConfig",
    "rdsPromoteReadReplicaConfig",
    "regionSwitchPlanConfig",
    "route53HealthCheckConfig",
)


def _arc_steps(step: str, member: str) -> dict[str, str]:
    """Aliases of the execution blocks of the steps at Pulumi path ``step`` (API path ``member``)."""
    return {f"{step}.{block}s": f"{member}.executionBlockConfiguration.{block}" for block in _ARC_BLOCKS}


# Both rule resources become one IpPermissions entry of Authorize{Ingress,Egress}.
_SECURITY_GROUP_RULE: dict[str, Target] = {
    "securityGroupId": "GroupId",
    "cidrIpv4": "IpPermissions.IpRanges.CidrIp",
    "cidrIpv6": "IpPermissions.Ipv6Ranges.CidrIpv6",
    "description": "IpPermissions.IpRanges.Description",
    "fromPort": "IpPermissions.FromPort",
    "toPort": "IpPermissions.ToPort",
    "ipProtocol": "IpPermissions.IpProtocol",
    "referencedSecurityGroupId": "IpPermissions.UserIdGroupPairs.GroupId",
    "prefixListId": "IpPermissions.PrefixListIds.PrefixListId",
}

CREATE_CALLS: Mapping[str, CreateCall] = MappingProxyType(
    {
        "aws:acm/certificate:Certificate": _call("acm", "RequestCertificate"),
        # A waiter in the provider, no API call of its own.
        "aws:acm/certificateValidation:CertificateValidation": _call(
            "acm", "DescribeCertificate", certificateArn="CertificateArn", validationRecordFqdns=None
        ),
        "aws:amp/alertManagerDefinition:AlertManagerDefinition": _call(
            "amp", "CreateAlertManagerDefinition", definition="data"
        ),
        "aws:amp/ruleGroupNamespace:RuleGroupNamespace": _call("amp", "CreateRuleGroupsNamespace"),
        "aws:amp/workspace:Workspace": _call(
            "amp",
            "CreateWorkspace",
            loggingConfiguration="amp:CreateLoggingConfiguration:",
            kmsKeyArn="kmsKeyArn",
        ),
        # A plan's steps and the steps of its parallel blocks.
        "aws:arcregionswitch/plan:Plan": _call(
            "arc-region-switch",
            "CreatePlan",
            **_arc_steps("workflows.steps", "workflows.steps"),
            **{"workflows.steps.parallelConfigs": "workflows.steps.executionBlockConfiguration.parallelConfig"},
            **_arc_steps(
                "workflows.steps.parallelConfigs.steps",
                "workflows.steps.executionBlockConfiguration.parallelConfig.steps",
            ),
        ),
        "aws:autoscaling/attachment:Attachment": _call(
            "autoscaling",
            "AttachLoadBalancerTargetGroups",
            lbTargetGroupArn="TargetGroupARNs",
            elb="autoscaling:AttachLoadBalancers:LoadBalancerNames",
        ),
        "aws:autoscaling/group:Group": _call(
            "autoscaling",
            "CreateAutoScalingGroup",
            name="AutoScalingGroupName",
            vpcZoneIdentifiers="VPCZoneIdentifier",
            launchTemplate__id="LaunchTemplate.LaunchTemplateId",
            launchTemplate__name="LaunchTemplate.LaunchTemplateName",
            targetGroupArns="TargetGroupARNs",
            warmPool="autoscaling:PutWarmPool:",
            instanceRefresh="autoscaling:StartInstanceRefresh:",
            instanceRefresh__triggers=None,
            enabledMetrics="autoscaling:EnableMetricsCollection:Metrics",
            # EnableMetricsCollection.Granularity: "The only valid value is 1Minute."
            metricsGranularity=Documented(
                "botocore autoscaling EnableMetricsCollectionQuery.Granularity documentation", allowed=("1Minute",)
            ),
            # CreateAutoScalingGroupType.HealthCheckType: "The valid values are EC2, EBS, ELB, and VPC_LATTICE."
            healthCheckType=Documented(
                "botocore autoscaling CreateAutoScalingGroupType.HealthCheckType documentation",
                allowed=("EC2", "EBS", "ELB", "VPC_LATTICE"),
            ),
            waitForCapacityTimeout=None,
            minElbCapacity=None,
            waitForElbCapacity=None,
            forceDelete=None,
            forceDeleteWarmPool=None,
            ignoreFailedScalingActivities=None,
            initialLifecycleHooks="LifecycleHookSpecificationList",
            initialLifecycleHooks__name="LifecycleHookSpecificationList.LifecycleHookName",
        ),
        "aws:autoscaling/lifecycleHook:LifecycleHook": _call(
            "autoscaling", "PutLifecycleHook", name="LifecycleHookName", autoscalingGroupName="AutoScalingGroupName"
        ),
        "aws:autoscaling/policy:Policy": _call(
            "autoscaling",
            "PutScalingPolicy",
            name="PolicyName",
            autoscalingGroupName="AutoScalingGroupName",
        ),
        "aws:autoscaling/schedule:Schedule": _call(
            "autoscaling",
            "PutScheduledUpdateGroupAction",
            autoscalingGroupName="AutoScalingGroupName",
        ),
        # The body's own structure is checked by verify/dashboards.py (the model has a string).
        "aws:cloudwatch/dashboard:Dashboard": _call("cloudwatch", "PutDashboard"),
        "aws:cloudwatch/logGroup:LogGroup": _call(
            "logs",
            "CreateLogGroup",
            name="logGroupName",
            # PutRetentionPolicy.retentionInDays: "Possible values are: 1, 3, 5, 7, 14, 30, ..."
            retentionInDays=Documented(
                "botocore logs PutRetentionPolicyRequest.retentionInDays documentation",
                allowed=RETENTION_DAYS,
            ),
            skipDestroy=None,
        ),
        "aws:cloudwatch/metricAlarm:MetricAlarm": _call(
            "cloudwatch",
            "PutMetricAlarm",
            name="AlarmName",
            okActions="OKActions",
            metricQueries="Metrics",
            metricQueries__metric="Metrics.MetricStat",
            metricQueries__metric__metricName="Metrics.MetricStat.Metric.MetricName",
            metricQueries__metric__namespace="Metrics.MetricStat.Metric.Namespace",
            metricQueries__metric__dimensions="Metrics.MetricStat.Metric.Dimensions",
        ),
        # terraform-provider-aws dynamodb/table.go: CreateTable, then UpdateTimeToLive and
        # UpdateContinuousBackups; replicas are added by UpdateTable (ReplicaUpdates.Create).
        "aws:dynamodb/table:Table": _call(
            "dynamodb",
            "CreateTable",
            name="TableName",
            attributes="AttributeDefinitions",
            attributes__name="AttributeDefinitions.AttributeName",
            attributes__type="AttributeDefinitions.AttributeType",
            hashKey="KeySchema.AttributeName",
            rangeKey="KeySchema.AttributeName",
            streamEnabled="StreamSpecification.StreamEnabled",
            streamViewType="StreamSpecification.StreamViewType",
            serverSideEncryption="SSESpecification",
            serverSideEncryption__kmsKeyArn="SSESpecification.KMSMasterKeyId",
            pointInTimeRecovery="dynamodb:UpdateContinuousBackups:PointInTimeRecoverySpecification",
            pointInTimeRecovery__enabled=(
                "dynamodb:UpdateContinuousBackups:PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled"
            ),
            ttl="dynamodb:UpdateTimeToLive:TimeToLiveSpecification",
            replicas="dynamodb:UpdateTable:ReplicaUpdates.Create",
            replicas__kmsKeyArn="dynamodb:UpdateTable:ReplicaUpdates.Create.KMSMasterKeyId",
            replicas__pointInTimeRecovery=(
                "dynamodb:UpdateContinuousBackups:PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled"
            ),
            replicas__propagateTags=None,
            replicas__deletionProtectionEnabled="dynamodb:UpdateTable:DeletionProtectionEnabled",
            replicas__consistencyMode="dynamodb:UpdateTable:MultiRegionConsistency",
        ),
        # dynamodb/table_replica.go: UpdateTable on the global table (in its region) adds the
        # replica; point-in-time recovery and deletion protection are set on the replica after.
        "aws:dynamodb/tableReplica:TableReplica": _call(
            "dynamodb",
            "UpdateTable",
            "ReplicaUpdates.Create",
            globalTableArn="TableName",
            kmsKeyArn="ReplicaUpdates.Create.KMSMasterKeyId",
            tableClassOverride="ReplicaUpdates.Create.TableClassOverride",
            pointInTimeRecovery=(
                "dynamodb:UpdateContinuousBackups:PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled"
            ),
            deletionProtectionEnabled="DeletionProtectionEnabled",
            propagateTags=None,
        ),
        # Adopts the VPC's default group: no create call.
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _call(
            "ec2", "RevokeSecurityGroupIngress", vpcId=None, ingress=None, egress=None
        ),
        "aws:ec2/eip:Eip": _call("ec2", "AllocateAddress"),
        "aws:ec2/flowLog:FlowLog": _call(
            "ec2",
            "CreateFlowLogs",
            iamRoleArn="DeliverLogsPermissionArn",
            vpcId="ResourceIds",
            subnetId="ResourceIds",
            # CreateFlowLogs.MaxAggregationInterval: "The possible values are 60 seconds (1 minute)
            # or 600 seconds (10 minutes)."
            maxAggregationInterval=Documented(
                "botocore ec2 CreateFlowLogsRequest.MaxAggregationInterval documentation", allowed=(60, 600)
            ),
        ),
        "aws:ec2/internetGateway:InternetGateway": _call("ec2", "AttachInternetGateway", vpcId="VpcId"),
        "aws:ec2/launchTemplate:LaunchTemplate": _call(
            "ec2",
            "CreateLaunchTemplate",
            "LaunchTemplateData",
            name="LaunchTemplateName",
            description="VersionDescription",
            tagSpecifications="LaunchTemplateData.TagSpecifications",
            networkInterfaces__securityGroups="LaunchTemplateData.NetworkInterfaces.Groups",
            # Checked with its 16 KB limit and shellcheck by scripts.py.
            userData=None,
            updateDefaultVersion=None,
            defaultVersion=None,
        ),
        "aws:ec2/natGateway:NatGateway": _call("ec2", "CreateNatGateway"),
        "aws:ec2/route:Route": _call("ec2", "CreateRoute", cidrBlock="DestinationCidrBlock"),
        "aws:ec2/routeTable:RouteTable": _call(
            "ec2",
            "CreateRouteTable",
            routes="ec2:CreateRoute:",
            routes__cidrBlock="ec2:CreateRoute:DestinationCidrBlock",
        ),
        "aws:ec2/routeTableAssociation:RouteTableAssociation": _call("ec2", "AssociateRouteTable"),
        "aws:ec2/securityGroup:SecurityGroup": _call(
            "ec2", "CreateSecurityGroup", name="GroupName", revokeRulesOnDelete=None, ingress=None, egress=None
        ),
        "aws:ec2/subnet:Subnet": _call(
            "ec2",
            "CreateSubnet",
            mapPublicIpOnLaunch="ec2:ModifySubnetAttribute:MapPublicIpOnLaunch.Value",
        ),
        "aws:ec2/vpc:Vpc": _call(
            "ec2",
            "CreateVpc",
            enableDnsHostnames="ec2:ModifyVpcAttribute:EnableDnsHostnames.Value",
            enableDnsSupport="ec2:ModifyVpcAttribute:EnableDnsSupport.Value",
        ),
        "aws:ec2/vpcEndpoint:VpcEndpoint": _call(
            "ec2", "CreateVpcEndpoint", policy="PolicyDocument", autoAccept=None, serviceRegion="ServiceRegion"
        ),
        "aws:ecr/lifecyclePolicy:LifecyclePolicy": _call(
            "ecr", "PutLifecyclePolicy", repository="repositoryName", policy="lifecyclePolicyText"
        ),
        "aws:ecr/replicationConfiguration:ReplicationConfiguration": _call(
            "ecr", "PutReplicationConfiguration", replicationConfiguration="replicationConfiguration"
        ),
        "aws:ecr/repository:Repository": _call("ecr", "CreateRepository", name="repositoryName", forceDelete=None),
        "aws:eks/accessEntry:AccessEntry": _call("eks", "CreateAccessEntry"),
        # Actions and targets are lists in Pulumi, maps in the API: courier/verify/fis.py turns
        # them into the request and checks it against this model and FIS's action table.
        "aws:fis/experimentTemplate:ExperimentTemplate": _call(
            "fis", "CreateExperimentTemplate", actions=FIS_ACTIONS, targets=FIS_TARGETS
        ),
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": _call("eks", "AssociateAccessPolicy"),
        "aws:eks/addon:Addon": _call(
            "eks",
            "CreateAddon",
            resolveConflictsOnCreate="resolveConflicts",
            resolveConflictsOnUpdate="eks:UpdateAddon:resolveConflicts",
            preserve=None,
        ),
        "aws:eks/cluster:Cluster": _call(
            "eks",
            "CreateCluster",
            vpcConfig="resourcesVpcConfig",
            enabledClusterLogTypes="logging.clusterLogging.types",
            defaultAddonsToRemoves=None,
            bootstrapSelfManagedAddons="bootstrapSelfManagedAddons",
        ),
        "aws:eks/nodeGroup:NodeGroup": _call(
            "eks",
            "CreateNodegroup",
            nodeGroupName="nodegroupName",
            nodeRoleArn="nodeRole",
            subnetIds="subnets",
            # Kubernetes labels: labels.py checks them against the Kubernetes syntax.
            labels=None,
            forceUpdateVersion=None,
        ),
        "aws:eks/podIdentityAssociation:PodIdentityAssociation": _call("eks", "CreatePodIdentityAssociation"),
        "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": _call(
            "elasticache", "CreateGlobalReplicationGroup"
        ),
        "aws:elasticache/replicationGroup:ReplicationGroup": _call(
            "elasticache",
            "CreateReplicationGroup",
            description="ReplicationGroupDescription",
            nodeType="CacheNodeType",
            subnetGroupName="CacheSubnetGroupName",
            parameterGroupName="CacheParameterGroupName",
            # CreateReplicationGroup.NumCacheClusters: "The maximum permitted value ... is 6".
            numCacheClusters=Documented(
                "botocore elasticache CreateReplicationGroupMessage.NumCacheClusters documentation",
                minimum=1,
                maximum=6,
            ),
            # CreateReplicationGroup.Engine: "The value must be set to valkey or redis."
            engine=Documented(
                "botocore elasticache CreateReplicationGroupMessage.Engine documentation", allowed=("valkey", "redis")
            ),
            finalSnapshotIdentifier="elasticache:DeleteReplicationGroup:FinalSnapshotIdentifier",
            applyImmediately=None,
            authTokenUpdateStrategy=None,
        ),
        "aws:elasticache/subnetGroup:SubnetGroup": _call(
            "elasticache",
            "CreateCacheSubnetGroup",
            name="CacheSubnetGroupName",
            description="CacheSubnetGroupDescription",
        ),
        "aws:iam/instanceProfile:InstanceProfile": _call(
            "iam", "CreateInstanceProfile", name="InstanceProfileName", role="iam:AddRoleToInstanceProfile:RoleName"
        ),
        "aws:grafana/workspace:Workspace": _call(
            "grafana",
            "CreateWorkspace",
            name="workspaceName",
            description="workspaceDescription",
            dataSources="workspaceDataSources",
            roleArn="workspaceRoleArn",
            # The model only bounds the length; CreateWorkspace's documentation points to
            # ListVersions, and the provider's documentation lists what it returns today.
            grafanaVersion=Documented(
                "botocore grafana CreateWorkspaceRequest.grafanaVersion documentation (ListVersions); "
                "pulumi-aws 7.51 grafana.Workspace grafana_version: 9.4, 10.4, 12.4, 13.2",
                allowed=("9.4", "10.4", "12.4", "13.2"),
            ),
        ),
        "aws:grafana/workspaceServiceAccount:WorkspaceServiceAccount": _call(
            "grafana", "CreateWorkspaceServiceAccount"
        ),
        "aws:grafana/workspaceServiceAccountToken:WorkspaceServiceAccountToken": _call(
            "grafana", "CreateWorkspaceServiceAccountToken"
        ),
        "aws:iam/role:Role": _call(
            "iam",
            "CreateRole",
            name="RoleName",
            assumeRolePolicy="AssumeRolePolicyDocument",
            forceDetachPolicies=None,
            inlinePolicies=None,
            managedPolicyArns=None,
        ),
        "aws:iam/rolePolicy:RolePolicy": _call(
            "iam", "PutRolePolicy", name="PolicyName", role="RoleName", policy="PolicyDocument"
        ),
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _call("iam", "AttachRolePolicy", role="RoleName"),
        "aws:kms/alias:Alias": _call("kms", "CreateAlias", name="AliasName"),
        "aws:kms/key:Key": _call(
            "kms",
            "CreateKey",
            # A toggle: the provider calls EnableKeyRotation or not.
            enableKeyRotation=None,
            rotationPeriodInDays="kms:EnableKeyRotation:RotationPeriodInDays",
            # ScheduleKeyDeletion.PendingWindowInDays: "it must be between 7 and 30, inclusive"
            # (the model's own range is 1-365).
            deletionWindowInDays=Documented(
                "botocore kms ScheduleKeyDeletionRequest.PendingWindowInDays documentation", minimum=7, maximum=30
            ),
            isEnabled=None,
        ),
        "aws:lb/listener:Listener": _call(
            "elbv2",
            "CreateListener",
            certificateArn="Certificates.CertificateArn",
            defaultActions__redirect="DefaultActions.RedirectConfig",
            defaultActions__fixedResponse="DefaultActions.FixedResponseConfig",
            defaultActions__forward="DefaultActions.ForwardConfig",
        ),
        "aws:lb/listenerRule:ListenerRule": _call(
            "elbv2",
            "CreateRule",
            actions__redirect="Actions.RedirectConfig",
            actions__fixedResponse="Actions.FixedResponseConfig",
            actions__forward="Actions.ForwardConfig",
            conditions__pathPattern="Conditions.PathPatternConfig",
            conditions__hostHeader="Conditions.HostHeaderConfig",
            conditions__httpHeader="Conditions.HttpHeaderConfig",
            conditions__httpRequestMethod="Conditions.HttpRequestMethodConfig",
            conditions__sourceIp="Conditions.SourceIpConfig",
        ),
        "aws:lb/loadBalancer:LoadBalancer": _call(
            "elbv2",
            "CreateLoadBalancer",
            loadBalancerType="Type",
            # internal=true means Scheme internal; a boolean, not the enum.
            internal=None,
            accessLogs=None,
            enableDeletionProtection=None,
            enableHttp2=None,
            dropInvalidHeaderFields=None,
            # LoadBalancerAttribute idle_timeout.timeout_seconds: "The valid range is 1-4000 seconds."
            idleTimeout=Documented(ELB_LB_ATTRIBUTES, minimum=1, maximum=4000),
            # routing.http.desync_mitigation_mode: "monitor, defensive, strictest".
            desyncMitigationMode=Documented(ELB_LB_ATTRIBUTES, allowed=("monitor", "defensive", "strictest")),
        ),
        "aws:lb/targetGroup:TargetGroup": _call(
            "elbv2",
            "CreateTargetGroup",
            healthCheck="",
            healthCheck__enabled="HealthCheckEnabled",
            healthCheck__interval="HealthCheckIntervalSeconds",
            healthCheck__timeout="HealthCheckTimeoutSeconds",
            healthCheck__healthyThreshold="HealthyThresholdCount",
            healthCheck__unhealthyThreshold="UnhealthyThresholdCount",
            healthCheck__path="HealthCheckPath",
            healthCheck__port="HealthCheckPort",
            healthCheck__protocol="HealthCheckProtocol",
            healthCheck__matcher="Matcher.HttpCode",
            # TargetGroupAttribute slow_start.duration_seconds: "The range is 30-900 seconds
            # (15 minutes). The default is 0 seconds (disabled)."
            slowStart=Documented(ELB_TG_ATTRIBUTES, minimum=30, maximum=900, also=(0,)),
            # deregistration_delay.timeout_seconds: "The range is 0-3600 seconds."
            deregistrationDelay=Documented(ELB_TG_ATTRIBUTES, minimum=0, maximum=3600),
            # load_balancing.algorithm.type: "round_robin, least_outstanding_requests, or weighted_random".
            loadBalancingAlgorithmType=Documented(
                ELB_TG_ATTRIBUTES, allowed=("round_robin", "least_outstanding_requests", "weighted_random")
            ),
            stickiness=None,
        ),
        "aws:rds/cluster:Cluster": _call(
            "rds",
            "CreateDBCluster",
            clusterIdentifier="DBClusterIdentifier",
            masterPassword="MasterUserPassword",
            iamDatabaseAuthenticationEnabled="EnableIAMDatabaseAuthentication",
            enabledCloudwatchLogsExports="EnableCloudwatchLogsExports",
            # CreateDBCluster.BackupRetentionPeriod: "Must be a value from 1 to 35."
            backupRetentionPeriod=Documented(
                "botocore rds CreateDBClusterMessage.BackupRetentionPeriod documentation", minimum=1, maximum=35
            ),
            # CreateDBCluster.Engine: "Valid Values: aurora-mysql aurora-postgresql mysql postgres neptune".
            engine=Documented(
                "botocore rds CreateDBClusterMessage.Engine documentation",
                allowed=("aurora-mysql", "aurora-postgresql", "mysql", "postgres", "neptune"),
            ),
            allowMajorVersionUpgrade="rds:ModifyDBCluster:AllowMajorVersionUpgrade",
            # Read when the cluster is deleted.
            skipFinalSnapshot="rds:DeleteDBCluster:SkipFinalSnapshot",
            finalSnapshotIdentifier="rds:DeleteDBCluster:FinalDBSnapshotIdentifier",
            applyImmediately=None,
            deleteAutomatedBackups="rds:DeleteDBCluster:DeleteAutomatedBackups",
        ),
        "aws:rds/clusterInstance:ClusterInstance": _call(
            "rds",
            "CreateDBInstance",
            identifier="DBInstanceIdentifier",
            clusterIdentifier="DBClusterIdentifier",
            instanceClass="DBInstanceClass",
            performanceInsightsEnabled="EnablePerformanceInsights",
            # CreateDBInstance.PromotionTier: "Valid Values: 0 - 15".
            promotionTier=Documented(
                "botocore rds CreateDBInstanceMessage.PromotionTier documentation", minimum=0, maximum=15
            ),
            applyImmediately=None,
        ),
        "aws:rds/globalCluster:GlobalCluster": _call(
            "rds",
            "CreateGlobalCluster",
            # CreateGlobalCluster.Engine: "Valid Values: aurora-mysql | aurora-postgresql".
            engine=Documented(
                "botocore rds CreateGlobalClusterMessage.Engine documentation",
                allowed=("aurora-mysql", "aurora-postgresql"),
            ),
            # Removes the members before deleting: the provider's own loop.
            forceDestroy=None,
        ),
        "aws:rds/subnetGroup:SubnetGroup": _call(
            "rds", "CreateDBSubnetGroup", name="DBSubnetGroupName", description="DBSubnetGroupDescription"
        ),
        "aws:route53/healthCheck:HealthCheck": _call(
            "route53",
            "CreateHealthCheck",
            "HealthCheckConfig",
            fqdn="HealthCheckConfig.FullyQualifiedDomainName",
            childHealthchecks="HealthCheckConfig.ChildHealthChecks",
            childHealthThreshold="HealthCheckConfig.HealthThreshold",
            invertHealthcheck="HealthCheckConfig.Inverted",
            ipAddress="HealthCheckConfig.IPAddress",
            cloudwatchAlarmName="HealthCheckConfig.AlarmIdentifier.Name",
            cloudwatchAlarmRegion="HealthCheckConfig.AlarmIdentifier.Region",
            referenceName=None,
        ),
        "aws:route53/record:Record": _call(
            "route53",
            "ChangeResourceRecordSets",
            "ChangeBatch.Changes.ResourceRecordSet",
            zoneId="HostedZoneId",
            ttl="ChangeBatch.Changes.ResourceRecordSet.TTL",
            records="ChangeBatch.Changes.ResourceRecordSet.ResourceRecords.Value",
            aliases="ChangeBatch.Changes.ResourceRecordSet.AliasTarget",
            aliases__name="ChangeBatch.Changes.ResourceRecordSet.AliasTarget.DNSName",
            aliases__zoneId="ChangeBatch.Changes.ResourceRecordSet.AliasTarget.HostedZoneId",
            latencyRoutingPolicies__region="ChangeBatch.Changes.ResourceRecordSet.Region",
            geolocationRoutingPolicies="ChangeBatch.Changes.ResourceRecordSet.GeoLocation",
            geolocationRoutingPolicies__continent="ChangeBatch.Changes.ResourceRecordSet.GeoLocation.ContinentCode",
            geolocationRoutingPolicies__country="ChangeBatch.Changes.ResourceRecordSet.GeoLocation.CountryCode",
            geolocationRoutingPolicies__subdivision=(
                "ChangeBatch.Changes.ResourceRecordSet.GeoLocation.SubdivisionCode"
            ),
            failoverRoutingPolicies__type="ChangeBatch.Changes.ResourceRecordSet.Failover",
            weightedRoutingPolicies__weight="ChangeBatch.Changes.ResourceRecordSet.Weight",
            allowOverwrite=None,
        ),
        "aws:s3/bucket:Bucket": _call("s3", "CreateBucket", forceDestroy=None),
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _call(
            "s3",
            "PutBucketLifecycleConfiguration",
            rules="LifecycleConfiguration.Rules",
            rules__id="LifecycleConfiguration.Rules.ID",
        ),
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _call(
            "s3", "PutBucketOwnershipControls", rule="OwnershipControls.Rules"
        ),
        "aws:s3/bucketPolicy:BucketPolicy": _call("s3", "PutBucketPolicy"),
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _call(
            "s3",
            "PutPublicAccessBlock",
            blockPublicAcls="PublicAccessBlockConfiguration.BlockPublicAcls",
            blockPublicPolicy="PublicAccessBlockConfiguration.BlockPublicPolicy",
            ignorePublicAcls="PublicAccessBlockConfiguration.IgnorePublicAcls",
            restrictPublicBuckets="PublicAccessBlockConfiguration.RestrictPublicBuckets",
        ),
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig": _call(
            "s3",
            "PutBucketReplication",
            role="ReplicationConfiguration.Role",
            rules="ReplicationConfiguration.Rules",
            rules__destination__replicationTime__time__minutes=S3_REPLICATION_MINUTES,
            rules__destination__metrics__eventThreshold__minutes=S3_REPLICATION_MINUTES,
        ),
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _call(
            "s3", "PutBucketEncryption", rules="ServerSideEncryptionConfiguration.Rules"
        ),
        "aws:s3/bucketVersioning:BucketVersioning": _call("s3", "PutBucketVersioning"),
        "aws:secretsmanager/secret:Secret": _call(
            "secretsmanager",
            "CreateSecret",
            replicas="AddReplicaRegions",
            policy="secretsmanager:PutResourcePolicy:ResourcePolicy",
            # DeleteSecret.RecoveryWindowInDays: "The number of days from 7 to 30"; the provider
            # sends ForceDeleteWithoutRecovery instead for 0.
            recoveryWindowInDays=Documented(
                "botocore secretsmanager DeleteSecretRequest.RecoveryWindowInDays documentation",
                minimum=7,
                maximum=30,
                also=(0,),
            ),
        ),
        "aws:secretsmanager/secretVersion:SecretVersion": _call("secretsmanager", "PutSecretValue"),
        # Topic settings are attributes (string map) of CreateTopic, without constraints.
        # The queue's settings are CreateQueue's Attributes (a string map the model cannot type):
        # their limits as the SQS API reference states them (CreateQueue, "Attributes").
        "aws:sqs/queue:Queue": _call(
            "sqs",
            "CreateQueue",
            name="QueueName",
            delaySeconds=Documented(SQS_ATTRIBUTES, 0, 900),
            messageRetentionSeconds=Documented(SQS_ATTRIBUTES, 60, 1209600),
            visibilityTimeoutSeconds=Documented(SQS_ATTRIBUTES, 0, 43200),
            sqsManagedSseEnabled=Documented(SQS_ATTRIBUTES, allowed=(True, False)),
            # A JSON document in Attributes.RedrivePolicy: the plan tests read it.
            redrivePolicy=None,
        ),
        "aws:sqs/queuePolicy:QueuePolicy": _call(
            # Attributes.Policy: the policy checks (policies/) read the document.
            "sqs",
            "SetQueueAttributes",
            queueUrl="QueueUrl",
            policy=None,
        ),
        "aws:lambda/function:Function": _call(
            "lambda",
            "CreateFunction",
            name="FunctionName",
            # The provider zips the archive into Code.ZipFile.
            code=None,
        ),
        "aws:lambda/eventSourceMapping:EventSourceMapping": _call("lambda", "CreateEventSourceMapping"),
        "aws:cloudwatch/eventRule:EventRule": _call("events", "PutRule"),
        "aws:cloudwatch/eventTarget:EventTarget": _call(
            "events", "PutTargets", arn="Targets.Arn", targetId="Targets.Id"
        ),
        "aws:sns/topic:Topic": _call(
            "sns",
            "CreateTopic",
            displayName=None,
            kmsMasterKeyId=None,
            policy=None,
            deliveryPolicy=None,
            fifoTopic=None,
            contentBasedDeduplication=None,
        ),
        "aws:sns/topicPolicy:TopicPolicy": _call("sns", "SetTopicAttributes", arn="TopicArn", policy="AttributeValue"),
        "aws:sns/topicSubscription:TopicSubscription": _call(
            "sns", "Subscribe", topic="TopicArn", endpointAutoConfirms=None, confirmationTimeoutInMinutes=None
        ),
        "aws:scheduler/schedule:Schedule": _call("scheduler", "CreateSchedule"),
        "aws:ssm/document:Document": _call("ssm", "CreateDocument"),
        "aws:ssm/parameter:Parameter": _call("ssm", "PutParameter", value="Value", insecureValue="Value"),
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _call(
            "ec2", "AuthorizeSecurityGroupEgress", "", **_SECURITY_GROUP_RULE
        ),
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _call(
            "ec2", "AuthorizeSecurityGroupIngress", "", **_SECURITY_GROUP_RULE
        ),
    }
)

ALI_DOCS = "terraform-provider-alicloud website/docs/r/"
ESS_TASK_API = (
    "https://alibabacloud.com/help/en/auto-scaling/developer-reference/api-modifyscheduledtask (ScheduledTaskName)"
)

#: Limits Alibaba documents per argument, in its API reference or the provider's pages (no
#: Alibaba API model ships with the SDKs here). A path ending in ``#len`` measures a string.
ALICLOUD_DOCUMENTED: Mapping[str, Mapping[str, Documented]] = MappingProxyType(
    {
        "alicloud:ess/scheduledTask:ScheduledTask": {
            # The API reference: "The name of a scheduled task must be 2 to 64 characters" (the
            # provider's and ROS's pages still say 2-40; the API is what refuses a name).
            "scheduledTaskName#len": Documented(ESS_TASK_API, 2, 64),
            "description#len": Documented(ALI_DOCS + "ess_scheduled_task.html.markdown", 2, 200),
            # The provider validates 0-21600 (validateIntegerInRange), as ROS documents.
            "launchExpirationTime": Documented(
                "terraform-provider-alicloud alicloud/resource_alicloud_ess_scheduled_task.go", 0, 21600
            ),
        },
        "alicloud:alb/serverGroup:ServerGroup": {
            "serverGroupName#len": Documented(ALI_DOCS + "alb_server_group.html.markdown", 2, 128),
            "scheduler": Documented(ALI_DOCS + "alb_server_group.html.markdown", allowed=("Wrr", "Wlc", "Sch")),
            "healthCheckConfig.healthCheckInterval": Documented(ALI_DOCS + "alb_server_group.html.markdown", 1, 50),
            "healthCheckConfig.healthCheckTimeout": Documented(ALI_DOCS + "alb_server_group.html.markdown", 1, 300),
            "healthCheckConfig.healthyThreshold": Documented(ALI_DOCS + "alb_server_group.html.markdown", 2, 10),
            "healthCheckConfig.unhealthyThreshold": Documented(ALI_DOCS + "alb_server_group.html.markdown", 2, 10),
            "connectionDrainConfig.connectionDrainTimeout": Documented(
                ALI_DOCS + "alb_server_group.html.markdown", 0, 900
            ),
            "slowStartConfig.slowStartDuration": Documented(ALI_DOCS + "alb_server_group.html.markdown", 30, 900),
            "servers.weight": Documented(ALI_DOCS + "alb_server_group.html.markdown", 0, 100),
            "servers.port": Documented(ALI_DOCS + "alb_server_group.html.markdown", 1, 65535),
        },
        "alicloud:alb/rule:Rule": {
            "priority": Documented(ALI_DOCS + "alb_rule.html.markdown", 1, 10000),
            "ruleName#len": Documented(ALI_DOCS + "alb_rule.html.markdown", 2, 128),
        },
    }
)
