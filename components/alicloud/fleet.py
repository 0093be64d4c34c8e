"""EssFleet: one service's Alibaba Cloud Auto Scaling (ESS) group in one region."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, timedelta

import pulumi
import pulumi_alicloud as ali

from components import boot, planning
from components.alicloud import names
from components.alicloud.registry import AlicloudImage
from components.planning import PromotionSchedule

#: ESS CreateScheduledTask refuses a LaunchTime more than 90 days after the task is created or
#: modified (Alibaba Cloud API reference, CreateScheduledTask). A day of margin covers the time
#: between the plan and the `up` that creates the tasks.
SCHEDULING_HORIZON = timedelta(days=89)
#: CloudMonitor's datapoints: a 60-second period seen about 60 seconds after it ends.
METRIC_LAG_SECONDS = 120
#: What the saturation rule waits before it may step again, besides the warmup: a cold launch
#: to serving on Alibaba Cloud (README, "Launch to serving", 180 s) plus one 60 s period of
#: the alarm's metric and its 60 s delay, so it judges a minute measured with the new
#: instances serving rather than the stale saturated one.
SATURATION_COOLDOWN_LAUNCH_SECONDS = 180 + 60 + 60

TYPE = "courier:alicloud:Fleet"

#: RAM policy names: 1-128 letters, digits and "-" (terraform-provider-alicloud ram_policy page);
#: role names: 1-64 letters, digits, "." and "-" (RAM API reference, CreateRole; not re-checked).
#: Names built here: lowercase letters, digits, "-" (and "." in a shortened role name).
RAM_ROLE_NAME_MAX = 64
RAM_POLICY_NAME_MAX = 128


@dataclass(frozen=True)
class EssFleetArgs:
    service: str
    port: int
    instance_types: Sequence[str]
    vpc_id: pulumi.Input[str]
    #: The app vSwitches, one per zone: the group spreads across all of them.
    vswitch_ids: Sequence[pulumi.Input[str]]
    load_balancer_security_group_id: pulumi.Input[str]
    server_group_id: pulumi.Input[str]
    capacity: planning.Capacity
    #: Start of the names unique per account and region (group, configuration, rules, alarm,
    #: scheduled tasks): components.alicloud.names.prefix and the service, e.g. prod_cnhz-orders.
    #: The RAM role and policy (unique per account) are ``courier-`` and this, dashed.
    name_prefix: str
    #: The service's release in this region's Container Registry (pinned by digest in prod).
    artifact: AlicloudImage
    #: The system image to boot, by its exact name (``courier:hostImages.alicloud``, e.g.
    #: aliyun_3_x64_20G_alibase_20251030.vhd): changed only by changing the config.
    host_image: str
    #: Polled on the instance itself to record when it first serves (the ALB checks it too).
    health_check_path: str = "/healthz"
    cpu_target: int = 80
    warmup_seconds: int = 300
    #: When CPU is saturated (95% over a minute) add this percentage of the group at once
    #: (0: no such rule). CloudMonitor's alarms take 60-second periods at the shortest.
    surge_step_percent: int = 0
    #: Balance instances evenly across zones (prod) instead of filling zones in order.
    balance_zones: bool = True
    deletion_protection: bool = True
    #: Promotions to schedule now: every task within SCHEDULING_HORIZON (see within_horizon).
    promotions: Sequence[PromotionSchedule] = ()
    #: Promotions too far ahead to schedule yet; the plan says when the next `up` must run.
    deferred: Sequence[planning.Deferred] = ()
    #: Alibaba Cloud account ID (ESS notifications are addressed to the account's CloudMonitor).
    account_id: pulumi.Input[str] = ""
    region: str = ""
    environment: str = "dev"
    #: Networks allowed to SSH to the instances (break-glass; default none).
    ssh_allowed_cidrs: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    #: The data stores' endpoints in the boot environment (COURIER_DB_ENDPOINT, ...).
    data_environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    #: The region's media bucket and its KMS key, when the service uses ``media``.
    media_bucket: pulumi.Input[str] | None = None
    media_key_id: pulumi.Input[str] | None = None
    #: False for a lost region: the system image is not looked up (its API is down).
    reachable: bool = True
    #: The region's ARMS collector (components.monitoring.scrape): its security group may reach
    #: the service's port and node_exporter's, and the instances run node_exporter from this
    #: image. None: no collector, no node_exporter.
    scraper_security_group_id: pulumi.Input[str] | None = None
    node_exporter: AlicloudImage | None = None


class EssFleet(pulumi.ComponentResource):
    """A security group (service port from the load balancer only), a RAM role for the
    instances that may only pull the service's repository, a scaling configuration (the pinned
    system image, that role, encrypted ESSD system disk, no public IP, no login key, a boot
    script that runs the service's container from this region's registry), a scaling group across every app
    vSwitch attached to the service's ALB server group, a **target-tracking rule on
    CpuUtilization at the CPU target**, a CloudMonitor alarm task that adds 20% when CPU stays
    above the target for 10 minutes anyway, scheduled tasks that pre-scale for every promotion
    and restore afterwards, and notifications of rejected or failed scale-outs."""

    group_id: pulumi.Output[str]

    def __init__(self, name: str, args: EssFleetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        security_group = ali.ecs.SecurityGroup(
            f"{name}-instances",
            vpc_id=args.vpc_id,
            security_group_name=f"{name}-instances",
            description=f"{args.service} instances: service port from the load balancer only",
            tags=tags,
            opts=child,
        )
        ali.ecs.SecurityGroupRule(
            f"{name}-from-alb",
            security_group_id=security_group.id,
            type="ingress",
            ip_protocol="tcp",
            port_range=f"{args.port}/{args.port}",
            source_security_group_id=args.load_balancer_security_group_id,
            policy="accept",
            nic_type="intranet",
            description="Requests and health checks from the load balancer",
            opts=child,
        )

        if args.scraper_security_group_id is not None:
            for job, port in (("app", args.port), ("node", boot.NODE_EXPORTER_PORT)):
                ali.ecs.SecurityGroupRule(
                    f"{name}-scrape-{job}",
                    security_group_id=security_group.id,
                    type="ingress",
                    ip_protocol="tcp",
                    port_range=f"{port}/{port}",
                    source_security_group_id=args.scraper_security_group_id,
                    policy="accept",
                    nic_type="intranet",
                    description=f"Prometheus scrapes ({job} metrics) from the region's ARMS collector",
                    opts=child,
                )

        for index, cidr in enumerate(args.ssh_allowed_cidrs):
            ali.ecs.SecurityGroupRule(
                f"{name}-ssh-{index}",
                security_group_id=security_group.id,
                type="ingress",
                ip_protocol="tcp",
                port_range="22/22",
                cidr_ip=cidr,
                policy="accept",
                nic_type="intranet",
                description="Break-glass SSH",
                opts=child,
            )

        # As on AWS: in the middle of a promotion the group holds the promotion's capacity.
        in_force = planning.capacity_in_force(args.capacity, args.promotions)
        group = ali.ess.ScalingGroup(
            f"{name}-group",
            scaling_group_name=names.fit(f"{args.name_prefix}-courier", names.ESS_NAME_MAX),
            min_size=in_force.min,
            max_size=in_force.max,
            desired_capacity=in_force.desired,
            vswitch_ids=list(args.vswitch_ids),
            multi_az_policy="BALANCE" if args.balance_zones else "PRIORITY",
            # ECS only: ESS applies LOAD_BALANCER results without a grace period, so instances
            # still booting would be released and replaced forever; the ALB's own health check
            # keeps traffic off an instance until it serves (docs/decisions.md).
            health_check_types=["ECS"],
            alb_server_groups=[
                ali.ess.ScalingGroupAlbServerGroupArgs(
                    alb_server_group_id=args.server_group_id, port=args.port, weight=100
                )
            ],
            default_cooldown=args.warmup_seconds,
            removal_policies=["OldestScalingConfiguration", "OldestInstance"],
            group_deletion_protection=args.deletion_protection,
            tags=tags,
            # As on AWS: after creation the autoscaler owns the desired capacity.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity"]),
        )
        role, pull = self._instance_role(name, args, tags)
        ali.ess.ScalingConfiguration(
            f"{name}-config",
            scaling_group_id=group.id,
            scaling_configuration_name=names.fit(f"{args.name_prefix}-courier", names.ESS_NAME_MAX),
            image_id=self._image_id(args),
            role_name=role.role_name,
            instance_types=list(args.instance_types),
            security_group_id=security_group.id,
            system_disk_category="cloud_essd",
            system_disk_size=40,
            system_disk_encrypted=True,
            internet_max_bandwidth_out=0,
            password_inherit=False,
            http_endpoint="enabled",
            user_data=_user_data(args, role_name(args.name_prefix)),
            active=True,
            enable=True,
            force_delete=True,
            tags=tags,
            # Active and enabled, the configuration launches the group's first instances at
            # once: their role must already be allowed to pull.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pull]),
        )

        ali.ess.ScalingRule(
            f"{name}-cpu",
            scaling_group_id=group.id,
            scaling_rule_name=names.fit(f"{args.name_prefix}-cpu-target", names.ESS_NAME_MAX),
            scaling_rule_type="TargetTrackingScalingRule",
            metric_type="system",
            metric_name="CpuUtilization",
            target_value=float(args.cpu_target),
            # No shorter than CloudMonitor's 60 s period plus its delay: a new instance's first
            # minute would otherwise be judged on datapoints measured before it served, and the
            # rule would add capacity that is already there.
            estimated_instance_warmup=max(args.warmup_seconds, METRIC_LAG_SECONDS),
            disable_scale_in=False,
            opts=child,
        )
        # Target tracking alone grows a saturated fleet by ~100/target per round; if CPU is
        # still well over target (10 points) after 10 minutes, add a fifth more at once. Not at
        # the target itself: tracking holds CPU there, and the alarm would keep firing.
        self._cpu_step(
            name,
            group,
            args,
            rule="surge",
            alarm="cpu-above-target",
            threshold=min(95, args.cpu_target + 10),
            minutes=10,
            percent=20,
            cooldown=args.warmup_seconds,
            description=f"{args.service}: CPU 10 points above the {args.cpu_target}% target for 10 minutes",
        )
        if args.surge_step_percent > 0:
            self._saturation_step(name, group, args)
        for promotion in args.promotions:
            self._schedule(name, group, promotion, args.capacity, args.name_prefix)
        for later in args.deferred:
            pulumi.log.warn(
                f"{later.name} is beyond Auto Scaling's {SCHEDULING_HORIZON.days}-day scheduling horizon: "
                f"{name} is not pre-scaled for it yet; run `pulumi up` between "
                f"{later.schedulable_from.astimezone(UTC):%Y-%m-%d %H:%M} UTC and {later.deadline.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
                "to schedule it",
                self,
            )

        ali.ess.Notification(
            f"{name}-capacity",
            scaling_group_id=group.id,
            notification_arn=pulumi.Output.from_input(args.account_id).apply(
                lambda account: f"acs:ess:{args.region}:{account}:cloudmonitor"
            ),
            # A rejected scale-out means the group is at its maximum; an error means launches
            # fail (stock, quota, image). Both reach the on-call roles through CloudMonitor.
            notification_types=["AUTOSCALING:SCALE_REJECT", "AUTOSCALING:SCALE_OUT_ERROR"],
            opts=child,
        )

        self.group_id = group.id
        self.register_outputs({"groupId": self.group_id})

    def _saturation_step(self, name: str, group: ali.ess.ScalingGroup, args: EssFleetArgs) -> None:
        """As on AWS, but on CloudMonitor's 1-minute metric (ESS alarms take 60, 120, 300 or 900
        seconds): at 95% CPU over one minute, add ``surge_step_percent`` of the group at once,
        then wait a launch and a warmup before stepping again."""
        self._cpu_step(
            name,
            group,
            args,
            rule="saturated",
            alarm="cpu-saturated",
            threshold=95,
            minutes=1,
            percent=args.surge_step_percent,
            cooldown=args.warmup_seconds + SATURATION_COOLDOWN_LAUNCH_SECONDS,
            description=f"{args.service}: CPU at 95% for a minute: add {args.surge_step_percent}% at once",
        )

    def _cpu_step(
        self,
        name: str,
        group: ali.ess.ScalingGroup,
        args: EssFleetArgs,
        *,
        rule: str,
        alarm: str,
        threshold: int,
        minutes: int,
        percent: int,
        cooldown: int,
        description: str,
    ) -> None:
        """A simple rule adding ``percent`` of the group (at least 2), run by a CloudMonitor alarm
        on the group's CPU at or above ``threshold`` for ``minutes`` one-minute periods."""
        child = pulumi.ResourceOptions(parent=self)
        step = ali.ess.ScalingRule(
            f"{name}-{rule}",
            scaling_group_id=group.id,
            scaling_rule_name=names.fit(f"{args.name_prefix}-{rule}", names.ESS_NAME_MAX),
            scaling_rule_type="SimpleScalingRule",
            adjustment_type="PercentChangeInCapacity",
            adjustment_value=percent,
            min_adjustment_magnitude=2,
            cooldown=cooldown,
            opts=child,
        )
        ali.ess.Alarm(
            f"{name}-{alarm}",
            name=names.fit(f"{args.name_prefix}-{alarm}", names.ESS_NAME_MAX),
            description=description,
            scaling_group_id=group.id,
            metric_type="system",
            metric_name="CpuUtilization",
            statistics="Average",
            comparison_operator=">=",
            threshold=str(threshold),
            period=60,
            evaluation_count=minutes,
            alarm_actions=[step.ari],
            opts=child,
        )

    def _schedule(
        self,
        name: str,
        group: ali.ess.ScalingGroup,
        promotion: PromotionSchedule,
        base: planning.Capacity,
        prefix: str,
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        if promotion.raise_at is not None:
            ali.ess.ScheduledTask(
                f"{name}-{promotion.name}-prewarm",
                scheduled_task_name=names.fit(f"{prefix}-{promotion.name}-prewarm", names.ESS_NAME_MAX, "-prewarm"),
                scaling_group_id=group.id,
                launch_time=planning.alicloud_timestamp(promotion.raise_at),
                min_value=promotion.capacity.min,
                desired_capacity=promotion.capacity.desired,
                max_value=promotion.capacity.max,
                # The promotion is named here: task names carry the stack and region to be
                # unique, and the policy pack reads which promotion a task belongs to.
                description=f"courier-promotion:{promotion.name}:prewarm",
                task_enabled=True,
                opts=child,
            )
        else:
            pulumi.log.info(
                f"{promotion.name} is under way: {name} holds its pre-scaled capacity until the restore", self
            )
        # Floor and ceiling back; desired stays with target tracking, which drains the fleet.
        ali.ess.ScheduledTask(
            f"{name}-{promotion.name}-restore",
            scheduled_task_name=names.fit(f"{prefix}-{promotion.name}-restore", names.ESS_NAME_MAX, "-restore"),
            scaling_group_id=group.id,
            launch_time=planning.alicloud_timestamp(promotion.restore_at),
            min_value=base.min,
            max_value=base.max,
            description=f"courier-promotion:{promotion.name}:restore",
            task_enabled=True,
            opts=child,
        )

    def _image_id(self, args: EssFleetArgs) -> pulumi.Input[str]:
        """The system image named ``host_image``, exactly: the same release on every `up` until
        the config names another. DescribeImages' ImageName filter and an anchored regex on the
        name (terraform-provider-alicloud data_source_alicloud_images.go applies name_regex
        after the API call); the data source returns every match and no error, so anything but
        exactly one image stops the deployment here, naming the pin."""
        if not args.reachable:
            # A lost region's API is down: a system image's ID is its name (the lookup only
            # proves it exists), and the engine keeps the recorded one (components.lost).
            return args.host_image
        found = ali.ecs.get_images_output(
            image_name=args.host_image,
            name_regex=f"^{re.escape(args.host_image)}$",
            owners="system",
            most_recent=False,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )

        def exactly_one(ids: Sequence[str]) -> str:
            if len(ids) != 1:
                raise ValueError(
                    f"courier:hostImages.alicloud: {len(ids)} system images named {args.host_image!r} in "
                    f"{args.region} ({list(ids)[:5]}); name exactly one available image"
                )
            return ids[0]

        return found.ids.apply(exactly_one)

    def _instance_role(
        self, name: str, args: EssFleetArgs, tags: Mapping[str, str]
    ) -> tuple[ali.ram.Role, ali.ram.RolePolicyAttachment]:
        """The instances' RAM role: ECS may assume it; it may get a registry password and pull
        this fleet's repository, nothing else."""
        child = pulumi.ResourceOptions(parent=self)
        role = ali.ram.Role(
            f"{name}-instance",
            role_name=role_name(args.name_prefix),
            assume_role_policy_document=trust_policy("ecs.aliyuncs.com"),
            description=f"{args.service} instances in {args.region}: pull the service's image; nothing else",
            tags=dict(tags),
            opts=child,
        )
        image = args.artifact
        policy = ali.ram.Policy(
            f"{name}-pull",
            policy_name=names.fit(f"{role_name(args.name_prefix)}-pull", RAM_POLICY_NAME_MAX).replace(".", "-"),
            policy_document=pulumi.Output.all(
                args.account_id, image.instance_id, image.repository, *self._platform_repositories(args)
            ).apply(lambda values: pull_policy(args.region, values[0], values[1], image.namespace, *values[2:])),
            description=f"Pull {image.namespace}/{args.service} from the {args.region} registry",
            tags=dict(tags),
            opts=child,
        )
        attachment = ali.ram.RolePolicyAttachment(
            f"{name}-pull",
            role_name=role.role_name,
            policy_name=policy.policy_name,
            policy_type="Custom",
            opts=child,
        )
        if args.media_bucket is not None and args.media_key_id is not None:
            media = ali.ram.Policy(
                f"{name}-media",
                policy_name=names.fit(f"{role_name(args.name_prefix)}-media", RAM_POLICY_NAME_MAX).replace(".", "-"),
                policy_document=pulumi.Output.all(args.account_id, args.media_bucket, args.media_key_id).apply(
                    lambda values: media_policy(args.region, values[0], values[1], values[2])
                ),
                description=f"Read and write {args.service}'s media in the {args.region} bucket",
                tags=dict(tags),
                opts=child,
            )
            ali.ram.RolePolicyAttachment(
                f"{name}-media",
                role_name=role.role_name,
                policy_name=media.policy_name,
                policy_type="Custom",
                opts=child,
            )
        return role, attachment

    @staticmethod
    def _platform_repositories(args: EssFleetArgs) -> list[pulumi.Input[str]]:
        """The platform images the instances pull besides the service's (node_exporter)."""
        return [] if args.node_exporter is None else [args.node_exporter.repository]


def media_policy(region: str, account_id: str, bucket: str, key_id: str) -> str:
    """Objects of the media bucket (OSS resource ``acs:oss:*:<account>:<bucket>/*``) and the
    bucket's KMS key for SSE-KMS objects, nothing else."""
    statements = [
        {
            "Action": ["oss:GetObject", "oss:PutObject"],
            "Effect": "Allow",
            "Resource": [f"acs:oss:*:{account_id}:{bucket}/*"],
        },
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Effect": "Allow",
            "Resource": [f"acs:kms:{region}:{account_id}:key/{key_id}"],
        },
    ]
    return json.dumps({"Statement": statements, "Version": "1"}, sort_keys=True)


def role_name(name_prefix: str) -> str:
    """``courier-<stack>-<region code>-<service>``: RAM names are unique per account (not per
    region) and take no "_", so the ESS prefix's underscore becomes a dash."""
    return names.fit(f"courier-{name_prefix.replace('_', '-')}", RAM_ROLE_NAME_MAX)


def trust_policy(service: str) -> str:
    """Who may assume the role: the cloud service only (RAM's trust policy for a service role)."""
    statement = {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": [service]}}
    return json.dumps({"Statement": [statement], "Version": "1"}, sort_keys=True)


def pull_policy(region: str, account_id: str, instance_id: str, namespace: str, *repositories: str) -> str:
    """GetAuthorizationToken (it takes no resource: "*") and pulls from one repository. Actions
    and the repository ARN ``acs:cr:$regionid:$accountid:repository/$instanceid/$namespacename/
    $repositoryname`` as Container Registry's "RAM authorization information" page lists them;
    cr:PullRepository is the pull permission ACK's credential helper asks for."""
    statements = [
        {"Action": ["cr:GetAuthorizationToken"], "Effect": "Allow", "Resource": ["*"]},
        {
            "Action": ["cr:PullRepository"],
            "Effect": "Allow",
            "Resource": [
                f"acs:cr:{region}:{account_id}:repository/{instance_id}/{namespace}/{repository}"
                for repository in repositories
            ],
        },
    ]
    return json.dumps({"Statement": statements, "Version": "1"}, sort_keys=True)


def _user_data(args: EssFleetArgs, ram_role: str) -> pulumi.Output[str]:
    """The boot script, once the registry's instance, endpoint and repository are known."""
    image = args.artifact
    names_ = sorted(args.data_environment)
    exporter = args.node_exporter
    return pulumi.Output.all(
        image.registry,
        image.instance_id,
        image.repository,
        exporter.repository if exporter is not None else "",
        *[args.data_environment[k] for k in names_],
    ).apply(
        lambda values: boot.user_data(
            boot_script(
                args,
                ram_role,
                values[0],
                values[1],
                values[2],
                data=tuple(zip(names_, values[4:], strict=True)),
                node_exporter_repository=values[3] or None,
            )
        )
    )


def boot_script(
    args: EssFleetArgs,
    ram_role: str,
    registry: str,
    instance_id: str,
    repository: str,
    data: tuple[tuple[str, str], ...] = (),
    node_exporter_repository: str | None = None,
) -> str:
    exporter = args.node_exporter
    launch = boot.AlicloudLaunch(
        boot.Identity(args.service, args.region, args.environment, args.port, data),
        image=f"{registry}/{args.artifact.namespace}/{repository}{args.artifact.reference}",
        registry_instance_id=instance_id,
        ram_role=ram_role,
        health_check_path=args.health_check_path,
        node_exporter_image=(
            f"{registry}/{exporter.namespace}/{node_exporter_repository}{exporter.reference}"
            if exporter is not None and node_exporter_repository
            else None
        ),
    )
    return boot.alicloud_service(launch)
