"""Rules that span several fields (each reports its own precise path)."""

from __future__ import annotations

import ipaddress
import re
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from components import catalog, planning
from components.spec.data import DataSpec
from components.spec.errors import Item, Problem, items
from components.spec.fields import (
    _CLOUD_NAMES,
    NAMESPACE,
    RECEIVERS,
    SECRET_PLACEHOLDER,
    _architecture,
    _num,
    did_you_mean,
)
from components.spec.model import _SAFETY, AccessSpec, AlertingSpec, PromotionSpec, RegionSpec, ServiceSpec
from components.spec.storm import StormSpec

#: The items of a list with how messages address each (components.spec.errors.Item).
Indexed = list[tuple[Item, Any]]


def indexed(key: str, values: typing.Sequence[Any]) -> Indexed:
    """Parsed items of the list ``key``, each with how messages address it."""
    return list(zip(items(key, values), values, strict=True))


def _unknown_region(cloud: str, name: str) -> str:
    """Why ``name`` is not a region of ``cloud``, with the list of those that are, and the one
    that was probably meant: the same name in the other cloud, or the nearest of this one."""
    known = catalog.region_names(cloud)
    message = f"is not {_CLOUD_NAMES[cloud]} region (got {name!r}; known: {', '.join(known)})"
    elsewhere = next((c for c in catalog.CLOUDS if c != cloud and catalog.region(c, name) is not None), None)
    if elsewhere is not None:
        return f"{message}; {name} is {_CLOUD_NAMES[elsewhere]} region (set cloud: {elsewhere})"
    return message + did_you_mean(name, known)


def _check_regions(environment: str, regions: Indexed, complete: bool) -> Iterator[Problem]:
    seen_names: dict[tuple[str, str], Item] = {}
    networks: list[tuple[Item, ipaddress.IPv4Network]] = []
    for item, region in regions:
        at = item.path
        info = catalog.region(region.cloud, region.name)
        if info is None:
            yield Problem(f"{at}.name", _unknown_region(region.cloud, region.name))
        key = (region.cloud, region.name)
        if key in seen_names:
            yield Problem(f"{at}.name", f"duplicates {seen_names[key]} (got {region.name!r})")
        seen_names.setdefault(key, item)
        yield from _check_cloud_settings(at, region)
        yield from _check_zones(at, region, info)
        network = yield from _check_cidr(at, region)
        if network is not None:
            for other_item, other in networks:
                if network.overlaps(other):
                    yield Problem(
                        f"{at}.cidr",
                        f"overlaps {other_item}.cidr {other} (got {region.cidr!r}); regions need "
                        "distinct ranges so they can be peered for replication",
                    )
            networks.append((item, network))
    if not complete:
        return
    # A lost region keeps the role it had (its resources stay declared as they were): the
    # roles that count are those of the regions that serve.
    active = [(i, r) for i, r in regions if not r.lost]
    roles = [r.role for _, r in active]
    primaries = [(i, r) for i, r in active if r.role == "primary"]
    if len(primaries) == 1 and primaries[0][1].cloud != "aws":
        yield Problem(
            f"{primaries[0][0].path}.cloud",
            "the primary region must be an AWS region: Route 53, which sends users to the "
            f"regions, is managed through it (got {primaries[0][1].cloud!r})",
        )
    if roles.count("primary") != 1:
        lost = " among the regions that are not lost" if len(active) < len(regions) else ""
        yield Problem(
            f"{NAMESPACE}:regions",
            f"must have exactly one region with role 'primary'{lost} (got {roles.count('primary')})",
        )
    for item, region in active:
        if environment == "prod":
            yield from _check_api_networks(item.path, region)
        if environment == "prod" and region.cloud == "alicloud" and not region.arms_prometheus:
            yield Problem(
                f"{item.path}.armsPrometheus",
                "must be true in prod for an Alibaba Cloud region: without it the region has none of the AWS "
                "regions' Prometheus alerts (business, error budget, traffic, targets), only the load "
                "balancer's CloudMonitor alarms (got false)",
            )
    if environment == "prod" and len(active) < 2:
        serving = " that are not lost" if len(active) < len(regions) else ""
        yield Problem(
            f"{NAMESPACE}:regions",
            f"prod needs at least two regions{serving} (a primary plus a secondary or standby) to survive a region "
            f"outage (got {len(active)})",
        )


#: Addresses (a /8's worth) from which a list of networks is the internet rather than named
#: networks; the policy pack judges EKS endpoints the same way (policies/guardrails/addresses.py,
#: aws-eks-cluster-endpoint-not-public).
OPEN_NETWORK_ADDRESSES = 2**24


def _check_api_networks(at: str, region: RegionSpec) -> Iterator[Problem]:
    """Prod's EKS API endpoints are public only to named networks (docs/decisions.md, "EKS API
    endpoints"): `pulumi up` installs the Kubernetes resources through the endpoint, so the CI
    runners' egress must be listed, and nothing as wide as the internet may be."""
    cluster = region.kubernetes
    if cluster is None or cluster.cluster != "eks":
        return
    try:
        networks = [ipaddress.IPv4Network(c) for c in cluster.api_allowed_cidrs]
    except ValueError:
        return  # each bad entry is reported on its own
    covered = sum(n.num_addresses for n in ipaddress.collapse_addresses(networks))
    if covered >= OPEN_NETWORK_ADDRESSES:
        default = "" if "api_allowed_cidrs" in cluster.model_fields_set else ", the default"
        yield Problem(
            f"{at}.kubernetes.apiAllowedCidrs",
            "must list only the named networks that reach the EKS API in prod (the CI runners' egress that runs "
            "pulumi up, the office VPN), together smaller than a /8, not the internet (got "
            f"{', '.join(cluster.api_allowed_cidrs)}{default})",
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
    if region.cloud != "alicloud" and region.arms_prometheus:
        yield Problem(f"{at}.armsPrometheus", "is only for Alibaba Cloud regions (AWS regions use Managed Prometheus)")
    yield from _check_data_replica(at, region)
    for k, cidr in enumerate(region.ssh_allowed_cidrs):
        try:
            ipaddress.IPv4Network(cidr)
        except ValueError:
            yield Problem(
                f"{at}.sshAllowedCidrs[{k}]", f"must be an IPv4 network such as 203.0.113.0/24 (got {cidr!r})"
            )
    if cluster is None:
        return
    if cluster.cluster == "eks":
        from components.kubernetes.addons import SUPPORTED_KUBERNETES_VERSIONS

        release = cluster.node_image_release
        if release is not None and not release.startswith(f"{cluster.version}."):
            yield Problem(
                f"{at}.kubernetes.nodeImageRelease",
                f"must be a release of the cluster's Kubernetes {cluster.version} (got {release!r})",
            )
        if cluster.version not in SUPPORTED_KUBERNETES_VERSIONS:
            yield Problem(
                f"{at}.kubernetes.version",
                "must be a Kubernetes minor the stack has add-ons for (the cluster autoscaler's minor must "
                f"match the cluster's): {', '.join(SUPPORTED_KUBERNETES_VERSIONS)} (got {cluster.version!r})",
            )
    if cluster.cluster == "existing" and not cluster.kubeconfig:
        yield Problem(
            f"{at}.kubernetes.kubeconfig",
            "is required when cluster is 'existing' (set it as a secret with pulumi config set --secret --path)",
        )
    for k, node_type in enumerate(cluster.node_instance_types):
        if catalog.instance_spec(node_type) is None:
            yield Problem(
                f"{at}.kubernetes.nodeInstanceTypes[{k}]",
                f"is not a node type the stack can size (got {node_type!r}; known: {', '.join(catalog.NODE_TYPES)})"
                + did_you_mean(node_type, catalog.NODE_TYPES),
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
                f"is not a zone of {region.name} (got {zone!r}; known: {', '.join(info.zones)})"
                + did_you_mean(zone, info.zones),
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
    seen: dict[str, Item] = {}
    ports_seen: dict[int, Item] = {}
    node_ports: dict[int, Item] = {}
    floor = _SAFETY[environment].min_capacity_floor
    for item, service in services:
        at = item.path
        if service.name in seen:
            yield Problem(f"{at}.name", f"duplicates {seen[service.name]} (got {service.name!r})")
        seen.setdefault(service.name, item)
        if service.port in ports_seen:
            yield Problem(
                f"{at}.port",
                f"is already used by {ports_seen[service.port]} (got {service.port})",
            )
        ports_seen.setdefault(service.port, item)
        if service.platform == "kubernetes" and service.kubernetes is None:
            yield Problem(
                f"{at}.kubernetes", "is required when platform is 'kubernetes' (its requests and limits at least)"
            )
        if service.platform == "vm" and service.kubernetes is not None:
            yield Problem(f"{at}.kubernetes", "is only for platform: kubernetes (got platform 'vm')")
        yield from _check_artifact(environment, at, service)
        if service.platform == "kubernetes":
            other = node_ports.get(service.node_port)
            if other is not None:
                yield Problem(
                    f"{at}.port",
                    f"maps to NodePort {service.node_port}, already taken by {other}; pick another port",
                )
            node_ports.setdefault(service.node_port, item)
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
        scaling = service.scaling
        if scaling.surge_step_percent and scaling.high_resolution is False:
            yield Problem(
                f"{at}.scaling.surgeStepPercent",
                "needs highResolution: the step acts on the 10-second CPU (set surgeStepPercent: 0 or "
                f"highResolution: true; got {scaling.surge_step_percent})",
            )
        if scaling.surge_step_percent and environment != "prod" and scaling.high_resolution is None:
            yield Problem(
                f"{at}.scaling.surgeStepPercent",
                f"needs highResolution: true outside prod, where it is off by default (got {scaling.surge_step_percent})",
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


def _check_artifact(environment: str, at: str, service: ServiceSpec) -> Iterator[Problem]:
    """The release's form. Whether a Kubernetes service needs ``artifact`` or ``kubernetes.image``
    depends on its regions' clusters: see _check_placement."""
    artifact = service.artifact
    if service.platform == "kubernetes":
        image = service.kubernetes.image if service.kubernetes is not None else None
        if environment == "prod" and image and not re.search(r"@sha256:[0-9a-f]{64}$", image):
            yield Problem(
                f"{at}.kubernetes.image",
                "prod runs releases pinned by digest: a tag can be moved, so two pods of one service could "
                f"run different code (got {image!r}; use <repository>@sha256:...)",
            )
    elif artifact is None:
        yield Problem(
            f"{at}.artifact",
            "is required: the container image the fleet runs, e.g. {digest: sha256:...} "
            "(pushed to the stack's registry; see README 'How the application reaches the instances')",
        )
    if artifact is None:
        return
    if (artifact.digest is None) == (artifact.tag is None):
        yield Problem(f"{at}.artifact", "must name exactly one of digest or tag")
    elif environment == "prod" and artifact.digest is None:
        yield Problem(
            f"{at}.artifact.tag",
            "prod runs releases pinned by digest: a tag can be moved, so two instances of one service "
            f"could run different code (got tag {artifact.tag!r}; use digest: sha256:...)",
        )


def _check_promotions(promotions: Indexed, services: Indexed) -> Iterator[Problem]:
    seen: dict[str, Item] = {}
    windows: list[tuple[Item, PromotionSpec]] = []
    for item, promotion in promotions:
        at = item.path
        if promotion.name in seen:
            yield Problem(f"{at}.name", f"duplicates {seen[promotion.name]} (got {promotion.name!r})")
        seen.setdefault(promotion.name, item)
        if promotion.end <= promotion.start:
            yield Problem(
                f"{at}.end",
                f"must be after start {promotion.start.isoformat()} (got {promotion.end.isoformat()})",
            )
            continue
        for other_item, other in windows:
            if promotion.window.raise_at < other.end and other.window.raise_at < promotion.end:
                yield Problem(
                    f"{at}.start",
                    f"its window (including prewarmMinutes) overlaps {other_item.mention(other.name)}; "
                    "overlapping schedules would restore capacity in the middle of the other "
                    f"promotion, so merge them into one (got {promotion.start.isoformat()})",
                )
        windows.append((item, promotion))
        for service_item, service in services:
            peak = planning.promotion_capacity(
                service.capacity.as_capacity(), promotion.expected_peak_multiplier, service.scaling.cpu_target
            )
            if peak.max > 1000:
                yield Problem(
                    f"{at}.expectedPeakMultiplier",
                    f"would need {peak.max} instances of {service_item.mention(service.name)}, above the "
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
            yield Problem(
                f"{at}.{role}", f"unknown role (allowed: {', '.join(RECEIVERS)}){did_you_mean(role, RECEIVERS)}"
            )
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


def _check_placement(regions: Indexed, services: Indexed, complete: bool) -> Iterator[Problem]:
    """Services against the regions they run in: the names exist, a region that hosts a
    Kubernetes service has a cluster, and the service names the release each of its clusters
    runs: ``artifact`` (pulled from ECR in the cluster's own region) on an EKS cluster the stack
    builds, ``kubernetes.image`` on an existing cluster."""
    names = {r.name for _, r in regions}
    for item, service in services:
        at = item.path
        if service.regions is not None and not service.regions:
            yield Problem(f"{at}.regions", "must name at least one region, or be left out to run everywhere")
        for k, name in enumerate(service.regions or ()):
            if complete and name not in names:
                yield Problem(
                    f"{at}.regions[{k}]",
                    f"is not a configured region (got {name!r}; configured: {', '.join(sorted(names))})"
                    + did_you_mean(name, sorted(names)),
                )
        if service.platform != "kubernetes":
            continue
        clusters: dict[str, list[Item]] = {"eks": [], "existing": []}
        for region_item, region in regions:
            if not service.runs_in(region):
                continue
            if region.kubernetes is None:
                yield Problem(
                    f"{region_item.path}.kubernetes",
                    f"is required: {item.mention(service.name)} runs on Kubernetes in this region "
                    "(or limit the service with its 'regions' key)",
                )
            else:
                clusters[region.kubernetes.cluster].append(region_item)
        yield from _check_kubernetes_release(at, service, clusters["eks"], clusters["existing"], complete)


def _check_kubernetes_release(
    at: str, service: ServiceSpec, eks: list[Item], existing: list[Item], complete: bool
) -> Iterator[Problem]:
    """``eks``/``existing``: the regions whose cluster of that kind runs the service.
    A release that no cluster would run is refused only when every region parsed (``complete``):
    otherwise the region that uses it may be the one that failed."""
    image = service.kubernetes.image if service.kubernetes is not None else None
    if eks and service.artifact is None:
        yield Problem(
            f"{at}.artifact",
            f"is required: the service runs on the EKS cluster of {eks[0]}, whose pods pull the "
            "release from the stack's ECR repository in their own region, e.g. {digest: sha256:...}",
        )
    if existing and service.kubernetes is not None and image is None:
        yield Problem(
            f"{at}.kubernetes.image",
            f"is required: the service runs on the existing cluster of {existing[0]}, which pulls "
            "this full reference, e.g. registry.example.com/orders@sha256:...",
        )
    if not complete:
        return
    if not eks and service.artifact is not None:
        yield Problem(
            f"{at}.artifact",
            "is only for VM fleets and EKS clusters the stack builds: the service runs on existing clusters "
            "only, which run kubernetes.image (remove artifact)",
        )
    if not existing and image is not None:
        yield Problem(
            f"{at}.kubernetes.image",
            "is only for existing clusters: on EKS the service runs its artifact from ECR in the cluster's "
            f"own region, so this reference would never run (remove it; got {image!r})",
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
        values = known.get(key)
        if not isinstance(values, list):
            return []
        good: Indexed = []
        # Addressed as in pydantic's errors: by name among all the items, parsed or not.
        for item, value in zip(items(key, values), values, strict=True):
            try:
                good.append((item, kind.model_validate(value)))
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


def _check_access(access: typing.Sequence[AccessSpec], regions: Indexed) -> Iterator[Problem]:
    """EKS clusters are created without the creator's implicit admin access (an explicit entry
    for the same principal would then be refused), so whoever runs `pulumi up` must be listed."""
    at = f"{NAMESPACE}:kubernetesAccess"
    seen: dict[str, int] = {}
    for i, entry in enumerate(access):
        if entry.principal_arn in seen:
            yield Problem(
                f"{at}[{i}].principalArn",
                f"duplicates kubernetesAccess[{seen[entry.principal_arn]}] (got {entry.principal_arn!r})",
            )
        seen.setdefault(entry.principal_arn, i)
    eks = [item for item, r in regions if r.kubernetes is not None and r.kubernetes.cluster == "eks"]
    if eks and not any(entry.access == "admin" for entry in access):
        yield Problem(
            at,
            f"must list at least one admin principal: {eks[0]} builds an EKS cluster, and only the "
            "principals listed here can use it, including the role that runs `pulumi up` (got "
            f"{'none' if not access else ', '.join(sorted({e.access for e in access}))})",
        )


def _check_storm(
    storm: StormSpec, services: typing.Sequence[str], regions: typing.Sequence[str] = ()
) -> Iterator[Problem]:
    """Overrides and exemptions name services and regions of the stack (a typo would silently
    fall back to the defaults, or exempt nothing)."""
    for i, exemption in enumerate(storm.objectives.exempt if storm.objectives else ()):
        at = f"{NAMESPACE}:storm.objectives.exempt[{i}]"
        if exemption.service is not None and exemption.service not in services:
            yield Problem(
                f"{at}.service",
                f"is not a service of this stack (services: {', '.join(services)})"
                + did_you_mean(exemption.service, services),
            )
        if exemption.region is not None and regions and exemption.region not in regions:
            yield Problem(
                f"{at}.region",
                f"is not a region of this stack (regions: {', '.join(regions)})"
                + did_you_mean(exemption.region, regions),
            )
    for name in storm.services:
        if name not in services:
            yield Problem(
                f"{NAMESPACE}:storm.services.{name}",
                f"is not a service of this stack (services: {', '.join(services)})" + did_you_mean(name, services),
            )


def _check_quotas(spec: typing.Any) -> Iterator[Problem]:
    """The peak fits each AWS region's On-Demand Standard vCPU quota (every fleet and node group
    at its largest maximum: a promotion's, or a failover's). Regions without quotas are not
    checked (the program warns in prod)."""
    for item, region in indexed("regions", spec.regions):
        if region.quotas is None:
            continue
        at = f"{item.path}.quotas"
        if region.cloud != "aws":
            yield Problem(at, f"is for AWS regions (EC2 quotas); {region.name} is an Alibaba Cloud region")
            continue
        # Types of other quota groups (G, P, Inf, ...) or of unknown size are not counted here.
        peak, _other_quotas = spec.peak_standard_vcpus(region)
        quota = region.quotas.on_demand_standard_vcpus
        if peak > quota:
            yield Problem(
                f"{at}.onDemandStandardVcpus",
                f"is below the peak: every fleet and node group of {region.name} at its largest maximum runs "
                f"{peak} vCPUs of standard instances (got {quota}); request a quota increase (L-1216C47A) or "
                "lower capacity.max",
            )


def _check_data_replica(at: str, region: RegionSpec) -> Iterator[Problem]:
    """An Alibaba Cloud region's data replica: another Alibaba Cloud region of the same
    country (PIPL: mainland China's data stays in mainland China), with its own zones and range."""
    replica = region.data_replica
    if replica is None:
        return
    if region.cloud != "alicloud":
        yield Problem(
            f"{at}.dataReplica",
            "is only for Alibaba Cloud regions (AWS regions replicate to the stack's other AWS regions)",
        )
        return
    info = catalog.region("alicloud", replica.name)
    if info is None:
        yield Problem(f"{at}.dataReplica.name", _unknown_region("alicloud", replica.name))
        return
    home = catalog.region("alicloud", region.name)
    if replica.name == region.name:
        yield Problem(f"{at}.dataReplica.name", f"must be another region than the region itself (got {replica.name!r})")
    elif home is not None and info.country != home.country:
        yield Problem(
            f"{at}.dataReplica.name",
            f"must be in the same country as {region.name} ({home.country}): personal data of mainland China stays "
            f"in mainland China under PIPL (got {replica.name!r}, {info.country})",
        )
    for k, zone in enumerate(replica.availability_zones):
        if zone not in info.zones:
            yield Problem(
                f"{at}.dataReplica.availabilityZones[{k}]",
                f"is not a zone of {replica.name} (got {zone!r}; zones: {', '.join(info.zones)})"
                + did_you_mean(zone, info.zones),
            )
    if len(set(replica.availability_zones)) < 2:
        yield Problem(
            f"{at}.dataReplica.availabilityZones",
            f"needs at least two distinct zones (got {len(set(replica.availability_zones))})",
        )
    try:
        network = ipaddress.IPv4Network(replica.cidr)
    except ValueError:
        yield Problem(f"{at}.dataReplica.cidr", f"must be an IPv4 network such as 10.41.0.0/16 (got {replica.cidr!r})")
        return
    try:
        if network.overlaps(ipaddress.IPv4Network(region.cidr)):
            yield Problem(
                f"{at}.dataReplica.cidr",
                f"overlaps the region's own cidr {region.cidr} (got {replica.cidr!r})",
            )
    except ValueError:
        pass


def _check_data(environment: str, data: DataSpec, regions: Indexed, services: Indexed) -> Iterator[Problem]:
    """courier:data against the regions and services: the origin is an AWS region, prod keeps a
    week of backups and replicates mainland China within China, and services' stores exist where
    they run."""
    at = f"{NAMESPACE}:data"
    aws = [r for _, r in regions if r.cloud == "aws"]
    origin = data.database.origin_region
    if origin is not None and origin not in {r.name for r in aws}:
        names = ", ".join(r.name for r in aws)
        yield Problem(
            f"{at}.database.originRegion",
            f"must be one of the stack's AWS regions, the one whose cluster created the global database "
            f"(got {origin!r}; AWS regions: {names}){did_you_mean(origin, [r.name for r in aws])}",
        )
    if environment == "prod" and data.database.backup_retention_days < 7:
        yield Problem(
            f"{at}.database.backupRetentionDays",
            f"must be at least 7 in prod (a week of point-in-time restore; got {data.database.backup_retention_days})",
        )
    if environment == "prod" and data.database.instances == 1:
        yield Problem(
            f"{at}.database.instances",
            "must be at least 2 in prod: a cluster with one instance has no failover target in another zone (got 1)",
        )
    for item, region in regions:
        if environment == "prod" and region.cloud == "alicloud" and region.data_replica is None:
            yield Problem(
                f"{item.path}.dataReplica",
                "is required in prod for an Alibaba Cloud region: its database and object storage replicate to a "
                "second Alibaba Cloud region in the same country, e.g. {name: cn-shanghai, availabilityZones: "
                "[cn-shanghai-e, cn-shanghai-f], cidr: 10.41.0.0/16}",
            )
    for item, service in services:
        if service.stores and service.platform == "kubernetes":
            yield Problem(
                f"{item.path}.stores",
                "is for VM services so far: pods get no endpoints or data role yet (run the service as vm, or "
                f"remove stores; got {list(service.stores)})",
            )
        for k, store in enumerate(service.stores):
            if store in service.stores[:k]:
                yield Problem(f"{item.path}.stores[{k}]", f"is listed twice (got {store!r})")
