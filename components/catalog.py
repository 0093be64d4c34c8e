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

from dataclasses import dataclass
from typing import Literal

Cloud = Literal["aws", "alicloud"]


@dataclass(frozen=True)
class RegionInfo:
    cloud: Cloud
    name: str
    code: str
    zones: tuple[str, ...]
    location: str


def _aws(name: str, code: str, letters: str, location: str) -> RegionInfo:
    return RegionInfo("aws", name, code, tuple(f"{name}{letter}" for letter in letters), location)


def _ali(name: str, code: str, letters: str, location: str) -> RegionInfo:
    return RegionInfo("alicloud", name, code, tuple(f"{name}-{letter}" for letter in letters), location)


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
    _ali("cn-hongkong", "cnhk", "bcd", "Hong Kong"),
    _ali("ap-southeast-1", "alsg", "abc", "Singapore"),
    _ali("ap-northeast-1", "altyo", "abc", "Tokyo"),
    _ali("eu-central-1", "alfra", "ab", "Frankfurt"),
    _ali("us-west-1", "alsv", "ab", "Silicon Valley"),
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
