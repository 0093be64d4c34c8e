"""Mutation tests for the pack: ways around each rule must each be caught.

Every mutant starts from the compliant prod Plan (the ``stack_plans`` fixture), copies its
resources, applies one sidestep of one class, runs the one policy it concerns through the
harness, and expects a violation that names the problem and says how to fix it. The classes
(issue 12, "A policy pack that cannot be sidestepped"):

- ``alias``: the same cloud object through another resource type or twin (``aws:alb/*`` beside
  ``aws:lb/*``, SecurityGroupRule and inline ingress beside SecurityGroupIngressRule, an
  autoscaling Attachment beside ``targetGroupArns``, a launch configuration beside a launch
  template, a prefix list beside a CIDR, a deprecated singular property);
- ``default``: a property left out means the provider's default (a listener with no protocol is
  HTTP, a launch template with no network interface takes its subnets' public IPs, a rule with
  no port range is every port);
- ``proxy``: a stand-in for the real measure (subnets instead of distinct zones; a fixed list of
  taggable types instead of every type whose SDK class takes tags);
- ``equivalent``: another spelling of the same value (the internet as two /1s or as many
  smaller ranges, ``::/0``, protocol numbers, a disabled policy, a private NAT gateway).

``MUTANTS`` is the table; ``kill_rate`` runs it and ``tools/pack_mutants.py`` prints it
("class: killed/total"). Every class must be killed in full.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from courier.plan import Plan, Resource
from tests.policies.harness import BY_NAME, violations
from tests.policies.test_guardrails import PROD_CONFIG

CLASSES = ("alias", "default", "proxy", "equivalent")

Resources = list[Resource]


@dataclass(frozen=True)
class Mutant:
    policy: str
    kind: str
    name: str
    apply: Callable[[Resources], None]
    #: A piece of the violation it must raise (what is wrong, in the policy's words).
    expected: str

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.policy}:{self.name}"


# -- building mutants ------------------------------------------------------------------------------


def find(resources: Resources, kind: str, name: str | None = None) -> Resource:
    for resource in resources:
        if resource.type == kind and (name is None or resource.name == name):
            return resource
    raise LookupError(f"no {kind} {name or ''} in the prod plan")


def all_of(resources: Resources, kind: str) -> list[Resource]:
    return [r for r in resources if r.type == kind]


def retype(resource: Resource, kind: str) -> None:
    """Declare the same object through another type token (an alias or twin)."""
    resource.urn = resource.urn.replace(f"${resource.type}::", f"${kind}::").replace(
        f"::{resource.type}::", f"::{kind}::"
    )
    resource.type = kind


def added(
    resources: Resources, like: Resource, kind: str, name: str, inputs: dict[str, Any], **deps: list[Resource]
) -> Resource:
    """A new resource declared next to ``like`` (same parent and provider), with property
    dependencies on ``deps``."""
    parent_type = like.urn.split("::")[2].rsplit("$", 1)[0]
    resource = Resource(
        urn=f"urn:pulumi:prod::courier-platform::{parent_type}${kind}::{name}",
        type=kind,
        name=name,
        custom=True,
        parent=like.parent,
        provider=like.provider,
        region=like.region,
        protect=False,
        dependencies=sorted({d.urn for found in deps.values() for d in found}),
        inputs=inputs,
        property_dependencies={k: [d.urn for d in found] for k, found in deps.items()},
    )
    resources.append(resource)
    return resource


def retarget_urns(resources: Resources, old: str, new: str) -> None:
    """Follow a URN change through every reference to it."""
    for resource in resources:
        resource.dependencies = [new if d == old else d for d in resource.dependencies]
        resource.property_dependencies = {
            k: [new if d == old else d for d in v] for k, v in resource.property_dependencies.items()
        }
        if resource.parent == old:
            resource.parent = new


def retype_everywhere(resources: Resources, resource: Resource, kind: str) -> None:
    old = resource.urn
    retype(resource, kind)
    retarget_urns(resources, old, resource.urn)


def _balancer(resources: Resources) -> Resource:
    return find(resources, "aws:lb/loadBalancer:LoadBalancer", "apse1-alb")


def _instance_group(resources: Resources) -> Resource:
    return find(resources, "aws:ec2/securityGroup:SecurityGroup", "apse1-orders-instances")


def _ali_group(resources: Resources) -> Resource:
    return find(resources, "alicloud:ecs/securityGroup:SecurityGroup", "cnhz-orders-instances")


def _aws_rule(resources: Resources, name: str, group: Resource, **inputs: Any) -> Resource:
    return added(
        resources,
        find(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "apse1-orders-from-alb"),
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        name,
        {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "securityGroupId": "sg-x", **inputs},
        securityGroupId=[group],
    )


def _ali_rule(resources: Resources, name: str, **inputs: Any) -> Resource:
    group = _ali_group(resources)
    return added(
        resources,
        find(resources, "alicloud:ecs/securityGroupRule:SecurityGroupRule", "cnhz-orders-from-alb"),
        "alicloud:ecs/securityGroupRule:SecurityGroupRule",
        name,
        {
            "type": "ingress",
            "ipProtocol": "tcp",
            "portRange": "22/22",
            "nicType": "intranet",
            "securityGroupId": "x",
            **inputs,
        },
        securityGroupId=[group],
    )


def _asg(resources: Resources) -> Resource:
    return find(resources, "aws:autoscaling/group:Group", "apse1-orders-asg")


def _template(resources: Resources) -> Resource:
    return find(resources, "aws:ec2/launchTemplate:LaunchTemplate", "apse1-orders-lt")


def _listener(resources: Resources, protocol: str) -> Resource:
    return next(
        r
        for r in all_of(resources, "aws:lb/listener:Listener")
        if r.name.startswith("apse1") and r.inputs.get("protocol") == protocol
    )


# -- alias: the same object through another type or twin ---------------------------------------


def alb_alias_headers(resources: Resources) -> None:
    balancer = _balancer(resources)
    retype_everywhere(resources, balancer, "aws:alb/loadBalancer:LoadBalancer")
    balancer.inputs["dropInvalidHeaderFields"] = False


def alb_alias_logs(resources: Resources) -> None:
    balancer = _balancer(resources)
    retype_everywhere(resources, balancer, "aws:alb/loadBalancer:LoadBalancer")
    balancer.inputs["accessLogs"]["enabled"] = False


def alb_alias_protection(resources: Resources) -> None:
    balancer = _balancer(resources)
    retype_everywhere(resources, balancer, "aws:applicationloadbalancing/loadBalancer:LoadBalancer")
    balancer.inputs["enableDeletionProtection"] = False


def alb_alias_alarms(resources: Resources) -> None:
    balancer = _balancer(resources)
    retype_everywhere(resources, balancer, "aws:alb/loadBalancer:LoadBalancer")
    resources[:] = [
        r
        for r in resources
        if not (r.type == "aws:cloudwatch/metricAlarm:MetricAlarm" and balancer.urn in r.dependencies)
    ]


def listener_alias_tls(resources: Resources) -> None:
    listener = _listener(resources, "HTTPS")
    retype_everywhere(resources, listener, "aws:alb/listener:Listener")
    listener.inputs["sslPolicy"] = "ELBSecurityPolicy-2016-08"


def listener_rule_alias_http(resources: Resources) -> None:
    http = _listener(resources, "HTTP")
    rule = find(resources, "aws:lb/listenerRule:ListenerRule")
    forward = copy.deepcopy(rule)
    forward.name = "apse1-orders-plain"
    forward.urn = (
        rule.urn.replace("$aws:lb/listenerRule:ListenerRule::", "$aws:alb/listenerRule:ListenerRule::").rsplit("::", 1)[
            0
        ]
        + "::apse1-orders-plain"
    )
    forward.type = "aws:alb/listenerRule:ListenerRule"
    forward.property_dependencies = {**forward.property_dependencies, "listenerArn": [http.urn]}
    resources.append(forward)


def sg_rule_twin(resources: Resources) -> None:
    group = _instance_group(resources)
    added(
        resources,
        group,
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "apse1-orders-ssh",
        {
            "type": "ingress",
            "protocol": "tcp",
            "fromPort": 22,
            "toPort": 22,
            "cidrBlocks": ["0.0.0.0/0"],
            "securityGroupId": "sg-x",
        },
        securityGroupId=[group],
    )


def sg_inline_twin(resources: Resources) -> None:
    _instance_group(resources).inputs["ingress"] = [
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}
    ]


def default_sg_inline_twin(resources: Resources) -> None:
    find(resources, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").inputs["ingress"] = [
        {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}
    ]


def sg_prefix_list_twin(resources: Resources) -> None:
    group = _instance_group(resources)
    prefixes = added(
        resources,
        group,
        "aws:ec2/managedPrefixList:ManagedPrefixList",
        "apse1-everyone",
        {"addressFamily": "IPv4", "maxEntries": 1, "entries": [{"cidr": "0.0.0.0/0"}]},
    )
    rule = _aws_rule(resources, "apse1-orders-from-list", group, prefixListId="pl-x")
    rule.property_dependencies["prefixListId"] = [prefixes.urn]
    rule.dependencies.append(prefixes.urn)


def ali_prefix_list_twin(resources: Resources) -> None:
    group = _ali_group(resources)
    prefixes = added(
        resources,
        group,
        "alicloud:ecs/ecsPrefixList:EcsPrefixList",
        "cnhz-everyone",
        {"addressFamily": "IPv4", "maxEntries": 1, "entries": [{"cidr": "0.0.0.0/0"}]},
    )
    rule = _ali_rule(resources, "cnhz-orders-from-list", prefixListId="pl-x")
    rule.property_dependencies["prefixListId"] = [prefixes.urn]


def asg_attachment_twin(resources: Resources) -> None:
    group = _asg(resources)
    targets = group.property_dependencies.pop("targetGroupArns")
    group.inputs.pop("targetGroupArns")
    group.inputs["healthCheckType"] = "EC2"
    added(
        resources,
        group,
        "aws:autoscaling/attachment:Attachment",
        "apse1-orders-join",
        {"autoscalingGroupName": "x", "lbTargetGroupArn": "arn:tg"},
        autoscalingGroupName=[group],
        lbTargetGroupArn=[r for r in resources if r.urn in targets],
    )


def asg_traffic_source_twin(resources: Resources) -> None:
    group = _asg(resources)
    targets = group.property_dependencies.pop("targetGroupArns")
    group.inputs.pop("targetGroupArns")
    group.inputs["healthCheckType"] = "EC2"
    added(
        resources,
        group,
        "aws:autoscaling/trafficSourceAttachment:TrafficSourceAttachment",
        "apse1-orders-traffic",
        {"autoscalingGroupName": "x", "trafficSource": {"identifier": "arn:tg", "type": "elbv2"}},
        autoscalingGroupName=[group],
        trafficSource=[r for r in resources if r.urn in targets],
    )


def _launch_configuration(resources: Resources, **inputs: Any) -> None:
    template = _template(resources)
    added(
        resources,
        template,
        "aws:ec2/launchConfiguration:LaunchConfiguration",
        "apse1-orders-lc",
        {
            "imageId": "ami-x",
            "instanceType": "c6i.large",
            "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
            "rootBlockDevice": {"encrypted": True, "volumeSize": 30},
            **inputs,
        },
    )


def ess_singular_vswitch(resources: Resources) -> None:
    group = find(resources, "alicloud:ess/scalingGroup:ScalingGroup", "cnhz-orders-group")
    switches = group.property_dependencies.pop("vswitchIds")
    group.inputs.pop("vswitchIds")
    group.inputs["vswitchId"] = "vsw-x"
    group.property_dependencies["vswitchId"] = switches[:1]


def asg_named_zones(resources: Resources) -> None:
    group = _asg(resources)
    zone = next(r for r in resources if r.urn == group.property_dependencies["vpcZoneIdentifiers"][0])
    group.inputs.pop("vpcZoneIdentifiers")
    group.property_dependencies.pop("vpcZoneIdentifiers")
    group.inputs["availabilityZones"] = [zone.inputs["availabilityZone"]]


def template_through_mixed_instances(resources: Resources) -> None:
    template_public_by_subnet(resources)
    group = _asg(resources)
    group.inputs["mixedInstancesPolicy"] = {
        "launchTemplate": {"launchTemplateSpecification": group.inputs.pop("launchTemplate")}
    }
    group.property_dependencies["mixedInstancesPolicy"] = group.property_dependencies.pop("launchTemplate")


def hpa(version: str, **spec: Any) -> Callable[[Resources], None]:
    """A HorizontalPodAutoscaler of another API version for a Deployment the stack scales."""

    def change(resources: Resources) -> None:
        scaled = find(resources, "kubernetes:keda.sh/v1alpha1:ScaledObject")
        meta = scaled.inputs["metadata"]
        added(
            resources,
            scaled,
            f"kubernetes:autoscaling/{version}:HorizontalPodAutoscaler",
            f"{scaled.name}-hpa-{version}",
            {
                "apiVersion": f"autoscaling/{version}",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {**meta, "name": f"{meta['name']}-{version}"},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"]},
                    "maxReplicas": 10,
                    "targetCPUUtilizationPercentage": 80,
                    **spec,
                },
            },
        )

    return change


# -- default: a property left out means the provider's default ----------------------------------


def listener_without_protocol(resources: Resources) -> None:
    listener = _listener(resources, "HTTPS")
    listener.inputs.pop("protocol")
    listener.inputs.pop("sslPolicy")
    listener.inputs.pop("certificateArn")


def template_public_by_subnet(resources: Resources) -> None:
    template = _template(resources)
    for interface in template.inputs["networkInterfaces"]:
        interface.pop("associatePublicIpAddress")
    for urn in _asg(resources).property_dependencies["vpcZoneIdentifiers"]:
        next(r for r in resources if r.urn == urn).inputs["mapPublicIpOnLaunch"] = True


def template_without_mappings(resources: Resources) -> None:
    _template(resources).inputs.pop("blockDeviceMappings")


def node_group_public_subnets(resources: Resources) -> None:
    nodes = find(resources, "aws:eks/nodeGroup:NodeGroup", "apse1-nodes")
    for urn in nodes.property_dependencies["subnetIds"]:
        next(r for r in resources if r.urn == urn).inputs["mapPublicIpOnLaunch"] = True


def subnets_without_zone(resources: Resources) -> None:
    group = _asg(resources)
    for urn in group.property_dependencies["vpcZoneIdentifiers"][1:]:
        next(r for r in resources if r.urn == urn).inputs.pop("availabilityZone")


def ali_rule_every_port(resources: Resources) -> None:
    rule = _ali_rule(resources, "cnhz-orders-any", ipProtocol="all", cidrIp="0.0.0.0/0")
    rule.inputs.pop("portRange")


def sg_rule_all_protocols(resources: Resources) -> None:
    group = _instance_group(resources)
    added(
        resources,
        group,
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "apse1-orders-any",
        {
            "type": "ingress",
            "protocol": "-1",
            "fromPort": 0,
            "toPort": 0,
            "cidrBlocks": ["0.0.0.0/0"],
            "securityGroupId": "sg-x",
        },
        securityGroupId=[group],
    )


def ess_data_disk_default(resources: Resources) -> None:
    find(resources, "alicloud:ess/scalingConfiguration:ScalingConfiguration").inputs["dataDisks"] = [
        {"size": 100, "category": "cloud_essd"}
    ]


# -- proxy: a stand-in for the real measure ----------------------------------------------------


def subnets_in_one_zone(resources: Resources) -> None:
    group = _asg(resources)
    subnets = [r for r in resources if r.urn in group.property_dependencies["vpcZoneIdentifiers"]]
    for subnet in subnets:
        subnet.inputs["availabilityZone"] = subnets[0].inputs["availabilityZone"]


def switches_in_one_zone(resources: Resources) -> None:
    group = find(resources, "alicloud:ess/scalingGroup:ScalingGroup", "cnhz-orders-group")
    switches = [r for r in resources if r.urn in group.property_dependencies["vswitchIds"]]
    for switch in switches:
        switch.inputs["zoneId"] = switches[0].inputs["zoneId"]


def subnets_in_two_zones(resources: Resources) -> None:
    # A maximum that carries the peak with one of three zones lost (26 * 2/3 >= 17), but not
    # one of two: three subnets in two zones must be judged as two zones.
    group = _asg(resources)
    subnets = [r for r in resources if r.urn in group.property_dependencies["vpcZoneIdentifiers"]]
    subnets[-1].inputs["availabilityZone"] = subnets[0].inputs["availabilityZone"]
    peak = max(
        [group.inputs.get("desiredCapacity", 0)]
        + [
            s.inputs.get("desiredCapacity", 0)
            for s in all_of(resources, "aws:autoscaling/schedule:Schedule")
            if s.parent == group.parent
        ]
    )
    ceiling = -(-peak * 3 // 2)
    group.inputs["maxSize"] = ceiling
    for schedule in all_of(resources, "aws:autoscaling/schedule:Schedule"):
        if schedule.parent == group.parent:
            schedule.inputs["maxSize"] = ceiling


def untag(kind: str, name: str | None = None) -> Callable[[Resources], None]:
    def change(resources: Resources) -> None:
        find(resources, kind, name).inputs.pop("tags")

    return change


def unlabel(kind: str) -> Callable[[Resources], None]:
    def change(resources: Resources) -> None:
        find(resources, kind).inputs["metadata"].pop("labels")

    return change


# -- equivalent: another spelling of the same value -------------------------------------------


def internet_as_halves(resources: Resources) -> None:
    group = _instance_group(resources)
    _aws_rule(resources, "apse1-orders-low-half", group, cidrIpv4="0.0.0.0/1")
    _aws_rule(resources, "apse1-orders-high-half", group, cidrIpv4="128.0.0.0/1")


def internet_as_small_ranges(resources: Resources) -> None:
    # Each /9 alone is below the "open" threshold (a /8's worth); together they reach it.
    group = _instance_group(resources)
    _aws_rule(resources, "apse1-orders-range-a", group, cidrIpv4="64.0.0.0/9")
    _aws_rule(resources, "apse1-orders-range-b", group, cidrIpv4="64.128.0.0/9")


def internet_v6_halves(resources: Resources) -> None:
    group = _instance_group(resources)
    _aws_rule(resources, "apse1-orders-v6-low", group, cidrIpv6="::/1")
    _aws_rule(resources, "apse1-orders-v6-high", group, cidrIpv6="8000::/1")


def protocol_number(resources: Resources) -> None:
    _aws_rule(resources, "apse1-orders-tcp-6", _instance_group(resources), ipProtocol="6", cidrIpv4="0.0.0.0/0")


def balancer_group_wider_ports(resources: Resources) -> None:
    # The load balancer's group may take 80 and 443, and the union of two rules opens 81-8080.
    group = find(resources, "aws:ec2/securityGroup:SecurityGroup", "apse1-alb")
    _aws_rule(resources, "apse1-alb-in-range", group, fromPort=80, toPort=8080, cidrIpv4="0.0.0.0/1")
    _aws_rule(resources, "apse1-alb-in-range-2", group, fromPort=80, toPort=8080, cidrIpv4="128.0.0.0/1")


def ali_internet_v6(resources: Resources) -> None:
    _ali_rule(resources, "cnhz-orders-v6", ipv6CidrIp="::/0")


def ali_internet_halves(resources: Resources) -> None:
    _ali_rule(resources, "cnhz-orders-low", cidrIp="0.0.0.0/1")
    _ali_rule(resources, "cnhz-orders-high", cidrIp="128.0.0.0/1")


def disabled_tracking(resources: Resources) -> None:
    for policy in all_of(resources, "aws:autoscaling/policy:Policy"):
        if policy.inputs.get("policyType") == "TargetTrackingScaling":
            policy.inputs["enabled"] = False


def private_nat(resources: Resources) -> None:
    find(resources, "aws:ec2/natGateway:NatGateway").inputs["connectivityType"] = "private"


def silent_alarms(resources: Resources) -> None:
    for alarm in all_of(resources, "aws:cloudwatch/metricAlarm:MetricAlarm"):
        alarm.inputs["actionsEnabled"] = False


def public_ip_as_bool(resources: Resources) -> None:
    _template(resources).inputs["networkInterfaces"][0]["associatePublicIpAddress"] = True


MUTANTS: list[Mutant] = [
    # alias
    Mutant(
        "aws-alb-drop-invalid-headers", "alias", "aws:alb/loadBalancer", alb_alias_headers, "forwards invalid headers"
    ),
    Mutant("aws-alb-access-logs", "alias", "aws:alb/loadBalancer", alb_alias_logs, "keeps no access logs"),
    Mutant(
        "aws-lb-deletion-protection",
        "alias",
        "aws:applicationloadbalancing/loadBalancer",
        alb_alias_protection,
        "set enableDeletionProtection",
    ),
    Mutant(
        "aws-lb-alarms", "alias", "aws:alb/loadBalancer without alarms", alb_alias_alarms, "has no CloudWatch alarm"
    ),
    Mutant("aws-alb-listener-modern-tls", "alias", "aws:alb/listener", listener_alias_tls, "ELBSecurityPolicy-2016-08"),
    Mutant(
        "aws-alb-listener-modern-tls",
        "alias",
        "aws:alb/listenerRule forwarding on the HTTP listener",
        listener_rule_alias_http,
        "serves plain HTTP on",
    ),
    Mutant("aws-security-group-no-open-ingress", "alias", "ec2.SecurityGroupRule", sg_rule_twin, "opens port 22"),
    Mutant("aws-security-group-no-open-ingress", "alias", "inline ingress", sg_inline_twin, "opens port 22"),
    Mutant(
        "aws-security-group-no-open-ingress",
        "alias",
        "DefaultSecurityGroup inline ingress",
        default_sg_inline_twin,
        "opens every port",
    ),
    Mutant("aws-security-group-no-open-ingress", "alias", "managed prefix list", sg_prefix_list_twin, "opens port 22"),
    Mutant(
        "alicloud-security-group-no-open-ingress", "alias", "ECS prefix list", ali_prefix_list_twin, "opens port 22"
    ),
    Mutant(
        "aws-autoscaling-group-elb-health-check",
        "alias",
        "autoscaling.Attachment",
        asg_attachment_twin,
        "uses EC2 health checks",
    ),
    Mutant(
        "aws-autoscaling-group-elb-health-check",
        "alias",
        "autoscaling.TrafficSourceAttachment",
        asg_traffic_source_twin,
        "uses EC2 health checks",
    ),
    Mutant(
        "aws-ec2-instance-imdsv2",
        "alias",
        "launch configuration",
        lambda rs: _launch_configuration(rs, metadataOptions={"httpTokens": "optional"}),
        "allows IMDSv1",
    ),
    Mutant(
        "aws-ec2-instance-encrypted-volumes",
        "alias",
        "launch configuration",
        lambda rs: _launch_configuration(rs, rootBlockDevice={"volumeSize": 30}),
        "is not encrypted",
    ),
    Mutant(
        "aws-instance-type-allowlist",
        "alias",
        "launch configuration",
        lambda rs: _launch_configuration(rs, instanceType="p4d.24xlarge"),
        "uses p4d.24xlarge",
    ),
    Mutant("alicloud-ess-group-multi-zone", "alias", "vswitchId (singular)", ess_singular_vswitch, "spans 1 zone"),
    Mutant(
        "kubernetes-hpa-min-replicas",
        "alias",
        "autoscaling/v1 HorizontalPodAutoscaler",
        hpa("v1", minReplicas=1),
        "has minReplicas 1",
    ),
    Mutant(
        "aws-autoscaling-group-multi-az",
        "alias",
        "availabilityZones instead of subnets",
        asg_named_zones,
        "spans 1 zone",
    ),
    Mutant(
        "aws-ec2-instance-no-public-ip",
        "alias",
        "template through mixedInstancesPolicy",
        template_through_mixed_instances,
        "which map public IPs on launch",
    ),
    # default
    Mutant(
        "aws-alb-listener-modern-tls",
        "default",
        "listener without protocol",
        listener_without_protocol,
        "declares no protocol, so it is HTTP",
    ),
    Mutant(
        "aws-alb-drop-invalid-headers",
        "default",
        "dropInvalidHeaderFields left out",
        lambda rs: _balancer(rs).inputs.pop("dropInvalidHeaderFields"),
        "forwards invalid headers",
    ),
    Mutant(
        "aws-lb-deletion-protection",
        "default",
        "enableDeletionProtection left out",
        lambda rs: _balancer(rs).inputs.pop("enableDeletionProtection"),
        "set enableDeletionProtection",
    ),
    Mutant(
        "aws-alb-access-logs",
        "default",
        "accessLogs.enabled left out",
        lambda rs: _balancer(rs).inputs["accessLogs"].pop("enabled"),
        "keeps no access logs",
    ),
    Mutant(
        "aws-ec2-instance-no-public-ip",
        "default",
        "subnets mapPublicIpOnLaunch",
        template_public_by_subnet,
        "which map public IPs on launch",
    ),
    Mutant(
        "aws-ec2-instance-no-public-ip",
        "default",
        "node group template without interfaces in public-mapping subnets",
        node_group_public_subnets,
        "which map public IPs on launch",
    ),
    Mutant(
        "aws-ec2-instance-encrypted-volumes",
        "default",
        "no block device mappings (the AMI's snapshot)",
        template_without_mappings,
        "declares no root volume",
    ),
    Mutant(
        "aws-ec2-instance-encrypted-volumes",
        "default",
        "ebs.encrypted left out",
        lambda rs: _template(rs).inputs["blockDeviceMappings"][0]["ebs"].pop("encrypted"),
        "is not encrypted",
    ),
    Mutant(
        "aws-ec2-instance-imdsv2",
        "default",
        "metadataOptions left out",
        lambda rs: _template(rs).inputs.pop("metadataOptions"),
        "allows IMDSv1",
    ),
    Mutant(
        "aws-autoscaling-group-elb-health-check",
        "default",
        "healthCheckType left out",
        lambda rs: _asg(rs).inputs.pop("healthCheckType"),
        "EC2 health checks (the default)",
    ),
    Mutant(
        "aws-security-group-no-open-ingress",
        "default",
        'protocol "-1" with ports 0-0',
        sg_rule_all_protocols,
        "opens every port",
    ),
    Mutant(
        "alicloud-security-group-no-open-ingress",
        "default",
        "portRange left out (-1/-1)",
        ali_rule_every_port,
        "opens every port",
    ),
    Mutant(
        "kubernetes-hpa-min-replicas",
        "default",
        "HPA without minReplicas (1)",
        hpa("v2beta2"),
        "has minReplicas 1",
    ),
    Mutant(
        "alicloud-ess-configuration-encrypted-disk",
        "default",
        "data disk without encrypted",
        ess_data_disk_default,
        "data disk 0 is not encrypted",
    ),
    Mutant(
        "alicloud-alb-listener-modern-tls",
        "default",
        "securityPolicyId left out",
        lambda rs: next(
            r for r in all_of(rs, "alicloud:alb/listener:Listener") if r.inputs.get("listenerProtocol") == "HTTPS"
        ).inputs.pop("securityPolicyId"),
        "tls_cipher_policy_1_0' (the default)",
    ),
    # proxy
    Mutant("aws-autoscaling-group-multi-az", "proxy", "three subnets in one zone", subnets_in_one_zone, "spans 1 zone"),
    Mutant(
        "alicloud-ess-group-multi-zone", "proxy", "three vSwitches in one zone", switches_in_one_zone, "spans 1 zone"
    ),
    Mutant(
        "aws-autoscaling-group-multi-az",
        "proxy",
        "subnets declared without a zone",
        subnets_without_zone,
        "declare(s) no zone",
    ),
    Mutant(
        "courier-fleet-zone-loss-capacity",
        "proxy",
        "three subnets in two zones",
        subnets_in_two_zones,
        "with one of its 2 zones lost",
    ),
    Mutant(
        "aws-resource-required-tags",
        "proxy",
        "untagged ECR repository",
        untag("aws:ecr/repository:Repository"),
        "lacks tag(s) service, environment, owner",
    ),
    Mutant(
        "aws-resource-required-tags",
        "proxy",
        "untagged instance profile",
        untag("aws:iam/instanceProfile:InstanceProfile"),
        "lacks tag(s)",
    ),
    Mutant(
        "aws-resource-required-tags",
        "proxy",
        "untagged security group ingress rule",
        untag("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"),
        "lacks tag(s)",
    ),
    Mutant(
        "alicloud-resource-required-tags",
        "proxy",
        "untagged OSS bucket",
        untag("alicloud:oss/bucket:Bucket"),
        "lacks tag(s)",
    ),
    Mutant(
        "alicloud-resource-required-tags",
        "proxy",
        "untagged KMS key",
        untag("alicloud:kms/key:Key"),
        "lacks tag(s)",
    ),
    Mutant(
        "kubernetes-resource-required-labels",
        "proxy",
        "unlabelled ServiceMonitor",
        unlabel("kubernetes:monitoring.coreos.com/v1:ServiceMonitor"),
        "lacks label(s) courier/service",
    ),
    # equivalent
    Mutant(
        "aws-security-group-no-open-ingress",
        "equivalent",
        "0.0.0.0/1 + 128.0.0.0/1",
        internet_as_halves,
        "opens port 22",
    ),
    Mutant(
        "aws-security-group-no-open-ingress",
        "equivalent",
        "two /9s that only together reach a /8",
        internet_as_small_ranges,
        "together with",
    ),
    Mutant("aws-security-group-no-open-ingress", "equivalent", "::/1 + 8000::/1", internet_v6_halves, "all of IPv6"),
    Mutant("aws-security-group-no-open-ingress", "equivalent", 'ipProtocol "6"', protocol_number, "opens port 22"),
    Mutant(
        "aws-security-group-no-open-ingress",
        "equivalent",
        "load balancer group opened past 80/443 by two halves",
        balancer_group_wider_ports,
        "tcp ports 81-442",
    ),
    Mutant(
        "alicloud-security-group-no-open-ingress", "equivalent", "::/0 (ipv6CidrIp)", ali_internet_v6, "all of IPv6"
    ),
    Mutant(
        "alicloud-security-group-no-open-ingress",
        "equivalent",
        "0.0.0.0/1 + 128.0.0.0/1",
        ali_internet_halves,
        "opens port 22",
    ),
    Mutant(
        "aws-autoscaling-group-cpu-target-tracking",
        "equivalent",
        "target tracking disabled",
        disabled_tracking,
        "has no enabled target-tracking policy",
    ),
    Mutant("aws-vpc-nat-per-az", "equivalent", "private NAT gateway", private_nat, "are private NAT gateways"),
    Mutant(
        "aws-autoscaling-group-alarms",
        "equivalent",
        "alarms with actions disabled",
        silent_alarms,
        "with enabled actions",
    ),
    Mutant(
        "aws-ec2-instance-no-public-ip",
        "equivalent",
        "associatePublicIpAddress as a boolean",
        public_ip_as_bool,
        "gives instances public IPs",
    ),
]

#: Policies whose rules these classes concern: each has at least one mutant.
CONCERNED = {
    "kubernetes-hpa-min-replicas",
    "aws-alb-drop-invalid-headers",
    "aws-alb-access-logs",
    "aws-lb-deletion-protection",
    "aws-lb-alarms",
    "aws-alb-listener-modern-tls",
    "alicloud-alb-listener-modern-tls",
    "aws-security-group-no-open-ingress",
    "alicloud-security-group-no-open-ingress",
    "aws-autoscaling-group-elb-health-check",
    "aws-autoscaling-group-multi-az",
    "alicloud-ess-group-multi-zone",
    "courier-fleet-zone-loss-capacity",
    "aws-autoscaling-group-cpu-target-tracking",
    "aws-autoscaling-group-alarms",
    "aws-vpc-nat-per-az",
    "aws-ec2-instance-imdsv2",
    "aws-ec2-instance-encrypted-volumes",
    "aws-ec2-instance-no-public-ip",
    "alicloud-ess-configuration-encrypted-disk",
    "aws-instance-type-allowlist",
    "aws-resource-required-tags",
    "alicloud-resource-required-tags",
    "kubernetes-resource-required-labels",
}

#: Words a message uses to say how to fix what it reports.
FIX = re.compile(r"\b(set|add|list|declare|remove|raise|lower|allow|make|move|pass|route|use|give|watch)\b", re.I)


def outcome(plan: Plan, mutant: Mutant) -> tuple[bool, list[str]]:
    """Whether the policy catches the mutant, and what it reported."""
    resources = copy.deepcopy(plan.resources)
    mutant.apply(resources)
    found = violations(mutant.policy, resources, PROD_CONFIG.get(mutant.policy))
    return any(mutant.expected in v for v in found), found


def kill_rate(plan: Plan) -> dict[str, tuple[int, int, list[str]]]:
    """Per class: (killed, total, ids of the survivors)."""
    table: dict[str, tuple[int, int, list[str]]] = {}
    for kind in CLASSES:
        mine = [m for m in MUTANTS if m.kind == kind]
        survivors = [m.id for m in mine if not outcome(plan, m)[0]]
        table[kind] = (len(mine) - len(survivors), len(mine), survivors)
    return table


@pytest.fixture(scope="module")
def prod(stack_plans: Any) -> Plan:
    return stack_plans["prod"]


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_the_pack_catches_the_sidestep(prod: Plan, mutant: Mutant) -> None:
    caught, found = outcome(prod, mutant)
    assert caught, f"{mutant.id} survived: expected {mutant.expected!r}, got {found[:3]}"
    assert all(FIX.search(v) for v in found), f"a message does not say how to fix it: {found}"


def test_the_kill_rate_is_complete_for_every_class(prod: Plan) -> None:
    table = kill_rate(prod)
    assert all(total for _, total, _ in table.values()), table
    assert {kind: survivors for kind, (_, _, survivors) in table.items() if survivors} == {}


def test_every_concerned_policy_has_mutants_of_the_pack() -> None:
    assert set(BY_NAME) >= CONCERNED
    assert {m.policy for m in MUTANTS} == CONCERNED


def test_every_class_has_mutants() -> None:
    assert {m.kind for m in MUTANTS} == set(CLASSES)


# -- the normalisation layer against the installed SDKs --------------------------------------------


def _sdk_root(package: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent


def test_the_load_balancer_families_hold_every_alias_the_sdk_declares() -> None:
    from guardrails import objects

    families = (
        set(objects.LOAD_BALANCERS)
        | set(objects.LISTENERS)
        | set(objects.LISTENER_RULES)
        | set(objects.TARGET_GROUPS)
        | set(objects.TARGET_GROUP_ATTACHMENTS)
    )
    token = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'([^']+)'")
    alias = re.compile(r'pulumi\.Alias\(type_="([^"]+)"\)')
    root = _sdk_root("pulumi_aws")
    declared: set[str] = set()
    for module in ("lb", "alb"):
        for path in (root / module).glob("*.py"):
            text = path.read_text(encoding="utf-8")
            names = token.findall(text)
            if any(
                n.split(":")[2] in ("LoadBalancer", "Listener", "ListenerRule", "TargetGroup", "TargetGroupAttachment")
                for n in names
            ):
                declared.update(names)
                declared.update(alias.findall(text))
    assert declared
    assert declared <= families, sorted(declared - families)


def test_taggable_types_come_from_the_sdk_classes() -> None:
    from guardrails.objects import accepts_tags, tagged_types

    assert accepts_tags("aws:ec2/vpc:Vpc")
    assert accepts_tags("aws:ecr/repository:Repository")
    assert accepts_tags("aws:alb/loadBalancer:LoadBalancer")
    assert not accepts_tags("aws:ec2/securityGroupRule:SecurityGroupRule")
    assert not accepts_tags("aws:route53/record:Record")
    assert accepts_tags("alicloud:oss/bucket:Bucket")
    assert not accepts_tags("alicloud:ecs/securityGroupRule:SecurityGroupRule")
    assert len(tagged_types("aws")) > 500 and len(tagged_types("alicloud")) > 200


def test_the_shipped_stacks_tag_every_resource_whose_type_takes_tags(stack_plans: Any) -> None:
    for stack in ("dev", "staging", "prod"):
        for policy in (
            "aws-resource-required-tags",
            "alicloud-resource-required-tags",
            "kubernetes-resource-required-labels",
        ):
            assert violations(policy, stack_plans[stack].resources) == [], (stack, policy)


def test_the_provider_default_tags_count(prod: Plan) -> None:
    resources = copy.deepcopy(prod.resources)
    repository = find(resources, "aws:ecr/repository:Repository")
    tags = repository.inputs.pop("tags")
    provider = next(r for r in resources if r.urn == repository.provider)
    provider.inputs["defaultTags"] = {"tags": tags}
    assert violations("aws-resource-required-tags", resources) == []


def test_a_union_below_the_threshold_is_not_open(prod: Plan) -> None:
    resources = copy.deepcopy(prod.resources)
    group = _instance_group(resources)
    _aws_rule(resources, "apse1-orders-office", group, cidrIpv4="203.0.113.0/24")
    _aws_rule(resources, "apse1-orders-vpn", group, cidrIpv4="198.51.100.7/32")
    _aws_rule(resources, "apse1-orders-partner", group, cidrIpv4="64.0.0.0/9")
    assert violations("aws-security-group-no-open-ingress", resources) == []


def preview_of(plan: Plan) -> Resources:
    """The plan as ``pulumi preview`` shows it to the pack: a value declared from another
    resource's outputs is unknown (a string, or each string of a list of them)."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    resources = copy.deepcopy(plan.resources)
    for resource in resources:
        for prop, deps in resource.property_dependencies.items():
            value = resource.inputs.get(prop)
            if not deps or value is None:
                continue
            if isinstance(value, str):
                resource.inputs[prop] = UNKNOWN_STRING_VALUE
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                resource.inputs[prop] = [UNKNOWN_STRING_VALUE for _ in value]
    return resources


@pytest.mark.parametrize("policy", sorted(BY_NAME))
def test_the_objects_are_built_from_what_a_preview_knows(prod: Plan, policy: str) -> None:
    # Relationships are followed through dependencies and lists counted without reading their
    # computed entries, so a real preview is judged like the offline plan.
    assert violations(policy, preview_of(prod), PROD_CONFIG.get(policy)) == []


def test_a_pack_without_the_sdk_says_so_once_and_still_checks_declared_tags(
    prod: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    from guardrails import objects, tags

    def missing(cloud: str) -> frozenset[str]:
        raise objects.SdkMissing(f"pulumi_{cloud} is not installed; add it to policies/requirements.txt")

    monkeypatch.setattr(objects, "tagged_types", missing)
    monkeypatch.setattr(tags, "_REPORTED", set())
    resources = copy.deepcopy(prod.resources)
    find(resources, "aws:ecr/repository:Repository").inputs["tags"] = {"service": "orders"}
    found = violations("aws-resource-required-tags", resources)
    assert sum("policies/requirements.txt" in v for v in found) == 1
    assert any("lacks tag(s) environment, owner" in v for v in found)


def test_only_an_internet_facing_balancer_may_take_the_internet(prod: Plan) -> None:
    resources = copy.deepcopy(prod.resources)
    _balancer(resources).inputs["internal"] = True
    found = violations("aws-security-group-no-open-ingress", resources)
    assert any("apse1-alb-in-443 opens port 443 to the internet" in v for v in found), found
    _balancer(resources).inputs.pop("internal")  # internal defaults to false: internet-facing
    assert violations("aws-security-group-no-open-ingress", resources) == []
