"""Data: databases, tables, caches and buckets survive a zone, a bad deploy and a stray destroy,
and keep what they hold encrypted and private. (Replication to another region: replication.py.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, StackValidationArgs

from guardrails.common import (
    CACHE_GROUP,
    DYNAMODB_REPLICA,
    DYNAMODB_TABLE,
    RDS_CLUSTER,
    RDS_INSTANCE,
    S3_BUCKET,
    S3_PUBLIC_ACCESS_BLOCK,
    Report,
    Setting,
    declared,
    get,
    num,
    of_type,
    points_at,
    resource_policy,
    setting,
    stack_policy,
)

DATABASES = [RDS_INSTANCE, RDS_CLUSTER]
S3_ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
MIN_RETENTION = Setting(
    "minRetentionDays", {"type": "integer", "minimum": 1, "default": 7, "description": "Days of automated backups."}
)


@resource_policy(
    "aws-rds-multi-az",
    "Database instances run in more than one zone (Aurora clusters get replicas across zones).",
    [RDS_INSTANCE],
)
def multi_az(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if not get(args.props, "multiAz", default=False) and not get(args.props, "replicateSourceDb"):
        report(f"{args.name} runs in one zone; set multiAz to true.")


@resource_policy("aws-rds-encrypted", "Databases are encrypted at rest.", DATABASES)
def encrypted(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if not get(args.props, "storageEncrypted", default=False):
        report(f"{args.name} stores data unencrypted; set storageEncrypted to true (with a KMS key).")


@resource_policy(
    "aws-rds-backup-retention",
    "Databases keep automated backups for at least `minRetentionDays` days.",
    DATABASES,
    MIN_RETENTION,
)
def backups(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    wanted = setting(config, MIN_RETENTION)
    if get(args.props, "backupRetentionPeriod", default=0) < wanted:
        report(
            f"{args.name} keeps {num(get(args.props, 'backupRetentionPeriod', default=0))} days of backups; set backupRetentionPeriod to {num(wanted)} or more."
        )


@resource_policy("aws-rds-deletion-protection", "Databases have deletion protection.", DATABASES)
def deletion_protection(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if not get(args.props, "deletionProtection", default=False):
        report(f"{args.name} can be deleted by a stray destroy; set deletionProtection to true.")


@resource_policy("aws-rds-final-snapshot", "Deleting a database leaves a final snapshot.", DATABASES)
def final_snapshot(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if get(args.props, "skipFinalSnapshot", default=False) or not get(args.props, "finalSnapshotIdentifier"):
        report(
            f"{args.name} would be deleted without a final snapshot; set finalSnapshotIdentifier and skipFinalSnapshot false."
        )


@resource_policy("aws-rds-protected", "Databases are `protect`ed in the Pulumi state.", DATABASES)
def protected(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if not args.opts.protect:
        report(f"{args.name} is not protected; declare it with ResourceOptions(protect=True).")


# -- DynamoDB ---------------------------------------------------------------------------------------


@resource_policy(
    "aws-dynamodb-table-point-in-time-recovery",
    "DynamoDB tables and their replicas keep point-in-time recovery.",
    [DYNAMODB_TABLE, DYNAMODB_REPLICA],
)
def table_point_in_time_recovery(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    # A table takes {enabled, recoveryPeriodInDays}; a replica a plain flag.
    if args.resource_type == DYNAMODB_TABLE:
        enabled, fix = get(args.props, "pointInTimeRecovery", "enabled", default=False), "pointInTimeRecovery.enabled"
    else:
        enabled, fix = get(args.props, "pointInTimeRecovery", default=False), "pointInTimeRecovery"
    if not enabled:
        report(
            f"{args.name} cannot be restored to a point in time (a bad write or delete is for good); set {fix} to true."
        )


@resource_policy(
    "aws-dynamodb-table-encrypted",
    "DynamoDB tables are encrypted with a KMS key (serverSideEncryption), not only with a key DynamoDB owns.",
    [DYNAMODB_TABLE],
)
def table_encrypted(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if not get(args.props, "serverSideEncryption", "enabled", default=False):
        report(
            f"{args.name} is encrypted only with a key DynamoDB owns; set serverSideEncryption "
            "{enabled: true, kmsKeyArn: <the region's customer-managed key>}."
        )


# -- ElastiCache ------------------------------------------------------------------------------------


@resource_policy(
    "aws-elasticache-replication-group-encrypted",
    "ElastiCache replication groups encrypt data at rest and in transit (a Global Datastore's "
    "secondaries take both from its primary).",
    [CACHE_GROUP],
)
def cache_encrypted(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if declared(args.props, "globalReplicationGroupId"):
        return  # a secondary: encryption is the Global Datastore's, set on its primary
    off = [k for k in ("atRestEncryptionEnabled", "transitEncryptionEnabled") if not get(args.props, k, default=False)]
    if off:
        report(f"{args.name} keeps data unencrypted ({', '.join(off)} not set); set {' and '.join(off)} to true.")


# -- S3 ---------------------------------------------------------------------------------------------


@stack_policy(
    "aws-s3-bucket-public-access-block",
    "Every S3 bucket blocks public access: a BucketPublicAccessBlock (or the account's) with all four settings true.",
)
def bucket_public_access(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if any(
        all(get(a.props, f, default=False) for f in PUBLIC_ACCESS_FLAGS)
        for a in of_type(args, S3_ACCOUNT_PUBLIC_ACCESS_BLOCK)
    ):
        return
    blocks = of_type(args, S3_PUBLIC_ACCESS_BLOCK)
    for bucket in of_type(args, S3_BUCKET):
        mine = [b for b in blocks if points_at(b, "bucket", bucket, "bucket")]
        if not mine:
            report(
                f"{bucket.name} has no public access block; declare an s3.BucketPublicAccessBlock for it with "
                f"{', '.join(PUBLIC_ACCESS_FLAGS)} true.",
                bucket.urn,
            )
            continue
        off = sorted({f for b in mine for f in PUBLIC_ACCESS_FLAGS if not get(b.props, f, default=False)})
        if off:
            report(f"{bucket.name}'s public access block leaves {', '.join(off)} off; set them to true.", bucket.urn)
