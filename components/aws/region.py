"""AwsRegion: everything one AWS region runs, built with that region's provider."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import lost
from components.aws.alarms import Alarms, AlarmsArgs, FleetWatch
from components.aws.data import DataHandles, RegionalData, RegionalDataArgs
from components.aws.data import naming as data_naming
from components.aws.data.settings import Routing, data_settings
from components.aws.drills import Drills, DrillsArgs, PodService, Switchover
from components.aws.drills.hypotheses import Fleet as DrillFleet
from components.aws.eks import EksCluster, EksClusterArgs, PodRole
from components.aws.fleet import DataAccess, Fleet, FleetArgs, MetricsSink
from components.aws.load_balancer import LoadBalancer, LoadBalancerArgs, ServiceTarget
from components.aws.network import Network, NetworkArgs
from components.aws.oncall_topics import OnCallTopics, OnCallTopicsArgs, Subscription
from components.aws.prometheus import ManagedPrometheus, ManagedPrometheusArgs
from components.aws.registry import Registry, RegistryArgs
from components.kubernetes import addons, charts
from components.kubernetes.addons import AUTOSCALER_ACCOUNT, PROMETHEUS_ACCOUNT
from components.kubernetes.services import KubernetesServices, KubernetesServicesArgs
from components.monitoring import agent, rules
from components.spec import DEADMANS_SWITCH, EnvironmentSpec, RegionSpec, ServiceSpec
from components.spec.drills import calendar
from components.spec.storm import resolved

TYPE = "courier:aws:Region"


@dataclass(frozen=True)
class AwsRegionArgs:
    spec: EnvironmentSpec
    region: RegionSpec
    #: The region's AWS provider; every child resource is created through it.
    provider: aws.Provider
    #: An issued certificate for the API names, from components.aws.certificates.
    certificate_arn: pulumi.Input[str]
    #: The region's share of the data tier (what the shared stores and the origin give it).
    data: DataInputs | None = None


@dataclass(frozen=True)
class DataInputs:
    global_cluster_identifier: pulumi.Input[str]
    global_writer_endpoint: pulumi.Input[str]
    master_password: pulumi.Input[str]
    #: None in the origin region (it makes them).
    handles: DataHandles | None = None
    after: tuple[pulumi.Resource, ...] = ()


class AwsRegion(pulumi.ComponentResource):
    """Network, load balancer, on-call topics, the Managed Prometheus workspace with the
    region's rules and routing, the stack's container registry in the region (replicating to
    the other AWS regions from the primary), one fleet per VM service (each instance running
    its release from this region's registry and remote-writing its metrics there) and the
    CloudWatch alarms."""

    load_balancer: LoadBalancer
    fleets: dict[str, Fleet]
    data: RegionalData | None
    #: The EKS cluster the region builds (None without one, or on an existing cluster).
    cluster: EksCluster | None = None
    #: On that cluster: its Kubernetes provider and services (the pod drills' RBAC goes there).
    _cluster_provider: k8s.Provider | None = None
    _cluster_services: KubernetesServices | None = None

    @property
    def data_tier(self) -> RegionalData:
        assert self.data is not None, "the environment gives every AWS region its data inputs"
        return self.data

    def __init__(self, name: str, args: AwsRegionArgs, opts: pulumi.ResourceOptions | None = None):
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

        self.network = Network(
            name,
            NetworkArgs(
                cidr=region.cidr,
                availability_zones=region.availability_zones,
                nat_per_zone=spec.nat_per_zone(region),
                flow_log_retention_days=spec.safety.log_retention_days,
                tags=spec.tags(),
            ),
            opts=child,
        )
        self.load_balancer = LoadBalancer(
            name,
            LoadBalancerArgs(
                region=region.name,
                vpc_id=self.network.vpc_id,
                vpc_cidr=region.cidr,
                public_subnet_ids=self.network.public_subnet_ids,
                certificate_arn=args.certificate_arn,
                services=[_target(s) for s in spec.fronted_services(region)],
                deletion_protection=spec.safety.deletion_protection,
                access_log_retention_days=spec.safety.log_retention_days,
                protect_logs=spec.safety.protect_stateful,
                tags=spec.tags(),
            ),
            opts=child,
        )
        self.topics = OnCallTopics(
            name, OnCallTopicsArgs(subscriptions=subscriptions(spec), stack=spec.stack, tags=spec.tags()), opts=child
        )
        if spec.is_prod and region.quotas is None:
            peak, _ = spec.peak_standard_vcpus(region)
            pulumi.log.warn(
                f"{region.name} sets no regions[].quotas: at their largest maximum its fleets and nodes run {peak} "
                "vCPUs of standard On-Demand instances; state the account's quota (onDemandStandardVcpus) so the "
                "plan checks that the peak fits it",
                self,
            )
        self.registry = Registry(
            name,
            RegistryArgs(
                repositories=_repositories(spec),
                prefix=_prefix(spec),
                # One replication configuration per account and region: the primary's copies
                # every release to the stack's other AWS regions (docs/decisions.md).
                replicate_to=[r.name for r in spec.active_regions_of("aws") if r.name != region.name]
                if region.role == "primary" and spec.registry_replication == "managed"
                else [],
                protect=spec.safety.protect_stateful,
                tags=spec.tags(),
            ),
            opts=child,
        )
        self.prometheus = ManagedPrometheus(
            name,
            ManagedPrometheusArgs(
                region=region.name,
                rules_yaml=rules.rule_file(spec, region),
                topic_arns=self.topics.topic_arns,
                log_retention_days=spec.safety.log_retention_days,
                tags=spec.tags(),
            ),
            opts=child,
        )

        self.data = self._data(name, spec, region, args.data) if args.data is not None else None
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.fleets = {}
        for service in services:
            access = None
            if self.data is not None and service.stores:
                environment, policy = self.data.access(service.name, service.stores, identity.account_id)
                access = DataAccess(self.data.client_security_group_id, environment, policy)
            self.fleets[service.name] = self._fleet(name, spec, region, service, access)
        if spec.services_on("kubernetes", region):
            self._kubernetes(name, spec, region)

        alarms = Alarms(
            name,
            AlarmsArgs(
                load_balancer_arn_suffix=self.load_balancer.arn_suffix,
                fleets=[
                    FleetWatch(
                        service=s.name,
                        group_name=self.fleets[s.name].group_name,
                        target_group_arn_suffix=self.load_balancer.target_groups[s.name].arn_suffix,
                        cpu_target=s.scaling.cpu_target,
                        latency_p99_ms=s.slo.latency_p99_ms,
                    )
                    for s in services
                ],
                topic_arns=self.topics.topic_arns,
                availability_percent=min((s.slo.availability_percent for s in services), default=99.9),
                runbook_base_url=spec.alerting.runbook_base_url,
                tags=spec.tags(),
            ),
            opts=child,
        )
        # Declared in a lost region too: it stays declared as it was (components.lost).
        self._drills(name, spec, region, alarms, identity.account_id, args.data)
        self.register_outputs(
            {
                "loadBalancerDnsName": self.load_balancer.dns_name,
                "fleetGroupNames": {k: f.group_name for k, f in self.fleets.items()},
            }
        )

    def _kubernetes(self, name: str, spec: EnvironmentSpec, region: RegionSpec) -> None:
        """An EKS cluster (or an existing one) with the region's Kubernetes services on it."""
        cluster = region.kubernetes
        assert cluster is not None, "validated by the spec"
        child = pulumi.ResourceOptions(parent=self)
        kube_services = spec.services_on("kubernetes", region)
        if cluster.cluster == "existing":
            assert cluster.kubeconfig is not None, "validated by the spec"
            provider = k8s.Provider(
                f"{name}-k8s",
                kubeconfig=pulumi.Output.secret(cluster.kubeconfig),
                # A lost region's cluster cannot be reached: leave its objects as recorded.
                skip_update_unreachable=True if region.lost else None,
                opts=child,
            )
            KubernetesServices(name, KubernetesServicesArgs(spec=spec, region=region, provider=provider), opts=child)
            return

        cluster_name = f"courier-{spec.stack}-{region.code}"
        nodes = spec.node_group(region)
        assert nodes is not None, "the region builds an EKS cluster for its Kubernetes services"
        eks = self.cluster = EksCluster(
            name,
            EksClusterArgs(
                cluster_name=cluster_name,
                region=region.name,
                version=cluster.version,
                private_subnet_ids=self.network.private_subnet_ids,
                node_instance_types=cluster.node_instance_types,
                node_image_release=cluster.node_image_release,
                nodes=nodes,
                api_allowed_cidrs=cluster.api_allowed_cidrs,
                load_balancer_security_group_id=self.load_balancer.security_group_id,
                node_ports=[s.node_port for s in kube_services],
                pod_roles={
                    "autoscaler": PodRole(*AUTOSCALER_ACCOUNT, addons.autoscaler_statements(cluster_name)),
                    "metrics": PodRole(
                        *PROMETHEUS_ACCOUNT,
                        [
                            self.prometheus.workspace_arn.apply(
                                lambda arn: {"Effect": "Allow", "Action": "aps:RemoteWrite", "Resource": arn}
                            )
                        ],
                    ),
                },
                access=spec.kubernetes_access,
                deletion_protection=spec.safety.deletion_protection,
                log_retention_days=spec.safety.log_retention_days,
                tags=spec.tags(),
            ),
            opts=child,
        )
        # The load balancer reaches each service on its NodePort on every node of the group.
        for service in kube_services:
            aws.autoscaling.Attachment(
                f"{name}-{service.name}-nodes",
                autoscaling_group_name=eks.node_group_asg_name,
                lb_target_group_arn=self.load_balancer.target_groups[service.name].arn,
                opts=child,
            )
        provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=eks.kubeconfig,
            # A lost region's cluster cannot be reached: leave its objects as recorded.
            skip_update_unreachable=True if region.lost else None,
            opts=child,
        )
        images: dict[str, pulumi.Input[str]] = {}
        for service in kube_services:
            assert service.artifact is not None, "validated by the spec: services on EKS name their artifact"
            # From this region's ECR (the node role may pull from it): pods scheduled during a
            # storm never depend on a registry outside the region.
            images[service.name] = self.registry.image(spec.repository(service), service.artifact.reference).uri
        self._cluster_provider = provider
        self._cluster_services = KubernetesServices(
            name,
            KubernetesServicesArgs(
                spec=spec,
                region=region,
                provider=provider,
                images=images,
                eks_cluster_name=eks.name,
                kubernetes_version=cluster.version,
                cluster_ready=eks.ready,
                remote_write_url=self.prometheus.remote_write_url,
                image_registry=self.registry.host,
                image_prefix=_prefix(spec),
            ),
            opts=child,
        )

    def _drills(
        self,
        name: str,
        spec: EnvironmentSpec,
        region: RegionSpec,
        alarms: Alarms,
        account_id: pulumi.Input[str],
        data: DataInputs | None,
    ) -> None:
        """The region's game days (components.aws.drills): experiment templates for its fleets,
        zones, database and pods, and the calendar's enabled runs here (components.spec.drills)."""
        writes = self.data is not None and region.name == spec.data_origin.name
        others = [r for r in spec.active_regions_of("aws") if r.name != region.name]
        switchover = None
        if self.data is not None and data is not None and others:
            # The region drill: this region takes the writer and gives it back; where the global
            # database was created, the next region in failover order takes it (its cluster's
            # identifier: the data tier's naming).
            target = others[0] if writes else region
            switchover = Switchover(
                global_cluster_identifier=data.global_cluster_identifier,
                target_cluster_arn=self.data.cluster_arn
                if target is region
                else pulumi.Output.from_input(account_id).apply(
                    lambda account: (
                        f"arn:aws:rds:{target.name}:{account}:cluster:{data_naming.cluster(spec.stack, target.code)}"
                    )
                ),
                target_region=target.name,
                rto_minutes=spec.data.rto_minutes,
                cluster_pattern=data_naming.cluster(spec.stack, "*"),
            )
        pods = (
            [
                PodService(s.name, s.scaling.cpu_target, resolved(spec.storm, s.name)["podStartSeconds"])
                for s in spec.services_on("kubernetes", region)
            ]
            if self.cluster is not None
            else []
        )
        Drills(
            name,
            DrillsArgs(
                project=spec.project,
                stack=spec.stack,
                region=region.name,
                code=region.code,
                zones=region.availability_zones,
                account_id=account_id,
                fleets=[
                    DrillFleet(
                        service=s.name,
                        desired=spec.capacity(s, region).desired,
                        max=spec.capacity(s, region).max,
                        cpu_target=s.scaling.cpu_target,
                        warmup_seconds=s.scaling.warmup_seconds,
                        high_resolution=spec.high_resolution(s),
                        warm_pool=spec.warm_pool_size(s, region) > 0,
                        surge_step_percent=spec.surge_step_percent(s),
                        assumptions=resolved(spec.storm, s.name),
                        group_name=self.fleets[s.name].group_name,
                    )
                    for s in spec.services_on("vm", region)
                ],
                critical_alarms=alarms.critical_alarm_arns,
                log_retention_days=spec.safety.log_retention_days,
                writer_cluster=data_naming.cluster(spec.stack, region.code) if writes else None,
                switchover=switchover,
                pods=pods,
                eks_cluster_name=self.cluster.name if self.cluster is not None else None,
                kubernetes_provider=self._cluster_provider,
                kubernetes_after=[self._cluster_services] if self._cluster_services is not None else [],
                runs=[r for r in calendar(spec)[0] if r.region == region.name],
                timezone=spec.drills.timezone,
                prometheus=(self.prometheus.workspace_arn, self.prometheus.endpoint),
                topic_arns=self.topics.topic_arns,
                runbook_base_url=spec.alerting.runbook_base_url,
                tags=spec.tags(),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _data(self, name: str, spec: EnvironmentSpec, region: RegionSpec, inputs: DataInputs) -> RegionalData:
        return RegionalData(
            name,
            RegionalDataArgs(
                settings=data_settings(spec),
                region=region.name,
                code=region.code,
                availability_zones=region.availability_zones,
                origin=region.name == spec.data_origin.name,
                vpc_id=self.network.vpc_id,
                private_subnet_ids=self.network.private_subnet_ids,
                global_cluster_identifier=inputs.global_cluster_identifier,
                global_writer_endpoint=inputs.global_writer_endpoint,
                master_password=inputs.master_password,
                handles=inputs.handles,
                # Measured towards the regions that serve (a lost one's lag is not news).
                peer_regions=[r.name for r in spec.active_regions_of("aws") if r.name != region.name],
                routing=Routing(self.topics.topic_arns),
                after=inputs.after,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _fleet(
        self, name: str, spec: EnvironmentSpec, region: RegionSpec, service: ServiceSpec, data: DataAccess | None
    ) -> Fleet:
        capacity = spec.capacity(service, region)
        assert service.artifact is not None, "validated by the spec: VM services name their artifact"
        return Fleet(
            f"{name}-{service.name}",
            FleetArgs(
                service=service.name,
                port=service.port,
                instance_types=service.instance_types,
                # The pinned AMI by name, unless a team's pipeline publishes its own to SSM.
                ami_name=None if service.image else f"{spec.host_images.aws}-{service.cpu_architecture}",
                image_parameter=service.image,
                artifact=self.registry.image(spec.repository(service), service.artifact.reference),
                health_check_path=service.health_check_path,
                vpc_id=self.network.vpc_id,
                private_subnet_ids=self.network.private_subnet_ids,
                load_balancer_security_group_id=self.load_balancer.security_group_id,
                target_group_arn=self.load_balancer.target_groups[service.name].arn,
                capacity=capacity,
                cpu_target=service.scaling.cpu_target,
                warmup_seconds=service.scaling.warmup_seconds,
                health_check_grace_seconds=service.scaling.health_check_grace_seconds,
                warm_pool_size=spec.warm_pool_size(service, region),
                high_resolution=spec.high_resolution(service),
                surge_step_percent=spec.surge_step_percent(service),
                promotions=spec.promotion_schedules(service, region),
                environment=spec.environment,
                region=region.name,
                fleet_id=f"{spec.project}/{spec.stack}/{name}-{service.name}",
                metrics=MetricsSink(
                    self.prometheus.workspace_arn,
                    self.prometheus.remote_write_url,
                    node_exporter=self.registry.image(
                        _platform(spec, agent.NODE_EXPORTER), agent.NODE_EXPORTER.reference
                    ),
                    prometheus=self.registry.image(_platform(spec, agent.PROMETHEUS), agent.PROMETHEUS.reference),
                ),
                ssh_allowed_cidrs=region.ssh_allowed_cidrs,
                data=data,
                reachable=not region.lost,
                tags=spec.tags(service.name),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _prefix(spec: EnvironmentSpec) -> str:
    """``courier/<stack>/``: every repository of the stack, and what the primary replicates."""
    first = spec.services[0]
    return spec.repository(first).removesuffix(first.name)


def _platform(spec: EnvironmentSpec, image: agent.UpstreamImage) -> str:
    return f"{_prefix(spec)}{charts.PLATFORM}/{image.name}"


def _repositories(spec: EnvironmentSpec) -> list[str]:
    """Every VM service and every Kubernetes service on EKS of the stack (not only this
    region's: replication then always lands in a managed repository), the metrics agent's
    images and, when the stack builds an EKS cluster, the cluster add-ons' images."""
    services = [*spec.services_on("vm"), *spec.services_on_eks()]
    platform = {i.name for i in agent.IMAGES}
    if any(
        r.kubernetes is not None and r.kubernetes.cluster == "eks" and spec.services_on("kubernetes", r)
        for r in spec.regions_of("aws")
    ):
        platform.update(charts.repository_names())
    return [spec.repository(s) for s in services] + [f"{_prefix(spec)}{charts.PLATFORM}/{n}" for n in sorted(platform)]


def subscriptions(spec: EnvironmentSpec) -> dict[str, list[Subscription]]:
    # Endpoints from a secret config value stay secret in the state and in previews.
    secret = "alerting" in spec.secret_keys
    return {
        role: [
            Subscription(
                r.protocol,
                pulumi.Output.secret(r.endpoint) if secret else r.endpoint,
                # The heartbeat receiver is ours and confirms SNS subscriptions itself; without
                # this the dead man's switch would stay PendingConfirmation and never beat.
                auto_confirms=role == DEADMANS_SWITCH and r.protocol == "https",
            )
            for r in receivers
        ]
        for role, receivers in spec.alerting.receivers.items()
    }


def _target(service: ServiceSpec) -> ServiceTarget:
    # Kubernetes services are reached on their NodePort on the cluster's nodes.
    port = service.node_port if service.platform == "kubernetes" else service.port
    return ServiceTarget(service.name, port, service.health_check_path, service.path_patterns)
