"""``courier:data``: the data tier (orders and payments in an Aurora PostgreSQL Global Database,
rider locations in a DynamoDB global table, sessions and dispatch state in a Valkey Global
Datastore, proof-of-delivery media in replicated S3 buckets; mainland China's in PolarDB and
OSS replicated within China). Everything has a production default; a stack overrides what it
must.
"""

from __future__ import annotations

from typing import Annotated, Literal

from components.spec.fields import Number, WholeNumber, _between, _matching, _Model

#: What a service may reach (its instance role is granted exactly these, and its boot
#: environment carries their endpoints).
Store = Literal["database", "locations", "cache", "media"]
STORES: tuple[str, ...] = ("database", "locations", "cache", "media")


class DatabaseSpec(_Model):
    """The Aurora PostgreSQL Global Database of orders and payments."""

    #: Aurora PostgreSQL version, the same in every region (a global database refuses members on
    #: different major versions; minor upgrades are applied deliberately, never automatically).
    engine_version: Annotated[str, _matching(r"1[3-7]\.[0-9]{1,2}", "an Aurora PostgreSQL version such as 16.6")] = (
        "16.6"
    )
    #: Instance class of every cluster's instances (Aurora global databases need db.r5 or larger).
    instance_class: Annotated[
        str,
        _matching(r"db\.(r5|r6g|r6i|r7g|r7i|r8g|x2g)\.[0-9]*x?large", "a memory-optimized class such as db.r7g.large"),
    ] = "db.r7g.large"
    #: Instances per cluster, each in its own zone (the writer's failover target included).
    #: Default: 2 in prod, 1 elsewhere.
    instances: Annotated[WholeNumber, _between(1, 15)] | None = None
    #: Days of automated backups (point-in-time restore). Prod needs at least 7.
    backup_retention_days: Annotated[WholeNumber, _between(1, 35)] = 7
    #: The region whose cluster created the global database and holds its master credentials
    #: (its declaration never changes, whichever region writes today). Default: the primary.
    #: ``python -m courier dr`` sets it when the primary is lost, so the promoted region's
    #: cluster is not redeclared (and replaced) as a new writer.
    origin_region: str | None = None


class CacheSpec(_Model):
    """The Valkey Global Datastore of sessions and dispatch state: a cache, never the record."""

    engine_version: Annotated[str, _matching(r"[78]\.[0-9]", "a Valkey version such as 8.0")] = "8.0"
    #: Global datastores need m5/r5 or newer, large or bigger.
    node_type: Annotated[
        str,
        _matching(
            r"cache\.(m5|m6g|m7g|r5|r6g|r6gd|r7g|c7gn)\.[0-9]*x?large",
            "a node type a Global Datastore accepts, such as cache.r7g.large",
        ),
    ] = "cache.r7g.large"


class ChinaDataSpec(_Model):
    """Mainland China's data (PIPL): PolarDB for PostgreSQL with a Global Database Network and
    OSS, replicated to a second Alibaba Cloud region in China (regions[].dataReplica)."""

    #: PolarDB node class of the primary and standby clusters.
    polardb_node_class: Annotated[
        str, _matching(r"polar\.pg\.[a-z0-9.]+", "a PolarDB for PostgreSQL node class such as polar.pg.x4.large")
    ] = "polar.pg.x4.large"


class DataSpec(_Model):
    database: DatabaseSpec = DatabaseSpec()
    cache: CacheSpec = CacheSpec()
    china: ChinaDataSpec = ChinaDataSpec()
    #: Replication lag that raises a warning, per store (seconds): Aurora's typical lag is under
    #: a second, DynamoDB's usually a second or two, S3 Replication Time Control's SLA 15 minutes.
    rpo_alarm_seconds: Annotated[Number, _between(1, 3600)] = 10
    #: The recovery time objective of a region switch (the ARC Region switch plan's, prod).
    rto_minutes: Annotated[WholeNumber, _between(1, 1440)] = 15
    #: Days a proof-of-delivery photo's older versions (overwritten or deleted) are kept.
    media_noncurrent_days: Annotated[WholeNumber, _between(1, 3650)] = 90
