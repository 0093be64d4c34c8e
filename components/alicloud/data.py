"""AlicloudData: mainland China's data tier, in one Alibaba Cloud region, replicated to a second
Alibaba Cloud region in mainland China (PIPL: the data of the region never leaves the mainland).

Orders and payments live in PolarDB for PostgreSQL, the engine of the rest of the platform
(Aurora PostgreSQL). A Global Database Network is not used: PolarDB for PostgreSQL has one, but
terraform-provider-alicloud (pulumi_alicloud 4.0.0) sends ``CreationOption=CreateGdnStandby``
only for MySQL 8.0 and silently creates a standalone cluster for PostgreSQL
(resource_alicloud_polardb_cluster.go, buildPolarDBCreateRequest). The replica region's cluster
is therefore fed by Data Transmission Service (one-way PolarDB for PostgreSQL synchronization:
schema, full data, then continuous logical replication of the WAL), and the primary's backups
(data and logs) are also copied to the replica region, so the data can be restored there even
if the synchronization is broken.

RPO in the replica region: DTS replicates asynchronously, so a region loss loses what DTS had
not yet applied: its lag, normally seconds, with no contractual bound (``lag_alarm_seconds``
pages when it grows). Restoring from the cross-region backups instead loses whatever log backups
had not yet been copied to the replica region (minutes; Alibaba Cloud publishes no figure) and
takes a point-in-time restore to a new cluster there.

Proof-of-delivery media live in OSS: a bucket per region, versioned, encrypted with a KMS key of
its own region, private with public access blocked, and replicated primary -> replica with
Replication Time Control (OSS documents most objects within seconds and 99.99% within 10
minutes; not re-checked here), deletes included, SSE-KMS objects re-encrypted with the replica
region's key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

import pulumi
import pulumi_alicloud as ali
import pulumi_random as random

from components import catalog, planning
from components.alicloud import names
from components.alicloud.fleet import RAM_POLICY_NAME_MAX, RAM_ROLE_NAME_MAX, trust_policy

TYPE = "courier:alicloud:Data"

#: The database and its owner (a privileged account: DTS needs one on both clusters, see
#: "One-way synchronization between PolarDB for PostgreSQL clusters", DTS user guide).
DATABASE = "courier"
ADMIN_USER = "courier_admin"
#: PolarDB for PostgreSQL major versions accepted here (the provider's tests use 14 and 16).
#: 16 matches Aurora PostgreSQL 16 on AWS. DTS warns that PostgreSQL 14 clusters lack Logical
#: Replication Slot Failover: an HA switchover of the source can break the synchronization.
ENGINE_VERSIONS = ("14", "15", "16")
#: PolarDB level-1 (same-region) backups are kept 3 to 14 days (BackupPolicy docs).
BACKUP_DAYS = (3, 14)
#: DTS instance classes (terraform-provider-alicloud, dts_synchronization_instance validator).
DTS_CLASSES = ("micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge")
#: Daily at 02:00-03:00 China Standard Time (the policy is written in UTC).
BACKUP_WINDOW = "18:00Z-19:00Z"
WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class AlicloudDataArgs:
    stack: str
    #: The primary region (e.g. cn-hangzhou) and its code (cnhz): where the services write.
    region: str
    region_code: str
    provider: ali.Provider
    #: The primary region's network (AlicloudNetwork): the cluster sits in the first app
    #: vSwitch, its hot standby storage in the second zone; only the VPC's range may connect.
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    app_vswitch_ids: Sequence[pulumi.Input[str]]
    #: The zones of ``app_vswitch_ids``, in the same order.
    zones: Sequence[str]
    #: The replica region (regions[].dataReplica): another region of the same country. It gets
    #: a VPC of its own over ``replica_cidr`` with one vSwitch per zone.
    replica_region: str
    replica_region_code: str
    replica_provider: ali.Provider
    replica_zones: Sequence[str]
    replica_cidr: str
    #: The Alibaba Cloud account (KMS and OSS resource names in the replication role's policy).
    account_id: pulumi.Input[str]
    #: Makes the database password (stacks disable default providers).
    random_provider: random.Provider
    #: Hashed into the bucket names: OSS bucket names are global across Alibaba Cloud.
    domain: str
    engine_version: str = "16"
    node_class: str = "polar.pg.x4.large"
    #: Nodes per cluster (a primary and read-only failover targets), 2 to 16.
    nodes: int = 2
    #: Days of same-region backups and log backups (point-in-time restore), 3 to 14.
    backup_retention_days: int = 7
    #: Days the primary's data and log backups are kept in the replica region (30 to 7300).
    cross_region_backup_days: int = 30
    #: Days an overwritten or deleted media object's older versions are kept.
    noncurrent_version_days: int = 90
    #: Schemas of the ``courier`` database that DTS synchronizes.
    replicated_schemas: Sequence[str] = ("public",)
    dts_instance_class: str = "medium"
    #: DTS calls ``alarm_phones`` (mainland mobile numbers) when the lag exceeds this or the
    #: task fails. Without phones no DTS alarm is declared.
    lag_alarm_seconds: int = 10
    alarm_phones: Sequence[str] = ()
    #: Hot standby storage in a second zone (both clusters) and zone-redundant buckets.
    multi_zone: bool = True
    #: PolarDB deletion lock, KMS deletion protection, backups kept after a cluster's deletion.
    deletion_protection: bool = True
    #: ``protect`` on the clusters, databases, keys and buckets.
    protect: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)


class AlicloudData(pulumi.ComponentResource):
    """Per region (primary and replica) a KMS key, a PolarDB for PostgreSQL cluster (Enterprise
    Edition, pay-as-you-go so the deletion lock holds, TDE, PSL5 storage, WAL at ``logical``,
    reachable from its own VPC only) with the ``courier`` database and its privileged owner, a
    backup policy, and an OSS bucket; in the replica region also the VPC; and the replication:
    DTS from the primary cluster to the replica, cross-region backups, and OSS cross-region
    replication through a RAM role that OSS assumes."""

    #: Private endpoint of the primary cluster (host) and its port.
    database_endpoint: pulumi.Output[str]
    database_port: pulumi.Output[str]
    database_cluster_id: pulumi.Output[str]
    replica_database_endpoint: pulumi.Output[str]
    replica_database_cluster_id: pulumi.Output[str]
    #: The privileged owner's password (a secret), the same on both clusters.
    admin_password: pulumi.Output[str]
    bucket_name: pulumi.Output[str]
    replica_bucket_name: pulumi.Output[str]
    key_id: pulumi.Output[str]
    replica_key_id: pulumi.Output[str]
    replica_vpc_id: pulumi.Output[str]
    replica_vswitch_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: AlicloudDataArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        _validate(name, args)
        self._name, self._args = name, args
        self._tags = {**args.tags, "service": "data"}
        primary, replica = args.provider, args.replica_provider

        password = random.RandomPassword(
            f"{name}-db-admin",
            length=32,
            # PolarDB accepts !@#$%^&*()_+-= (CreateAccount); '@' would break connection URIs.
            special=True,
            override_special="!#$%^&*()_+-=",
            min_upper=2,
            min_lower=2,
            min_numeric=2,
            min_special=2,
            opts=pulumi.ResourceOptions(parent=self, provider=args.random_provider),
        )
        # Secret wherever it goes (the DTS job's endpoint passwords are not secret in the schema).
        self.admin_password = pulumi.Output.secret(password.result)

        key = self._key(f"{name}-data", args.region, primary)
        replica_key = self._key(f"{name}-replica-data", args.replica_region, replica)
        vpc_id, vswitch_ids = self._replica_network()

        cluster, database = self._cluster(
            f"{name}-db", args.region, primary, args.vpc_id, args.app_vswitch_ids[0], args.zones, args.vpc_cidr
        )
        replica_cluster, replica_database = self._cluster(
            f"{name}-replica-db",
            args.replica_region,
            replica,
            vpc_id,
            vswitch_ids[0],
            args.replica_zones,
            args.replica_cidr,
        )
        # Same-region backups on both (the replica becomes the writer after a failover); the
        # primary's are also copied to the replica region, a restore path that needs no DTS.
        self._backup_policy(f"{name}-db", cluster, primary, cross_region=True)
        self._backup_policy(f"{name}-replica-db", replica_cluster, replica, cross_region=False)
        self._synchronization(cluster, replica_cluster, [database, replica_database])

        bucket = self._bucket(f"{name}-media", args.region, args.region_code, key, primary)
        replica_bucket = self._bucket(
            f"{name}-replica-media", args.replica_region, args.replica_region_code, replica_key, replica
        )
        self._bucket_replication(bucket, key, replica_bucket, replica_key)

        self.database_endpoint = cluster.connection_string
        self.database_port = cluster.port
        self.database_cluster_id = cluster.id
        self.replica_database_endpoint = replica_cluster.connection_string
        self.replica_database_cluster_id = replica_cluster.id
        self.bucket_name = bucket.bucket
        self.replica_bucket_name = replica_bucket.bucket
        self.key_id = key.id
        self.replica_key_id = replica_key.id
        self.replica_vpc_id = vpc_id
        self.replica_vswitch_ids = vswitch_ids
        self.register_outputs(
            {
                "databaseEndpoint": self.database_endpoint,
                "databasePort": self.database_port,
                "databaseClusterId": self.database_cluster_id,
                "replicaDatabaseEndpoint": self.replica_database_endpoint,
                "replicaDatabaseClusterId": self.replica_database_cluster_id,
                "bucketName": self.bucket_name,
                "replicaBucketName": self.replica_bucket_name,
                "replicaVpcId": self.replica_vpc_id,
            }
        )

    # ---------------------------------------------------------------------------------------
    def _opts(self, provider: ali.Provider, keep: bool = False, **extra: object) -> pulumi.ResourceOptions:
        """Options of a child in one of the two regions (``keep``: a stateful one)."""
        protect = self._args.protect if keep else None
        return pulumi.ResourceOptions(parent=self, provider=provider, protect=protect, **extra)  # type: ignore[arg-type]

    def _prefix(self, region: str) -> str:
        code = self._args.region_code if region == self._args.region else self._args.replica_region_code
        return names.prefix(self._args.stack, code)

    def _key(self, name: str, region: str, provider: ali.Provider) -> ali.kms.Key:
        """A default (regional) KMS key for the region's bucket: keys never leave their region,
        so each bucket, and each replica of an object, is encrypted in its own region."""
        protected = self._args.deletion_protection
        return ali.kms.Key(
            name,
            description=f"{self._prefix(region)}-courier-data: media of the courier {self._args.stack} stack",
            key_spec="Aliyun_AES_256",
            key_usage="ENCRYPT/DECRYPT",
            # Default keys rotate on a fixed 365-day period (provider docs, rotation_interval).
            automatic_rotation="Enabled",
            rotation_interval="365d",
            pending_window_in_days=30,
            deletion_protection="Enabled" if protected else "Disabled",
            deletion_protection_description="Encrypts the courier media buckets" if protected else None,
            tags=self._tags,
            opts=self._opts(provider, keep=True),
        )

    def _replica_network(self) -> tuple[pulumi.Output[str], list[pulumi.Output[str]]]:
        """The replica region runs no fleet: a VPC and one vSwitch per zone (the "app" blocks of
        the usual layout, so a fleet could join later without renumbering)."""
        args, prefix = self._args, self._prefix(self._args.replica_region)
        opts = self._opts(args.replica_provider)
        vpc = ali.vpc.Network(
            f"{self._name}-replica-vpc",
            vpc_name=f"{prefix}-data",
            cidr_block=args.replica_cidr,
            tags=self._tags,
            opts=opts,
        )
        switches = [
            ali.vpc.Switch(
                f"{self._name}-replica-{_letter(subnet.zone)}",
                vpc_id=vpc.id,
                vswitch_name=f"{prefix}-data-{_letter(subnet.zone)}",
                cidr_block=str(subnet.private),
                zone_id=subnet.zone,
                tags={**self._tags, "tier": "data"},
                opts=opts,
            )
            for subnet in planning.plan_subnets(args.replica_cidr, list(args.replica_zones))
        ]
        return vpc.id, [s.id for s in switches]

    def _cluster(
        self,
        name: str,
        region: str,
        provider: ali.Provider,
        vpc_id: pulumi.Input[str],
        vswitch_id: pulumi.Input[str],
        zones: Sequence[str],
        cidr: str,
    ) -> tuple[ali.polardb.Cluster, ali.polardb.Database]:
        args = self._args
        hot_standby = args.multi_zone and len(zones) > 1
        # Pay-as-you-go: the provider skips the deletion lock of a subscription cluster (its
        # update returns early for PrePaid) and would skip every change after it.
        cluster = ali.polardb.Cluster(
            name,
            db_type="PostgreSQL",
            db_version=args.engine_version,
            db_node_class=args.node_class,
            db_node_count=args.nodes,
            creation_category="Normal",
            pay_type="PostPaid",
            # PSL5 is what level-2 and cross-region backups need.
            storage_type="PSL5",
            vpc_id=vpc_id,
            vswitch_id=vswitch_id,
            zone_id=zones[0],
            hot_standby_cluster="ON" if hot_standby else "OFF",
            standby_az=zones[1] if hot_standby else None,
            tde_status="Enabled",
            db_cluster_ip_arrays=[
                ali.polardb.ClusterDbClusterIpArrayArgs(
                    db_cluster_ip_array_name="default", security_ips=[cidr], modify_mode="Cover"
                )
            ],
            # DTS reads the WAL through a logical replication slot (both ends, so the
            # synchronization can be reversed after a failover).
            parameters=[ali.polardb.ClusterParameterArgs(name="wal_level", value="logical")],
            deletion_lock=1 if args.deletion_protection else 0,
            backup_retention_policy_on_cluster_deletion="ALL" if args.deletion_protection else "LATEST",
            description=f"{self._prefix(region)}-courier",
            tags=self._tags,
            opts=self._opts(provider, keep=True),
        )
        admin = ali.polardb.Account(
            name,
            db_cluster_id=cluster.id,
            account_name=ADMIN_USER,
            account_password=self.admin_password,
            account_type="Super",
            account_description="courier database owner; DTS synchronizes as it",
            opts=self._opts(provider),
        )
        database = ali.polardb.Database(
            name,
            db_cluster_id=cluster.id,
            db_name=DATABASE,
            account_name=admin.account_name,
            character_set_name="UTF8",
            collate="C",
            ctype="C",
            db_description="courier orders and payments",
            opts=self._opts(provider, keep=True),
        )
        return cluster, database

    def _backup_policy(
        self, name: str, cluster: ali.polardb.Cluster, provider: ali.Provider, cross_region: bool
    ) -> None:
        args = self._args
        copies = cross_region and args.cross_region_backup_days > 0
        ali.polardb.BackupPolicy(
            name,
            db_cluster_id=cluster.id,
            preferred_backup_periods=list(WEEK),
            preferred_backup_time=BACKUP_WINDOW,
            data_level1_backup_retention_period=args.backup_retention_days,
            log_backup_retention_period=args.backup_retention_days,
            data_level2_backup_another_region_region=args.replica_region if copies else None,
            data_level2_backup_another_region_retention_period=args.cross_region_backup_days if copies else None,
            log_backup_another_region_region=args.replica_region if copies else None,
            log_backup_another_region_retention_period=args.cross_region_backup_days if copies else None,
            backup_retention_policy_on_cluster_deletion="ALL" if args.deletion_protection else "LATEST",
            opts=self._opts(provider),
        )

    def _synchronization(
        self, source: ali.polardb.Cluster, target: ali.polardb.Cluster, databases: Sequence[pulumi.Resource]
    ) -> None:
        """One-way DTS synchronization of the ``courier`` database, run from the replica region
        (DTS lists a synchronization in its destination region)."""
        args, name = self._args, self._name
        opts = self._opts(args.replica_provider)
        instance = ali.dts.SynchronizationInstance(
            f"{name}-db-sync",
            payment_type="PayAsYouGo",
            source_endpoint_engine_name="polardb_pg",
            source_endpoint_region=args.region,
            destination_endpoint_engine_name="polardb_pg",
            destination_endpoint_region=args.replica_region,
            instance_class=args.dts_instance_class,
            sync_architecture="oneway",
            opts=opts,
        )
        # For PostgreSQL the objects are schemas of the database named on each side.
        objects = {schema: {"name": schema, "all": True} for schema in args.replicated_schemas}
        job = ali.dts.SynchronizationJob(
            f"{name}-db-sync",
            dts_instance_id=instance.id,
            dts_job_name=f"{self._prefix(args.region)}-courier-to-{args.replica_region_code}",
            source_endpoint_instance_type="PolarDB",
            source_endpoint_engine_name="POLARDB_PG",
            source_endpoint_instance_id=source.id,
            source_endpoint_region=args.region,
            source_endpoint_database_name=DATABASE,
            source_endpoint_user_name=ADMIN_USER,
            source_endpoint_password=self.admin_password,
            destination_endpoint_instance_type="PolarDB",
            destination_endpoint_engine_name="POLARDB_PG",
            destination_endpoint_instance_id=target.id,
            destination_endpoint_region=args.replica_region,
            destination_endpoint_database_name=DATABASE,
            destination_endpoint_user_name=ADMIN_USER,
            destination_endpoint_password=self.admin_password,
            db_list=json.dumps(objects, sort_keys=True),
            structure_initialization=True,
            data_initialization=True,
            data_synchronization=True,
            status="Synchronizing",
            opts=self._opts(args.replica_provider, depends_on=list(databases)),
        )
        if args.alarm_phones:
            phones = ",".join(args.alarm_phones)
            for kind in ("delay", "error"):
                ali.dts.JobMonitorRule(
                    f"{name}-db-sync-{kind}",
                    dts_job_id=job.id,
                    type=kind,
                    delay_rule_time=str(args.lag_alarm_seconds) if kind == "delay" else None,
                    phone=phones,
                    state="Y",
                    opts=opts,
                )

    def _bucket(self, name: str, region: str, code: str, key: ali.kms.Key, provider: ali.Provider) -> ali.oss.Bucket:
        args = self._args
        bucket = ali.oss.Bucket(
            name,
            bucket=bucket_name(args.stack, code, args.domain),
            storage_class="Standard",
            redundancy_type="ZRS" if args.multi_zone else "LRS",
            # Versioned on both sides: OSS replicates only between buckets in the same state.
            versioning=ali.oss.BucketVersioningArgs(status="Enabled"),
            server_side_encryption_rule=ali.oss.BucketServerSideEncryptionRuleArgs(
                sse_algorithm="KMS", kms_master_key_id=key.id
            ),
            lifecycle_rules=[
                ali.oss.BucketLifecycleRuleArgs(
                    id="expire-noncurrent-versions",
                    enabled=True,
                    noncurrent_version_expirations=[
                        ali.oss.BucketLifecycleRuleNoncurrentVersionExpirationArgs(days=args.noncurrent_version_days)
                    ],
                )
            ],
            force_destroy=False,
            tags=self._tags,
            # The ACL is the standalone BucketAcl's (the inline one is deprecated).
            opts=self._opts(provider, keep=True, ignore_changes=["acl"]),
        )
        ali.oss.BucketAcl(name, bucket=bucket.bucket, acl="private", opts=self._opts(provider))
        ali.oss.BucketPublicAccessBlock(name, bucket=bucket.bucket, block_public_access=True, opts=self._opts(provider))
        return bucket

    def _bucket_replication(
        self, source: ali.oss.Bucket, source_key: ali.kms.Key, target: ali.oss.Bucket, target_key: ali.kms.Key
    ) -> None:
        """Primary -> replica, everything (puts, deletes, aborted uploads, existing objects),
        through a role only OSS may assume with the replication actions on the two buckets and
        the keys it decrypts and re-encrypts with ("Required permissions for data replication",
        OSS user guide)."""
        args, name = self._args, self._name
        opts = self._opts(args.provider)
        role_name = names.fit(f"{names.stack_token(args.stack)}-{args.region_code}-oss-replication", RAM_ROLE_NAME_MAX)
        role = ali.ram.Role(
            f"{name}-media-replication",
            role_name=role_name,
            assume_role_policy_document=trust_policy("oss.aliyuncs.com"),
            description=f"OSS replication of the {args.region} media bucket to {args.replica_region}",
            tags=self._tags,
            opts=opts,
        )
        policy = ali.ram.Policy(
            f"{name}-media-replication",
            policy_name=names.fit(role_name, RAM_POLICY_NAME_MAX).replace(".", "-"),
            policy_document=pulumi.Output.all(
                args.account_id, source.bucket, target.bucket, source_key.id, target_key.id
            ).apply(
                lambda v: replication_policy(
                    v[0], v[1], v[2], kms_key_arn(args.region, v[0], v[3]), kms_key_arn(args.replica_region, v[0], v[4])
                )
            ),
            description=f"Replicate {args.region} media to {args.replica_region}",
            tags=self._tags,
            opts=opts,
        )
        attachment = ali.ram.RolePolicyAttachment(
            f"{name}-media-replication",
            role_name=role.role_name,
            policy_name=policy.policy_name,
            policy_type="Custom",
            opts=opts,
        )
        ali.oss.BucketReplication(
            f"{name}-media-replication",
            bucket=source.bucket,
            destination=ali.oss.BucketReplicationDestinationArgs(
                bucket=target.bucket, location=oss_location(args.replica_region)
            ),
            action="ALL",
            historical_object_replication="enabled",
            sync_role=role.role_name,
            source_selection_criteria=ali.oss.BucketReplicationSourceSelectionCriteriaArgs(
                sse_kms_encrypted_objects=ali.oss.BucketReplicationSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                    status="Enabled"
                )
            ),
            encryption_configuration=ali.oss.BucketReplicationEncryptionConfigurationArgs(
                replica_kms_key_id=target_key.id
            ),
            rtc=ali.oss.BucketReplicationRtcArgs(enabled=True),
            opts=self._opts(args.provider, depends_on=[attachment]),
        )


def bucket_name(stack: str, code: str, domain: str) -> str:
    """``<stack>-<code>-media-<8 hex>``: OSS bucket names are global across Alibaba Cloud, 3 to 63
    lowercase letters, digits and hyphens; the domain's hash keeps this organisation's apart."""
    digest = hashlib.sha256(domain.encode()).hexdigest()[:8]
    return f"{names.stack_token(stack)}-{code}-media-{digest}"


def oss_location(region: str) -> str:
    """OSS's name of a region, e.g. ``oss-cn-shanghai``."""
    return f"oss-{region}"


def kms_key_arn(region: str, account_id: str, key_id: str) -> str:
    return f"acs:kms:{region}:{account_id}:key/{key_id}"


def replication_policy(account_id: str, source: str, target: str, source_key_arn: str, target_key_arn: str) -> str:
    """OSS's minimum same-account replication actions (read and list on the source; read,
    list, write and delete on the destination), plus decrypting with the source key and
    encrypting with the destination key."""

    def bucket(name: str) -> list[str]:
        return [f"acs:oss:*:{account_id}:{name}", f"acs:oss:*:{account_id}:{name}/*"]

    statements = [
        {"Action": ["oss:ReplicateGet", "oss:ReplicateList"], "Effect": "Allow", "Resource": bucket(source)},
        {
            "Action": ["oss:ReplicateDelete", "oss:ReplicateGet", "oss:ReplicateList", "oss:ReplicatePut"],
            "Effect": "Allow",
            "Resource": bucket(target),
        },
        {"Action": ["kms:Decrypt"], "Effect": "Allow", "Resource": [source_key_arn]},
        {"Action": ["kms:Encrypt", "kms:GenerateDataKey"], "Effect": "Allow", "Resource": [target_key_arn]},
    ]
    return json.dumps({"Statement": statements, "Version": "1"}, sort_keys=True)


def _letter(zone: str) -> str:
    return zone.rsplit("-", 1)[-1]


def _validate(name: str, args: AlicloudDataArgs) -> None:
    def fail(key: str, value: object, allowed: str) -> NoReturn:
        raise ValueError(f"AlicloudDataArgs.{key} for {name}: {value!r} is not allowed ({allowed})")

    home = catalog.region("alicloud", args.region)
    away = catalog.region("alicloud", args.replica_region)
    if home is None:
        fail("region", args.region, "an Alibaba Cloud region of components.catalog")
    if away is None or args.replica_region == args.region:
        fail("replica_region", args.replica_region, f"another Alibaba Cloud region than {args.region}")
    if away.country != home.country:
        # PIPL: personal data collected in mainland China stays in mainland China.
        fail("replica_region", args.replica_region, f"a region in the same country as {args.region} ({home.country})")
    if len(args.zones) != len(args.app_vswitch_ids) or not args.zones:
        fail("zones", list(args.zones), f"one zone per app vSwitch ({len(args.app_vswitch_ids)})")
    if len(set(args.replica_zones)) < 2:
        fail("replica_zones", list(args.replica_zones), "two or more distinct zones of the replica region")
    if args.engine_version not in ENGINE_VERSIONS:
        fail("engine_version", args.engine_version, ", ".join(ENGINE_VERSIONS))
    if not 2 <= args.nodes <= 16:
        fail("nodes", args.nodes, "2 to 16")
    if not BACKUP_DAYS[0] <= args.backup_retention_days <= BACKUP_DAYS[1]:
        fail("backup_retention_days", args.backup_retention_days, f"{BACKUP_DAYS[0]} to {BACKUP_DAYS[1]}")
    if args.cross_region_backup_days != 0 and not 30 <= args.cross_region_backup_days <= 7300:
        fail("cross_region_backup_days", args.cross_region_backup_days, "0 (none) or 30 to 7300")
    if args.dts_instance_class not in DTS_CLASSES:
        fail("dts_instance_class", args.dts_instance_class, ", ".join(DTS_CLASSES))
    if not args.replicated_schemas:
        fail("replicated_schemas", list(args.replicated_schemas), "at least one schema")
