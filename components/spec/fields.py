"""Names, constants and field validators of the stack config (messages in the house style:
"must ... (got ...)")."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

from components import catalog

NAMESPACE = "courier"

Environment = Literal["dev", "staging", "prod"]
Role = Literal["primary", "secondary", "standby"]
Platform = Literal["vm", "kubernetes"]
NatGateways = Literal["perZone", "single"]

_CLOUD_NAMES = {"aws": "an AWS", "alicloud": "an Alibaba Cloud"}

# Keys whose value is a list or mapping: Pulumi hands them to the program as JSON text.
_STRUCTURED_KEYS = ("regions", "services", "promotions", "alerting", "hostImages", "kubernetesAccess", "storm", "data")

#: What a secret looks like to a reader that cannot decrypt it (the offline plan). Format
#: checks are skipped for it; everything else about the config is still validated.
SECRET_PLACEHOLDER = "[secret]"

#: On-call roles of the incident command structure, plus the dead man's switch receiver.
ONCALL_ROLES = ("incident-commander", "tech-expert", "ops-coordinator", "customer-service-lead", "data-analyst")
DEADMANS_SWITCH = "deadmans-switch"
RECEIVERS = (*ONCALL_ROLES, DEADMANS_SWITCH)


#: The most of a bad value (or key) a message echoes; the middle of a longer one is elided,
#: so a 2 MB value cannot flood the terminal.
ECHO_LIMIT = 200


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` shortened in the middle to at most ``limit`` characters."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return f"{text[:head]}…{text[len(text) - (limit - 1 - head) :]}"


#: How near a misspelling must be to a real name for a "did you mean" (difflib's ratio).
_HINT_CUTOFF = 0.6
#: Longer values are not compared (no name is this long; a 2 MB value costs nothing to refuse).
_HINT_LONGEST = 100
#: At most this many equally near names are offered; more would only repeat the list of them all.
_HINT_CHOICES = 3


def nearest(value: str, candidates: Iterable[str]) -> list[str]:
    """The candidates nearest ``value`` by difflib's similarity (at least _HINT_CUTOFF), all
    those equally near, in the candidates' order; none when more than _HINT_CHOICES are, or all
    of them: ``ap-northeast-2z`` is as near to each zone of the region, so picking one would be
    a coin toss and listing them all would only repeat what the message lists."""
    if len(value) > _HINT_LONGEST:
        return []
    scores = {c: difflib.SequenceMatcher(None, value, c).ratio() for c in candidates if c != value}
    best = max(scores.values(), default=0.0)
    if best < _HINT_CUTOFF:
        return []
    found = [c for c, score in scores.items() if score == best]
    return found if len(found) <= _HINT_CHOICES and (len(found) == 1 or len(found) < len(scores)) else []


def closest(value: str, candidates: Iterable[str]) -> str | None:
    """The one candidate nearest ``value`` (see nearest), or None when none is near or several
    are equally near."""
    found = nearest(value, candidates)
    return found[0] if len(found) == 1 else None


def did_you_mean(value: str, candidates: Iterable[str], prefix: str = "") -> str:
    """``"; did you mean 'x'?"`` (or ``'x', 'y' or 'z'``) for the candidates nearest ``value``
    (see nearest), else ``""``. ``prefix`` is written before each (a key's namespace)."""
    return _suggest([f"{prefix}{c}" for c in nearest(value, candidates)])


def _suggest(choices: list[str]) -> str:
    if not choices:
        return ""
    quoted = [f"'{c}'" for c in choices]
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f"; did you mean {listed}?"


def shown(value: Any) -> str:
    """A received value as messages echo it: ``true``/``false``/``null`` as written in YAML
    or JSON, anything else as its repr, at most ECHO_LIMIT characters."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str) and len(value) > 2 * ECHO_LIMIT:
        # Only the ends are shown: no need for the repr of a megabyte.
        value = value[:ECHO_LIMIT] + value[-ECHO_LIMIT:]
    return clip(repr(value))


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
            raise ValueError(f"must be {allowed} (got {shown(value)})")
        return value

    return AfterValidator(check)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"must be an ISO 8601 date-time with a UTC offset, e.g. 2026-11-11T00:00:00+08:00 "
            f"(got {shown(value.isoformat())})"
        )
    return value


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


#: A service's name: it is in resource names, paths and DNS labels.
SERVICE_NAME_PATTERN = r"[a-z][a-z0-9-]{0,14}[a-z0-9]"
#: A promotion's name.
PROMOTION_NAME_PATTERN = r"[a-z0-9][a-z0-9-]{0,39}"

_SERVICE_NAME = _matching(SERVICE_NAME_PATTERN, "a lowercase DNS label of 2 to 16 characters")
_DNS_NAME = _matching(
    r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    "a lowercase DNS name such as courier.example.com",
)
_PATH = _matching(r"/[A-Za-z0-9._~/-]*", "an absolute URL path such as /healthz")
_AWS_INSTANCE_TYPE = AfterValidator(lambda value: _instance_type(value, "aws"))
_ALI_INSTANCE_TYPE = AfterValidator(lambda value: _instance_type(value, "alicloud"))
_IMAGE = _matching(
    r"/[A-Za-z0-9_./-]+",
    "an SSM parameter path such as /courier/images/orders (an AMI ID differs per region, so "
    "fleets look their image up in each region)",
)
_HTTPS_URL = _matching(r"https://[^\s/$.?#][^\s]*", "an https:// URL")
_PROMOTION_NAME = _matching(PROMOTION_NAME_PATTERN, "a lowercase name of letters, digits and -")
# The owner lands in AWS and Alibaba Cloud tags and in Kubernetes label values; a label value
# is the strictest of the three (63 characters, alphanumerics and -_. inside).
_OWNER = _matching(
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?",
    "1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit "
    "(it becomes a tag and a Kubernetes label value), such as courier-platform-team",
)
_DIGEST = _matching(r"sha256:[0-9a-f]{64}", "an image digest such as sha256:<64 hex digits>")
_TAG = _matching(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", "an image tag such as 1.4.2")
_PRINCIPAL_ARN = _matching(
    r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]{1,512}",
    "an IAM role or user ARN such as arn:aws:iam::123456789012:role/platform-deployer",
)
_AMI_NAME = _matching(
    r"[A-Za-z0-9()\[\]./'@_ -]{3,120}",
    "an AMI name without its architecture suffix, such as al2023-ami-2023.11.20260526.0-kernel-6.18",
)
_ALI_IMAGE_NAME = _matching(
    r"[A-Za-z0-9][A-Za-z0-9_.:-]{1,127}",
    "an Alibaba Cloud system image name such as aliyun_3_x64_20G_alibase_20251030.vhd",
)


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


# --------------------------------------------------------------------------------------
# Types that refuse what pydantic's lax mode would quietly convert.
# --------------------------------------------------------------------------------------


def _whole_number(value: Any) -> Any:
    # pydantic reads true as 1; YAML 1.1 readers turn "yes" into true.
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number (got {shown(value)})")
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be a number (got {shown(value)})")
    return value


def _flag(value: Any) -> Any:
    # pydantic reads "yes", "on", 1 and "t" as true; the config says true or false.
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false (got {shown(value)})")
    return value


_ISO_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")
_DATE_TIME_WORDS = "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-11-11T00:00:00+08:00"


def _iso_date_time(value: Any) -> Any:
    # pydantic reads numbers (and digit strings) as Unix timestamps; a promotion's moment is
    # written with its offset so that everyone reading the config sees the same local time.
    if isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"{_DATE_TIME_WORDS}, not a Unix timestamp (got {shown(value)})")
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value):
        raise ValueError(f"{_DATE_TIME_WORDS} (got {shown(value)})")
    return value


#: An integer field: refuses true/false instead of reading them as 1/0.
WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
#: A number field: refuses true/false instead of reading them as 1.0/0.0.
Number = Annotated[float, BeforeValidator(_number)]
#: A true/false field: refuses "yes", "on", 1 and other things pydantic would read as true.
Flag = Annotated[bool, BeforeValidator(_flag)]
#: A moment: an ISO 8601 date-time string with a UTC offset (not a Unix timestamp).
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_date_time), AfterValidator(_aware)]


# --------------------------------------------------------------------------------------
# Instance types, checked against the catalogues (components/catalog.py).
# --------------------------------------------------------------------------------------

_INSTANCE_TYPE_FORMAT = {
    "aws": (re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9-]+"), "an EC2 instance type such as c6i.large"),
    "alicloud": (re.compile(r"ecs\.[a-z0-9-]+\.[a-z0-9]+"), "an Alibaba Cloud instance type such as ecs.c7.large"),
}


def _instance_type(value: str, cloud: str) -> str:
    pattern, example = _INSTANCE_TYPE_FORMAT[cloud]
    if not pattern.fullmatch(value):
        raise ValueError(f"must be {example} (got {shown(value)})")
    known = catalog.ec2_instance_type_exists if cloud == "aws" else catalog.ecs_instance_type_exists
    if not known(value):
        raise ValueError(_unknown_instance_type(value, cloud))
    return value


@functools.lru_cache(maxsize=512)
def _unknown_instance_type(value: str, cloud: str) -> str:
    """What is wrong with a well-formed type that is not in the catalogue, with the closest
    real type (cached: a config may repeat a typo in every service)."""
    if cloud == "aws":
        families: Mapping[str, tuple[str, ...]] = catalog.EC2_FAMILIES
        prefix, what, source = "", "an EC2 instance type", catalog.EC2_CATALOGUE_SOURCE
        extend = ""
    else:
        families, prefix = catalog.ECS_FAMILIES, catalog.ECS_PREFIX
        what, source = "an Alibaba Cloud ECS instance type", catalog.ECS_CATALOGUE_SOURCE
        extend = " (a family Alibaba Cloud offers that the catalogue lacks is added there)"
    family, _, size = value[len(prefix) :].partition(".")
    sizes = families.get(family)
    if sizes is not None:
        guess = closest(size, sizes)
        hint = f"; did you mean '{prefix}{family}.{guess}'?" if guess else ";"
        return f"is not {what} (got {shown(value)}){hint} {prefix}{family} comes in {', '.join(sizes)}"
    guesses = []
    for near_family in nearest(family, families):
        near = families[near_family]
        guesses.append(f"{prefix}{near_family}.{size if size in near else (closest(size, near) or near[0])}")
    hint = _suggest(guesses)
    return f"is not {what} (got {shown(value)}): {source} has no family {clip(prefix + family, 60)!r}{hint}{extend}"
