"""Prometheus rules for one region, generated from the EnvironmentSpec. Pure: no resources.

Every alert carries ``severity`` (critical | warning | info), ``service`` and ``region``
labels, ``category`` and ``customer_impact="true"`` where they apply, and ``summary``,
``description`` and ``runbook_url`` annotations. Routing (routing.py) decides who is told.

Metrics the rules read (the contract with the app teams, see docs/metrics.md); the
Prometheus agent on every instance adds ``service``, ``region`` and ``instance``:

- node_exporter: ``node_cpu_seconds_total{cpu, mode}``, ``up{job="node"}``
- kube-state-metrics (Kubernetes services): ``kube_pod_status_ready``,
  ``kube_pod_container_resource_requests``, ``kube_horizontalpodautoscaler_spec_max_replicas``
- every service: ``http_requests_total{code}``, ``http_request_duration_seconds`` (histogram)
- orders: ``courier_order_attempts_total{outcome="created"|"failed"}``
- payments: ``courier_payment_attempts_total{outcome="succeeded"|"failed"}``
- dispatch: ``courier_dispatch_assignment_seconds`` (histogram: order ready -> rider assigned)
- tracking: ``courier_rider_location_lag_seconds`` (histogram: age of a location update when applied)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.monitoring import yamltext
from components.spec import AlertingSpec, EnvironmentSpec, RegionSpec, ServiceSpec

#: Ratio alerts stay quiet below this many requests per second: a handful of errors in a
#: quiet hour is noise, not an outage.
MIN_REQUESTS_PER_SECOND = 0.5

#: Multi-window, multi-burn-rate SLO alerts (SRE workbook, chapter 5).
#: (long window, short window, burn rate, for, severity)
BURN_RATE_WINDOWS = (
    ("1h", "5m", 14.4, "2m", "critical"),
    ("6h", "30m", 6.0, "15m", "critical"),
    ("1d", "2h", 3.0, "1h", "warning"),
    ("3d", "6h", 1.0, "3h", "warning"),
)
SLO_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")

#: The largest size a fleet may reach now, per (service, region): FleetAtMaxCapacity compares
#: the serving instances with it.
MAX_INSTANCES = "courier:fleet_max_instances:count"

ALERT_NAMES = (
    "FleetCpuAboveTarget",
    "FleetAtMaxCapacity",
    "ErrorBudgetBurn",
    "LatencyP99AboveObjective",
    "OrderCreationFailureRatioHigh",
    "PaymentFailureRatioHigh",
    "DispatchAssignmentSlow",
    "RiderLocationLagHigh",
    "TrafficSurge",
    "TargetDown",
    "FleetTargetsAbsent",
    "Watchdog",
)


@dataclass(frozen=True)
class _Context:
    spec: EnvironmentSpec
    region: RegionSpec
    alerting: AlertingSpec

    def selector(self, service: ServiceSpec, **extra: str) -> str:
        matchers = {"service": service.name, "region": self.region.name, **extra}
        return "{" + ", ".join(f'{k}="{v}"' for k, v in matchers.items()) + "}"


def _num(value: float) -> str:
    return f"{value:.10g}"


def _alert(
    context: _Context,
    name: str,
    expr: str,
    duration: str,
    severity: str,
    summary: str,
    description: str,
    *,
    service: str | None,
    category: str | None = None,
    customer_impact: bool = False,
    extra_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    labels: dict[str, str] = {"severity": severity}
    if service is not None:
        labels["service"] = service
        labels["region"] = context.region.name
    if category:
        labels["category"] = category
    if customer_impact:
        labels["customer_impact"] = "true"
    labels.update(extra_labels or {})
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if duration:
        rule["for"] = duration
    rule["labels"] = labels
    rule["annotations"] = {
        "summary": summary,
        "description": description,
        "runbook_url": context.alerting.runbook_url(name),
    }
    return rule


#: An instance counts in ``courier:fleet_instances:count`` while its last ``up`` sample is younger
#: than this: four of the agent's 15-second scrapes, with room for remote write's batching.
FRESH_SECONDS = 60


def recording_rules(region: RegionSpec, pod_namespaces: Sequence[str] = ()) -> dict[str, Any]:
    """Per-(service, region) series the alerts compare; identical label sets across windows.

    VM fleets are measured by node_exporter; Kubernetes services (``pod_namespaces``, one
    namespace per service) by their containers' CPU against their requests, which is what
    the HPA's Utilization target means, and by their ready pods.
    """
    rules: list[dict[str, Any]] = [
        {
            "record": "courier:fleet_cpu_busy:ratio",
            "expr": '1 - avg by (service, region) (rate(node_cpu_seconds_total{mode="idle"}[2m]))',
        },
        # Only instances heard from lately: the agent runs on the instance, so a terminated or
        # stopped instance's `up` just stops, without a staleness marker, and PromQL's 5-minute
        # lookback would count it on while its replacement is counted too.
        {
            "record": "courier:fleet_instances:count",
            "expr": f'count by (service, region) (up{{job="node"}} == 1 and (time() - timestamp(up{{job="node"}})) < {FRESH_SECONDS})',
        },
        {
            "record": "courier:http_request_duration_seconds:p99_5m",
            "expr": "histogram_quantile(0.99, sum by (le, service, region) (rate(http_request_duration_seconds_bucket[5m])))",
        },
    ]
    if pod_namespaces:
        namespaces = "|".join(pod_namespaces)
        cpu = (
            f'sum by (namespace, region) (rate(container_cpu_usage_seconds_total{{namespace=~"{namespaces}", container!="", container!="POD"}}[2m]))\n'
            f'/\nsum by (namespace, region) (kube_pod_container_resource_requests{{namespace=~"{namespaces}", resource="cpu"}})'
        )
        ready = (
            f'count by (namespace, region) (kube_pod_status_ready{{namespace=~"{namespaces}", condition="true"}} == 1)'
        )
        # The HPA KEDA derives from the ScaledObject is named after the service, in its namespace;
        # its maxReplicas is the live ceiling (the ScaledObject's, raised for promotions ahead).
        ceiling = (
            f'max by (namespace, region) (kube_horizontalpodautoscaler_spec_max_replicas{{namespace=~"{namespaces}"}})'
        )
        rules += [
            {"record": "courier:fleet_cpu_busy:ratio", "expr": _as_service(cpu)},
            {"record": "courier:fleet_instances:count", "expr": _as_service(ready)},
            {"record": MAX_INSTANCES, "expr": _as_service(ceiling)},
        ]
    for window in SLO_WINDOWS:
        rules.append(
            {
                "record": f"courier:http_requests:rate{window}",
                "expr": f"sum by (service, region) (rate(http_requests_total[{window}]))",
            }
        )
        rules.append(
            {
                "record": f"courier:http_errors:ratio_rate{window}",
                "expr": (
                    f'sum by (service, region) (rate(http_requests_total{{code=~"5.."}}[{window}]))\n'
                    f"/\nsum by (service, region) (rate(http_requests_total[{window}]))"
                ),
            }
        )
    return {"name": f"courier-recording-{region.code}", "rules": rules}


def _as_service(expr: str) -> str:
    """A namespace-labelled series as a service-labelled one (the namespace is the service)."""
    return f'label_replace(\n{expr},\n"service", "$1", "namespace", "(.*)"\n)'


def scheduled_max(spec: EnvironmentSpec, service: ServiceSpec, region: RegionSpec) -> str:
    """The Auto Scaling group's maximum as its scheduled actions set it, as a PromQL scalar of
    ``time()``: the configured maximum, and each promotion's from its prewarm action to its
    restore action (components/aws/fleet.py schedules exactly these; promotion windows never
    overlap, the spec refuses it). Prometheus has no metric of the group's live maximum, so a
    maximum changed by hand is not seen here; the CloudWatch alarm compares with the live
    ``GroupMaxSize`` (components/aws/alarms.py)."""
    base = spec.capacity(service, region).max
    terms = [str(base)]
    for promotion in spec.promotion_schedules(service, region):
        raised = promotion.capacity.max - base
        if raised == 0:
            continue
        window = [f"(time() < bool {int(promotion.restore_at.timestamp())})"]
        if promotion.raise_at is not None:
            window.insert(0, f"(time() >= bool {int(promotion.raise_at.timestamp())})")
        terms.append(f"{raised} * {' * '.join(window)}")
    return " + ".join(terms)


def _max_instances(context: _Context, service: ServiceSpec) -> list[dict[str, Any]]:
    """A VM fleet's maximum in force (``scheduled_max``), recorded for its (service, region);
    a Kubernetes service's is its HPA's, recorded from kube-state-metrics (recording_rules)."""
    if service.platform == "kubernetes":
        return []
    return [
        {
            "record": MAX_INSTANCES,
            "expr": f"vector({scheduled_max(context.spec, service, context.region)})",
            "labels": {"service": service.name, "region": context.region.name},
        }
    ]


def _capacity(context: _Context, service: ServiceSpec) -> list[dict[str, Any]]:
    s = context.selector(service)
    target = service.scaling.cpu_target
    where = f"{service.name} in {context.region.name}"
    ceiling = (
        "the HPA's maxReplicas"
        if service.platform == "kubernetes"
        else f"the group's maximum in force (configured {context.spec.capacity(service, context.region).max}, "
        "raised by promotions while they last)"
    )
    # group_left keeps the serving side's labels (a Kubernetes service's namespace), as the
    # other capacity alert does; each side has one series per (service, region).
    return [
        *_max_instances(context, service),
        _alert(
            context,
            "FleetCpuAboveTarget",
            f"courier:fleet_cpu_busy:ratio{s} > {_num(target / 100)}",
            "10m",
            "warning",
            f"{where}: fleet CPU above the {target}% target for 10 minutes",
            "Average CPU of the fleet is {{ $value | humanizePercentage }}, above the "
            f"{target}% target-tracking target for 10 minutes: autoscaling is not keeping up.",
            service=service.name,
            category="capacity",
        ),
        _alert(
            context,
            "FleetAtMaxCapacity",
            f"courier:fleet_instances:count{s}\n>= on (service, region) group_left\n{MAX_INSTANCES}{s}\nand on (service, region)\n"
            f"courier:fleet_cpu_busy:ratio{s} > {_num(target / 100)}",
            "5m",
            "critical",
            f"{where}: fleet at its maximum size and still above {target}% CPU",
            f"{{{{ $value }}}} instances are serving, {ceiling}, and CPU is still above the "
            "target: the fleet cannot scale out any further.",
            service=service.name,
            category="capacity",
            customer_impact=True,
        ),
    ]


def _slo(context: _Context, service: ServiceSpec) -> list[dict[str, Any]]:
    s = context.selector(service)
    objective = service.slo.availability_percent
    budget = 1 - objective / 100
    where = f"{service.name} in {context.region.name}"
    rules = []
    for long, short, burn, duration, severity in BURN_RATE_WINDOWS:
        threshold = _num(burn * budget)
        rules.append(
            _alert(
                context,
                "ErrorBudgetBurn",
                f"courier:http_errors:ratio_rate{long}{s} > {threshold}\n"
                f"and courier:http_errors:ratio_rate{short}{s} > {threshold}\n"
                f"and courier:http_requests:rate{short}{s} > {_num(MIN_REQUESTS_PER_SECOND)}",
                duration,
                severity,
                f"{where}: burning the {objective}% availability error budget {_num(burn)}x too fast",
                f"The 5xx ratio over the last {long} is {{{{ $value | humanizePercentage }}}} "
                f"(and still high over {short}): at {_num(burn)}x the budget of a {objective}% objective.",
                service=service.name,
                category="availability",
                customer_impact=True,
                extra_labels={"long_window": long, "short_window": short},
            )
        )
    latency = service.slo.latency_p99_ms / 1000
    rules.append(
        _alert(
            context,
            "LatencyP99AboveObjective",
            f"courier:http_request_duration_seconds:p99_5m{s} > {_num(latency)}\n"
            f"and on (service, region)\ncourier:http_requests:rate5m{s} > {_num(MIN_REQUESTS_PER_SECOND)}",
            "10m",
            "warning",
            f"{where}: p99 latency above {service.slo.latency_p99_ms} ms for 10 minutes",
            "p99 response time is {{ $value | humanizeDuration }}, above the "
            f"{service.slo.latency_p99_ms} ms objective.",
            service=service.name,
            category="latency",
            customer_impact=True,
        )
    )
    return rules


def _failure_ratio(
    context: _Context, service: ServiceSpec, name: str, metric: str, failed: str, percent: float, what: str
) -> dict[str, Any]:
    s = context.selector(service)
    f = context.selector(service, outcome=failed)
    return _alert(
        context,
        name,
        f"sum by (service, region) (rate({metric}{f}[5m]))\n/\nsum by (service, region) (rate({metric}{s}[5m]))\n"
        f"> {_num(percent / 100)}\n"
        f"and on (service, region)\nsum by (service, region) (rate({metric}{s}[5m])) > {_num(MIN_REQUESTS_PER_SECOND)}",
        "5m",
        "critical",
        f"{service.name} in {context.region.name}: more than {_num(percent)}% of {what} failing",
        f"{{{{ $value | humanizePercentage }}}} of {what} failed over the last 5 minutes (threshold {_num(percent)}%).",
        service=service.name,
        category="business",
        customer_impact=True,
    )


def _slow_p95(
    context: _Context, service: ServiceSpec, name: str, metric: str, seconds: int, what: str, duration: str
) -> dict[str, Any]:
    s = context.selector(service)
    return _alert(
        context,
        name,
        f"histogram_quantile(0.95, sum by (le, service, region) (rate({metric}_bucket{s}[10m]))) > {seconds}",
        duration,
        "warning",
        f"{service.name} in {context.region.name}: p95 {what} above {seconds} s",
        f"p95 {what} is {{{{ $value | humanizeDuration }}}}, above {seconds} s.",
        service=service.name,
        category="business",
        customer_impact=True,
    )


def _business(context: _Context, service: ServiceSpec) -> list[dict[str, Any]]:
    thresholds = context.alerting.thresholds
    if service.name == "orders":
        return [
            _failure_ratio(
                context,
                service,
                "OrderCreationFailureRatioHigh",
                "courier_order_attempts_total",
                "failed",
                thresholds.order_failure_percent,
                "order creations",
            )
        ]
    if service.name == "payments":
        return [
            _failure_ratio(
                context,
                service,
                "PaymentFailureRatioHigh",
                "courier_payment_attempts_total",
                "failed",
                thresholds.payment_failure_percent,
                "payments",
            )
        ]
    if service.name == "dispatch":
        return [
            _slow_p95(
                context,
                service,
                "DispatchAssignmentSlow",
                "courier_dispatch_assignment_seconds",
                thresholds.dispatch_p95_seconds,
                "time to assign a rider",
                "10m",
            )
        ]
    if service.name == "tracking":
        return [
            _slow_p95(
                context,
                service,
                "RiderLocationLagHigh",
                "courier_rider_location_lag_seconds",
                thresholds.location_lag_p95_seconds,
                "rider location update lag",
                "5m",
            )
        ]
    return []


def _traffic(context: _Context, service: ServiceSpec) -> list[dict[str, Any]]:
    s = context.selector(service)
    surge = context.alerting.thresholds.traffic_surge_multiplier
    now = f"sum by (service, region) (rate(http_requests_total{s}[10m]))"
    return [
        _alert(
            context,
            "TrafficSurge",
            f"{now}\n> {_num(surge)} * sum by (service, region) (rate(http_requests_total{s}[10m] offset 1d))\n"
            f"and {now} > {_num(MIN_REQUESTS_PER_SECOND)}",
            "15m",
            "info",
            f"{service.name} in {context.region.name}: traffic {_num(surge)}x above the same time yesterday",
            "{{ $value | humanize }} requests per second, more than "
            f"{_num(surge)}x yesterday's rate at this hour: an early warning of an unplanned surge.",
            service=service.name,
            category="traffic",
        ),
        _absent(context, service),
    ]


def _absent(context: _Context, service: ServiceSpec) -> dict[str, Any]:
    where = f"{service.name} in {context.region.name}"
    if service.platform == "kubernetes":
        return _alert(
            context,
            "FleetTargetsAbsent",
            f'absent(kube_pod_status_ready{{namespace="{service.name}", condition="true"}} == 1)',
            "10m",
            "critical",
            f"{where}: no ready pod for 10 minutes",
            "No pod of the service is ready (or kube-state-metrics is not reporting): the workload is down "
            "or monitoring is blind.",
            service=service.name,
            category="monitoring",
        )
    return _alert(
        context,
        "FleetTargetsAbsent",
        f'absent(up{{job="node", service="{service.name}", region="{context.region.name}"}})',
        "10m",
        "critical",
        f"{where}: no instance has reported metrics for 10 minutes",
        "No node_exporter target of the fleet is being scraped: the fleet is gone or monitoring is blind.",
        service=service.name,
        category="monitoring",
    )


def _region_wide(context: _Context) -> list[dict[str, Any]]:
    region = context.region.name
    return [
        _alert(
            context,
            "TargetDown",
            f'up{{region="{region}"}} == 0',
            "5m",
            "warning",
            "{{ $labels.service }} in {{ $labels.region }}: target {{ $labels.instance }} ({{ $labels.job }}) down",
            "The scrape target {{ $labels.instance }} of job {{ $labels.job }} has been down for 5 minutes.",
            service=None,
            category="monitoring",
        ),
        _alert(
            context,
            "Watchdog",
            "vector(1)",
            "",
            "info",
            f"Alerting pipeline of {region} is alive",
            "Always firing. If the dead man's switch stops receiving it, the rules or the "
            "alertmanager of this region are broken.",
            service="monitoring",
        ),
    ]


def rule_groups(spec: EnvironmentSpec, region: RegionSpec, only: ServiceSpec | None = None) -> list[dict[str, Any]]:
    """The rule groups for one region: recording rules, then alerts grouped by concern.
    With ``only``, the groups of one service (a Kubernetes PrometheusRule): no region-wide
    alerts, and group names that carry the service."""
    context = _Context(spec, region, spec.alerting)
    services = spec.services_in(region) if only is None else (only,)
    pods = [s.name for s in services if s.platform == "kubernetes"]
    suffix = region.code if only is None else f"{only.name}-{region.code}"
    groups = [
        recording_rules(region, pods),
        {"name": f"courier-capacity-{suffix}", "rules": [r for s in services for r in _capacity(context, s)]},
        {"name": f"courier-slo-{suffix}", "rules": [r for s in services for r in _slo(context, s)]},
        {"name": f"courier-business-{suffix}", "rules": [r for s in services for r in _business(context, s)]},
        {"name": f"courier-traffic-{suffix}", "rules": [r for s in services for r in _traffic(context, s)]},
    ]
    if only is None:
        groups.append({"name": f"courier-health-{region.code}", "rules": _region_wide(context)})
    else:
        groups[0] = {**groups[0], "name": f"courier-recording-{suffix}"}
    return [g for g in groups if g["rules"]]


def rule_file(spec: EnvironmentSpec, region: RegionSpec) -> str:
    """The Prometheus rule file (``groups:``) for one region, as YAML text."""
    groups = rule_groups(spec, region)
    return yamltext.dump({"groups": groups})
