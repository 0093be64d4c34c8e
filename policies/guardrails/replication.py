"""Replication as policy: in prod every stateful store has a copy in another region, so losing a
region loses no more of what it held than the replication lag.

A store counts as replicated when the plan declares its copy in another region:

- an Aurora cluster (rds.Cluster) is a member of a global database (``globalClusterIdentifier``)
  whose clusters span at least two regions;
- an RDS instance has a cross-region read replica (an rds.Instance elsewhere whose
  ``replicateSourceDb`` names it), or is one;
- a DynamoDB table has a replica in another region: a ``replicas`` entry, or a
  dynamodb.TableReplica whose ``globalTableArn`` names it;
- an ElastiCache replication group belongs to a Global Datastore (GlobalReplicationGroup: its
  primary, or a member through ``globalReplicationGroupId``) with a member in another region;
- an S3 bucket tagged ``service: data`` (proof-of-delivery media) has an enabled
  BucketReplicationConfig rule to a bucket in another region.

On Alibaba Cloud the stores hold mainland China's personal data (PIPL): the copy must be in
another mainland China region (``cn-*``, not ``cn-hongkong``), and nowhere else. A PolarDB
cluster or an RDS instance is synchronized with one there by DTS (a SynchronizationJob with
``dataSynchronization``; PolarDB for PostgreSQL cannot join a Global Database Network through
the provider) or shares a Global Database Network with one; an OSS bucket tagged
``service: data`` has a BucketReplication there. Replication runs one way, from the region that
serves to its replica region (``regions[].dataReplica``), which serves nothing: the replica,
the destination of a copy from another mainland China region, counts as replicated too. (On
AWS every region's bucket takes writes, so each needs a rule of its own.)

Members are found the way the stack declares them: through property dependencies (a secondary
declared from the global database's outputs) or, for literal values, by name, never by computed
IDs. A resource's region is its own ``region`` input, else its provider's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyResource, StackValidationArgs

from guardrails.common import (
    ALI_RDS_INSTANCE,
    CACHE_DATASTORE,
    CACHE_GROUP,
    DTS_JOB,
    DYNAMODB_REPLICA,
    DYNAMODB_TABLE,
    OSS_BUCKET,
    OSS_REPLICATION,
    POLARDB_CLUSTER,
    POLARDB_GDN,
    RDS_CLUSTER,
    RDS_GLOBAL_CLUSTER,
    RDS_INSTANCE,
    S3_BUCKET,
    S3_REPLICATION,
    Report,
    declared,
    depends_on,
    get,
    of_type,
    points_at,
    region_of,
    setting,
    stack_policy,
)
from guardrails.resilience import REQUIRED

#: The tag value of the stores' buckets (the media), as opposed to logs and other buckets.
DATA_SERVICE = "data"


@dataclass(frozen=True)
class Store:
    resource: PolicyResource
    region: str
    #: Regions its copies are declared in (its own region does not count).
    copies: frozenset[str]
    #: What to report when it has none, saying how to add one.
    missing: str
    #: Alibaba Cloud: copies count only in mainland China, and anywhere else is a violation.
    china: bool = False


def mainland_china(region: str) -> bool:
    """An Alibaba Cloud region of mainland China (Hong Kong is outside PIPL's data boundary)."""
    return region.startswith("cn-") and region != "cn-hongkong"


def _literal(resource: PolicyResource, *path: str) -> Any:
    """An input's value when it is literal (not declared from another resource's outputs)."""
    if resource.property_dependencies.get(path[0]):
        return None
    return get(resource.props, *path)


def _tagged_data(resource: PolicyResource) -> bool:
    tags = get(resource.props, "tags", default={})
    return isinstance(tags, Mapping) and tags.get("service") == DATA_SERVICE


# -- AWS ----------------------------------------------------------------------------------------


def _aurora(args: StackValidationArgs) -> Iterator[Store]:
    clusters = of_type(args, RDS_CLUSTER)
    databases = of_type(args, RDS_GLOBAL_CLUSTER)

    def database(cluster: PolicyResource) -> str | None:
        """The global database a cluster belongs to (its URN, else the literal identifier)."""
        if not declared(cluster.props, "globalClusterIdentifier"):
            return None
        key = "globalClusterIdentifier"
        found = next((g.urn for g in databases if points_at(cluster, key, g, key)), None)
        deps = cluster.property_dependencies.get(key)
        return found or (",".join(sorted(d.urn for d in deps)) if deps else str(get(cluster.props, key)))

    membership = {c.urn: database(c) for c in clusters}
    for cluster in clusters:
        region, key = region_of(cluster), membership[cluster.urn]
        peers = {region_of(c) for c in clusters if key is not None and membership[c.urn] == key}
        if key is None:
            missing = (
                f"{cluster.name} ({region}) is in no global database; set globalClusterIdentifier to an "
                "rds.GlobalCluster and add a secondary cluster of it in another region."
            )
        else:
            missing = (
                f"{cluster.name} ({region}): its global database has clusters only in {region}; add a secondary "
                "cluster (globalClusterIdentifier) in another region."
            )
        yield Store(cluster, region, frozenset(peers - {region}), missing)


def _replica_of(replica: PolicyResource, source: PolicyResource) -> bool:
    """Whether an RDS instance replicates ``source`` (replicateSourceDb: its identifier or ARN)."""
    if replica.property_dependencies.get("replicateSourceDb"):
        return depends_on(replica, source, "replicateSourceDb")
    value, identifier = get(replica.props, "replicateSourceDb"), get(source.props, "identifier")
    return bool(value) and bool(identifier) and (value == identifier or str(value).endswith(f":db:{identifier}"))


def _rds_instances(args: StackValidationArgs) -> Iterator[Store]:
    instances = of_type(args, RDS_INSTANCE)
    for instance in instances:
        region = region_of(instance)
        copies = {region_of(o) for o in instances if o is not instance and _replica_of(o, instance)}
        copies |= {region_of(o) for o in instances if o is not instance and _replica_of(instance, o)}
        source = _literal(instance, "replicateSourceDb")
        if isinstance(source, str) and source.startswith("arn:"):
            copies.add(source.split(":")[3])  # a source outside the stack, named by its ARN
        missing = (
            f"{instance.name} ({region}) has no cross-region read replica; add an rds.Instance in another region "
            "with replicateSourceDb set to its ARN (or move it into an Aurora global database)."
        )
        yield Store(instance, region, frozenset(copies), missing)


def _table_replica_of(replica: PolicyResource, table: PolicyResource) -> bool:
    if replica.property_dependencies.get("globalTableArn"):
        return depends_on(replica, table, "globalTableArn")
    arn, name = get(replica.props, "globalTableArn"), get(table.props, "name")
    return bool(arn) and bool(name) and str(arn).endswith(f":table/{name}")


def _tables(args: StackValidationArgs) -> Iterator[Store]:
    replicas = of_type(args, DYNAMODB_REPLICA)
    for table in of_type(args, DYNAMODB_TABLE):
        region = region_of(table)
        copies = {str(get(r, "regionName")) for r in get(table.props, "replicas", default=[])}
        copies |= {region_of(r) for r in replicas if _table_replica_of(r, table)}
        missing = (
            f"{table.name} ({region}) has no replica in another region; add a dynamodb.TableReplica there "
            "(globalTableArn: the table's ARN) or a replicas entry."
        )
        yield Store(table, region, frozenset(copies), missing)


def _joins(group: PolicyResource, datastore: PolicyResource) -> bool:
    """Whether a replication group is a Global Datastore's primary or one of its members."""
    if points_at(datastore, "primaryReplicationGroupId", group, "replicationGroupId"):
        return True
    if group.property_dependencies.get("globalReplicationGroupId"):
        return depends_on(group, datastore, "globalReplicationGroupId")
    # ElastiCache prefixes the suffix with a per-region code: "<prefix>-<suffix>".
    value, suffix = get(group.props, "globalReplicationGroupId"), get(datastore.props, "globalReplicationGroupIdSuffix")
    return bool(value) and bool(suffix) and str(value).split("-", 1)[-1] == suffix


def _caches(args: StackValidationArgs) -> Iterator[Store]:
    groups = of_type(args, CACHE_GROUP)
    datastores = of_type(args, CACHE_DATASTORE)
    for group in groups:
        region = region_of(group)
        mine = [d for d in datastores if _joins(group, d)]
        copies = {region_of(g) for d in mine for g in groups if _joins(g, d)}
        if mine:
            missing = (
                f"{group.name} ({region}): its Global Datastore has members only in {region}; join a replication "
                "group in another region (globalReplicationGroupId)."
            )
        else:
            missing = (
                f"{group.name} ({region}) is in no Global Datastore; make it the primary of an "
                "elasticache.GlobalReplicationGroup and join a replication group in another region."
            )
        yield Store(group, region, frozenset(copies - {region}), missing)


def _enabled_rules(config: PolicyResource) -> list[Any]:
    return [r for r in get(config.props, "rules", default=[]) if get(r, "status") == "Enabled"]


def _destination(config: PolicyResource, bucket: PolicyResource) -> bool:
    """Whether a replication configuration's enabled rules copy into ``bucket``."""
    if config.property_dependencies.get("rules"):
        return depends_on(config, bucket, "rules")
    name = get(bucket.props, "bucket")
    return bool(name) and any(get(r, "destination", "bucket") == f"arn:aws:s3:::{name}" for r in _enabled_rules(config))


def _media(args: StackValidationArgs) -> Iterator[Store]:
    buckets = of_type(args, S3_BUCKET)
    configs = of_type(args, S3_REPLICATION)
    for bucket in buckets:
        if not _tagged_data(bucket):
            continue
        region = region_of(bucket)
        copies: set[str] = set()
        for config in configs:
            if points_at(config, "bucket", bucket, "bucket") and _enabled_rules(config):
                copies |= {region_of(b) for b in buckets if b is not bucket and _destination(config, b)}
        missing = (
            f"{bucket.name} ({region}) holds data (tag service: data) but no enabled replication rule copies it to "
            "a bucket in another region; add an s3.BucketReplicationConfig rule with such a destination."
        )
        yield Store(bucket, region, frozenset(copies - {region}), missing)


# -- Alibaba Cloud ------------------------------------------------------------------------------

_IN_CHINA = "another mainland China region (cn-*, not cn-hongkong)"


def _synchronized(args: StackValidationArgs, store: PolicyResource, peers: list[PolicyResource]) -> set[str]:
    """Regions a DTS synchronization (with continuous data synchronization) links ``store`` to,
    as its source or its destination."""
    regions: set[str] = set()
    for job in of_type(args, DTS_JOB):
        if not get(job.props, "dataSynchronization", default=False):
            continue  # a one-time migration, not replication
        for end, other in (("source", "destination"), ("destination", "source")):
            if not points_at(job, f"{end}EndpointInstanceId", store):
                continue
            region = get(job.props, f"{other}EndpointRegion")
            if region:
                regions.add(str(region))
            regions |= {
                region_of(p) for p in peers if p is not store and points_at(job, f"{other}EndpointInstanceId", p)
            }
    return regions


def _polardb(args: StackValidationArgs) -> Iterator[Store]:
    clusters = of_type(args, POLARDB_CLUSTER)
    networks = of_type(args, POLARDB_GDN)

    def joins(cluster: PolicyResource, network: PolicyResource) -> bool:
        # PolarDB assigns cluster and network IDs: only dependencies can tell membership.
        return points_at(network, "dbClusterId", cluster) or points_at(cluster, "gdnId", network)

    for cluster in clusters:
        region = region_of(cluster)
        mine = [n for n in networks if joins(cluster, n)]
        copies = {region_of(c) for n in mine for c in clusters if joins(c, n)} | _synchronized(args, cluster, clusters)
        missing = (
            f"{cluster.name} ({region}) is not replicated to {_IN_CHINA}; synchronize it with a cluster there "
            "(dts.SynchronizationJob with dataSynchronization) or add both to a polardb.GlobalDatabaseNetwork."
        )
        yield Store(cluster, region, frozenset(copies - {region}), missing, china=True)


def _ali_rds(args: StackValidationArgs) -> Iterator[Store]:
    instances = of_type(args, ALI_RDS_INSTANCE)
    for instance in instances:
        region = region_of(instance)
        missing = (
            f"{instance.name} ({region}) is not replicated to {_IN_CHINA}; synchronize it with an instance there "
            "(dts.SynchronizationJob with dataSynchronization: a disaster recovery instance)."
        )
        copies = _synchronized(args, instance, instances)
        yield Store(instance, region, frozenset(copies - {region}), missing, china=True)


def _oss(args: StackValidationArgs) -> Iterator[Store]:
    buckets = of_type(args, OSS_BUCKET)
    replications = of_type(args, OSS_REPLICATION)
    for bucket in buckets:
        if not _tagged_data(bucket):
            continue
        region = region_of(bucket)
        copies: set[str] = set()
        for replication in replications:
            if points_at(replication, "bucket", bucket, "bucket"):
                location = get(replication.props, "destination", "location")  # "oss-cn-shanghai"
                if location:
                    copies.add(str(location).removeprefix("oss-"))
                copies |= {
                    region_of(b) for b in buckets if b is not bucket and depends_on(replication, b, "destination")
                }
            elif _receives(replication, bucket):
                # The replica region's bucket: a copy of the primary's, which is in another region.
                sources = [b for b in buckets if points_at(replication, "bucket", b, "bucket")]
                copies |= {region_of(b) for b in sources} or {region_of(replication)}
        missing = (
            f"{bucket.name} ({region}) holds data (tag service: data) but is not replicated to {_IN_CHINA}; add an "
            "oss.BucketReplication with a destination bucket there (destination.location oss-cn-...)."
        )
        yield Store(bucket, region, frozenset(copies - {region}), missing, china=True)


def _receives(replication: PolicyResource, bucket: PolicyResource) -> bool:
    """Whether an OSS replication copies into ``bucket``."""
    if replication.property_dependencies.get("destination"):
        return depends_on(replication, bucket, "destination")
    name = get(bucket.props, "bucket")
    return bool(name) and get(replication.props, "destination", "bucket") == name


def stores(args: StackValidationArgs) -> Iterator[Store]:
    for kind in (_aurora, _rds_instances, _tables, _caches, _media, _polardb, _oss, _ali_rds):
        yield from kind(args)


@stack_policy(
    "courier-stateful-store-replicated",
    "Every stateful store (Aurora, RDS, DynamoDB, ElastiCache, the data buckets; PolarDB, RDS and OSS on "
    "Alibaba Cloud) is replicated to at least one other region (when `required`, i.e. in prod); Alibaba "
    "Cloud stores only to other mainland China regions.",
    REQUIRED,
    remediation="Add the store's member in another region (a global database, table replica, Global Datastore "
    "member or replication rule); on Alibaba Cloud, in another cn-* region that is not cn-hongkong.",
)
def store_replicated(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if not setting(config, REQUIRED):
        return
    for store in stores(args):
        copies = set(store.copies) - {store.region}
        if store.china:
            abroad = sorted(r for r in copies if not mainland_china(r))
            if abroad:
                report(
                    f"{store.resource.name} ({store.region}) is copied to {', '.join(abroad)}, outside mainland China: "
                    f"its personal data stays in mainland China (PIPL); replicate to {_IN_CHINA} instead.",
                    store.resource.urn,
                )
            copies -= set(abroad)
        if not copies:
            report(store.missing, store.resource.urn)
