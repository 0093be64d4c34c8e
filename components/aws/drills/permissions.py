"""The experiment roles' IAM statements: per FIS action, the permissions the AWS FIS actions
reference lists for it ("AWS FIS Actions reference", docs.aws.amazon.com/fis/latest/userguide/
fis-actions-reference.html), scoped to the stack's resources in the region by ARN and tag, and
the logging permissions of "Experiment logging" (same guide). Pure: plain JSON statements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Statement = dict[str, Any]

#: FIS logging to CloudWatch Logs (FIS user guide, "Experiment logging permissions").
LOGGING: Statement = {
    "Sid": "ExperimentLogs",
    "Effect": "Allow",
    "Action": [
        "logs:CreateLogDelivery",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    ],
    "Resource": "*",
}


def _tagged(tags: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {"StringEquals": {f"aws:ResourceTag/{k}": v for k, v in tags.items()}}


def instances(region: str, account: str, tags: Mapping[str, str], *actions: str) -> list[Statement]:
    """aws:ec2:stop-instances / terminate-instances on the tagged instances of the region."""
    return [
        {
            "Sid": "TaggedInstances",
            "Effect": "Allow",
            "Action": list(actions),
            "Resource": f"arn:aws:ec2:{region}:{account}:instance/*",
            "Condition": _tagged(tags),
        },
        {"Sid": "DescribeInstances", "Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"},
    ]


def restart_encrypted(region: str, account: str) -> Statement:
    """stop-instances with startInstancesAfterDuration restarts instances whose volumes are
    encrypted: kms:CreateGrant for EC2 only."""
    return {
        "Sid": "RestartEncryptedVolumes",
        "Effect": "Allow",
        "Action": "kms:CreateGrant",
        "Resource": f"arn:aws:kms:{region}:{account}:key/*",
        "Condition": {
            "StringEquals": {"kms:ViaService": f"ec2.{region}.amazonaws.com"},
            "Bool": {"kms:GrantIsForAWSResource": "true"},
        },
    }


def insufficient_capacity(region: str, account: str) -> list[Statement]:
    """aws:ec2:asg-insufficient-instance-capacity-error: ec2:InjectApiError for this action on
    Auto Scaling groups only (FIS user guide, "Example: Use condition keys for ec2:InjectApiError")."""
    return [
        {
            "Sid": "InjectInsufficientCapacity",
            "Effect": "Allow",
            "Action": "ec2:InjectApiError",
            "Resource": "*",
            "Condition": {
                "ForAnyValue:StringEquals": {"ec2:FisActionId": ["aws:ec2:asg-insufficient-instance-capacity-error"]},
                "ForAllValues:StringLike": {
                    "ec2:FisTargetArns": [f"arn:aws:autoscaling:{region}:{account}:autoScalingGroup:*"]
                },
            },
        },
        {
            "Sid": "DescribeGroups",
            "Effect": "Allow",
            "Action": "autoscaling:DescribeAutoScalingGroups",
            "Resource": "*",
        },
    ]


def disrupt_connectivity(region: str, account: str) -> list[Statement]:
    """aws:network:disrupt-connectivity: FIS clones the subnet's network ACL (tagged
    managedByFIS=true), adds deny entries, swaps the association and cleans up."""
    acl = f"arn:aws:ec2:{region}:{account}:network-acl/*"
    return [
        {
            "Sid": "CreateFisAcl",
            "Effect": "Allow",
            "Action": "ec2:CreateNetworkAcl",
            "Resource": acl,
            "Condition": {"StringEquals": {"aws:RequestTag/managedByFIS": "true"}},
        },
        {
            "Sid": "CreateFisAclInVpc",
            "Effect": "Allow",
            "Action": "ec2:CreateNetworkAcl",
            "Resource": f"arn:aws:ec2:{region}:{account}:vpc/*",
        },
        {
            "Sid": "TagFisAcl",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": acl,
            "Condition": {"StringEquals": {"ec2:CreateAction": "CreateNetworkAcl"}},
        },
        {
            "Sid": "ChangeFisAcl",
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl"],
            "Resource": acl,
            "Condition": {"StringEquals": {"aws:ResourceTag/managedByFIS": "true"}},
        },
        {
            "Sid": "SwapAclAssociation",
            "Effect": "Allow",
            "Action": "ec2:ReplaceNetworkAclAssociation",
            "Resource": [acl, f"arn:aws:ec2:{region}:{account}:subnet/*"],
        },
        {
            "Sid": "DescribeNetwork",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeManagedPrefixLists",
                "ec2:DescribeNetworkAcls",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
                "ec2:GetManagedPrefixListEntries",
            ],
            "Resource": "*",
        },
    ]


def failover_cluster(region: str, account: str, cluster_identifier: str) -> list[Statement]:
    """aws:rds:failover-db-cluster on the region's Aurora cluster only."""
    return [
        {
            "Sid": "FailoverCluster",
            "Effect": "Allow",
            "Action": "rds:FailoverDBCluster",
            "Resource": f"arn:aws:rds:{region}:{account}:cluster:{cluster_identifier}",
        },
        {"Sid": "DescribeClusters", "Effect": "Allow", "Action": "rds:DescribeDBClusters", "Resource": "*"},
    ]


def send_command(region: str, account: str, document: str, tags: Mapping[str, str]) -> list[Statement]:
    """aws:ssm:send-command of one AWS-owned document to the tagged instances (the document is
    untagged: it gets its own statement)."""
    return [
        {
            "Sid": "SendDocument",
            "Effect": "Allow",
            "Action": "ssm:SendCommand",
            "Resource": f"arn:aws:ssm:{region}::document/{document}",
        },
        {
            "Sid": "SendToTaggedInstances",
            "Effect": "Allow",
            "Action": "ssm:SendCommand",
            "Resource": f"arn:aws:ec2:{region}:{account}:instance/*",
            "Condition": _tagged(tags),
        },
        {
            "Sid": "FollowCommands",
            "Effect": "Allow",
            "Action": ["ssm:ListCommands", "ssm:CancelCommand"],
            "Resource": "*",
        },
    ]


def start_automation(region: str, account: str, document: str, automation_role_arn: str) -> list[Statement]:
    """aws:ssm:start-automation-execution of the stack's own runbook, passing its role to SSM."""
    return [
        {
            "Sid": "StartRunbook",
            "Effect": "Allow",
            "Action": "ssm:StartAutomationExecution",
            "Resource": f"arn:aws:ssm:{region}:{account}:automation-definition/{document}:*",
        },
        {
            "Sid": "FollowRunbook",
            "Effect": "Allow",
            "Action": ["ssm:GetAutomationExecution", "ssm:StopAutomationExecution"],
            "Resource": f"arn:aws:ssm:{region}:{account}:automation-execution/*",
        },
        {
            "Sid": "PassRunbookRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": automation_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}},
        },
    ]


def eks_pods(region: str, account: str, cluster_name: str) -> list[Statement]:
    """aws:eks:pod-delete and aws:eks:pod-cpu-stress: the cluster's description and subnets;
    what happens inside the cluster is Kubernetes RBAC's (the fis-experiment user)."""
    return [
        {
            "Sid": "DescribeCluster",
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": f"arn:aws:eks:{region}:{account}:cluster/{cluster_name}",
        },
        {"Sid": "DescribeSubnets", "Effect": "Allow", "Action": "ec2:DescribeSubnets", "Resource": "*"},
    ]


#: Resolving targets by tag (every action above that takes a tagged target lists it).
TAG_RESOLUTION: Statement = {"Sid": "ResolveTargets", "Effect": "Allow", "Action": "tag:GetResources", "Resource": "*"}


def switchover_runbook(account: str, global_cluster: str, cluster_pattern: str) -> list[Statement]:
    """The runbook's own role: switch the global database between its member clusters (which
    one writes before the drill is found when it starts) and watch it."""
    return [
        {
            "Sid": "Switchover",
            "Effect": "Allow",
            "Action": "rds:SwitchoverGlobalCluster",
            "Resource": [
                f"arn:aws:rds::{account}:global-cluster:{global_cluster}",
                f"arn:aws:rds:*:{account}:cluster:{cluster_pattern}",
            ],
        },
        {
            "Sid": "Watch",
            "Effect": "Allow",
            "Action": ["rds:DescribeGlobalClusters", "rds:DescribeDBClusters"],
            "Resource": "*",
        },
    ]
