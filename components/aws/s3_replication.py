"""One S3 replication rule as the stack replicates data (media, Pulumi state): every object,
delete markers too, SSE-KMS objects re-encrypted with the destination's key, replica changes
synced back (two-way replication), Replication Time Control and its metrics at 15 minutes."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

#: S3 Replication Time Control: 99.99% of objects within 15 minutes (its SLA), and the
#: replication metrics that measure it; both accept exactly 15.
RTC_MINUTES = 15


def replication_rule(
    rule_id: str, priority: int, destination_bucket_arn: pulumi.Input[str], destination_key_arn: pulumi.Input[str]
) -> aws.s3.BucketReplicationConfigRuleArgs:
    rtc = aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs(
        status="Enabled", time=aws.s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs(minutes=RTC_MINUTES)
    )
    metrics = aws.s3.BucketReplicationConfigRuleDestinationMetricsArgs(
        status="Enabled",
        event_threshold=aws.s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs(minutes=RTC_MINUTES),
    )
    return aws.s3.BucketReplicationConfigRuleArgs(
        id=rule_id,
        priority=priority,
        status="Enabled",
        # A filter (the V2 schema) is what delete-marker replication needs.
        filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
        delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(status="Enabled"),
        source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
            sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                status="Enabled"
            ),
            # Two-way replication: changes made to a replica's metadata go back too.
            replica_modifications=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaReplicaModificationsArgs(
                status="Enabled"
            ),
        ),
        destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
            bucket=destination_bucket_arn,
            storage_class="STANDARD",
            encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                replica_kms_key_id=destination_key_arn
            ),
            replication_time=rtc,
            metrics=metrics,
        ),
    )
