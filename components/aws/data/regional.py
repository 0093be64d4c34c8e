"""RegionalData: one AWS region's share of the data tier, built with the region's provider.

Every region holds a member of each store: a cluster of the Aurora global database (the origin
region's created it and holds the master credentials; the others are secondaries with write
forwarding), a replica of the DynamoDB table (the origin's is the table itself), a member of
the Valkey Global Datastore (the origin's is its primary) and the region's media bucket. Each is
encrypted with the region's own customer-managed key, reached only from the region's services
(a client security group), and its replication lag is alarmed in the region that measures it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws import policies
from components.aws.alarms import routed_alarm
from components.aws.data import naming
from components.aws.data.settings import DataSettings, Routing
from components.aws.private_bucket import private_bucket

TYPE = "courier:aws:RegionalData"

#: What a service needs to reach a store (its boot environment) and the IAM actions it may use.
TABLE_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
MEDIA_ACTIONS = ("s3:GetObject", "s3:PutObject")


@dataclass(frozen=True)
class DataHandles:
    """What the origin region's stores give every other region's members."""

    #: The table's ARN (its replicas are declared in their own regions against it).
    table_arn: pulumi.Input[str]
    #: The Global Datastore's ID (each region's member joins it).
    global_datastore_id: pulumi.Input[str]


@dataclass(frozen=True)
class RegionalDataArgs:
    settings: DataSettings
    region: str
    code: str
    availability_zones: Sequence[str]
    #: The region whose cluster created the global database (courier:data.database.originRegion).
    origin: bool
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    global_cluster_identifier: pulumi.Input[str]
    #: The global database's writer endpoint (follows the writer through switchovers).
    global_writer_endpoint: pulumi.Input[str]
    #: Origin only: the master password (a secret).
    master_password: pulumi.Input[str] | None
    #: Everyone but the origin: the origin's handles.
    handles: DataHandles | None
    #: The other AWS regions that serve (DynamoDB reports replication latency per receiving region).
    peer_regions: Sequence[str]
    routing: Routing
    #: Resources the origin's members must exist after (secondaries join a primary that exists).
    after: Sequence[pulumi.Resource] = ()


class RegionalData(pulumi.ComponentResource):
    key_arn: pulumi.Output[str]
    client_security_group_id: pulumi.Output[str]
    bucket: aws.s3.Bucket
    bucket_versioning: aws.s3.BucketVersioning
    #: Origin only: what the other regions join.
    handles: DataHandles | None
    #: The resources the other regions' members wait for (origin only).
    primaries: list[pulumi.Resource]

    def __init__(self, name: str, args: RegionalDataArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        self._name = name
        self._args = args
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        keep = pulumi.ResourceOptions(parent=self, protect=s.protect)
        tags = {**s.tags, "service": "data"}
        self._tags = tags
        self.primaries = []

        key = aws.kms.Key(
            f"{name}-data",
            description=f"Encrypts the courier {s.stack} data stores in {args.region}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=keep,
        )
        self.alias = aws.kms.Alias(f"{name}-data", name=naming.key_alias(s.stack), target_key_id=key.key_id, opts=child)
        self.key_arn = key.arn
        self._key = key

        # Services carry this group; each store admits exactly its port from it.
        clients = aws.ec2.SecurityGroup(
            f"{name}-data-clients",
            vpc_id=args.vpc_id,
            description="Services that may reach the region's data stores",
            tags={**tags, "Name": f"{name}-data-clients"},
            opts=child,
        )
        self.client_security_group_id = clients.id
        self._clients = clients

        self._database()
        self._locations()
        self._cache()
        self._media()
        self.register_outputs(
            {
                "keyArn": self.key_arn,
                "clusterEndpoint": self.cluster_endpoint,
                "tableName": naming.table(s.stack),
                "bucket": self.bucket.bucket,
            }
        )

    # ---------------------------------------------------------------------------------------
    def _store_security_group(self, store: str, port: int) -> aws.ec2.SecurityGroup:
        name, tags = self._name, self._tags
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            f"{name}-{store}",
            vpc_id=self._args.vpc_id,
            description=f"The {store}: port {port} from the region's data clients only",
            tags={**tags, "Name": f"{name}-{store}"},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-{store}-from-clients",
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=self._clients.id,
            description="The region's services",
            tags=tags,
            opts=child,
        )
        return group

    def _database(self) -> None:
        name, args, s = self._name, self._args, self._args.settings
        child = pulumi.ResourceOptions(parent=self)
        group = self._store_security_group("database", naming.DATABASE_PORT)
        subnets = aws.rds.SubnetGroup(
            f"{name}-database",
            description="Private subnets of the orders database",
            subnet_ids=list(args.private_subnet_ids),
            tags=self._tags,
            opts=child,
        )
        identifier = naming.cluster(s.stack, args.code)
        origin = args.origin
        cluster = aws.rds.Cluster(
            f"{name}-database",
            cluster_identifier=identifier,
            engine="aurora-postgresql",
            engine_version=s.engine_version,
            global_cluster_identifier=args.global_cluster_identifier,
            # Only the cluster that created the global database is given credentials; a secondary
            # takes them from the global database (RDS refuses them on a secondary).
            master_username=naming.MASTER_USER if origin else None,
            master_password=args.master_password if origin else None,
            database_name="courier" if origin else None,
            # A secondary forwards the writes of its region's services to the writer.
            enable_global_write_forwarding=None if origin else True,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[group.id],
            storage_encrypted=True,
            kms_key_id=self._key.arn,
            iam_database_authentication_enabled=True,
            deletion_protection=s.deletion_protection,
            backup_retention_period=s.backup_retention_days,
            preferred_backup_window="18:00-19:00",
            preferred_maintenance_window="sun:19:30-sun:20:30",
            copy_tags_to_snapshot=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{identifier}-final",
            # Versions move together across the global database, deliberately.
            allow_major_version_upgrade=False,
            enabled_cloudwatch_logs_exports=["postgresql"],
            tags=self._tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=s.protect,
                depends_on=list(args.after),
                # After a switchover or failover RDS reports the new topology on these two
                # inputs; applying the program's view would detach the cluster from the global
                # database or promote it (terraform-provider-aws #39368, #28187, PR #40921):
                # the topology is changed by the switch, never by `pulumi up`.
                ignore_changes=["globalClusterIdentifier", "replicationSourceIdentifier"],
            ),
        )
        instances: list[pulumi.Resource] = []
        for index in range(s.instances):
            zone = args.availability_zones[index % len(args.availability_zones)]
            instances.append(
                aws.rds.ClusterInstance(
                    f"{name}-database-{index + 1}",
                    identifier=f"{identifier}-{index + 1}",
                    cluster_identifier=cluster.id,
                    engine=aws.rds.EngineType.AURORA_POSTGRESQL,
                    engine_version=s.engine_version,
                    instance_class=s.instance_class,
                    availability_zone=zone,
                    db_subnet_group_name=subnets.name,
                    publicly_accessible=False,
                    auto_minor_version_upgrade=False,
                    performance_insights_enabled=True,
                    performance_insights_kms_key_id=self._key.arn,
                    promotion_tier=index,
                    tags=self._tags,
                    opts=pulumi.ResourceOptions(parent=self, protect=s.protect),
                )
            )
        if origin:
            self.primaries += instances
        self.cluster_endpoint = cluster.endpoint
        self.cluster_arn = cluster.arn
        self.reader_endpoint = cluster.reader_endpoint
        self._cluster = cluster
        # Emitted by whichever clusters are secondaries today (every cluster has the alarm:
        # the writer moves with a switchover): how far behind the writer this region is,
        # i.e. what a failover to it would lose (milliseconds).
        self._lag_alarm(
            "database-rpo-lag",
            "Aurora",
            f"{identifier}: replication from the writer behind by more than {s.rpo_alarm_seconds:g} s for 5 minutes "
            "(a failover to this region would lose that much)",
            aws.cloudwatch.MetricAlarmArgs(
                namespace="AWS/RDS",
                metric_name="AuroraGlobalDBRPOLag",
                dimensions={"DBClusterIdentifier": identifier},
                statistic="Maximum",
                period=60,
                evaluation_periods=5,
                datapoints_to_alarm=5,
                threshold=s.rpo_alarm_seconds * 1000,
                comparison_operator="GreaterThanThreshold",
                # The writer publishes none: missing data is not lag.
                treat_missing_data="notBreaching",
            ),
        )

    def _locations(self) -> None:
        name, args, s = self._name, self._args, self._args.settings
        table_name = naming.table(s.stack)
        if args.origin:
            table = aws.dynamodb.Table(
                f"{name}-locations",
                name=table_name,
                billing_mode="PAY_PER_REQUEST",
                hash_key="riderId",
                range_key="recordedAt",
                attributes=[
                    aws.dynamodb.TableAttributeArgs(name="riderId", type="S"),
                    aws.dynamodb.TableAttributeArgs(name="recordedAt", type="N"),
                ],
                ttl=aws.dynamodb.TableTtlArgs(attribute_name=naming.TTL_ATTRIBUTE, enabled=True),
                point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
                server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                    enabled=True, kms_key_arn=self._key.arn
                ),
                # Global tables (version 2019.11.21) replicate through the table's stream.
                stream_enabled=True,
                stream_view_type="NEW_AND_OLD_IMAGES",
                deletion_protection_enabled=s.deletion_protection,
                tags=self._tags,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    protect=s.protect,
                    # Replicas are declared in their own regions (aws.dynamodb.TableReplica).
                    ignore_changes=["replicas"],
                ),
            )
            self._table_arn: pulumi.Input[str] = table.arn
            self.primaries.append(table)
        else:
            assert args.handles is not None, "a secondary region joins the origin's stores"
            aws.dynamodb.TableReplica(
                f"{name}-locations",
                global_table_arn=args.handles.table_arn,
                kms_key_arn=self._key.arn,
                point_in_time_recovery=True,
                deletion_protection_enabled=s.deletion_protection,
                tags=self._tags,
                opts=pulumi.ResourceOptions(parent=self, protect=s.protect, depends_on=list(args.after)),
            )
        # Measured in the region that took the write, per receiving region (milliseconds).
        for peer in args.peer_regions:
            self._lag_alarm(
                f"locations-lag-{peer}",
                "DynamoDB",
                f"{table_name}: writes in {args.region} reach {peer} more than {s.rpo_alarm_seconds:g} s late "
                "for 5 minutes",
                aws.cloudwatch.MetricAlarmArgs(
                    namespace="AWS/DynamoDB",
                    metric_name="ReplicationLatency",
                    dimensions={"TableName": table_name, "ReceivingRegion": peer},
                    statistic="Average",
                    period=60,
                    evaluation_periods=5,
                    datapoints_to_alarm=5,
                    threshold=s.rpo_alarm_seconds * 1000,
                    comparison_operator="GreaterThanThreshold",
                    # Published only while writes replicate: a quiet table is not late.
                    treat_missing_data="notBreaching",
                ),
            )

    def _cache(self) -> None:
        name, args, s = self._name, self._args, self._args.settings
        child = pulumi.ResourceOptions(parent=self)
        group = self._store_security_group("cache", naming.CACHE_PORT)
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-cache",
            description="Private subnets of the session and dispatch-state cache",
            subnet_ids=list(args.private_subnet_ids),
            tags=self._tags,
            opts=child,
        )
        common = dict(
            replication_group_id=naming.cache_group(s.stack, args.code),
            description="Sessions and dispatch state: a cache, never the system of record",
            # A primary and a replica in another zone; the replica is promoted if a zone fails.
            num_cache_clusters=2,
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            subnet_group_name=subnets.name,
            security_group_ids=[group.id],
            tags=self._tags,
        )
        if args.origin:
            primary = aws.elasticache.ReplicationGroup(
                f"{name}-cache",
                engine="valkey",
                engine_version=s.cache_engine_version,
                node_type=s.cache_node_type,
                at_rest_encryption_enabled=True,
                kms_key_id=self._key.arn,
                transit_encryption_enabled=True,
                **common,  # type: ignore[arg-type]
                opts=child,
            )
            datastore = aws.elasticache.GlobalReplicationGroup(
                f"{name}-cache",
                global_replication_group_id_suffix=naming.cache_global_suffix(s.stack),
                global_replication_group_description="Sessions and dispatch state in every AWS region",
                primary_replication_group_id=primary.id,
                opts=child,
            )
            self.primaries += [datastore]
            self._datastore_id: pulumi.Input[str] = datastore.global_replication_group_id
            self.cache_endpoint = primary.primary_endpoint_address
        else:
            assert args.handles is not None
            # A secondary takes engine, version, node type and encryption from the datastore.
            member = aws.elasticache.ReplicationGroup(
                f"{name}-cache",
                global_replication_group_id=args.handles.global_datastore_id,
                **common,  # type: ignore[arg-type]
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.after)),
            )
            self.cache_endpoint = member.primary_endpoint_address
        if args.origin:
            self.handles = DataHandles(table_arn=self._table_arn, global_datastore_id=self._datastore_id)
        else:
            self.handles = None

    def _media(self) -> None:
        name, s = self._name, self._args.settings
        media = private_bucket(
            f"{name}-media",
            key_arn=self._key.arn,
            noncurrent_days=s.media_noncurrent_days,
            lifecycle_id="expire-old-versions",
            parent=self,
            protect=s.protect,
            tags=self._tags,
        )
        self.bucket = media.bucket
        self.bucket_versioning = media.versioning

    # ---------------------------------------------------------------------------------------
    def _lag_alarm(self, suffix: str, store: str, description: str, settings: aws.cloudwatch.MetricAlarmArgs) -> None:
        settings.alarm_description = description
        routed_alarm(
            f"{self._name}-{suffix}",
            service="data",
            severity="warning",
            category="data",
            runbook="DataReplicationLag",
            topic_arns=self._args.routing.topic_arns,
            runbook_base_url=self._args.settings.runbook_base_url,
            tags={**self._tags, "store": store},
            settings=settings,
            parent=self,
        )

    # ---------------------------------------------------------------------------------------
    def access(
        self, service: str, stores: Sequence[str], account_id: pulumi.Input[str]
    ) -> tuple[dict[str, pulumi.Input[str]], pulumi.Output[str] | None]:
        """The boot environment and the IAM policy document that let ``service`` use exactly
        ``stores`` in this region (None: no store)."""
        args, s = self._args, self._args.settings
        env: dict[str, pulumi.Input[str]] = {}
        statements: list[pulumi.Input[dict]] = []
        if "database" in stores:
            env.update(
                {
                    # The region's cluster: the writer in the writer's region, a secondary that
                    # forwards writes elsewhere (reads stay local).
                    "COURIER_DB_ENDPOINT": self.cluster_endpoint,
                    "COURIER_DB_READER_ENDPOINT": self.reader_endpoint,
                    "COURIER_DB_GLOBAL_WRITER_ENDPOINT": args.global_writer_endpoint,
                    "COURIER_DB_NAME": "courier",
                    "COURIER_DB_USER": service,
                    "COURIER_DB_PORT": str(naming.DATABASE_PORT),
                }
            )
            # IAM authentication as the service's own database user, on any cluster of the
            # account (cluster resource IDs are assigned by RDS and change on a rebuild).
            statements.append(
                pulumi.Output.from_input(account_id).apply(
                    lambda account: {
                        "Effect": "Allow",
                        "Action": "rds-db:connect",
                        "Resource": f"arn:aws:rds-db:*:{account}:dbuser:*/{service}",
                    }
                )
            )
        if "locations" in stores:
            table = naming.table(s.stack)
            env["COURIER_LOCATIONS_TABLE"] = table
            statements.append(
                pulumi.Output.from_input(account_id).apply(
                    lambda account: {
                        "Effect": "Allow",
                        "Action": list(TABLE_ACTIONS),
                        "Resource": f"arn:aws:dynamodb:{args.region}:{account}:table/{table}",
                    }
                )
            )
        if "cache" in stores:
            env["COURIER_CACHE_ENDPOINT"] = self.cache_endpoint
            env["COURIER_CACHE_PORT"] = str(naming.CACHE_PORT)
        if "media" in stores:
            env["COURIER_MEDIA_BUCKET"] = self.bucket.bucket
            statements.append(
                self.bucket.arn.apply(
                    lambda arn: {"Effect": "Allow", "Action": list(MEDIA_ACTIONS), "Resource": f"{arn}/*"}
                )
            )
            statements.append(
                self.key_arn.apply(
                    lambda arn: {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": arn}
                )
            )
        if not statements:
            return env, None
        return env, pulumi.Output.all(*statements).apply(lambda resolved: policies.document(*resolved))
