"""Drills: a region's game days as AWS Fault Injection Service experiment templates, and the
calendar that runs some of them by itself (EventBridge Scheduler).

This module holds the component (Drills), its arguments (DrillsArgs, PodService, Switchover)
and the machinery every drill kind shares: the experiment role, the template with its stop
conditions, log configuration and tags, the target tags. The kinds (README, "Drills";
docs/drills.md) are built in their own modules:

- components.aws.drills.vm: ``zone-outage``, ``fleet-loss-<service>``, ``cpu-storm-<service>``;
- components.aws.drills.switchover: ``region-switchover`` (where the global database writes);
- components.aws.drills.pods: ``pod-delete-<service>`` / ``pod-cpu-stress-<service>`` for
  Kubernetes services on the EKS cluster the stack builds;

from the FIS actions and targets of components.aws.drills.actions.

Every template: a hypothesis (components.aws.drills.hypotheses) in its description and tags,
stop conditions on the region's critical CloudWatch alarms, a role with the permissions FIS
documents for its actions and nothing else (components.aws.drills.permissions), logs to a
CloudWatch log group, targets by tag (pods: by the cluster, namespace and Deployment FIS asks
for, as pods have no tags). The templates exist whatever the calendar says; a calendar run that
is enabled gets an EventBridge Scheduler schedule starting its template
(components.aws.drills.calendar), and with a Prometheus workspace a results feed judges each
finished drill (components.aws.drills.results).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.aws import policies
from components.aws.drills import calendar, permissions, pods, probes, switchover, vm
from components.aws.drills.calendar import DRILL_TAG
from components.aws.drills.hypotheses import Fleet, Hypothesis
from components.aws.drills.probes import Judgement
from components.aws.drills.results import DrillResults, DrillResultsArgs
from components.spec.drills import ResolvedRun

TYPE = "courier:aws:Drills"

#: The tag that says which kind of drill a template is.
DRILL_KIND_TAG = "drill-kind"

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
    #: Role -> the region's on-call topic, and the runbooks' base URL: the results feed's alarm.
    topic_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    runbook_base_url: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


class Drills(pulumi.ComponentResource):
    """The region's experiment templates (with their roles and log group), the runbook of the
    region drill, the RBAC of the pod drills and the schedules of the calendar's enabled runs."""

    templates: dict[str, aws.fis.ExperimentTemplate]

    def __init__(self, name: str, args: DrillsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        #: The component's name, which its children's names start with.
        self.name = name
        self.args = args
        #: The options of its children (parented to it).
        self.child_opts = pulumi.ResourceOptions(parent=self)
        self.templates = {}
        #: What the results feed checks per template key (components.aws.drills.probes).
        self.judgements: dict[str, Judgement] = {}
        self._log_group = aws.cloudwatch.LogGroup(
            f"{name}-drills",
            name=f"/courier/{args.stack}/{args.code}/fis-experiments",
            retention_in_days=args.log_retention_days,
            tags={**args.tags, "Name": f"{name}-drills"},
            opts=self.child_opts,
        )
        # FIS wants the log group's ARN with its streams' wildcard.
        self._log_arn = self._log_group.arn.apply(lambda arn: arn if arn.endswith(":*") else f"{arn}:*")

        if args.fleets:
            vm.zone_outage(self, self._zone_for_outage())
        for fleet in args.fleets:
            vm.fleet_loss(self, fleet)
            vm.cpu_storm(self, fleet)
        if args.switchover is not None:
            switchover.region_switchover(self, args.switchover)
        if args.pods and args.eks_cluster_name is not None and args.kubernetes_provider is not None:
            pods.pod_drills(self, args.eks_cluster_name, args.kubernetes_provider)
        calendar.schedule(name, args, self.templates, self)
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
                    topic_arns=args.topic_arns,
                    runbook_base_url=args.runbook_base_url,
                    tags=args.tags,
                ),
                self.child_opts,
            )
        self.register_outputs({"experimentTemplateIds": {k: t.id for k, t in self.templates.items()}})

    # -- the machinery the drill kinds share (components.aws.drills.vm, switchover, pods) ----

    def _zone_for_outage(self) -> str:
        """The zone the calendar drills (its run's zone), else the region's first."""
        run = next((r for r in self.args.runs if r.drill == "zone-outage" and r.zone), None)
        return run.zone if run is not None and run.zone else self.args.zones[0]

    def target_tags(self, service: str | None = None) -> dict[str, str]:
        """The tags a drill's targets are found by: the stack's, and ``service``'s if given."""
        tags = {"project": self.args.project, "stack": self.args.stack}
        return {**tags, "service": service} if service else tags

    def _stop_conditions(
        self, services: Sequence[str], runbooks: Sequence[str] = ("NoHealthyTargets", "FleetAtMaxCapacity")
    ) -> list[aws.fis.ExperimentTemplateStopConditionArgs]:
        """The critical alarms that say customers are hurt, most telling first: the load
        balancer's 5xx ratio, then the services' ``runbooks`` alarms, at most
        MAX_STOP_CONDITIONS (the rest are named in a warning)."""
        alarms = self.args.critical_alarms
        ordered: list[tuple[str, pulumi.Input[str]]] = []
        for service, name in [("shared", "LoadBalancer5xxRatio")] + [(s, r) for r in runbooks for s in services]:
            arn = alarms.get(service, {}).get(name)
            if arn is not None:
                ordered.append((f"{service}/{name}", arn))
        if len(ordered) > MAX_STOP_CONDITIONS:
            left = ", ".join(n for n, _ in ordered[MAX_STOP_CONDITIONS:])
            pulumi.log.warn(f"FIS takes {MAX_STOP_CONDITIONS} stop conditions per template; not used: {left}", self)
        if not ordered:
            raise ValueError(f"DrillsArgs.critical_alarms: no critical alarm in {self.args.region} to stop a drill on")
        return [
            aws.fis.ExperimentTemplateStopConditionArgs(source="aws:cloudwatch:alarm", value=arn)
            for _, arn in ordered[:MAX_STOP_CONDITIONS]
        ]

    def role(self, key: str, statements: pulumi.Input[list[permissions.Statement]]) -> aws.iam.Role:
        """The experiment role of one template: FIS may assume it for this account's experiments in
        the region, and it may do what the template's actions need and nothing else."""
        args = self.args
        trust = pulumi.Output.from_input(args.account_id).apply(
            lambda account: policies.assume_role(
                "fis.amazonaws.com", account, f"arn:aws:fis:{args.region}:{account}:experiment/*"
            )
        )
        role = aws.iam.Role(
            f"{self.name}-drill-{key}",
            assume_role_policy=trust,
            description=f"FIS {key} drill in {args.region}: only what its actions need",
            tags=args.tags,
            opts=self.child_opts,
        )
        aws.iam.RolePolicy(
            f"{self.name}-drill-{key}",
            role=role.id,
            policy=pulumi.Output.from_input(statements).apply(
                lambda found: policies.document(permissions.LOGGING, *found)
            ),
            opts=self.child_opts,
        )
        return role

    def template(
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
        """The template ``key`` of drill ``kind``: ``hypothesis`` in its description and tags,
        ``role`` running ``actions`` on ``targets``, stopping on the critical alarms of
        ``stop_on`` (components.aws.drills.probes ``checks`` judge it afterwards), logging to the
        region's drill log group. Recorded in ``templates`` and ``judgements``."""
        template = aws.fis.ExperimentTemplate(
            f"{self.name}-drill-{key}",
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
                **self.args.tags,
                "service": service,
                "Name": f"courier-{self.args.stack}-{self.args.code}-{key}",
                DRILL_TAG: key,
                DRILL_KIND_TAG: kind,
                **hypothesis.tags(),
            },
            opts=self.child_opts,
        )
        self.templates[key] = template
        self.judgements[key] = Judgement(
            hypothesis.recovery_minutes,
            tuple(checks),
            hypothesis.alert if must_fire else None,
            service if must_fire else None,
        )
        return template

    def account_statements(
        self, build: Callable[[str], list[permissions.Statement]]
    ) -> pulumi.Output[list[permissions.Statement]]:
        """The statements ``build`` makes of the account's ID (for ``role``)."""
        return pulumi.Output.from_input(self.args.account_id).apply(build)
