"""The VM fleets' drills: ``zone-outage`` (modelled on FIS's "AZ Availability: Power
Interruption" scenario: the zone's instances stop, launches fail there with insufficient
capacity, its subnets go dark and, where the Aurora cluster writes, the writer fails over),
``fleet-loss-<service>`` (a share of a fleet's instances terminated) and ``cpu-storm-<service>``
(CPU stress on a fleet while launches are held back, then let through for the scale-out)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.aws.drills import hypotheses, permissions, probes
from components.aws.drills.actions import action, compact, tagged_target
from components.aws.drills.hypotheses import Fleet

if TYPE_CHECKING:
    from components.aws.drills import Drills

#: The AWS-owned SSM document FIS documents for CPU stress on instances.
CPU_STRESS_DOCUMENT = "AWSFIS-Run-CPU-Stress"


def zone_outage(drills: Drills, zone: str) -> None:
    """``zone-outage`` in ``zone``: every fleet's instances there stop, launches there fail, its
    subnets go dark and, where the region's Aurora cluster writes, the writer fails over."""
    args = drills.args
    tags = drills.target_tags()
    duration = f"PT{hypotheses.ZONE_OUTAGE_MINUTES}M"
    writer = args.writer_cluster

    def statements(account: str) -> list[permissions.Statement]:
        found = [
            *permissions.instances(args.region, account, tags, "ec2:StopInstances", "ec2:StartInstances"),
            permissions.restart_encrypted(args.region, account),
            *permissions.insufficient_capacity(args.region, account),
            *permissions.disrupt_connectivity(args.region, account),
            permissions.TAG_RESOLUTION,
        ]
        if writer is not None:
            found += permissions.failover_cluster(args.region, account, writer)
        return found

    actions = [
        action(
            "stop-instances",
            "aws:ec2:stop-instances",
            "Instances",
            "zone-instances",
            startInstancesAfterDuration=duration,
            completeIfInstancesTerminated="true",
        ),
        action(
            "capacity-errors",
            "aws:ec2:asg-insufficient-instance-capacity-error",
            "AutoScalingGroups",
            "zone-groups",
            availabilityZoneIdentifiers=zone,
            duration=duration,
            percentage="100",
        ),
        action(
            "disrupt-subnets",
            "aws:network:disrupt-connectivity",
            "Subnets",
            "zone-subnets",
            scope="all",
            duration=duration,
        ),
    ]
    targets = [
        tagged_target(
            "zone-instances",
            "aws:ec2:instance",
            tags,
            {"Placement.AvailabilityZone": [zone], "State.Name": ["running"]},
        ),
        tagged_target("zone-groups", "aws:ec2:autoscaling-group", tags),
        tagged_target("zone-subnets", "aws:ec2:subnet", tags, {"AvailabilityZone": [zone]}),
    ]
    if writer is not None:
        actions.append(action("failover-writer", "aws:rds:failover-db-cluster", "Clusters", "writer-cluster"))
        targets.append(tagged_target("writer-cluster", "aws:rds:cluster", {**tags, "service": "data"}))
    services = [f.service for f in args.fleets]
    drills.template(
        "zone-outage",
        "zone-outage",
        hypotheses.zone_outage(zone, len(args.zones), list(args.fleets), writer is not None),
        drills.role("zone-outage", drills.account_statements(statements)),
        actions,
        targets,
        services,
        [probes.in_service(f.group_name) for f in args.fleets],
        # A small fleet may have no instance in the zone: the rest of the outage still runs.
        empty_targets="skip",
        # Region-wide: customers unserved anywhere (a fleet at its maximum is the storm's business).
        stop_runbooks=("NoHealthyTargets",),
    )


def fleet_loss(drills: Drills, fleet: Fleet) -> None:
    """``fleet-loss-<service>``: FLEET_LOSS_PERCENT of ``fleet``'s running instances terminated."""
    args = drills.args
    key = f"fleet-loss-{fleet.service}"
    tags = drills.target_tags(fleet.service)
    drills.template(
        key,
        "fleet-loss",
        hypotheses.fleet_loss(fleet),
        drills.role(
            key,
            drills.account_statements(
                lambda account: [
                    *permissions.instances(args.region, account, tags, "ec2:TerminateInstances"),
                    permissions.TAG_RESOLUTION,
                ]
            ),
        ),
        [action("terminate-instances", "aws:ec2:terminate-instances", "Instances", "fleet-instances")],
        [
            tagged_target(
                "fleet-instances",
                "aws:ec2:instance",
                tags,
                {"State.Name": ["running"]},
                selection=f"PERCENT({hypotheses.FLEET_LOSS_PERCENT})",
            )
        ],
        [fleet.service],
        [probes.in_service(fleet.group_name)],
        service=fleet.service,
    )


def cpu_storm(drills: Drills, fleet: Fleet) -> None:
    """``cpu-storm-<service>``: CPU stress on ``fleet``'s instances while its launches are held back."""
    args = drills.args
    key = f"cpu-storm-{fleet.service}"
    tags = drills.target_tags(fleet.service)
    minutes = hypotheses.CPU_STORM_MINUTES
    drills.template(
        key,
        "cpu-storm",
        hypotheses.cpu_storm(fleet),
        drills.role(
            key,
            drills.account_statements(
                lambda account: [
                    *permissions.send_command(args.region, account, CPU_STRESS_DOCUMENT, tags),
                    *permissions.insufficient_capacity(args.region, account),
                    permissions.TAG_RESOLUTION,
                ]
            ),
        ),
        [
            action(
                "cpu-stress",
                "aws:ssm:send-command",
                "Instances",
                "fleet-instances",
                documentArn=f"arn:aws:ssm:{args.region}::document/{CPU_STRESS_DOCUMENT}",
                documentParameters=compact(
                    {
                        "DurationSeconds": str(minutes * 60),
                        "CPU": "0",
                        "LoadPercent": "100",
                        "InstallDependencies": "True",
                    }
                ),
                duration=f"PT{minutes}M",
            ),
            action(
                "hold-launches",
                "aws:ec2:asg-insufficient-instance-capacity-error",
                "AutoScalingGroups",
                "fleet-group",
                availabilityZoneIdentifiers=",".join(args.zones),
                duration=f"PT{hypotheses.CPU_STORM_HOLD_MINUTES}M",
                percentage="100",
            ),
        ],
        [
            tagged_target("fleet-instances", "aws:ec2:instance", tags, {"State.Name": ["running"]}),
            tagged_target("fleet-group", "aws:ec2:autoscaling-group", tags),
        ],
        [fleet.service],
        [probes.cpu_under_target(fleet.service, args.region, fleet.cpu_target)],
        service=fleet.service,
        must_fire=True,
    )
