"""The playbook for losing a region: what traffic, data and capacity do, step by step, with the
recovery time and the data at risk of each step and where each figure comes from. Pure: it
reads the Plan (resources and the program's ``dr`` output) and the storm model's results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from courier.plan import Plan
from courier.storm import fleets

REGION_SWITCH = "aws:arcregionswitch/plan:Plan"

ROUTE53_SOURCE = (
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html"
)
AURORA_SOURCE = (
    "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html"
)
DYNAMODB_SOURCE = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html"
CACHE_SOURCE = "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Redis-Global-Datastores-Console.html"
S3_SOURCE = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-time-control.html"
SECRETS_SOURCE = "https://docs.aws.amazon.com/secretsmanager/latest/userguide/standalone-secret.html"
ARC_SOURCE = "https://docs.aws.amazon.com/r53recovery/latest/dg/region-switch.html"


class PlaybookError(ValueError):
    """The Plan lacks what the playbook reads (an older program): exit 2."""


@dataclass(frozen=True)
class Step:
    area: str
    action: str
    rto: str
    rpo: str
    source: str
    command: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "action": self.action,
            "rto": self.rto,
            "rpo": self.rpo,
            "source": self.source,
            **({"command": self.command} if self.command else {}),
        }


@dataclass(frozen=True)
class Capacity:
    """Whether the survivors carry the lost region's users (the storm model)."""

    scenario: str
    description: str
    carried: bool
    worst_overloaded_minutes: float
    worst_unserved_percent: float
    worst_fleet: str

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "description": self.description,
            "carried": self.carried,
            "worstOverloadedMinutes": round(self.worst_overloaded_minutes, 2),
            "worstUnservedPercent": round(self.worst_unserved_percent, 3),
            "worstFleet": self.worst_fleet,
        }


@dataclass(frozen=True)
class Playbook:
    stack: str
    lost: str
    new_primary: str
    writer_lost: bool
    survivors: tuple[str, ...]
    steps: tuple[Step, ...]
    capacity: tuple[Capacity, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "lost": self.lost,
            "newPrimary": self.new_primary,
            "writerLost": self.writer_lost,
            "survivors": list(self.survivors),
            "steps": [s.to_json() for s in self.steps],
            "capacity": [c.to_json() for c in self.capacity],
        }


def dr_output(plan: Plan) -> Mapping[str, Any]:
    found = plan.outputs.get("dr")
    if not isinstance(found, Mapping) or "regions" not in found:
        raise PlaybookError("the plan has no 'dr' output: the program is older than the dr command")
    return found


def failover_seconds(plan: Plan) -> tuple[float, str]:
    """Route 53's time to stop answering with an unhealthy region, from the Plan's health checks
    (the storm simulator's reading of them: courier.storm.fleets.failover_seconds)."""
    seconds = fleets.failover_seconds(plan.resources)
    how = f"the Plan's health checks' failure threshold x interval + {fleets.DNS_CACHE_SECONDS} s of DNS caching"
    return seconds, how


def build(plan: Plan, lost: str, capacity: Sequence[Capacity]) -> Playbook:
    dr = dr_output(plan)
    regions = [r for r in dr["regions"] if isinstance(r, Mapping)]
    by_name = {r["name"]: r for r in regions}
    if lost not in by_name:
        raise PlaybookError(f"{lost!r} is not a region of the plan")
    stack = plan.stack
    aws_active = [r for r in regions if r["cloud"] == "aws" and r["status"] != "lost" and r["name"] != lost]
    survivors = tuple(r["name"] for r in aws_active if r["role"] != "standby") or tuple(r["name"] for r in aws_active)
    writer_lost = dr["primary"] == lost
    new_primary = aws_active[0]["name"] if writer_lost and aws_active else dr["primary"]
    origin_lost = dr["dataOrigin"] == lost
    seconds, how = failover_seconds(plan)
    new_code = next((r["code"] for r in regions if r["name"] == new_primary), "")
    switch = next((p for p in plan.of_type(REGION_SWITCH) if lost in (p.inputs.get("regions") or [])), None)
    steps = [
        Step(
            "traffic",
            (
                f"Route 53's geolocation record stops sending mainland China to {lost} (its health check fails) and "
                f"sends it to the AWS regions ({', '.join(survivors)}) until it returns."
                if by_name[lost]["cloud"] == "alicloud"
                else f"Route 53 stops answering with {lost} (its calculated health check fails) and sends its users "
                f"to {', '.join(survivors) or 'the standby'}; the standby answers only when no active region is "
                "healthy."
            ),
            f"~{seconds:g} s ({how})",
            "none (requests in flight to the lost region fail and are retried by clients)",
            ROUTE53_SOURCE,
        )
    ]
    if switch is not None:
        steps.append(
            Step(
                "orchestration",
                f"Run the ARC Region switch plan {switch.inputs.get('name') or switch.name} to activate {new_primary}: "
                "it raises the receiving region's groups, switches (or fails over) the database and checks Route 53, "
                "from AWS itself, even when this repository's runner is unreachable.",
                "the sum of the steps below (ARC re-evaluates the plan every 30 minutes)",
                "as the database step",
                ARC_SOURCE,
                f"aws arc-region-switch start-plan-execution --plan-arn <arn of {switch.inputs.get('name') or switch.name}> "
                f"--target-region {new_primary} --action activate",
            )
        )
    cluster = f"courier-{stack}-{new_code}-orders"
    china = by_name[lost]["cloud"] == "alicloud"
    if china:
        replica = by_name[lost].get("dataReplica") or "the data replica region"
        steps.append(
            Step(
                "mainland China's data (PolarDB + DTS, OSS)",
                f"Stop the DTS synchronization into {replica} and point the China services' database endpoint at "
                f"{replica}'s PolarDB cluster (it becomes the writer); media is already in {replica}'s bucket. "
                "The data stays in mainland China (PIPL): the AWS regions that take China's traffic meanwhile do "
                "not hold it.",
                "minutes (stopping the job and switching the endpoint)",
                "the DTS synchronization's last lag (seconds; DTS alarms on it); media: OSS RTC, 10 minutes",
                "https://www.alibabacloud.com/help/en/dts/user-guide/overview-of-data-synchronization-scenarios",
                f"aliyun dts StopDtsJob --DtsJobId <job of courier-{stack}> --RegionId {replica}",
            )
        )
    if writer_lost:
        steps.append(
            Step(
                "orders database (Aurora global)",
                f"If {lost}'s writer still answers, switch the global database over to {new_primary} (synchronises "
                f"first); otherwise fail over to {new_primary}, accepting the unreplicated tail.",
                "switchover: a few minutes; failover: promotion under 1 minute, then the global writer endpoint follows",
                f"switchover: 0; failover: the last AuroraGlobalDBRPOLag of {new_primary} (typically under 1 s; the "
                f"DataReplicationLag alarm fires above {dr.get('rpoAlarmSeconds', 10):g} s)",
                AURORA_SOURCE,
                f"aws rds failover-global-cluster --region {new_primary} --global-cluster-identifier "
                f"{dr.get('globalCluster')} --target-db-cluster-identifier <arn of {cluster}> --allow-data-loss "
                f"(or switchover-global-cluster without --allow-data-loss)",
            )
        )
    elif not china:  # losing mainland China's region leaves the AWS data tier untouched
        steps.append(
            Step(
                "orders database (Aurora global)",
                f"Nothing to switch: the writer stays in {dr['primary']}; {lost}'s secondary cluster is unavailable "
                "and its readers move with the traffic.",
                "0",
                "0",
                AURORA_SOURCE,
            )
        )
    if origin_lost:
        steps.append(
            Step(
                "cache (Valkey Global Datastore)",
                f"Promote {new_primary}'s member to primary of the Global Datastore (a cache: what is lost is "
                "refilled from the database).",
                "about 1 minute",
                "under 1 s of cache writes (never the record)",
                CACHE_SOURCE,
                f"aws elasticache failover-global-replication-group --global-replication-group-id <id> "
                f"--primary-region {new_primary} --primary-replication-group-id courier-{stack}-{new_code}-cache",
            )
        )
        steps.append(
            Step(
                "master secret",
                f"Promote the secret's replica in {new_primary} to a standalone secret (the primary lives in {lost}).",
                "seconds",
                "0",
                SECRETS_SOURCE,
                f"aws secretsmanager stop-replication-to-replica --region {new_primary} --secret-id "
                f"courier/{stack}/orders/master",
            )
        )
    aws_steps = (
        []
        if china
        else [
            Step(
                "rider locations (DynamoDB global table, MREC)",
                "Nothing to switch: every replica takes writes. Writes taken in the lost region and not yet replicated "
                "reappear when it returns (last writer wins).",
                "0",
                "the lost region's ReplicationLatency (usually about a second)",
                DYNAMODB_SOURCE,
            ),
            Step(
                "proof-of-delivery media (S3, Replication Time Control)",
                "Nothing to switch: every region's bucket holds the others' objects.",
                "0",
                "objects written in the lost region in its last 15 minutes at most (RTC: 99.99% within 15 minutes)",
                S3_SOURCE,
            ),
        ]
    )
    steps += aws_steps
    for check in capacity:
        steps.append(
            Step(
                "capacity",
                f"{check.description}: "
                + (
                    "the survivors carry it"
                    if check.carried
                    else f"the survivors do NOT carry it (worst: {check.worst_fleet}, "
                    f"{check.worst_overloaded_minutes:.1f} min overloaded, {check.worst_unserved_percent:.2f}% unserved)"
                ),
                f"worst fleet overloaded {check.worst_overloaded_minutes:.1f} min",
                f"{check.worst_unserved_percent:.2f}% of requests unserved",
                "python -m courier storm (courier/storm/engine.py, its assumptions in courier:storm)",
            )
        )
    steps.append(
        Step(
            "rebuild",
            "Apply the rebuilt config (`python -m courier dr ... --out DIR` wrote it and its plan passed the pack): "
            "the lost region stays declared and untouched, the new region is built in its role.",
            "the `pulumi up` of one region (tens of minutes; the database member catches up afterwards)",
            "0",
            "docs/dr.md",
            f"pulumi up -s {stack} --config-file DIR/Pulumi.{stack}.yaml",
        )
    )
    if china:
        steps.append(
            Step(
                "backfill",
                "The new region's database and media fill by themselves: DTS's full synchronization, then changes, "
                "into its standby; OSS replicates existing objects (historical replication) as well as new ones.",
                "hours, by volume",
                "0",
                "components/alicloud/data.py",
            )
        )
        return Playbook(stack, lost, new_primary, writer_lost, survivors, tuple(steps), tuple(capacity))
    steps.append(
        Step(
            "backfill",
            "Copy what existed before the rebuild into the new region's bucket (replication only carries new "
            "objects); the new Aurora member copies the database by itself. "
            + (
                f"The DynamoDB replica of the new region is added through the table in {lost} (the provider "
                "addresses the table's own region): add it once that region's API answers."
                if origin_lost
                else "The DynamoDB replica is added by the `up` and filled by DynamoDB."
            ),
            "hours, by volume",
            "0",
            "https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-batch-replication-batch.html",
            "aws s3control create-job ... --operation S3ReplicateObject (S3 Batch Replication, per source bucket)",
        )
    )
    return Playbook(stack, lost, new_primary, writer_lost, survivors, tuple(steps), tuple(capacity))
