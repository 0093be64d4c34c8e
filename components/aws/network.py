"""Network: one VPC across N availability zones, public and private subnets per zone."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import planning

TYPE = "courier:aws:Network"


@dataclass(frozen=True)
class NetworkArgs:
    #: IPv4 range of the VPC; subnets are planned inside it by components.planning.
    cidr: str
    #: Zone names, e.g. ("ap-southeast-1a", "ap-southeast-1b"); one public + one private subnet each.
    availability_zones: Sequence[str]
    #: True: one NAT gateway per zone, so losing a zone keeps egress for the others (prod).
    #: False: a single NAT gateway shared by every zone (cheaper; dev and staging).
    nat_per_zone: bool
    #: Days VPC flow logs are kept in CloudWatch Logs.
    flow_log_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)


class Network(pulumi.ComponentResource):
    """A VPC with an internet gateway, per-zone public and private subnets, NAT gateways,
    route tables, an S3 gateway endpoint on the private route tables, a locked-down default
    security group and VPC flow logs (all traffic)."""

    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        plan = planning.plan_subnets(args.cidr, list(args.availability_zones))

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": f"{name}-vpc"},
            opts=self._child,
        )
        # The default security group allows all traffic between its members; nothing should
        # use it, so take every rule away (CIS AWS 5.4).
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            tags={**tags, "Name": f"{name}-default-locked"},
            opts=self._child,
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags={**tags, "Name": f"{name}-igw"}, opts=self._child
        )

        public_routes = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={**tags, "Name": f"{name}-public"},
            opts=self._child,
        )

        public_subnets: list[aws.ec2.Subnet] = []
        nat_ids: list[pulumi.Output[str]] = []
        for index, subnet in enumerate(plan):
            suffix = _zone_suffix(subnet.zone)
            public = aws.ec2.Subnet(
                f"{name}-public-{suffix}",
                vpc_id=self.vpc.id,
                cidr_block=str(subnet.public),
                availability_zone=subnet.zone,
                # Only load balancer nodes and NAT gateways live here; they get their
                # addresses explicitly, so nothing is given a public IP by default.
                map_public_ip_on_launch=False,
                tags={**tags, "Name": f"{name}-public-{suffix}", "tier": "public"},
                opts=self._child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{suffix}",
                subnet_id=public.id,
                route_table_id=public_routes.id,
                opts=self._child,
            )
            public_subnets.append(public)
            if args.nat_per_zone or index == 0:
                nat_ids.append(self._nat_gateway(suffix, public, igw, tags))

        private_subnets: list[aws.ec2.Subnet] = []
        private_tables: list[aws.ec2.RouteTable] = []
        for index, subnet in enumerate(plan):
            suffix = _zone_suffix(subnet.zone)
            private = aws.ec2.Subnet(
                f"{name}-private-{suffix}",
                vpc_id=self.vpc.id,
                cidr_block=str(subnet.private),
                availability_zone=subnet.zone,
                map_public_ip_on_launch=False,
                tags={**tags, "Name": f"{name}-private-{suffix}", "tier": "private"},
                opts=self._child,
            )
            # Each zone leaves through its own NAT gateway when there is one per zone, so a
            # zone outage never takes the other zones' egress with it.
            nat_id = nat_ids[index] if args.nat_per_zone else nat_ids[0]
            routes = aws.ec2.RouteTable(
                f"{name}-private-{suffix}",
                vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat_id)],
                tags={**tags, "Name": f"{name}-private-{suffix}"},
                opts=self._child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{suffix}",
                subnet_id=private.id,
                route_table_id=routes.id,
                opts=self._child,
            )
            private_subnets.append(private)
            private_tables.append(routes)

        self._s3_endpoint(private_tables, tags)
        self._flow_logs(tags)

        self.vpc_id = self.vpc.id
        self.public_subnet_ids = [s.id for s in public_subnets]
        self.private_subnet_ids = [s.id for s in private_subnets]
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )

    def _nat_gateway(
        self, suffix: str, subnet: aws.ec2.Subnet, igw: aws.ec2.InternetGateway, tags: dict[str, str]
    ) -> pulumi.Output[str]:
        eip = aws.ec2.Eip(
            f"{self._name}-nat-{suffix}",
            domain="vpc",
            tags={**tags, "Name": f"{self._name}-nat-{suffix}"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
        )
        nat = aws.ec2.NatGateway(
            f"{self._name}-nat-{suffix}",
            allocation_id=eip.id,
            subnet_id=subnet.id,
            connectivity_type="public",
            tags={**tags, "Name": f"{self._name}-nat-{suffix}"},
            opts=self._child,
        )
        return nat.id

    def _s3_endpoint(self, tables: list[aws.ec2.RouteTable], tags: dict[str, str]) -> None:
        """What an instance fetches in bulk at boot is in S3 in its own region: ECR keeps image
        layers there (ECR user guide, "Amazon ECR interface VPC endpoints": the S3 gateway
        endpoint) and the AL2023 package repositories are regional S3 buckets. A gateway
        endpoint carries it off the NAT gateways at no charge, so a mass scale-out neither pays
        NAT data processing per pulled gigabyte nor queues behind NAT. ECR's own API and
        registry endpoints (a few small requests per pull) stay on the NAT: interface endpoints
        for them are billed per hour in every zone, and the instances need the NAT for SSM,
        Auto Scaling and Managed Prometheus anyway. The default (full access) endpoint policy:
        a narrower one must still allow ECR's layer buckets and the AL2023 repository buckets."""
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self))
        aws.ec2.VpcEndpoint(
            f"{self._name}-s3",
            vpc_id=self.vpc.id,
            vpc_endpoint_type="Gateway",
            service_name=region.region.apply(lambda name: f"com.amazonaws.{name}.s3"),
            route_table_ids=[t.id for t in tables],
            tags={**tags, "Name": f"{self._name}-s3"},
            opts=self._child,
        )

    def _flow_logs(self, tags: dict[str, str]) -> None:
        name = self._name
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            retention_in_days=self._args.flow_log_retention_days,
            tags=tags,
            opts=self._child,
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=tags,
            opts=self._child,
        )
        # Write access to this one log group only.
        policy = aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=log_group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "logs:CreateLogStream",
                                    "logs:PutLogEvents",
                                    "logs:DescribeLogStreams",
                                ],
                                "Resource": [arn, f"{arn}:*"],
                            }
                        ],
                    }
                )
            ),
            opts=self._child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=tags,
            # Created before its role may write to the log group, the flow log starts with an
            # access error and loses records: wait for the policy, which none of its inputs
            # refers to (the role's ARN exists before the policy is attached).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )


def _zone_suffix(zone: str) -> str:
    """``ap-southeast-1a`` -> ``a``: the zone letter keeps child names short and stable."""
    return zone.rsplit("-", 1)[-1].lstrip("0123456789")
