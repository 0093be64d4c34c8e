"""Catalogue of real cloud regions and zones the stack can deploy to.

Used twice: by the spec, to reject a region or zone name that does not exist before anything
is declared, and by the offline engine, to answer invokes (availability zones) the way the
cloud would. Zone letters are the ones a new account sees; accounts created long ago may see
a different subset, which is why stacks name their zones explicitly.

Each region also has a short code (``apse1``) used in resource names: AWS load balancer and
target group names are capped at 32 characters, so ``ap-southeast-1-payments`` plus the
8-character suffix Pulumi adds would not fit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from components.catalog_instance_types import BOTOCORE_VERSION as EC2_BOTOCORE_VERSION
from components.catalog_instance_types import EC2_FAMILIES

Cloud = Literal["aws", "alicloud"]


@dataclass(frozen=True)
class RegionInfo:
    cloud: Cloud
    name: str
    code: str
    zones: tuple[str, ...]
    location: str
    #: ISO 3166 code of the country the region is in: an Alibaba Cloud region serves that
    #: country's users through Route 53 geolocation.
    country: str = ""


def _aws(name: str, code: str, letters: str, location: str) -> RegionInfo:
    return RegionInfo("aws", name, code, tuple(f"{name}{letter}" for letter in letters), location)


def _ali(name: str, code: str, letters: str, location: str, country: str = "CN") -> RegionInfo:
    return RegionInfo("alicloud", name, code, tuple(f"{name}-{letter}" for letter in letters), location, country)


_REGIONS: tuple[RegionInfo, ...] = (
    # AWS commercial regions.
    _aws("us-east-1", "use1", "abcdef", "N. Virginia"),
    _aws("us-east-2", "use2", "abc", "Ohio"),
    _aws("us-west-1", "usw1", "abc", "N. California"),
    _aws("us-west-2", "usw2", "abcd", "Oregon"),
    _aws("ca-central-1", "cac1", "abd", "Canada (Central)"),
    _aws("ca-west-1", "caw1", "abc", "Calgary"),
    _aws("mx-central-1", "mxc1", "abc", "Mexico (Central)"),
    _aws("sa-east-1", "sae1", "abc", "Sao Paulo"),
    _aws("eu-west-1", "euw1", "abc", "Ireland"),
    _aws("eu-west-2", "euw2", "abc", "London"),
    _aws("eu-west-3", "euw3", "abc", "Paris"),
    _aws("eu-central-1", "euc1", "abc", "Frankfurt"),
    _aws("eu-central-2", "euc2", "abc", "Zurich"),
    _aws("eu-north-1", "eun1", "abc", "Stockholm"),
    _aws("eu-south-1", "eus1", "abc", "Milan"),
    _aws("eu-south-2", "eus2", "abc", "Spain"),
    _aws("il-central-1", "ilc1", "abc", "Tel Aviv"),
    _aws("me-south-1", "mes1", "abc", "Bahrain"),
    _aws("me-central-1", "mec1", "abc", "UAE"),
    _aws("af-south-1", "afs1", "abc", "Cape Town"),
    _aws("ap-east-1", "ape1", "abc", "Hong Kong"),
    _aws("ap-south-1", "aps1", "abc", "Mumbai"),
    _aws("ap-south-2", "aps2", "abc", "Hyderabad"),
    _aws("ap-southeast-1", "apse1", "abc", "Singapore"),
    _aws("ap-southeast-2", "apse2", "abc", "Sydney"),
    _aws("ap-southeast-3", "apse3", "abc", "Jakarta"),
    _aws("ap-southeast-4", "apse4", "abc", "Melbourne"),
    _aws("ap-southeast-5", "apse5", "abc", "Malaysia"),
    _aws("ap-southeast-7", "apse7", "abc", "Thailand"),
    _aws("ap-northeast-1", "apne1", "acd", "Tokyo"),
    _aws("ap-northeast-2", "apne2", "abcd", "Seoul"),
    _aws("ap-northeast-3", "apne3", "abc", "Osaka"),
    # Alibaba Cloud regions (zone suffixes as the console lists them).
    _ali("cn-hangzhou", "cnhz", "bfghijk", "Hangzhou"),
    _ali("cn-shanghai", "cnsh", "abefglmn", "Shanghai"),
    _ali("cn-beijing", "cnbj", "acdefghijkl", "Beijing"),
    _ali("cn-shenzhen", "cnsz", "acdef", "Shenzhen"),
    _ali("cn-qingdao", "cnqd", "bc", "Qingdao"),
    _ali("cn-zhangjiakou", "cnzjk", "abc", "Zhangjiakou"),
    _ali("cn-chengdu", "cncd", "ab", "Chengdu"),
    _ali("cn-hongkong", "cnhk", "bcd", "Hong Kong", "HK"),
    _ali("ap-southeast-1", "alsg", "abc", "Singapore", "SG"),
    _ali("ap-northeast-1", "altyo", "abc", "Tokyo", "JP"),
    _ali("eu-central-1", "alfra", "ab", "Frankfurt", "DE"),
    _ali("us-west-1", "alsv", "ab", "Silicon Valley", "US"),
)

_BY_KEY: dict[tuple[str, str], RegionInfo] = {(r.cloud, r.name): r for r in _REGIONS}

CLOUDS: tuple[Cloud, ...] = ("aws", "alicloud")


def region(cloud: str, name: str) -> RegionInfo | None:
    """The catalogue entry for a region, or None when the cloud has no such region."""
    return _BY_KEY.get((cloud, name))


def regions(cloud: str) -> list[RegionInfo]:
    return [r for r in _REGIONS if r.cloud == cloud]


def region_names(cloud: str) -> list[str]:
    return [r.name for r in regions(cloud)]


#: vCPUs and memory (MiB) of the instance types an EKS node group may use; node groups are
#: sized from the pods' requests, so the stack needs to know what a node holds.
_INSTANCE_SPECS: dict[str, tuple[int, int]] = {
    "t3.medium": (2, 4096),
    "t3.large": (2, 8192),
    "m6i.large": (2, 8192),
    "m6i.xlarge": (4, 16384),
    "m6i.2xlarge": (8, 32768),
    "m7i.large": (2, 8192),
    "m7i.xlarge": (4, 16384),
    "c6i.large": (2, 4096),
    "c6i.xlarge": (4, 8192),
    "c6i.2xlarge": (8, 16384),
    "c7i.large": (2, 4096),
    "c7i.xlarge": (4, 8192),
    "r6i.large": (2, 16384),
    "r6i.xlarge": (4, 32768),
}
NODE_TYPES: tuple[str, ...] = tuple(_INSTANCE_SPECS)


def instance_spec(instance_type: str) -> tuple[int, int] | None:
    """(vCPUs, memory MiB) of a node instance type, or None when the stack does not know it."""
    return _INSTANCE_SPECS.get(instance_type)


#: EC2 sizes and their vCPUs for the current generations (EC2 User Guide, instance type
#: specifications: large = 2, xlarge = 4, Nxlarge = 4N); burstable T sizes up to large have 2.
_SIZE_VCPUS = {"medium": 1, "large": 2, "xlarge": 4}
_BURSTABLE_SMALL = {"nano", "micro", "small", "medium", "large"}


def vcpus(instance_type: str) -> int | None:
    """vCPUs of an EC2 instance type: the known table, else from the size's name; None for a
    size the name does not tell (metal, Alibaba Cloud types)."""
    known = _INSTANCE_SPECS.get(instance_type)
    if known is not None:
        return known[0]
    family, _, size = instance_type.partition(".")
    if family.startswith("t") and size in _BURSTABLE_SMALL:
        return 2
    if size in _SIZE_VCPUS:
        return _SIZE_VCPUS[size]
    match = re.fullmatch(r"([0-9]+)xlarge", size)
    return 4 * int(match.group(1)) if match else None


#: The EC2 On-Demand quota "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"
#: (Service Quotas code L-1216C47A) counts the vCPUs of these families' running instances.
STANDARD_FAMILY_LETTERS = frozenset("acdhimrtz")


def standard_family(instance_type: str) -> bool:
    return instance_type[:1] in STANDARD_FAMILY_LETTERS and not instance_type.startswith(("dl", "inf", "trn", "hpc"))


# --------------------------------------------------------------------------------------
# Instance types: which ones exist, so a typo stops at the config, not at `pulumi up`.
# --------------------------------------------------------------------------------------

#: EC2: every type in AWS's EC2 API model, generated from botocore (a development dependency
#: only) by tools/ec2_instance_types.py, so the program needs no botocore at run time.
EC2_CATALOGUE_SOURCE = f"AWS's EC2 API model (botocore {EC2_BOTOCORE_VERSION})"

# Alibaba Cloud publishes no machine-readable model, so its catalogue is kept by hand from
# "Overview of instance families" (https://www.alibabacloud.com/help/en/ecs/user-guide/overview-of-instance-families,
# 2026): the enterprise-level general-purpose (g), compute-optimized (c), memory-optimized (r)
# and high-clock-speed (hf) families of generations 5 to 9. A family's g, c and r variants
# share one platform and one size ladder; where the page lists only the g or c variant, the
# others follow it. Add a family here when a stack needs it.
_ECS_LADDER_5 = ("large", "xlarge", "2xlarge", "3xlarge", "4xlarge", "6xlarge", "8xlarge", "16xlarge")
_ECS_LADDER_6 = ("large", "xlarge", "2xlarge", "3xlarge", "4xlarge", "6xlarge", "8xlarge", "13xlarge", "26xlarge")
_ECS_LADDER_6E = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "13xlarge", "26xlarge")
_ECS_LADDER_AMD = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge", "32xlarge")
_ECS_LADDER_7 = ("large", "xlarge", "2xlarge", "3xlarge", "4xlarge", "6xlarge", "8xlarge", "16xlarge", "32xlarge")
_ECS_LADDER_8I = (
    *("large", "xlarge", "2xlarge", "3xlarge", "4xlarge", "6xlarge", "8xlarge"),
    *("12xlarge", "16xlarge", "24xlarge", "48xlarge"),
)
_ECS_LADDER_8A = (
    "large",
    "xlarge",
    "2xlarge",
    "4xlarge",
    "8xlarge",
    "12xlarge",
    "16xlarge",
    "24xlarge",
    "32xlarge",
    "48xlarge",
)
_ECS_LADDER_8AE = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge", "32xlarge")
_ECS_LADDER_8INE = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge")
_ECS_LADDER_9I = (*_ECS_LADDER_8I[:-1], "32xlarge", "48xlarge")
_ECS_LADDER_9A = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge", "24xlarge", "32xlarge", "48xlarge")
# g9ae/c9ae/r9ae come in the same sizes as the 8a families.
_ECS_LADDER_9AE = _ECS_LADDER_8A
_ECS_LADDER_HF5 = ("large", "xlarge", "2xlarge", "3xlarge", "4xlarge", "6xlarge", "8xlarge")
_ECS_LADDER_HF6 = (
    "large",
    "xlarge",
    "2xlarge",
    "3xlarge",
    "4xlarge",
    "6xlarge",
    "8xlarge",
    "10xlarge",
    "16xlarge",
    "20xlarge",
)
_ECS_LADDER_HF7 = ("large", "xlarge", "2xlarge", "3xlarge", "4xlarge", "6xlarge", "8xlarge", "12xlarge", "24xlarge")
_ECS_LADDER_HF8I = ("large", "xlarge", "2xlarge", "3xlarge", "4xlarge", "6xlarge", "8xlarge", "16xlarge", "32xlarge")

#: Alibaba Cloud ECS instance family (without the ``ecs.`` prefix) -> its sizes.
ECS_FAMILIES: dict[str, tuple[str, ...]] = {
    "g5": (*_ECS_LADDER_5, "22xlarge"),
    "c5": _ECS_LADDER_5,
    "r5": (*_ECS_LADDER_5, "22xlarge"),
    "g6": _ECS_LADDER_6,
    "c6": _ECS_LADDER_6,
    "r6": _ECS_LADDER_6,
    "g6e": _ECS_LADDER_6E,
    "c6e": _ECS_LADDER_6E,
    "r6e": _ECS_LADDER_6E,
    "g6a": _ECS_LADDER_AMD,
    "c6a": _ECS_LADDER_AMD,
    "r6a": _ECS_LADDER_AMD,
    "g7": _ECS_LADDER_7,
    "c7": _ECS_LADDER_7,
    "r7": _ECS_LADDER_7,
    "g7a": _ECS_LADDER_AMD,
    "c7a": _ECS_LADDER_AMD,
    "r7a": _ECS_LADDER_AMD,
    "g8i": _ECS_LADDER_8I,
    "c8i": _ECS_LADDER_8I,
    "r8i": _ECS_LADDER_8I,
    "g8a": _ECS_LADDER_8A,
    "c8a": _ECS_LADDER_8A,
    "r8a": _ECS_LADDER_8A,
    "g8ae": _ECS_LADDER_8AE,
    "c8ae": _ECS_LADDER_8AE,
    "r8ae": _ECS_LADDER_8AE,
    "g8ine": _ECS_LADDER_8INE,
    "c8ine": _ECS_LADDER_8INE,
    "g9i": _ECS_LADDER_9I,
    "c9i": _ECS_LADDER_9I,
    "r9i": _ECS_LADDER_9I,
    "g9a": _ECS_LADDER_9A,
    "c9a": ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"),
    "r9a": _ECS_LADDER_9A,
    "g9ae": _ECS_LADDER_9AE,
    "c9ae": _ECS_LADDER_9AE,
    "r9ae": _ECS_LADDER_9AE,
    "hfc5": _ECS_LADDER_HF5,
    "hfg5": (*_ECS_LADDER_HF5, "14xlarge"),
    "hfc6": _ECS_LADDER_HF6,
    "hfg6": _ECS_LADDER_HF6,
    "hfr6": _ECS_LADDER_HF6,
    "hfc7": _ECS_LADDER_HF7,
    "hfg7": _ECS_LADDER_HF7,
    "hfr7": _ECS_LADDER_HF7,
    "hfc8i": _ECS_LADDER_HF8I,
    "hfg8i": _ECS_LADDER_HF8I,
    "hfr8i": _ECS_LADDER_HF8I,
}
ECS_PREFIX = "ecs."
ECS_CATALOGUE_SOURCE = "the Alibaba Cloud catalogue in components/catalog.py"


def ec2_instance_type_exists(name: str) -> bool:
    family, _, size = name.partition(".")
    return size in EC2_FAMILIES.get(family, ())


def ecs_instance_type_exists(name: str) -> bool:
    if not name.startswith(ECS_PREFIX):
        return False
    family, _, size = name[len(ECS_PREFIX) :].partition(".")
    return size in ECS_FAMILIES.get(family, ())
