"""Drills: a region's game days as AWS Fault Injection Service experiment templates, and the
calendar that runs some of them by itself (EventBridge Scheduler).

Per AWS region (README, "Drills"; docs/drills.md):

- ``zone-outage``: modelled on FIS's "AZ Availability: Power Interruption" scenario: the zone's
  instances stop (restarted after the outage unless Auto Scaling replaced them), launches fail
  there with insufficient capacity, its subnets go dark and, where the Aurora cluster writes,
  the writer fails over;
- ``fleet-loss-<service>``: 30% of a VM fleet's instances terminated;
- ``cpu-storm-<service>``: CPU stress (AWSFIS-Run-CPU-Stress) on a fleet while launches are held
  back long enough for FleetCpuAboveTarget, then let through for the CPU-80% scale-out;
- ``region-switchover`` (where the global database writes): the stack's SSM Automation runbook
  switches the writer to the next region and back (FIS has no global switchover action);
- ``pod-delete-<service>`` / ``pod-cpu-stress-<service>`` for Kubernetes services on the EKS
  cluster the stack builds, with the service account and RBAC FIS's pods need.

Every template: a hypothesis (components.aws.drills.hypotheses) in its description and tags,
stop conditions on the region's critical CloudWatch alarms, a role with the permissions FIS
documents for its actions and nothing else (components.aws.drills.permissions), logs to a
CloudWatch log group, targets by tag (pods: by the cluster, namespace and Deployment FIS asks
for, as pods have no tags). The templates exist whatever the calendar says; a calendar run that
is enabled gets an EventBridge Scheduler schedule starting its template.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws import policies
from components.aws.drills import calendar, hypotheses, kubernetes, permissions, probes, runbook
from components.aws.drills.calendar import DRILL_TAG
from components.aws.drills.hypotheses import Fleet, Hypothesis
from components.aws.drills.kubernetes import FIS_KUBERNETES_USER, FIS_SERVICE_ACCOUNT
from components.aws.drills.probes import Judgement
from components.aws.drills.results import DrillResults, DrillResultsArgs
from components.spec.drills import ResolvedRun

TYPE = "courier:aws:Drills"

#: The tag that says which kind of drill a template is.
DRILL_KIND_TAG = "drill-kind"

#: The AWS-owned SSM document FIS documents for CPU stress on instances.
CPU_STRESS_DOCUMENT = "AWSFIS-Run-CPU-Stress"
#: FIS: at most 5 stop conditions per experiment template (Service Quotas, AWS FIS).
MAX_STOP_CONDITIONS = 5


@dataclass(frozen=True)
class PodService:
    service: str
    cpu_target: int
    pod_start_seconds: float


@dataclass(frozen=True)
class Switchover:
    """The region drill: the global database's writer moves to ``target_cluster_arn`` and back
    to the cluster that wrote before (found when the drill starts)."""

    global_cluster_identifier: pulumi.Input[str]
    target_cluster_arn: pulumi.Input[str]
    target_region: str
    rto_minutes: int
    #: The member clusters' identifiers as an IAM wildcard (``courier-<stack>-*-orders``).
    cluster_pattern: str


@dataclass(frozen=True)
class DrillsArgs:
    project: str
    stack: str
    region: str
    code: str
    zones: Sequence[str]
    account_id: pulumi.Input[str]
    fleets: Sequence[Fleet]
    #: The region's critical alarms' ARNs: service ("shared": the load balancer) -> runbook -> ARN
    #: (components.aws.alarms.Alarms.critical_alarm_arns).
    critical_alarms: Mapping[str, Mapping[str, pulumi.Input[str]]]
    log_retention_days: int
    #: The identifier of the region's Aurora cluster when it is the writer (its zone outage fails
    #: the writer over); None elsewhere (a secondary cluster has no writer to fail over).
    writer_cluster: str | None = None
    switchover: Switchover | None = None
    pods: Sequence[PodService] = ()
    eks_cluster_name: pulumi.Input[str] | None = None
    kubernetes_provider: k8s.Provider | None = None
    #: What must exist before the RBAC objects (the services' namespaces).
    kubernetes_after: Sequence[pulumi.Resource] = ()
    #: The calendar's runs in this region (components.spec.drills); enabled ones are scheduled.
    runs: Sequence[ResolvedRun] = ()
    timezone: str = "UTC"
    #: The region's Managed Prometheus workspace (ARN, endpoint): the results feed's probes read
    #: it. None: no results feed (the drills still run; nothing judges them).
    prometheus: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class Drills(pulumi.ComponentResource):
    """The region's experiment templates (with their roles and log group), the runbook of the
    region drill, the RBAC of the pod drills and the schedules of the calendar's enabled runs."""

    templates: dict[str, aws.fis.ExperimentTemplate]

    def __init__(self, name: str, args: DrillsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self.templates = {}
        #: What the results feed checks per template key (components.aws.drills.probes).
        self.judgements: dict[str, Judgement] = {}
        self._log_group = aws.cloudwatch.LogGroup(
            f"{name}-drills",
            name=f"/courier/{args.stack}/{args.code}/fis-experiments",
            retention_in_days=args.log_retention_days,
            tags={**args.tags, "Name": f"{name}-drills"},
            opts=self._child,
        )
        # FIS wants the log group's ARN with its streams' wildcard.
        self._log_arn = self._log_group.arn.apply(lambda arn: arn if arn.endswith(":*") else f"{arn}:*")

        if args.fleets:
            self._zone_outage(self._zone_for_outage())
        for fleet in args.fleets:
            self._fleet_loss(fleet)
            self._cpu_storm(fleet)
        if args.switchover is not None:
            self._region_switchover(args.switchover)
        if args.pods and args.eks_cluster_name is not None and args.kubernetes_provider is not None:
            self._pod_drills(args.eks_cluster_name, args.kubernetes_provider)
        calendar.schedule(self._name, args, self.templates, self)
        if args.prometheus is not None and self.templates:
            DrillResults(
                name,
                DrillResultsArgs(
                    stack=args.stack,
                    region=args.region,
                    code=args.code,
                    account_id=args.account_id,
                    prometheus_arn=args.prometheus[0],
                    prometheus_endpoint=args.prometheus[1],
                    judgements=self.judgements,
                    log_retention_days=args.log_retention_days,
                    tags=args.tags,
                ),
                self._child,
            )
        self.register_outputs({"experimentTemplateIds": {k: t.id for k, t in self.templates.items()}})

    # -- helpers ---------------------------------------------------------------------------

    def _zone_for_outage(self) -> str:
        """The zone the calendar drills (its run's zone), else the region's first."""
        run = next((r for r in self._args.runs if r.drill == "zone-outage" and r.zone), None)
        return run.zone if run is not None and run.zone else self._args.zones[0]

    def _target_tags(self, service: str | None = None) -> dict[str, str]:
        tags = {"project": self._args.project, "stack": self._args.stack}
        return {**tags, "service": service} if service else tags

    def _stop_conditions(
        self, services: Sequence[str], runbooks: Sequence[str] = ("NoHealthyTargets", "FleetAtMaxCapacity")
    ) -> list[aws.fis.ExperimentTemplateStopConditionArgs]:
        """The critical alarms that say customers are hurt, most telling first: the load
        balancer's 5xx ratio, then the services' ``runbooks`` alarms, at most
        MAX_STOP_CONDITIONS (the rest are named in a warning)."""
        alarms = self._args.critical_alarms
        ordered: list[tuple[str, pulumi.Input[str]]] = []
        for service, name in [("shared", "LoadBalancer5xxRatio")] + [(s, r) for r in runbooks for s in services]:
            arn = alarms.get(service, {}).get(name)
            if arn is not None:
                ordered.append((f"{service}/{name}", arn))
        if len(ordered) > MAX_STOP_CONDITIONS:
            left = ", ".join(n for n, _ in ordered[MAX_STOP_CONDITIONS:])
            pulumi.log.warn(f"FIS takes {MAX_STOP_CONDITIONS} stop conditions per template; not used: {left}", self)
        if not ordered:
            raise ValueError(f"DrillsArgs.critical_alarms: no critical alarm in {self._args.region} to stop a drill on")
        return [
            aws.fis.ExperimentTemplateStopConditionArgs(source="aws:cloudwatch:alarm", value=arn)
            for _, arn in ordered[:MAX_STOP_CONDITIONS]
        ]

    def _role(self, key: str, statements: pulumi.Input[list[permissions.Statement]]) -> aws.iam.Role:
        """The experiment role of one template: FIS may assume it for this account's experiments in
        the region, and it may do what the template's actions need and nothing else."""
        args = self._args
        trust = pulumi.Output.from_input(args.account_id).apply(
            lambda account: policies.assume_role(
                "fis.amazonaws.com", account, f"arn:aws:fis:{args.region}:{account}:experiment/*"
            )
        )
        role = aws.iam.Role(
            f"{self._name}-drill-{key}",
            assume_role_policy=trust,
            description=f"FIS {key} drill in {args.region}: only what its actions need",
            tags=args.tags,
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-drill-{key}",
            role=role.id,
            policy=pulumi.Output.from_input(statements).apply(
                lambda found: policies.document(permissions.LOGGING, *found)
            ),
            opts=self._child,
        )
        return role

    def _template(
        self,
        key: str,
        kind: str,
        hypothesis: Hypothesis,
        role: aws.iam.Role,
        actions: list[aws.fis.ExperimentTemplateActionArgs],
        targets: list[aws.fis.ExperimentTemplateTargetArgs],
        stop_on: Sequence[str],
        checks: Sequence[probes.Probe],
        service: str = "shared",
        must_fire: bool = False,
        stop_runbooks: Sequence[str] = ("NoHealthyTargets", "FleetAtMaxCapacity"),
        empty_targets: str = "fail",
    ) -> aws.fis.ExperimentTemplate:
        template = aws.fis.ExperimentTemplate(
            f"{self._name}-drill-{key}",
            description=hypothesis.summary[:512],
            role_arn=role.arn,
            actions=actions,
            targets=targets,
            stop_conditions=self._stop_conditions(stop_on, stop_runbooks),
            log_configuration=aws.fis.ExperimentTemplateLogConfigurationArgs(
                log_schema_version=2,
                cloudwatch_logs_configuration=aws.fis.ExperimentTemplateLogConfigurationCloudwatchLogsConfigurationArgs(
                    log_group_arn=self._log_arn
                ),
            ),
            experiment_options=aws.fis.ExperimentTemplateExperimentOptionsArgs(
                account_targeting="single-account", empty_target_resolution_mode=empty_targets
            ),
            tags={
                **self._args.tags,
                "service": service,
                "Name": f"courier-{self._args.stack}-{self._args.code}-{key}",
                DRILL_TAG: key,
                DRILL_KIND_TAG: kind,
                **hypothesis.tags(),
            },
            opts=self._child,
        )
        self.templates[key] = template
        self.judgements[key] = Judgement(
            hypothesis.recovery_minutes,
            tuple(checks),
            hypothesis.alert if must_fire else None,
            service if must_fire else None,
        )
        return template

    def _statements(
        self, build: Callable[[str], list[permissions.Statement]]
    ) -> pulumi.Output[list[permissions.Statement]]:
        return pulumi.Output.from_input(self._args.account_id).apply(build)

    # -- the drills --------------------------------------------------------------------------

    def _zone_outage(self, zone: str) -> None:
        args = self._args
        tags = self._target_tags()
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
            _action(
                "stop-instances",
                "aws:ec2:stop-instances",
                "Instances",
                "zone-instances",
                startInstancesAfterDuration=duration,
                completeIfInstancesTerminated="true",
            ),
            _action(
                "capacity-errors",
                "aws:ec2:asg-insufficient-instance-capacity-error",
                "AutoScalingGroups",
                "zone-groups",
                availabilityZoneIdentifiers=zone,
                duration=duration,
                percentage="100",
            ),
            _action(
                "disrupt-subnets",
                "aws:network:disrupt-connectivity",
                "Subnets",
                "zone-subnets",
                scope="all",
                duration=duration,
            ),
        ]
        targets = [
            _target(
                "zone-instances",
                "aws:ec2:instance",
                tags,
                {"Placement.AvailabilityZone": [zone], "State.Name": ["running"]},
            ),
            _target("zone-groups", "aws:ec2:autoscaling-group", tags),
            _target("zone-subnets", "aws:ec2:subnet", tags, {"AvailabilityZone": [zone]}),
        ]
        if writer is not None:
            actions.append(_action("failover-writer", "aws:rds:failover-db-cluster", "Clusters", "writer-cluster"))
            targets.append(_target("writer-cluster", "aws:rds:cluster", {**tags, "service": "data"}))
        services = [f.service for f in args.fleets]
        self._template(
            "zone-outage",
            "zone-outage",
            hypotheses.zone_outage(zone, len(args.zones), list(args.fleets), writer is not None),
            self._role("zone-outage", self._statements(statements)),
            actions,
            targets,
            services,
            [probes.back_in_service(f.service, args.region) for f in args.fleets],
            # A small fleet may have no instance in the zone: the rest of the outage still runs.
            empty_targets="skip",
            # Region-wide: customers unserved anywhere (a fleet at its maximum is the storm's business).
            stop_runbooks=("NoHealthyTargets",),
        )

    def _fleet_loss(self, fleet: Fleet) -> None:
        args = self._args
        key = f"fleet-loss-{fleet.service}"
        tags = self._target_tags(fleet.service)
        self._template(
            key,
            "fleet-loss",
            hypotheses.fleet_loss(fleet),
            self._role(
                key,
                self._statements(
                    lambda account: [
                        *permissions.instances(args.region, account, tags, "ec2:TerminateInstances"),
                        permissions.TAG_RESOLUTION,
                    ]
                ),
            ),
            [_action("terminate-instances", "aws:ec2:terminate-instances", "Instances", "fleet-instances")],
            [
                _target(
                    "fleet-instances",
                    "aws:ec2:instance",
                    tags,
                    {"State.Name": ["running"]},
                    selection=f"PERCENT({hypotheses.FLEET_LOSS_PERCENT})",
                )
            ],
            [fleet.service],
            [probes.back_in_service(fleet.service, args.region)],
            service=fleet.service,
        )

    def _cpu_storm(self, fleet: Fleet) -> None:
        args = self._args
        key = f"cpu-storm-{fleet.service}"
        tags = self._target_tags(fleet.service)
        minutes = hypotheses.CPU_STORM_MINUTES
        self._template(
            key,
            "cpu-storm",
            hypotheses.cpu_storm(fleet),
            self._role(
                key,
                self._statements(
                    lambda account: [
                        *permissions.send_command(args.region, account, CPU_STRESS_DOCUMENT, tags),
                        *permissions.insufficient_capacity(args.region, account),
                        permissions.TAG_RESOLUTION,
                    ]
                ),
            ),
            [
                _action(
                    "cpu-stress",
                    "aws:ssm:send-command",
                    "Instances",
                    "fleet-instances",
                    documentArn=f"arn:aws:ssm:{args.region}::document/{CPU_STRESS_DOCUMENT}",
                    documentParameters=_compact(
                        {
                            "DurationSeconds": str(minutes * 60),
                            "CPU": "0",
                            "LoadPercent": "100",
                            "InstallDependencies": "True",
                        }
                    ),
                    duration=f"PT{minutes}M",
                ),
                _action(
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
                _target("fleet-instances", "aws:ec2:instance", tags, {"State.Name": ["running"]}),
                _target("fleet-group", "aws:ec2:autoscaling-group", tags),
            ],
            [fleet.service],
            [probes.cpu_under_target(fleet.service, args.region, fleet.cpu_target)],
            service=fleet.service,
            must_fire=True,
        )

    def _region_switchover(self, switchover: Switchover) -> None:
        args = self._args
        runbook_name = f"courier-{args.stack}-{args.code}-region-switchover"
        runbook_role = aws.iam.Role(
            f"{self._name}-switchover-runbook",
            assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: policies.assume_role("ssm.amazonaws.com", account)
            ),
            description=f"The region drill's runbook: switch the global database's writer ({args.region})",
            tags=args.tags,
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-switchover-runbook",
            role=runbook_role.id,
            policy=pulumi.Output.all(args.account_id, switchover.global_cluster_identifier).apply(
                lambda v: policies.document(*permissions.switchover_runbook(v[0], v[1], switchover.cluster_pattern))
            ),
            opts=self._child,
        )
        document = aws.ssm.Document(
            f"{self._name}-switchover-runbook",
            name=runbook_name,
            document_type="Automation",
            document_format="JSON",
            content=json.dumps(runbook.switchover(), indent=2),
            tags=args.tags,
            opts=self._child,
        )
        # FIS parameter values match [\S]+ (botocore fis ExperimentTemplateActionParameter): compact JSON.
        parameters = pulumi.Output.all(
            runbook_role.arn, switchover.global_cluster_identifier, switchover.target_cluster_arn
        ).apply(
            lambda v: _compact(
                {
                    "AutomationAssumeRole": [v[0]],
                    "GlobalClusterIdentifier": [v[1]],
                    "TargetClusterArn": [v[2]],
                    "HoldDuration": [f"PT{hypotheses.SWITCHOVER_HOLD_MINUTES}M"],
                }
            )
        )
        max_minutes = 2 * switchover.rto_minutes + hypotheses.SWITCHOVER_HOLD_MINUTES + 10
        self._template(
            "region-switchover",
            "region-switchover",
            hypotheses.region_switchover(switchover.target_region, switchover.rto_minutes),
            self._role(
                "region-switchover",
                pulumi.Output.all(args.account_id, runbook_role.arn).apply(
                    lambda v: permissions.start_automation(args.region, v[0], runbook_name, v[1])
                ),
            ),
            [
                _action(
                    "switchover",
                    "aws:ssm:start-automation-execution",
                    documentArn=document.arn,
                    documentParameters=parameters,
                    maxDuration=f"PT{max_minutes}M",
                )
            ],
            [],
            [],
            # The runbook's own steps are the check: it fails unless the writer moved and came back.
            [],
        )

    def _pod_drills(self, cluster_name: pulumi.Input[str], provider: k8s.Provider) -> None:
        args = self._args
        # One role for the region's pod drills: FIS documents the same permissions for both
        # actions, and EKS takes one access entry per principal; RBAC scopes it per namespace.
        role = self._role(
            "pods",
            pulumi.Output.all(args.account_id, cluster_name).apply(
                lambda v: [*permissions.eks_pods(args.region, v[0], v[1]), permissions.TAG_RESOLUTION]
            ),
        )
        entry = aws.eks.AccessEntry(
            f"{self._name}-drill-pods",
            cluster_name=cluster_name,
            principal_arn=role.arn,
            user_name=FIS_KUBERNETES_USER,
            type="STANDARD",
            tags=args.tags,
            opts=self._child,
        )
        in_cluster = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[*args.kubernetes_after, entry])
        for pod in args.pods:
            kubernetes.fis_access(f"{self._name}-{pod.service}-fis", pod.service, args.tags, in_cluster)
            target = aws.fis.ExperimentTemplateTargetArgs(
                name="pods",
                resource_type="aws:eks:pod",
                selection_mode="ALL",
                parameters={
                    "clusterIdentifier": cluster_name,
                    "namespace": pod.service,
                    "selectorType": "deploymentName",
                    "selectorValue": pod.service,
                },
            )
            common = {
                "kubernetesServiceAccount": FIS_SERVICE_ACCOUNT,
                # The namespaces enforce the restricted pod security standard.
                "fisPodSecurityPolicy": "restricted",
            }
            deleted = aws.fis.ExperimentTemplateTargetArgs(
                name="pods",
                resource_type="aws:eks:pod",
                selection_mode=f"PERCENT({hypotheses.POD_DELETE_PERCENT})",
                parameters=target.parameters,
            )
            self._template(
                f"pod-delete-{pod.service}",
                "pod-delete",
                hypotheses.pod_delete(pod.service, pod.pod_start_seconds),
                role,
                [_action("delete-pods", "aws:eks:pod-delete", "Pods", "pods", **common)],
                [deleted],
                [],
                [probes.back_in_service(pod.service, args.region)],
                service=pod.service,
            )
            self._template(
                f"pod-cpu-stress-{pod.service}",
                "pod-cpu-stress",
                hypotheses.pod_cpu_stress(pod.service, pod.cpu_target, pod.pod_start_seconds),
                role,
                [
                    _action(
                        "stress-pods",
                        "aws:eks:pod-cpu-stress",
                        "Pods",
                        "pods",
                        duration=f"PT{hypotheses.POD_STRESS_MINUTES}M",
                        percent="100",
                        **common,
                    )
                ],
                [target],
                [],
                [probes.cpu_under_target(pod.service, args.region, pod.cpu_target)],
                service=pod.service,
            )


def _compact(document: Mapping[str, object]) -> str:
    """JSON without whitespace: FIS parameter values match [\\S]+."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _action(
    name: str, action_id: str, key: str | None = None, target: str | None = None, **parameters: pulumi.Input[str]
) -> aws.fis.ExperimentTemplateActionArgs:
    return aws.fis.ExperimentTemplateActionArgs(
        name=name,
        action_id=action_id,
        parameters=[aws.fis.ExperimentTemplateActionParameterArgs(key=k, value=v) for k, v in parameters.items()]
        or None,
        target=aws.fis.ExperimentTemplateActionTargetArgs(key=key, value=target) if key and target else None,
    )


def _target(
    name: str,
    resource_type: str,
    tags: Mapping[str, str],
    filters: Mapping[str, list[str]] | None = None,
    selection: str = "ALL",
) -> aws.fis.ExperimentTemplateTargetArgs:
    return aws.fis.ExperimentTemplateTargetArgs(
        name=name,
        resource_type=resource_type,
        selection_mode=selection,
        resource_tags=[aws.fis.ExperimentTemplateTargetResourceTagArgs(key=k, value=v) for k, v in tags.items()],
        filters=[aws.fis.ExperimentTemplateTargetFilterArgs(path=p, values=v) for p, v in (filters or {}).items()]
        or None,
    )
