"""Compute: every EC2 instance the stack can launch requires IMDSv2, encrypts its volumes and gets
no public IP address, whichever resource declares it, and every EBS volume is encrypted.

An instance is declared by one of several resources, each judged with its provider's defaults:
an ``ec2.Instance`` or ``ec2.SpotInstanceRequest`` (possibly from a launch template), a launch
template (whatever launches from it: an Auto Scaling group, an EKS node group, an EC2 fleet, an
instance), a launch configuration (an Auto Scaling group), a spot fleet request's launch
specifications. Settings an instance leaves out come from its launch template when it names one
in the stack (the template is judged itself), else from the provider's or EC2's default:

- IMDS: ``metadataOptions.httpTokens`` "optional" unless set (pulumi-aws
  ``LaunchTemplateMetadataOptionsArgs``: "(Default: "optional")"; ``Instance`` and
  ``LaunchConfiguration`` send it only when set, so the AMI / account default applies, optional
  for most AMIs). ``httpEndpoint: "disabled"`` turns the service off, which is compliant too.
  Spot fleet launch specifications have no metadata options at all.
- Volumes: ``encrypted`` defaults to false on instance, launch configuration and spot request
  block devices (pulumi-aws ``InstanceRootBlockDeviceArgs`` "Defaults to `false`");
  ``ebs.Volume`` sends ``encrypted`` only when set (terraform-provider-aws
  internal/service/ec2/ebs_volume.go: Optional + Computed, ``if value, ok := d.GetOk(...)``), so
  the account's encryption-by-default decides, off unless someone turned it on. A launch template
  or instance that declares no root volume boots the AMI's snapshot as it is (AWS's public AMIs
  are not encrypted).
- Public IP: ``associatePublicIpAddress`` unset means the subnet decides
  (``mapPublicIpOnLaunch``: false on ``ec2.Subnet``, true on ``ec2.DefaultSubnet``, pulumi-aws
  docstrings), and an instance with no subnet lands in the default VPC's default subnet, which
  maps public IPs.

The launch templates also have rules in security.py (aws-launch-template-*); these rules judge
every declaring type alike, launch templates included.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs

from guardrails.common import (
    ASG,
    EKS_NODE_GROUP,
    LAUNCH_TEMPLATE,
    SUBNET,
    Report,
    get,
    of_type,
    resource_policy,
    stack_policy,
)
from guardrails.follow import declared_by, declared_from, flag, literal_in

INSTANCE = "aws:ec2/instance:Instance"
SPOT_INSTANCE = "aws:ec2/spotInstanceRequest:SpotInstanceRequest"
SPOT_FLEET = "aws:ec2/spotFleetRequest:SpotFleetRequest"
EC2_FLEET = "aws:ec2/fleet:Fleet"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
EBS_VOLUME = "aws:ebs/volume:Volume"
DEFAULT_SUBNET = "aws:ec2/defaultSubnet:DefaultSubnet"

#: Every type that declares EC2 instances.
LAUNCHERS = (INSTANCE, SPOT_INSTANCE, LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION, SPOT_FLEET)
SINGLE = (INSTANCE, SPOT_INSTANCE)
#: Inputs through which a resource names the launch template it launches from.
TEMPLATE_KEYS = ("launchTemplate", "mixedInstancesPolicy", "launchTemplateConfigs", "launchTemplateConfig")
#: Inputs through which a resource names the subnets its instances launch in.
SUBNET_KEYS = ("subnetId", "subnetIds", "vpcZoneIdentifiers", "launchSpecifications", "launchTemplateConfigs")


@dataclass(frozen=True)
class Launch:
    """One way the stack declares instances: the resource, and for a spot fleet which of its
    launch specifications."""

    resource: PolicyResource
    spec: Mapping[str, Any]
    title: str
    #: The stack's launch templates an instance launches from (it inherits what it leaves out).
    templates: list[PolicyResource] = field(default_factory=list)


def _launches(args: StackValidationArgs) -> Iterator[Launch]:
    for resource in of_type(args, *LAUNCHERS):
        if resource.resource_type == SPOT_FLEET:
            for index, spec in enumerate(get(resource.props, "launchSpecifications", default=[])):
                yield Launch(resource, spec, f"{resource.name} (launchSpecifications[{index}])")
            continue
        templates = _templates_of(args, resource) if resource.resource_type in SINGLE else []
        yield Launch(resource, resource.props, resource.name, templates)


def _templates_of(args: StackValidationArgs, resource: PolicyResource) -> list[PolicyResource]:
    """The stack's launch templates ``resource`` launches from (by dependency, else by name)."""
    found = declared_from(resource, TEMPLATE_KEYS, LAUNCH_TEMPLATE)
    if found:
        return found
    reference = {k: get(resource.props, k) for k in TEMPLATE_KEYS if get(resource.props, k) is not None}
    return [t for t in of_type(args, LAUNCH_TEMPLATE) if reference and literal_in(reference, t, "name")]


def _names_template(resource: PolicyResource) -> bool:
    return any(get(resource.props, k) is not None for k in TEMPLATE_KEYS)


# -- IMDSv2 ------------------------------------------------------------------------------------


def _tokens(options: Any) -> tuple[str | None, bool]:
    """(httpTokens as set or None, whether the metadata service is disabled)."""
    tokens = get(options, "httpTokens")
    disabled = str(get(options, "httpEndpoint", default="enabled")).lower() == "disabled"
    return (str(tokens) if tokens is not None else None), disabled


@stack_policy(
    "aws-ec2-instance-imdsv2",
    "Every EC2 instance the stack declares (instance, spot request, launch template, launch "
    "configuration, spot fleet) requires IMDSv2 session tokens; unset means optional.",
)
def instance_imdsv2(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    for launch in _launches(args):
        if launch.resource.resource_type == SPOT_FLEET:
            report(
                f"{launch.title} cannot require IMDSv2: spot fleet launch specifications have no metadata options. "
                'Use launchTemplateConfigs with a launch template whose metadataOptions.httpTokens is "required".',
                launch.resource.urn,
            )
            continue
        options = get(launch.spec, "metadataOptions", default={})
        tokens, disabled = _tokens(options)
        if disabled:
            continue
        # http_put_response_hop_limit: 1 when left out (pulumi_aws.ec2 LaunchTemplateMetadataOptions,
        # InstanceMetadataOptions). Above 1, a container on the host reaches the instance's role.
        hops = get(options, "httpPutResponseHopLimit")
        if hops is not None and int(hops) > 1:
            report(
                f"{launch.title} lets containers reach the instance metadata (httpPutResponseHopLimit {hops}); "
                "set metadataOptions.httpPutResponseHopLimit to 1.",
                launch.resource.urn,
            )
        if tokens == "required":
            continue
        if tokens is None and launch.templates:
            continue  # inherited from the stack's template, which is judged itself
        if tokens is None and _names_template(launch.resource):
            report(
                f"{launch.title} launches from a template outside the stack, so its IMDS setting cannot be "
                'checked; set metadataOptions.httpTokens to "required" on it.',
                launch.resource.urn,
            )
            continue
        got = f"httpTokens {tokens!r}" if tokens is not None else "no metadataOptions.httpTokens (optional by default)"
        report(
            f"{launch.title} allows IMDSv1 ({got}): any SSRF on the instance can read its role's credentials. "
            'Set metadataOptions.httpTokens to "required" (hop limit 1).',
            launch.resource.urn,
        )


# -- encrypted volumes -------------------------------------------------------------------------


def _volumes(launch: Launch) -> tuple[list[tuple[str, Any]], bool]:
    """([(device, encrypted as declared)], whether a root volume is declared)."""
    kind = launch.resource.resource_type
    spec = launch.spec
    if kind == LAUNCH_TEMPLATE:
        found = []
        for mapping in get(spec, "blockDeviceMappings", default=[]):
            if get(mapping, "virtualName") or get(mapping, "noDevice") is not None:
                continue  # instance store or a suppressed device: no EBS volume
            found.append((str(get(mapping, "deviceName", default="?")), get(mapping, "ebs", "encrypted")))
        # A template cannot tell which device is the AMI's root: any mapping counts.
        return found, bool(found)
    roots = get(spec, "rootBlockDevices", default=None) if kind == SPOT_FLEET else None
    root = roots[0] if roots else get(spec, "rootBlockDevice")
    found = [("root", get(root, "encrypted"))] if root is not None else []
    for device in get(spec, "ebsBlockDevices", default=[]):
        found.append((str(get(device, "deviceName", default="?")), get(device, "encrypted")))
    return found, root is not None


@stack_policy(
    "aws-ec2-instance-encrypted-volumes",
    "Every EBS volume an EC2 instance of the stack boots with (root and data, from an instance, "
    "spot request, launch template, launch configuration or spot fleet) is encrypted; unset means not.",
)
def instance_encrypted_volumes(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    for launch in _launches(args):
        volumes, has_root = _volumes(launch)
        fix = 'ebs.encrypted "true"' if launch.resource.resource_type == LAUNCH_TEMPLATE else "encrypted true"
        for device, encrypted in volumes:
            if not flag(encrypted, default=False):
                state = "not encrypted" if encrypted is not None else "not encrypted (encrypted is unset: false)"
                report(f"{launch.title}: volume {device} is {state}; set {fix} (with a KMS key).", launch.resource.urn)
        if not has_root and not (launch.templates or _names_template(launch.resource)):
            where = (
                "a blockDeviceMappings entry for the root device"
                if launch.resource.resource_type == LAUNCH_TEMPLATE
                else "rootBlockDevice"
            )
            report(
                f"{launch.title} declares no root volume, so instances boot the AMI's snapshot as it is (unencrypted "
                f"for AWS's public AMIs); declare {where} with {fix}.",
                launch.resource.urn,
            )


@resource_policy(
    "aws-ebs-volume-encrypted",
    "EBS volumes are encrypted (the provider leaves it to the account default, off unless turned on).",
    [EBS_VOLUME],
)
def ebs_volume_encrypted(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    encrypted = get(args.props, "encrypted")
    if not flag(encrypted, default=False):
        state = "encrypted false" if encrypted is not None else "no encrypted setting (the account default: off)"
        report(f"{args.name} has {state}; set encrypted to true with a kmsKeyId.")


# -- no public IP ------------------------------------------------------------------------------


def _subnets(args: StackValidationArgs, resource: PolicyResource) -> tuple[list[PolicyResource], bool]:
    """(the stack's subnets ``resource`` launches into, whether it names any it does not declare)."""
    found = declared_from(resource, SUBNET_KEYS, SUBNET, DEFAULT_SUBNET)
    if found:
        return found, False
    literal = [get(resource.props, k) for k in ("subnetId", "subnetIds", "vpcZoneIdentifiers")]
    return [], any(v for v in literal)


def _maps_public(subnet: PolicyResource) -> bool:
    return flag(get(subnet.props, "mapPublicIpOnLaunch"), default=subnet.resource_type == DEFAULT_SUBNET)


CONSUMERS = (ASG, EKS_NODE_GROUP, EC2_FLEET, SPOT_FLEET, *SINGLE)


def _template_users(args: StackValidationArgs) -> dict[str, list[PolicyResource]]:
    """Launch template URN -> what launches instances from it (by dependency, else by name)."""
    templates = of_type(args, LAUNCH_TEMPLATE)
    users: dict[str, list[PolicyResource]] = {t.urn: [] for t in templates}
    for consumer in of_type(args, *CONSUMERS):
        named = declared_from(consumer, TEMPLATE_KEYS, LAUNCH_TEMPLATE)
        if not named and not any(k in consumer.property_dependencies for k in TEMPLATE_KEYS):
            reference = {k: get(consumer.props, k) for k in TEMPLATE_KEYS}
            named = [t for t in templates if literal_in(reference, t, "name")]
        for template in named:
            users.setdefault(template.urn, []).append(consumer)
    return users


def _public_subnet_names(args: StackValidationArgs, users: list[PolicyResource]) -> tuple[list[str], bool]:
    public: list[str] = []
    unseen = False
    for user in users:
        subnets, elsewhere = _subnets(args, user)
        public += [s.name for s in subnets if _maps_public(s) and s.name not in public]
        unseen = unseen or elsewhere
    return public, unseen


@stack_policy(
    "aws-ec2-instance-no-public-ip",
    "No EC2 instance of the stack gets a public IP address: none is asked for, and none comes from a "
    "subnet that maps public IPs on launch (or from the default VPC) when nothing says otherwise.",
)
def instance_no_public_ip(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    users = _template_users(args)
    for launch in _launches(args):
        resource = launch.resource
        kind = resource.resource_type
        if kind == LAUNCH_TEMPLATE:
            interfaces = get(launch.spec, "networkInterfaces", default=[])
            asked = [i for i in interfaces if flag(get(i, "associatePublicIpAddress"), default=False)]
            if asked:
                report(
                    f'{launch.title} gives instances public IPs; set networkInterfaces[].associatePublicIpAddress to "false".',
                    resource.urn,
                )
                continue
            if interfaces and all(get(i, "associatePublicIpAddress") is not None for i in interfaces):
                continue  # every interface says "false": the subnet's default does not apply
            public, _ = _public_subnet_names(args, users.get(resource.urn, []))
            if public:
                report(
                    f"{launch.title} leaves the public IP to the subnet, and instances launch from it into "
                    f"{', '.join(sorted(public))}, which map public IPs on launch; set a network interface with "
                    'associatePublicIpAddress "false", or launch into private subnets.',
                    resource.urn,
                )
            continue
        ask = get(launch.spec, "associatePublicIpAddress")
        if flag(ask, default=False):
            report(f"{launch.title} asks for a public IP; set associatePublicIpAddress to false.", resource.urn)
            continue
        if ask is not None:
            continue  # explicitly false: the subnet's default does not apply
        if kind == LAUNCH_CONFIGURATION:
            groups = declared_by(resource, ("launchConfiguration",), args, ASG)
            public, _ = _public_subnet_names(args, groups)
        elif kind == SPOT_FLEET:
            subnet_deps = declared_from(resource, ("launchSpecifications",), SUBNET, DEFAULT_SUBNET)
            public = [s.name for s in subnet_deps if _maps_public(s)]
        else:
            if launch.templates and get(launch.spec, "subnetId") is None:
                continue  # the template's network interfaces decide; it is judged itself
            subnets, elsewhere = _subnets(args, resource)
            if not subnets and not elsewhere and not get(launch.spec, "networkInterfaces"):
                report(
                    f"{launch.title} names no subnet, so it launches into the default VPC's default subnet, which "
                    "maps public IPs; set subnetId to a private subnet and associatePublicIpAddress to false.",
                    resource.urn,
                )
                continue
            public = [s.name for s in subnets if _maps_public(s)]
        if public:
            report(
                f"{launch.title} leaves the public IP to its subnet, and {', '.join(sorted(public))} map(s) public IPs "
                "on launch; set associatePublicIpAddress to false, or launch into a private subnet.",
                resource.urn,
            )
