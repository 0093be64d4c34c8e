"""What the AWS regions' data stores share: the Aurora global database itself and its master
credentials (created before the regions' clusters), then, once every region's stores exist,
the master secret replicated to every region and the media buckets' replication."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.aws import policies
from components.aws.alarms import routed_alarm
from components.aws.data import naming
from components.aws.data.settings import DataSettings
from components.aws.s3_replication import RTC_MINUTES, replication_rule

TYPE = "courier:aws:SharedData"
REPLICATION_TYPE = "courier:aws:DataReplication"


@dataclass(frozen=True)
class SharedDataArgs:
    settings: DataSettings
    #: The origin region (its provider creates the global database).
    origin_region: str
    #: Generates the master password (components.providers.random_provider).
    random_provider: random.Provider


class SharedData(pulumi.ComponentResource):
    """The global database and the master password, made before any region's cluster."""

    global_cluster_identifier: pulumi.Output[str]
    global_writer_endpoint: pulumi.Output[str]
    master_password: pulumi.Output[str]

    def __init__(self, name: str, args: SharedDataArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        s = args.settings
        password = random.RandomPassword(
            f"{name}-database-master",
            length=40,
            # RDS refuses '/', '"', '@' and spaces in a master password.
            special=True,
            override_special="!#$%^&*()-_=+[]{}:?",
            opts=pulumi.ResourceOptions(parent=self, provider=args.random_provider),
        )
        self.master_password = pulumi.Output.secret(password.result)
        cluster = aws.rds.GlobalCluster(
            f"{name}-database",
            global_cluster_identifier=naming.global_cluster(s.stack),
            engine="aurora-postgresql",
            engine_version=s.engine_version,
            database_name="courier",
            storage_encrypted=True,
            deletion_protection=s.deletion_protection,
            force_destroy=False,
            tags={**s.tags, "service": "data"},
            opts=pulumi.ResourceOptions(parent=self, protect=s.protect),
        )
        self.global_cluster_identifier = cluster.global_cluster_identifier
        self.global_writer_endpoint = cluster.endpoint
        self.register_outputs({"globalClusterIdentifier": self.global_cluster_identifier})


@dataclass(frozen=True)
class MediaBucket:
    region: str
    code: str
    provider: aws.Provider
    bucket: aws.s3.Bucket
    key_arn: pulumi.Input[str]
    versioning: aws.s3.BucketVersioning
    #: A lost region's bucket keeps its configuration; it receives from nobody.
    lost: bool = False


@dataclass(frozen=True)
class DataReplicationArgs:
    settings: DataSettings
    origin_region: str
    origin_provider: aws.Provider
    #: Every AWS region's media bucket, lost ones included.
    buckets: Sequence[MediaBucket]
    #: Region -> the data key alias's resource there (a secret replica is encrypted with it).
    aliases: Mapping[str, pulumi.Resource]
    global_writer_endpoint: pulumi.Input[str]
    master_password: pulumi.Input[str]
    #: Options for the resources of a lost region (kept as they are).
    lost_options: Mapping[str, pulumi.ResourceOptions]
    #: Region -> its on-call topics (role -> SNS topic ARN), for the replication alarms.
    topic_arns: Mapping[str, Mapping[str, pulumi.Input[str]]] = field(default_factory=dict)


class DataReplication(pulumi.ComponentResource):
    """The master secret in Secrets Manager, replicated to every AWS region with that region's
    key (global clusters cannot use the master password RDS manages), and each media bucket's
    replication to every other serving region's bucket: Replication Time Control and its metrics
    at 15 minutes, delete markers replicated, SSE-KMS objects re-encrypted with the destination's
    key, replica changes synced back (the buckets replicate both ways)."""

    def __init__(self, name: str, args: DataReplicationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(REPLICATION_TYPE, name, None, opts)
        s = args.settings
        self._args = args
        replicas = [b for b in args.buckets if b.region != args.origin_region]
        secret = aws.secretsmanager.Secret(
            f"{name}-database-master",
            name=naming.master_secret(s.stack),
            description="Master credentials of the orders global database (admin only; services use IAM auth)",
            kms_key_id=naming.key_alias(s.stack),
            recovery_window_in_days=30,
            replicas=[
                aws.secretsmanager.SecretReplicaArgs(region=b.region, kms_key_id=naming.key_alias(s.stack))
                for b in replicas
            ],
            tags={**s.tags, "service": "data"},
            opts=self._options(
                args.origin_region, depends_on=[args.aliases[r] for r in sorted(args.aliases)], protect=s.protect
            ),
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-database-master",
            secret_id=secret.id,
            secret_string=pulumi.Output.all(args.global_writer_endpoint, args.master_password).apply(
                lambda values: json.dumps(
                    {
                        "engine": "postgres",
                        "host": values[0],
                        "port": naming.DATABASE_PORT,
                        "dbname": "courier",
                        "username": naming.MASTER_USER,
                        "password": values[1],
                    },
                    sort_keys=True,
                )
            ),
            opts=self._options(args.origin_region),
        )
        for source in args.buckets:
            targets = [b for b in args.buckets if b is not source and not b.lost]
            if targets:
                self._media_replication(name, source, targets)
        self.register_outputs({})

    def _options(self, region: str, **extra: object) -> pulumi.ResourceOptions:
        provider = next((b.provider for b in self._args.buckets if b.region == region), self._args.origin_provider)
        base = pulumi.ResourceOptions(parent=self, provider=provider, **extra)  # type: ignore[arg-type]
        lost = self._args.lost_options.get(region)
        return pulumi.ResourceOptions.merge(base, lost) if lost is not None else base

    def _media_replication(self, name: str, source: MediaBucket, targets: Sequence[MediaBucket]) -> None:
        s = self._args.settings
        prefix = f"{name}-{source.code}-media"
        role = aws.iam.Role(
            f"{prefix}-replication",
            assume_role_policy=policies.assume_role("s3.amazonaws.com"),
            description=f"S3 replication of the {source.region} media bucket to the other regions",
            tags={**s.tags, "service": "data"},
            opts=self._options(source.region),
        )
        document = pulumi.Output.all(
            source.bucket.arn,
            source.key_arn,
            *[t.bucket.arn for t in targets],
            *[t.key_arn for t in targets],
        ).apply(
            lambda values: _replication_policy(
                values[0], values[1], values[2 : 2 + len(targets)], values[2 + len(targets) :]
            )
        )
        policy = aws.iam.RolePolicy(
            f"{prefix}-replication", role=role.id, policy=document, opts=self._options(source.region)
        )
        aws.s3.BucketReplicationConfig(
            f"{prefix}-replication",
            bucket=source.bucket.id,
            role=role.arn,
            rules=[
                replication_rule(f"to-{target.code}", index, target.bucket.arn, target.key_arn)
                for index, target in enumerate(targets)
            ],
            # Replication needs versioning on the source and every destination first.
            opts=self._options(source.region, depends_on=[policy, source.versioning, *[t.versioning for t in targets]]),
        )
        topics = self._args.topic_arns.get(source.region)
        if topics:
            for target in targets:
                self._replication_alarms(prefix, source, target, topics)

    def _replication_alarms(
        self, prefix: str, source: MediaBucket, target: MediaBucket, topics: Mapping[str, pulumi.Input[str]]
    ) -> None:
        """S3 publishes Replication Time Control's metrics per rule in the source region: the
        oldest object still waiting (seconds) and the objects that failed to replicate."""
        s = self._args.settings
        dimensions = pulumi.Output.all(source.bucket.bucket, target.bucket.bucket).apply(
            lambda names: {"SourceBucket": names[0], "DestinationBucket": names[1], "RuleId": f"to-{target.code}"}
        )
        for suffix, metric, statistic, threshold, periods, what in (
            (
                "lag",
                "ReplicationLatency",
                "Maximum",
                RTC_MINUTES * 60,
                3,
                f"objects waiting more than {RTC_MINUTES} minutes",
            ),
            ("failed", "OperationsFailedReplication", "Sum", 0, 1, "objects that failed to replicate"),
        ):
            routed_alarm(
                f"{prefix}-{suffix}-{target.code}",
                service="data",
                severity="warning",
                category="data",
                runbook="DataReplicationLag",
                topic_arns=topics,
                runbook_base_url=s.runbook_base_url,
                tags={**s.tags, "service": "data", "store": "S3"},
                settings=aws.cloudwatch.MetricAlarmArgs(
                    alarm_description=f"Media replication {source.region} -> {target.region}: {what}",
                    namespace="AWS/S3",
                    metric_name=metric,
                    dimensions=dimensions,
                    statistic=statistic,
                    period=300,
                    evaluation_periods=periods,
                    datapoints_to_alarm=periods,
                    threshold=float(threshold),
                    comparison_operator="GreaterThanThreshold",
                    # Published only while objects replicate: nothing to replicate is not late.
                    treat_missing_data="notBreaching",
                ),
                parent=self,
                opts=self._options(source.region),
            )


def _replication_policy(
    source_arn: str, source_key: str, target_arns: Sequence[str], target_keys: Sequence[str]
) -> str:
    """What S3 replication may do (the S3 user guide's "setting up permissions", with SSE-KMS):
    read the source's versions, replicate into the destinations, decrypt with the source's key
    and encrypt with each destination's."""
    return policies.document(
        {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": source_arn},
        {
            "Effect": "Allow",
            "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
            "Resource": f"{source_arn}/*",
        },
        {
            "Effect": "Allow",
            "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            "Resource": [f"{arn}/*" for arn in target_arns],
        },
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": source_key},
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": list(target_keys)},
    )
