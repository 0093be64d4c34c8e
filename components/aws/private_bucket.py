"""The stack's private data buckets (media, Pulumi state): owner-enforced, public access
blocked, SSE-KMS with a bucket key, versioned, old versions expired, TLS only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws import policies

ABORT_MULTIPART_DAYS = 7


@dataclass(frozen=True)
class PrivateBucket:
    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning


def private_bucket(
    name: str,
    *,
    key_arn: pulumi.Input[str],
    noncurrent_days: int,
    lifecycle_id: str,
    parent: pulumi.Resource,
    protect: bool,
    tags: Mapping[str, str],
    bucket_name: pulumi.Input[str] | None = None,
    provider: pulumi.ProviderResource | None = None,
    expire_delete_markers: bool = False,
) -> PrivateBucket:
    child = pulumi.ResourceOptions(parent=parent, provider=provider)
    bucket = aws.s3.Bucket(
        name,
        bucket=bucket_name,
        force_destroy=False,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, protect=protect),
    )
    aws.s3.BucketOwnershipControls(
        name,
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=child,
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=key_arn
                ),
                # One data key per bucket instead of a KMS call per object.
                bucket_key_enabled=True,
            )
        ],
        opts=child,
    )
    versioning = aws.s3.BucketVersioning(
        name,
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=child,
    )
    aws.s3.BucketLifecycleConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id=lifecycle_id,
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=noncurrent_days
                ),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True)
                if expire_delete_markers
                else None,
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=ABORT_MULTIPART_DAYS
                ),
            )
        ],
        # Lifecycle rules on a versioned bucket wait for versioning.
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[versioning]),
    )
    aws.s3.BucketPolicy(
        name,
        bucket=bucket.id,
        policy=bucket.arn.apply(lambda arn: policies.document(policies.deny_insecure_transport(arn))),
        # S3 refuses a bucket policy while the public access block is being applied.
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[public_access]),
    )
    return PrivateBucket(bucket, versioning)
