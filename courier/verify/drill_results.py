"""The drill results function checked offline (components.aws.drills.results): what it ships
must be what it needs.

- ``drill-results-function``: the archive holds the handler's module (the project's file, byte
  for byte) and ``judgements.json``; the runtime is one Lambda's model lists; every experiment
  template of the region has a judgement and every judgement a template; every probe's PromQL
  parses and reads only series that the region's own recording rules record (a probe on a series
  nothing records would judge every drill a failure); a CloudWatch probe reads an Auto Scaling
  group metric, at its 1-minute period, of a group of the region the function depends on and
  that enables it; its comparison is one the function knows;
  a judgement's recovery is the template's hypothesis (its ``hypothesis-recovery-minutes`` tag,
  rounded up to the half minute).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import botocore.session

from components.aws.drills import results
from components.aws.drills.probes import GROUP_METRIC_PERIOD
from components.aws.fleet import GROUP_METRICS
from courier.plan import Resource
from courier.verify.dashboards import RULES_TYPE, query_problems, recorded_series
from courier.verify.findings import Context, Issue, Rule

FUNCTION_TYPE = "aws:lambda/function:Function"
GROUP_TYPE = "aws:autoscaling/group:Group"
#: CloudWatch's statistics (GetMetricData MetricStat.Stat, the basic ones).
STATISTICS = frozenset({"Minimum", "Maximum", "Average", "Sum", "SampleCount"})
GROUP_METRIC_NAMES = frozenset(m.value for m in GROUP_METRICS)
TEMPLATE_TYPE = "aws:fis/experimentTemplate:ExperimentTemplate"
SOURCE = "components/aws/drills/results_function.py; botocore lambda Runtime; the region's recording rules"
OPERATORS = frozenset({">=", "<"})


def _runtimes() -> frozenset[str]:
    model = botocore.session.get_session().get_service_model("lambda")
    return frozenset(model.shape_for("Runtime").enum)


def judgements_of(function: Resource) -> dict[str, Any] | None:
    """The judgements a drill results function's archive ships, as the Plan records them
    (None: not such a function)."""
    assets = ((function.inputs.get("code") or {}).get("assets")) or {}
    text = (assets.get(results.JUDGEMENTS_FILE) or {}).get("text")
    return json.loads(text) if isinstance(text, str) else None


def _shipped(function: Resource) -> Iterator[str]:
    """The handler's module is in the archive, and it is the project's file as it is."""
    assets = ((function.inputs.get("code") or {}).get("assets")) or {}
    module = assets.get(results.FUNCTION_SOURCE.name) or {}
    if str(function.inputs.get("handler", "")) != results.HANDLER:
        yield f"handler {function.inputs.get('handler')!r}: expected {results.HANDLER!r}"
    if not module:
        yield f"code: no {results.FUNCTION_SOURCE.name} in the archive"
    elif module.get("sha256") != hashlib.sha256(results.FUNCTION_SOURCE.read_bytes()).hexdigest():
        yield f"code: {module.get('path')} is not components/aws/drills/{results.FUNCTION_SOURCE.name} as it is"


def _metric_problems(metric: Mapping[str, Any], groups: Sequence[Resource]) -> Iterator[str]:
    """A CloudWatch probe reads a group metric that one of ``groups`` (the region's Auto Scaling
    groups the function depends on) enables, at its 1-minute granularity."""
    where = f"probe {metric.get('namespace')} {metric.get('name')}"
    if metric.get("namespace") != "AWS/AutoScaling" or metric.get("name") not in GROUP_METRIC_NAMES:
        yield f"{where}: not an Auto Scaling group metric ({', '.join(sorted(GROUP_METRIC_NAMES))})"
        return
    if metric.get("stat") not in STATISTICS:
        yield f"{where}: statistic {metric.get('stat')!r}, expected one of {sorted(STATISTICS)}"
    if metric.get("period") != GROUP_METRIC_PERIOD:
        yield f"{where}: period {metric.get('period')!r}, the group metrics' granularity is {GROUP_METRIC_PERIOD} s"
    name = str((metric.get("dimensions") or {}).get("AutoScalingGroupName"))
    group = next((g for g in groups if _names(g, name)), None)
    if group is None:
        yield f"{where}: group {name!r} is none of the region's Auto Scaling groups the function depends on"
    elif metric["name"] not in (group.inputs.get("enabledMetrics") or []):
        yield f"{where}: group {group.name} does not enable it (enabledMetrics), so it has no datapoints"


def _names(group: Resource, name: str) -> bool:
    """``name`` is the group's: its ``name`` input, else Pulumi's auto-name of it
    (``<logical name>-<7 hex>``)."""
    given = group.inputs.get("name")
    if isinstance(given, str):
        return given == name
    return re.fullmatch(rf"{re.escape(group.name)}-[0-9a-f]{{7}}", name) is not None


def problems(
    judgements: Mapping[str, Any],
    hypotheses: Mapping[str, float],
    recorded: frozenset[str],
    groups: Sequence[Resource] = (),
) -> Iterator[str]:
    """Why ``judgements`` cannot judge the region's drills (``hypotheses``: drill -> the recovery
    minutes its template's tag states; ``groups``: the Auto Scaling groups the function depends
    on)."""
    for drill in sorted(set(hypotheses) - set(judgements)):
        yield f"drill {drill!r} has a template but no judgement: nothing would publish its result"
    for drill in sorted(set(judgements) - set(hypotheses)):
        yield f"judgement {drill!r} names no experiment template of the region"
    for drill, judgement in sorted(judgements.items()):
        stated = hypotheses.get(drill)
        minutes = judgement.get("recoveryMinutes")
        if not isinstance(minutes, int | float):
            yield f"judgement {drill!r}: no recoveryMinutes (got {minutes!r}): nothing to hold the recovery to"
        elif stated is not None and math.ceil(minutes * 2) / 2 != stated:
            yield f"judgement {drill!r}: recovery {minutes} min, but its template states {stated} min"
        for probe in judgement.get("probes", []):
            if probe.get("source") == "cloudwatch":
                yield from (f"judgement {drill!r}: {p}" for p in _metric_problems(probe.get("metric") or {}, groups))
            else:
                query = str(probe.get("query", ""))
                yield from (f"judgement {drill!r}: probe {query!r} {p}" for p in query_problems(query, recorded))
            if probe.get("op") not in OPERATORS:
                yield f"judgement {drill!r}: probe op {probe.get('op')!r}, expected one of {sorted(OPERATORS)}"
            threshold = probe.get("threshold")
            if threshold != "start" and not isinstance(threshold, int | float):
                yield f"judgement {drill!r}: threshold {threshold!r}, expected a number or 'start'"


def check(context: Context) -> Iterator[Issue]:
    runtimes = _runtimes()
    for function in context.of_type(FUNCTION_TYPE):
        judgements = judgements_of(function)
        if judgements is None:
            continue
        if str(function.inputs.get("runtime")) not in runtimes:
            yield Issue(function.urn, "runtime", f"{function.inputs.get('runtime')!r} is not a Lambda runtime")
        for problem in _shipped(function):
            yield Issue(function.urn, "code", problem)
        region = function.region
        recorded = recorded_series(
            str(r.inputs.get("data", "")) for r in context.of_type(RULES_TYPE) if r.region == region
        )
        hypotheses = {
            str(t.inputs["tags"]["drill"]): float(t.inputs["tags"]["hypothesis-recovery-minutes"])
            for t in context.of_type(TEMPLATE_TYPE)
            if t.region == region and "drill" in (t.inputs.get("tags") or {})
        }
        depends = set(function.property_dependencies.get("code", []))
        groups = [g for g in context.of_type(GROUP_TYPE) if g.region == region and g.urn in depends]
        for problem in problems(judgements, hypotheses, recorded, groups):
            yield Issue(function.urn, "code", problem)


RULES: tuple[Rule, ...] = (Rule("drill-results-function", SOURCE, check),)
