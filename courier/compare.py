"""``plan STACK --compare BASE``: what `pulumi up` of this plan would do to a stack deployed
from BASE, computed from two Plans and nothing else.

BASE is a Plan JSON (``plan --out DIR`` writes ``DIR/plan.json``; ``plan --json``) or a git
ref, planned by that ref's own CLI in a temporary worktree (same stack, the config file as it
is at that ref, the same ``--at``). Resources are matched by URN, as the engine matches them:

- created / deleted: a URN only in this plan / only in the base;
- moved: the same URN under another provider or in another region. The engine replaces a
  resource whose provider changed (pulumi/pulumi ``step_generator.go``: a provider change is a
  diff with ``ReplaceKeys: ["provider"]``), and no cloud resource changes region in place;
- replaced (likely): an input the type is known to replace on changed (``REPLACED_ON``), or
  such an input is computed from a replaced or moved resource (a new VPC means new subnets);
- updated: any other change of inputs (or of ``protect``), with the input paths that changed.

A protected resource (``protect``, or deletion protection the cloud enforces) that would be
deleted, replaced or moved is what a review must not miss: the plan exits 1 unless
``--allow-protected-deletes``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from courier.plan import Plan
from courier.render import display_type

#: Details listed per section (summaries always count everything; protected ones are all listed).
DETAIL_LIMIT = 20
#: Changed paths shown per resource, and the longest path / value shown.
PATH_LIMIT = 4
PATH_WIDTH = 60
VALUE_WIDTH = 48
#: Values longer than this are left out of the JSON (a boot script would double the file).
JSON_VALUE_WIDTH = 200


# -- what each type is replaced on ------------------------------------------------------------


@dataclass(frozen=True)
class ReplaceOn:
    """An input path whose change replaces the resource (``when``: only for some changes)."""

    path: str
    when: Callable[[Any, Any], bool] | None = None


def _on(paths: str) -> tuple[ReplaceOn, ...]:
    return tuple(ReplaceOn(path) for path in paths.split())


def _version(value: Any) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", str(value or "")))


def _lowered(old: Any, new: Any) -> bool:
    return old is not None and new is not None and _version(new) < _version(old)


def _removed(old: Any, new: Any) -> bool:
    return bool(old) and not new


# The properties each type is replaced on, in the Plan's (Pulumi's camelCase) names. "TF" is
# hashicorp/terraform-provider-aws internal/service/<file> (the schema's ForceNew, which the
# Pulumi bridge turns into a replacement), "alicloud" aliyun/terraform-provider-alicloud
# alicloud/resource_alicloud_<file>. Only what the program sets or could set is listed.
REPLACED_ON: dict[str, tuple[ReplaceOn, ...]] = {
    # TF ec2/vpc_.go: cidr_block and ipv4_ipam_pool_id are ForceNew (a VPC's primary CIDR is fixed).
    "aws:ec2/vpc:Vpc": _on("cidrBlock ipv4IpamPoolId"),
    # TF ec2/vpc_subnet.go: cidr_block, availability_zone(_id), vpc_id ForceNew.
    "aws:ec2/subnet:Subnet": _on("cidrBlock availabilityZone availabilityZoneId vpcId"),
    # TF ec2/vpc_route_table.go: vpc_id ForceNew.
    "aws:ec2/routeTable:RouteTable": _on("vpcId"),
    # TF ec2/vpc_route_table_association.go: subnet_id and gateway_id ForceNew (route_table_id
    # is replaced in place, ReplaceRouteTableAssociation).
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _on("subnetId gatewayId"),
    # TF ec2/vpc_nat_gateway.go: subnet_id, allocation_id, connectivity_type, private_ip ForceNew.
    "aws:ec2/natGateway:NatGateway": _on("subnetId allocationId connectivityType privateIp"),
    # TF ec2/vpc_security_group.go: name, name_prefix, description, vpc_id ForceNew.
    "aws:ec2/securityGroup:SecurityGroup": _on("name namePrefix description vpcId"),
    # TF elbv2/target_group.go: name, port, protocol, protocol_version, target_type, vpc_id ForceNew.
    "aws:lb/targetGroup:TargetGroup": _on("name port protocol protocolVersion targetType vpcId"),
    # TF s3/bucket.go: bucket and bucket_prefix ForceNew (a bucket's name is its identity).
    "aws:s3/bucket:Bucket": _on("bucket bucketPrefix"),
    # TF rds/cluster.go: identifier, engine, engine_mode, kms_key_id, storage_encrypted, database
    # and master user names, zones and subnet group ForceNew; engine_version upgrades in place.
    "aws:rds/cluster:Cluster": _on(
        "clusterIdentifier engine engineMode kmsKeyId storageEncrypted databaseName masterUsername "
        "availabilityZones dbSubnetGroupName"
    ),
    # TF rds/cluster_instance.go: identifier, cluster_identifier, engine, availability_zone,
    # db_subnet_group_name ForceNew (instance_class changes in place).
    "aws:rds/clusterInstance:ClusterInstance": _on(
        "identifier clusterIdentifier engine availabilityZone dbSubnetGroupName"
    ),
    # TF rds/global_cluster.go: global_cluster_identifier, engine, storage_encrypted, database_name ForceNew.
    "aws:rds/globalCluster:GlobalCluster": _on("globalClusterIdentifier engine storageEncrypted databaseName"),
    # TF dynamodb/table.go: name, hash_key, range_key ForceNew (the key schema is fixed).
    "aws:dynamodb/table:Table": _on("name hashKey rangeKey"),
    # TF elasticache/replication_group.go: replication_group_id, kms_key_id, at_rest_encryption,
    # subnet_group_name, port, global_replication_group_id ForceNew; engine_version only when it
    # goes down (customizeDiffEngineVersionForceNewOnDowngrade).
    "aws:elasticache/replicationGroup:ReplicationGroup": (
        *_on("replicationGroupId kmsKeyId atRestEncryptionEnabled subnetGroupName port globalReplicationGroupId"),
        ReplaceOn("engineVersion", _lowered),
    ),
    # TF eks/cluster.go: name, role_arn, the bootstrap admin flag, the service CIDR and IP family
    # ForceNew; encryption_config only when it is removed (irreversible).
    "aws:eks/cluster:Cluster": (
        *_on(
            "name roleArn accessConfig.bootstrapClusterCreatorAdminPermissions "
            "kubernetesNetworkConfig.serviceIpv4Cidr kubernetesNetworkConfig.ipFamily"
        ),
        ReplaceOn("encryptionConfig", _removed),
    ),
    # TF eks/node_group.go: name, cluster, node role, subnets, instance types, AMI and capacity
    # type, disk size, the launch template's id/name (not its version), remote access ForceNew.
    "aws:eks/nodeGroup:NodeGroup": _on(
        "nodeGroupName clusterName nodeRoleArn subnetIds instanceTypes amiType capacityType diskSize "
        "launchTemplate.id launchTemplate.name remoteAccess"
    ),
    # alicloud polardb_cluster.go: db_type, db_version (the engine version is fixed at
    # creation), zone_id, vswitch_id, vpc_id, creation_category ForceNew.
    "alicloud:polardb/cluster:Cluster": _on("dbType dbVersion zoneId vswitchId vpcId creationCategory"),
    # alicloud vswitch.go: cidr_block, zone_id, vpc_id ForceNew.
    "alicloud:vpc/switch:Switch": _on("cidrBlock zoneId vpcId"),
    # alicloud oss_bucket.go: bucket, storage_class, redundancy_type ForceNew.
    "alicloud:oss/bucket:Bucket": _on("bucket storageClass redundancyType"),
    # pulumi/pulumi-kubernetes provider/pkg/provider/diff.go forceNew: a Deployment's selector
    # and a Service's clusterIP (and every object's name and namespace, KUBERNETES_REPLACED_ON).
    "kubernetes:apps/v1:Deployment": _on("spec.selector"),
    "kubernetes:core/v1:Service": _on("spec.clusterIP"),
    # hashicorp/terraform-provider-random: every random_password argument RequiresReplace, and a
    # replaced password is a new database master password.
    "random:index/randomPassword:RandomPassword": _on("*"),
}

#: pulumi-kubernetes diff.go metadataForceNewProperties: renaming an object, or moving it to
#: another namespace, replaces it, whatever its kind.
KUBERNETES_REPLACED_ON = _on("metadata.name metadata.namespace")

#: Inputs by which the cloud itself refuses a delete when they are on (beside Pulumi's
#: ``protect``): ALBs, EKS clusters, RDS and DynamoDB, Alibaba's ALB, ESS groups, PolarDB.
DELETION_PROTECTION = (
    "enableDeletionProtection",
    "deletionProtection",
    "deletionProtectionEnabled",
    "groupDeletionProtection",
    "deletionLock",
)


def replaced_on(resource_type: str) -> tuple[ReplaceOn, ...]:
    kubernetes = KUBERNETES_REPLACED_ON if resource_type.startswith("kubernetes:") else ()
    return (*REPLACED_ON.get(resource_type, ()), *kubernetes)


# -- the diff ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One changed input path; ``old``/``new`` are the values there (None when absent)."""

    path: str
    old: Any = None
    new: Any = None

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"path": self.path}
        if _short(self.old, JSON_VALUE_WIDTH) and _short(self.new, JSON_VALUE_WIDTH):
            shown.update({"from": self.old, "to": self.new})
        return shown

    def text(self) -> str:
        """``path: old → new`` for short values; a long text (a boot script) shows as its path."""
        path = _shorten(self.path)
        if _short(self.old, VALUE_WIDTH) and _short(self.new, VALUE_WIDTH):
            return f"{path}: {_value(self.old)} → {_value(self.new)}"
        return path


@dataclass
class Entry:
    """A resource in one section of the diff."""

    urn: str
    type: str
    name: str
    region: str
    changes: list[Change] = field(default_factory=list)
    #: Why it is replaced or moved (the forcing input, the provider or region move).
    reasons: list[str] = field(default_factory=list)
    #: What refuses its deletion in the base ("protect" or a deletion-protection input), if anything.
    protection: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "region": self.region,
            "changes": [c.to_json() for c in self.changes],
            "reasons": self.reasons,
            "protection": self.protection,
        }


SECTIONS = ("create", "delete", "replace", "move", "update")
_VERBS = {"create": "created", "delete": "deleted", "replace": "replaced", "move": "moved", "update": "updated"}


@dataclass
class Diff:
    base: str
    created: list[Entry]
    deleted: list[Entry]
    replaced: list[Entry]
    moved: list[Entry]
    updated: list[Entry]
    unchanged: int
    #: Regions the head marks lost (``status: lost``): their API is down.
    lost: tuple[str, ...] = ()
    #: (section, entry) of every cloud resource created or deleted in a lost region: `pulumi up`
    #: would call that region's API (a lost region's existing resources change never; a new one
    #: is still created, so `up` fails there).
    unreachable: list[tuple[str, Entry]] = field(default_factory=list)

    def sections(self) -> dict[str, list[Entry]]:
        return {
            "create": self.created,
            "delete": self.deleted,
            "replace": self.replaced,
            "move": self.moved,
            "update": self.updated,
        }

    def protected(self) -> list[tuple[str, Entry]]:
        """(section, entry) of every protected resource that would be deleted, replaced or moved."""
        return [
            (section, entry)
            for section in ("delete", "replace", "move")
            for entry in self.sections()[section]
            if entry.protection
        ]

    def empty(self) -> bool:
        return not any(self.sections().values())

    def counts(self, key: Callable[[Entry], str]) -> dict[str, dict[str, int]]:
        table: dict[str, Counter[str]] = {}
        for section, entries in self.sections().items():
            for entry in entries:
                table.setdefault(key(entry), Counter())[section] += 1
        return {k: {s: table[k][s] for s in SECTIONS} for k in sorted(table)}

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "summary": {
                **{section: len(entries) for section, entries in self.sections().items()},
                "unchanged": self.unchanged,
                "protected": len(self.protected()),
                "unreachable": len(self.unreachable),
                "byRegion": self.counts(lambda e: e.region),
                "byType": self.counts(lambda e: e.type),
            },
            **{_VERBS[s]: [e.to_json() for e in entries] for s, entries in self.sections().items()},
            "protectedDeletes": [{"action": s, **e.to_json()} for s, e in self.protected()],
            "lostRegions": list(self.lost),
            "unreachable": [{"action": s, **e.to_json()} for s, e in self.unreachable],
        }


def diff(base: Mapping[str, Any], head: Plan, label: str = "base") -> Diff:
    """What deploying ``head`` does to a stack deployed from ``base`` (a Plan's JSON)."""
    old = {r["urn"]: r for r in base.get("resources", [])}
    new = {r.urn: r.to_json() for r in head.resources}
    created = [_entry(new[urn]) for urn in new if urn not in old]
    deleted = [_entry(old[urn], protection=_protection(old[urn])) for urn in old if urn not in new]
    replaced: dict[str, Entry] = {}
    moved: dict[str, Entry] = {}
    updated: dict[str, Entry] = {}
    unchanged: set[str] = set()
    for urn, after in new.items():
        before = old.get(urn)
        if before is None or not after.get("custom"):
            continue  # created, or a component: it exists in no cloud
        entry = _entry(after, changes=_changes(before, after), protection=_protection(before))
        move = _move(before, after)
        forcing = [c for c in entry.changes if _forces(after["type"], c)]
        if move:
            entry.reasons.append(move)
            moved[urn] = entry
        elif forcing:
            entry.reasons += [c.text() for c in forcing]
            replaced[urn] = entry
        elif entry.changes:
            updated[urn] = entry
        else:
            unchanged.add(urn)
    _cascade(new, replaced, moved, updated, unchanged)
    lost = tuple(
        str(r.get("name"))
        for r in ((head.outputs.get("dr") or {}).get("regions") or [])
        if isinstance(r, Mapping) and r.get("status") == "lost"
    )
    unreachable = [
        (section, _entry(records[urn]))
        for section, records, urns in (
            ("create", new, [u for u in new if u not in old]),
            ("delete", old, [u for u in old if u not in new]),
        )
        for urn in urns
        if records[urn].get("custom") and records[urn].get("region") in lost
    ]
    return Diff(
        base=label,
        created=sorted(created, key=_order),
        deleted=sorted(deleted, key=_order),
        replaced=sorted(replaced.values(), key=_order),
        moved=sorted(moved.values(), key=_order),
        updated=sorted(updated.values(), key=_order),
        unchanged=len(unchanged),
        lost=lost,
        unreachable=sorted(unreachable, key=lambda item: _order(item[1])),
    )


def _cascade(
    new: dict[str, dict[str, Any]],
    replaced: dict[str, Entry],
    moved: dict[str, Entry],
    updated: dict[str, Entry],
    unchanged: set[str],
) -> None:
    """Replace what takes a replace-forcing input from a replaced or moved resource: its ID or
    ARN is new (the mock engine's are not), e.g. a VPC's subnets and security groups."""
    gone = set(replaced) | set(moved)
    while True:
        found: dict[str, str] = {}
        for urn in [*updated, *unchanged]:
            after = new[urn]
            ignored = after.get("options", {}).get("ignoreChanges") or []
            for prop, sources in sorted((after.get("propertyDependencies") or {}).items()):
                hit = next((s for s in sources if s in gone), None)
                if hit and not _ignored(prop, ignored) and _forces(after["type"], Change(prop)):
                    found[urn] = f"{prop} from replaced {_name(hit)}"
                    break
        if not found:
            return
        for urn, reason in found.items():
            entry = updated.pop(urn, None)
            if entry is None:
                unchanged.discard(urn)
                entry = _entry(new[urn])
            entry.reasons.append(reason)
            replaced[urn] = entry
        gone |= set(found)


def _entry(resource: Mapping[str, Any], changes: list[Change] | None = None, protection: str | None = None) -> Entry:
    return Entry(
        urn=resource["urn"],
        type=resource["type"],
        name=resource.get("name") or _name(resource["urn"]),
        region=resource.get("region") or "global",
        changes=changes or [],
        protection=protection,
    )


def _order(entry: Entry) -> tuple[str, str, str]:
    return (entry.region, entry.type, entry.name)


def _name(urn: str | None) -> str:
    return (urn or "").rsplit("::", 1)[-1]


def _protection(resource: Mapping[str, Any]) -> str | None:
    if resource.get("protect"):
        return "protect"
    inputs = resource.get("inputs") or {}
    for key in DELETION_PROTECTION:
        value = inputs.get(key)
        if value is True or value == 1 or str(value).lower() in ("true", "enabled", "on"):
            return key
    return None


def _move(before: Mapping[str, Any], after: Mapping[str, Any]) -> str | None:
    moves = []
    if before.get("provider") != after.get("provider"):
        moves.append(f"provider {_name(before.get('provider')) or 'none'} → {_name(after.get('provider')) or 'none'}")
    if (before.get("region") or "global") != (after.get("region") or "global"):
        moves.append(f"region {before.get('region') or 'global'} → {after.get('region') or 'global'}")
    return "; ".join(moves) or None


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    ignored = (after.get("options") or {}).get("ignoreChanges") or []
    changes = [
        c for c in _walk(before.get("inputs") or {}, after.get("inputs") or {}, "") if not _ignored(c.path, ignored)
    ]
    if bool(before.get("protect")) != bool(after.get("protect")):
        changes.append(Change("protect", bool(before.get("protect")), bool(after.get("protect"))))
    return changes


def _walk(old: Any, new: Any, path: str) -> Iterator[Change]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            yield from _walk(old.get(key), new.get(key), _key(path, str(key)))
    elif isinstance(old, list) and isinstance(new, list) and old and new:
        for index in range(max(len(old), len(new))):
            yield from _walk(
                old[index] if index < len(old) else None, new[index] if index < len(new) else None, f"{path}[{index}]"
            )
    elif isinstance(old, str) and isinstance(new, str) and old != new and _document(old) and _document(new):
        # A JSON document in a string (an IAM policy, a replication rule): its changed paths.
        yield from _walk(json.loads(old), json.loads(new), path)
    elif old != new:
        yield Change(path or "(inputs)", old, new)


def _document(text: str) -> bool:
    if not text.lstrip().startswith(("{", "[")):
        return False
    try:
        return isinstance(json.loads(text), (dict, list))
    except ValueError:
        return False


def _key(path: str, key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _plain(path: str) -> str:
    """``rules[0].destination["a.b"]`` -> ``rules.destination.a.b``, for matching the table."""
    return re.sub(r"\[\d+\]", "", re.sub(r'\["([^"]*)"\]', r".\1", path)).lstrip(".")


def _ignored(path: str, ignore_changes: Sequence[str]) -> bool:
    plain = _plain(path)
    return any(i == "*" or plain == _plain(i) or plain.startswith(_plain(i) + ".") for i in ignore_changes)


def _forces(resource_type: str, change: Change) -> bool:
    plain = _plain(change.path)
    for rule in replaced_on(resource_type):
        related = rule.path == "*" or plain == rule.path or plain.startswith(rule.path + ".")
        related = related or rule.path.startswith(plain + ".")
        if related and (rule.when is None or rule.when(change.old, change.new)):
            return True
    return False


def _short(value: Any, width: int) -> bool:
    return value is None or isinstance(value, (int, float, bool)) or (isinstance(value, str) and len(value) <= width)


def _value(value: Any) -> str:
    text = "(none)" if value is None else json.dumps(value) if isinstance(value, bool) else str(value)
    return text.replace("\n", "⏎")


def _shorten(path: str) -> str:
    """A long path keeps its first and last segments: ``spec.template.….containers[0].image``."""
    if len(path) <= PATH_WIDTH:
        return path
    parts = path.split(".")
    tail: list[str] = []
    for part in reversed(parts[1:]):
        if len(parts[0]) + len(".….") + len(".".join([part, *tail])) > PATH_WIDTH:
            break
        tail.insert(0, part)
    return f"{parts[0]}.….{'.'.join(tail)}" if tail else path[: PATH_WIDTH - 1] + "…"


# -- output -----------------------------------------------------------------------------------

_MARKS = {"create": "+", "delete": "-", "replace": "±", "move": "⇄", "update": "~"}
_STYLES = {"create": "green", "delete": "red", "replace": "magenta", "move": "magenta", "update": "yellow"}


def headline(changes: Diff) -> str:
    counts = ", ".join(f"{len(e)} to {s}" for s, e in changes.sections().items())
    return f"{counts}; {changes.unchanged} unchanged"


def _detail(section: str, entry: Entry) -> str:
    """Why it is replaced or moved, then (the other) changed paths, then what protects it."""
    reasons = entry.reasons if section in ("replace", "move") else []
    others = [c.text() for c in entry.changes if c.text() not in reasons]
    shown = others[:PATH_LIMIT] + ([f"+{len(others) - PATH_LIMIT} more"] if len(others) > PATH_LIMIT else [])
    guard = f"[{entry.protection}]" if entry.protection and section in ("delete", "replace", "move") else ""
    parts = ["; ".join(reasons), ("also " if reasons and shown else "") + ", ".join(shown), guard]
    return "  ".join(p for p in parts if p)


def _count_table(title: str, rows: dict[str, dict[str, int]], limit: int | None = None) -> tuple[Table, int]:
    table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column(title, no_wrap=True)
    for section in SECTIONS:
        table.add_column(section, justify="right")
    ordered = sorted(rows.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    for key, counts in ordered[:limit]:
        # Text, not markup: type tokens such as alicloud:ram:Policy would turn into emoji.
        table.add_row(Text(key), *(Text(str(counts[s] or ".")) for s in SECTIONS))
    return table, max(0, len(ordered) - (limit or len(ordered)))


def render(console: Console, changes: Diff, *, allow_protected: bool = False) -> None:
    """The diff in the terminal: counts first, protected deletions in full, then capped details."""
    console.print(Text(f"\nChanges against {changes.base}:", style="bold"))
    console.print(Text(f"    {headline(changes)}"))
    protected = changes.protected()
    if protected:
        style = "yellow" if allow_protected else "bold red"
        verdict = "allowed by --allow-protected-deletes" if allow_protected else "the plan fails"
        console.print(
            Text(f"\n    PROTECTED: {len(protected)} protected resource(s) would be deleted ({verdict}):", style=style)
        )
        for section, entry in protected:
            console.print(
                Text(
                    f"      {_VERBS[section]:<9} {display_type(entry.type)}  {entry.name}  {entry.region}  "
                    f"[{entry.protection}]",
                    style=style,
                )
            )
    if changes.unreachable:
        console.print(Text(f"\n    UNREACHABLE: {unreachable_headline(changes)} (the plan fails):", style="bold red"))
        for section, entry in changes.unreachable[:DETAIL_LIMIT]:
            console.print(
                Text(
                    f"      {_VERBS[section]:<9} {display_type(entry.type)}  {entry.name}  {entry.region}",
                    style="bold red",
                )
            )
        if len(changes.unreachable) > DETAIL_LIMIT:
            console.print(Text(f"      …and {len(changes.unreachable) - DETAIL_LIMIT} more", style="bold red"))
        console.print(Text(f"    {EXCLUDE_HINT}"))
    if changes.empty():
        console.print(Text("    no changes", style="green"))
        return
    regions, _ = _count_table("Region", changes.counts(lambda e: e.region))
    console.print(Text("\n    By region:", style="bold"))
    console.print(Padding(regions, (0, 0, 0, 6), expand=False))
    types, more = _count_table("Type", changes.counts(lambda e: display_type(e.type)), DETAIL_LIMIT)
    console.print(Text("\n    By type:", style="bold"))
    console.print(Padding(types, (0, 0, 0, 6), expand=False))
    if more:
        console.print(Text(f"    …and {more} more types"))
    for section, entries in changes.sections().items():
        if not entries:
            continue
        console.print(Text(f"\n    {_VERBS[section].capitalize()} ({len(entries)}):", style="bold"))
        for entry in entries[:DETAIL_LIMIT]:
            line = Text(f"      {_MARKS[section]} ", style=_STYLES[section])
            line.append(f"{display_type(entry.type)}  {entry.name}  ")
            line.append(entry.region, style="dim")
            detail = _detail(section, entry)
            if detail:
                line.append(f"  {detail}")
            console.print(line)
        if len(entries) > DETAIL_LIMIT:
            console.print(Text(f"      …and {len(entries) - DETAIL_LIMIT} more"))


#: What to do about resources a lost region would need: deploy around them (Pulumi's targeted
#: updates: --exclude takes URNs, --exclude-dependents their dependents too).
EXCLUDE_HINT = (
    "deploy the rest with `pulumi up --exclude '<urn>' --exclude-dependents` for each (the Plan JSON's "
    "compare.unreachable lists the URNs), or wait for the region; docs/dr.md"
)


def unreachable_headline(changes: Diff) -> str:
    counts = Counter(section for section, _ in changes.unreachable)
    what = " and ".join(f"{n} to {s}" for s, n in sorted(counts.items()))
    return f"{what} in lost region(s) {', '.join(changes.lost)}, whose API `pulumi up` would call"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(changes: Diff, *, allow_protected: bool = False) -> str:
    """The diff as GitHub-flavoured Markdown (the pull request's job summary), counts first."""
    protected = changes.protected()
    verdict = (
        "❌ blocked"
        if changes.unreachable or (protected and not allow_protected)
        else "⚠️ allowed"
        if protected
        else "✅"
    )
    lines = [f"### Changes against `{changes.base}`: {verdict}", "", headline(changes) + "."]
    if protected:
        lines += [
            "",
            "> [!CAUTION]",
            f"> **{len(protected)} protected resource(s) would be deleted**"
            + (" (allowed by `--allow-protected-deletes`):" if allow_protected else "; the plan fails:"),
        ]
        lines += [
            f"> - {_VERBS[s]} `{display_type(e.type)}` **{_cell(e.name)}** in {e.region} ({e.protection})"
            for s, e in protected
        ]
    if changes.unreachable:
        lines += ["", "> [!CAUTION]", f"> **{unreachable_headline(changes)}**; the plan fails:"]
        lines += [
            f"> - {_VERBS[s]} `{display_type(e.type)}` **{_cell(e.name)}** in {e.region}"
            for s, e in changes.unreachable[:DETAIL_LIMIT]
        ]
        lines += [f"> {EXCLUDE_HINT}"]
    if changes.empty():
        return "\n".join(lines) + "\n"
    for title, key, limit in (
        ("Region", lambda e: e.region, None),
        ("Type", lambda e: f"`{display_type(e.type)}`", DETAIL_LIMIT),
    ):
        rows = sorted(changes.counts(key).items(), key=lambda item: (-sum(item[1].values()), item[0]))
        lines += ["", f"| {title} | " + " | ".join(SECTIONS) + " |", "|---" + "|---:" * len(SECTIONS) + "|"]
        lines += [f"| {k} | " + " | ".join(str(c[s] or "") for s in SECTIONS) + " |" for k, c in rows[:limit]]
        if limit and len(rows) > limit:
            lines.append(f"| …and {len(rows) - limit} more types |" + " |" * len(SECTIONS))
    for section, entries in changes.sections().items():
        if not entries:
            continue
        lines += ["", f"<details><summary>{_VERBS[section].capitalize()} ({len(entries)})</summary>", ""]
        lines += [
            f"- `{display_type(e.type)}` **{_cell(e.name)}** {e.region} {_cell(_detail(section, e))}".rstrip()
            for e in entries[:DETAIL_LIMIT]
        ]
        if len(entries) > DETAIL_LIMIT:
            lines.append(f"- …and {len(entries) - DETAIL_LIMIT} more")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def dumps(plan: Plan, changes: Diff | None) -> str:
    """The Plan JSON, with the diff under ``compare`` (after ``summary``) when there is one."""
    if changes is None:
        return plan.dumps()
    document: dict[str, Any] = {}
    for key, value in plan.to_json().items():
        document[key] = value
        if key == "summary":
            document["compare"] = changes.to_json()
    document.setdefault("compare", changes.to_json())
    return json.dumps(document, indent=2, sort_keys=False)


def refused(changes: Diff, allow_protected: bool, err: Console) -> bool:
    """Whether protected deletions, or creations and deletions in a lost region, fail the plan;
    says so (or that protected deletions were allowed) on ``err``."""
    if changes.unreachable:
        err.print(
            f"error: {unreachable_headline(changes)} against {changes.base}; {EXCLUDE_HINT}",
            style="bold red",
            markup=False,
            emoji=False,
        )
        return True
    protected = changes.protected()
    if not protected:
        return False
    names = ", ".join(e.name for _, e in protected[:5]) + (
        f" and {len(protected) - 5} more" if len(protected) > 5 else ""
    )
    if allow_protected:
        err.print(
            f"note: {len(protected)} protected resource(s) would be deleted ({names}); allowed",
            markup=False,
            emoji=False,
        )
        return False
    err.print(
        f"error: {len(protected)} protected resource(s) would be deleted or replaced against {changes.base}: {names} "
        "(`pulumi up` refuses; pass --allow-protected-deletes if that is the intent)",
        style="bold red",
        markup=False,
        emoji=False,
    )
    return True


# -- the base ---------------------------------------------------------------------------------


class BaseError(Exception):
    """A BASE that cannot be compared with, in one line."""


def load_base(spec: str, stack: str, config_file: Path | None, at: datetime, root: Path) -> tuple[dict[str, Any], str]:
    """The base Plan's JSON and a label for it: ``spec`` is a Plan JSON file (or an ``--out``
    directory holding ``plan.json``), else a git ref whose tree is planned in a temporary
    worktree. Raises BaseError."""
    path = Path(spec)
    if path.is_dir() and (path / "plan.json").is_file():
        path = path / "plan.json"
    if path.is_file():
        return _read_plan(path, stack), str(path)
    if path.is_dir():
        raise BaseError(f"--compare {spec}: a directory without plan.json (plan --out DIR writes DIR/plan.json)")
    if path.suffix == ".json":
        raise BaseError(f"--compare {spec}: no such file")
    return _plan_of_ref(spec, stack, config_file, at, root)


def _read_plan(path: Path, stack: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        raise BaseError(f"--compare {path}: cannot be read ({problem})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as problem:
        raise BaseError(f"--compare {path}: not valid JSON (line {problem.lineno}: {problem.msg})") from None
    _check_plan(document, str(path), stack)
    return document


def _check_plan(document: Any, where: str, stack: str) -> None:
    resources = document.get("resources") if isinstance(document, dict) else None
    if not isinstance(resources, list) or not all(
        isinstance(r, dict) and isinstance(r.get("urn"), str) and isinstance(r.get("type"), str) for r in resources
    ):
        raise BaseError(f"--compare {where}: not a Plan JSON (no resources with urn and type, as plan --json writes)")
    if document.get("stack") != stack:
        raise BaseError(
            f"--compare {where}: is a plan of stack {document.get('stack')!r}, not {stack!r} (no URN would match)"
        )


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise BaseError("--compare: git is not installed; compare with a Plan JSON file instead") from None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _plan_of_ref(
    ref: str, stack: str, config_file: Path | None, at: datetime, root: Path
) -> tuple[dict[str, Any], str]:
    top = _git(root, "rev-parse", "--show-toplevel")
    if top.returncode:
        raise BaseError(f"--compare {ref}: no such file, and {root} is not in a git repository")
    found = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if found.returncode:
        raise BaseError(f"--compare {ref}: neither a Plan JSON file nor a commit of this repository")
    commit = found.stdout.strip()
    label = commit[:12] if commit.startswith(ref) else f"{ref} ({commit[:12]})"
    repository = Path(top.stdout.strip()).resolve()
    project = root.resolve().relative_to(repository)
    with tempfile.TemporaryDirectory(prefix="courier-compare-") as scratch:
        tree = Path(scratch) / f"base-{commit[:12]}"
        added = _git(repository, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        if added.returncode:
            raise BaseError(f"--compare {ref}: git worktree add failed: {_last_line(added.stderr)}")
        try:
            config = _config_at(config_file, repository, tree, ref)
            return _plan_tree(tree / project, stack, config, at, label), label
        finally:
            if _git(repository, "worktree", "remove", "--force", str(tree)).returncode:
                _git(repository, "worktree", "prune")


def _config_at(config_file: Path | None, repository: Path, tree: Path, ref: str) -> Path | None:
    """The config file as it is at the ref: one inside the repository is read from the ref's
    tree; one outside it is the same file for both plans."""
    if config_file is None:
        return None
    resolved = config_file.resolve()
    if not resolved.is_relative_to(repository):
        return resolved
    at_ref = tree / resolved.relative_to(repository)
    if not at_ref.is_file():
        raise BaseError(f"--config-file {config_file}: not in {ref}; compare with a Plan JSON of the base instead")
    return at_ref


def _plan_tree(project: Path, stack: str, config: Path | None, at: datetime, label: str) -> dict[str, Any]:
    """Plan ``project`` with its own CLI in a process of its own: its modules, not the ones
    this process has imported, build the base."""
    if not (project / "__main__.py").is_file():
        raise BaseError(f"--compare {label}: no Pulumi program at {project.name or 'the repository root'}")
    command = [sys.executable, "-m", "courier", "plan", stack, "--json", "--at", at.isoformat()]
    if config is not None:
        command += ["--config-file", str(config)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    try:
        result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        raise BaseError(f"--compare {label}: planning the base took more than 15 minutes") from None
    # 1 is a verdict on the base (a policy or a finding); its resources are still the base.
    if result.returncode not in (0, 1):
        raise BaseError(f"--compare {label}: planning the base failed: {_last_line(result.stderr)}")
    try:
        document = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise BaseError(f"--compare {label}: the base's plan --json printed no Plan JSON") from None
    _check_plan(document, label, stack)
    return document
