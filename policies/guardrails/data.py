"""Data: databases survive a zone, a bad deploy and a stray destroy (ready for the data tier)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from guardrails.common import RDS_CLUSTER, RDS_INSTANCE, Report, Setting, get, num, resource_policy, setting

DATABASES = [RDS_INSTANCE, RDS_CLUSTER]
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
