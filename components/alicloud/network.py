"""AlicloudNetwork: a VPC across the region's zones with app and edge vSwitches and NAT."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_alicloud as ali

from components import planning

TYPE = "courier:alicloud:Network"


@dataclass(frozen=True)
class AlicloudNetworkArgs:
    cidr: str
    #: Zone IDs, e.g. ("cn-hangzhou-h", "cn-hangzhou-i"): one app and one edge vSwitch each.
    zones: Sequence[str]
    #: True: a NAT gateway per zone (prod); False: one shared by every zone.
    nat_per_zone: bool
    tags: Mapping[str, str] = field(default_factory=dict)


class AlicloudNetwork(pulumi.ComponentResource):
    """The same layout as the AWS network (components.planning): per zone a large "app"
    vSwitch for the fleets and a small "edge" vSwitch for the load balancer and the NAT
    gateways; app traffic leaves through SNAT entries on an elastic IP."""

    vpc_id: pulumi.Output[str]
    app_vswitch_ids: list[pulumi.Output[str]]
    edge_vswitch_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: AlicloudNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        plan = planning.plan_subnets(args.cidr, list(args.zones))

        vpc = ali.vpc.Network(f"{name}-vpc", vpc_name=f"{name}-courier", cidr_block=args.cidr, tags=tags, opts=child)
        app: list[ali.vpc.Switch] = []
        edge: list[ali.vpc.Switch] = []
        for subnet in plan:
            suffix = subnet.zone.rsplit("-", 1)[-1]
            app.append(
                ali.vpc.Switch(
                    f"{name}-app-{suffix}",
                    vpc_id=vpc.id,
                    vswitch_name=f"{name}-app-{suffix}",
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
                    vswitch_name=f"{name}-edge-{suffix}",
                    cidr_block=str(subnet.public),
                    zone_id=subnet.zone,
                    tags={**tags, "tier": "edge"},
                    opts=child,
                )
            )

        # One NAT gateway per zone in prod, so a zone outage keeps the other zones' egress.
        gateways = len(plan) if args.nat_per_zone else 1
        for index in range(gateways):
            suffix = plan[index].zone.rsplit("-", 1)[-1]
            nat = ali.vpc.NatGateway(
                f"{name}-nat-{suffix}",
                vpc_id=vpc.id,
                vswitch_id=edge[index].id,
                nat_type="Enhanced",
                payment_type="PayAsYouGo",
                nat_gateway_name=f"{name}-nat-{suffix}",
                tags=tags,
                opts=child,
            )
            eip = ali.ecs.EipAddress(
                f"{name}-nat-{suffix}",
                address_name=f"{name}-nat-{suffix}",
                payment_type="PayAsYouGo",
                internet_charge_type="PayByTraffic",
                tags=tags,
                opts=child,
            )
            association = ali.ecs.EipAssociation(
                f"{name}-nat-{suffix}", allocation_id=eip.id, instance_id=nat.id, instance_type="Nat", opts=child
            )
            served = [index] if args.nat_per_zone else range(len(plan))
            for zone_index in served:
                zone_suffix = plan[zone_index].zone.rsplit("-", 1)[-1]
                switch = app[zone_index]
                ali.vpc.SnatEntry(
                    f"{name}-snat-{zone_suffix}",
                    snat_table_id=nat.snat_table_ids,
                    source_vswitch_id=switch.id,
                    snat_ip=eip.ip_address,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[association]),
                )

        self.vpc_id = vpc.id
        self.app_vswitch_ids = [s.id for s in app]
        self.edge_vswitch_ids = [s.id for s in edge]
        self.register_outputs(
            {"vpcId": self.vpc_id, "appVswitchIds": self.app_vswitch_ids, "edgeVswitchIds": self.edge_vswitch_ids}
        )
