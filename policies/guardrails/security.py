"""Security: IMDSv2, encrypted disks, no public instances, nothing open to the world but the
load balancers' 80/443, hardened load balancer listeners with access logs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs

from guardrails.common import (
    ALB,
    ALI_ALB,
    ALI_LISTENER,
    ALI_RULE,
    ALI_SG_ATTACHMENT,
    ALI_SG_RULE,
    ESS_CONFIG,
    INGRESS_RULE,
    LAUNCH_TEMPLATE,
    LISTENER,
    SECURITY_GROUP,
    Report,
    Setting,
    depends_on,
    get,
    num,
    of_type,
    resource_policy,
    setting,
    stack_policy,
)

OPEN = ("0.0.0.0/0", "::/0")
PUBLIC_PORTS = {80, 443}

TLS_POLICIES = Setting(
    "allowedPolicies",
    {
        "type": "array",
        "items": {"type": "string"},
        "default": [
            "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
            "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "ELBSecurityPolicy-TLS13-1-3-2021-06",
            "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
            "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
        ],
        "description": "Listener security policies that allow only TLS 1.2 with forward secrecy and TLS 1.3.",
    },
)
ALI_TLS_POLICIES = Setting(
    "allowedPolicies",
    {
        "type": "array",
        "items": {"type": "string"},
        "default": ["tls_cipher_policy_1_2_strict_with_1_3", "tls_cipher_policy_1_2_strict"],
        "description": "Alibaba Cloud ALB TLS policies allowed on HTTPS listeners.",
    },
)


@resource_policy(
    "aws-launch-template-imdsv2",
    "Launch templates require IMDSv2 tokens with a hop limit of 1.",
    [LAUNCH_TEMPLATE],
)
def imdsv2(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    options = get(args.props, "metadataOptions", default={})
    if get(options, "httpTokens") != "required":
        report(f'{args.name} allows IMDSv1; set metadataOptions.httpTokens to "required".')
    if get(options, "httpPutResponseHopLimit", default=1) > 1:
        report(
            f"{args.name} lets containers reach instance metadata; set metadataOptions.httpPutResponseHopLimit to 1."
        )


@resource_policy(
    "aws-launch-template-encrypted-volumes",
    "Every EBS volume of a launch template is encrypted.",
    [LAUNCH_TEMPLATE],
)
def encrypted_volumes(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    for device in get(args.props, "blockDeviceMappings", default=[]):
        ebs = get(device, "ebs", default={})
        if ebs and str(get(ebs, "encrypted", default="false")).lower() != "true":
            report(f'{args.name}: volume {get(device, "deviceName")} is not encrypted; set ebs.encrypted to "true".')


@resource_policy(
    "aws-launch-template-no-public-ip",
    "Fleet instances get no public IP address (they leave through NAT).",
    [LAUNCH_TEMPLATE],
)
def no_public_ip(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    for interface in get(args.props, "networkInterfaces", default=[]):
        if str(get(interface, "associatePublicIpAddress", default="false")).lower() == "true":
            report(f'{args.name} gives instances public IPs; set associatePublicIpAddress to "false".')


@resource_policy(
    "alicloud-ess-configuration-encrypted-disk",
    "ESS scaling configurations encrypt the system disk.",
    [ESS_CONFIG],
)
def ess_encrypted(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if not get(args.props, "systemDiskEncrypted", default=False):
        report(f"{args.name} leaves the system disk unencrypted; set systemDiskEncrypted to true.")


@resource_policy(
    "alicloud-ess-configuration-no-public-ip",
    "ESS instances get no public bandwidth (they leave through NAT).",
    [ESS_CONFIG],
)
def ess_no_public_ip(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if get(args.props, "internetMaxBandwidthOut", default=0) > 0:
        report(f"{args.name} gives instances public IPs; set internetMaxBandwidthOut to 0.")


def _ports(rule: Mapping[str, Any]) -> set[int]:
    low, high = get(rule, "fromPort", default=0), get(rule, "toPort", default=65535)
    if get(rule, "ipProtocol") in ("-1", "all") or high - low > 1000:
        return set(range(0, 65536))
    return set(range(int(low), int(high) + 1))


def _port_text(low: Any, high: Any, protocol: Any) -> str:
    if protocol in ("-1", "all") or low is None or int(low) < 0:
        return "every port"
    return f"port {num(low)}" if low == high else f"ports {num(low)}-{num(high)}"


def _load_balancer_groups(args: StackValidationArgs) -> set[str]:
    groups = set()
    for balancer in of_type(args, ALB):
        groups.update(d.urn for d in balancer.property_dependencies.get("securityGroups", []))
    return groups


@stack_policy(
    "aws-security-group-no-open-ingress",
    "Nothing is open to 0.0.0.0/0 or ::/0 except a load balancer's security group on 80 and 443.",
)
def aws_open_ingress(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    balancer_groups = _load_balancer_groups(args)
    for rule in of_type(args, INGRESS_RULE):
        if get(rule.props, "cidrIpv4") not in OPEN and get(rule.props, "cidrIpv6") not in OPEN:
            continue
        group = next((d.urn for d in rule.property_dependencies.get("securityGroupId", [])), "")
        if group not in balancer_groups or not _ports(rule.props) <= PUBLIC_PORTS:
            report(
                f"{rule.name} opens "
                f"{_port_text(get(rule.props, 'fromPort'), get(rule.props, 'toPort'), get(rule.props, 'ipProtocol'))} "
                "to the internet; only a load balancer may take 80/443 from anywhere. Allow a named network "
                "(cidrIpv4 of the office or VPN), reference the load balancer's security group "
                "(referencedSecurityGroupId), or reach instances through SSM Session Manager.",
                rule.urn,
            )
    for group in of_type(args, SECURITY_GROUP):
        for rule in get(group.props, "ingress", default=[]):
            cidrs = list(get(rule, "cidrBlocks", default=[])) + list(get(rule, "ipv6CidrBlocks", default=[]))
            if any(c in OPEN for c in cidrs) and (group.urn not in balancer_groups or not _ports(rule) <= PUBLIC_PORTS):
                report(f"{group.name} has an inline rule open to the internet; remove it.", group.urn)


@stack_policy(
    "alicloud-security-group-no-open-ingress",
    "Nothing is open to 0.0.0.0/0 except an Alibaba Cloud load balancer's security group on 80 and 443.",
)
def ali_open_ingress(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    balancer_groups = {
        d.urn for a in of_type(args, ALI_SG_ATTACHMENT) for d in a.property_dependencies.get("securityGroupId", [])
    }
    for rule in of_type(args, ALI_SG_RULE):
        if get(rule.props, "type") != "ingress" or get(rule.props, "cidrIp") not in OPEN:
            continue
        low, _, high = str(get(rule.props, "portRange", default="-1/-1")).partition("/")
        ports = (
            set(range(int(low), int(high) + 1)) if low.lstrip("-").isdigit() and int(low) >= 0 else set(range(65536))
        )
        group = next((d.urn for d in rule.property_dependencies.get("securityGroupId", [])), "")
        if group not in balancer_groups or not ports <= PUBLIC_PORTS:
            report(
                f"{rule.name} opens {get(rule.props, 'portRange')} to the internet; only the ALB may take 80/443 from "
                "anywhere. Allow a named network (cidrIp of the office or VPN), reference the ALB's security group "
                "(sourceSecurityGroupId), or reach instances through Cloud Assistant.",
                rule.urn,
            )


@resource_policy(
    "aws-alb-drop-invalid-headers",
    "Application load balancers drop invalid HTTP header fields (request smuggling).",
    [ALB],
)
def drop_headers(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if get(args.props, "loadBalancerType", default="application") == "application" and not get(
        args.props, "dropInvalidHeaderFields", default=False
    ):
        report(f"{args.name} forwards invalid headers; set dropInvalidHeaderFields to true.")


@resource_policy(
    "aws-alb-access-logs",
    "Load balancers write access logs.",
    [ALB],
)
def access_logs(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    logs = get(args.props, "accessLogs", default={})
    if not get(logs, "enabled", default=False) or not get(logs, "bucket"):
        report(f"{args.name} keeps no access logs; set accessLogs with an encrypted bucket and enabled: true.")


@resource_policy(
    "alicloud-alb-access-logs",
    "Alibaba Cloud load balancers write access logs to Log Service.",
    [ALI_ALB],
)
def ali_access_logs(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    logs = get(args.props, "accessLogConfig", default={})
    if not get(logs, "logProject") or not get(logs, "logStore"):
        report(f"{args.name} keeps no access logs; set accessLogConfig with a Log Service project and store.")


@resource_policy(
    "aws-alb-listener-modern-tls",
    "HTTPS listeners use a TLS 1.3 security policy; plain HTTP listeners only redirect to HTTPS.",
    [LISTENER],
    TLS_POLICIES,
)
def listener_tls(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    protocol = get(args.props, "protocol")
    if protocol == "HTTPS":
        policy = get(args.props, "sslPolicy")
        if policy not in setting(config, TLS_POLICIES):
            report(f"{args.name} uses TLS policy {policy!r}; use ELBSecurityPolicy-TLS13-1-2-Res-2021-06 or newer.")
    elif protocol == "HTTP":
        actions = get(args.props, "defaultActions", default=[])
        redirects = [a for a in actions if get(a, "type") == "redirect" and get(a, "redirect", "protocol") == "HTTPS"]
        if not redirects:
            report(f"{args.name} serves plain HTTP; make its default action a redirect to HTTPS (HTTP_301).")


@resource_policy(
    "alicloud-alb-listener-modern-tls",
    "Alibaba Cloud HTTPS listeners use a TLS 1.2+ policy with strong ciphers.",
    [ALI_LISTENER],
    ALI_TLS_POLICIES,
)
def ali_listener_tls(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if get(args.props, "listenerProtocol") == "HTTPS" and get(args.props, "securityPolicyId") not in setting(
        config, ALI_TLS_POLICIES
    ):
        report(
            f"{args.name} uses TLS policy {get(args.props, 'securityPolicyId')!r}; use tls_cipher_policy_1_2_strict_with_1_3."
        )


@stack_policy(
    "alicloud-alb-listener-http-redirect",
    "Alibaba Cloud HTTP listeners redirect every request to HTTPS.",
)
def ali_http_redirect(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    rules = of_type(args, ALI_RULE)
    for listener in of_type(args, ALI_LISTENER):
        if get(listener.props, "listenerProtocol") != "HTTP":
            continue
        if not any(_redirects_everything(rule, listener) for rule in rules):
            report(f"{listener.name} serves plain HTTP; add a rule on /* that redirects to HTTPS.", listener.urn)


def _redirects_everything(rule: PolicyResource, listener: PolicyResource) -> bool:
    if not depends_on(rule, listener, "listenerId"):
        return False
    paths = [
        v for c in get(rule.props, "ruleConditions", default=[]) for v in get(c, "pathConfig", "values", default=[])
    ]
    actions = get(rule.props, "ruleActions", default=[])
    return "/*" in paths and any(
        get(a, "type") == "Redirect" and get(a, "redirectConfig", "protocol") == "HTTPS" for a in actions
    )
