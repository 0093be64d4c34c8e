"""OnCallTopics: one encrypted SNS topic per on-call role in a region."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws import policies
from components.spec import RECEIVERS

TYPE = "courier:aws:OnCallTopics"

#: Services that publish alerts: CloudWatch alarms, and Amazon Managed Prometheus alertmanager.
PUBLISHERS = ("cloudwatch.amazonaws.com", "aps.amazonaws.com")


@dataclass(frozen=True)
class Subscription:
    #: email | https | sms
    protocol: str
    #: The address; secret when it came from a secret config value.
    endpoint: pulumi.Input[str]


@dataclass(frozen=True)
class OnCallTopicsArgs:
    #: Receivers that get a topic: the on-call roles and the dead man's switch.
    roles: Sequence[str] = RECEIVERS
    #: Role -> who is subscribed to its topic.
    subscriptions: Mapping[str, Sequence[Subscription]] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


class OnCallTopics(pulumi.ComponentResource):
    """A customer-managed KMS key (rotated yearly), one SNS topic per role encrypted with it,
    and the role's subscribers (email, HTTPS endpoints of incident tools, SMS). The AWS-managed ``alias/aws/sns`` key cannot be used: its key policy does not let
    CloudWatch alarms publish, so alarms would fail silently on the worst day."""

    topic_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: OnCallTopicsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))

        key = aws.kms.Key(
            f"{name}-alerts",
            description="Encrypts the on-call alert topics",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=identity.account_id.apply(_key_policy),
            tags=tags,
            opts=child,
        )
        aws.kms.Alias(f"{name}-alerts", name=f"alias/courier-{name}-alerts", target_key_id=key.key_id, opts=child)

        self.topic_arns = {}
        for role in args.roles:
            topic = aws.sns.Topic(
                f"{name}-{role}",
                display_name=f"courier {role}",
                kms_master_key_id=key.arn,
                tags={**tags, "oncall-role": role},
                opts=child,
            )
            aws.sns.TopicPolicy(
                f"{name}-{role}",
                arn=topic.arn,
                policy=pulumi.Output.all(topic.arn, identity.account_id).apply(
                    lambda values: _topic_policy(values[0], values[1])
                ),
                opts=child,
            )
            for index, subscription in enumerate(args.subscriptions.get(role, ())):
                aws.sns.TopicSubscription(
                    f"{name}-{role}-{index}",
                    topic=topic.arn,
                    protocol=subscription.protocol,
                    endpoint=subscription.endpoint,
                    opts=child,
                )
            self.topic_arns[role] = topic.arn
        self.register_outputs({"topicArns": self.topic_arns})


def _key_policy(account_id: str) -> str:
    return policies.document(
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "AlertPublishersEncrypt",
            "Effect": "Allow",
            "Principal": {"Service": list(PUBLISHERS)},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
    )


def _topic_policy(topic_arn: str, account_id: str) -> str:
    return policies.document(
        {
            "Sid": "AlertPublishers",
            "Effect": "Allow",
            "Principal": {"Service": list(PUBLISHERS)},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
        {
            "Sid": "AccountManages",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": [
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:ListSubscriptionsByTopic",
                "sns:Publish",
            ],
            "Resource": topic_arn,
        },
    )
