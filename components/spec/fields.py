"""Names, constants and field validators of the stack config (messages in the house style:
"must ... (got ...)")."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

NAMESPACE = "courier"

Environment = Literal["dev", "staging", "prod"]
Role = Literal["primary", "secondary", "standby"]
Platform = Literal["vm", "kubernetes"]
NatGateways = Literal["perZone", "single"]

_CLOUD_NAMES = {"aws": "an AWS", "alicloud": "an Alibaba Cloud"}

# Keys whose value is a list or mapping: Pulumi hands them to the program as JSON text.
_STRUCTURED_KEYS = ("regions", "services", "promotions", "alerting")

#: What a secret looks like to a reader that cannot decrypt it (the offline plan). Format
#: checks are skipped for it; everything else about the config is still validated.
SECRET_PLACEHOLDER = "[secret]"

#: On-call roles of the incident command structure, plus the dead man's switch receiver.
ONCALL_ROLES = ("incident-commander", "tech-expert", "ops-coordinator", "customer-service-lead", "data-analyst")
DEADMANS_SWITCH = "deadmans-switch"
RECEIVERS = (*ONCALL_ROLES, DEADMANS_SWITCH)


# --------------------------------------------------------------------------------------
# Field validators with messages in the house style ("must ... (got ...)").
# --------------------------------------------------------------------------------------


def _between(low: float, high: float) -> AfterValidator:
    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"must be between {_num(low)} and {_num(high)} (got {_num(value)})")
        return value

    return AfterValidator(check)


def _matching(pattern: str, allowed: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {allowed} (got {value!r})")
        return value

    return AfterValidator(check)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"must be an ISO 8601 date-time with a UTC offset, e.g. 2026-11-11T00:00:00+08:00 "
            f"(got {value.isoformat()!r})"
        )
    return value


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


_SERVICE_NAME = _matching(r"[a-z][a-z0-9-]{0,14}[a-z0-9]", "a lowercase DNS label of 2 to 16 characters")
_DNS_NAME = _matching(
    r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    "a lowercase DNS name such as courier.example.com",
)
_PATH = _matching(r"/[A-Za-z0-9._~/-]*", "an absolute URL path such as /healthz")
_AWS_INSTANCE_TYPE = _matching(r"[a-z][a-z0-9-]*\.[a-z0-9]+", "an EC2 instance type such as c6i.large")
_ALI_INSTANCE_TYPE = _matching(r"ecs\.[a-z0-9-]+\.[a-z0-9]+", "an Alibaba Cloud instance type such as ecs.c7.large")
_IMAGE = _matching(
    r"/[A-Za-z0-9_./-]+",
    "an SSM parameter path such as /courier/images/orders (an AMI ID differs per region, so "
    "fleets look their image up in each region)",
)
_HTTPS_URL = _matching(r"https://[^\s/$.?#][^\s]*", "an https:// URL")
_PROMOTION_NAME = _matching(r"[a-z0-9][a-z0-9-]{0,39}", "a lowercase name of letters, digits and -")


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
    )


def _architecture(instance_type: str) -> str:
    family = instance_type.split(".", 1)[0]
    return "arm64" if re.fullmatch(r"a1|[a-z]+\d+g[a-z-]*", family) else "x86_64"
