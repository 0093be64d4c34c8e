"""The typed, frozen stack config: one model per config section, and EnvironmentSpec, which
components read (with the environment's safe defaults decided here and only here)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from components import catalog, planning
from components.spec.capacity import DerivedCapacity
from components.spec.data import DataSpec, Store
from components.spec.drills import DrillsSpec
from components.spec.fields import (
    _ALI_IMAGE_NAME,
    _ALI_INSTANCE_TYPE,
    _AMI_NAME,
    _AWS_INSTANCE_TYPE,
    _DIGEST,
    _DNS_NAME,
    _HTTPS_URL,
    _IMAGE,
    _OWNER,
    _PATH,
    _PRINCIPAL_ARN,
    _PROMOTION_NAME,
    _SERVICE_NAME,
    _TAG,
    Environment,
    Flag,
    IsoDateTime,
    NatGateways,
    Number,
    Platform,
    Role,
    WholeNumber,
    _architecture,
    _between,
    _matching,
    _Model,
)
from components.spec.storm import StormObjectives, StormSpec

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
    #: The EKS-optimized node AMI release (``<Kubernetes version>-<date>``, e.g. 1.34.2-20251120,
    #: from the EKS AMI release notes), so nodes change only when this does. Unset, a node group
    #: takes EKS's latest release when it is created or its launch template changes (the plan
    #: warns).
    node_image_release: (
        Annotated[str, _matching(r"1\.[0-9]{2}\.[0-9]+-[0-9]{8}", "an EKS AMI release such as 1.34.2-20251120")] | None
    ) = None
    #: Networks that may reach the EKS API endpoint (authentication is still required).
    api_allowed_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    #: Kubeconfig of an existing cluster. Set it as a secret:
    #: `pulumi config set --secret --path 'courier:regions[N].kubernetes.kubeconfig' "$(cat kubeconfig)"`
    kubeconfig: str | None = None


class QuotasSpec(_Model):
    """The account's EC2 quotas in the region that the peak must fit."""

    #: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" (L-1216C47A), in vCPUs.
    on_demand_standard_vcpus: Annotated[WholeNumber, _between(1, 10_000_000)]


class DataReplicaSpec(_Model):
    """Alibaba Cloud only: the second region in the same country that the region's database
    and object storage replicate to (PIPL keeps mainland China's data in mainland China). It
    runs no fleet: a VPC with a vSwitch per zone, the PolarDB standby cluster and the OSS
    replica bucket."""

    name: str
    availability_zones: tuple[str, ...]
    cidr: str

    @property
    def info(self) -> catalog.RegionInfo:
        found = catalog.region("alicloud", self.name)
        assert found is not None, "validated in _check_data_replica"
        return found

    @property
    def code(self) -> str:
        return self.info.code


#: active: built and served. lost: its control plane is unreachable (a region outage): its
#: resources stay declared exactly as they were, the engine may not change them
#: (``ignore_changes: ["*"]``), the program makes no call to its API, and it leaves DNS; the
#: other regions take over (``python -m courier dr``, docs/dr.md).
RegionStatus = Literal["active", "lost"]


class RegionSpec(_Model):
    """One region the environment runs in. Order in config = failover priority."""

    name: str
    cloud: catalog.Cloud = "aws"
    role: Role
    status: RegionStatus = "active"
    availability_zones: tuple[str, ...]
    cidr: str
    #: A warm standby runs this share of the active fleets' min/desired (max stays full).
    capacity_percent: Annotated[WholeNumber, _between(1, 100)] = 100
    #: Default: one NAT gateway per zone in prod (a zone outage keeps egress), one elsewhere.
    nat_gateways: NatGateways | None = None
    #: Where the region's Kubernetes services run (required when it hosts any).
    kubernetes: ClusterSpec | None = None
    #: Break-glass SSH to the fleet instances from these networks (default: none; instances
    #: are managed through SSM Session Manager). The policy pack refuses 0.0.0.0/0.
    ssh_allowed_cidrs: tuple[str, ...] = ()
    #: AWS only: the account's quotas in the region; the peak of every fleet and node group at
    #: its largest maximum must fit (prod regions without quotas are advised to set them).
    quotas: QuotasSpec | None = None
    #: Alibaba Cloud only: the HTTPS certificate (Certificate Management Service ID) for
    #: ``api.<domain>`` and ``<code>.api.<domain>``.
    certificate_id: (
        Annotated[str, _matching(r"[0-9]+(-[a-z0-9-]+)?", "a certificate ID such as 12345678-cn-hangzhou")] | None
    ) = None
    #: Alibaba Cloud only: where the region's data replicates (required in prod).
    data_replica: DataReplicaSpec | None = None
    #: Alibaba Cloud only: an ARMS Prometheus in the region's VPC that scrapes the fleets, with the
    #: AWS regions' alert rules and routing (components.alicloud.prometheus; docs/decisions.md).
    #: A billed product, so it is asked for per region (prod and staging ship it on).
    arms_prometheus: Flag = False

    @property
    def lost(self) -> bool:
        return self.status == "lost"

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
    min: Annotated[WholeNumber, _between(0, 1000)]
    desired: Annotated[WholeNumber, _between(0, 1000)]
    max: Annotated[WholeNumber, _between(1, 1000)]

    def as_capacity(self) -> planning.Capacity:
        return planning.Capacity(self.min, self.desired, self.max)


class ScalingSpec(_Model):
    #: Average CPU the target-tracking policy holds the fleet at.
    cpu_target: Annotated[WholeNumber, _between(10, 95)] = 80
    #: Seconds a new instance needs before its metrics count (boot + app start).
    warmup_seconds: Annotated[WholeNumber, _between(0, 3600)] = 300
    #: Seconds after launch before a failing load balancer health check replaces an instance.
    health_check_grace_seconds: Annotated[WholeNumber, _between(0, 7200)] = 300
    #: Stopped, pre-initialised instances that join in seconds. Default: on in prod.
    warm_pool: Flag | None = None
    #: Instances the warm pool keeps booted and stopped, whatever the group's desired
    #: capacity. Default: the first wave of a surge step (desired x surgeStepPercent / 100),
    #: or the desired capacity without one (a doubling joins from the pool).
    warm_pool_size: Annotated[WholeNumber, _between(1, 1000)] | None = None
    #: AWS fleets: CPU every 10 seconds (the CloudWatch agent's high-resolution metric) and a
    #: second target-tracking policy on it, which also does the scaling in: a scale-out round
    #: takes seconds instead of minutes. Default: on in prod.
    high_resolution: Flag | None = None
    #: AWS fleets: when the 10-second CPU reaches 95% (saturated: CPU cannot say by how much
    #: demand exceeds capacity), add this percentage of the serving instances at once (a step
    #: policy), so a surge is absorbed in one round; the target-tracking policies trim any
    #: overshoot within minutes. 0: no step. Default: 250 in prod (a 4x surge on a fleet at
    #: its target), 0 elsewhere. Needs highResolution.
    surge_step_percent: Annotated[WholeNumber, _between(0, 1000)] | None = None


class ArtifactSpec(_Model):
    """The release a VM fleet, or a Kubernetes service on an EKS cluster the stack builds, runs:
    a container image in the stack's registry in the instance's or cluster's own region (Amazon
    ECR in every AWS region, Alibaba Cloud Container Registry in Alibaba Cloud regions), named by
    digest (immutable, required in prod) or by tag (dev and staging)."""

    digest: Annotated[str, _DIGEST] | None = None
    tag: Annotated[str, _TAG] | None = None

    @property
    def reference(self) -> str:
        """``@sha256:...`` or ``:<tag>``, to append to a repository URI."""
        return f"@{self.digest}" if self.digest else f":{self.tag}"


class SloSpec(_Model):
    availability_percent: Annotated[Number, _between(90, 99.999)] = 99.9
    latency_p99_ms: Annotated[WholeNumber, _between(1, 60000)] = 500


class WorkloadSpec(_Model):
    """How a ``platform: kubernetes`` service runs: its container and its resources. The
    service's capacity counts pods."""

    #: Full container image reference the service runs on a cluster the stack does not build
    #: (``cluster: existing``, which pulls from wherever it can reach), pinned by digest in prod.
    #: Required there and only there: on an EKS cluster the stack builds, the service runs its
    #: ``artifact`` from ECR in the cluster's own region.
    image: (
        Annotated[
            str,
            _matching(
                r"[a-z0-9][a-z0-9._/:@-]*", "a container image reference such as registry.example.com/orders:1.4.2"
            ),
        ]
        | None
    ) = None
    cpu_request_millicores: Annotated[WholeNumber, _between(50, 16000)] = 500
    memory_request_mib: Annotated[WholeNumber, _between(64, 65536), Field(alias="memoryRequestMiB")] = 512
    #: Default: twice the request (headroom for bursts without starving neighbours).
    cpu_limit_millicores: Annotated[WholeNumber, _between(50, 32000)] | None = None
    #: Default: the request (memory is not compressible: a pod over its request is evicted first).
    memory_limit_mib: Annotated[Annotated[WholeNumber, _between(64, 131072)] | None, Field(alias="memoryLimitMiB")] = (
        None
    )

    @property
    def cpu_limit(self) -> int:
        return self.cpu_limit_millicores or 2 * self.cpu_request_millicores

    @property
    def memory_limit(self) -> int:
        return self.memory_limit_mib or self.memory_request_mib


class ServiceSpec(_Model):
    """One courier service (orders, dispatch, tracking, payments)."""

    name: Annotated[str, _SERVICE_NAME]
    port: Annotated[WholeNumber, _between(1024, 65535)]
    health_check_path: Annotated[str, _PATH] = "/healthz"
    platform: Platform = "vm"
    instance_types: tuple[Annotated[str, _AWS_INSTANCE_TYPE], ...] = ("c6i.large",)
    #: SSM parameter holding the AMI ID in each region, for a team's own image pipeline: it
    #: moves whenever the pipeline publishes (and a new AMI rolls the fleet on the next `up`).
    #: Default: the pinned ``courier:hostImages.aws`` AMI name for the instance types'
    #: architecture, which changes only when the config does.
    image: Annotated[str, _IMAGE] | None = None
    #: Alibaba Cloud instance types for the same fleet in Alibaba regions.
    alicloud_instance_types: tuple[Annotated[str, _ALI_INSTANCE_TYPE], ...] = ("ecs.c7.large",)
    capacity: CapacitySpec
    scaling: ScalingSpec = ScalingSpec()
    slo: SloSpec = SloSpec()
    #: Container settings, for ``platform: kubernetes``.
    kubernetes: WorkloadSpec | None = None
    #: The release the service runs from the stack's registry in each region: required for a
    #: ``platform: vm`` fleet and for a Kubernetes service on an EKS cluster the stack builds
    #: (an existing cluster runs ``kubernetes.image`` instead).
    artifact: ArtifactSpec | None = None
    #: Names of the regions the service runs in. Default: every region.
    regions: tuple[str, ...] | None = None
    #: The data stores the service uses (courier:data): its role may reach exactly these, and
    #: their endpoints are in its boot environment.
    stores: tuple[Store, ...] = ()

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


#: The longest lead planning.prewarm_lead_minutes computes from the spec's bounds (a 3600 s
#: launch and a 3600 s warmup): windows are checked for overlap with it.
MAX_COMPUTED_LEAD_MINUTES = planning.prewarm_lead_minutes(3600, 3600)


class PromotionSpec(_Model):
    """A known traffic storm (festival sale) that fleets are pre-scaled for."""

    name: Annotated[str, _PROMOTION_NAME]
    start: IsoDateTime
    end: IsoDateTime
    #: Forecast peak / normal load. At least 1.1: a promotion that brings less needs no
    #: pre-scaling, and every pre-scale must raise the fleet's floor (the policies tell a
    #: fleet held for a promotion from one that is not by it).
    expected_peak_multiplier: Annotated[Number, _between(1.1, 20)]
    #: How long before ``start`` capacity is raised. Unset: per fleet, the scheduled action's
    #: lateness + a cold launch + the warmup + 5 minutes (planning.prewarm_lead_minutes): an
    #: earlier raise only costs instance-hours at the peak's size.
    prewarm_minutes: Annotated[WholeNumber, _between(0, 1440)] | None = None

    @property
    def window(self) -> planning.ScheduleWindow:
        """The widest window (the longest computed lead), for checks across promotions."""
        lead = self.prewarm_minutes if self.prewarm_minutes is not None else MAX_COMPUTED_LEAD_MINUTES
        return planning.promotion_window(self.start, self.end, lead)


class ReceiverSpec(_Model):
    """Where a role's alerts are delivered (an SNS subscription on the role's topic)."""

    protocol: Literal["email", "https", "sms"]
    #: An address, an HTTPS URL (e.g. an incident tool's SNS integration) or an E.164 number.
    #: Set secret ones with `pulumi config set --secret --path courier:alerting.receivers...`.
    endpoint: str


class ThresholdsSpec(_Model):
    """Business-signal alert thresholds, tuned from the app's history."""

    order_failure_percent: Annotated[Number, _between(0.1, 50)] = 2
    payment_failure_percent: Annotated[Number, _between(0.1, 50)] = 5
    dispatch_p95_seconds: Annotated[WholeNumber, _between(5, 3600)] = 120
    location_lag_p95_seconds: Annotated[WholeNumber, _between(1, 600)] = 30
    #: Traffic this many times above the same hour yesterday is an early warning (info).
    traffic_surge_multiplier: Annotated[Number, _between(1.2, 20)] = 2


class AlertingSpec(_Model):
    #: Base URL of docs/runbooks as published (the alert name and .md are appended).
    runbook_base_url: Annotated[str, _HTTPS_URL]
    #: Role -> receivers. Roles: the five on-call roles and deadmans-switch.
    receivers: dict[str, tuple[ReceiverSpec, ...]] = {}
    thresholds: ThresholdsSpec = ThresholdsSpec()

    def runbook_url(self, alert: str) -> str:
        return f"{self.runbook_base_url.rstrip('/')}/{alert}.md"


#: Pinned host images (bump deliberately: a new image rolls every fleet). AL2023 releases are
#: listed in the AL2023 release notes; the AMI name is the same in every region.
DEFAULT_AWS_HOST_IMAGE = "al2023-ami-2023.11.20260526.0-kernel-6.18"
DEFAULT_ALICLOUD_HOST_IMAGE = "aliyun_3_x64_20G_alibase_20251030.vhd"


class HostImagesSpec(_Model):
    """The operating-system images fleets boot, pinned by name: the same name resolves to the
    same image in every region, so an image changes only when this config changes."""

    #: Amazon-owned AMI name without the ``-x86_64``/``-arm64`` suffix (the fleet's
    #: architecture is appended).
    aws: Annotated[str, _AMI_NAME] = DEFAULT_AWS_HOST_IMAGE
    #: Alibaba Cloud system image name.
    alicloud: Annotated[str, _ALI_IMAGE_NAME] = DEFAULT_ALICLOUD_HOST_IMAGE


class AccessSpec(_Model):
    """An IAM principal that may use the stack's EKS clusters (an EKS access entry)."""

    principal_arn: Annotated[str, _PRINCIPAL_ARN]
    #: admin: cluster admin (deploy roles); edit: change workloads; view: read only (the
    #: pull-request preview role).
    access: Literal["admin", "edit", "view"]


class _StackConfig(_Model):
    environment: Environment
    domain: Annotated[str, _DNS_NAME]
    owner: Annotated[str, _OWNER] = "courier-platform-team"
    regions: tuple[RegionSpec, ...] = Field(min_length=1)
    services: tuple[ServiceSpec, ...] = Field(min_length=1)
    promotions: tuple[PromotionSpec, ...] = ()
    alerting: AlertingSpec
    host_images: HostImagesSpec = HostImagesSpec()
    #: Who may use the EKS clusters besides the identity that created them.
    kubernetes_access: tuple[AccessSpec, ...] = ()
    #: ECR's replication configuration is one per account and region (a put replaces it all):
    #: "managed" (this stack's primary region owns it, copying the stack's repositories to its
    #: other regions) or "external" (another stack or the platform team owns it; then it must
    #: copy courier/<stack>/ to this stack's regions, or CI pushes to every region).
    registry_replication: Literal["managed", "external"] = "managed"
    #: The storm simulator's assumptions and objectives (components.spec.storm).
    storm: StormSpec = StormSpec()
    #: The data tier (components.spec.data).
    data: DataSpec = DataSpec()
    #: The game-day calendar (components.spec.drills).
    drills: DrillsSpec = DrillsSpec()


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


class EnvironmentSpec(DerivedCapacity, _StackConfig):
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
    def storm_objectives(self) -> StormObjectives | None:
        """The storm objectives in force: the config's, else prod's goals in prod, else none."""
        if self.storm.objectives is not None:
            return self.storm.objectives
        return StormObjectives() if self.is_prod else None

    @property
    def primary(self) -> RegionSpec:
        """The active primary region (a lost region keeps the role it had, for its resources)."""
        return next(r for r in self.regions if r.role == "primary" and not r.lost)

    def regions_of(self, cloud: str) -> tuple[RegionSpec, ...]:
        """Every region of ``cloud``, lost ones included (their resources stay declared)."""
        return tuple(r for r in self.regions if r.cloud == cloud)

    def active_regions_of(self, cloud: str) -> tuple[RegionSpec, ...]:
        """The regions of ``cloud`` that serve: DNS, replication targets, failover."""
        return tuple(r for r in self.regions_of(cloud) if not r.lost)

    @property
    def data_origin(self) -> RegionSpec:
        """The AWS region whose Aurora cluster created the global database (courier:data)."""
        name = self.data.database.origin_region
        if name is None:
            return self.primary
        return next(r for r in self.regions_of("aws") if r.name == name)

    @property
    def database_instances(self) -> int:
        configured = self.data.database.instances
        return configured if configured is not None else (2 if self.is_prod else 1)

    def services_on(self, platform: str, region: RegionSpec | None = None) -> tuple[ServiceSpec, ...]:
        return tuple(s for s in self.services_in(region) if s.platform == platform)

    def services_on_eks(self) -> tuple[ServiceSpec, ...]:
        """The Kubernetes services that run on an EKS cluster the stack builds in at least one
        region: each pulls its ``artifact`` from ECR in that cluster's region."""
        return tuple(
            s
            for s in self.services_on("kubernetes")
            if any(s.runs_in(r) and r.kubernetes is not None and r.kubernetes.cluster == "eks" for r in self.regions)
        )

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

    def repository(self, service: ServiceSpec) -> str:
        """The container repository of a service's releases (a VM fleet's, or a Kubernetes
        service's on EKS), in every region's registry. Per stack, so stacks sharing an account
        never fight over one repository."""
        return f"courier/{self.stack.lower()}/{service.name}"

    def upcoming_promotions(self) -> tuple[PromotionSpec, ...]:
        """Promotions whose end is still ahead (AWS refuses scheduled actions in the past)."""
        return tuple(p for p in self.promotions if p.end > self.as_of)

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
