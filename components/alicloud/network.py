"""AlicloudNetwork: a VPC across the region's zones with app and edge vSwitches and NAT."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_alicloud as ali

from components import planning

TYPE = "courier:alicloud:Network"

#: Where every app vSwitch sends traffic that leaves the VPC.
DEFAULT_ROUTE = "0.0.0.0/0"


@dataclass(frozen=True)
class AlicloudNetworkArgs:
    cidr: str
    #: Zone IDs, e.g. ("cn-hangzhou-h", "cn-hangzhou-i"): one app and one edge vSwitch each.
    zones: Sequence[str]
    #: True: a NAT gateway per zone (prod); False: one shared by every zone.
    nat_per_zone: bool
    #: Start of every physical name (components.alicloud.names.prefix: stack and region code),
    #: so stacks sharing an account are told apart in the console.
    name_prefix: str
    tags: Mapping[str, str] = field(default_factory=dict)


class AlicloudNetwork(pulumi.ComponentResource):
    """The same layout as the AWS network (components.planning): per zone a large "app"
    vSwitch for the fleets and a small "edge" vSwitch for the load balancer and the NAT
    gateways; app traffic leaves through SNAT entries on an elastic IP.

    Egress is explicit in both layouts: each zone's app vSwitch is attached to its own custom
    route table whose 0.0.0.0/0 entry points at the NAT gateway that holds the SNAT entry for
    that vSwitch (its own zone's with ``nat_per_zone``, else the shared one). An enhanced NAT
    gateway also adds 0.0.0.0/0 to the VPC's system route table (CreateNatGateway API
    reference), which holds one such route: it would send every zone to whichever NAT came
    first, and only that NAT translates for its own zone. The system table keeps serving the
    edge vSwitches only, which need no egress."""

    vpc_id: pulumi.Output[str]
    app_vswitch_ids: list[pulumi.Output[str]]
    edge_vswitch_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: AlicloudNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        prefix = args.name_prefix
        plan = planning.plan_subnets(args.cidr, list(args.zones))

        vpc = ali.vpc.Network(f"{name}-vpc", vpc_name=f"{prefix}-courier", cidr_block=args.cidr, tags=tags, opts=child)
        app: list[ali.vpc.Switch] = []
        edge: list[ali.vpc.Switch] = []
        for subnet in plan:
            suffix = _suffix(subnet.zone)
            app.append(
                ali.vpc.Switch(
                    f"{name}-app-{suffix}",
                    vpc_id=vpc.id,
                    vswitch_name=f"{prefix}-app-{suffix}",
                    cidr_block=str(subnet.private),
                    zone_id=subnet.zone,
                    tags={**tags, "tier": "app"},
                    opts=child,
                )
            )
            edge.append(
                ali.vpc.Switch(
                    f"{name}-edge-{suffix}",
                    vpc_id=vpc.id,
                    vswitch_name=f"{prefix}-edge-{suffix}",
                    cidr_block=str(subnet.public),
                    zone_id=subnet.zone,
                    tags={**tags, "tier": "edge"},
                    opts=child,
                )
            )

        # One NAT gateway per zone in prod, so a zone outage keeps the other zones' egress.
        gateways = [
            self._nat_gateway(name, prefix, vpc, edge[index], _suffix(plan[index].zone), tags)
            for index in range(len(plan) if args.nat_per_zone else 1)
        ]
        for index, subnet in enumerate(plan):
            nat, eip, association = gateways[index if args.nat_per_zone else 0]
            self._egress(name, prefix, vpc, app[index], _suffix(subnet.zone), nat, eip, association, tags)

        self.vpc_id = vpc.id
        self.app_vswitch_ids = [s.id for s in app]
        self.edge_vswitch_ids = [s.id for s in edge]
        self.register_outputs(
            {"vpcId": self.vpc_id, "appVswitchIds": self.app_vswitch_ids, "edgeVswitchIds": self.edge_vswitch_ids}
        )

    def _nat_gateway(
        self, name: str, prefix: str, vpc: ali.vpc.Network, switch: ali.vpc.Switch, suffix: str, tags: dict[str, str]
    ) -> tuple[ali.vpc.NatGateway, ali.ecs.EipAddress, ali.ecs.EipAssociation]:
        child = pulumi.ResourceOptions(parent=self)
        nat = ali.vpc.NatGateway(
            f"{name}-nat-{suffix}",
            vpc_id=vpc.id,
            vswitch_id=switch.id,
            nat_type="Enhanced",
            payment_type="PayAsYouGo",
            nat_gateway_name=f"{prefix}-nat-{suffix}",
            tags=tags,
            opts=child,
        )
        eip = ali.ecs.EipAddress(
            f"{name}-nat-{suffix}",
            address_name=f"{prefix}-nat-{suffix}",
            payment_type="PayAsYouGo",
            internet_charge_type="PayByTraffic",
            tags=tags,
            opts=child,
        )
        association = ali.ecs.EipAssociation(
            f"{name}-nat-{suffix}", allocation_id=eip.id, instance_id=nat.id, instance_type="Nat", opts=child
        )
        return nat, eip, association

    def _egress(
        self,
        name: str,
        prefix: str,
        vpc: ali.vpc.Network,
        switch: ali.vpc.Switch,
        suffix: str,
        nat: ali.vpc.NatGateway,
        eip: ali.ecs.EipAddress,
        association: ali.ecs.EipAssociation,
        tags: dict[str, str],
    ) -> None:
        """One zone's way out: SNAT for its app vSwitch on ``nat``, and a route table of its own
        whose default route leads to that same NAT gateway."""
        child = pulumi.ResourceOptions(parent=self)
        # CreateSnatEntry refuses an EIP that is not yet bound to the gateway.
        snat = ali.vpc.SnatEntry(
            f"{name}-snat-{suffix}",
            snat_table_id=nat.snat_table_ids,
            source_vswitch_id=switch.id,
            snat_ip=eip.ip_address,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[association]),
        )
        table = ali.vpc.RouteTable(
            f"{name}-app-{suffix}",
            vpc_id=vpc.id,
            route_table_name=f"{prefix}-app-{suffix}",
            associate_type="VSwitch",
            description=f"Egress of the {suffix} app vSwitch through its NAT gateway",
            tags={**tags, "tier": "app"},
            opts=child,
        )
        # The entry names the gateway, so it is created once the gateway exists. A table holds
        # one route per destination: a changed next hop (switching NAT layouts) must delete the
        # old entry before creating the new one.
        route = ali.vpc.RouteEntry(
            f"{name}-app-{suffix}-default",
            route_table_id=table.id,
            destination_cidrblock=DEFAULT_ROUTE,
            nexthop_type="NatGateway",
            nexthop_id=nat.id,
            name=f"{prefix}-app-{suffix}-default",
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        # The vSwitch moves to its table (leaving the system table) only once the table leads to
        # a gateway that translates for it, so its instances never lose egress on the way.
        ali.vpc.RouteTableAttachment(
            f"{name}-app-{suffix}",
            route_table_id=table.id,
            vswitch_id=switch.id,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[route, snat]),
        )


def _suffix(zone: str) -> str:
    """The zone letter, e.g. "h" for cn-hangzhou-h."""
    return zone.rsplit("-", 1)[-1]
