"""The parity report: the rebuilt region against the lost one, kind by kind, from the two
Plans (before the loss, and of the rebuilt config). Anything missing or weaker is a failure.
Pure.

Resources are matched by name with the lost region's code replaced by the rebuild region's
(every resource of a region is named after its code), so "the same resource" means the same
role in the program. Capacities are scaled by the two regions' ``capacityPercent``; resources
that only the data tier's origin holds (the DynamoDB table itself, the Global Datastore) are
satisfied by a replica or by the stack keeping them."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from courier.plan import Plan, Resource, tag_value

GROUP = "aws:autoscaling/group:Group"
POLICY = "aws:autoscaling/policy:Policy"
SCHEDULE = "aws:autoscaling/schedule:Schedule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE_GROUP = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"
CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
TABLE = "aws:dynamodb/table:Table"
TABLE_REPLICA = "aws:dynamodb/tableReplica:TableReplica"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"

#: Types the data tier's origin holds for the whole stack: a rebuilt region is not expected to
#: hold one of its own (the stack keeps the lost region's, declared as it was).
ORIGIN_ONLY = {
    "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup",
    "aws:ecr/replicationConfiguration:ReplicationConfiguration",
    "aws:secretsmanager/secret:Secret",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "aws:rds/globalCluster:GlobalCluster",
}
#: Components the primary holds for the whole stack (the Grafana workspace and everything in
#: it): the promoted primary builds its own, a rebuilt region is not expected to hold one.
PRIMARY_ONLY = ("courier:aws:GrafanaWorkspace", "courier:grafana:Dashboards")
#: A replica stands for the table it replicates.
EQUIVALENT = {TABLE: TABLE_REPLICA}


@dataclass(frozen=True)
class Row:
    kind: str
    item: str
    lost: str
    rebuilt: str
    status: str  # ok | missing | weaker | note

    @property
    def failed(self) -> bool:
        return self.status in ("missing", "weaker")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "item": self.item, "lost": self.lost, "rebuilt": self.rebuilt, "status": self.status}


@dataclass(frozen=True)
class Report:
    lost: str
    rebuilt: str
    rows: tuple[Row, ...]

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "lost": self.lost,
            "rebuilt": self.rebuilt,
            "ok": not self.failed,
            "failures": sum(r.failed for r in self.rows),
            "rows": [r.to_json() for r in self.rows],
        }


def _regions(plan: Plan) -> dict[str, Mapping[str, Any]]:
    dr = plan.outputs.get("dr") or {}
    return {r["name"]: r for r in dr.get("regions", []) if isinstance(r, Mapping)}


def _in_region(plan: Plan, region: str, code: str) -> list[Resource]:
    """The region's resources: those landing in it, and global ones named after it (its
    Route 53 records and health checks)."""
    found = []
    for r in plan.resources:
        if r.type.startswith("pulumi:providers:"):
            continue
        # What the stack shares but creates through some region's provider (the shared
        # certificate record, the master password) is not named after the region.
        named = r.name == code or r.name.startswith(f"{code}-") or f"-{code}-" in r.name or r.name.endswith(f"-{code}")
        if named and r.region in (region, None, "us-east-1", "global"):
            found.append(r)
    return found


def _key(resource: Resource, code: str, zones: Sequence[str] = ()) -> tuple[str, str]:
    """(type, name) with the region's code and its zones' letters (by position: the rebuilt
    region's first zone stands for the lost region's first) made neutral."""
    name = resource.name.replace(code, "{region}")
    letters = {zone[-1]: index for index, zone in enumerate(zones)}
    name = re.sub(
        r"-([a-z])(?=$|-)", lambda m: f"-{{zone{letters[m.group(1)]}}}" if m.group(1) in letters else m.group(0), name
    )
    return resource.type, name


def compare(before: Plan, after: Plan, lost: str, rebuilt: str, *, verdict_ok: bool, verdict: str) -> Report:
    regions_before, regions_after = _regions(before), _regions(after)
    if lost not in regions_before or rebuilt not in regions_after:
        raise ValueError(f"parity needs {lost} in the plan before and {rebuilt} in the plan after")
    lost_code, new_code = regions_before[lost]["code"], regions_after[rebuilt]["code"]
    scale = float(regions_after[rebuilt].get("capacityPercent") or 100) / float(
        regions_before[lost].get("capacityPercent") or 100
    )
    old_zones = list(regions_before[lost].get("zones") or [])
    new_zones = list(regions_after[rebuilt].get("zones") or [])
    old = {_key(r, lost_code, old_zones): r for r in _in_region(before, lost, lost_code)}
    new = {_key(r, new_code, new_zones): r for r in _in_region(after, rebuilt, new_code)}
    rows: list[Row] = []
    rows += _services(old.values(), new.values())
    rows += _presence(old, new, after)
    rows += _fleets(old, new, scale)
    rows += _scaling(old, new, scale)
    rows += _alarms(old, new)
    rows += _data(old, new)
    rows.append(Row("policies", "the pack over the rebuilt plan", "", verdict, "ok" if verdict_ok else "weaker"))
    return Report(lost, rebuilt, tuple(rows))


def _services(old: Iterable[Resource], new: Iterable[Resource]) -> list[Row]:
    def services(resources: Iterable[Resource]) -> set[str]:
        found = set()
        for r in resources:
            if r.type in (GROUP, DEPLOYMENT, NODE_GROUP) or r.type.startswith("aws:lb/targetGroup"):
                service = tag_value(r.inputs.get("tags"), "service")
                if service and service != "shared":
                    found.add(service)
        return found

    before, after = services(old), services(new)
    return [
        Row("services", name, "runs", "runs" if name in after else "absent", "ok" if name in after else "missing")
        for name in sorted(before)
    ]


def _presence(
    old: Mapping[tuple[str, str], Resource], new: Mapping[tuple[str, str], Resource], after: Plan
) -> list[Row]:
    """Every resource of the lost region has its counterpart, counted per type."""
    rows = []
    missing: dict[str, list[str]] = {}
    for (kind, name), _resource in old.items():
        if (kind, name) in new or (EQUIVALENT.get(kind), name) in new:
            continue
        if kind in ORIGIN_ONLY and after.of_type(kind):
            continue
        if any(f"{component}$" in _resource.urn for component in PRIMARY_ONLY):
            continue
        if kind.startswith("courier:") or kind.startswith("kubernetes:"):
            # Components and Kubernetes objects are compared by what they build below.
            if kind.startswith("kubernetes:") and (kind, name) not in new:
                missing.setdefault(kind, []).append(name)
            continue
        missing.setdefault(kind, []).append(name)
    counts_old = Counter(k for k, _ in old)
    counts_new = Counter(k for k, _ in new)
    for kind in sorted(counts_old):
        names = missing.get(kind, [])
        status = "missing" if names else "ok"
        shown = f"{counts_new.get(kind, 0) + counts_new.get(EQUIVALENT.get(kind, ''), 0)}"
        shown_names = [re.sub(r"\{zone(\d+)\}", r"zone\1", n.replace("{region}", "*")) for n in names[:3]]
        detail = f"{kind} ({', '.join(shown_names)}{'…' if len(names) > 3 else ''})"
        rows.append(Row("resources", detail if names else kind, str(counts_old[kind]), shown, status))
    return rows


def _pairs(old: Mapping[tuple[str, str], Resource], new: Mapping[tuple[str, str], Resource], kind: str):
    for key, resource in sorted(old.items()):
        if key[0] == kind and key in new:
            yield key[1], resource, new[key]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _at_least(kind: str, item: str, before: Any, after: Any, scale: float = 1.0) -> Row:
    b, a = _number(before), _number(after)
    if b is None:
        return Row(kind, item, str(before), str(after), "ok" if before == after else "note")
    need = math.ceil(b * scale - 1e-9)
    ok = a is not None and a >= need
    return Row(
        kind,
        item,
        f"{before:g}" + (f" (x{scale:g} = {need})" if scale != 1 else ""),
        str(after),
        "ok" if ok else "weaker",
    )


def _fleets(old, new, scale: float) -> list[Row]:
    rows = []
    for name, b, a in _pairs(old, new, GROUP):
        label = name.replace("{region}-", "").removesuffix("-asg")
        for field in ("minSize", "maxSize"):
            rows.append(
                _at_least("fleet capacity", f"{label} {field}", b.inputs.get(field), a.inputs.get(field), scale)
            )
        pool_b = (b.inputs.get("warmPool") or {}).get("maxGroupPreparedCapacity")
        pool_a = (a.inputs.get("warmPool") or {}).get("maxGroupPreparedCapacity")
        if pool_b is not None:
            rows.append(_at_least("fleet capacity", f"{label} warm pool", pool_b, pool_a or 0, scale))
    for name, b, a in _pairs(old, new, NODE_GROUP):
        sb, sa = b.inputs.get("scalingConfig") or {}, a.inputs.get("scalingConfig") or {}
        for field in ("minSize", "maxSize"):
            rows.append(_at_least("node group", f"{name} {field}", sb.get(field), sa.get(field), scale))
    return rows


def _scaling(old, new, scale: float) -> list[Row]:
    rows = []
    for name, b, a in _pairs(old, new, POLICY):
        tb = (b.inputs.get("targetTrackingConfiguration") or {}).get("targetValue")
        ta = (a.inputs.get("targetTrackingConfiguration") or {}).get("targetValue")
        if tb is not None:
            ok = ta is not None and float(ta) <= float(tb)
            rows.append(Row("scaling policy", f"{name} target", f"{tb:g}", str(ta), "ok" if ok else "weaker"))
        else:
            rows.append(Row("scaling policy", name, "present", "present", "ok"))
    for name, b, a in _pairs(old, new, SCHEDULE):
        rows.append(
            _at_least("promotion schedule", f"{name} minSize", b.inputs.get("minSize"), a.inputs.get("minSize"), scale)
        )
    return rows


def _alarms(old, new) -> list[Row]:
    rows = []
    for name, b, a in _pairs(old, new, ALARM):
        tb, ta = b.inputs.get("threshold"), a.inputs.get("threshold")
        same = tb == ta and b.inputs.get("comparisonOperator") == a.inputs.get("comparisonOperator")
        actions = bool(a.inputs.get("alarmActions"))
        rows.append(Row("alarm", name, f"{tb}", f"{ta}", "ok" if same and actions else "weaker"))
    for name, b, a in _pairs(old, new, RULE_GROUP):
        rules_b = _alert_names(b.inputs.get("data"))
        rules_a = _alert_names(a.inputs.get("data"))
        missing = sorted(rules_b - rules_a)
        rows.append(
            Row(
                "rule group",
                name,
                f"{len(rules_b)} rules",
                f"{len(rules_a)} rules" + (f" (missing {', '.join(missing[:3])})" if missing else ""),
                "weaker" if missing else "ok",
            )
        )
    return rows


def _alert_names(text: Any) -> set[str]:
    if not isinstance(text, str):
        return set()
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return set()
    return {
        str(rule.get("alert") or rule.get("record"))
        for group in document.get("groups", [])
        for rule in group.get("rules", [])
    }


def _data(old, new) -> list[Row]:
    rows = []
    for name, b, a in _pairs(old, new, CLUSTER):
        for field in ("storageEncrypted", "deletionProtection", "iamDatabaseAuthenticationEnabled"):
            if b.inputs.get(field):
                rows.append(
                    Row(
                        "database",
                        f"{name} {field}",
                        "true",
                        str(bool(a.inputs.get(field))).lower(),
                        "ok" if a.inputs.get(field) else "weaker",
                    )
                )
        rows.append(
            _at_least(
                "database",
                f"{name} backupRetentionPeriod",
                b.inputs.get("backupRetentionPeriod"),
                a.inputs.get("backupRetentionPeriod"),
            )
        )
        joined = bool(a.inputs.get("globalClusterIdentifier"))
        rows.append(
            Row(
                "database",
                f"{name} in the global database",
                "yes",
                "yes" if joined else "no",
                "ok" if joined else "weaker",
            )
        )
        rows.append(
            Row(
                "database",
                f"{name} own key",
                "yes",
                "yes" if a.inputs.get("kmsKeyId") else "no",
                "ok" if a.inputs.get("kmsKeyId") else "weaker",
            )
        )
    instances_b = sum(1 for k in old if k[0] == INSTANCE)
    instances_a = sum(1 for k in new if k[0] == INSTANCE)
    if instances_b:
        rows.append(_at_least("database", "instances", instances_b, instances_a))
    tables_b = [r for k, r in old.items() if k[0] in (TABLE, TABLE_REPLICA)]
    tables_a = [r for k, r in new.items() if k[0] in (TABLE, TABLE_REPLICA)]
    if tables_b:
        ok = bool(tables_a) and all(
            (r.inputs.get("kmsKeyArn") or (r.inputs.get("serverSideEncryption") or {}).get("kmsKeyArn"))
            for r in tables_a
        )
        rows.append(
            Row(
                "locations",
                "replica encrypted with the region's key",
                "yes",
                "yes" if ok else "no",
                "ok" if ok else "weaker",
            )
        )
    for name, _b, a in _pairs(old, new, CACHE):
        ok = bool(a.inputs.get("globalReplicationGroupId") or a.inputs.get("atRestEncryptionEnabled"))
        rows.append(
            Row(
                "cache",
                f"{name} member of the Global Datastore",
                "yes",
                "yes" if ok else "no",
                "ok" if ok else "weaker",
            )
        )
    for kind, label in ((SSE, "encrypted"), (VERSIONING, "versioned"), (REPLICATION, "replicates out")):
        for name, _b, _a in _pairs(old, new, kind):
            rows.append(Row("media", f"{name} {label}", "yes", "yes", "ok"))
    for name, b, a in _pairs(old, new, REPLICATION):
        rules_b, rules_a = len(b.inputs.get("rules") or []), len(a.inputs.get("rules") or [])
        rows.append(_at_least("media", f"{name} destinations", rules_b, rules_a))
    return rows


def lines(report: Report) -> Sequence[str]:
    return [f"{r.status:7} {r.kind:18} {r.item}: {r.lost} -> {r.rebuilt}" for r in report.rows]
