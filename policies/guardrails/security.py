"""Security: encrypted disks and no public instances on Alibaba Cloud, nothing open to the internet
but the load balancers' 80/443, hardened load balancer listeners with access logs. (EC2 instances'
IMDSv2, encrypted volumes and public IPs, whichever type declares them, are guardrails/compute.py.)

Each rule is stated over the cloud object (guardrails/objects.py): every resource type that
declares it (``aws:alb/*`` beside ``aws:lb/*``; inline ingress, SecurityGroupRule and
SecurityGroupIngressRule), with the provider's defaults applied (a listener with no protocol is
HTTP; a launch template that says nothing about public IPs takes its subnets'), and open means
the public address space a group admits (guardrails/addresses.py), however it is spelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs

from guardrails.common import (
    ALI_ALB,
    ALI_LISTENER,
    ALI_RULE,
    ESS_CONFIG,
    Report,
    Setting,
    depends_on,
    get,
    of_type,
    resource_policy,
    setting,
    stack_policy,
)
from guardrails.objects import (
    LOAD_BALANCERS,
    Opening,
    Permission,
    index,
)

#: The only ports anyone on the internet may reach: a load balancer's HTTP (to redirect) and HTTPS.
PUBLIC_PORTS = {80, 443}
#: pulumi_aws.lb.Listener ssl_policy: "Required if `protocol` is `HTTPS` or `TLS`. Default is
#: `ELBSecurityPolicy-2016-08`" (TLS 1.0 and 1.1 included).
DEFAULT_SSL_POLICY = "ELBSecurityPolicy-2016-08"
#: Alibaba Cloud ALB CreateListener, SecurityPolicyId: an HTTPS listener without one gets the
#: system policy `tls_cipher_policy_1_0` (TLS 1.0 and later).
ALI_DEFAULT_TLS_POLICY = "tls_cipher_policy_1_0"

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


def _encrypted(value: Any) -> bool:
    return str(value).lower() == "true"


@resource_policy(
    "alicloud-ess-configuration-encrypted-disk",
    "ESS scaling configurations encrypt the system disk and every data disk.",
    [ESS_CONFIG],
)
def ess_encrypted(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    # Left out, system_disk_encrypted and data_disks[].encrypted are false: ESS
    # CreateScalingConfiguration SystemDisk.Encrypted / DataDisks.N.Encrypted default to false.
    if not get(args.props, "systemDiskEncrypted", default=False):
        report(f"{args.name} leaves the system disk unencrypted; set systemDiskEncrypted to true.")
    for position, disk in enumerate(get(args.props, "dataDisks", default=[]) or []):
        if not _encrypted(get(disk, "encrypted", default=False)):
            report(f"{args.name}: data disk {position} is not encrypted; set dataDisks[{position}].encrypted to true.")


@resource_policy(
    "alicloud-ess-configuration-no-public-ip",
    "ESS instances get no public bandwidth (they leave through NAT).",
    [ESS_CONFIG],
)
def ess_no_public_ip(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    # internet_max_bandwidth_out defaults to 0: no public IP.
    if get(args.props, "internetMaxBandwidthOut", default=0) > 0:
        report(f"{args.name} gives instances public IPs; set internetMaxBandwidthOut to 0.")


def _allowed(opening: Opening, balancer_groups: set[str]) -> bool:
    """Only an internet-facing load balancer's group may take TCP 80 and 443 from the internet."""
    return (
        opening.group in balancer_groups
        and opening.protocol == "tcp"
        and set(range(opening.low, opening.high + 1)) <= PUBLIC_PORTS
    )


def _report_openings(args: StackValidationArgs, report: Report, cloud: str, fix: str) -> None:
    stack = index(args)
    balancer_groups = stack.balancer_groups(cloud)
    said: dict[str, list[str]] = {}
    sources: dict[str, Permission] = {}
    for opening in stack.openings(cloud):
        if _allowed(opening, balancer_groups):
            continue
        for permission in opening.permissions:
            others = sorted({p.source.name for p in opening.permissions} - {permission.source.name})
            together = f", together with {', '.join(others)}" if others else ""
            said.setdefault(permission.source.urn, []).append(
                f"{opening.exposure.describe} on {opening.ports} of security group {opening.group_name}{together}"
            )
            sources[permission.source.urn] = permission
    for urn, details in said.items():
        permission = sources[urn]
        report(
            f"{permission.source.name} opens {permission.ports} to the internet ({'; '.join(dict.fromkeys(details))}); "
            f"only a load balancer's security group may take TCP 80/443 from anywhere. {fix}",
            urn,
        )


@stack_policy(
    "aws-security-group-no-open-ingress",
    "Nothing is open to the internet (any CIDRs that together cover a /8's worth of public IPv4 or a /32's "
    "worth of IPv6, however the rules declare them) except an internet-facing load balancer's security group "
    "on TCP 80 and 443.",
)
def aws_open_ingress(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    _report_openings(
        args,
        report,
        "aws",
        "Allow a named network (cidrIpv4 of the office or VPN), reference the load balancer's security group "
        "(referencedSecurityGroupId), or reach instances through SSM Session Manager.",
    )


@stack_policy(
    "alicloud-security-group-no-open-ingress",
    "Nothing is open to the internet (IPv4 or IPv6, judged by the address space the rules cover together) "
    "except an Alibaba Cloud load balancer's security group on TCP 80 and 443.",
)
def ali_open_ingress(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    _report_openings(
        args,
        report,
        "alicloud",
        "Allow a named network (cidrIp of the office or VPN), reference the ALB's security group "
        "(sourceSecurityGroupId), or reach instances through Cloud Assistant.",
    )


def _application(args: ResourceValidationArgs) -> bool:
    # load_balancer_type: "The default value is `application`" (pulumi_aws.lb.LoadBalancer).
    return str(get(args.props, "loadBalancerType", default="application")) == "application"


@resource_policy(
    "aws-alb-drop-invalid-headers",
    "Application load balancers drop invalid HTTP header fields (request smuggling).",
    LOAD_BALANCERS,
)
def drop_headers(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    # drop_invalid_header_fields: "The default is false."
    if _application(args) and not get(args.props, "dropInvalidHeaderFields", default=False):
        report(f"{args.name} forwards invalid headers; set dropInvalidHeaderFields to true.")


@resource_policy(
    "aws-alb-access-logs",
    "Load balancers write access logs.",
    LOAD_BALANCERS,
)
def access_logs(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    # access_logs.enabled: "Defaults to `false`, even when `bucket` is specified."
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


def _redirects_to_https(actions: Any) -> bool:
    # redirect.protocol defaults to "#{protocol}", the request's own: plain HTTP stays plain
    # (terraform-provider-aws internal/service/elbv2/listener.go, redirect schema).
    return bool(actions) and all(
        get(a, "type") == "redirect" and get(a, "redirect", "protocol") == "HTTPS" for a in actions
    )


@stack_policy(
    "aws-alb-listener-modern-tls",
    "HTTPS and TLS listeners use a TLS 1.3 security policy; plain HTTP listeners (HTTP is the default protocol "
    "of an application load balancer's listener) only redirect to HTTPS, by default action and by every rule.",
    TLS_POLICIES,
)
def listener_tls(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    allowed = setting(config, TLS_POLICIES)
    for listener in index(args).listeners():
        resource = listener.resource
        if listener.protocol in ("HTTPS", "TLS"):
            policy = get(resource.props, "sslPolicy")
            if policy not in allowed:
                shown = repr(policy) if policy else f"{DEFAULT_SSL_POLICY!r} (the default)"
                report(
                    f"{resource.name} uses TLS policy {shown}; set sslPolicy to "
                    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06 or newer.",
                    resource.urn,
                )
        elif listener.protocol == "HTTP":
            spelled = "declares no protocol, so it is HTTP, and " if listener.defaulted else ""
            if not _redirects_to_https(get(resource.props, "defaultActions", default=[])):
                report(
                    f"{resource.name} {spelled}serves plain HTTP; make its default action a redirect to HTTPS "
                    '(type "redirect", redirect.protocol "HTTPS", HTTP_301), or set protocol "HTTPS".',
                    resource.urn,
                )
            for rule in listener.rules:
                if not _redirects_to_https(get(rule.props, "actions", default=[])):
                    report(
                        f"{rule.name} serves plain HTTP on {resource.name}; an HTTP listener only redirects: "
                        "move the rule to the HTTPS listener or make its action a redirect to HTTPS.",
                        rule.urn,
                    )


@resource_policy(
    "alicloud-alb-listener-modern-tls",
    "Alibaba Cloud HTTPS listeners use a TLS 1.2+ policy with strong ciphers.",
    [ALI_LISTENER],
    ALI_TLS_POLICIES,
)
def ali_listener_tls(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    policy = get(args.props, "securityPolicyId")
    if get(args.props, "listenerProtocol") == "HTTPS" and policy not in setting(config, ALI_TLS_POLICIES):
        shown = repr(policy) if policy else f"{ALI_DEFAULT_TLS_POLICY!r} (the default)"
        report(f"{args.name} uses TLS policy {shown}; set securityPolicyId to tls_cipher_policy_1_2_strict_with_1_3.")


@stack_policy(
    "alicloud-alb-listener-http-redirect",
    "Alibaba Cloud HTTP listeners redirect every request to HTTPS, and no rule of theirs serves it.",
)
def ali_http_redirect(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    rules = of_type(args, ALI_RULE)
    for listener in of_type(args, ALI_LISTENER):
        if get(listener.props, "listenerProtocol") != "HTTP":
            continue
        mine = [rule for rule in rules if depends_on(rule, listener, "listenerId")]
        if not any(_redirects_everything(rule) for rule in mine):
            report(f"{listener.name} serves plain HTTP; add a rule on /* that redirects to HTTPS.", listener.urn)
        for rule in mine:
            if get(rule.props, "direction", default="Request") == "Request" and not _ali_redirects(rule):
                report(
                    f"{rule.name} serves plain HTTP on {listener.name}; an HTTP listener only redirects: move the "
                    "rule to the HTTPS listener or make its action a Redirect to HTTPS.",
                    rule.urn,
                )


def _ali_redirects(rule: PolicyResource) -> bool:
    actions = get(rule.props, "ruleActions", default=[])
    return bool(actions) and all(
        get(a, "type") == "Redirect" and get(a, "redirectConfig", "protocol") == "HTTPS" for a in actions
    )


def _redirects_everything(rule: PolicyResource) -> bool:
    paths = [
        v for c in get(rule.props, "ruleConditions", default=[]) for v in get(c, "pathConfig", "values", default=[])
    ]
    return "/*" in paths and _ali_redirects(rule)
