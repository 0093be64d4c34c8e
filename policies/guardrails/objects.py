"""Cloud objects, whatever resource type or property spelling declares them.

A guardrail is stated once over the cloud object (a listener, the ingress a security group
admits, the target groups an Auto Scaling group is joined to, the zones a fleet spans), not
over one resource type or one property path: the same object can be declared through a type
alias (``aws:alb/*`` beside ``aws:lb/*``), a twin resource (an inline ``ingress`` block, an
``aws.ec2.SecurityGroupRule``, an ``aws.vpc.SecurityGroupIngressRule``), or left to a provider
default (a listener with no protocol). This module turns the resources of a stack into those
objects, with the provider's defaults applied, once per stack validation (``index(args)``):

- ``families``: every type token that declares the same object (SDK twins and the type
  aliases their classes declare; tests/policies/test_sidesteps.py checks them against the SDK);
- ``Stack.listeners()``: each load balancer listener with its effective protocol and rules;
- ``Stack.ingress()``: each permission a security group admits (AWS and Alibaba Cloud), with
  its protocol, port range and source CIDRs (prefix lists resolved), grouped per group;
- ``Stack.zones()``: the distinct zones of the subnets / vSwitches a group spans;
- ``Stack.balanced()``: how an Auto Scaling group is joined to load balancers (its own
  ``targetGroupArns``/``trafficSources``/``loadBalancers`` or an attachment resource);
- ``accepts_tags(type)``: whether the installed SDK's class for a type takes ``tags``.

Provider defaults are cited where they are applied (pulumi-aws 7.x / pulumi-alicloud 4.x
Python SDK docstrings, which are generated from the Terraform providers' schemas).
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import os
import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import PolicyResource, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from guardrails.addresses import Exposure, exposure
from guardrails.common import get

# -- families: every type token that declares one cloud object --------------------------------
#
# pulumi-aws declares the same Elastic Load Balancing v2 objects twice (``aws.lb`` and
# ``aws.alb``), and each class carries an alias of an older token
# (``aws:elasticloadbalancingv2/*``, ``aws:applicationloadbalancing/*``): pulumi_aws/lb/*.py and
# pulumi_aws/alb/*.py, ``alias_opts = pulumi.ResourceOptions(aliases=[...])``.


def _elbv2(name: str) -> tuple[str, ...]:
    return tuple(
        f"aws:{module}/{name[0].lower()}{name[1:]}:{name}"
        for module in ("lb", "alb", "elasticloadbalancingv2", "applicationloadbalancing")
    )


LOAD_BALANCERS = _elbv2("LoadBalancer")
LISTENERS = _elbv2("Listener")
LISTENER_RULES = _elbv2("ListenerRule")
TARGET_GROUPS = _elbv2("TargetGroup")
TARGET_GROUP_ATTACHMENTS = _elbv2("TargetGroupAttachment")

ASG = "aws:autoscaling/group:Group"
ASG_ATTACHMENT = "aws:autoscaling/attachment:Attachment"
ASG_TRAFFIC_ATTACHMENT = "aws:autoscaling/trafficSourceAttachment:TrafficSourceAttachment"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SUBNET = "aws:ec2/subnet:Subnet"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"

#: Security groups with inline rules (the default group of a VPC too).
AWS_GROUPS = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
AWS_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
AWS_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
AWS_PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
AWS_PREFIX_LIST_ENTRY = "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry"
#: Every type that declares ingress to an AWS security group.
AWS_INGRESS = (*AWS_GROUPS, AWS_GROUP_RULE, AWS_INGRESS_RULE)

ALI_GROUP = "alicloud:ecs/securityGroup:SecurityGroup"
ALI_GROUP_RULE = "alicloud:ecs/securityGroupRule:SecurityGroupRule"
ALI_PREFIX_LISTS = ("alicloud:ecs/ecsPrefixList:EcsPrefixList", "alicloud:vpc/prefixList:PrefixList")
#: Load balancers that take an Alibaba Cloud security group through an attachment.
ALI_GROUP_ATTACHMENTS = (
    "alicloud:alb/loadBalancerSecurityGroupAttachment:LoadBalancerSecurityGroupAttachment",
    "alicloud:nlb/loadBalancerSecurityGroupAttachment:LoadBalancerSecurityGroupAttachment",
)
ESS_GROUP = "alicloud:ess/scalingGroup:ScalingGroup"
VSWITCH = "alicloud:vpc/switch:Switch"

#: Every IP protocol, every port (AWS ``-1``; Alibaba Cloud ``all``).
ALL = "all"
_PROTOCOLS = {"-1": ALL, "all": ALL, "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
_FULL = (0, 65535)


def literal(resource: PolicyResource, prop: str) -> Any:
    """``prop``'s value when it is literal: None when it was declared from other resources'
    outputs (unknown during preview; follow ``property_dependencies`` instead) or is unknown."""
    if resource.property_dependencies.get(prop):
        return None
    try:
        return get(resource.props, prop)
    except UnknownValueError:
        return None


def length(props: Mapping[str, Any], prop: str) -> int | None:
    """How many entries ``prop`` lists (a single value counts one), without reading them: their
    values may be unknown during preview. None when the list itself is unknown."""
    if not any(k == prop for k in props):
        return 0
    try:
        value = props[prop]
    except UnknownValueError:
        return None
    if value is None:
        return 0
    return 1 if isinstance(value, str) else len(value)


def protocol_name(value: Any) -> str:
    """``tcp``, ``udp``, ``icmp``, ``icmpv6``, ``all`` or the protocol number as text."""
    text = str(value).strip().lower() if value is not None else ALL
    return _PROTOCOLS.get(text, text)


# -- the index of one stack --------------------------------------------------------------------


@dataclass(frozen=True)
class Permission:
    """One ingress permission of a security group: a protocol, a port range, sources."""

    #: The group: its URN when declared in the stack, else ``id:<literal id>``.
    group: str
    group_name: str
    #: The resource that declares it (a rule, or the group for an inline rule).
    source: PolicyResource
    protocol: str
    low: int
    high: int
    cidrs: tuple[str, ...]

    @property
    def ports(self) -> str:
        """How the permission reads in a message: ``port 22``, ``ports 1-1024``, ``every port``."""
        if self.protocol == ALL or (self.low, self.high) == _FULL:
            return "every port" if self.protocol in (ALL, "tcp", "udp") else f"all of {self.protocol}"
        if self.protocol not in ("tcp", "udp"):
            return f"all of {self.protocol}"
        return f"port {self.low}" if self.low == self.high else f"ports {self.low}-{self.high}"


@dataclass(frozen=True)
class Opening:
    """Ports of one group that the union of its permissions opens to the internet."""

    group: str
    group_name: str
    protocol: str
    low: int
    high: int
    exposure: Exposure
    permissions: tuple[Permission, ...]

    @property
    def ports(self) -> str:
        if self.protocol == ALL:
            return "every protocol and port"
        if self.protocol not in ("tcp", "udp"):
            return f"all of {self.protocol}"
        span = f"port {self.low}" if self.low == self.high else f"ports {self.low}-{self.high}"
        return f"{self.protocol} {span}"


@dataclass(frozen=True)
class Listener:
    resource: PolicyResource
    balancer: PolicyResource | None
    #: The load balancer's type with its default applied (``application``), or None if unknown.
    balancer_type: str | None
    #: The protocol with the provider's default applied.
    protocol: str | None
    #: Whether the protocol is the provider's default (not declared).
    defaulted: bool
    rules: tuple[PolicyResource, ...] = field(default=())


@dataclass(frozen=True)
class Zones:
    """The distinct zones a group spans.

    Subnets (vSwitches) declared in the stack count by their zone, several in one zone once;
    one declared without a zone counts for nothing (the cloud picks any zone, maybe the same).
    An entry naming a subnet outside the stack (a literal ID) may be anywhere, so it counts as
    a zone of its own. A list never spans more zones than it has entries.
    """

    zones: frozenset[str]
    entries: int
    #: Entries naming subnets the plan does not declare.
    outside: int
    #: Declared subnets without a zone.
    unplaced: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return min(len(self.zones) + self.outside, self.entries) if self.entries else len(self.zones)


class Stack:
    """The resources of one stack validation, indexed once; lookups are cached on it."""

    def __init__(self, resources: Iterable[PolicyResource]) -> None:
        self.resources = list(resources)
        self._by_type: dict[str, list[PolicyResource]] = {}
        for resource in self.resources:
            self._by_type.setdefault(resource.resource_type, []).append(resource)
        self._memo: dict[str, Any] = {}

    def of(self, *types: str) -> list[PolicyResource]:
        found: list[PolicyResource] = []
        for kind in types:
            found.extend(self._by_type.get(kind, []))
        return found

    def _cached(self, key: str, build: Any) -> Any:
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    # -- relationships ---------------------------------------------------------------------------

    @staticmethod
    def refs(resource: PolicyResource, prop: str) -> list[PolicyResource]:
        """The resources ``resource.props[prop]`` was declared from."""
        return list(resource.property_dependencies.get(prop, []))

    def _linked(self, resource: PolicyResource, prop: str, candidates: Iterable[PolicyResource], *names: str) -> list:
        """Resources among ``candidates`` that ``prop`` names: through dependencies or, for a
        literal value, by one of their literal ``names`` inputs."""
        deps = {d.urn for d in self.refs(resource, prop)}
        if deps:
            return [c for c in candidates if c.urn in deps]
        value = literal(resource, prop)
        if value is None:
            return []
        return [c for c in candidates if any(literal(c, n) is not None and literal(c, n) == value for n in names)]

    # -- load balancers and listeners -----------------------------------------------------------

    def balancer_type(self, balancer: PolicyResource) -> str:
        # "The default value is `application`" (pulumi_aws.lb.LoadBalancer load_balancer_type).
        return str(get(balancer.props, "loadBalancerType", default="application"))

    def listeners(self) -> list[Listener]:
        def build() -> list[Listener]:
            balancers = self.of(*LOAD_BALANCERS)
            rules = self.of(*LISTENER_RULES)
            found = []
            for listener in self.of(*LISTENERS):
                balancer = next(iter(self._linked(listener, "loadBalancerArn", balancers, "arn")), None)
                kind = self.balancer_type(balancer) if balancer is not None else _arn_kind(listener)
                declared = get(listener.props, "protocol")
                # terraform-provider-aws internal/service/elbv2/listener.go (resourceListenerCreate):
                # with no protocol, an ARN of "loadbalancer/app/" gets HTTP ("Keep previous default
                # of HTTP for Application Load Balancers"); pulumi_aws.lb.Listener documents it
                # ("with a default of `HTTP`"). Network Load Balancers require one (TCP is the
                # usual); a listener whose balancer the plan cannot see is judged as an ALB's.
                protocol = str(declared).upper() if declared else ("TCP" if kind == "network" else "HTTP")
                mine = tuple(r for r in rules if self._linked(r, "listenerArn", [listener], "arn"))
                found.append(Listener(listener, balancer, kind, protocol, not declared, mine))
            return found

        return self._cached("listeners", build)

    # -- security groups ------------------------------------------------------------------------

    def _group_key(self, rule: PolicyResource, prop: str) -> tuple[str, str]:
        deps = self.refs(rule, prop)
        if deps:
            return deps[0].urn, deps[0].name
        value = literal(rule, prop)
        return f"id:{value}", str(value)

    def _aws_prefix_lists(self, resource: PolicyResource, prop: str, values: Iterable[Any]) -> list[str]:
        """CIDRs of the managed prefix lists a rule names (declared in the stack; a list the
        plan cannot see, such as an AWS-managed one, names a network and adds nothing)."""
        if not list(values):
            return []
        lists = self.refs(resource, prop)
        cidrs: list[str] = []
        for found in lists:
            if found.resource_type != AWS_PREFIX_LIST:
                continue
            cidrs.extend(str(get(e, "cidr")) for e in get(found.props, "entries", default=[]) or [])
            cidrs.extend(
                str(get(e.props, "cidr"))
                for e in self.of(AWS_PREFIX_LIST_ENTRY)
                if any(d.urn == found.urn for d in self.refs(e, "prefixListId"))
            )
        return cidrs

    def _aws_permissions(self) -> list[Permission]:
        found: list[Permission] = []
        for group in self.of(*AWS_GROUPS):
            for rule in get(group.props, "ingress", default=[]) or []:
                cidrs = [
                    *list(get(rule, "cidrBlocks", default=[]) or []),
                    *list(get(rule, "ipv6CidrBlocks", default=[]) or []),
                ]
                cidrs += self._aws_prefix_lists(group, "ingress", get(rule, "prefixListIds", default=[]) or [])
                found.append(self._aws_permission(group.urn, group.name, group, rule, "protocol", cidrs))
        for rule in self.of(AWS_GROUP_RULE):
            if get(rule.props, "type") != "ingress":
                continue
            key, name = self._group_key(rule, "securityGroupId")
            cidrs = [
                *list(get(rule.props, "cidrBlocks", default=[]) or []),
                *list(get(rule.props, "ipv6CidrBlocks", default=[]) or []),
            ]
            cidrs += self._aws_prefix_lists(rule, "prefixListIds", get(rule.props, "prefixListIds", default=[]) or [])
            found.append(self._aws_permission(key, name, rule, rule.props, "protocol", cidrs))
        for rule in self.of(AWS_INGRESS_RULE):
            key, name = self._group_key(rule, "securityGroupId")
            cidrs = [c for c in (get(rule.props, "cidrIpv4"), get(rule.props, "cidrIpv6")) if c]
            prefix = get(rule.props, "prefixListId")
            cidrs += self._aws_prefix_lists(rule, "prefixListId", [prefix] if prefix else [])
            found.append(self._aws_permission(key, name, rule, rule.props, "ipProtocol", cidrs))
        return found

    @staticmethod
    def _aws_permission(
        key: str, name: str, source: PolicyResource, rule: Mapping[str, Any], protocol_key: str, cidrs: list[str]
    ) -> Permission:
        protocol = protocol_name(get(rule, protocol_key))
        # `-1` is every protocol and every port ("it translates to all protocols, all port
        # ranges": pulumi_aws.vpc.SecurityGroupIngressRule ip_protocol); an ICMP rule's ports
        # are ICMP types, so any ICMP rule counts as the whole protocol.
        if protocol in ("tcp", "udp"):
            low = get(rule, "fromPort", default=_FULL[0])
            high = get(rule, "toPort", default=_FULL[1])
            low, high = int(low), int(high)
            if low < 0 or high < 0:
                low, high = _FULL
        else:
            low, high = _FULL
        return Permission(key, name, source, protocol, max(low, 0), min(high, 65535), tuple(str(c) for c in cidrs))

    def _ali_permissions(self) -> list[Permission]:
        found: list[Permission] = []
        for rule in self.of(ALI_GROUP_RULE):
            # "type": ingress or egress; "policy" defaults to `accept` (a `drop` rule opens
            # nothing); "port_range" defaults to "-1/-1", every port (pulumi_alicloud 4.0.0
            # ecs.SecurityGroupRule docstrings).
            if get(rule.props, "type") != "ingress" or str(get(rule.props, "policy", default="accept")) == "drop":
                continue
            key, name = self._group_key(rule, "securityGroupId")
            protocol = protocol_name(get(rule.props, "ipProtocol", default="all"))
            low_text, _, high_text = str(get(rule.props, "portRange", default="-1/-1")).partition("/")
            try:
                low, high = int(low_text), int(high_text or low_text)
            except ValueError:
                low, high = _FULL
            if protocol not in ("tcp", "udp") or low < 0 or high < 0:
                low, high = _FULL
            cidrs = [c for c in (get(rule.props, "cidrIp"), get(rule.props, "ipv6CidrIp")) if c]
            if not cidrs and not any(k == "sourceSecurityGroupId" for k in rule.props):
                # prefix_list_id counts only when no CIDR or source group is given (docstring).
                for found_list in self.refs(rule, "prefixListId"):
                    if found_list.resource_type in ALI_PREFIX_LISTS:
                        entries = get(found_list.props, "entries", default=None) or get(
                            found_list.props, "entrys", default=[]
                        )
                        cidrs.extend(str(get(e, "cidr")) for e in entries or [])
            found.append(Permission(key, name, rule, protocol, low, high, tuple(str(c) for c in cidrs)))
        return found

    def ingress(self, cloud: str) -> list[Permission]:
        """Every ingress permission the stack declares on ``cloud`` (``aws`` or ``alicloud``)."""
        return self._cached(
            f"ingress:{cloud}", lambda: self._aws_permissions() if cloud == "aws" else self._ali_permissions()
        )

    def balancer_groups(self, cloud: str) -> set[str]:
        """Keys of the security groups that front an internet-facing load balancer."""

        def build() -> set[str]:
            keys: set[str] = set()
            if cloud == "aws":
                for balancer in self.of(*LOAD_BALANCERS):
                    # Only an internet-facing balancer takes traffic from the internet; internal
                    # "Defaults to `false`" (pulumi_aws.lb.LoadBalancer).
                    if get(balancer.props, "internal", default=False) is True:
                        continue
                    deps = self.refs(balancer, "securityGroups")
                    keys.update(d.urn for d in deps)
                    if not deps:
                        keys.update(f"id:{v}" for v in literal(balancer, "securityGroups") or [])
            else:
                for attachment in self.of(*ALI_GROUP_ATTACHMENTS):
                    keys.add(self._group_key(attachment, "securityGroupId")[0])
            return keys

        return self._cached(f"balancer-groups:{cloud}", build)

    def openings(self, cloud: str) -> list[Opening]:
        """Port ranges of each group that the union of its permissions opens to the internet
        (addresses.is_open: coverage of public address space, not a literal ``0.0.0.0/0``)."""

        def build() -> list[Opening]:
            by_group: dict[str, list[Permission]] = {}
            for permission in self.ingress(cloud):
                if permission.cidrs:
                    by_group.setdefault(permission.group, []).append(permission)
            found: list[Opening] = []
            for key, permissions in by_group.items():
                found.extend(_openings(key, permissions))
            return found

        return self._cached(f"openings:{cloud}", build)

    # -- zones --------------------------------------------------------------------------------------

    def zones(self, group: PolicyResource) -> Zones:
        """Distinct zones of an Auto Scaling group's subnets or an ESS group's vSwitches."""
        if group.resource_type == ESS_GROUP:
            props = ("vswitchIds", "vswitchId")
            kinds, keys = (VSWITCH,), ("zoneId",)
        else:
            props = ("vpcZoneIdentifiers",)
            kinds, keys = (SUBNET,), ("availabilityZone", "availabilityZoneId")
        zones: set[str] = set()
        unplaced: list[str] = []
        entries = declared = 0
        for prop in props:
            count = length(group.props, prop)
            listed = self.refs(group, prop)
            # A list unknown as a whole (declared from one output) has as many entries as the
            # resources it was declared from.
            entries += count if count is not None else len(listed)
            for subnet in listed:
                if subnet.resource_type not in kinds:
                    continue
                declared += 1
                zone = next((get(subnet.props, k) for k in keys if get(subnet.props, k)), None)
                if zone:
                    zones.add(str(zone))
                else:
                    unplaced.append(subnet.name)
        # An Auto Scaling group may name its zones itself (no subnets: the default VPC).
        if group.resource_type == ASG and not entries:
            named = [str(z) for z in literal(group, "availabilityZones") or []]
            return Zones(frozenset(named), len(named), 0)
        return Zones(frozenset(zones), entries, max(entries - declared, 0), tuple(unplaced))

    # -- Auto Scaling groups behind load balancers ---------------------------------------------

    def balanced(self, group: PolicyResource) -> list[str]:
        """How ``group`` is joined to load balancers (empty when it is not)."""
        attachments = self._cached("asg-attachments", lambda: self.of(ASG_ATTACHMENT, ASG_TRAFFIC_ATTACHMENT))
        ways = []
        for prop in ("targetGroupArns", "trafficSources", "loadBalancers"):
            # Only whether they list anything: the ARNs are unknown during preview.
            if length(group.props, prop) != 0 or self.refs(group, prop):
                ways.append(prop)
        for attachment in attachments:
            if self._linked(attachment, "autoscalingGroupName", [group], "name"):
                ways.append(attachment.name)
        return ways


def _arn_kind(listener: PolicyResource) -> str | None:
    """The load balancer type a literal ARN names (``loadbalancer/app/``, ``/net/``, ``/gwy/``)."""
    arn = literal(listener, "loadBalancerArn")
    if not isinstance(arn, str):
        return None
    kinds = {"loadbalancer/app/": "application", "loadbalancer/net/": "network", "loadbalancer/gwy/": "gateway"}
    return next((kind for marker, kind in kinds.items() if marker in arn), None)


def _openings(key: str, permissions: list[Permission]) -> list[Opening]:
    """Split a group's permissions into elementary port ranges per protocol and judge the union
    of the CIDRs that admit each one."""
    protocols = {p.protocol for p in permissions}
    found: list[Opening] = []
    for protocol in sorted(protocols):
        relevant = [p for p in permissions if p.protocol in (protocol, ALL)]
        cuts = sorted({p.low for p in relevant} | {p.high + 1 for p in relevant})
        pending: Opening | None = None
        for low, next_low in itertools.pairwise(cuts):
            high = next_low - 1
            cover = tuple(p for p in relevant if p.low <= low and p.high >= high)
            if not cover:
                continue
            seen = exposure(c for p in cover for c in p.cidrs)
            if not seen.open:
                continue
            if (
                pending is not None
                and pending.high + 1 == low
                and {p.source.urn for p in pending.permissions} == {p.source.urn for p in cover}
            ):
                pending = Opening(key, pending.group_name, protocol, pending.low, high, seen, cover)
                continue
            if pending is not None:
                found.append(pending)
            pending = Opening(key, cover[0].group_name, protocol, low, high, seen, cover)
        if pending is not None:
            found.append(pending)
    return found


_INDEX: weakref.WeakKeyDictionary[StackValidationArgs, Stack] = weakref.WeakKeyDictionary()


def index(args: StackValidationArgs) -> Stack:
    """The stack's objects, built once per stack validation (the policy SDK hands each stack
    policy its own ``args``; the lookups every policy needs are memoised on the index)."""
    found = _INDEX.get(args)
    if found is None:
        found = _INDEX[args] = Stack(args.resources)
    return found


# -- which types take tags: read from the installed SDKs ------------------------------------------

_TYPE_TOKEN = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'([^']+)'")
_TAGS_INPUT = '__props__.__dict__["tags"] = tags'
_SDKS = {"aws": ("pulumi_aws", _TAGS_INPUT), "alicloud": ("pulumi_alicloud", _TAGS_INPUT)}


class SdkMissing(RuntimeError):
    """The pack's environment lacks the SDK that says which types take tags."""


@functools.cache
def tagged_types(cloud: str) -> frozenset[str]:
    """Every resource type of ``cloud`` whose SDK class takes a ``tags`` input.

    Read once per process from the installed SDK's source (each resource class's
    ``_internal_init`` stores ``__props__.__dict__["tags"] = tags`` when ``tags`` is one of its
    inputs), without importing it: about 3,000 classes in a fraction of a second.
    """
    package, marker = _SDKS[cloud]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise SdkMissing(
            f"{package} is not installed where the pack runs, so which {cloud} types take tags is unknown; "
            f"add {package.replace('_', '-')} to policies/requirements.txt"
        )
    root = os.path.dirname(spec.origin)
    found: set[str] = set()
    for directory, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".py") or name.startswith(("_", "get_")) or name == "outputs.py":
                continue
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                text = handle.read()
            if marker not in text:
                continue
            found.update(_TYPE_TOKEN.findall(text))
    return frozenset(found)


def accepts_tags(resource_type: str) -> bool:
    """Whether the installed SDK's class for ``resource_type`` takes ``tags``."""
    cloud = resource_type.split(":", 1)[0]
    if cloud not in _SDKS:
        return False
    return resource_type in tagged_types(cloud)


#: Kubernetes types that are not objects in the cluster (nothing to label).
_NOT_OBJECTS = re.compile(r"^kubernetes:(helm\.sh|yaml|kustomize)/|^kubernetes:[^:]*:[A-Za-z]*List$")


def labelled(resource_type: str) -> bool:
    """Whether a Kubernetes type is an object with metadata (every built-in kind and every
    custom resource; not Helm releases, YAML groups or lists)."""
    return resource_type.startswith("kubernetes:") and not _NOT_OBJECTS.match(resource_type)
