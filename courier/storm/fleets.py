"""The fleets as the Plan declares them: groups, their scaling policies and rules, scheduled
actions and tasks, warm pools, ScaledObjects, Deployments and node groups. Pure: reads a Plan.

Resources are joined the way the program joins them: a policy, schedule, lifecycle hook or
rule names its group through an input that depends on the group's URN
(``propertyDependencies``); a ScaledObject names its Deployment by namespace and name; pods run
on the node group of their region. Facts the resources cannot carry (promotions' forecasts,
region roles, each service's assumptions and everyday capacity) come from the program's
``storm`` output (components/storm_inputs.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from components import catalog, planning
from courier.plan import Plan, Resource, tag_value
from courier.storm import prices
from courier.storm.engine import Behaviour, Nodes, StepRule, Tracking

ASG = "aws:autoscaling/group:Group"
ASG_POLICY = "aws:autoscaling/policy:Policy"
ASG_SCHEDULE = "aws:autoscaling/schedule:Schedule"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
#: Resolvers and clients keep an answer for the record's TTL: 60 s for an alias to a load
#: balancer (Route 53 Developer Guide, "Choosing between alias and non-alias records").
DNS_CACHE_SECONDS = 60
#: Route 53's defaults when the Plan has no endpoint health check: 30 s interval, 3 failures.
DEFAULT_HEALTH_CHECK = (30, 3)
ESS_GROUP = "alicloud:ess/scalingGroup:ScalingGroup"
ESS_RULE = "alicloud:ess/scalingRule:ScalingRule"
ESS_TASK = "alicloud:ess/scheduledTask:ScheduledTask"
ESS_ALARM = "alicloud:ess/alarm:Alarm"
ESS_CONFIGURATION = "alicloud:ess/scalingConfiguration:ScalingConfiguration"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


class PlanReadError(ValueError):
    """The Plan lacks what the simulator needs (e.g. a Plan from before the ``storm`` output)."""


@dataclass(frozen=True)
class Scheduled:
    """A scheduled action or task: at ``at``, set min/max/desired (None: unchanged)."""

    at: datetime
    min: int | None
    max: int | None
    desired: int | None
    label: str = ""


@dataclass(frozen=True)
class CronWindow:
    name: str
    start: datetime
    end: datetime
    replicas: int


@dataclass(frozen=True)
class Fleet:
    """One service in one region, as the Plan builds it."""

    region: str
    code: str
    service: str
    platform: str  # vm | kubernetes
    cloud: str  # aws | alicloud
    role: str
    zones: int
    instance_type: str | None
    #: Capacity the group holds at the moment of the plan (a promotion's, inside one).
    min: int
    max: int
    desired: int
    #: The everyday capacity (config), which normal load is measured against.
    base_desired: int
    cpu_target: float
    #: Seconds per metric datapoint (60 with detailed monitoring, 300 without, 10 high-res).
    period: int
    warmup: float
    warm_pool: int
    target_tracking: bool
    #: Whether the standard CPU policy scales in (disabled when a 10 s policy does).
    scale_in: bool = True
    #: Further target-tracking policies (a high-resolution one).
    tracking: tuple[Tracking, ...] = ()
    step_rules: tuple[StepRule, ...] = ()
    schedules: tuple[Scheduled, ...] = ()
    assumptions: Mapping[str, float] = field(default_factory=dict)
    # Pods only.
    behaviour: Behaviour | None = None
    nodes: Nodes | None = None
    cron: tuple[CronWindow, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.code}-{self.service}"

    @property
    def price(self) -> float | None:
        return prices.hourly(self.instance_type) if self.cloud == "aws" else None

    @property
    def rps(self) -> float:
        return float(self.assumptions["requestsPerInstance"])

    @property
    def normal_demand(self) -> float:
        """Requests per second on a normal day's peak: the everyday desired capacity at the
        assumed normal CPU (0 for a standby, which serves only after a failover)."""
        if self.role == "standby":
            return 0.0
        return self.base_desired * self.rps * float(self.assumptions["normalCpuPercent"]) / 100


@dataclass(frozen=True)
class Promotion:
    name: str
    start: datetime
    end: datetime
    multiplier: float
    #: None: each fleet's computed lead (the plan's scheduled actions say when).
    prewarm_minutes: int | None


@dataclass(frozen=True)
class Environment:
    """Everything the scenarios need: the fleets and the program's ``storm`` output."""

    stack: str
    as_of: datetime
    fleets: tuple[Fleet, ...]
    promotions: tuple[Promotion, ...]
    regions: Mapping[str, Mapping[str, Any]]
    objectives: Mapping[str, Any] | None
    notes: tuple[str, ...] = ()
    #: Seconds from a region's loss to its users reaching the survivors: the slowest endpoint
    #: health check's interval x failure threshold, plus DNS caching.
    failover_seconds: float = DEFAULT_HEALTH_CHECK[0] * DEFAULT_HEALTH_CHECK[1] + DNS_CACHE_SECONDS


def read(plan: Plan) -> Environment:
    """The fleets of ``plan`` and the program's storm inputs; PlanReadError if it has none."""
    storm = plan.outputs.get("storm")
    if not isinstance(storm, Mapping) or "services" not in storm:
        raise PlanReadError(
            "the Plan has no `storm` output: it comes from an older program; plan it again with this checkout"
        )
    index = _Index(plan.resources)
    notes: list[str] = []
    for policy in index.of(ASG_POLICY):
        if policy.inputs.get("policyType") not in (None, "TargetTrackingScaling", "StepScaling", "SimpleScaling"):
            notes.append(
                f"{policy.name}: a {policy.inputs.get('policyType')} policy is not simulated (predictive scaling "
                "forecasts from 24 h of history, which a storm scenario does not have)"
            )
    fleets = [
        *(_asg(index, group, storm) for group in index.of(ASG)),
        *(_ess(index, group, storm) for group in index.of(ESS_GROUP)),
        *_pods(index, storm, notes, (plan.as_of or datetime.now(UTC)).year),
    ]
    promotions = tuple(
        Promotion(
            p["name"],
            datetime.fromisoformat(p["start"]),
            datetime.fromisoformat(p["end"]),
            float(p["expectedPeakMultiplier"]),
            None if p.get("prewarmMinutes") is None else int(p["prewarmMinutes"]),
        )
        for p in storm.get("promotions", [])
    )
    return Environment(
        stack=plan.stack,
        as_of=plan.as_of or datetime.now(UTC),
        fleets=tuple(sorted((f for f in fleets if f is not None), key=lambda f: (f.region, f.service))),
        promotions=promotions,
        regions=storm.get("regions", {}),
        objectives=storm.get("objectives"),
        notes=tuple(notes),
        failover_seconds=failover_seconds(index.resources),
    )


def failover_seconds(resources: Iterable[Resource]) -> float:
    """Route 53 marks an endpoint unhealthy after ``failureThreshold`` failed checks
    ``requestInterval`` seconds apart (HealthCheck API); calculated checks follow their children."""
    checks = [
        (
            int(h.inputs.get("requestInterval") or DEFAULT_HEALTH_CHECK[0]),
            int(h.inputs.get("failureThreshold") or DEFAULT_HEALTH_CHECK[1]),
        )
        for h in resources
        if h.type == HEALTH_CHECK
        and h.inputs.get("type") not in ("CALCULATED", "CLOUDWATCH_METRIC", "RECOVERY_CONTROL")
    ] or [DEFAULT_HEALTH_CHECK]
    return max(interval * threshold for interval, threshold in checks) + DNS_CACHE_SECONDS


class _Index:
    def __init__(self, resources: Iterable[Resource]):
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}

    def of(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.type == kind]

    def linked(self, kind: str, target: Resource, through: str) -> list[Resource]:
        """Resources of ``kind`` whose input ``through`` depends on ``target``."""
        return [r for r in self.of(kind) if target.urn in (r.property_dependencies.get(through) or [])]

    def target(self, source: Resource, through: str) -> Resource | None:
        urns = source.property_dependencies.get(through) or []
        return next((self.by_urn[u] for u in urns if u in self.by_urn), None)


def _service_of(resource: Resource) -> str | None:
    return tag_value(resource.inputs.get("tags"), "service")


def _context(storm: Mapping[str, Any], region: str | None, service: str | None) -> tuple[dict, dict, dict] | None:
    regions, services = storm.get("regions", {}), storm.get("services", {})
    if region not in regions or service not in services:
        return None
    info = services[service]
    return regions[region], info, (info.get("capacity") or {}).get(region, {})


def _asg(index: _Index, group: Resource, storm: Mapping[str, Any]) -> Fleet | None:
    found = _context(storm, group.region, _service_of(group))
    if found is None:
        return None
    region, info, base = found
    inputs = group.inputs
    policies = index.linked(ASG_POLICY, group, "autoscalingGroupName")
    cpu = [
        p
        for p in policies
        if p.inputs.get("policyType") == "TargetTrackingScaling"
        and ((p.inputs.get("targetTrackingConfiguration") or {}).get("predefinedMetricSpecification") or {}).get(
            "predefinedMetricType"
        )
        == "ASGAverageCPUUtilization"
    ]
    target = float(cpu[0].inputs["targetTrackingConfiguration"]["targetValue"]) if cpu else float(info["cpuTarget"])
    assumptions = info["assumptions"]
    fast = float(assumptions["highResolutionDelaySeconds"])
    slow = float(assumptions["metricDelaySeconds"])
    tracking = tuple(t for p in policies if (t := _customized(p, fast, slow)) is not None)
    steps = tuple(r for p in policies for r in _steps(index, p, fast, slow))
    warmup = inputs.get("defaultInstanceWarmup")
    if warmup is None and cpu:
        warmup = cpu[0].inputs.get("estimatedInstanceWarmup")
    template = index.target(group, "launchTemplate")
    detailed = bool(((template.inputs.get("monitoring") or {}) if template else {}).get("enabled"))
    desired = int(inputs.get("desiredCapacity", inputs.get("minSize", 0)))
    pool = inputs.get("warmPool")
    warm = 0
    if isinstance(pool, Mapping):
        prepared = pool.get("maxGroupPreparedCapacity")
        ceiling = int(prepared) if prepared not in (None, -1) else int(inputs.get("maxSize", 0))
        warm = max(int(pool.get("minSize") or 0), ceiling - desired)
    schedules = tuple(
        Scheduled(
            _moment(s.inputs["startTime"]),
            _number(s.inputs.get("minSize")),
            _number(s.inputs.get("maxSize")),
            _number(s.inputs.get("desiredCapacity")),
            str(s.inputs.get("scheduledActionName", s.name)),
        )
        for s in index.linked(ASG_SCHEDULE, group, "autoscalingGroupName")
        if s.inputs.get("startTime")
    )
    return Fleet(
        region=group.region or "",
        code=region["code"],
        service=_service_of(group) or "",
        platform="vm",
        cloud="aws",
        role=region["role"],
        zones=len(region.get("zones") or []) or len(inputs.get("vpcZoneIdentifiers") or []) or 1,
        instance_type=(template.inputs.get("instanceType") if template else None),
        min=int(inputs.get("minSize", 0)),
        max=int(inputs.get("maxSize", 0)),
        desired=desired,
        base_desired=int(base.get("desired", desired)),
        cpu_target=target,
        period=60 if detailed else 300,
        warmup=float(warmup or 0),
        warm_pool=warm,
        target_tracking=bool(cpu),
        scale_in=not bool(cpu and (cpu[0].inputs["targetTrackingConfiguration"].get("disableScaleIn"))),
        tracking=tracking,
        step_rules=steps,
        schedules=tuple(sorted(schedules, key=lambda s: s.at)),
        assumptions=assumptions,
    )


def _customized(policy: Resource, fast: float, slow: float) -> Tracking | None:
    """A target-tracking policy on a customized metric with one metric stat (the 10-second CPU)."""
    if policy.inputs.get("policyType") != "TargetTrackingScaling":
        return None
    config = policy.inputs.get("targetTrackingConfiguration") or {}
    metrics = (config.get("customizedMetricSpecification") or {}).get("metrics") or []
    stats = [m.get("metricStat") for m in metrics if m.get("returnData", True) and m.get("metricStat")]
    if len(stats) != 1:
        return None
    period = int(stats[0].get("period") or 60)
    return Tracking(
        float(config.get("targetValue", 0)),
        period,
        fast if period < 60 else slow,
        scale_in=not config.get("disableScaleIn", False),
    )


def _steps(index: _Index, policy: Resource, fast: float, slow: float) -> list[StepRule]:
    """A step policy adding a share of the group, with the alarm that sets it off."""
    inputs = policy.inputs
    if inputs.get("policyType") != "StepScaling" or inputs.get("adjustmentType") != "PercentChangeInCapacity":
        return []
    adjustments = [a for a in inputs.get("stepAdjustments") or [] if float(a.get("scalingAdjustment", 0)) > 0]
    if not adjustments:
        return []
    rules = []
    for alarm in index.of(METRIC_ALARM):
        if policy.urn not in (alarm.property_dependencies.get("alarmActions") or []):
            continue
        period = int(alarm.inputs.get("period", 60))
        rules.append(
            StepRule(
                threshold=float(alarm.inputs.get("threshold", 100)),
                evaluations=int(alarm.inputs.get("datapointsToAlarm") or alarm.inputs.get("evaluationPeriods", 1)),
                percent=float(adjustments[0]["scalingAdjustment"]),
                min_adjustment=int(inputs.get("minAdjustmentMagnitude") or 1),
                cooldown=0,
                period=period,
                delay=fast if period < 60 else slow,
            )
        )
    return rules


def _ess(index: _Index, group: Resource, storm: Mapping[str, Any]) -> Fleet | None:
    found = _context(storm, group.region, _service_of(group))
    if found is None:
        return None
    region, info, base = found
    inputs = group.inputs
    rules = index.linked(ESS_RULE, group, "scalingGroupId")
    tracking = [r for r in rules if r.inputs.get("scalingRuleType") == "TargetTrackingScalingRule"]
    steps: list[StepRule] = []
    for alarm in index.linked(ESS_ALARM, group, "scalingGroupId"):
        rule = index.target(alarm, "alarmActions")
        if rule is None or rule.inputs.get("scalingRuleType") != "SimpleScalingRule":
            continue
        if rule.inputs.get("adjustmentType") != "PercentChangeInCapacity":
            continue
        steps.append(
            StepRule(
                threshold=float(alarm.inputs.get("threshold", 100)),
                evaluations=int(alarm.inputs.get("evaluationCount", 1)),
                percent=float(rule.inputs.get("adjustmentValue", 0)),
                min_adjustment=int(rule.inputs.get("minAdjustmentMagnitude") or 1),
                cooldown=int(rule.inputs.get("cooldown") or inputs.get("defaultCooldown") or 300),
            )
        )
    tasks = tuple(
        Scheduled(
            _moment(t.inputs["launchTime"]),
            _number(t.inputs.get("minValue")),
            _number(t.inputs.get("maxValue")),
            _number(t.inputs.get("desiredCapacity")),
            str(t.inputs.get("description") or t.name),
        )
        for t in index.linked(ESS_TASK, group, "scalingGroupId")
        if t.inputs.get("launchTime") and t.inputs.get("taskEnabled", True)
    )
    configurations = index.linked(ESS_CONFIGURATION, group, "scalingGroupId")
    types = (configurations[0].inputs.get("instanceTypes") or [None]) if configurations else [None]
    desired = int(inputs.get("desiredCapacity", inputs.get("minSize", 0)))
    return Fleet(
        region=group.region or "",
        code=region["code"],
        service=_service_of(group) or "",
        platform="vm",
        cloud="alicloud",
        role=region["role"],
        zones=len(region.get("zones") or []) or 1,
        instance_type=types[0],
        min=int(inputs.get("minSize", 0)),
        max=int(inputs.get("maxSize", 0)),
        desired=desired,
        base_desired=int(base.get("desired", desired)),
        cpu_target=float(tracking[0].inputs["targetValue"]) if tracking else float(info["cpuTarget"]),
        # CloudMonitor's ECS metrics for ESS: one datapoint a minute.
        period=60,
        warmup=float(tracking[0].inputs.get("estimatedInstanceWarmup") or 0) if tracking else 0.0,
        warm_pool=0,
        target_tracking=bool(tracking),
        step_rules=tuple(steps),
        schedules=tuple(sorted(tasks, key=lambda s: s.at)),
        assumptions=info["assumptions"],
    )


def _pods(index: _Index, storm: Mapping[str, Any], notes: list[str], year: int) -> list[Fleet]:
    fleets = []
    deployments = {
        (d.region, (d.inputs.get("metadata") or {}).get("namespace"), (d.inputs.get("metadata") or {}).get("name")): d
        for d in index.of(DEPLOYMENT)
    }
    node_groups = {n.region: n for n in index.of(NODE_GROUP)}
    for scaled in index.of(SCALED_OBJECT):
        meta, spec = scaled.inputs.get("metadata") or {}, scaled.inputs.get("spec") or {}
        target_ref = spec.get("scaleTargetRef") or {}
        deployment = deployments.get((scaled.region, meta.get("namespace"), target_ref.get("name")))
        service = ((meta.get("labels") or {}).get("courier/service")) or target_ref.get("name")
        found = _context(storm, scaled.region, service)
        if found is None or deployment is None:
            continue
        region, info, base = found
        triggers = spec.get("triggers") or []
        cpu = next((t for t in triggers if t.get("type") == "cpu"), None)
        pod = ((deployment.inputs.get("spec") or {}).get("template") or {}).get("spec") or {}
        requests = ((pod.get("containers") or [{}])[0].get("resources") or {}).get("requests") or {}
        nodes = _nodes(node_groups.get(scaled.region), requests, notes, scaled.name)
        replicas = int((deployment.inputs.get("spec") or {}).get("replicas") or spec.get("minReplicaCount") or 1)
        fleets.append(
            Fleet(
                region=scaled.region or "",
                code=region["code"],
                service=service or "",
                platform="kubernetes",
                cloud="aws",
                role=region["role"],
                zones=len(region.get("zones") or []) or 1,
                instance_type=None,
                min=int(spec.get("minReplicaCount") or 1),
                max=int(spec.get("maxReplicaCount") or 1),
                desired=replicas,
                base_desired=int(base.get("desired", replicas)),
                cpu_target=float((cpu or {}).get("metadata", {}).get("value") or info["cpuTarget"]),
                period=15,
                warmup=0,
                warm_pool=0,
                target_tracking=cpu is not None,
                assumptions=info["assumptions"],
                behaviour=_behaviour(spec),
                nodes=nodes,
                cron=tuple(_cron_windows(triggers, notes, scaled.name, range(year - 1, year + 3))),
            )
        )
    return fleets


def _behaviour(spec: Mapping[str, Any]) -> Behaviour:
    config = ((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get("behavior") or {}
    up, down = config.get("scaleUp") or {}, config.get("scaleDown") or {}

    def policy(rules: Mapping[str, Any], kind: str, default: float) -> tuple[float, int]:
        found = next((p for p in rules.get("policies") or [] if p.get("type") == kind), None)
        return (float(found["value"]), int(found.get("periodSeconds", 15))) if found else (default, 15)

    up_percent, up_period = policy(up, "Percent", 100)
    up_pods, _ = policy(up, "Pods", 4)
    down_percent, down_period = policy(down, "Percent", 10)
    return Behaviour(
        up_percent=up_percent,
        up_pods=int(up_pods),
        up_period=up_period,
        up_window=int(up.get("stabilizationWindowSeconds") or 0),
        down_percent=down_percent,
        down_period=down_period,
        down_window=int(down.get("stabilizationWindowSeconds", 300)),
    )


def _nodes(group: Resource | None, requests: Mapping[str, Any], notes: list[str], name: str) -> Nodes | None:
    if group is None:
        notes.append(f"{name}: no node group in the plan (an existing cluster): pods always find room")
        return None
    scaling = group.inputs.get("scalingConfig") or {}
    kind = (group.inputs.get("instanceTypes") or [None])[0]
    spec = catalog.instance_spec(kind) if kind else None
    cpu = _millicores(requests.get("cpu", "500m"))
    memory = _mebibytes(requests.get("memory", "512Mi"))
    if spec is None or cpu <= 0:
        notes.append(f"{name}: node type {kind!r} unknown: pods always find room")
        return None
    vcpus, memory_mib = spec
    allocatable_cpu = vcpus * 1000 - planning.NODE_RESERVED_CPU_MILLICORES - planning.NODE_DAEMON_CPU_MILLICORES
    allocatable_memory = memory_mib - planning.NODE_RESERVED_MEMORY_MIB - planning.NODE_DAEMON_MEMORY_MIB
    per_node = max(1, min(allocatable_cpu // cpu, allocatable_memory // max(memory, 1)))
    return Nodes(
        pods_per_node=int(per_node),
        min=int(scaling.get("minSize", 1)),
        max=int(scaling.get("maxSize", 1)),
        desired=int(scaling.get("desiredSize", scaling.get("minSize", 1))),
    )


_FIXED_CRON = re.compile(r"(\d{1,2}) (\d{1,2}) (\d{1,2}) (\d{1,2}) \*")


def _cron_windows(
    triggers: Iterable[Mapping[str, Any]], notes: list[str], name: str, years: Iterable[int]
) -> Iterable[CronWindow]:
    """KEDA cron triggers with fixed dates (``m h dom mon *``, as the program writes them) in
    ``years`` (a yearly expression opens once a year); other expressions are noted and left out."""
    for trigger in triggers:
        if trigger.get("type") != "cron":
            continue
        meta = trigger.get("metadata") or {}
        start, end = _FIXED_CRON.fullmatch(str(meta.get("start", ""))), _FIXED_CRON.fullmatch(str(meta.get("end", "")))
        if not start or not end or meta.get("timezone") not in ("Etc/UTC", "UTC"):
            notes.append(f"{name}: cron trigger {trigger.get('name')!r} is not a fixed UTC date: not simulated")
            continue
        for year in years:
            opens = _at(start, year)
            closes = _at(end, year)
            if opens is None or closes is None:
                continue
            if closes <= opens:
                closes = _at(end, year + 1) or closes
            yield CronWindow(str(trigger.get("name", "")), opens, closes, int(meta.get("desiredReplicas", 0)))


def _at(match: re.Match[str], year: int) -> datetime | None:
    minute, hour, day, month = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, tzinfo=UTC)
    except ValueError:
        return None


def _moment(text: str) -> datetime:
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _number(value: Any) -> int | None:
    if value is None:
        return None
    number = int(value)
    return None if number < 0 else number


def _millicores(text: Any) -> int:
    text = str(text)
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)


def _mebibytes(text: Any) -> int:
    text = str(text)
    units = {"Mi": 1, "Gi": 1024, "M": 1, "G": 1000}
    for unit, factor in units.items():
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return math.ceil(int(text) / 2**20)
