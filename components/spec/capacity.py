"""What the stack's capacity comes to, derived from the config: each fleet's capacity in a
region (a standby's share), warm pools and surge steps, promotions' pre-scales and their lead,
EKS node groups sized from the pods' requests, and the vCPUs a region's peak needs. A mixin of
EnvironmentSpec (components.spec.model), kept apart so the config model stays a model."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from components import catalog, planning
from components.spec.storm import resolved

if TYPE_CHECKING:
    from datetime import datetime

    from components.spec.model import PromotionSpec, RegionSpec, Safety, ServiceSpec
    from components.spec.storm import StormSpec

#: Prod's saturation step: a fleet at its 80% target hit by 4x load needs 3.2x its capacity,
#: i.e. +220%; 250 leaves room for rounding and a fleet running slightly hot.
DEFAULT_SURGE_STEP_PERCENT = 250


class DerivedCapacity:
    """Capacity math over the spec's fields (declared here for the type checker only)."""

    if TYPE_CHECKING:
        promotions: tuple[PromotionSpec, ...]
        storm: StormSpec
        as_of: datetime

        @property
        def safety(self) -> Safety: ...

        @property
        def is_prod(self) -> bool: ...

        def services_on(self, platform: str, region: RegionSpec | None = None) -> tuple[ServiceSpec, ...]: ...

    def warm_pool(self, service: ServiceSpec) -> bool:
        if service.scaling.warm_pool is None:
            return self.safety.warm_pools
        return service.scaling.warm_pool

    def warm_pool_size(self, service: ServiceSpec, region: RegionSpec) -> int:
        """Instances the fleet's warm pool keeps ready (0 without a warm pool): the configured
        size, else the first wave of a surge step, else the desired capacity."""
        if not self.warm_pool(service):
            return 0
        if service.scaling.warm_pool_size:
            return service.scaling.warm_pool_size
        desired = max(1, self.capacity(service, region).desired)
        step = self.surge_step_percent(service)
        return max(1, math.ceil(desired * step / 100 - 1e-9)) if step else desired

    def high_resolution(self, service: ServiceSpec) -> bool:
        """Whether the AWS fleet scales on 10-second CPU too (default: prod)."""
        if service.scaling.high_resolution is None:
            return self.is_prod
        return service.scaling.high_resolution

    def surge_step_percent(self, service: ServiceSpec) -> int:
        """The AWS fleet's saturation step (0: none); prod's default needs high resolution."""
        if service.scaling.surge_step_percent is not None:
            return service.scaling.surge_step_percent
        return DEFAULT_SURGE_STEP_PERCENT if self.is_prod and self.high_resolution(service) else 0

    def promotion_schedules(self, service: ServiceSpec, region: RegionSpec) -> list[planning.PromotionSchedule]:
        """Pre-scale and restore moments with the capacity to hold, for the promotions ahead:
        sized from the forecast load (the service's normal CPU, courier:storm), raised a lead
        ahead that covers a cold launch and the warmup unless the promotion sets its own."""
        lead = self.prewarm_lead(service, region)
        return planning.promotion_schedules(
            [
                (
                    p.name,
                    p.start,
                    p.end,
                    p.prewarm_minutes if p.prewarm_minutes is not None else lead,
                    p.expected_peak_multiplier,
                )
                for p in self.promotions
            ],
            self.capacity(service, region),
            service.scaling.cpu_target,
            self.as_of,
            normal_cpu_percent=float(self.storm_assumptions(service)["normalCpuPercent"]),
        )

    def storm_assumptions(self, service: ServiceSpec) -> dict[str, float]:
        """The service's assumptions (components.spec.storm): boot times, normal CPU, ..."""
        return resolved(self.storm, service.name)

    def prewarm_lead(self, service: ServiceSpec, region: RegionSpec) -> int:
        """Minutes before a promotion the fleet's capacity is raised by default."""
        facts = self.storm_assumptions(service)
        if service.platform == "kubernetes":
            launch = facts["nodeProvisionSeconds"] + facts["podStartSeconds"]
            warmup = 0.0
        else:
            launch = facts["alicloudBootSeconds"] if region.cloud == "alicloud" else facts["bootSeconds"]
            warmup = service.scaling.warmup_seconds
        return planning.prewarm_lead_minutes(launch, warmup)

    def node_group(self, region: RegionSpec) -> planning.Capacity | None:
        """The EKS node group of ``region`` sized from its Kubernetes services' requests (None
        without an EKS cluster)."""
        cluster = region.kubernetes
        services = self.services_on("kubernetes", region)
        if cluster is None or cluster.cluster != "eks" or not services:
            return None
        vcpus, memory = catalog.instance_spec(cluster.node_instance_types[0]) or (2, 8192)
        demands = []
        for service in services:
            assert service.kubernetes is not None
            capacity = self.capacity(service, region)
            peak = max([capacity.max, *(p.capacity.max for p in self.promotion_schedules(service, region))])
            demands.append(
                planning.PodDemand(
                    service.kubernetes.cpu_request_millicores, service.kubernetes.memory_request_mib, capacity.min, peak
                )
            )
        return planning.node_group_capacity(demands, vcpus, memory, len(region.availability_zones))

    def peak_standard_vcpus(self, region: RegionSpec) -> tuple[int, list[str]]:
        """vCPUs of standard-family On-Demand instances running in ``region`` if every fleet and
        the node group reached their largest maximum (a promotion's, if larger), and the instance
        types whose vCPUs or quota this cannot tell."""
        total, unknown = 0, []
        for service in self.services_on("vm", region):
            ceiling = max(
                [
                    self.capacity(service, region).max,
                    *(p.capacity.max for p in self.promotion_schedules(service, region)),
                ]
            )
            sizes = [catalog.vcpus(t) for t in service.instance_types]
            if any(size is None for size in sizes) or not all(
                catalog.standard_family(t) for t in service.instance_types
            ):
                unknown.extend(service.instance_types)
                continue
            total += ceiling * max(size or 0 for size in sizes)
        nodes = self.node_group(region)
        if nodes is not None and region.kubernetes is not None:
            kind = region.kubernetes.node_instance_types[0]
            size = catalog.vcpus(kind)
            if size is None or not catalog.standard_family(kind):
                unknown.append(kind)
            else:
                total += nodes.max * size
        return total, unknown

    def capacity(self, service: ServiceSpec, region: RegionSpec) -> planning.Capacity:
        return planning.regional_capacity(
            service.capacity.as_capacity(), region.capacity_percent, self.safety.min_capacity_floor
        )
