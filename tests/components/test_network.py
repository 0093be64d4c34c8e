"""Network: subnets per zone, NAT per zone or shared, flow logs, tags, parents and region."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import planning
from components.aws.network import Network, NetworkArgs

ZONES = ("ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c")
TAGS = {"environment": "prod", "service": "shared", "owner": "team"}


def declare(nat_per_zone: bool):
    def program() -> None:
        provider = aws.Provider("aws-apse1", region="ap-southeast-1")
        Network(
            "apse1",
            NetworkArgs(cidr="10.10.0.0/16", availability_zones=ZONES, nat_per_zone=nat_per_zone, tags=TAGS),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return program


def test_one_public_and_one_private_subnet_per_zone_as_planned(run_components) -> None:
    plan = run_components(declare(nat_per_zone=True))
    subnets = {r.name: r.inputs for r in plan.of_type("aws:ec2/subnet:Subnet")}
    expected = planning.plan_subnets("10.10.0.0/16", ZONES)
    assert len(subnets) == 6
    for zone_plan in expected:
        letter = zone_plan.zone[-1]
        assert subnets[f"apse1-public-{letter}"]["cidrBlock"] == str(zone_plan.public)
        assert subnets[f"apse1-private-{letter}"]["cidrBlock"] == str(zone_plan.private)
        assert subnets[f"apse1-public-{letter}"]["availabilityZone"] == zone_plan.zone
        assert subnets[f"apse1-private-{letter}"]["availabilityZone"] == zone_plan.zone
    assert not any(s["mapPublicIpOnLaunch"] for s in subnets.values())


def test_nat_per_zone_routes_each_private_subnet_through_its_own_zone(run_components) -> None:
    plan = run_components(declare(nat_per_zone=True))
    nats = plan.of_type("aws:ec2/natGateway:NatGateway")
    assert sorted(n.name for n in nats) == ["apse1-nat-a", "apse1-nat-b", "apse1-nat-c"]
    public_subnet_ids = {
        r.name.rsplit("-", 1)[-1]: r for r in plan.of_type("aws:ec2/subnet:Subnet") if "public" in r.name
    }
    nat_by_zone = {}
    for nat in nats:
        letter = nat.name.rsplit("-", 1)[-1]
        subnet = public_subnet_ids[letter]
        assert nat.inputs["subnetId"].startswith("subnet-")
        assert subnet.urn in nat.dependencies
        nat_by_zone[letter] = nat
    tables = {r.name: r for r in plan.of_type("aws:ec2/routeTable:RouteTable")}
    for letter in "abc":
        route = tables[f"apse1-private-{letter}"].inputs["routes"][0]
        assert route["cidrBlock"] == "0.0.0.0/0"
        assert nat_by_zone[letter].urn in tables[f"apse1-private-{letter}"].dependencies


def test_single_nat_is_shared_by_every_zone(run_components) -> None:
    plan = run_components(declare(nat_per_zone=False))
    nats = plan.of_type("aws:ec2/natGateway:NatGateway")
    assert [n.name for n in nats] == ["apse1-nat-a"]
    private_tables = [r for r in plan.of_type("aws:ec2/routeTable:RouteTable") if "private" in r.name]
    assert len(private_tables) == 3
    assert all(nats[0].urn in t.dependencies for t in private_tables)


def test_public_route_table_sends_default_route_to_the_internet_gateway(run_components) -> None:
    plan = run_components(declare(nat_per_zone=False))
    public = next(r for r in plan.of_type("aws:ec2/routeTable:RouteTable") if r.name == "apse1-public")
    igw = plan.of_type("aws:ec2/internetGateway:InternetGateway")[0]
    assert public.inputs["routes"] == [{"cidrBlock": "0.0.0.0/0", "gatewayId": public.inputs["routes"][0]["gatewayId"]}]
    assert public.inputs["routes"][0]["gatewayId"].startswith("igw-")
    assert igw.urn in public.dependencies
    associations = [r for r in plan.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")]
    assert len(associations) == 6


def test_flow_logs_capture_all_traffic_to_a_retained_log_group(run_components) -> None:
    plan = run_components(declare(nat_per_zone=False))
    (flow_log,) = plan.of_type("aws:ec2/flowLog:FlowLog")
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    (group,) = plan.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 365
    (policy,) = plan.of_type("aws:iam/rolePolicy:RolePolicy")
    assert group.urn in policy.dependencies  # write access to this log group only


def test_flow_logs_wait_for_their_role_policy(run_components) -> None:
    plan = run_components(declare(nat_per_zone=False))
    (flow_log,) = plan.of_type("aws:ec2/flowLog:FlowLog")
    (policy,) = plan.of_type("aws:iam/rolePolicy:RolePolicy")
    assert policy.urn in flow_log.dependencies


def test_s3_gateway_endpoint_serves_every_private_route_table(run_components) -> None:
    plan = run_components(declare(nat_per_zone=True))
    (endpoint,) = plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert endpoint.inputs["serviceName"] == "com.amazonaws.ap-southeast-1.s3"
    assert endpoint.inputs["vpcId"].startswith("vpc-")
    private = {t.urn: t for t in plan.of_type("aws:ec2/routeTable:RouteTable") if "private" in t.name}
    assert len(private) == 3 and set(private) <= set(endpoint.dependencies)
    assert len(endpoint.inputs["routeTableIds"]) == 3
    assert all(table.startswith("rtb-") for table in endpoint.inputs["routeTableIds"])
    public = next(t for t in plan.of_type("aws:ec2/routeTable:RouteTable") if t.name == "apse1-public")
    assert public.urn not in endpoint.dependencies


def test_default_security_group_is_stripped_of_rules(run_components) -> None:
    plan = run_components(declare(nat_per_zone=False))
    (default,) = plan.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert "ingress" not in default.inputs or not default.inputs["ingress"]
    assert "egress" not in default.inputs or not default.inputs["egress"]


def test_children_are_parented_tagged_and_in_the_providers_region(run_components) -> None:
    plan = run_components(declare(nat_per_zone=True))
    (network,) = plan.of_type("courier:aws:Network")
    children = list(plan.descendants(network.urn))
    assert children and all(c.parent == network.urn for c in children)
    assert {c.region for c in children} == {"ap-southeast-1"}
    assert all(c.provider and c.provider.endswith("::aws-apse1") for c in children)
    taggable = [c for c in children if "tags" in c.inputs]
    assert len(taggable) >= 15
    for child in taggable:
        for key, value in TAGS.items():
            assert child.inputs["tags"][key] == value, child.urn
