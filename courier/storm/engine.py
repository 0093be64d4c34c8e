"""The storm engine: one fleet, one demand curve, a fixed time step. Pure.

A fleet is simulated as the cloud runs it, each rule with its source:

Virtual-machine groups (EC2 Auto Scaling, Alibaba ESS):
- **Metric.** The group's average CPU over the instances *not* in warmup, one datapoint per
  period (60 s with detailed monitoring, 10 s with high-resolution metrics), visible to the
  alarm ``metric_delay`` seconds after its period ends. CPU cannot exceed 100%: an overloaded
  fleet reports 100%, however far behind it is (REFERENCE "How autoscaling really reacts").
- **Target tracking.** Scale-out when the last 3 datapoints are all above the target; scale-in
  when the last 15 are all below 90% of it (the alarms target tracking creates: 3 of 3 and 15
  of 15 datapoints, aws/copilot-cli#4233; the low alarm's threshold is below the target). While
  the alarm stays in ALARM the policy is evaluated at every period boundary:
  ``desired = ceil(N x metric / target)`` with N the instances out of warmup. Instances in
  warmup count toward desired but not toward the metric (EC2 Auto Scaling User Guide, "Set the
  default instance warmup"), so a fleet grows by at most 100/target per round while CPU is
  capped: a 4x surge takes several rounds of launch + warmup.
- **Step rules** (Alibaba's surge rule): when the last ``evaluations`` datapoints are at or
  above ``threshold``, add ``percent`` (at least ``min_adjustment``) instances, then wait
  ``cooldown`` seconds (ESS CreateScalingRule, SimpleScalingRule).
- **Launches.** A new instance serves ``boot`` seconds after desired rises (cold) or
  ``warm_resume`` seconds when it comes from the warm pool; the pool refills in ``boot``
  seconds. Scheduled actions set min/max/desired ``scheduled_delay`` seconds after their time
  (EC2 Auto Scaling runs them "up to about 2 minutes" late). Desired stays within [min, max].

Pods (Kubernetes HorizontalPodAutoscaler, as KEDA configures it):
- every 15 s (``--horizontal-pod-autoscaler-sync-period``) ``desired = ceil(ready x util /
  target)`` unless within the 10% tolerance; pods not yet ready count as 0% CPU when scaling
  up; scale-up at most max(100%, 4 pods) per 15 s, scale-down at most 10% per 60 s after a
  300 s stabilization window (the behaviour the ScaledObject sets; Kubernetes docs,
  "Horizontal Pod Autoscaling"); the metric is ``metric_delay`` seconds old (metrics-server
  scrapes every 15-60 s).
- KEDA cron triggers hold at least their ``desiredReplicas`` inside their window.
- A pod needs room on a node (its CPU request); pending pods make the cluster autoscaler add
  nodes up to the node group's max, schedulable ``node_provision`` seconds later; a scheduled
  pod is ready ``boot`` seconds later (a pod's start).

Serving: each serving instance (or ready pod) handles ``rps`` requests per second at 100% CPU;
demand beyond the fleet's serving capacity is unserved.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

#: Time step, seconds: divides every period (10 s, 60 s) and the HPA's 15 s sync.
STEP = 5
SCALE_OUT_DATAPOINTS = 3
SCALE_IN_DATAPOINTS = 15
#: The low alarm's threshold as a share of the target.
SCALE_IN_THRESHOLD = 0.9
HPA_SYNC = 15
HPA_TOLERANCE = 0.1
CLUSTER_AUTOSCALER_SCAN = 10


@dataclass(frozen=True)
class Action:
    """A scheduled change, ``at`` seconds after the simulation starts. None leaves a value."""

    at: float
    min: int | None = None
    max: int | None = None
    desired: int | None = None


@dataclass(frozen=True)
class Tracking:
    """A further target-tracking policy on CPU, e.g. on a high-resolution (10 s) metric."""

    target: float
    period: int
    delay: float
    #: False when the policy has scale-in disabled (it only ever adds).
    scale_in: bool = True


@dataclass(frozen=True)
class StepRule:
    """An alarm that adds a share of the fleet: Alibaba ESS's surge rule (with a cooldown) or
    an EC2 Auto Scaling step policy (``cooldown`` 0: instances in warmup count as added, so a
    breach that lasts adds nothing more until they are out of warmup)."""

    threshold: float
    evaluations: int
    percent: float
    min_adjustment: int
    cooldown: int
    #: The alarm's period and how late its datapoints are seen (None: the fleet's metric delay).
    period: int = 60
    delay: float | None = None


@dataclass(frozen=True)
class Behaviour:
    """The HPA's scaling behaviour (from the ScaledObject)."""

    up_percent: float = 100
    up_pods: int = 4
    up_period: int = 15
    up_window: int = 0
    down_percent: float = 10
    down_period: int = 60
    down_window: int = 300


@dataclass(frozen=True)
class Nodes:
    """The node group under the pods: how many pods fit a node, and its bounds."""

    pods_per_node: int
    min: int
    max: int
    desired: int


@dataclass(frozen=True)
class Window:
    """A KEDA cron trigger: at least ``replicas`` between ``start`` and ``end`` (seconds)."""

    start: float
    end: float
    replicas: int


@dataclass(frozen=True)
class FleetSetup:
    """What the engine needs of one fleet: read from the Plan by courier.storm.fleets."""

    kind: str  # "vm" or "pods"
    min: int
    max: int
    desired: int
    cpu_target: float
    rps: float
    boot: float
    metric_delay: float
    period: int = 60
    warmup: float = 0
    warm_pool: int = 0
    warm_resume: float = 45
    scheduled_delay: float = 0
    actions: tuple[Action, ...] = ()
    step_rules: tuple[StepRule, ...] = ()
    #: The CPU policy on the group's standard metric (``period``, ``metric_delay``).
    target_tracking: bool = True
    #: Whether that policy scales in (False: disabled, another policy does).
    scale_in: bool = True
    #: Further target-tracking policies (AWS scales out when any asks, in when all agree).
    tracking: tuple[Tracking, ...] = ()
    # Pods only.
    behaviour: Behaviour = Behaviour()
    nodes: Nodes | None = None
    windows: tuple[Window, ...] = ()
    node_provision: float = 120


@dataclass(frozen=True)
class Event:
    """At ``at`` seconds, ``lose_share`` of the serving instances (and nodes) vanish, as in a lost
    zone; the group replaces them."""

    at: float
    lose_share: float


@dataclass
class Series:
    """One value per step."""

    time: list[float] = field(default_factory=list)
    demand: list[float] = field(default_factory=list)
    serving: list[float] = field(default_factory=list)
    desired: list[int] = field(default_factory=list)
    total: list[int] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    ideal: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    overloaded_minutes: float
    unserved_percent: float
    #: From the storm's onset (``surge_at``, else ``measure_from``) to the end of the last
    #: overloaded step (0 when never overloaded).
    recovery_minutes: float
    peak_cpu_percent: float
    max_capacity: int
    instance_hours: float
    ideal_instance_hours: float
    series: Series


def simulate(
    setup: FleetSetup,
    demand: Callable[[float], float],
    duration: float,
    *,
    measure_from: float = 0,
    surge_at: float | None = None,
    events: Sequence[Event] = (),
) -> Outcome:
    """Run ``setup`` against ``demand(t)`` (requests per second) for ``duration`` seconds and
    measure from ``measure_from`` on (the scenario's storm; the fleet settles before it);
    recovery counts from ``surge_at`` (the moment the storm hits; default ``measure_from``)."""
    onset = measure_from if surge_at is None else surge_at
    if setup.kind == "pods":
        return _Pods(setup).run(demand, duration, measure_from, events, onset)
    return _Group(setup).run(demand, duration, measure_from, events, onset)


class _Run:
    """What both kinds share: the serving model, the measurements."""

    def __init__(self, setup: FleetSetup):
        self.setup = setup
        self.series = Series()

    def record(self, t: float, demand: float, serving_units: int, desired: int, total: int) -> float:
        capacity = serving_units * self.setup.rps
        cpu = 100.0 if capacity <= 0 else min(100.0, demand / capacity * 100)
        series = self.series
        series.time.append(t)
        series.demand.append(demand)
        series.serving.append(min(demand, capacity))
        series.desired.append(desired)
        series.total.append(total)
        series.cpu.append(cpu if demand > 0 else 0.0)
        series.ideal.append(math.ceil(demand / (self.setup.rps * self.setup.cpu_target / 100) - 1e-9))
        return cpu

    def outcome(self, measure_from: float, onset: float) -> Outcome:
        """What the measured window shows; recovery counts from ``onset``."""
        s = self.series
        keep = [i for i, t in enumerate(s.time) if t >= measure_from]
        hours = STEP / 3600
        demanded = sum(s.demand[i] for i in keep)
        unserved = sum(s.demand[i] - s.serving[i] for i in keep)
        overloaded = [i for i in keep if s.demand[i] - s.serving[i] > 1e-9]
        last = max(overloaded, default=None)
        return Outcome(
            overloaded_minutes=len(overloaded) * STEP / 60,
            unserved_percent=100 * unserved / demanded if demanded > 0 else 0.0,
            recovery_minutes=max(0.0, (s.time[last] + STEP - onset) / 60) if last is not None else 0.0,
            peak_cpu_percent=max((s.cpu[i] for i in keep), default=0.0),
            max_capacity=max((s.total[i] for i in keep), default=0),
            instance_hours=sum(s.total[i] for i in keep) * hours,
            ideal_instance_hours=sum(s.ideal[i] for i in keep) * hours,
            series=s,
        )


class _Group(_Run):
    """An EC2 Auto Scaling group or an ESS scaling group."""

    def __init__(self, setup: FleetSetup):
        super().__init__(setup)
        self.min, self.max = setup.min, setup.max
        self.desired = _clamp(setup.desired, self.min, self.max)
        # Start settled: every instance serving and out of warmup.
        self.steady = self.desired
        self.warming: list[float] = []  # warmup end times
        self.pending: list[float] = []  # serving-from times
        self.pool = setup.warm_pool
        self.refills: list[float] = []  # pool refill completion times
        #: When capacity last changed: scale-in waits for datapoints measured after it.
        self.changed_at = -math.inf
        self.cooldown_until = -math.inf
        policies = (
            [Tracking(setup.cpu_target, setup.period, setup.metric_delay, setup.scale_in)]
            if setup.target_tracking
            else []
        )
        self.policies = [(policy, _Stream(policy.period, policy.delay)) for policy in (*policies, *setup.tracking)]
        self.rules = [
            (rule, _Stream(rule.period, setup.metric_delay if rule.delay is None else rule.delay))
            for rule in setup.step_rules
        ]
        self.streams = [stream for _, stream in (*self.policies, *self.rules)]
        #: Each policy's last scale-in verdict (the capacity it would keep), None when not calm.
        self.verdicts: list[int | None] = [None] * len(self.policies)

    @property
    def total(self) -> int:
        return self.steady + len(self.warming) + len(self.pending)

    def run(
        self,
        demand: Callable[[float], float],
        duration: float,
        measure_from: float,
        events: Sequence[Event],
        onset: float,
    ) -> Outcome:
        setup = self.setup
        actions = sorted(setup.actions, key=lambda a: a.at)
        queue = sorted(events, key=lambda e: e.at)
        t = 0.0
        while t < duration:
            while actions and actions[0].at + setup.scheduled_delay <= t:
                self.apply(actions.pop(0))
                self.changed_at = t
            while queue and queue[0].at <= t:
                self.lose(queue.pop(0).lose_share)
            self.advance(t)
            self.converge(t)
            load = demand(t)
            serving = self.steady + len(self.warming)
            cpu = self.record(t, load, serving, self.desired, self.total)
            # The metric averages the instances out of warmup; they run at the fleet's CPU.
            sample = cpu if self.steady > 0 else 0.0
            t += STEP
            closed = {id(stream) for stream in self.streams if stream.add(sample, t)}
            if closed:
                self.evaluate(t, closed)
        return self.outcome(measure_from, onset)

    def apply(self, action: Action) -> None:
        self.min = action.min if action.min is not None else self.min
        self.max = action.max if action.max is not None else self.max
        target = action.desired if action.desired is not None else self.desired
        self.desired = _clamp(target, self.min, self.max)

    def lose(self, share: float) -> None:
        lost = round(self.total * share)
        for _ in range(lost):
            if self.steady:
                self.steady -= 1
            elif self.warming:
                self.warming.pop()
            elif self.pending:
                self.pending.pop()

    def advance(self, t: float) -> None:
        # Each list is in time order (appended with a constant delay): pop from the front.
        while self.pending and self.pending[0] <= t:
            self.pending.pop(0)
            if self.setup.warmup > 0:
                self.warming.append(t + self.setup.warmup)
            else:
                self.steady += 1
        while self.warming and self.warming[0] <= t:
            self.warming.pop(0)
            self.steady += 1
        while self.refills and self.refills[0] <= t:
            self.refills.pop(0)
            self.pool += 1

    def converge(self, t: float) -> None:
        """Launch or terminate toward desired."""
        gap = self.desired - self.total
        for _ in range(max(0, gap)):
            if self.pool > 0:
                self.pool -= 1
                bisect.insort(self.pending, t + self.setup.warm_resume)
                self.refills.append(t + self.setup.boot)
            else:
                bisect.insort(self.pending, t + self.setup.boot)
        for _ in range(max(0, -gap)):
            if self.pending:
                self.pending.pop()
            elif self.warming:
                self.warming.pop()
            elif self.steady:
                self.steady -= 1

    def evaluate(self, t: float, closed: set[int]) -> None:
        """At the end of a period of the streams in ``closed``: each policy whose period ended
        decides (an alarm is evaluated once per period); then the group acts."""
        # Instances whose warmup ends at this boundary count from it.
        self.advance(t)
        outs = []
        for index, (policy, stream) in enumerate(self.policies):
            if id(stream) not in closed:
                continue
            recent = stream.visible(t, SCALE_OUT_DATAPOINTS)
            if recent and all(v > policy.target for v in recent) and self.steady > 0:
                outs.append(math.ceil(self.steady * recent[-1] / policy.target - 1e-9))
            # A scale-in waits for a full window measured at the new capacity.
            calm = stream.visible(t, SCALE_IN_DATAPOINTS, since=self.changed_at)
            if calm and all(v < policy.target * SCALE_IN_THRESHOLD for v in calm):
                self.verdicts[index] = math.ceil(self.steady * calm[-1] / policy.target - 1e-9)
            else:
                self.verdicts[index] = None
        # A policy with scale-in disabled neither scales in nor stands in the way.
        voting = [v for (policy, _), v in zip(self.policies, self.verdicts, strict=True) if policy.scale_in]
        ins = [v for v in voting if v is not None]
        calm_all = bool(voting) and len(ins) == len(voting)
        if outs and max(outs) > self.desired:
            self.desired = _clamp(max(outs), self.min, self.max)
            self.changed_at = t
        elif calm_all and ins and not self.warming and not self.pending and self.steady > 0:
            # Every policy must agree before the group scales in; the most cautious wins.
            wanted = max(ins)
            if wanted < self.desired:
                self.desired = _clamp(wanted, self.min, self.max)
                self.changed_at = t
                self.verdicts = [None] * len(self.policies)
        for rule, stream in self.rules:
            if id(stream) not in closed:
                continue
            recent = stream.visible(t, rule.evaluations)
            if not recent or not all(v >= rule.threshold for v in recent):
                continue
            if rule.cooldown > 0:
                if t < self.cooldown_until:
                    continue
                step = max(rule.min_adjustment, math.ceil(self.total * rule.percent / 100 - 1e-9))
                wanted = self.desired + step
                self.cooldown_until = t + rule.cooldown
            else:
                # Instances still launching or in warmup already count as the adjustment.
                step = max(rule.min_adjustment, math.ceil(self.steady * rule.percent / 100 - 1e-9))
                wanted = self.steady + step
            if wanted > self.desired:
                self.desired = _clamp(wanted, self.min, self.max)
                self.changed_at = t


class _Stream:
    """One alarm's metric: the average of the samples over each period, seen ``delay`` seconds
    after the period ends."""

    def __init__(self, period: int, delay: float):
        self.period, self.delay = period, delay
        self.samples: list[float] = []
        self.datapoints: list[tuple[float, float, float]] = []  # (visible at, value, period end)
        self.seen = 0

    def add(self, sample: float, t: float) -> bool:
        """Add the sample of the step ending at ``t``; True when a period closed."""
        self.samples.append(sample)
        if t % self.period:
            return False
        self.datapoints.append((t + self.delay, sum(self.samples) / len(self.samples), t))
        self.samples = []
        return True

    def visible(self, t: float, count: int, since: float = -math.inf) -> list[float] | None:
        """The last ``count`` datapoints seen at ``t`` (they become visible in order), all
        measured over periods that began at ``since`` or later; else None."""
        while self.seen < len(self.datapoints) and self.datapoints[self.seen][0] <= t:
            self.seen += 1
        if self.seen < count:
            return None
        window = self.datapoints[self.seen - count : self.seen]
        if window[0][2] - self.period < since:
            return None
        return [value for _, value, _ in window]


class _Pods(_Run):
    """A Deployment scaled by the HPA that KEDA owns, on a node group."""

    def __init__(self, setup: FleetSetup):
        super().__init__(setup)
        self.desired = _clamp(setup.desired, setup.min, setup.max)
        self.ready = self.desired
        self.starting: list[float] = []  # ready-at times of scheduled pods
        self.pending = 0  # pods waiting for a node
        nodes = setup.nodes
        self.nodes = max(nodes.desired, math.ceil(self.desired / nodes.pods_per_node)) if nodes else 0
        self.node_arrivals: list[float] = []
        self.samples: list[tuple[float, float]] = []  # (time, cpu over ready pods)
        self.sample_times: list[float] = []
        self.history: list[tuple[float, int]] = []  # (time, recommendation)
        self.last_scale = -math.inf

    @property
    def total(self) -> int:
        return self.ready + len(self.starting) + self.pending

    def run(
        self,
        demand: Callable[[float], float],
        duration: float,
        measure_from: float,
        events: Sequence[Event],
        onset: float,
    ) -> Outcome:
        queue = sorted(events, key=lambda e: e.at)
        t = 0.0
        while t < duration:
            while queue and queue[0].at <= t:
                share = queue.pop(0).lose_share
                lost = round(self.ready * share)
                self.ready -= lost
                # The zone's nodes go with its pods; the lost pods wait for room elsewhere.
                self.nodes -= round(self.nodes * share)
                self.pending += lost
            self.advance(t)
            load = demand(t)
            cpu = self.record(t, load, self.ready, self.desired, self.total)
            self.samples.append((t, cpu))
            self.sample_times.append(t)
            if t % HPA_SYNC == 0:
                self.sync(t)
            self.schedule(t)
            t += STEP
        return self.outcome(measure_from, onset)

    def advance(self, t: float) -> None:
        while self.starting and self.starting[0] <= t:
            self.starting.pop(0)
            self.ready += 1
        while self.node_arrivals and self.node_arrivals[0] <= t:
            self.node_arrivals.pop(0)
            self.nodes += 1

    def floor(self, t: float) -> int:
        held = [w.replicas for w in self.setup.windows if w.start <= t < w.end]
        return max([self.setup.min, *held])

    def sync(self, t: float) -> None:
        setup = self.setup
        index = bisect.bisect_right(self.sample_times, t - setup.metric_delay) - 1
        current = self.total
        recommendation = current
        if index >= 0 and self.ready > 0:
            utilization = self.samples[index][1]
            ratio = utilization / setup.cpu_target
            if abs(ratio - 1) > HPA_TOLERANCE:
                if ratio > 1:
                    # Pods not yet ready count as 0% when scaling up.
                    usage = utilization * self.ready
                    recommendation = math.ceil(usage / setup.cpu_target - 1e-9)
                    if recommendation <= current:
                        recommendation = current
                else:
                    recommendation = math.ceil(self.ready * ratio - 1e-9)
        self.history.append((t, recommendation))
        horizon = t - max(setup.behaviour.down_window, setup.behaviour.up_window, HPA_SYNC)
        while self.history and self.history[0][0] <= horizon:
            self.history.pop(0)
        behaviour = setup.behaviour
        if recommendation > current:
            window = [r for at, r in self.history if at > t - behaviour.up_window] or [recommendation]
            recommendation = min(window) if behaviour.up_window else recommendation
            # The policies bound the growth over their period, from the count at its start
            # (Kubernetes: "periodSeconds ... the length of time in the past for which the
            # policy must hold true"); a 15 s period is one sync, i.e. the current count.
            series = self.series
            first = bisect.bisect_right(series.time, t - behaviour.up_period)
            base = series.total[first] if first < len(series.total) else current
            limit = max(math.ceil(base * (1 + behaviour.up_percent / 100)), base + behaviour.up_pods)
            wanted = min(recommendation, limit)
        else:
            window = [r for at, r in self.history if at > t - behaviour.down_window]
            wanted = max(window) if window else recommendation
            if wanted < current:
                if t - self.last_scale < behaviour.down_period:
                    wanted = current
                else:
                    wanted = max(wanted, math.floor(current * (1 - behaviour.down_percent / 100)))
        wanted = _clamp(max(wanted, self.floor(t)), setup.min, setup.max)
        if wanted != current:
            self.last_scale = t
        self.resize(wanted)

    def resize(self, wanted: int) -> None:
        self.desired = wanted
        gap = wanted - self.total
        if gap > 0:
            self.pending += gap
        for _ in range(max(0, -gap)):
            if self.pending:
                self.pending -= 1
            elif self.starting:
                self.starting.pop()
            elif self.ready:
                self.ready -= 1

    def schedule(self, t: float) -> None:
        nodes = self.setup.nodes
        if not self.pending:
            return
        if nodes is None:
            room = self.pending
        else:
            room = max(0, self.nodes * nodes.pods_per_node - self.ready - len(self.starting))
        placed = min(room, self.pending)
        self.pending -= placed
        self.starting.extend(t + self.setup.boot for _ in range(placed))
        if nodes is not None and self.pending and t % CLUSTER_AUTOSCALER_SCAN == 0:
            coming = len(self.node_arrivals) * nodes.pods_per_node
            short = self.pending - coming
            if short > 0:
                add = min(math.ceil(short / nodes.pods_per_node), nodes.max - self.nodes - len(self.node_arrivals))
                self.node_arrivals.extend(t + self.setup.node_provision for _ in range(max(0, add)))


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))
