"""What a fleet instance runs and may do: its boot script (the service, the metrics agent, the
10-second CPU agent) and the IAM documents of its role (image pulls, its own launch). Pure
text and Outputs; the resources are in components.aws.fleet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pulumi

from components import boot
from components.aws import policies, surge
from components.monitoring import agent

if TYPE_CHECKING:
    from components.aws.fleet import FleetArgs

#: The launch lifecycle hook every instance completes from its boot script once it serves.
LAUNCH_HOOK = "courier-launch"
#: Tag on the group that scopes what its instances may do to it (CompleteLifecycleAction).
FLEET_TAG = "courier-fleet"


def user_data(args: FleetArgs) -> pulumi.Output[str]:
    """The boot script, once the image repositories' URLs (and the workspace's) are known."""
    values: list[pulumi.Input[str]] = [args.artifact.repository_url]
    if args.metrics is not None:
        values += [
            args.metrics.remote_write_url,
            args.metrics.node_exporter.repository_url,
            args.metrics.prometheus.repository_url,
        ]
    data = dict(args.data.environment) if args.data is not None else {}
    names = sorted(data)
    return pulumi.Output.all(*values, *[data[k] for k in names]).apply(
        lambda resolved: boot.user_data(
            boot_script(
                args,
                *resolved[: len(values)],
                data_environment=dict(zip(names, resolved[len(values) :], strict=True)),
            )
        )
    )


def boot_script(
    args: FleetArgs,
    repository_url: str,
    remote_write_url: str | None = None,
    node_exporter_url: str | None = None,
    prometheus_url: str | None = None,
    *,
    data_environment: dict[str, str] | None = None,
) -> str:
    """The service first (it serves without the agent), then the metrics agent."""
    identity = boot.Identity(
        args.service, args.region, args.environment, args.port, tuple(sorted((data_environment or {}).items()))
    )
    launch = boot.Launch(
        identity,
        image=f"{repository_url}{args.artifact.reference}",
        health_check_path=args.health_check_path,
        lifecycle_hook=LAUNCH_HOOK,
        launch_timeout_seconds=args.launch_timeout_seconds,
    )
    cpu_agent = surge.boot_steps() if args.high_resolution else ""
    if args.metrics is None or remote_write_url is None or node_exporter_url is None or prometheus_url is None:
        return boot.aws_service(launch) + cpu_agent
    images = agent.AgentImages(
        node_exporter=f"{node_exporter_url}{args.metrics.node_exporter.reference}",
        prometheus=f"{prometheus_url}{args.metrics.prometheus.reference}",
    )
    registries = [boot.registry_of(images.node_exporter), boot.registry_of(images.prometheus)]
    target = agent.AgentTarget(args.service, args.region, args.environment, args.port, remote_write_url)
    return boot.aws_service(launch, registries) + cpu_agent + agent.boot_steps(target, images)


#: What pulling an image from ECR takes (the AmazonEC2ContainerRegistryReadOnly actions that a
#: pull uses); the authorization token cannot be scoped to a repository, so it takes "*".
PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")


def pull_policy(repository_arns: Sequence[str]) -> str:
    return policies.document(
        {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "PullFleetImages",
            "Effect": "Allow",
            "Action": list(PULL_ACTIONS),
            "Resource": sorted(repository_arns),
        },
    )


def lifecycle_policy(partition: str, region: str, account_id: str, fleet_id: str) -> str:
    return policies.document(
        {
            "Sid": "CompleteOwnLaunch",
            "Effect": "Allow",
            "Action": "autoscaling:CompleteLifecycleAction",
            "Resource": f"arn:{partition}:autoscaling:{region}:{account_id}:autoScalingGroup:*:autoScalingGroupName/*",
            "Condition": {"StringEquals": {f"autoscaling:ResourceTag/{FLEET_TAG}": fleet_id}},
        },
        # The boot script finds its group's name (Pulumi names the group; the instance only knows
        # its own ID). Describe actions take no resource-level permissions.
        {
            "Sid": "FindOwnGroup",
            "Effect": "Allow",
            "Action": "autoscaling:DescribeAutoScalingInstances",
            "Resource": "*",
        },
    )
