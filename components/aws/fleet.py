"""Fleet: one service's EC2 Auto Scaling group in one region, scaling on CPU."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import boot, planning
from components.aws import policies
from components.monitoring import agent
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
    """The region's Amazon Managed Prometheus workspace, as the fleet's agents see it."""

    workspace_arn: pulumi.Input[str]
    remote_write_url: pulumi.Input[str]


@dataclass(frozen=True)
class FleetArgs:
    service: str
    port: int
    #: One type: a plain launch template (a warm pool is possible). Several: a mixed instances
    #: policy, so a promotion that exhausts one type in a zone can still launch another.
    instance_types: Sequence[str]
    #: The SSM parameter that names the AMI to boot (resolved in this region).
    image: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    load_balancer_security_group_id: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    capacity: planning.Capacity
    #: Average CPU (%) the target-tracking policy holds the group at.
    cpu_target: int = 80
    #: Seconds before a new instance's metrics count towards scaling decisions.
    warmup_seconds: int = 300
    #: Seconds after launch before failing ELB health checks replace an instance.
    health_check_grace_seconds: int = 300
    #: Keep stopped, initialised instances ready to join in seconds instead of minutes.
    warm_pool: bool = False
    promotions: Sequence[PromotionSchedule] = ()
    environment: str = "dev"
    region: str = ""
    #: Where the instance's Prometheus agent remote-writes (None: no agent is installed).
    metrics: MetricsSink | None = None
    #: Networks allowed to SSH to the instances (break-glass; default none, use SSM).
    ssh_allowed_cidrs: Sequence[str] = ()
    volume_size_gib: int = 30
    tags: Mapping[str, str] = field(default_factory=dict)


class Fleet(pulumi.ComponentResource):
    """A launch template (IMDSv2 only, encrypted gp3 root volume, detailed monitoring, no
    public IP, an instance profile allowing only SSM management), an Auto Scaling group across
    every private subnet behind the service's target group with ELB health checks, a
    target-tracking policy on average CPU, and scheduled actions that pre-scale the group
    for every promotion and restore it afterwards."""

    group_name: pulumi.Output[str]
    group_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: FleetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        role = aws.iam.Role(
            f"{name}-instance",
            assume_role_policy=policies.assume_role("ec2.amazonaws.com"),
            description=f"{args.service} instances: SSM management only, no SSH keys",
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
            description="AWS APIs and package mirrors through the NAT gateways",
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
                    security_groups=[security_group.id],
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
            user_data=_user_data(args),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags)
                for kind in ("instance", "volume", "network-interface")
            ],
            tags=tags,
            opts=child,
        )

        self.group = aws.autoscaling.Group(
            f"{name}-asg",
            vpc_zone_identifiers=list(args.private_subnet_ids),
            min_size=args.capacity.min,
            max_size=args.capacity.max,
            desired_capacity=args.capacity.desired,
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
            warm_pool=aws.autoscaling.GroupWarmPoolArgs(
                pool_state="Stopped",
                min_size=args.capacity.min,
                instance_reuse_policy=aws.autoscaling.GroupWarmPoolInstanceReusePolicyArgs(reuse_on_scale_in=True),
            )
            if args.warm_pool
            else None,
            tags=[
                aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=False)
                for k, v in {**tags, "Name": name}.items()
            ],
            # After creation the autoscaler owns desired capacity: an `up` in the middle of a
            # storm must not shrink the fleet back to the configured number.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity"]),
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
                disable_scale_in=False,
            ),
            opts=child,
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
        parameter = aws.ssm.get_parameter_output(name=self._args.image, opts=pulumi.InvokeOutputOptions(parent=self))
        return parameter.value

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
            pulumi.log.warn(
                f"{promotion.name} is already under way: {name} is not pre-scaled for it, only restored when it ends",
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


def _user_data(args: FleetArgs) -> pulumi.Input[str]:
    """Boot script: hand the service its identity, start it (its unit comes with the image),
    and install the metrics agent that remote-writes to the region's workspace."""
    if args.metrics is None:
        return boot.user_data(boot_script(args, None))
    return pulumi.Output.from_input(args.metrics.remote_write_url).apply(
        lambda url: boot.user_data(boot_script(args, url))
    )


def boot_script(args: FleetArgs, remote_write_url: str | None) -> str:
    script = boot.start_service(args.service, args.region, args.environment, args.port)
    if remote_write_url is not None:
        script += agent.boot_steps(
            agent.AgentTarget(args.service, args.region, args.environment, args.port, remote_write_url)
        )
    return script
