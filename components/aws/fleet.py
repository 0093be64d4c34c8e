"""Fleet: one service's EC2 Auto Scaling group in one region, scaling on CPU."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import planning
from components.aws import policies, surge
from components.aws.instance import FLEET_TAG, LAUNCH_HOOK, lifecycle_policy, pull_policy, user_data
from components.aws.registry import ContainerImage
from components.planning import PromotionSchedule

TYPE = "courier:aws:Fleet"


#: Group metrics published to CloudWatch (1-minute): capacity alarms and dashboards use them.
GROUP_METRICS = (
    aws.autoscaling.Metric.GROUP_MIN_SIZE,
    aws.autoscaling.Metric.GROUP_MAX_SIZE,
    aws.autoscaling.Metric.GROUP_DESIRED_CAPACITY,
    aws.autoscaling.Metric.GROUP_IN_SERVICE_INSTANCES,
    aws.autoscaling.Metric.GROUP_PENDING_INSTANCES,
    aws.autoscaling.Metric.GROUP_TERMINATING_INSTANCES,
    aws.autoscaling.Metric.GROUP_TOTAL_INSTANCES,
    aws.autoscaling.Metric.WARM_POOL_WARMED_CAPACITY,
)


@dataclass(frozen=True)
class MetricsSink:
    """The region's Amazon Managed Prometheus workspace, and the agent's images in the region's
    registry, as the fleet's agents see them."""

    workspace_arn: pulumi.Input[str]
    remote_write_url: pulumi.Input[str]
    node_exporter: ContainerImage
    prometheus: ContainerImage


@dataclass(frozen=True)
class FleetArgs:
    service: str
    port: int
    #: One type: a plain launch template (a warm pool is possible). Several: a mixed instances
    #: policy, so a promotion that exhausts one type in a zone can still launch another.
    instance_types: Sequence[str]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    load_balancer_security_group_id: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    capacity: planning.Capacity
    #: The service's container image in this region's registry (pinned by digest in prod).
    artifact: ContainerImage
    #: The AMI to boot, by its exact name among Amazon-owned images (e.g.
    #: ``al2023-ami-2023.11.20260526.0-kernel-6.18-x86_64``): the same release in every region,
    #: changed only by changing the name. Exactly one of ami_name and image_parameter.
    ami_name: str | None = None
    #: Or an SSM parameter naming the AMI in this region, published by a team's image pipeline:
    #: the fleet then rolls whenever the pipeline publishes.
    image_parameter: str | None = None
    #: Polled on the instance itself before it may serve (the target group checks it too).
    health_check_path: str = "/healthz"
    #: Average CPU (%) the target-tracking policy holds the group at.
    cpu_target: int = 80
    #: Seconds before a new instance's metrics count towards scaling decisions.
    warmup_seconds: int = 300
    #: Seconds after launch before failing ELB health checks replace an instance.
    health_check_grace_seconds: int = 300
    #: Stopped, fully booted instances kept ready to join in seconds instead of minutes
    #: (0: no warm pool). The pool holds exactly this many, whatever the desired capacity.
    warm_pool_size: int = 0
    #: Seconds an instance may take from launch to answering its health check (the launch
    #: lifecycle hook's heartbeat): past it Auto Scaling abandons the instance and replaces it.
    launch_timeout_seconds: int = 600
    promotions: Sequence[PromotionSchedule] = ()
    environment: str = "dev"
    region: str = ""
    #: Unique in the account and region (include the stack): the value of the group's
    #: FLEET_TAG, to which its instances' lifecycle permission is scoped. Default: the name.
    fleet_id: str = ""
    #: Where the instance's Prometheus agent remote-writes (None: no agent is installed).
    metrics: MetricsSink | None = None
    #: CPU every 10 s and scaling on it (components.aws.surge): a second target-tracking
    #: policy, which then does the scaling in, and ``surge_step_percent`` (> 0) on saturation.
    high_resolution: bool = False
    surge_step_percent: int = 0
    #: Networks allowed to SSH to the instances (break-glass; default none, use SSM).
    ssh_allowed_cidrs: Sequence[str] = ()
    volume_size_gib: int = 30
    #: The data stores the service may use (components.aws.data): None without any.
    data: DataAccess | None = None
    #: False for a lost region (its API is down): the AMI is not looked up, and the launch
    #: template's image (kept by the engine, ``ignore_changes: ["*"]``) is declared as a marker.
    reachable: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DataAccess:
    """What reaches a service's data stores: the stores' client security group, the endpoints in
    its boot environment, and the IAM policy document of exactly what it may do with them."""

    security_group_id: pulumi.Input[str]
    environment: Mapping[str, pulumi.Input[str]]
    policy: pulumi.Input[str] | None = None


#: The image a lost region's launch templates declare: never applied (the engine keeps the
#: recorded one), never looked up (the region's EC2 API is down).
KEPT_IMAGE = "kept-from-state"


class Fleet(pulumi.ComponentResource):
    """A launch template (the pinned AMI, IMDSv2 only, encrypted gp3 root volume, detailed
    monitoring, no public IP, a boot script that runs the service's container from this region's
    registry), an instance role allowing SSM management, pulls from the fleet's repositories and
    completing lifecycle actions on its own group only, an Auto Scaling group across every
    private subnet behind the service's target group with ELB health checks, a launch lifecycle
    hook that holds each instance until it serves, an optional warm pool of a fixed size, a
    target-tracking policy on average CPU, and scheduled actions that pre-scale the group for
    every promotion and restore it afterwards."""

    group_name: pulumi.Output[str]
    group_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: FleetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        if (args.ami_name is None) == (args.image_parameter is None):
            raise ValueError(
                f"FleetArgs for {name}: give exactly one of ami_name and image_parameter "
                f"(got ami_name={args.ami_name!r}, image_parameter={args.image_parameter!r})"
            )
        if args.warm_pool_size and len(args.instance_types) > 1:
            raise ValueError(
                f"FleetArgs.warm_pool_size for {name}: a warm pool needs exactly one instance type "
                f"(got {list(args.instance_types)})"
            )
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        fleet_id = args.fleet_id or name

        role = aws.iam.Role(
            f"{name}-instance",
            assume_role_policy=policies.assume_role("ec2.amazonaws.com"),
            description=f"{args.service} instances: SSM management, image pulls, their own launch; no SSH keys",
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-ssm",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
            opts=child,
        )
        if args.metrics is not None:
            # The agent may write samples to this one workspace, nothing else.
            aws.iam.RolePolicy(
                f"{name}-remote-write",
                role=role.id,
                policy=pulumi.Output.from_input(args.metrics.workspace_arn).apply(
                    lambda arn: policies.document({"Effect": "Allow", "Action": "aps:RemoteWrite", "Resource": arn})
                ),
                opts=child,
            )
        if args.data is not None and args.data.policy is not None:
            # Exactly the service's stores (components.aws.data.RegionalData.access).
            aws.iam.RolePolicy(f"{name}-data", role=role.id, policy=args.data.policy, opts=child)
        launch_permissions = self._launch_permissions(role, fleet_id)
        profile = aws.iam.InstanceProfile(f"{name}-instance", role=role.name, tags=tags, opts=child)

        security_group = aws.ec2.SecurityGroup(
            f"{name}-instances",
            vpc_id=args.vpc_id,
            description=f"{args.service} instances: service port from the load balancer only",
            tags={**tags, "Name": f"{name}-instances"},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-alb",
            security_group_id=security_group.id,
            ip_protocol="tcp",
            from_port=args.port,
            to_port=args.port,
            referenced_security_group_id=args.load_balancer_security_group_id,
            description="Requests and health checks from the load balancer",
            tags=tags,
            opts=child,
        )
        for index, cidr in enumerate(args.ssh_allowed_cidrs):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-ssh-{index}",
                security_group_id=security_group.id,
                ip_protocol="tcp",
                from_port=22,
                to_port=22,
                cidr_ipv4=cidr,
                description="Break-glass SSH",
                tags=tags,
                opts=child,
            )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-https-out",
            security_group_id=security_group.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            description="AWS APIs, ECR and the region's AL2023 repository (S3 endpoint or NAT)",
            tags=tags,
            opts=child,
        )

        template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description=f"{args.service} in {args.region}",
            image_id=self._image_id(),
            instance_type=args.instance_types[0],
            update_default_version=True,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                # IMDSv2 only, and a hop limit of 1 so containers on the host cannot reach it.
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
                instance_metadata_tags="enabled",
            ),
            # 1-minute EC2 metrics: target tracking reacts five times faster than on 5-minute
            # basic monitoring, which matters most in the first minutes of a storm.
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    associate_public_ip_address="false",
                    security_groups=[security_group.id]
                    + ([args.data.security_group_id] if args.data is not None else []),
                    delete_on_termination="true",
                )
            ],
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=args.volume_size_gib,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            user_data=user_data(args),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags)
                for kind in ("instance", "volume", "network-interface")
            ],
            tags=tags,
            opts=child,
        )

        # In the middle of a promotion the group holds the promotion's capacity (its prewarm
        # action has run and is gone); the restore action brings the everyday values back.
        in_force = planning.capacity_in_force(args.capacity, args.promotions)
        self.group = aws.autoscaling.Group(
            f"{name}-asg",
            vpc_zone_identifiers=list(args.private_subnet_ids),
            min_size=in_force.min,
            max_size=in_force.max,
            desired_capacity=in_force.desired,
            target_group_arns=[args.target_group_arn],
            # Replace instances the load balancer finds unhealthy, not only dead ones.
            health_check_type="ELB",
            health_check_grace_period=args.health_check_grace_seconds,
            default_instance_warmup=args.warmup_seconds,
            enabled_metrics=list(GROUP_METRICS),
            metrics_granularity=aws.autoscaling.MetricsGranularity.ONE_MINUTE,
            capacity_rebalance=len(args.instance_types) > 1,
            termination_policies=["OldestLaunchTemplate", "Default"],
            # Wait for the ELB to see the desired instances healthy before `up` finishes.
            wait_for_capacity_timeout="15m",
            # Here, not as a separate LifecycleHook resource: that one is only added after the
            # group exists, so the instances launched at creation would not wait for it. Auto
            # Scaling holds every new instance (Pending:Wait, or Warmed:Pending:Wait on its way
            # into the warm pool, whose instances it would otherwise stop before user data has
            # run) until the boot script reports that the service answers; ABANDON replaces an
            # instance that never does.
            initial_lifecycle_hooks=[
                aws.autoscaling.GroupInitialLifecycleHookArgs(
                    name=LAUNCH_HOOK,
                    lifecycle_transition="autoscaling:EC2_INSTANCE_LAUNCHING",
                    heartbeat_timeout=args.launch_timeout_seconds,
                    default_result="ABANDON",
                )
            ],
            launch_template=self._launch_template(template) if len(args.instance_types) == 1 else None,
            mixed_instances_policy=self._mixed_instances(template) if len(args.instance_types) > 1 else None,
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling",
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    # Launch before terminating: capacity never drops below desired.
                    min_healthy_percentage=100,
                    max_healthy_percentage=110,
                    instance_warmup=str(args.warmup_seconds),
                    checkpoint_percentages=[20, 50, 100],
                    checkpoint_delay="300",
                    skip_matching=True,
                    auto_rollback=True,
                ),
            ),
            warm_pool=self._warm_pool(),
            tags=[
                aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=False)
                for k, v in {**tags, "Name": name, FLEET_TAG: fleet_id}.items()
            ],
            # After creation the autoscaler owns desired capacity: an `up` in the middle of a
            # storm must not shrink the fleet back to the configured number. The first instances
            # launch while the group is created: their pull and lifecycle permissions must exist.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity"], depends_on=launch_permissions),
        )

        self.cpu_policy = aws.autoscaling.Policy(
            f"{name}-cpu",
            autoscaling_group_name=self.group.name,
            policy_type="TargetTrackingScaling",
            estimated_instance_warmup=args.warmup_seconds,
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ASGAverageCPUUtilization"
                ),
                target_value=float(args.cpu_target),
                # With the 10-second policy beside it, that one scales in (in minutes, not a
                # quarter of an hour): the group scales in only when every policy agrees.
                disable_scale_in=args.high_resolution,
            ),
            opts=child,
        )
        if args.high_resolution:
            surge.add(
                name,
                self.group,
                role,
                cpu_target=args.cpu_target,
                warmup_seconds=args.warmup_seconds,
                step_percent=args.surge_step_percent,
                tags=tags,
                parent=self,
            )

        for promotion in args.promotions:
            self._schedule(promotion)

        self.group_name = self.group.name
        self.group_arn = self.group.arn
        self.security_group_id = security_group.id
        self.register_outputs(
            {"groupName": self.group_name, "groupArn": self.group_arn, "securityGroupId": self.security_group_id}
        )

    def _image_id(self) -> pulumi.Input[str]:
        # Resolved to a concrete AMI ID at deploy time, not left as `resolve:ssm:`: an
        # instance refresh can only roll back to a launch template that names an AMI ID.
        if not self._args.reachable:
            return KEPT_IMAGE
        invoke = pulumi.InvokeOutputOptions(parent=self)
        if self._args.image_parameter is not None:
            return aws.ssm.get_parameter_output(name=self._args.image_parameter, opts=invoke).value
        # An exact name, not a pattern with most_recent: the provider fails when several images
        # match and most_recent is false (terraform-provider-aws ec2/ami_data_source.go), so an
        # ambiguous name is an error, never a silent pick. Deprecated AMIs are included: AWS
        # deprecates public AMIs after at most two years, and a pinned release must keep resolving
        # (instances and launch templates may use a deprecated AMI; EC2 user guide, ami-deprecate).
        image = aws.ec2.get_ami_output(
            owners=["amazon"],
            filters=[aws.ec2.GetAmiFilterArgs(name="name", values=[self._args.ami_name or ""])],
            most_recent=False,
            include_deprecated=True,
            opts=invoke,
        )
        return image.id

    def _warm_pool(self) -> aws.autoscaling.GroupWarmPoolArgs | None:
        size = self._args.warm_pool_size
        if not size:
            return None
        # Auto Scaling keeps max(MaxGroupPreparedCapacity - desired, MinSize) instances in the pool
        # (PutWarmPool API reference: without MaxGroupPreparedCapacity it is max - desired, about
        # 600 stopped instances for prod; "only when MaxGroupPreparedCapacity and MinSize are set
        # to the same value does the warm pool have an absolute size"). Both at `size`: the pool
        # holds exactly `size`, whatever desired is, including during a promotion.
        return aws.autoscaling.GroupWarmPoolArgs(
            pool_state="Stopped",
            min_size=size,
            max_group_prepared_capacity=size,
            instance_reuse_policy=aws.autoscaling.GroupWarmPoolInstanceReusePolicyArgs(reuse_on_scale_in=True),
        )

    def _launch_permissions(self, role: aws.iam.Role, fleet_id: str) -> list[pulumi.Resource]:
        """What the boot script needs: pull the fleet's images, and complete the launch lifecycle
        action on this fleet's group only. Scoped by the group's FLEET_TAG, a value known before
        the group exists (autoscaling:ResourceTag/<key> applies to CompleteLifecycleAction on the
        autoScalingGroup resource: Service Authorization Reference, Amazon EC2 Auto Scaling), so
        the policy never waits on the group, which itself waits for its first instances."""
        args, name = self._args, self._name
        child = pulumi.ResourceOptions(parent=self)
        repositories = [args.artifact.repository_arn]
        if args.metrics is not None:
            repositories += [args.metrics.node_exporter.repository_arn, args.metrics.prometheus.repository_arn]
        pull = aws.iam.RolePolicy(
            f"{name}-pull",
            role=role.id,
            policy=pulumi.Output.all(*repositories).apply(lambda arns: pull_policy(list(arns))),
            opts=child,
        )
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        lifecycle = aws.iam.RolePolicy(
            f"{name}-lifecycle",
            role=role.id,
            policy=pulumi.Output.all(identity.arn, identity.account_id).apply(
                lambda values: lifecycle_policy(values[0].split(":")[1], args.region, values[1], fleet_id)
            ),
            opts=child,
        )
        return [pull, lifecycle]

    @staticmethod
    def _launch_template(template: aws.ec2.LaunchTemplate) -> aws.autoscaling.GroupLaunchTemplateArgs:
        # A numbered version (not $Latest): instance refresh can only roll back to one.
        return aws.autoscaling.GroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str))

    def _mixed_instances(self, template: aws.ec2.LaunchTemplate) -> aws.autoscaling.GroupMixedInstancesPolicyArgs:
        return aws.autoscaling.GroupMixedInstancesPolicyArgs(
            instances_distribution=aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs(
                on_demand_base_capacity=self._args.capacity.min,
                on_demand_percentage_above_base_capacity=100,
                on_demand_allocation_strategy="prioritized",
            ),
            launch_template=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateArgs(
                launch_template_specification=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateLaunchTemplateSpecificationArgs(
                    launch_template_id=template.id, version=template.latest_version.apply(str)
                ),
                overrides=[
                    aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArgs(instance_type=t)
                    for t in self._args.instance_types
                ],
            ),
        )

    def _schedule(self, promotion: PromotionSchedule) -> None:
        name, base = self._name, self._args.capacity
        child = pulumi.ResourceOptions(parent=self)
        if promotion.raise_at is not None:
            aws.autoscaling.Schedule(
                f"{name}-{promotion.name}-prewarm",
                autoscaling_group_name=self.group.name,
                scheduled_action_name=f"{promotion.name}-prewarm",
                start_time=planning.aws_timestamp(promotion.raise_at),
                min_size=promotion.capacity.min,
                desired_capacity=promotion.capacity.desired,
                max_size=promotion.capacity.max,
                opts=child,
            )
        else:
            pulumi.log.info(
                f"{promotion.name} is under way: {name} holds its pre-scaled capacity "
                f"(min {promotion.capacity.min}, max {promotion.capacity.max}) until the restore",
                self,
            )
        # Restore the floor and the ceiling, but leave desired to target tracking (-1: the
        # provider's default of 0 would empty the fleet): traffic tails off after a promotion,
        # and the autoscaler drains the extra instances as CPU falls instead of all at once.
        aws.autoscaling.Schedule(
            f"{name}-{promotion.name}-restore",
            autoscaling_group_name=self.group.name,
            scheduled_action_name=f"{promotion.name}-restore",
            start_time=planning.aws_timestamp(promotion.restore_at),
            min_size=base.min,
            max_size=base.max,
            desired_capacity=-1,
            opts=child,
        )
