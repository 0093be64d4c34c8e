"""Data: databases, tables, caches and buckets survive a zone, a bad deploy and a stray destroy,
and keep what they hold encrypted and private. (Replication to another region: replication.py.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, StackValidationArgs

from guardrails.addresses import exposure
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
from guardrails.follow import Unknown, allows, as_list, known, names_of, statements

DATABASES = [RDS_INSTANCE, RDS_CLUSTER]
#: pulumi-aws 7 keeps the v6 name as a deprecated alias of s3.Bucket, with its own type token.
S3_BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
S3_BUCKETS = (S3_BUCKET, S3_BUCKET_V2)
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
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
    for bucket in of_type(args, *S3_BUCKETS):
        # Followed by dependency (the block declared from the bucket's outputs), else by name.
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


# A bucket policy is public unless each statement granting to everyone is pinned by a condition
# with a fixed value on one of these keys: S3's own definition ("The meaning of public", S3 user
# guide; the PublicAccessBlockConfiguration reference lists aws:SourceIp, aws:SourceArn,
# aws:SourceVpc, aws:SourceVpce, aws:SourceOwner, aws:SourceAccount, aws:userid and the KMS key
# id), plus the organization / account keys IAM Access Analyzer treats alike. aws:SourceIp counts
# only when the networks are not open (guardrails.addresses). A Deny (the TLS-only statement every
# bucket carries) never grants anything.
_PINNING_KEYS = {
    "aws:sourcevpce",
    "aws:sourcevpc",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:sourceip",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:userid",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:dataaccesspointaccount",
    "s3:dataaccesspointarn",
}
#: Operators that admit only the listed values. Negated operators, ...IfExists (passes when the key
#: is absent) and ForAllValues: (true for an empty set) pin nothing.
_PINNING_OPERATORS = {
    "stringequals",
    "stringequalsignorecase",
    "stringlike",
    "arnequals",
    "arnlike",
    "ipaddress",
}


def _public_principal(statement: Mapping[str, Any]) -> bool:
    if "NotPrincipal" in statement:
        return True  # everyone but the listed principals
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any("*" in as_list(v) for k, v in principal.items() if k in ("AWS", "CanonicalUser"))
    return False


def _pinned(statement: Mapping[str, Any]) -> bool:
    """Whether a condition fixes who may use the grant (see _PINNING_KEYS)."""
    for operator, clauses in (statement.get("Condition") or {}).items():
        name = str(operator).lower()
        if name.startswith("forallvalues:") or name.endswith("ifexists"):
            continue
        name = name.removeprefix("foranyvalue:")
        if name not in _PINNING_OPERATORS or not isinstance(clauses, Mapping):
            continue
        for key, values in clauses.items():
            values = as_list(values)
            if str(key).lower() not in _PINNING_KEYS or not values:
                continue
            if str(key).lower() == "aws:sourceip":
                if not exposure(values).open and not exposure(values).invalid:
                    return True
            elif not any(ch in str(v) for v in values for ch in "*?"):
                return True
    return False


@resource_policy(
    "aws-s3-bucket-policy-no-public-principal",
    "No S3 bucket policy (s3.BucketPolicy, or a bucket's own policy) allows Principal * unless a "
    "condition pins it to fixed networks, endpoints, accounts or the organization.",
    [S3_BUCKET_POLICY, *S3_BUCKETS],
)
def bucket_policy_not_public(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    document = known(lambda: get(args.props, "policy"))
    if isinstance(document, Unknown):
        return  # judged at `up`, when the document is known (follow.known)
    try:
        found = statements(document)
    except ValueError as error:
        report(f"{args.name}: {error}; write the policy as a JSON object the guardrail can read.")
        return
    for index, statement in enumerate(found):
        if not allows(statement) or not _public_principal(statement) or _pinned(statement):
            continue
        sid = statement.get("Sid") or f"Statement[{index}]"
        actions = names_of(as_list(statement.get("Action") or statement.get("NotAction")))
        report(
            f"{args.name}: {sid} allows everyone (Principal *) to {actions or 'act'}. Name the principals "
            "(account, role or service ARNs), or pin the grant with a condition on aws:SourceVpce, "
            "aws:PrincipalOrgID, aws:SourceAccount or aws:SourceArn."
        )
