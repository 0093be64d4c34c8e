"""The runbooks state only what the prod plan has (issue 11, part 5).

Every fact a runbook states that the plan can confirm is read back from the prod Plan (the
session's ``stack_plans``; no program runs here): service names and how many there are,
listener rule priorities, regions, region codes, which cloud a CLI command talks to, which
regions are active or standby, Kubernetes namespaces and object names in ``kubectl`` commands,
EKS cluster names, systemd units, Alibaba Cloud names, mainland China's ARMS scrape jobs and
alert rules, metric names in PromQL, the ``for:`` of an alert's rule, the prod reference table.
Every relative link must resolve to a file and, with an anchor, to a heading of that file
(GitHub's slugs), and no page cites a README section in plain text. Each checker is a plain function from a page's text to a list of problems, and
``test_each_checker_fails_on_a_wrong_fact`` feeds each one a wrong fact to show it can fail.
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from courier.plan import Plan
from tests.conftest import ROOT, StackPlans

RUNBOOKS = ROOT / "docs" / "runbooks"
PAGES = sorted(RUNBOOKS.glob("*.md"))
METRICS_DOC = ROOT / "docs" / "metrics.md"

#: Words the runbooks use for the app's services; each one a page names must be a plan service.
SERVICE_WORDS = ("orders", "dispatch", "tracking", "payments", "notifications")
#: Series every Prometheus has without a rule or an exporter.
BUILTIN_SERIES = frozenset({"ALERTS", "ALERTS_FOR_STATE"})
NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
#: Runbooks whose condition exists on Kubernetes and on Alibaba Cloud (capacity, CPU, targets,
#: latency, 5xx, scrape targets), and which of the two platform sections each must have.
PLATFORM_SECTIONS = {
    "FleetCpuAboveTarget": ("kubernetes", "alicloud"),
    "FleetAtMaxCapacity": ("kubernetes", "alicloud"),
    "NoHealthyTargets": ("kubernetes", "alicloud"),
    "UnhealthyTargets": ("kubernetes", "alicloud"),
    "LatencyP99AboveObjective": ("kubernetes", "alicloud"),
    "LoadBalancer5xxRatio": ("kubernetes", "alicloud"),
    "ErrorBudgetBurn": ("kubernetes", "alicloud"),
    "TargetDown": ("kubernetes", "alicloud"),
    "FleetTargetsAbsent": ("kubernetes", "alicloud"),
}

PLACEHOLDER = re.compile(r"<[^<>\s]*>|\$\{?[A-Z_][A-Z0-9_]*\}?")


# --------------------------------------------------------------------------------------------
# Facts from the plan


@dataclass(frozen=True)
class Facts:
    services: frozenset[str]
    vm_services: frozenset[str]
    kubernetes_services: frozenset[str]
    #: Values a ``service`` label or tag may take: the services, and the rules' and tags' own
    #: (``monitoring``, ``shared``, ``data``).
    service_labels: frozenset[str]
    regions: frozenset[str]
    aws_regions: frozenset[str]
    alicloud_regions: frozenset[str]
    #: Regions serving the app: Auto Scaling or ESS groups, or an EKS cluster.
    serving_regions: Mapping[str, frozenset[str]]
    active_regions: frozenset[str]
    standby_regions: frozenset[str]
    region_codes: frozenset[str]
    #: Per cloud: the priorities of the rules that route to a service, and every priority on
    #: the listeners that hold them.
    route_priorities: Mapping[str, frozenset[int]]
    listener_priorities: Mapping[str, frozenset[int]]
    namespaces: frozenset[str]
    #: (kind, namespace, name) of every Kubernetes object, the HPAs KEDA makes included.
    kubernetes_objects: frozenset[tuple[str, str, str]]
    clusters: frozenset[str]
    units: frozenset[str]
    alicloud_names: frozenset[str]
    #: Codes of the Alibaba Cloud regions (``cnhz``): names that start with one are Alibaba's.
    alicloud_codes: frozenset[str]
    #: Mainland China's Prometheus (ARMS): its scrape jobs' names (``job_name`` in the custom
    #: jobs' ``scrape_configs``) and its alert rules' names.
    scrape_jobs: frozenset[str]
    arms_rules: frozenset[str]
    metrics: frozenset[str]
    #: Alert name -> the ``for`` of its rules.
    alert_durations: Mapping[str, frozenset[str]]
    #: Service -> what the prod reference table states: cpuTarget, capacity per active region,
    #: availability, p99 objective (ms).
    cpu_targets: Mapping[str, int]
    capacities: Mapping[str, frozenset[tuple[int, int, int]]]
    availability: Mapping[str, str]
    latency_ms: Mapping[str, int]


def _tags(inputs: Mapping[str, Any]) -> dict[str, str]:
    tags = inputs.get("tags") or {}
    if isinstance(tags, list):
        # Key/value lists (Alibaba Cloud); a Grafana annotation's tags are plain strings.
        return {t["key"]: t["value"] for t in tags if isinstance(t, dict)}
    return dict(tags)


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, key)
    elif isinstance(value, str):
        yield key, value


def _decoded(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return text


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def facts_from_plan(plan: Plan, metrics_doc: str) -> Facts:
    resources = plan.resources
    asg_services = {_tags(r.inputs).get("service", "") for r in plan.of_type("aws:autoscaling/group:Group")}
    ess_services = {_tags(r.inputs).get("service", "") for r in plan.of_type("alicloud:ess/scalingGroup:ScalingGroup")}
    deployments = plan.of_type("kubernetes:apps/v1:Deployment")
    k8s_services = {
        d.inputs["metadata"]["labels"].get("courier/service", d.inputs["metadata"]["name"]) for d in deployments
    }
    vm = frozenset((asg_services | ess_services) - {""})
    services = vm | frozenset(k8s_services)

    rule_docs = [
        yaml.safe_load(r.inputs["data"]) for r in plan.of_type("aws:amp/ruleGroupNamespace:RuleGroupNamespace")
    ]
    rules = [rule for doc in rule_docs for group in doc["groups"] for rule in group["rules"]]
    label_values = {v for rule in rules for v in re.findall(r'service="([^"]+)"', rule["expr"])}
    label_values |= {rule.get("labels", {}).get("service", "") for rule in rules}
    tag_values = {
        _tags(r.inputs).get("service", "") for r in resources if isinstance(r.inputs.get("tags"), dict | list)
    }

    regions = {r.region for r in resources if r.region}
    by_cloud: dict[str, set[str]] = {"aws": set(), "alicloud": set()}
    for r in resources:
        cloud = r.type.split(":", 1)[0]
        if r.region and cloud in by_cloud:
            by_cloud[cloud].add(r.region)
    serving = {
        "aws": frozenset(
            r.region
            for r in plan.of_type("aws:autoscaling/group:Group") + plan.of_type("aws:eks/cluster:Cluster")
            if r.region
        ),
        "alicloud": frozenset(r.region for r in plan.of_type("alicloud:ess/scalingGroup:ScalingGroup") if r.region),
    }
    latency_records = [r for r in plan.of_type("aws:route53/record:Record") if r.inputs.get("latencyRoutingPolicies")]

    def roles(prefix: str) -> frozenset[str]:
        return frozenset(
            policy["region"]
            for r in latency_records
            if r.inputs["name"].startswith(prefix)
            for policy in r.inputs["latencyRoutingPolicies"]
        )

    codes = {r.name for r in plan.of_type("courier:aws:Region") + plan.of_type("courier:alicloud:Region")}

    # Listener rules: AWS's all route to a service; Alibaba's route when they forward to a group.
    aws_rules = plan.of_type("aws:lb/listenerRule:ListenerRule")
    ali_rules = plan.of_type("alicloud:alb/rule:Rule")
    ali_routes = [r for r in ali_rules if any(a.get("type") == "ForwardGroup" for a in r.inputs.get("ruleActions", []))]
    route_listeners = {r.inputs["listenerId"] for r in ali_routes}
    route_priorities = {
        "aws": frozenset(int(r.inputs["priority"]) for r in aws_rules),
        "alicloud": frozenset(int(r.inputs["priority"]) for r in ali_routes),
    }
    listener_priorities = {
        "aws": route_priorities["aws"],
        "alicloud": frozenset(
            int(r.inputs["priority"]) for r in ali_rules if r.inputs["listenerId"] in route_listeners
        ),
    }

    # Kubernetes objects, the HPA KEDA makes from each ScaledObject, Helm releases' namespaces.
    objects: set[tuple[str, str, str]] = set()
    namespaces: set[str] = set()
    for r in resources:
        if not r.type.startswith("kubernetes:"):
            continue
        if r.type == "kubernetes:helm.sh/v3:Release":
            namespaces.add(r.inputs["namespace"])
            continue
        meta = r.inputs.get("metadata", {})
        kind = r.inputs.get("kind") or r.type.rsplit(":", 1)[-1]
        if kind == "Namespace":
            namespaces.add(meta["name"])
            objects.add(("Namespace", "", meta["name"]))
            continue
        objects.add((kind, meta["namespace"], meta["name"]))
        if kind == "ScaledObject":
            config = r.inputs["spec"].get("advanced", {}).get("horizontalPodAutoscalerConfig", {})
            objects.add(("HorizontalPodAutoscaler", meta["namespace"], config.get("name", f"keda-hpa-{meta['name']}")))
        if kind == "Service":
            objects.add(("Endpoints", meta["namespace"], meta["name"]))

    units: set[str] = set()
    for r in plan.of_type("aws:ec2/launchTemplate:LaunchTemplate") + plan.of_type(
        "alicloud:ess/scalingConfiguration:ScalingConfiguration"
    ):
        script = _decoded(str(r.inputs.get("userData") or ""))
        units |= set(re.findall(r"([\w@.-]+)\.service\b", script))

    alicloud_names = {
        value
        for r in resources
        if r.type.startswith("alicloud:")
        for key, value in _strings(r.inputs)
        if key.lower().endswith("name")
    }

    scrape_jobs = {
        job["job_name"]
        for r in plan.of_type("alicloud:arms/prometheusMonitoring:PrometheusMonitoring")
        for job in (yaml.safe_load(r.inputs.get("configYaml") or "") or {}).get("scrape_configs", [])
    }
    arms_rules = {
        r.inputs["prometheusAlertRuleName"]
        for r in plan.of_type("alicloud:arms/prometheusAlertRule:PrometheusAlertRule")
    }

    metrics = set(BUILTIN_SERIES)
    for name, kind in re.findall(r"^\| `([^`]+)` \| (\w+) \|", metrics_doc, flags=re.M):
        metrics.add(name)
        if kind == "histogram":
            metrics |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    metrics |= {m for m in re.findall(r"`([A-Za-z_:][\w:<>]*)`", metrics_doc) if re.search(r"[_:]", m)}
    for rule in rules:
        if "record" in rule:
            metrics.add(rule["record"])
        metrics |= set(promql_series(rule["expr"]))

    durations: dict[str, set[str]] = {}
    for rule in rules:
        if "alert" in rule:
            durations.setdefault(rule["alert"], set()).add(rule.get("for", "0s"))

    # The prod reference table's columns, per service.
    cpu: dict[str, int] = {}
    for r in plan.of_type("aws:autoscaling/policy:Policy"):
        config = r.inputs.get("targetTrackingConfiguration") or {}
        if config.get("predefinedMetricSpecification", {}).get("predefinedMetricType") == "ASGAverageCPUUtilization":
            cpu[r.name.split("-", 1)[1].rsplit("-cpu", 1)[0]] = int(config["targetValue"])
    capacity: dict[str, set[tuple[int, int, int]]] = {}
    active = roles("active.")
    for r in plan.of_type("aws:autoscaling/group:Group"):
        if r.region in active:
            i = r.inputs
            capacity.setdefault(_tags(i)["service"], set()).add((i["minSize"], i["desiredCapacity"], i["maxSize"]))
    replicas = {(d.region, d.inputs["metadata"]["name"]): d.inputs["spec"]["replicas"] for d in deployments}
    for r in plan.of_type("kubernetes:keda.sh/v1alpha1:ScaledObject"):
        spec, name = r.inputs["spec"], r.inputs["metadata"]["name"]
        cpu[name] = next(int(t["metadata"]["value"]) for t in spec["triggers"] if t["type"] == "cpu")
        if r.region in active:
            row = (spec["minReplicaCount"], replicas[(r.region, name)], spec["maxReplicaCount"])
            capacity.setdefault(name, set()).add(row)
    availability: dict[str, str] = {}
    latency: dict[str, int] = {}
    for rule in rules:
        service = re.search(r'service="([^"]+)"', rule["expr"])
        threshold = re.search(r"\}\s*>\s*([0-9.]+)", rule["expr"])
        if not (service and threshold):
            continue
        if rule.get("alert") == "ErrorBudgetBurn" and rule.get("labels", {}).get("long_window") == "1h":
            availability[service[1]] = _number(100 - float(threshold[1]) / 14.4 * 100)
        if rule.get("alert") == "LatencyP99AboveObjective":
            latency[service[1]] = round(float(threshold[1]) * 1000)

    return Facts(
        services=services,
        vm_services=vm,
        kubernetes_services=frozenset(k8s_services),
        service_labels=frozenset((services | label_values | tag_values) - {""}),
        regions=frozenset(regions),
        aws_regions=frozenset(by_cloud["aws"]),
        alicloud_regions=frozenset(by_cloud["alicloud"]),
        serving_regions=serving,
        active_regions=active,
        standby_regions=roles("standby."),
        region_codes=frozenset(codes),
        route_priorities=route_priorities,
        listener_priorities=listener_priorities,
        namespaces=frozenset(namespaces),
        kubernetes_objects=frozenset(objects),
        clusters=frozenset(r.inputs["name"] for r in plan.of_type("aws:eks/cluster:Cluster")),
        units=frozenset(units),
        alicloud_names=frozenset(alicloud_names),
        alicloud_codes=frozenset(r.name for r in plan.of_type("courier:alicloud:Region")),
        scrape_jobs=frozenset(scrape_jobs),
        arms_rules=frozenset(arms_rules),
        metrics=frozenset(metrics),
        alert_durations={k: frozenset(v) for k, v in durations.items()},
        cpu_targets=cpu,
        capacities={k: frozenset(v) for k, v in capacity.items()},
        availability=availability,
        latency_ms=latency,
    )


# --------------------------------------------------------------------------------------------
# Reading a page


def has_placeholder(token: str) -> bool:
    return bool(PLACEHOLDER.search(token))


def pattern_of(token: str) -> re.Pattern[str]:
    """``token`` as a regex in which each ``<placeholder>`` or ``$VAR`` stands for a name part."""
    parts = PLACEHOLDER.split(token)
    return re.compile(r"[\w.-]+".join(re.escape(p) for p in parts))


def matches_any(token: str, names: Iterable[str]) -> bool:
    pattern = pattern_of(token)
    return any(pattern.fullmatch(name) for name in names)


def fenced_blocks(text: str) -> Iterator[tuple[str, str]]:
    """(info string, body) of each fenced code block, nested in a list item or not."""
    for m in re.finditer(r"^([ \t]*)```(\w*)[^\n]*\n(.*?)^\1```", text, flags=re.M | re.S):
        body = "\n".join(line[len(m[1]) :] if line.startswith(m[1]) else line for line in m[3].splitlines())
        yield m[2], body


def without_fences(text: str) -> str:
    return re.sub(r"^([ \t]*)```.*?^\1```", "", text, flags=re.M | re.S)


def inline_code(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", without_fences(text))


def code_lines(text: str) -> Iterator[str]:
    """Every command line: fenced lines with their backslash continuations joined, and inline code."""
    for _, body in fenced_blocks(text):
        yield from re.sub(r"\\\n\s*", " ", body).splitlines()
    yield from inline_code(text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = re.sub(r"[`*]", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for m in re.finditer(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", without_fences(markdown), flags=re.M):
        base = slug(m[1])
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


# --------------------------------------------------------------------------------------------
# The checkers: text (and facts) -> problems


def check_services(text: str, facts: Facts) -> list[str]:
    problems = []
    for word in SERVICE_WORDS:
        if re.search(rf"\b{word}\b", text) and word not in facts.services:
            problems.append(f"names service {word!r}, which the plan does not have")
    labels = re.findall(r'\bservice\s*=~?\s*"([^"]+)"', text) + re.findall(r"\bservice=([a-z][a-z0-9-]*)\b", text)
    for value in labels:
        for name in value.split("|"):
            if name and not has_placeholder(name) and name not in facts.service_labels:
                problems.append(f"service label {name!r} is not a service of the plan")
    for name in re.findall(r"(?<![\w.:/-])/([a-z][a-z0-9-]*)/(?:healthz|\*)", text):
        if name not in facts.services:
            problems.append(f"path /{name}/... routes to no service of the plan")
    for name in re.findall(r"`([a-z][a-z0-9-]*)` (?:service|fleet|pods)\b", text):
        if name not in facts.services:
            problems.append(f"`{name}` is called a service, but the plan has no such service")
    qualifier = re.compile(r"\b(VM|ESS|Auto Scaling|instances?|cn-hangzhou|mainland China|Alibaba)\b", re.I)
    for line in without_fences(text).splitlines():
        named = {w for w in facts.services if re.search(rf"\b{w}\b", line)}
        # A list of all services but one (four of five): the one left out is the bug.
        if len(named) < max(3, len(facts.services) - 1) or named == facts.services:
            continue
        if named == facts.vm_services and qualifier.search(line):
            continue
        missing = sorted(facts.services - named)
        problems.append(f"lists services {sorted(named)} without {missing}: {line.strip()[:100]!r}")
    return problems


def _count(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word.lower()]


def check_counts(text: str, facts: Facts) -> list[str]:
    problems = []
    numbers = r"\d+|" + "|".join(NUMBER_WORDS)
    services = re.compile(
        rf"\b(?P<n>{numbers})\s+(?:of\s+(?:its|the|their)\s+)?(?P<q>(?:VM|ESS)\s+)?(?P<noun>services|fleets)\b",
        re.I,
    )
    for m in services.finditer(text):
        expected = len(facts.vm_services) if m["q"] else len(facts.services)
        if _count(m["n"]) != expected:
            problems.append(f"says {m[0]!r}; the plan has {expected}")
    regions = re.compile(rf"\b(?P<n>{numbers})\s+(?P<cloud>AWS|Alibaba Cloud|active)\s+regions\b", re.I)
    for m in regions.finditer(text):
        cloud = m["cloud"].lower()
        expected = len(facts.active_regions if cloud == "active" else facts.serving_regions[cloud.split()[0]])
        if _count(m["n"]) != expected:
            problems.append(f"says {m[0]!r}; the plan has {expected}")
    return problems


def _numbers(listed: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", listed)]


def check_priorities(text: str, facts: Facts) -> list[str]:
    problems = []
    for line in code_lines(text):
        if not re.search(r"\b(create-rule|CreateRule)\b", line):
            continue
        cloud = "alicloud" if "aliyun" in line else "aws"
        for n in _numbers(" ".join(re.findall(r"--[Pp]riority[ =](\d+)", line))):
            if n in facts.listener_priorities[cloud]:
                problems.append(f"a new rule at priority {n} collides with the plan's {cloud} listener rules")
    # A sentence about mainland China's load balancer speaks of Alibaba Cloud's rules, any other
    # of AWS's (the regions' ALBs).
    alicloud = re.compile(r"Alibaba|aliyun|cn-hangzhou|China|prod_cnhz")
    for sentence in re.split(r"(?<=[.:;])\s", without_fences(text).replace("\n", " ")):
        if "--priority" in sentence.lower():
            continue
        cloud = "alicloud" if alicloud.search(sentence) else "aws"
        routes, taken = facts.route_priorities[cloud], facts.listener_priorities[cloud]
        for m in re.finditer(
            r"priorit(?:y|ies)\s+(\d+(?:(?:\s*,\s*|\s+and\s+|,\s+and\s+)\d+)*)\b(?!\s+to\s+\d)", sentence
        ):
            listed = set(_numbers(m[1]))
            if len(listed) > 1 and listed != routes:
                problems.append(f"lists {cloud} priorities {sorted(listed)}; its service routes use {sorted(routes)}")
            elif len(listed) == 1 and not listed <= taken:
                problems.append(f"{cloud} priority {sorted(listed)} is no listener rule of the plan")
        if "priorit" in sentence:
            for low, high in re.findall(r"\b[Uu]se\s+(?:priorities\s+)?(\d+)\s+to\s+(\d+)\b", sentence):
                clash = sorted(set(range(int(low), int(high) + 1)) & taken)
                if clash:
                    problems.append(f"{cloud} priorities {low}-{high} are not free: {clash} are taken")
    return problems


AWS_REGION = re.compile(
    r"\b((?:af|ap|ca|eu|il|me|mx|sa|us)-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\d)[a-z]?\b"
)
ALICLOUD_REGION = re.compile(r"\b(cn-[a-z]{4,})(?:-[a-z])?\b")
REGION_CODE = re.compile(
    r"(?<![a-z0-9])((?:af|ap|ca|eu|il|me|mx|sa|us)(?:ne|nw|se|sw|n|s|e|w|c)\d|cn[a-z]{2})(?![a-z0-9])"
)


def check_regions(text: str, facts: Facts) -> list[str]:
    problems = []
    for pattern in (AWS_REGION, ALICLOUD_REGION):
        for region in sorted(set(pattern.findall(text))):
            if region not in facts.regions:
                problems.append(f"region {region} is not in the plan")
    for code in sorted(set(REGION_CODE.findall(text))):
        if code not in facts.region_codes:
            problems.append(f"region code {code} is not in the plan")
    # Which cloud a command talks to: its --region / --RegionId is a region of that cloud.
    for _, body in fenced_blocks(text):
        body = re.sub(r"\\\n\s*", " ", body)
        variables = dict(re.findall(r"\b([A-Z_]+)=([a-z0-9-]+)\b", body))

        def resolved(m: re.Match[str], variables: dict[str, str] = variables) -> str:
            return variables.get(m[1], m[0])

        for line in body.splitlines():
            line = re.sub(r"\$\{?([A-Z_]+)\}?", resolved, line)
            for cli, cloud, regions in (
                ("aws", "AWS", facts.aws_regions),
                ("aliyun", "Alibaba Cloud", facts.alicloud_regions),
            ):
                for command in re.findall(rf"(?<![\w-]){cli} \S.*", line):
                    for region in re.findall(r"--(?:region|RegionId)[ =]([\w-]+)", command):
                        if not has_placeholder(region) and region not in regions:
                            problems.append(f"`{cli} ... --region {region}`: not an {cloud} region of the plan")
    flat = without_fences(text).replace("\n", " ")
    for region in re.findall(r"standby(?: region)?\s*\(([a-z]{2}-[a-z]+-\d)", flat):
        if region not in facts.standby_regions:
            problems.append(f"calls {region} the standby; the plan's standby: {sorted(facts.standby_regions)}")
    for listed in re.findall(r"active (?:AWS )?regions?\s*\(([^)]*)\)", flat):
        for region in AWS_REGION.findall(listed):
            if region not in facts.active_regions:
                problems.append(f"calls {region} active; the plan's active regions: {sorted(facts.active_regions)}")
    return problems


KINDS = {
    **dict.fromkeys(("deploy", "deployment", "deployments"), "Deployment"),
    **dict.fromkeys(("hpa", "horizontalpodautoscaler", "horizontalpodautoscalers"), "HorizontalPodAutoscaler"),
    **dict.fromkeys(("scaledobject", "scaledobjects", "so"), "ScaledObject"),
    **dict.fromkeys(("svc", "service", "services"), "Service"),
    **dict.fromkeys(("pdb", "poddisruptionbudget", "poddisruptionbudgets"), "PodDisruptionBudget"),
    **dict.fromkeys(("servicemonitor", "servicemonitors"), "ServiceMonitor"),
    **dict.fromkeys(("prometheusrule", "prometheusrules"), "PrometheusRule"),
    **dict.fromkeys(("ns", "namespace", "namespaces"), "Namespace"),
    **dict.fromkeys(("ep", "endpoints"), "Endpoints"),
}
#: Kinds whose objects the controllers name at run time: only the kind is checked.
DYNAMIC_KINDS = frozenset(
    {
        "po",
        "pod",
        "pods",
        "no",
        "node",
        "nodes",
        "ev",
        "event",
        "events",
        "rs",
        "replicaset",
        "replicasets",
        "sts",
        "statefulset",
        "statefulsets",
        "ds",
        "daemonset",
        "daemonsets",
    }
)
VALUE_FLAGS = frozenset(
    {
        "-n",
        "--namespace",
        "-o",
        "--output",
        "-p",
        "--patch",
        "--type",
        "--field-selector",
        "--sort-by",
        "--tail",
        "--since",
        "-l",
        "--selector",
        "-c",
        "--container",
        "--timeout",
        "--to-revision",
    }
)
RESOURCE_VERBS = frozenset(("get", "describe", "patch", "edit", "delete", "scale", "logs", "annotate", "label"))


def _kubectl_commands(text: str) -> Iterator[list[str]]:
    for line in code_lines(text):
        for m in re.finditer(r"(?<![\w-])kubectl\s", line):  # nested ones too: $(kubectl ...)
            args = re.split(r"[|;&)`]|\$\(", line[m.end() :], maxsplit=1)[0]
            try:
                yield shlex.split(args)
            except ValueError:
                yield args.split()


def check_kubernetes(text: str, facts: Facts) -> list[str]:
    problems = []
    for words in _kubectl_commands(text):
        namespace, positional, i = "", [], 0
        while i < len(words):
            word = words[i]
            if word.startswith("--namespace="):
                namespace = word.split("=", 1)[1]
            elif word in VALUE_FLAGS:
                if word in ("-n", "--namespace") and i + 1 < len(words):
                    namespace = words[i + 1]
                i += 1
            elif not word.startswith("-"):
                positional.append(word)
            i += 1
        if namespace and not has_placeholder(namespace) and namespace not in facts.namespaces:
            problems.append(f"kubectl namespace {namespace!r} is not a namespace of the plan")
        if not positional:
            continue
        verb, rest = positional[0], positional[1:]
        if verb == "rollout":
            rest = rest[1:]
        elif verb not in RESOURCE_VERBS:
            continue
        if not rest:
            continue
        if "/" in rest[0]:
            refs = [tuple(rest[0].split("/", 1))]
        else:
            kinds = rest[0].split(",")
            name = rest[1] if len(kinds) == 1 and len(rest) > 1 else None
            if verb == "logs" and name is None:  # kubectl logs <pod>
                continue
            refs = [(kind, name) for kind in kinds]
        for kind_word, name in refs:
            if kind_word.lower() in DYNAMIC_KINDS or has_placeholder(kind_word):
                continue
            kind = KINDS.get(kind_word.lower())
            if kind is None:
                problems.append(f"kubectl {verb}: unknown kind {kind_word!r}")
                continue
            if name is None or has_placeholder(name):
                continue
            where = "" if kind == "Namespace" else (namespace or "default")
            if (kind, where, name) not in facts.kubernetes_objects:
                problems.append(f"kubectl {verb}: no {kind} {name!r} in namespace {where!r} in the plan")
    for line in code_lines(text):
        if re.search(r"(?<![\w-])aws eks ", line):
            for name in re.findall(r"(?<!\S)--(?:cluster-)?name[ =](\S+)", line):
                if not matches_any(name, facts.clusters):
                    problems.append(f"EKS cluster {name!r} is not a cluster of the plan {sorted(facts.clusters)}")
    return problems


PROMQL_WORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "inf",
        "nan",
        "Inf",
        "NaN",
    }
)


def promql_series(expr: str) -> list[str]:
    """The series names an expression reads (placeholders kept: ``courier:http_requests:rate<w>``)."""
    text = re.sub(r"#[^\n]*", " ", expr)
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', text)
    text = re.sub(r"\{[^{}]*\}|\[[^\[\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", text)
    text = re.sub(r"(?<![\w:])<[^<>]*>", " 0 ", text)  # a whole placeholder is a value, not a series
    series = []
    for m in re.finditer(r"[A-Za-z_:][\w:]*(?:<[^<>\s]*>[\w:]*)*", text):
        following = text[m.end() :].lstrip()[:1]
        if m[0] in PROMQL_WORDS or following == "(":
            continue
        series.append(m[0])
    return series


def _promql_snippets(text: str) -> Iterator[str]:
    for info, body in fenced_blocks(text):
        if info == "promql":
            yield body
    for span in inline_code(text):
        if re.match(r"(?:aws|aliyun|kubectl|pulumi)\b", span):
            continue
        if re.search(r"(?<![\w:\"'])[A-Za-z_][\w:]*(?:<[^<>]*>[\w:]*)*\{", span) or re.search(
            r"\b(?:rate|absent|histogram_quantile|vector)\(", span
        ):
            yield span


def check_metrics(text: str, facts: Facts) -> list[str]:
    problems = []
    names = [s for snippet in _promql_snippets(text) for s in promql_series(snippet)]
    names += [s for s in inline_code(text) if re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[\w<>]+", s)]
    for name in sorted(set(names)):
        if not matches_any(name, facts.metrics):
            problems.append(f"series {name!r} is neither in docs/metrics.md nor in the plan's rules")
    return problems


def check_units(text: str, facts: Facts) -> list[str]:
    problems = []
    for line in code_lines(text):
        found = re.findall(r"\bjournalctl\b.*?-u\s+([\w@<>.-]+)", line)
        for m in re.finditer(r"\bsystemctl\s+(?:status|restart|start|stop|enable|disable)\s+([^;'\"\]\n]+)", line):
            found += [w for w in m[1].split() if not w.startswith("-")]
        for unit in found:
            unit = unit.removesuffix(".service")
            if not matches_any(unit, facts.units):
                problems.append(f"systemd unit {unit!r} is not written by any boot script of the plan")
    return problems


def check_alicloud_names(text: str, facts: Facts) -> list[str]:
    problems = []
    # Names that start with an Alibaba region's code (the fleets' security groups, ``cnhz-...``).
    codes = "|".join(sorted(facts.alicloud_codes)) or "(?!)"
    for line in text.splitlines():
        if re.search(r"\bCreate[A-Z]", line):  # what a step creates is not in the plan
            continue
        for token in re.findall(rf"(?<![\w./-])(?:{codes})-[\w<>.-]*[\w>]", line):
            if not matches_any(token, facts.alicloud_names):
                problems.append(f"Alibaba Cloud name {token!r} is not in the plan")
        for token in re.findall(r"(?<![\w-])prod_[a-z0-9]+(?:-[\w<>.-]*[\w>])?", line):
            if "-" not in token:
                known = any(name.startswith(token) for name in facts.alicloud_names)
            else:
                known = matches_any(token, facts.alicloud_names)
            if not known:
                problems.append(f"Alibaba Cloud name {token!r} is not in the plan")
    return problems


def check_arms(text: str, facts: Facts) -> list[str]:
    """Mainland China's Prometheus: scrape jobs named as the plan's ARMS custom jobs name them, and
    a sentence about ARMS (and not CloudMonitor) names only ARMS alert rules (``prod_<code>-...``
    with an alert name), not CloudMonitor's alarms nor an alert that has no ARMS rule (Watchdog)."""
    problems = []
    for token in sorted(set(re.findall(r"(?<![\w./-])courier-[\w<>.-]*-(?:node|app)(?![\w-])", text))):
        if not matches_any(token, facts.scrape_jobs):
            problems.append(f"scrape job {token!r} is no ARMS scrape job of the plan")
    flat = without_fences(text).replace("\n", " ")
    for sentence in re.split(r"(?<=[.;:])\s", flat):
        if "ARMS" not in sentence or "CloudMonitor" in sentence:
            continue
        for token in re.findall(r"(?<![\w-])prod_[a-z0-9]+-[\w<>.-]*[A-Z][\w<>.-]*[\w>]", sentence):
            if not matches_any(token, facts.arms_rules):
                problems.append(f"ARMS alert rule {token!r} is not in the plan")
    return problems


def check_rule_durations(page: str, text: str, facts: Facts) -> list[str]:
    durations = facts.alert_durations.get(page)
    if durations is None:
        return []
    stated = re.findall(r"for:\s*(\d+[smhd])\b", text) + re.findall(r"\bfor `(\d+[smhd])`", text)
    return [f"says `for: {d}`; the plan's {page} rules use {sorted(durations)}" for d in stated if d not in durations]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def check_service_tables(text: str, facts: Facts) -> list[str]:
    """A table keyed by service lists every service; the prod reference table's values are the plan's."""
    problems = []
    for table in re.findall(r"(?:^\|.*\|[ \t]*\n)+", without_fences(text), flags=re.M):
        lines = table.strip().splitlines()
        header = [c.lower() for c in _cells(lines[0])]
        if header[0] != "service":
            continue
        rows = {_cells(line)[0].strip("`* "): _cells(line) for line in lines[2:]}
        if set(rows) != set(facts.services):
            problems.append(f"table lists {sorted(rows)}; the plan's services are {sorted(facts.services)}")
        for service, cells in rows.items():
            for column, cell in zip(header, cells, strict=False):
                expected: list[str] = []
                if column == "cputarget" and service in facts.cpu_targets:
                    expected = [str(facts.cpu_targets[service])]
                elif column.startswith("capacity") and service in facts.capacities:
                    expected = [" / ".join(map(str, c)) for c in facts.capacities[service]]
                    if len(expected) > 1:
                        problems.append(f"{service}: the active regions differ ({expected}); one row cannot say it")
                elif column == "availability" and service in facts.availability:
                    expected = [facts.availability[service]]
                elif column.startswith("p99") and service in facts.latency_ms:
                    expected = [f"{facts.latency_ms[service]} ms"]
                if expected and cell not in expected:
                    problems.append(f"{service}: {column} is {cell!r} in the table, {expected[0]!r} in the plan")
    return problems


def check_links(text: str, source: Path) -> list[str]:
    problems = []
    for target in re.findall(r"\[[^\]]*\]\(([^)\s]+)\)", without_fences(text)):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        if path.startswith("/"):
            problems.append(f"link {target!r} is absolute; GitHub resolves relative links")
            continue
        file = (source.parent / path).resolve() if path else source
        if not file.exists():
            problems.append(f"link {target!r}: {file} does not exist")
        elif anchor:
            if file.suffix != ".md":
                problems.append(f"link {target!r}: an anchor into a file that is not Markdown")
            elif anchor not in anchors(file.read_text()):
                problems.append(f"link {target!r}: no heading with that anchor in {file.name}")
    for m in re.finditer(r'README(?:\.md)?\s*,\s*"[^"]+"|\(README\)|\bsee README\b(?!\.md)', without_fences(text)):
        problems.append(f"cites a README section in plain text ({m[0]!r}); link it")
    for _, body in fenced_blocks(text):
        for m in re.finditer(r"\[[^\]\n]+\]\([^)\s]+\.md(?:#[^)\s]*)?\)", body):
            problems.append(f"link {m[0]!r} is inside a code block, where it does not render")
    return problems


def check_platform_sections(page: str, text: str, facts: Facts) -> list[str]:
    problems = []
    wanted = PLATFORM_SECTIONS.get(page, ())
    headings = set(re.findall(r"^## (.+?)\s*$", text, flags=re.M))
    sections = re.split(r"^## ", text, flags=re.M)
    if "kubernetes" in wanted:
        for service in sorted(facts.kubernetes_services):
            title = f"Kubernetes: {service}"
            body = next((s for s in sections if s.startswith(title)), "")
            if title not in headings or "kubectl" not in body:
                problems.append(f"no '## {title}' section with kubectl steps")
    if "alicloud" in wanted:
        for region in sorted(facts.serving_regions["alicloud"]):
            title = f"Alibaba Cloud: {region}"
            body = next((s for s in sections if s.startswith(title)), "")
            if title not in headings or "aliyun " not in body:
                problems.append(f"no '## {title}' section with aliyun steps")
    return problems


def check_page(page: Path, facts: Facts) -> list[str]:
    text = page.read_text()
    text_checks: list[Callable[[str, Facts], list[str]]] = [
        check_services,
        check_counts,
        check_priorities,
        check_regions,
        check_kubernetes,
        check_metrics,
        check_units,
        check_alicloud_names,
        check_arms,
        check_service_tables,
    ]
    problems = [p for check in text_checks for p in check(text, facts)]
    problems += check_rule_durations(page.stem, text, facts)
    problems += check_platform_sections(page.stem, text, facts)
    problems += check_links(text, page)
    return problems


# --------------------------------------------------------------------------------------------
# Tests


@pytest.fixture(scope="module")
def facts(stack_plans: StackPlans) -> Facts:
    return facts_from_plan(stack_plans["prod"], METRICS_DOC.read_text())


def test_the_facts_come_from_the_plan(facts: Facts) -> None:
    """Guards the readers above: if the plan's shape changes, they must not go blind."""
    assert facts.services >= facts.vm_services | facts.kubernetes_services and len(facts.services) >= 2
    assert facts.kubernetes_services and facts.serving_regions["alicloud"] and facts.serving_regions["aws"]
    assert facts.route_priorities["aws"] and facts.route_priorities["alicloud"]
    assert facts.active_regions and facts.standby_regions and facts.clusters and facts.units
    assert {kind for kind, _, _ in facts.kubernetes_objects} >= {
        "Deployment",
        "ScaledObject",
        "HorizontalPodAutoscaler",
    }
    assert set(facts.cpu_targets) == set(facts.services) == set(facts.availability) == set(facts.latency_ms)
    assert set(facts.capacities) == set(facts.services)
    assert "courier:fleet_cpu_busy:ratio" in facts.metrics and "http_request_duration_seconds_bucket" in facts.metrics
    assert facts.alicloud_codes and facts.scrape_jobs and facts.arms_rules


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_the_runbook_states_only_what_the_prod_plan_has(page: Path, facts: Facts) -> None:
    problems = check_page(page, facts)
    assert not problems, f"{page.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def test_the_pages_with_platform_steps_exist() -> None:
    assert {p.stem for p in PAGES} >= set(PLATFORM_SECTIONS)


GOOD_LINKS = "[Shed load](README.md#shed-load), [storm](../../README.md#riding-out-a-storm-python--m-courier-storm)"
#: (checker, a page with a fact the prod plan does not have, what the problem says).
WRONG_FACTS: list[tuple[Callable[[str, Facts], list[str]], str, str]] = [
    (check_services, 'Check `courier:fleet_cpu_busy:ratio{service="billing"}` first.', "billing"),
    (check_services, "Route 53 checks `/billing/healthz` in every region.", "/billing/"),
    (check_services, "Prod targets: orders, dispatch and tracking 0.8; payments 0.7.", "without ['notifications']"),
    (check_counts, "Scale the regions that receive the traffic for all four services.", "four services"),
    (check_counts, "Raise the floor of its five VM fleets.", "five VM fleets"),
    (check_counts, "The stack serves from four AWS regions.", "four AWS regions"),
    (
        check_priorities,
        "Service routes use listener rule priorities 10, 20, 30 and 40, so use 1 to 9.",
        "lists aws priorities",
    ),
    (
        check_priorities,
        "Mainland China's ALB routes with priorities 10, 20, 30, 40 and 50.",
        "lists alicloud priorities",
    ),
    (check_priorities, "Use priorities 10 to 19 for shedding; use 5 to 15 for priority shedding.", "not free"),
    (
        check_priorities,
        "```bash\naws elbv2 create-rule --listener-arn x --priority 30 \\\n  --actions y\n```",
        "collides",
    ),
    (check_regions, "The standby (ap-northeast-3) answers when both active regions are down.", "ap-northeast-3"),
    (check_regions, "Mainland China is served from cn-beijing.", "cn-beijing"),
    (check_regions, "Alarm `euw1-orders-cpu-above-target` fires.", "euw1"),
    (
        check_regions,
        "```bash\nREGION=cn-hangzhou\naws autoscaling describe-auto-scaling-groups --region $REGION\n```",
        "AWS",
    ),
    (
        check_regions,
        "Route 53 prefers the active regions (ap-southeast-1, ap-northeast-2).",
        "calls ap-northeast-2 active",
    ),
    (check_kubernetes, "```bash\nkubectl -n courier get deploy,hpa\n```", "namespace 'courier'"),
    (
        check_kubernetes,
        "```bash\nkubectl -n notifications describe hpa keda-hpa-notifications\n```",
        "HorizontalPodAutoscaler",
    ),
    (check_kubernetes, "Run `kubectl -n notifications rollout undo deploy/orders`.", "Deployment 'orders'"),
    (
        check_kubernetes,
        "```bash\naws eks update-kubeconfig --region <region> --name courier-staging-<code>\n```",
        "EKS cluster",
    ),
    (check_metrics, '```promql\nsum(rate(http_requests_count{service="orders"}[5m]))\n```', "http_requests_count"),
    (check_metrics, 'Rule: `courier:fleet_cpu:ratio{service="<service>"} > 0.8`.', "courier:fleet_cpu:ratio"),
    (check_units, "```bash\njournalctl -u node_exporter -n 50\n```", "node_exporter"),
    (check_alicloud_names, "The group `prod_cnhz-<service>-group` scales on CPU.", "prod_cnhz-<service>-group"),
    (check_alicloud_names, "The fleet's security group `cnhz-<service>-fleet` admits it.", "cnhz-<service>-fleet"),
    (check_arms, "ARMS scrapes node_exporter with the job `courier-staging-<service>-node`.", "scrape job"),
    (check_arms, "The ARMS alert rule `prod_cnhz-<service>-UnhealthyTargets` fires.", "ARMS alert rule"),
    (check_arms, "ARMS evaluates `prod_cnhz-cnhz-Watchdog` too.", "ARMS alert rule"),
    (check_service_tables, "| service | cpuTarget |\n|---|---|\n| orders | 70 |\n", "cputarget"),
    (check_service_tables, "| service | p99 objective |\n|---|---|\n| orders | 300 ms |\n", "the plan's services are"),
]


@pytest.mark.parametrize(
    ("check", "text", "expected"), WRONG_FACTS, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(WRONG_FACTS)]
)
def test_each_checker_fails_on_a_wrong_fact(
    check: Callable[[str, Facts], list[str]], text: str, expected: str, facts: Facts
) -> None:
    problems = check(text, facts)
    assert any(expected in p for p in problems), problems


def test_the_checkers_pass_the_same_facts_stated_right(facts: Facts) -> None:
    right = (
        'Check `courier:fleet_cpu_busy:ratio{service="notifications"}` and `/orders/healthz`. '
        "Scale all five services: the four VM fleets and the pods. The stack serves from three AWS regions. "
        "Service routes use listener rule priorities 10, 20, 30, 40 and 50, so use 1 to 9. "
        "The standby (ap-northeast-2) answers when the active regions (ap-southeast-1, ap-northeast-1) are down.\n"
        "```bash\nREGION=cn-hangzhou\naliyun ess DescribeScalingGroups --RegionId $REGION --ScalingGroupName prod_cnhz-<service>-courier\n"
        "kubectl -n notifications describe hpa notifications\nkubectl -n notifications rollout undo deploy/notifications\n"
        "aws eks update-kubeconfig --region <region> --name courier-prod-<code>\njournalctl -u node-exporter -n 50\n```\n"
        '```promql\nsum(rate(http_requests_total{service="orders"}[5m]))\n```\n'
    )
    for check in (check_services, check_counts, check_priorities, check_regions, check_kubernetes, check_metrics):
        assert check(right, facts) == [], check.__name__
    assert check_units(right, facts) == [] and check_alicloud_names(right, facts) == []
    arms = (
        "ARMS scrapes `courier-prod-<service>-node` and `courier-prod-<service>-app` through `cnhz-<service>-instances`. "
        "The ARMS alert rules `prod_cnhz-<service>-ErrorBudgetBurn-<long>` and `prod_cnhz-cnhz-TargetDown` fire. "
        "CloudMonitor and ARMS both have `prod_cnhz-<service>-LatencyP99AboveObjective`."
    )
    assert check_arms(arms, facts) == [] and check_alicloud_names(arms, facts) == []


def test_links_and_anchors_are_checked(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# Runbooks\n\n## Shed load\n\n## Shed load\n")
    page = tmp_path / "Page.md"
    assert (
        check_links("[a](README.md#shed-load) [b](README.md#shed-load-1) [c](#runbooks)", tmp_path / "README.md") == []
    )
    problems = check_links(
        '[a](README.md#shed-loads) [b](Missing.md) [c](/docs/x.md) see README, "Shed load".\n'
        "```bash\nls   # see [Shed load](README.md#shed-load)\n```\n",
        page,
    )
    assert len(problems) == 5, problems
    assert check_links(GOOD_LINKS, RUNBOOKS / "Page.md") == []
    assert slug("Riding out a storm (`python -m courier storm`)") == "riding-out-a-storm-python--m-courier-storm"
    assert slug("2. If the writer's region is lost: move the writer (minutes)") == (
        "2-if-the-writers-region-is-lost-move-the-writer-minutes"
    )


def test_rule_durations_and_platform_sections_are_checked(facts: Facts) -> None:
    assert check_rule_durations("FleetCpuAboveTarget", "Rule (`for: 5m`): ...", facts)
    assert not check_rule_durations("FleetCpuAboveTarget", "Rule (`for: 10m`): ...", facts)
    missing = check_platform_sections(
        "FleetCpuAboveTarget", "# FleetCpuAboveTarget\n\n## Kubernetes: notifications\n", facts
    )
    assert any("kubectl" in p for p in missing) and any("Alibaba Cloud" in p for p in missing)
