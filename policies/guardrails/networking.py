"""Networking: Kubernetes API endpoints are not open to the internet, and in prod each Alibaba Cloud
zone leaves through a NAT gateway of its own (AWS's NAT per zone: aws-vpc-nat-per-az in
resilience.py).

EKS: ``vpcConfig.endpointPublicAccess`` defaults to true and ``publicAccessCidrs`` to
``["0.0.0.0/0"]`` (pulumi-aws ``ClusterVpcConfigArgs``: "Default is `true`"; "EKS defaults this
to a list with `0.0.0.0/0`"). Openness is judged by the address space the list covers
(guardrails.addresses), so ``0.0.0.0/1`` + ``128.0.0.0/1`` is as open as ``0.0.0.0/0``.

Alibaba Cloud: a NAT gateway sits in the zone of its ``vswitchId``; a vSwitch leaves through the
NAT gateway whose SNAT entry names it (``SnatEntry.sourceVswitchId`` on the gateway's
``snatTableIds``) and that its route table's default route points at (``RouteEntry`` with
``nexthopType: NatGateway``). A zone needs egress when one of its vSwitches is an SNAT source or
hosts a fleet (an ESS group's ``vswitchIds``, an ECS instance's ``vswitchId``) in a VPC that has
NAT gateways; a VPC without any (the data replica's) has no egress to spread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs

from guardrails.addresses import exposure, parse
from guardrails.common import ESS_GROUP, Report, Setting, get, of_type, resource_policy, setting, stack_policy
from guardrails.follow import declared_from

EKS_CLUSTER = "aws:eks/cluster:Cluster"
ALI_SWITCH = "alicloud:vpc/switch:Switch"
ALI_NAT = "alicloud:vpc/natGateway:NatGateway"
ALI_SNAT = "alicloud:vpc/snatEntry:SnatEntry"
ALI_ROUTE_ENTRY = "alicloud:vpc/routeEntry:RouteEntry"
ALI_ROUTE_TABLE_ATTACHMENT = "alicloud:vpc/routeTableAttachment:RouteTableAttachment"
ALI_ECS_INSTANCE = "alicloud:ecs/instance:Instance"
REQUIRED = Setting(
    "required", {"type": "boolean", "default": False, "description": "Whether the rule applies in this environment."}
)
DEFAULT_ROUTES = ("0.0.0.0/0", "::/0")


@resource_policy(
    "aws-eks-cluster-endpoint-not-public",
    "An EKS cluster's API endpoint is private, or public only to named networks: endpointPublicAccess "
    "(default true) with publicAccessCidrs (default 0.0.0.0/0) that do not cover the internet.",
    [EKS_CLUSTER],
)
def eks_endpoint(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    public = get(args.props, "vpcConfig", "endpointPublicAccess", default=True)
    if public is False:
        return
    cidrs = get(args.props, "vpcConfig", "publicAccessCidrs", default=["0.0.0.0/0"])
    seen = exposure(cidrs)
    if seen.invalid:
        report(
            f"{args.name}: publicAccessCidrs has entries that are not networks ({', '.join(seen.invalid)}); list "
            "CIDRs only."
        )
    if seen.open:
        said = (
            "publicAccessCidrs " + ", ".join(map(str, cidrs))
            if get(args.props, "vpcConfig", "publicAccessCidrs")
            else "no publicAccessCidrs (EKS admits 0.0.0.0/0)"
        )
        report(
            f"{args.name}'s public API endpoint admits {seen.describe} ({said}): anyone can probe the "
            "Kubernetes API and its authentication. List only named networks (the CI runners' egress, the "
            "office VPN) in courier:regions[].kubernetes.apiAllowedCidrs, or set endpointPublicAccess false and "
            "reach the API from inside the VPC."
        )


# -- Alibaba Cloud NAT per zone ----------------------------------------------------------------------


def _vpc(resource: PolicyResource) -> str:
    return next((d.urn for d in resource.property_dependencies.get("vpcId", [])), "")


def _zone(resource: PolicyResource, switches: dict[str, PolicyResource], key: str) -> str | None:
    """The zone of the vSwitch ``resource.props[key]`` was declared from."""
    for dep in resource.property_dependencies.get(key, []):
        if dep.urn in switches:
            return str(get(switches[dep.urn].props, "zoneId", default="")) or None
    return None


def _sources(snat: PolicyResource, switches: dict[str, PolicyResource], vpc: str) -> list[PolicyResource]:
    """The vSwitches an SNAT entry translates: its ``sourceVswitchId``, or every vSwitch of its
    gateway's VPC inside its ``sourceCidr`` (pulumi-alicloud vpc.SnatEntry takes either)."""
    named = [switches[d.urn] for d in snat.property_dependencies.get("sourceVswitchId", []) if d.urn in switches]
    if named:
        return named
    cidr = parse(get(snat.props, "sourceCidr"))
    if cidr is None:
        return []
    inside = []
    for switch in switches.values():
        block = parse(get(switch.props, "cidrBlock"))
        if (
            _vpc(switch) == vpc and block is not None and block.version == cidr.version and block.subnet_of(cidr)  # type: ignore[arg-type]
        ):
            inside.append(switch)
    return inside


@stack_policy(
    "alicloud-vpc-nat-per-zone",
    "Each zone whose vSwitches need egress has its own NAT gateway, and its vSwitches' SNAT entries and "
    "default routes use that zone's gateway (when `required`, i.e. in prod).",
    REQUIRED,
)
def ali_nat_per_zone(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if not setting(config, REQUIRED):
        return
    switches = {s.urn: s for s in of_type(args, ALI_SWITCH)}
    gateways = of_type(args, ALI_NAT)
    nat_zone = {g.urn: _zone(g, switches, "vswitchId") for g in gateways}
    zones_with_nat: dict[str, set[str]] = {}
    for gateway in gateways:
        zone = nat_zone[gateway.urn]
        if zone:
            zones_with_nat.setdefault(_vpc(gateway), set()).add(zone)

    # vSwitches that need egress: SNAT sources and the vSwitches fleets run in.
    snats = of_type(args, ALI_SNAT)
    needing: dict[str, PolicyResource] = {}
    sources: dict[str, list[PolicyResource]] = {}
    gateway_vpc = {g.urn: _vpc(g) for g in gateways}
    for snat in snats:
        vpc = next(
            (gateway_vpc[d.urn] for d in snat.property_dependencies.get("snatTableId", []) if d.urn in gateway_vpc), ""
        )
        sources[snat.urn] = _sources(snat, switches, vpc)
        for switch in sources[snat.urn]:
            needing[switch.urn] = switch
    for host in of_type(args, ESS_GROUP, ALI_ECS_INSTANCE):
        for switch in declared_from(host, ("vswitchIds", "vswitchId"), ALI_SWITCH):
            needing[switch.urn] = switch

    nat_vpcs = {_vpc(g) for g in gateways}
    missing: dict[str, set[str]] = {}
    for switch in needing.values():
        vpc = _vpc(switch)
        zone = str(get(switch.props, "zoneId", default=""))
        if vpc in nat_vpcs and zone not in zones_with_nat.get(vpc, set()):
            missing.setdefault(vpc, set()).add(zone)
    for vpc, zones in missing.items():
        report(
            f"Zones {', '.join(sorted(zones))} have no NAT gateway of their own: an outage of the zone that hosts "
            "the shared one cuts their egress. Give each zone a NAT gateway in a vSwitch of its own zone "
            "(natGateways: perZone for the region, prod's default).",
            vpc or None,
        )

    for snat in snats:
        gateway = next((d.urn for d in snat.property_dependencies.get("snatTableId", []) if d.urn in nat_zone), None)
        hop_zone = nat_zone.get(gateway) if gateway else None
        for source in sorted({str(get(s.props, "zoneId", default="")) for s in sources[snat.urn]}):
            if hop_zone and source and hop_zone != source:
                report(
                    f"{snat.name} translates a vSwitch of {source} on the NAT gateway of {hop_zone}: losing "
                    f"{hop_zone} cuts {source}'s egress. Put the SNAT entry on {source}'s own NAT gateway.",
                    snat.urn,
                )

    tables: dict[str, list[str]] = {}
    for attachment in of_type(args, ALI_ROUTE_TABLE_ATTACHMENT):
        zone = _zone(attachment, switches, "vswitchId")
        for dep in attachment.property_dependencies.get("routeTableId", []):
            if zone:
                tables.setdefault(dep.urn, []).append(zone)
    for route in of_type(args, ALI_ROUTE_ENTRY):
        if (
            get(route.props, "destinationCidrblock") not in DEFAULT_ROUTES
            or get(route.props, "nexthopType") != "NatGateway"
        ):
            continue
        gateway = next((d.urn for d in route.property_dependencies.get("nexthopId", []) if d.urn in nat_zone), None)
        hop_zone = nat_zone.get(gateway) if gateway else None
        for table in route.property_dependencies.get("routeTableId", []):
            for zone in tables.get(table.urn, []):
                if hop_zone and hop_zone != zone:
                    report(
                        f"{route.name} sends {zone}'s default route to the NAT gateway of {hop_zone}; point it at "
                        f"{zone}'s own NAT gateway.",
                        route.urn,
                    )
