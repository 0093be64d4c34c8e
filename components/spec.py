"""EnvironmentSpec: the typed, validated, frozen description of one stack.

This module is the only place that knows the ``courier:*`` config key names. It reads them
(through ``pulumi.Config``, exactly as the Pulumi CLI provides them), checks everything,
and either returns an :class:`EnvironmentSpec` or raises :class:`SpecError` listing every
problem at once, one line each, before a single resource is declared:

    courier:services[0].scaling.cpuTarget: must be between 10 and 95 (got 150)

Environment-specific safe defaults (NAT per zone, warm pools, deletion protection, ...) are
also decided here and only here, so components receive concrete values.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import pulumi
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from components import catalog, planning

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


# --------------------------------------------------------------------------------------
# The spec.
# --------------------------------------------------------------------------------------


class ClusterSpec(_Model):
    """The Kubernetes cluster of a region, for the services with ``platform: kubernetes``."""

    #: eks: the stack builds an EKS cluster with a managed node group (AWS regions);
    #: existing: a cluster run elsewhere, reached through ``kubeconfig``.
    cluster: Literal["eks", "existing"] = "eks"
    #: Kubernetes minor version of an EKS cluster.
    version: Annotated[str, _matching(r"1\.[0-9]{2}", "a Kubernetes minor version such as 1.34")] = "1.34"
    #: Instance types of the EKS managed node group (the first sizes it).
    node_instance_types: tuple[Annotated[str, _AWS_INSTANCE_TYPE], ...] = ("m6i.large",)
    #: Networks that may reach the EKS API endpoint (authentication is still required).
    api_allowed_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    #: Kubeconfig of an existing cluster. Set it as a secret:
    #: `pulumi config set --secret --path 'courier:regions[N].kubernetes.kubeconfig' "$(cat kubeconfig)"`
    kubeconfig: str | None = None


class RegionSpec(_Model):
    """One region the environment runs in. Order in config = failover priority."""

    name: str
    cloud: catalog.Cloud = "aws"
    role: Role
    availability_zones: tuple[str, ...]
    cidr: str
    #: A warm standby runs this share of the active fleets' min/desired (max stays full).
    capacity_percent: Annotated[int, _between(1, 100)] = 100
    #: Default: one NAT gateway per zone in prod (a zone outage keeps egress), one elsewhere.
    nat_gateways: NatGateways | None = None
    #: Where the region's Kubernetes services run (required when it hosts any).
    kubernetes: ClusterSpec | None = None
    #: Break-glass SSH to the fleet instances from these networks (default: none; instances
    #: are managed through SSM Session Manager). The policy pack refuses 0.0.0.0/0.
    ssh_allowed_cidrs: tuple[str, ...] = ()
    #: Alibaba Cloud only: the HTTPS certificate (Certificate Management Service ID) for
    #: ``api.<domain>`` and ``<code>.api.<domain>``.
    certificate_id: (
        Annotated[str, _matching(r"[0-9]+(-[a-z0-9-]+)?", "a certificate ID such as 12345678-cn-hangzhou")] | None
    ) = None

    @property
    def info(self) -> catalog.RegionInfo:
        found = catalog.region(self.cloud, self.name)
        assert found is not None, "validated in _check_regions"
        return found

    @property
    def code(self) -> str:
        return self.info.code

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.cidr)


class CapacitySpec(_Model):
    min: Annotated[int, _between(0, 1000)]
    desired: Annotated[int, _between(0, 1000)]
    max: Annotated[int, _between(1, 1000)]

    def as_capacity(self) -> planning.Capacity:
        return planning.Capacity(self.min, self.desired, self.max)


class ScalingSpec(_Model):
    #: Average CPU the target-tracking policy holds the fleet at.
    cpu_target: Annotated[int, _between(10, 95)] = 80
    #: Seconds a new instance needs before its metrics count (boot + app start).
    warmup_seconds: Annotated[int, _between(0, 3600)] = 300
    #: Seconds after launch before a failing load balancer health check replaces an instance.
    health_check_grace_seconds: Annotated[int, _between(0, 7200)] = 300
    #: Stopped, pre-initialised instances that join in seconds. Default: on in prod.
    warm_pool: bool | None = None


class SloSpec(_Model):
    availability_percent: Annotated[float, _between(90, 99.999)] = 99.9
    latency_p99_ms: Annotated[int, _between(1, 60000)] = 500


class WorkloadSpec(_Model):
    """How a ``platform: kubernetes`` service runs: its container and its resources. The
    service's capacity counts pods."""

    #: Container image reference, ideally pinned by digest.
    image: Annotated[
        str,
        _matching(r"[a-z0-9][a-z0-9._/:@-]*", "a container image reference such as registry.example.com/orders:1.4.2"),
    ]
    cpu_request_millicores: Annotated[int, _between(50, 16000)] = 500
    memory_request_mib: Annotated[int, _between(64, 65536), Field(alias="memoryRequestMiB")] = 512
    #: Default: twice the request (headroom for bursts without starving neighbours).
    cpu_limit_millicores: Annotated[int, _between(50, 32000)] | None = None
    #: Default: the request (memory is not compressible: a pod over its request is evicted first).
    memory_limit_mib: Annotated[Annotated[int, _between(64, 131072)] | None, Field(alias="memoryLimitMiB")] = None

    @property
    def cpu_limit(self) -> int:
        return self.cpu_limit_millicores or 2 * self.cpu_request_millicores

    @property
    def memory_limit(self) -> int:
        return self.memory_limit_mib or self.memory_request_mib


class ServiceSpec(_Model):
    """One courier service (orders, dispatch, tracking, payments)."""

    name: Annotated[str, _SERVICE_NAME]
    port: Annotated[int, _between(1024, 65535)]
    health_check_path: Annotated[str, _PATH] = "/healthz"
    platform: Platform = "vm"
    instance_types: tuple[Annotated[str, _AWS_INSTANCE_TYPE], ...] = ("c6i.large",)
    #: SSM parameter holding the AMI ID in each region (an image pipeline publishes it).
    #: Default: AWS's parameter for the current Amazon Linux 2023 of the instance types'
    #: architecture. A new AMI rolls the fleet (instance refresh) on the next `up`.
    image: Annotated[str, _IMAGE] | None = None
    #: Alibaba Cloud instance types for the same fleet in Alibaba regions.
    alicloud_instance_types: tuple[Annotated[str, _ALI_INSTANCE_TYPE], ...] = ("ecs.c7.large",)
    capacity: CapacitySpec
    scaling: ScalingSpec = ScalingSpec()
    slo: SloSpec = SloSpec()
    #: Container settings, for ``platform: kubernetes``.
    kubernetes: WorkloadSpec | None = None
    #: Names of the regions the service runs in. Default: every region.
    regions: tuple[str, ...] | None = None

    def runs_in(self, region: RegionSpec) -> bool:
        return self.regions is None or region.name in self.regions

    @property
    def node_port(self) -> int:
        """The NodePort a Kubernetes service is exposed on, derived from its port so that it
        never changes when services are added or reordered."""
        return 30000 + (self.port - 1024) % 2768

    @property
    def path_patterns(self) -> tuple[str, str]:
        """The load balancer routes ``/<name>`` and everything under it to this service."""
        return (f"/{self.name}", f"/{self.name}/*")

    @property
    def public_health_path(self) -> str:
        """The service's health check as seen through the load balancer."""
        return f"/{self.name}{self.health_check_path}"

    @property
    def cpu_architecture(self) -> str:
        return _architecture(self.instance_types[0])


class PromotionSpec(_Model):
    """A known traffic storm (festival sale) that fleets are pre-scaled for."""

    name: Annotated[str, _PROMOTION_NAME]
    start: Annotated[datetime, AfterValidator(_aware)]
    end: Annotated[datetime, AfterValidator(_aware)]
    expected_peak_multiplier: Annotated[float, _between(1, 20)]
    prewarm_minutes: Annotated[int, _between(0, 1440)] = 60

    @property
    def window(self) -> planning.ScheduleWindow:
        return planning.promotion_window(self.start, self.end, self.prewarm_minutes)


class ReceiverSpec(_Model):
    """Where a role's alerts are delivered (an SNS subscription on the role's topic)."""

    protocol: Literal["email", "https", "sms"]
    #: An address, an HTTPS URL (e.g. an incident tool's SNS integration) or an E.164 number.
    #: Set secret ones with `pulumi config set --secret --path courier:alerting.receivers...`.
    endpoint: str


class ThresholdsSpec(_Model):
    """Business-signal alert thresholds, tuned from the app's history."""

    order_failure_percent: Annotated[float, _between(0.1, 50)] = 2
    payment_failure_percent: Annotated[float, _between(0.1, 50)] = 5
    dispatch_p95_seconds: Annotated[int, _between(5, 3600)] = 120
    location_lag_p95_seconds: Annotated[int, _between(1, 600)] = 30
    #: Traffic this many times above the same hour yesterday is an early warning (info).
    traffic_surge_multiplier: Annotated[float, _between(1.2, 20)] = 2


class AlertingSpec(_Model):
    #: Base URL of docs/runbooks as published (the alert name and .md are appended).
    runbook_base_url: Annotated[str, _HTTPS_URL]
    #: Role -> receivers. Roles: the five on-call roles and deadmans-switch.
    receivers: dict[str, tuple[ReceiverSpec, ...]] = {}
    thresholds: ThresholdsSpec = ThresholdsSpec()

    def runbook_url(self, alert: str) -> str:
        return f"{self.runbook_base_url.rstrip('/')}/{alert}.md"


class _StackConfig(_Model):
    environment: Environment
    domain: Annotated[str, _DNS_NAME]
    owner: Annotated[str, Field(min_length=1, max_length=128)] = "courier-platform-team"
    regions: tuple[RegionSpec, ...] = Field(min_length=1)
    services: tuple[ServiceSpec, ...] = Field(min_length=1)
    promotions: tuple[PromotionSpec, ...] = ()
    alerting: AlertingSpec


KNOWN_KEYS: tuple[str, ...] = tuple((field.alias or name) for name, field in _StackConfig.model_fields.items())


@dataclass(frozen=True)
class Safety:
    """Environment-level defaults that make prod safe and dev cheap."""

    deletion_protection: bool
    nat_per_zone: bool
    warm_pools: bool
    min_capacity_floor: int
    log_retention_days: int
    protect_stateful: bool


_SAFETY: dict[str, Safety] = {
    "prod": Safety(True, True, True, 2, 365, True),
    "staging": Safety(False, False, False, 1, 90, False),
    "dev": Safety(False, False, False, 1, 30, False),
}


class EnvironmentSpec(_StackConfig):
    """Everything one stack builds, validated. Frozen: components only read it."""

    project: str
    stack: str
    #: The moment the plan is made; promotions that ended before it are not scheduled.
    as_of: datetime
    #: Config keys (without the namespace) whose values are secrets.
    secret_keys: frozenset[str] = frozenset()

    @property
    def safety(self) -> Safety:
        return _SAFETY[self.environment]

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def primary(self) -> RegionSpec:
        return next(r for r in self.regions if r.role == "primary")

    def regions_of(self, cloud: str) -> tuple[RegionSpec, ...]:
        return tuple(r for r in self.regions if r.cloud == cloud)

    def services_on(self, platform: str, region: RegionSpec | None = None) -> tuple[ServiceSpec, ...]:
        return tuple(s for s in self.services_in(region) if s.platform == platform)

    def fronted_services(self, region: RegionSpec) -> tuple[ServiceSpec, ...]:
        """The services the region's load balancer routes to (and Route 53 checks): its VM
        fleets, and Kubernetes services on a cluster the stack builds (reached on their
        NodePort). Services on an existing cluster are reached through that cluster's ingress."""
        cluster = region.kubernetes
        return tuple(
            s
            for s in self.services_in(region)
            if s.platform == "vm" or (cluster is not None and cluster.cluster == "eks")
        )

    def services_in(self, region: RegionSpec | None) -> tuple[ServiceSpec, ...]:
        """The services that run in ``region`` (every service when None)."""
        return tuple(s for s in self.services if region is None or s.runs_in(region))

    def nat_per_zone(self, region: RegionSpec) -> bool:
        if region.nat_gateways is None:
            return self.safety.nat_per_zone
        return region.nat_gateways == "perZone"

    def warm_pool(self, service: ServiceSpec) -> bool:
        if service.scaling.warm_pool is None:
            return self.safety.warm_pools
        return service.scaling.warm_pool

    def upcoming_promotions(self) -> tuple[PromotionSpec, ...]:
        """Promotions whose end is still ahead (AWS refuses scheduled actions in the past)."""
        return tuple(p for p in self.promotions if p.end > self.as_of)

    def promotion_schedules(self, service: ServiceSpec, region: RegionSpec) -> list[planning.PromotionSchedule]:
        """Pre-scale and restore moments with the capacity to hold, for the promotions ahead."""
        return planning.promotion_schedules(
            [(p.name, p.start, p.end, p.prewarm_minutes, p.expected_peak_multiplier) for p in self.promotions],
            self.capacity(service, region),
            service.scaling.cpu_target,
            self.as_of,
        )

    def capacity(self, service: ServiceSpec, region: RegionSpec) -> planning.Capacity:
        return planning.regional_capacity(
            service.capacity.as_capacity(), region.capacity_percent, self.safety.min_capacity_floor
        )

    def tags(self, service: str = "shared") -> dict[str, str]:
        """Tags every resource carries; ``service`` is ``shared`` for regional plumbing."""
        return {
            "project": self.project,
            "environment": self.environment,
            "stack": self.stack,
            "owner": self.owner,
            "service": service,
            "managed-by": "pulumi",
        }


# --------------------------------------------------------------------------------------
# Errors.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecError(pulumi.RunError):
    """Invalid stack config. A RunError, so the Pulumi CLI prints the message, not a traceback."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems), key=_problem_order)
        count = len(self.problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"invalid stack config ({count} problem{'s' if count != 1 else ''}):\n{lines}")


def _problem_order(problem: Problem) -> tuple[int, str]:
    key = problem.path.split(":", 1)[-1].split("[", 1)[0].split(".", 1)[0]
    position = KNOWN_KEYS.index(key) if key in KNOWN_KEYS else len(KNOWN_KEYS)
    return (position, problem.path)


def _path(loc: tuple[int | str, ...]) -> str:
    text = f"{NAMESPACE}:{loc[0]}" if loc else NAMESPACE
    for part in loc[1:]:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class that holds the field at ``loc`` (for "did you mean" hints)."""
    model: type[BaseModel] = _StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return None
        inner = _find_model(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _find_model(arg)
        if found is not None:
            return found
    return None


def _aliases(model: type[BaseModel]) -> list[str]:
    return [(f.alias or n) for n, f in model.model_fields.items()]


_TYPE_WORDS = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "model_type": "must be a mapping of keys to values",
    "model_attributes_type": "must be a mapping of keys to values",
    "dict_type": "must be a mapping of keys to values",
    "datetime_parsing": "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-11-11T00:00:00+08:00",
    "datetime_type": "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-11-11T00:00:00+08:00",
    "datetime_from_date_parsing": "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-11-11T00:00:00+08:00",
}


def _describe(error: Mapping[str, Any]) -> Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    got = error.get("input")
    if kind == "missing":
        return Problem(_path(loc), "is required")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = _aliases(model) if model else []
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        suffix = f"; did you mean {hint[0]!r}?" if hint else ""
        return Problem(_path(loc), f"unknown key (allowed: {', '.join(allowed)}){suffix}")
    if kind == "value_error":
        return Problem(_path(loc), str(error["ctx"]["error"]))
    if kind == "literal_error":
        return Problem(_path(loc), f"must be one of {error['ctx']['expected']} (got {got!r})")
    if kind == "too_short":
        least = error["ctx"]["min_length"]
        return Problem(_path(loc), f"must have at least {least} item{'s' if least != 1 else ''}")
    if kind == "string_too_long":
        return Problem(_path(loc), f"must be at most {error['ctx']['max_length']} characters")
    words = _TYPE_WORDS.get(kind, str(error["msg"]).lower())
    return Problem(_path(loc), f"{words} (got {got!r})")


# --------------------------------------------------------------------------------------
# Rules that span several fields (each reports its own precise path).
# --------------------------------------------------------------------------------------


def _architecture(instance_type: str) -> str:
    family = instance_type.split(".", 1)[0]
    return "arm64" if re.fullmatch(r"a1|[a-z]+\d+g[a-z-]*", family) else "x86_64"


Indexed = list[tuple[int, Any]]


def _check_regions(environment: str, regions: Indexed, complete: bool) -> Iterator[Problem]:
    seen_names: dict[tuple[str, str], int] = {}
    networks: list[tuple[int, ipaddress.IPv4Network]] = []
    for i, region in regions:
        at = f"{NAMESPACE}:regions[{i}]"
        info = catalog.region(region.cloud, region.name)
        if info is None:
            known = ", ".join(catalog.region_names(region.cloud))
            yield Problem(
                f"{at}.name", f"is not {_CLOUD_NAMES[region.cloud]} region (got {region.name!r}; known: {known})"
            )
        key = (region.cloud, region.name)
        if key in seen_names:
            yield Problem(f"{at}.name", f"duplicates regions[{seen_names[key]}] (got {region.name!r})")
        seen_names.setdefault(key, i)
        yield from _check_cloud_settings(at, region)
        yield from _check_zones(at, region, info)
        network = yield from _check_cidr(at, region)
        if network is not None:
            for j, other in networks:
                if network.overlaps(other):
                    yield Problem(
                        f"{at}.cidr",
                        f"overlaps regions[{j}].cidr {other} (got {region.cidr!r}); regions need "
                        "distinct ranges so they can be peered for replication",
                    )
            networks.append((i, network))
    if not complete:
        return
    roles = [r.role for _, r in regions]
    primaries = [(i, r) for i, r in regions if r.role == "primary"]
    if len(primaries) == 1 and primaries[0][1].cloud != "aws":
        yield Problem(
            f"{NAMESPACE}:regions[{primaries[0][0]}].cloud",
            "the primary region must be an AWS region: Route 53, which sends users to the "
            f"regions, is managed through it (got {primaries[0][1].cloud!r})",
        )
    if roles.count("primary") != 1:
        yield Problem(
            f"{NAMESPACE}:regions",
            f"must have exactly one region with role 'primary' (got {roles.count('primary')})",
        )
    if environment == "prod" and len(regions) < 2:
        yield Problem(
            f"{NAMESPACE}:regions",
            "prod needs at least two regions (a primary plus a secondary or standby) to survive "
            f"a region outage (got {len(regions)})",
        )


def _check_cloud_settings(at: str, region: RegionSpec) -> Iterator[Problem]:
    cluster = region.kubernetes
    if region.cloud == "alicloud":
        if region.certificate_id is None:
            yield Problem(
                f"{at}.certificateId",
                "is required for an Alibaba Cloud region: the ID of the HTTPS certificate for "
                "api.<domain> in Certificate Management Service",
            )
        if region.role != "secondary":
            yield Problem(
                f"{at}.role",
                "an Alibaba Cloud region serves mainland China as an active region and must be "
                f"'secondary' (got {region.role!r})",
            )
        if cluster is not None and cluster.cluster == "eks":
            yield Problem(
                f"{at}.kubernetes.cluster",
                "eks is only for AWS regions; use 'existing' with a kubeconfig (got 'eks')",
            )
    elif region.certificate_id is not None:
        yield Problem(f"{at}.certificateId", "is only for Alibaba Cloud regions (AWS regions use ACM)")
    for k, cidr in enumerate(region.ssh_allowed_cidrs):
        try:
            ipaddress.IPv4Network(cidr)
        except ValueError:
            yield Problem(
                f"{at}.sshAllowedCidrs[{k}]", f"must be an IPv4 network such as 203.0.113.0/24 (got {cidr!r})"
            )
    if cluster is None:
        return
    if cluster.cluster == "existing" and not cluster.kubeconfig:
        yield Problem(
            f"{at}.kubernetes.kubeconfig",
            "is required when cluster is 'existing' (set it as a secret with pulumi config set --secret --path)",
        )
    for k, node_type in enumerate(cluster.node_instance_types):
        if catalog.instance_spec(node_type) is None:
            yield Problem(
                f"{at}.kubernetes.nodeInstanceTypes[{k}]",
                f"is not a node type the stack can size (got {node_type!r}; known: {', '.join(catalog.NODE_TYPES)})",
            )
    for k, cidr in enumerate(cluster.api_allowed_cidrs):
        try:
            ipaddress.IPv4Network(cidr)
        except ValueError:
            yield Problem(f"{at}.kubernetes.apiAllowedCidrs[{k}]", f"must be an IPv4 network (got {cidr!r})")


def _check_zones(at: str, region: RegionSpec, info: catalog.RegionInfo | None) -> Iterator[Problem]:
    zones = region.availability_zones
    if len(zones) < 2:
        yield Problem(
            f"{at}.availabilityZones",
            f"must list at least 2 zones so losing one keeps the region serving (got {len(zones)})",
        )
    for k, zone in enumerate(zones):
        if info is not None and zone not in info.zones:
            yield Problem(
                f"{at}.availabilityZones[{k}]",
                f"is not a zone of {region.name} (got {zone!r}; known: {', '.join(info.zones)})",
            )
        if zone in zones[:k]:
            yield Problem(f"{at}.availabilityZones[{k}]", f"is listed twice (got {zone!r})")


def _check_cidr(at: str, region: RegionSpec) -> typing.Generator[Problem, None, ipaddress.IPv4Network | None]:
    try:
        network = ipaddress.IPv4Network(region.cidr)
    except ValueError:
        yield Problem(f"{at}.cidr", f"must be an IPv4 network such as 10.10.0.0/16 (got {region.cidr!r})")
        return None
    if not network.is_private:
        yield Problem(f"{at}.cidr", f"must be a private (RFC 1918) range (got {region.cidr!r})")
        return None
    if network.prefixlen < 16:
        yield Problem(f"{at}.cidr", f"must be /16 or smaller, the largest VPC AWS allows (got {region.cidr!r})")
        return None
    try:
        planning.subnet_layout(network, max(1, len(region.availability_zones)))
    except ValueError as too_small:
        yield Problem(f"{at}.cidr", f"{too_small} (got {region.cidr!r})")
        return None
    return network


def _check_services(environment: str, services: Indexed) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    ports_seen: dict[int, int] = {}
    node_ports: dict[int, int] = {}
    floor = _SAFETY[environment].min_capacity_floor
    for i, service in services:
        at = f"{NAMESPACE}:services[{i}]"
        if service.name in seen:
            yield Problem(f"{at}.name", f"duplicates services[{seen[service.name]}] (got {service.name!r})")
        seen.setdefault(service.name, i)
        if service.port in ports_seen:
            yield Problem(
                f"{at}.port",
                f"is already used by services[{ports_seen[service.port]}] (got {service.port})",
            )
        ports_seen.setdefault(service.port, i)
        if service.platform == "kubernetes" and service.kubernetes is None:
            yield Problem(
                f"{at}.kubernetes", "is required when platform is 'kubernetes' (the container image at least)"
            )
        if service.platform == "vm" and service.kubernetes is not None:
            yield Problem(f"{at}.kubernetes", "is only for platform: kubernetes (got platform 'vm')")
        if service.platform == "kubernetes":
            other = node_ports.get(service.node_port)
            if other is not None:
                yield Problem(
                    f"{at}.port",
                    f"maps to NodePort {service.node_port}, already taken by services[{other}]; pick another port",
                )
            node_ports.setdefault(service.node_port, i)
        cap = service.capacity
        if not cap.min <= cap.desired <= cap.max:
            yield Problem(
                f"{at}.capacity",
                f"must satisfy min <= desired <= max (got min={cap.min}, desired={cap.desired}, max={cap.max})",
            )
        if cap.min < floor:
            yield Problem(
                f"{at}.capacity.min",
                f"must be at least {floor} in {environment} so one instance per zone "
                f"survives a zone outage (got {cap.min})",
            )
        architectures = {_architecture(t) for t in service.instance_types}
        if len(architectures) > 1:
            yield Problem(
                f"{at}.instanceTypes",
                "must all share one CPU architecture, since the fleet boots one image "
                f"(got {', '.join(service.instance_types)}: {' and '.join(sorted(architectures))})",
            )
        if len(set(service.instance_types)) != len(service.instance_types):
            yield Problem(f"{at}.instanceTypes", f"lists an instance type twice (got {list(service.instance_types)})")
        warm_pool = service.scaling.warm_pool
        if warm_pool is None:
            warm_pool = _SAFETY[environment].warm_pools
        if warm_pool and len(service.instance_types) > 1:
            yield Problem(
                f"{at}.instanceTypes",
                "must list exactly one instance type when the fleet has a warm pool (AWS does not "
                "support warm pools with mixed instance types); list one type or set "
                f"scaling.warmPool: false (got {list(service.instance_types)})",
            )


def _check_promotions(promotions: Indexed, services: Indexed) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    windows: list[tuple[int, PromotionSpec]] = []
    for i, promotion in promotions:
        at = f"{NAMESPACE}:promotions[{i}]"
        if promotion.name in seen:
            yield Problem(f"{at}.name", f"duplicates promotions[{seen[promotion.name]}] (got {promotion.name!r})")
        seen.setdefault(promotion.name, i)
        if promotion.end <= promotion.start:
            yield Problem(
                f"{at}.end",
                f"must be after start {promotion.start.isoformat()} (got {promotion.end.isoformat()})",
            )
            continue
        for j, other in windows:
            if promotion.window.raise_at < other.end and other.window.raise_at < promotion.end:
                yield Problem(
                    f"{at}.start",
                    f"its window (including prewarmMinutes) overlaps promotions[{j}] {other.name!r}; "
                    "overlapping schedules would restore capacity in the middle of the other "
                    f"promotion, so merge them into one (got {promotion.start.isoformat()})",
                )
        windows.append((i, promotion))
        for k, service in services:
            peak = planning.promotion_capacity(
                service.capacity.as_capacity(), promotion.expected_peak_multiplier, service.scaling.cpu_target
            )
            if peak.max > 1000:
                yield Problem(
                    f"{at}.expectedPeakMultiplier",
                    f"would need {peak.max} instances of services[{k}] {service.name!r}, above the "
                    f"1000-instance limit (got {_num(promotion.expected_peak_multiplier)})",
                )


_ENDPOINT_FORMATS = {
    "email": (re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}"), "an email address"),
    "https": (re.compile(r"https://[^\s/$.?#][^\s]*"), "an https:// URL"),
    "sms": (re.compile(r"\+[1-9][0-9]{6,14}"), "an E.164 phone number such as +6591234567"),
}


def _check_alerting(environment: str, alerting: AlertingSpec) -> Iterator[Problem]:
    at = f"{NAMESPACE}:alerting.receivers"
    for role, receivers in alerting.receivers.items():
        if role not in RECEIVERS:
            hint = difflib.get_close_matches(role, RECEIVERS, n=1)
            suffix = f"; did you mean {hint[0]!r}?" if hint else ""
            yield Problem(f"{at}.{role}", f"unknown role (allowed: {', '.join(RECEIVERS)}){suffix}")
            continue
        for i, receiver in enumerate(receivers):
            pattern, allowed = _ENDPOINT_FORMATS[receiver.protocol]
            if receiver.endpoint != SECRET_PLACEHOLDER and not pattern.fullmatch(receiver.endpoint):
                yield Problem(
                    f"{at}.{role}[{i}].endpoint",
                    f"must be {allowed} for protocol {receiver.protocol!r} (got {receiver.endpoint!r})",
                )
    if environment == "prod":
        for role in RECEIVERS:
            if not alerting.receivers.get(role):
                yield Problem(
                    f"{at}.{role}",
                    "prod needs at least one receiver for every role, or its alerts reach nobody (got none)",
                )


# --------------------------------------------------------------------------------------
# Entry points.
# --------------------------------------------------------------------------------------


def build_spec(
    raw: Mapping[str, Any],
    *,
    project: str,
    stack: str,
    as_of: datetime | None = None,
    secret_keys: frozenset[str] = frozenset(),
) -> EnvironmentSpec:
    """Validate already-parsed config values (``{"regions": [...], ...}``, keys without the
    namespace) and return the spec, or raise SpecError listing every problem."""
    problems: list[Problem] = []
    for key in raw:
        if key not in KNOWN_KEYS:
            hint = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
            suffix = f"; did you mean '{NAMESPACE}:{hint[0]}'?" if hint else ""
            problems.append(
                Problem(f"{NAMESPACE}:{key}", f"unknown config key (allowed: {', '.join(KNOWN_KEYS)}){suffix}")
            )
    known = {k: v for k, v in raw.items() if k in KNOWN_KEYS}
    try:
        config = _StackConfig.model_validate(known)
    except ValidationError as invalid:
        problems.extend(_describe(e) for e in invalid.errors())
        problems.extend(_check_sections_that_parsed(known))
        raise SpecError(problems) from None
    problems.extend(
        _check_all(
            config.environment,
            list(enumerate(config.regions)),
            list(enumerate(config.services)),
            list(enumerate(config.promotions)),
            config.alerting,
            complete=True,
        )
    )
    if problems:
        raise SpecError(problems)
    return EnvironmentSpec(**dict(config), project=project, stack=stack, as_of=as_of or _now(), secret_keys=secret_keys)


def _check_placement(regions: Indexed, services: Indexed, complete: bool) -> Iterator[Problem]:
    """Services against the regions they run in: the names exist, and a region that hosts a
    Kubernetes service has a cluster."""
    names = {r.name for _, r in regions}
    for i, service in services:
        at = f"{NAMESPACE}:services[{i}]"
        if service.regions is not None and not service.regions:
            yield Problem(f"{at}.regions", "must name at least one region, or be left out to run everywhere")
        for k, name in enumerate(service.regions or ()):
            if complete and name not in names:
                yield Problem(
                    f"{at}.regions[{k}]",
                    f"is not a configured region (got {name!r}; configured: {', '.join(sorted(names))})",
                )
        if service.platform != "kubernetes":
            continue
        for j, region in regions:
            if service.runs_in(region) and region.kubernetes is None:
                yield Problem(
                    f"{NAMESPACE}:regions[{j}].kubernetes",
                    f"is required: services[{i}] {service.name!r} runs on Kubernetes in this region "
                    "(or limit the service with its 'regions' key)",
                )


def _check_all(
    environment: str,
    regions: Indexed,
    services: Indexed,
    promotions: Indexed,
    alerting: AlertingSpec | None,
    complete: bool,
) -> Iterator[Problem]:
    yield from _check_regions(environment, regions, complete)
    yield from _check_services(environment, services)
    yield from _check_placement(regions, services, complete)
    yield from _check_promotions(promotions, services)
    if alerting is not None:
        yield from _check_alerting(environment, alerting)


def _check_sections_that_parsed(known: Mapping[str, Any]) -> Iterator[Problem]:
    """Cross-field rules over the list items that did parse, so one bad value hides nothing else.

    Items that failed to parse are left out (their own errors are already reported), rules
    over a whole list (one primary region) are skipped, and an unusable environment counts as
    dev, the least strict, so these checks never report a problem that is not there.
    """

    def parsed(key: str, kind: type[BaseModel]) -> Indexed:
        items = known.get(key)
        if not isinstance(items, list):
            return []
        good: Indexed = []
        for i, item in enumerate(items):
            try:
                good.append((i, kind.model_validate(item)))
            except ValidationError:
                continue
        return good

    try:
        alerting: AlertingSpec | None = AlertingSpec.model_validate(known.get("alerting"))
    except ValidationError:
        alerting = None
    environment = known.get("environment")
    yield from _check_all(
        environment if environment in _SAFETY else "dev",
        parsed("regions", RegionSpec),
        parsed("services", ServiceSpec),
        parsed("promotions", PromotionSpec),
        alerting,
        complete=False,
    )


_clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def _now() -> datetime:
    return _clock()


def set_clock(clock: Callable[[], datetime]) -> Callable[[], datetime]:
    """Replace the clock that decides which promotions are still ahead; returns the old one.

    The offline plan uses it for ``--at`` ("plan as if it were this moment").
    """
    global _clock
    previous, _clock = _clock, clock
    return previous


def load_spec() -> EnvironmentSpec:
    """Read and validate this stack's ``courier:*`` config through ``pulumi.Config``."""
    from pulumi.runtime.config import is_config_secret

    config = pulumi.Config(NAMESPACE)
    keys = sorted(_present_keys())
    values = {key: config.get(key) for key in keys}
    secret = frozenset(k for k in keys if is_config_secret(f"{NAMESPACE}:{k}"))
    return spec_from_config(values, project=pulumi.get_project(), stack=pulumi.get_stack(), secret_keys=secret)


def spec_from_config(
    values: Mapping[str, str | None],
    *,
    project: str,
    stack: str,
    as_of: datetime | None = None,
    secret_keys: frozenset[str] = frozenset(),
) -> EnvironmentSpec:
    """Validate config as the engine hands it to a program: key (without the namespace) ->
    text, lists and mappings as JSON text. Raises SpecError listing every problem."""
    raw: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, text in values.items():
        if text is None:
            continue
        if key in _STRUCTURED_KEYS:
            try:
                raw[key] = json.loads(text)
            except json.JSONDecodeError:
                problems.append(Problem(f"{NAMESPACE}:{key}", f"must be a list (got {text!r})"))
        else:
            raw[key] = text
    try:
        spec = build_spec(raw, project=project, stack=stack, as_of=as_of, secret_keys=secret_keys)
    except SpecError as invalid:
        raise SpecError(problems + invalid.problems) from None
    if problems:
        raise SpecError(problems)
    return spec


def _present_keys() -> set[str]:
    """Every ``courier:*`` key the stack sets, known or not, so typos are reported."""
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = f"{NAMESPACE}:"
    return {k[len(prefix) :] for k in keys if k.startswith(prefix)} | set(KNOWN_KEYS)
