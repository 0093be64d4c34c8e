"""Databases that survive the loss of a node or a zone: an Aurora cluster has instances in at least
two zones, a PolarDB cluster at least two nodes (when `required`, i.e. in prod; a standalone RDS
instance's Multi-AZ is aws-rds-multi-az in data.py).

An Aurora cluster's instances are separate resources (``rds.ClusterInstance``), followed to their
cluster by dependency (``clusterIdentifier`` declared from the cluster's outputs) or, written
literally, by the cluster's ``clusterIdentifier``. Their zones are counted where they are set;
an instance without ``availabilityZone`` is placed by RDS and counts as a zone of its own (RDS
spreads a cluster's instances over the subnet group's zones).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, StackValidationArgs

from guardrails.common import (
    POLARDB_CLUSTER,
    RDS_CLUSTER,
    Report,
    Setting,
    get,
    num,
    of_type,
    points_at,
    resource_policy,
    setting,
    stack_policy,
)

RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
REQUIRED = Setting(
    "required", {"type": "boolean", "default": False, "description": "Whether the rule applies in this environment."}
)
MIN_ZONES = Setting(
    "minZones",
    {"type": "integer", "minimum": 2, "default": 2, "description": "Zones an Aurora cluster's instances must span."},
)


@stack_policy(
    "aws-rds-cluster-multi-az",
    "An Aurora cluster has instances in at least `minZones` availability zones (when `required`, i.e. in "
    "prod), so losing a zone or the writer fails over instead of going down.",
    REQUIRED,
    MIN_ZONES,
)
def cluster_multi_az(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if not setting(config, REQUIRED):
        return
    wanted = setting(config, MIN_ZONES)
    instances = of_type(args, RDS_CLUSTER_INSTANCE)
    for cluster in of_type(args, RDS_CLUSTER):
        if get(cluster.props, "dbClusterInstanceClass"):
            continue  # a Multi-AZ DB cluster (mysql / postgres): RDS runs its three instances in three zones
        mine = [i for i in instances if points_at(i, "clusterIdentifier", cluster, "clusterIdentifier")]
        zones = {str(get(i.props, "availabilityZone")) for i in mine if get(i.props, "availabilityZone")}
        placed_by_rds = sum(1 for i in mine if not get(i.props, "availabilityZone"))
        spread = len(zones) + placed_by_rds
        if spread >= wanted:
            continue
        where = f" in {', '.join(sorted(zones))}" if zones else ""
        report(
            f"{cluster.name} has {len(mine)} instance(s){where}, spanning {spread} zone(s): losing "
            f"{'it' if len(mine) == 1 else 'that zone'} takes the database down. Add rds.ClusterInstance "
            f"readers (promotion tiers) so the cluster spans at least {num(wanted)} zones, each with its own "
            "availabilityZone.",
            cluster.urn,
        )


@resource_policy(
    "alicloud-polardb-cluster-multi-node",
    "A PolarDB cluster keeps at least two nodes (a primary and a read-only node to fail over to) when "
    "`required`, i.e. in prod.",
    [POLARDB_CLUSTER],
    REQUIRED,
)
def polardb_multi_node(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if not setting(config, REQUIRED):
        return
    # dbNodeCount defaults to 2 (pulumi-alicloud polardb.Cluster: "default is 2 (Each cluster must
    # contain at least a primary node and a read-only node)"); the Basic edition is one node
    # (creationCategory "Basic", MySQL only).
    if str(get(args.props, "creationCategory", default="Normal")) == "Basic":
        report(f'{args.name} is a single-node Basic edition cluster; use creationCategory "Normal" with dbNodeCount 2.')
        return
    nodes = get(args.props, "dbNodeCount", default=2)
    if isinstance(nodes, (int, float)) and nodes < 2:
        report(f"{args.name} has dbNodeCount {num(nodes)}: nothing to fail over to; set dbNodeCount to 2 or more.")
