"""Physical names of Alibaba Cloud resources: distinct per stack, and within each API's limits.

Several Alibaba Cloud names are unique per account, or per account and region, so two stacks
(dev, staging, prod) in one account must never produce the same name:

- Auto Scaling: scaling group, scaling configuration, scaling rule and scheduled task names are
  "unique within a region" for the account (ESS API reference: CreateScalingGroup,
  CreateScalingConfiguration, CreateScalingRule, CreateScheduledTask).
- CloudMonitor: contacts, contact groups and event rules are account-wide and their name *is*
  their ID; PutContact, PutContactGroup and PutEventRule create **or overwrite** by name, so a
  collision silently rewires another stack's paging, and destroying one stack deletes the
  other's (terraform-provider-alicloud: resource_alicloud_cms_alarm_contact.go,
  resource_alicloud_cms_alarm_contact_group.go, resource_alicloud_cms_event_rule.go set the
  resource ID to the name).

Names that need not be unique (VPC, vSwitch, NAT gateway, EIP, route table, security group, ALB
server group and rule) carry the same prefix so the console tells the stacks apart.

Every name starts with :func:`prefix`, e.g. ``prod_cnhz``: the stack, an underscore, the region
code. The prefix has no ``-``: tooling that reads an ESS task name as
``<prefix>-<service>-<promotion>-<prewarm|restore>`` splits it on the first two dashes.
"""

from __future__ import annotations

import hashlib
import re

#: Stack names that appear verbatim: short, lowercase, starting with a letter (prod, staging).
_PLAIN_STACK = re.compile(r"[a-z][a-z0-9]{0,9}")

#: Longest stack token: with a 5-character region code the prefix is at most 16 characters.
STACK_TOKEN_MAX = 10

#: Name lengths the APIs accept (the strictest documented value where sources differ).
#: ESS names: 2-64 (ESS API reference 2022-02-22, CreateScalingGroup, CreateScalingRule,
#: CreateScheduledTask, CreateScalingConfiguration). CloudMonitor contacts: 2-40 (PutContact as
#: documented for ALIYUN::CMS::Contact, and the provider's alarm_contact_name docs).
ESS_NAME_MAX = 64
CMS_CONTACT_NAME_MAX = 40


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def stack_token(stack: str) -> str:
    """The stack as it appears in names.

    A short lowercase stack name (``prod``, ``staging``, ``dev``) appears as it is. Any other
    Pulumi stack name (up to 100 letters, digits, ``-``, ``_`` and ``.``, any case) becomes its
    first four lowercase letters and digits plus six hex digits of its SHA-256, so the token is
    at most 10 characters, starts with a letter, has no ``-`` and differs between stacks whose
    names differ (``Prod`` and ``prod`` included).
    """
    if _PLAIN_STACK.fullmatch(stack):
        return stack
    readable = re.sub(r"[^a-z0-9]", "", stack.lower())[:4]
    if not readable[:1].isalpha():
        readable = f"s{readable}"[:4]
    return f"{readable}{_digest(stack, 6)}"


def prefix(stack: str, region_code: str) -> str:
    """The start of every Alibaba Cloud name of ``stack`` in one region, e.g. ``prod_cnhz``."""
    return f"{stack_token(stack)}_{region_code}"


def fit(name: str, limit: int, keep: str = "") -> str:
    """``name`` if it fits in ``limit`` characters, else a deterministic shorter form.

    The shorter form keeps the start of ``name`` (stack, region, service), then ``.`` and eight
    hex digits of the SHA-256 of the whole name (so two long names stay distinct), then
    ``keep``, a suffix that must survive (``-prewarm``).
    """
    if keep and not name.endswith(keep):
        raise ValueError(f"{name!r} does not end with {keep!r}")
    if len(name) <= limit:
        return name
    tail = f".{_digest(name, 8)}{keep}"
    if len(tail) >= limit:
        raise ValueError(f"cannot fit {name!r} in {limit} characters while keeping {keep!r}")
    head = name[: len(name) - len(keep)][: limit - len(tail)].rstrip("-._")
    return f"{head}{tail}"


def cms_contact(region_prefix: str, role: str, index: int) -> str:
    """A CloudMonitor contact name: letters, digits, ``.`` and ``_`` only, starting with a letter,
    at most 40 characters (ALIYUN::CMS::Contact ContactName constraint)."""
    return fit(f"{region_prefix}_{role}_{index}".replace("-", "_"), CMS_CONTACT_NAME_MAX)
