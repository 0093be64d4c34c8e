"""AlicloudRegion: everything one Alibaba Cloud region runs, with that region's provider."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_alicloud as ali
import pulumi_random as random

from components import lost, planning
from components.alicloud import names
from components.alicloud.alarms import AlicloudAlarms, AlicloudAlarmsArgs, ServerGroupWatch
from components.alicloud.data import AlicloudData, AlicloudDataArgs
from components.alicloud.fleet import SCHEDULING_HORIZON, EssFleet, EssFleetArgs
from components.alicloud.load_balancer import AlicloudLoadBalancer, AlicloudLoadBalancerArgs, AlicloudTarget
from components.alicloud.network import AlicloudNetwork, AlicloudNetworkArgs
from components.alicloud.oncall import AlicloudOnCall, AlicloudOnCallArgs, Contact
from components.alicloud.prometheus import ArmsPrometheus, ArmsPrometheusArgs
from components.alicloud.registry import NODE_EXPORTER_REPOSITORY, AlicloudRegistry, AlicloudRegistryArgs
from components.monitoring import agent
from components.spec import EnvironmentSpec, RegionSpec, ServiceSpec

TYPE = "courier:alicloud:Region"


@dataclass(frozen=True)
class AlicloudRegionArgs:
    spec: EnvironmentSpec
    region: RegionSpec
    #: The region's Alibaba Cloud provider; every child resource is created through it.
    provider: ali.Provider
    #: The provider of the region's data replica (regions[].dataReplica), when it has one.
    replica_provider: ali.Provider | None = None
    #: Generates the database password (components.providers.random_provider).
    random_provider: random.Provider | None = None


class AlicloudRegion(pulumi.ComponentResource):
    """Network, load balancer, on-call contacts, CloudMonitor alarms on the load balancer, a
    Managed Service for Prometheus instance with the region's alert rules (when it runs VM
    services), the stack's container registry in the region (when it runs VM services) and one ESS fleet per
    VM service, pulling its release from that registry."""

    load_balancer: AlicloudLoadBalancer
    registry: AlicloudRegistry | None
    fleets: dict[str, EssFleet]

    def __init__(self, name: str, args: AlicloudRegionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(
            TYPE,
            name,
            None,
            pulumi.ResourceOptions.merge(
                pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[args.provider])),
                # A lost region stays declared as it was and is never changed (components.lost).
                lost.options(args.region.lost),
            ),
        )
        spec, region = args.spec, args.region
        child = pulumi.ResourceOptions(parent=self)
        services = spec.services_on("vm", region)
        assert region.certificate_id is not None, "validated by the spec"
        # Every Alibaba Cloud name starts with the stack and region (components.alicloud.names):
        # dev, staging and prod may share an account.
        prefix = names.prefix(spec.stack, region.code)

        network = AlicloudNetwork(
            name,
            AlicloudNetworkArgs(
                cidr=region.cidr,
                zones=region.availability_zones,
                nat_per_zone=spec.nat_per_zone(region),
                name_prefix=prefix,
                tags=spec.tags(),
            ),
            opts=child,
        )
        self.load_balancer = AlicloudLoadBalancer(
            name,
            AlicloudLoadBalancerArgs(
                vpc_id=network.vpc_id,
                zone_mappings=list(zip(region.availability_zones, network.edge_vswitch_ids, strict=True)),
                certificate_id=region.certificate_id,
                log_project_name=_log_project_name(spec, region),
                services=[AlicloudTarget(s.name, s.port, s.health_check_path, s.path_patterns) for s in services],
                name_prefix=prefix,
                deletion_protection=spec.safety.deletion_protection,
                access_log_retention_days=spec.safety.log_retention_days,
                tags=spec.tags(),
            ),
            opts=child,
        )
        secret = "alerting" in spec.secret_keys
        contacts = {
            role: [Contact(r.protocol, pulumi.Output.secret(r.endpoint) if secret else r.endpoint) for r in receivers]
            for role, receivers in spec.alerting.receivers.items()
        }
        on_call = AlicloudOnCall(
            name,
            AlicloudOnCallArgs(
                contacts=contacts,
                name_prefix=prefix,
                tags=spec.tags(),
            ),
            opts=child,
        )
        # The load balancer's 5xx, latency and health alarms, paging the same roles as AWS's.
        AlicloudAlarms(
            name,
            AlicloudAlarmsArgs(
                load_balancer_id=self.load_balancer.load_balancer_id,
                server_groups=[
                    ServerGroupWatch(s.name, self.load_balancer.server_group_ids[s.name], s.slo.latency_p99_ms)
                    for s in services
                ],
                contact_groups=on_call.contact_group_names,
                name_prefix=prefix,
                availability_percent=min((s.slo.availability_percent for s in services), default=99.9),
                runbook_base_url=spec.alerting.runbook_base_url,
                tags=spec.tags(),
            ),
            opts=child,
        )
        # The Prometheus alerts of the AWS regions, evaluated and routed in this region, on
        # metrics its collector scrapes from the fleets inside the VPC (regions[].armsPrometheus).
        self.prometheus = (
            ArmsPrometheus(
                name,
                ArmsPrometheusArgs(
                    spec=spec,
                    region=region,
                    name_prefix=prefix,
                    contacts=contacts,
                    vpc_id=network.vpc_id,
                    vswitch_id=network.app_vswitch_ids[0],
                    fleets={s.name: s.port for s in services},
                    tags=spec.tags(),
                ),
                opts=child,
            )
            if services and region.arms_prometheus
            else None
        )
        account = ali.get_account_output(opts=pulumi.InvokeOutputOptions(parent=self))
        # Each region's instances pull from a registry in that region (docs/decisions.md): CI
        # pushes every release to each Alibaba Cloud region's instance.
        self.registry = (
            AlicloudRegistry(
                name,
                AlicloudRegistryArgs(
                    instance_name=_registry_instance_name(spec, region),
                    region=region.name,
                    namespace=registry_namespace(spec),
                    repositories=[s.name for s in services]
                    + ([NODE_EXPORTER_REPOSITORY] if self.prometheus is not None else []),
                    vpc_id=network.vpc_id,
                    vswitch_id=network.app_vswitch_ids[0],
                    protect=spec.safety.protect_stateful,
                    tags=spec.tags(),
                ),
                opts=child,
            )
            if services
            else None
        )

        replica = region.data_replica
        self.data: AlicloudData | None = None
        if replica is not None and args.replica_provider is not None and args.random_provider is not None:
            # PIPL: mainland China's data stays in mainland China (components.alicloud.data).
            self.data = AlicloudData(
                f"{name}-data",
                AlicloudDataArgs(
                    stack=spec.stack,
                    region=region.name,
                    region_code=region.code,
                    provider=args.provider,
                    vpc_id=network.vpc_id,
                    vpc_cidr=region.cidr,
                    app_vswitch_ids=network.app_vswitch_ids,
                    zones=region.availability_zones,
                    replica_region=replica.name,
                    replica_region_code=replica.code,
                    replica_provider=args.replica_provider,
                    replica_zones=replica.availability_zones,
                    replica_cidr=replica.cidr,
                    account_id=account.id,
                    random_provider=args.random_provider,
                    domain=spec.domain,
                    engine_version=spec.data.database.engine_version.split(".")[0],
                    node_class=spec.data.china.polardb_node_class,
                    nodes=max(2, spec.database_instances),
                    backup_retention_days=min(14, max(3, spec.data.database.backup_retention_days)),
                    noncurrent_version_days=spec.data.media_noncurrent_days,
                    lag_alarm_seconds=int(spec.data.rpo_alarm_seconds),
                    multi_zone=spec.is_prod,
                    deletion_protection=spec.safety.deletion_protection,
                    protect=spec.safety.protect_stateful,
                    tags=spec.tags(),
                ),
                opts=child,
            )
        self.fleets = {}
        for service in services:
            assert self.registry is not None and service.artifact is not None, "validated by the spec"
            capacity = spec.capacity(service, region)
            ready, deferred = planning.within_horizon(
                spec.promotion_schedules(service, region), spec.as_of, SCHEDULING_HORIZON
            )
            self.fleets[service.name] = EssFleet(
                f"{name}-{service.name}",
                EssFleetArgs(
                    service=service.name,
                    port=service.port,
                    instance_types=service.alicloud_instance_types,
                    vpc_id=network.vpc_id,
                    vswitch_ids=network.app_vswitch_ids,
                    load_balancer_security_group_id=self.load_balancer.security_group_id,
                    server_group_id=self.load_balancer.server_group_ids[service.name],
                    capacity=capacity,
                    name_prefix=f"{prefix}-{service.name}",
                    artifact=self.registry.image(service.name, service.artifact.reference),
                    host_image=spec.host_images.alicloud,
                    reachable=not region.lost,
                    health_check_path=service.health_check_path,
                    cpu_target=service.scaling.cpu_target,
                    warmup_seconds=service.scaling.warmup_seconds,
                    surge_step_percent=spec.surge_step_percent(service),
                    balance_zones=spec.is_prod,
                    deletion_protection=spec.safety.deletion_protection,
                    promotions=ready,
                    deferred=deferred,
                    account_id=account.id,
                    ssh_allowed_cidrs=region.ssh_allowed_cidrs,
                    region=region.name,
                    environment=spec.environment,
                    **_data_access_of(self.data, service),
                    **self._scraped_by(self.prometheus, self.registry),
                    tags=spec.tags(service.name),
                ),
                opts=child,
            )
        self.register_outputs(
            {
                "loadBalancerDnsName": self.load_balancer.dns_name,
                "fleetGroupIds": {k: f.group_id for k, f in self.fleets.items()},
            }
        )

    @staticmethod
    def _scraped_by(prometheus: ArmsPrometheus | None, registry: AlicloudRegistry) -> dict[str, Any]:
        """EssFleetArgs for the region's collector: its security group, and node_exporter's image."""
        if prometheus is None:
            return {}
        return {
            "scraper_security_group_id": prometheus.security_group_id,
            "node_exporter": registry.image(NODE_EXPORTER_REPOSITORY, agent.NODE_EXPORTER.reference),
        }


def _data_access_of(data: AlicloudData | None, service: ServiceSpec) -> dict[str, Any]:
    """EssFleetArgs for the stores the service uses in mainland China: the PolarDB cluster's
    endpoint and the media bucket in its boot environment, the bucket (and its key) in its role.
    Rider locations and the cache live in the AWS regions only (China's fleets use the database)."""
    if data is None or not service.stores:
        return {}
    environment: dict[str, pulumi.Input[str]] = {}
    extra: dict[str, Any] = {}
    if "database" in service.stores:
        environment.update(
            {
                "COURIER_DB_ENDPOINT": data.database_endpoint,
                "COURIER_DB_NAME": "courier",
                "COURIER_DB_PORT": "5432",
            }
        )
    if "media" in service.stores:
        environment["COURIER_MEDIA_BUCKET"] = data.bucket_name
        extra = {"media_bucket": data.bucket_name, "media_key_id": data.key_id}
    return {"data_environment": environment, **extra}


def registry_namespace(spec: EnvironmentSpec) -> str:
    """``courier-<stack>``: Container Registry names a repository by namespace and name, so the
    stack's ``courier/<stack>/<service>`` becomes namespace ``courier-<stack>``, repository
    ``<service>`` (the stack as components.alicloud.names writes it: short, lowercase)."""
    return f"courier-{names.stack_token(spec.stack)}"


def _registry_instance_name(spec: EnvironmentSpec, region: RegionSpec) -> str:
    # The instance name is the start of its domain (<name>-registry-vpc.<region>.cr.aliyuncs.com),
    # so it is unique in the region across Alibaba Cloud: the stack, the region and four hex
    # digits of the domain's hash keep it within CreateInstance's 30 characters.
    digest = hashlib.sha256(spec.domain.encode()).hexdigest()[:4]
    return f"courier-{names.stack_token(spec.stack)}-{region.code}-{digest}"


def _log_project_name(spec: EnvironmentSpec, region: RegionSpec) -> str:
    # Log Service project names are unique across all of Alibaba Cloud: the domain's hash
    # keeps this organisation's apart from everyone else's.
    digest = hashlib.sha256(spec.domain.encode()).hexdigest()[:8]
    return f"courier-{spec.stack}-{region.code}-{digest}"
