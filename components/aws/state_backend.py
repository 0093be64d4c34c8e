"""StateBackend: the S3 buckets that hold the Pulumi state of every courier-platform stack (the
DIY backend, ``pulumi login s3://...``), in two AWS regions that replicate to each other.

Built by its own tiny project (``bootstrap/state-backend``), never by the program whose state it
holds: a stack must not manage the bucket its own checkpoint lives in. docs/state-backend.md
says where the state lives, how to create the backend and what to do when a region is lost."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws import policies
from components.aws.private_bucket import private_bucket
from components.aws.s3_replication import replication_rule

TYPE = "courier:aws:StateBackend"

#: Multipart uploads the CLI abandoned (a killed ``pulumi up``) are cleaned up after this long.
ABORT_MULTIPART_DAYS = 7
#: An account ID is 12 digits; bucket names are at most 63 characters, role names at most 64.
_ACCOUNT_DIGITS = 12
_MAX_BUCKET = 63
_MAX_ROLE = 64
_PREFIX = re.compile(r"[a-z0-9][a-z0-9-]*[a-z0-9]")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")


@dataclass(frozen=True)
class StateBackendArgs:
    #: Names the buckets: ``<prefix>-<account>`` in the home region (the URL everyone logs in to)
    #: and ``<prefix>-<account>-<replica region>`` in the replica region. Lowercase letters,
    #: digits and hyphens (S3 bucket names are global: the account ID keeps them unique).
    bucket_prefix: str
    #: The account the buckets live in (``aws.get_caller_identity_output().account_id``).
    account_id: pulumi.Input[str]
    #: Where the state is read and written day to day, and that region's provider.
    home_region: str
    home_provider: aws.Provider
    #: Where it is replicated to (and written after a failover), and that region's provider.
    replica_region: str
    replica_provider: aws.Provider
    tags: Mapping[str, str] = field(default_factory=dict)
    #: How long an overwritten checkpoint (every `pulumi up` rewrites the stack's file many
    #: times) stays restorable, in days. Default 365.
    noncurrent_days: int = 365


def bucket_names(args: StateBackendArgs, account_id: str) -> tuple[str, str]:
    """The home and replica buckets' names for an account."""
    home = f"{args.bucket_prefix}-{account_id}"
    return home, f"{home}-{args.replica_region}"


def role_name(args: StateBackendArgs, destination_region: str) -> str:
    """The replication role into ``destination_region`` (fixed names: re-importable, see docs)."""
    return f"{args.bucket_prefix}-replicate-to-{destination_region}"


def key_alias(args: StateBackendArgs) -> str:
    """The key's alias, the same name in both regions (aliases are regional)."""
    return f"alias/{args.bucket_prefix}"


def validate(args: StateBackendArgs) -> None:
    """Reject what S3 or IAM would refuse, naming the argument."""
    if not _PREFIX.fullmatch(args.bucket_prefix) or "--" in args.bucket_prefix:
        raise ValueError(
            f"StateBackendArgs.bucket_prefix: {args.bucket_prefix!r} is not a bucket name prefix "
            "(lowercase letters, digits and single hyphens, starting and ending with a letter or digit)"
        )
    for field_name, region in (("home_region", args.home_region), ("replica_region", args.replica_region)):
        if not _REGION.fullmatch(region):
            raise ValueError(f"StateBackendArgs.{field_name}: {region!r} is not an AWS region name (e.g. us-west-2)")
    if args.home_region == args.replica_region:
        raise ValueError(
            f"StateBackendArgs.replica_region: must differ from home_region (both {args.home_region!r}): "
            "a replica in the same region does not survive its loss"
        )
    longest = len(bucket_names(args, "0" * _ACCOUNT_DIGITS)[1])
    if longest > _MAX_BUCKET:
        raise ValueError(
            f"StateBackendArgs.bucket_prefix: {args.bucket_prefix!r} makes a {longest}-character replica bucket "
            f"name; S3 allows {_MAX_BUCKET}"
        )
    for region in (args.home_region, args.replica_region):
        if len(role_name(args, region)) > _MAX_ROLE:
            raise ValueError(
                f"StateBackendArgs.bucket_prefix: {args.bucket_prefix!r} makes the role name "
                f"{role_name(args, region)!r} longer than IAM's {_MAX_ROLE} characters"
            )
    if args.noncurrent_days < 1:
        raise ValueError(f"StateBackendArgs.noncurrent_days: {args.noncurrent_days} must be at least 1")


def backend_url(bucket: pulumi.Input[str], region: str) -> pulumi.Output[str]:
    """The DIY backend URL of a bucket (Pulumi CLI 3.33.1+: the region in the URL, AWS SDK v2)."""
    return pulumi.Output.concat("s3://", bucket, "?region=", region, "&awssdk=v2")


@dataclass(frozen=True)
class _Side:
    role: str
    region: str
    provider: aws.Provider
    bucket: aws.s3.Bucket
    key: aws.kms.Key
    versioning: aws.s3.BucketVersioning


class StateBackend(pulumi.ComponentResource):
    """In each of the two regions: a KMS key (rotated yearly, protected) and its alias; a bucket
    (protected, never force-destroyed) with bucket-owner-enforced ownership, every public access
    blocked, SSE-KMS with that key and a bucket key, versioning, a lifecycle that expires
    overwritten checkpoints after ``noncurrent_days`` and abandoned uploads after 7 days, and a
    policy that refuses requests without TLS. Then replication both ways ("bi-directional
    replication" in the S3 user guide), each direction with its own least-privilege role: every
    object and delete marker, SSE-KMS objects re-encrypted with the destination's key, Replication
    Time Control and its metrics at 15 minutes, replica modifications synced back. Home to replica
    keeps the copy current; replica to home brings back what was written during a failover."""

    home_url: pulumi.Output[str]
    replica_url: pulumi.Output[str]
    home_bucket: pulumi.Output[str]
    replica_bucket: pulumi.Output[str]
    home_key_arn: pulumi.Output[str]
    replica_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None):
        validate(args)
        super().__init__(TYPE, name, None, opts)
        self._name = name
        self._args = args
        names = pulumi.Output.from_input(args.account_id).apply(lambda account: bucket_names(args, account))
        home = self._create_side("home", args.home_region, args.home_provider, names.apply(lambda n: n[0]))
        replica = self._create_side("replica", args.replica_region, args.replica_provider, names.apply(lambda n: n[1]))
        self._create_replication(home, replica)
        self._create_replication(replica, home)

        self.home_bucket, self.replica_bucket = home.bucket.bucket, replica.bucket.bucket
        self.home_key_arn, self.replica_key_arn = home.key.arn, replica.key.arn
        self.home_url = backend_url(home.bucket.bucket, args.home_region)
        self.replica_url = backend_url(replica.bucket.bucket, args.replica_region)
        self.register_outputs(
            {
                "homeUrl": self.home_url,
                "replicaUrl": self.replica_url,
                "homeBucket": self.home_bucket,
                "replicaBucket": self.replica_bucket,
            }
        )

    def _create_side(self, role: str, region: str, provider: aws.Provider, bucket_name: pulumi.Input[str]) -> _Side:
        args, prefix = self._args, f"{self._name}-{role}"
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        # Losing the key or the bucket loses every stack's state: both are protected, so only a
        # reviewed change that unprotects them first can delete them.
        keep = pulumi.ResourceOptions(parent=self, provider=provider, protect=True)
        key = aws.kms.Key(
            prefix,
            description=f"Encrypts the Pulumi state of courier-platform in {region}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=keep,
        )
        aws.kms.Alias(prefix, name=key_alias(args), target_key_id=key.key_id, opts=child)
        # The CLI writes a checkpoint after every resource step: one data key per bucket. Every
        # update writes and deletes a lock file; once its versions expire the lone delete marker
        # goes too.
        state = private_bucket(
            prefix,
            bucket_name=bucket_name,
            key_arn=key.arn,
            noncurrent_days=args.noncurrent_days,
            lifecycle_id="expire-old-checkpoints",
            expire_delete_markers=True,
            parent=self,
            provider=provider,
            protect=True,
            tags=tags,
        )
        bucket, versioning = state.bucket, state.versioning
        return _Side(role, region, provider, bucket, key, versioning)

    def _create_replication(self, source: _Side, target: _Side) -> None:
        args, prefix = self._args, f"{self._name}-{source.role}-replication"
        # The configuration lives with its source bucket: its region's provider.
        child = pulumi.ResourceOptions(parent=self, provider=source.provider)
        role = aws.iam.Role(
            prefix,
            name=role_name(args, target.region),
            assume_role_policy=policies.assume_role("s3.amazonaws.com"),
            description=f"S3 replication of the Pulumi state from {source.region} to {target.region}",
            tags=dict(args.tags),
            opts=child,
        )
        document = pulumi.Output.all(source.bucket.arn, source.key.arn, target.bucket.arn, target.key.arn).apply(
            lambda values: replication_policy(values[0], values[1], source.region, values[2], values[3], target.region)
        )
        policy = aws.iam.RolePolicy(prefix, name="replication", role=role.id, policy=document, opts=child)
        aws.s3.BucketReplicationConfig(
            prefix,
            bucket=source.bucket.id,
            role=role.arn,
            rules=[
                # Lock files deleted on one side must disappear on the other: delete markers too.
                replication_rule(f"to-{target.region}", 0, target.bucket.arn, target.key.arn)
            ],
            # Replication needs versioning on the source and the destination first.
            opts=pulumi.ResourceOptions(
                parent=self, provider=source.provider, depends_on=[policy, source.versioning, target.versioning]
            ),
        )


def replication_policy(
    source_arn: str, source_key: str, source_region: str, target_arn: str, target_key: str, target_region: str
) -> str:
    """What one direction of replication may do (the S3 user guide's permissions for SSE-KMS
    objects): read the source's versions, replicate into the destination, decrypt with the
    source's key and encrypt with the destination's, each key only through S3 in its region."""
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
            "Resource": f"{target_arn}/*",
        },
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": source_key,
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{source_region}.amazonaws.com"}},
        },
        {
            "Effect": "Allow",
            "Action": "kms:Encrypt",
            "Resource": target_key,
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{target_region}.amazonaws.com"}},
        },
    )
