"""The stack config after a region is lost and rebuilt elsewhere. Pure: YAML documents in,
YAML documents out (secure values and every key it does not know pass through untouched).

What changes, and why each:
- the lost region's entry gets ``status: lost`` and nothing else (its resources stay declared
  as they were: components.lost);
- a lost primary hands ``role: primary`` to the next AWS region in failover order (the Aurora
  switchover or failover makes it the writer; Route 53 already sends users there), and
  ``courier:data.database.originRegion`` records the lost region, whose cluster created the
  global database and keeps its declaration;
- the rebuild region is appended (failover order: last) in the role the lost region served,
  or the promoted region's old role when the primary was lost, with the lost region's
  settings (quotas, capacity share, cluster) and its own zones and a free address range;
- every service listing the lost region in ``regions`` also lists the rebuild region;
- the drill calendar's runs in the lost region (named, or the primary's by default) stay there,
  pinned to it (declared as they were), and each gets a copy in the region that now serves in
  its place (the promoted primary for a lost primary's, else the rebuild region), so game days
  keep running; the region drill is not copied (its writer's origin is the lost region).
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components import catalog

REGIONS = "courier:regions"
SERVICES = "courier:services"
DATA = "courier:data"
DRILLS = "courier:drills"


class DrInputError(ValueError):
    """Bad dr input (a region that is not lost-able or not a rebuild target): exit 2."""


@dataclass(frozen=True)
class Change:
    key: str
    what: str


@dataclass
class Rewrite:
    config: dict[str, Any]
    changes: list[Change] = field(default_factory=list)
    promoted: str | None = None


def regions_of(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    value = config.get(REGIONS)
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def check_lose(config: Mapping[str, Any], lose: str) -> dict[str, Any]:
    regions = regions_of(config)
    names = [str(r.get("name")) for r in regions]
    found = next((r for r in regions if r.get("name") == lose), None)
    if found is None:
        raise DrInputError(f"--lose {lose!r}: not a region of the stack (regions: {', '.join(names)})")
    if found.get("status") == "lost":
        raise DrInputError(f"--lose {lose!r}: already lost in this config")
    return found


def check_rebuild(config: Mapping[str, Any], lost: Mapping[str, Any], rebuild: str) -> catalog.RegionInfo:
    cloud = str(lost.get("cloud", "aws"))
    info = catalog.region(cloud, rebuild)
    if info is None:
        other = "alicloud" if cloud == "aws" else "aws"
        if catalog.region(other, rebuild) is not None:
            raise DrInputError(
                f"--rebuild-in {rebuild!r}: a region of the other cloud; {lost.get('name')} is {cloud}, so its "
                f"rebuild must be {cloud} too"
            )
        known = ", ".join(catalog.region_names(cloud))
        raise DrInputError(f"--rebuild-in {rebuild!r}: not a known {cloud} region (known: {known})")
    used = {str(r.get("name")) for r in regions_of(config)}
    if rebuild in used:
        raise DrInputError(
            f"--rebuild-in {rebuild!r}: already a region of the stack (regions: {', '.join(sorted(used))})"
        )
    return info


def free_cidr(taken: Sequence[str], prefix: int = 16) -> str:
    """The first ``10.x.0.0/<prefix>`` (x a multiple of 10, then any) overlapping none of ``taken``."""
    networks = []
    for cidr in taken:
        try:
            networks.append(ipaddress.IPv4Network(cidr))
        except ValueError:
            continue
    candidates = [*range(10, 256, 10), *range(0, 256)]
    for second in candidates:
        network = ipaddress.IPv4Network(f"10.{second}.0.0/{prefix}")
        if not any(network.overlaps(n) for n in networks):
            return str(network)
    raise DrInputError("no free 10.x.0.0 range left for the rebuild region")


def _taken_cidrs(regions: Sequence[Mapping[str, Any]]) -> list[str]:
    taken = [str(r.get("cidr")) for r in regions if r.get("cidr")]
    for r in regions:
        replica = r.get("dataReplica")
        if isinstance(replica, Mapping) and replica.get("cidr"):
            taken.append(str(replica["cidr"]))
    return taken


def lose(config: Mapping[str, Any], region: str, rebuild_in: str | None = None) -> Rewrite:
    """``config`` (the stack file's ``config:`` section) with ``region`` lost and, with
    ``rebuild_in``, rebuilt there. Raises DrInputError for a bad region."""
    lost = check_lose(config, region)
    info = check_rebuild(config, lost, rebuild_in) if rebuild_in else None
    result = Rewrite(copy.deepcopy(dict(config)))
    regions = regions_of(result.config)
    entry = next(r for r in regions if r.get("name") == region)
    entry["status"] = "lost"
    result.changes.append(Change(f"{REGIONS}[{region}].status", "lost: declared as it was, never changed, out of DNS"))
    new_role = str(lost.get("role"))
    if lost.get("role") == "primary":
        heir = next(
            (
                r
                for r in regions
                if r is not entry and r.get("cloud", "aws") == "aws" and r.get("status", "active") != "lost"
            ),
            None,
        )
        if heir is None:
            raise DrInputError(f"--lose {region!r}: no other AWS region to become the primary")
        new_role = str(heir.get("role"))
        heir["role"] = "primary"
        result.promoted = str(heir.get("name"))
        result.changes.append(
            Change(f"{REGIONS}[{heir.get('name')}].role", f"primary (was {new_role}): the writer after the switch")
        )
        data = result.config.setdefault(DATA, {})
        if isinstance(data, dict):
            database = data.setdefault("database", {})
            if isinstance(database, dict) and not database.get("originRegion"):
                database["originRegion"] = region
                result.changes.append(
                    Change(
                        f"{DATA}.database.originRegion",
                        f"{region}: its cluster created the global database and keeps its declaration",
                    )
                )
    if info is None:
        _move_drills(result, lost, result.promoted)
        return result
    zones = list(lost.get("availabilityZones") or [])
    rebuilt: dict[str, Any] = {
        key: copy.deepcopy(value)
        for key, value in lost.items()
        if key not in ("name", "availabilityZones", "cidr", "status", "role", "sshAllowedCidrs")
    }
    replica = lost.get("dataReplica")
    if isinstance(replica, Mapping) and replica.get("name") == info.name:
        raise DrInputError(
            f"--rebuild-in {info.name!r}: {region}'s data replica; rebuild the fleets in another region of the same "
            "country, which then replicates there too"
        )
    rebuilt = {
        "name": info.name,
        "role": new_role,
        "availabilityZones": list(info.zones[: max(len(zones), 2)]),
        "cidr": free_cidr(_taken_cidrs(regions), ipaddress.IPv4Network(str(lost.get("cidr", "10.0.0.0/16"))).prefixlen),
        **rebuilt,
    }
    result.config[REGIONS].append(rebuilt)
    result.changes.append(
        Change(
            f"{REGIONS}[{info.name}]",
            f"added as {new_role} with {region}'s settings, zones {', '.join(rebuilt['availabilityZones'])}, "
            f"cidr {rebuilt['cidr']}",
        )
    )
    services = result.config.get(SERVICES)
    for service in services if isinstance(services, list) else []:
        if isinstance(service, dict) and isinstance(service.get("regions"), list) and region in service["regions"]:
            service["regions"].append(info.name)
            result.changes.append(
                Change(f"{SERVICES}[{service.get('name')}].regions", f"+ {info.name} (it ran in {region})")
            )
    _move_drills(result, lost, result.promoted or info.name, rebuilt["availabilityZones"])
    return result


def _move_drills(
    result: Rewrite, lost: Mapping[str, Any], successor: str | None, successor_zones: Sequence[str] = ()
) -> None:
    """The calendar's runs in ``lost`` pinned there, each copied to ``successor`` (a zone by its
    position in the region's zones). A run's region defaults to the primary (the region drill's
    to the data's origin), so a lost primary's unnamed runs are its own."""
    drills = result.config.get(DRILLS)
    runs = drills.get("runs") if isinstance(drills, dict) else None
    if not isinstance(runs, list) or successor is None:
        return
    name = str(lost.get("name"))
    lost_zones = [str(z) for z in lost.get("availabilityZones") or []]
    services = result.config.get(SERVICES)
    where = {
        str(s.get("name")): s.get("regions")
        for s in (services if isinstance(services, list) else [])
        if isinstance(s, dict)
    }
    for index, run in enumerate(list(runs)):
        if not isinstance(run, dict) or run.get("drill") == "region-switchover":
            continue
        if run.get("region", name if lost.get("role") == "primary" else None) != name:
            continue
        key = f"{DRILLS}.runs[{index}]"
        if "region" not in run:
            run["region"] = name
            result.changes.append(Change(f"{key}.region", f"{name}: pinned to the lost region, declared as it was"))
        service = run.get("service")
        served = where.get(str(service)) if service else None
        if isinstance(served, list) and successor not in served:
            result.changes.append(Change(key, f"not copied to {successor}: {service} does not run there"))
            continue
        moved = {**copy.deepcopy(run), "region": successor}
        zone = run.get("zone")
        if zone is not None:
            position = lost_zones.index(zone) if zone in lost_zones else -1
            if 0 <= position < len(successor_zones):
                moved["zone"] = successor_zones[position]
            else:
                moved.pop("zone")
        runs.append(moved)
        what = str(run.get("drill")) + (f" {service}" if service else "")
        result.changes.append(Change(f"{DRILLS}.runs[{len(runs) - 1}]", f"{what} in {successor} (it ran in {name})"))
