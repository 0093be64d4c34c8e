"""AlicloudOnCall: CloudMonitor contacts per on-call role, and event rules that page them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_alicloud as ali

from components.alicloud import names
from components.monitoring import oncall

TYPE = "courier:alicloud:OnCall"


@dataclass(frozen=True)
class Contact:
    #: email | sms | https
    protocol: str
    endpoint: pulumi.Input[str]


@dataclass(frozen=True)
class AlicloudOnCallArgs:
    #: Role -> who is reached (the stack config's alerting receivers).
    contacts: Mapping[str, Sequence[Contact]]
    #: Start of every name (components.alicloud.names.prefix: stack and region code). Contacts,
    #: contact groups and event rules are account-wide and created-or-overwritten by name, so
    #: without it two stacks would share, rewire and delete each other's.
    name_prefix: str
    tags: Mapping[str, str] = field(default_factory=dict)


# CloudMonitor notification levels: 3 = SMS and email, 4 = email.
_LEVEL = {"critical": "3", "warning": "4"}


class AlicloudOnCall(pulumi.ComponentResource):
    """A contact group per on-call role (contacts reached by email or SMS, HTTPS endpoints as
    webhooks), and CloudMonitor event rules for Auto Scaling events routed like every other
    alert: critical events (a scale-out rejected at the maximum) to the incident commander,
    the technical expert and the customer-service lead; warnings (scale-outs failing) to the
    operations coordinator."""

    def __init__(self, name: str, args: AlicloudOnCallArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix
        groups: dict[str, ali.cms.AlarmContactGroup] = {}
        webhooks: dict[str, list[pulumi.Input[str]]] = {}
        for role in oncall.ROLES:
            members: list[pulumi.Input[str]] = []
            for index, contact in enumerate(args.contacts.get(role, ())):
                if contact.protocol == "https":
                    webhooks.setdefault(role, []).append(contact.endpoint)
                    continue
                person = ali.cms.AlarmContact(
                    f"{name}-{role}-{index}",
                    alarm_contact_name=names.cms_contact(prefix, role, index),
                    describe=f"courier {role}",
                    channels_mail=contact.endpoint if contact.protocol == "email" else None,
                    channels_sms=contact.endpoint if contact.protocol == "sms" else None,
                    opts=child,
                )
                members.append(person.alarm_contact_name)
            groups[role] = ali.cms.AlarmContactGroup(
                f"{name}-{role}",
                alarm_contact_group_name=f"{prefix}-{role}",
                describe=f"courier on-call role {role}",
                contacts=members,
                opts=child,
            )

        critical = oncall.roles_for("critical", "capacity", True)
        self._event_rule(name, prefix, "critical", "CRITICAL", critical, groups, webhooks)
        self._event_rule(name, prefix, "warning", "WARN", oncall.roles_for("warning", "capacity"), groups, webhooks)
        self.contact_group_names = {role: g.alarm_contact_group_name for role, g in groups.items()}
        self.register_outputs({"contactGroupNames": self.contact_group_names})

    def _event_rule(
        self,
        name: str,
        prefix: str,
        severity: str,
        level: str,
        roles: Sequence[str],
        groups: Mapping[str, ali.cms.AlarmContactGroup],
        webhooks: Mapping[str, Sequence[pulumi.Input[str]]],
    ) -> None:
        ali.cms.EventRule(
            f"{name}-ess-{severity}",
            rule_name=f"{prefix}-ess-{severity}",
            description=f"Auto Scaling {level} events -> {', '.join(roles)}",
            event_pattern=ali.cms.EventRuleEventPatternArgs(product="ESS", event_type_lists=["*"], level_lists=[level]),
            contact_parameters=[
                ali.cms.EventRuleContactParameterArgs(
                    contact_group_name=groups[role].alarm_contact_group_name,
                    contact_parameters_id=str(index + 1),
                    level=_LEVEL[severity],
                )
                for index, role in enumerate(roles)
            ],
            webhook_parameters=[
                ali.cms.EventRuleWebhookParameterArgs(
                    webhook_parameters_id=str(index + 1), protocol="http", method="POST", url=url
                )
                for index, url in enumerate(url for role in roles for url in webhooks.get(role, ()))
            ]
            or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
