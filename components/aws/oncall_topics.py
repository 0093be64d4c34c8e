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
CLOUDWATCH = "cloudwatch.amazonaws.com"
AMP = "aps.amazonaws.com"
PUBLISHERS = (CLOUDWATCH, AMP)

#: Protocols whose subscriptions stay PendingConfirmation until the endpoint confirms them
#: (pulumi-aws TopicSubscription: "partially supported"); sms, sqs, lambda... are confirmed at once.
CONFIRMED_BY_ENDPOINT = ("email", "email-json", "http", "https")
#: The tag on a topic listing its subscriptions a person must still confirm (see OnCallTopics).
AWAITING_CONFIRMATION_TAG = "awaiting-confirmation"


@dataclass(frozen=True)
class Subscription:
    #: email | https | sms
    protocol: str
    #: The address; secret when it came from a secret config value.
    endpoint: pulumi.Input[str]
    #: The endpoint confirms the subscription itself (an http(s) receiver that fetches the
    #: SubscribeURL SNS sends it): `up` waits for the confirmation instead of leaving it pending.
    auto_confirms: bool = False

    @property
    def awaits_confirmation(self) -> bool:
        """After `up`, the subscription receives nothing until someone confirms it."""
        return awaits_confirmation(self.protocol, self.auto_confirms)


def awaits_confirmation(protocol: str, auto_confirms: bool = False) -> bool:
    """Whether an SNS subscription with these inputs stays PendingConfirmation after `up`
    (what a plan reader can compute from a TopicSubscription's ``protocol`` and
    ``endpointAutoConfirms`` inputs)."""
    return protocol in CONFIRMED_BY_ENDPOINT and not auto_confirms


@dataclass(frozen=True)
class OnCallTopicsArgs:
    #: Receivers that get a topic: the on-call roles and the dead man's switch.
    roles: Sequence[str] = RECEIVERS
    #: Role -> who is subscribed to its topic.
    subscriptions: Mapping[str, Sequence[Subscription]] = field(default_factory=dict)
    #: The stack, in names that must be unique per account and region (the key's alias):
    #: dev, staging and prod may share an account.
    stack: str = "dev"
    tags: Mapping[str, str] = field(default_factory=dict)


class OnCallTopics(pulumi.ComponentResource):
    """A customer-managed KMS key (rotated yearly), one SNS topic per role encrypted with it,
    and the role's subscribers (email, HTTPS endpoints of incident tools, SMS). The AWS-managed
    ``alias/aws/sns`` key cannot be used: its key policy does not let CloudWatch alarms
    publish, so alarms would fail silently on the worst day.

    Email (and https without ``auto_confirms``) subscriptions wait for a person to confirm
    them: ``awaiting_confirmation`` lists them (``<role>-<index>`` of the subscription, the
    protocol), as does each topic's AWAITING_CONFIRMATION_TAG."""

    topic_arns: dict[str, pulumi.Output[str]]
    #: ``<role>-<index>: <protocol>`` of every subscription that stays PendingConfirmation.
    awaiting_confirmation: list[str]

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
        aws.kms.Alias(
            f"{name}-alerts", name=f"alias/courier-{args.stack}-{name}-alerts", target_key_id=key.key_id, opts=child
        )

        self.topic_arns = {}
        self.awaiting_confirmation = []
        for role in args.roles:
            subscriptions = list(args.subscriptions.get(role, ()))
            pending = [
                f"{role}-{index}: {s.protocol}" for index, s in enumerate(subscriptions) if s.awaits_confirmation
            ]
            self.awaiting_confirmation += pending
            topic_tags = {**tags, "oncall-role": role}
            if pending:
                # Tag values allow letters, digits, spaces and + - = . _ : / @ (no commas).
                listed = " ".join(p.split(":")[0] for p in pending)
                topic_tags[AWAITING_CONFIRMATION_TAG] = (
                    listed if len(listed) <= 256 else f"{len(pending)} subscriptions"
                )
            topic = aws.sns.Topic(
                f"{name}-{role}",
                display_name=f"courier {role}",
                kms_master_key_id=key.arn,
                tags=topic_tags,
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
            for index, subscription in enumerate(subscriptions):
                aws.sns.TopicSubscription(
                    f"{name}-{role}-{index}",
                    topic=topic.arn,
                    protocol=subscription.protocol,
                    endpoint=subscription.endpoint,
                    endpoint_auto_confirms=subscription.auto_confirms or None,
                    opts=child,
                )
            self.topic_arns[role] = topic.arn
        self.register_outputs({"topicArns": self.topic_arns, "awaitingConfirmation": self.awaiting_confirmation})


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
            "Sid": "CloudWatchAlarmsEncrypt",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDWATCH},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
        # As AMP's guide grants it ("Giving Amazon Managed Service for Prometheus permission to
        # send alert messages to your Amazon SNS topic"): without source conditions, which the
        # guide documents on the topic policy (below), not on the key. The key encrypts only
        # these topics, and only a publish the topic policy allows reaches it.
        {
            "Sid": "ManagedPrometheusEncrypt",
            "Effect": "Allow",
            "Principal": {"Service": AMP},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
        },
    )


def _topic_policy(topic_arn: str, account_id: str) -> str:
    region = topic_arn.split(":")[3]
    partition = topic_arn.split(":")[1]
    return policies.document(
        {
            "Sid": "CloudWatchAlarms",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDWATCH},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
        # AMP's guide grants Publish and GetTopicAttributes, scoped to the workspace by
        # aws:SourceArn and to the account by aws:SourceAccount (confused-deputy prevention; a
        # wildcard for the unknown part of the ARN is the guide's advice when the ARN is not
        # known: the workspace is created after the topics).
        {
            "Sid": "ManagedPrometheusAlerts",
            "Effect": "Allow",
            "Principal": {"Service": AMP},
            "Action": ["sns:GetTopicAttributes", "sns:Publish"],
            "Resource": topic_arn,
            "Condition": {
                "ArnLike": {"aws:SourceArn": f"arn:{partition}:aps:{region}:{account_id}:workspace/*"},
                "StringEquals": {"aws:SourceAccount": account_id},
            },
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
