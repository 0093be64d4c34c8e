"""The drill results function (AWS Lambda, Python 3.13; the standard library and botocore only,
both in Lambda's runtime): judges a finished FIS experiment and publishes ``Courier/Drills``
``DrillPassed`` and ``RecoverySeconds`` per ``Stack`` and ``Drill``, which the drills dashboard
reads.

It is fed by an SQS queue that holds each "FIS Experiment State Change" event for a terminal
state (completed, stopped, failed, cancelled) for ``delaySeconds`` (components.aws.drills.results),
so the window it judges runs from the experiment's start to after its end: a fleet-loss
experiment ends as soon as the instances are terminated, long before Auto Scaling has replaced
them.

For an experiment of this stack (its template's ``stack`` tag), with the template's ``drill`` tag
naming a judgement in ``judgements.json`` (components.aws.drills.probes):

- every probe's series is read from the start to the end of the window: a recording rule from
  the region's Managed Prometheus workspace (``query_range``, 30 s steps, SigV4), or a CloudWatch
  metric (``GetMetricData``, its period: Auto Scaling's 1-minute in-service count); a step with
  no sample does not hold (``count`` of no instance is no series, not 0); a probe "at start"
  compares with the last sample before the start; the probe's recovery is the end of the last
  step that did not hold, from the start (0 when it always held); it recovered when its last
  step holds;
- ``RecoverySeconds`` is the slowest probe's recovery; it must be within the hypothesis'
  ``recoveryMinutes`` plus ``allowanceSeconds`` (the series' own lag and step);
- the ``mustFire`` alert is looked up in ``ALERTS`` (firing, for the drilled service) over the
  window;
- ``DrillPassed`` is 1 when the experiment completed (a stop condition or a failed action is a
  failed drill), every probe recovered within ``recoveryMinutes`` and the alert fired; else 0.

Each verdict is also logged as one JSON line with its reasons. A message that fails is retried
by SQS and lands in the dead-letter queue after the fifth attempt.
"""

from __future__ import annotations

import json
import logging
import math
import os
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NAMESPACE = "Courier/Drills"
#: Beside this module in the archive (components.aws.drills.results.JUDGEMENTS_FILE).
JUDGEMENTS_FILE = "judgements.json"
TERMINAL = frozenset({"completed", "stopped", "failed", "cancelled"})
#: query_range's resolution; the recording rules are evaluated every 30 s or faster.
STEP_SECONDS = 30
#: The window ends this long after the experiment at the latest (the queue's delay: 15 minutes).
AFTER_END_SECONDS = 900
#: Samples younger than this may not be in the workspace yet (remote write, rule evaluation).
FRESHNESS_SECONDS = 60

log = logging.getLogger()
log.setLevel(logging.INFO)

#: (query, params) -> the Prometheus HTTP API's JSON answer.
Query = Callable[[str, Mapping[str, str]], Mapping[str, Any]]
#: (probe's metric, start, end) -> {epoch seconds: value} of a CloudWatch metric.
Metric = Callable[[Mapping[str, Any], float, float], dict[float, float]]


@dataclass
class Verdict:
    experiment: str
    drill: str
    status: str
    passed: bool = False
    recovery_seconds: float | None = None
    reasons: list[str] = field(default_factory=list)

    def metrics(self, stack: str, at: datetime) -> list[dict[str, Any]]:
        dimensions = [{"Name": "Stack", "Value": stack}, {"Name": "Drill", "Value": self.drill}]
        data: list[dict[str, Any]] = [
            {
                "MetricName": "DrillPassed",
                "Dimensions": dimensions,
                "Timestamp": at,
                "Value": 1.0 if self.passed else 0.0,
                "Unit": "Count",
            }
        ]
        if self.recovery_seconds is not None:
            data.append(
                {
                    "MetricName": "RecoverySeconds",
                    "Dimensions": dimensions,
                    "Timestamp": at,
                    "Value": float(self.recovery_seconds),
                    "Unit": "Seconds",
                }
            )
        return data


def _holds(value: float, op: str, threshold: float) -> bool:
    if op == ">=":
        return value >= threshold
    if op == "<":
        return value < threshold
    raise ValueError(f"probe op {op!r}: expected '>=' or '<'")


def recovery(
    samples: Mapping[float, float],
    start: float,
    end: float,
    op: str,
    threshold: float | str,
    step: int = STEP_SECONDS,
    origin: float | None = None,
) -> tuple[float, bool]:
    """(seconds from ``start`` until the probe held for good, whether it holds at ``end``) over
    the steps ``origin``, ``origin + step``, ... up to ``end`` (``origin``: ``start``, or the
    metric's period boundary at or before it); a missing step does not hold. ``threshold``
    "start" is the last sample before ``origin``: what the fleet had before the fault."""
    origin = start if origin is None else origin
    if threshold == "start":
        before = [t for t in samples if t < origin]
        if not before:
            raise ValueError("no sample before the experiment's start to compare with")
        threshold = samples[max(before)]
    steps = math.floor((end - origin) / step) + 1
    last_bad: float | None = None
    for i in range(steps):
        at = origin + i * step
        value = samples.get(at)
        if value is None or not _holds(value, op, float(threshold)):
            last_bad = at
    final = origin + (steps - 1) * step
    held_at_end = last_bad != final
    return (0.0 if last_bad is None else last_bad + step - start), held_at_end


def _series(answer: Mapping[str, Any]) -> dict[float, float]:
    """One series' samples (the first) from a query_range answer; NaN and +-Inf are dropped."""
    if answer.get("status") != "success":
        raise RuntimeError(f"Prometheus query failed: {answer.get('errorType')}: {answer.get('error')}")
    result = answer["data"]["result"]
    if len(result) > 1:
        raise RuntimeError(f"probe matched {len(result)} series; a probe names one service in one region")
    samples: dict[float, float] = {}
    for at, value in result[0]["values"] if result else []:
        number = float(value)
        if math.isfinite(number):
            samples[float(at)] = number
    return samples


def _named(probe: Mapping[str, Any]) -> str:
    if probe.get("source") == "cloudwatch":
        metric = probe["metric"]
        dimensions = ", ".join(f"{k}={v}" for k, v in sorted(metric["dimensions"].items()))
        return f"{metric['namespace']} {metric['name']} ({dimensions}) {metric['stat']}"
    return str(probe["query"])


def _samples(probe: Mapping[str, Any], origin: float, end: float, query: Query, metric: Metric) -> dict[float, float]:
    """The probe's series from one step before ``origin`` to ``end``."""
    if probe.get("source") == "cloudwatch":
        period = int(probe["metric"]["period"])
        return metric(probe["metric"], origin - period, end + period)
    answer = query(
        "query_range",
        {
            "query": probe["query"],
            # One step before the start: the value the fleet had when the drill began.
            "start": f"{origin - STEP_SECONDS:.0f}",
            "end": f"{end:.0f}",
            "step": f"{STEP_SECONDS}s",
        },
    )
    return _series(answer)


def judge(
    experiment: Mapping[str, Any],
    drill: str,
    judgement: Mapping[str, Any] | None,
    query: Query,
    now: datetime,
    metric: Metric | None = None,
) -> Verdict:
    """The verdict on ``experiment`` (GetExperiment's ``experiment``) as of ``now``."""
    status = experiment["state"]["status"]
    verdict = Verdict(experiment["id"], drill, status)
    if status != "completed":
        reason = experiment["state"].get("reason", "")
        verdict.reasons.append(f"experiment {status}" + (f": {reason}" if reason else ""))
    if judgement is None:
        verdict.reasons.append(f"no judgement for drill {drill!r} in judgements.json")
        return verdict
    if experiment.get("startTime") is None:
        # Failed or cancelled before it began (its role, a target that resolved to nothing).
        verdict.reasons.append("the experiment never started")
        return verdict
    # Whole seconds: the steps' timestamps come back exactly as asked.
    start = float(math.floor(experiment["startTime"].timestamp()))
    ended = (experiment.get("endTime") or now).timestamp()
    until = max(min(ended + AFTER_END_SECONDS, now.timestamp() - FRESHNESS_SECONDS), start)
    worst = 0.0
    recovered = True
    for probe in judgement["probes"]:
        step = int(probe["metric"]["period"]) if probe.get("source") == "cloudwatch" else STEP_SECONDS
        # Whole steps: a metric's periods start on its boundaries, a query's steps at the start.
        origin = start - start % step if probe.get("source") == "cloudwatch" else start
        end = origin + math.floor((until - origin) / step) * step
        samples = _samples(probe, origin, end, query, metric or _no_metrics)
        seconds, held = recovery(samples, start, end, probe["op"], probe["threshold"], step, origin)
        worst = max(worst, seconds)
        if not held:
            recovered = False
            verdict.reasons.append(f"not recovered by the end of the window: {_named(probe)} {probe['op']}")
    if judgement["probes"]:
        verdict.recovery_seconds = worst
        limit = judgement["recoveryMinutes"] * 60 + judgement["allowanceSeconds"]
        if recovered and worst > limit:
            verdict.reasons.append(
                f"recovery {worst:.0f} s over the hypothesis' {judgement['recoveryMinutes'] * 60:.0f} s "
                f"(+{judgement['allowanceSeconds']} s for the series' lag)"
            )
    if judgement.get("mustFire"):
        selector = f'alertname="{judgement["mustFire"]}", alertstate="firing"'
        if judgement.get("service"):
            selector += f', service="{judgement["service"]}"'
        end = start + math.floor((until - start) / STEP_SECONDS) * STEP_SECONDS
        window = max(int(end - start), STEP_SECONDS)
        answer = query("query", {"query": f"max_over_time(ALERTS{{{selector}}}[{window}s])", "time": f"{end:.0f}"})
        if answer.get("status") != "success":
            raise RuntimeError(f"Prometheus query failed: {answer.get('errorType')}: {answer.get('error')}")
        if not answer["data"]["result"]:
            verdict.reasons.append(f"{judgement['mustFire']} did not fire")
    verdict.passed = not verdict.reasons
    return verdict


def _no_metrics(metric: Mapping[str, Any], start: float, end: float) -> dict[float, float]:
    raise RuntimeError("a CloudWatch probe needs a metric reader")


# -- AWS ------------------------------------------------------------------------------------


def _prometheus(session: Any, region: str, base_url: str) -> Query:
    """Queries on the Managed Prometheus workspace at ``base_url`` (``.../workspaces/<id>/``),
    signed with the function's role (SigV4, service ``aps``)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    def query(path: str, params: Mapping[str, str]) -> Mapping[str, Any]:
        url = f"{base_url.rstrip('/')}/api/v1/{path}"
        body = urllib.parse.urlencode(params)
        request = AWSRequest(
            method="POST", url=url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        SigV4Auth(session.get_credentials(), "aps", region).add_auth(request)
        prepared = urllib.request.Request(url, data=body.encode(), headers=dict(request.headers.items()), method="POST")
        with urllib.request.urlopen(prepared, timeout=20) as response:
            return json.load(response)

    return query


def _cloudwatch(client: Any) -> Metric:
    """A CloudWatch metric's datapoints (GetMetricData, oldest first, every page)."""

    def read(metric: Mapping[str, Any], start: float, end: float) -> dict[float, float]:
        request: dict[str, Any] = {
            "MetricDataQueries": [
                {
                    "Id": "probe",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": metric["namespace"],
                            "MetricName": metric["name"],
                            "Dimensions": [{"Name": k, "Value": str(v)} for k, v in metric["dimensions"].items()],
                        },
                        "Period": int(metric["period"]),
                        "Stat": metric["stat"],
                    },
                    "ReturnData": True,
                }
            ],
            "StartTime": datetime.fromtimestamp(start, UTC),
            "EndTime": datetime.fromtimestamp(end, UTC),
            "ScanBy": "TimestampAscending",
        }
        samples: dict[float, float] = {}
        while True:
            answer = client.get_metric_data(**request)
            for result in answer.get("MetricDataResults", []):
                for at, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=True):
                    samples[float(at.timestamp())] = float(value)
            if not answer.get("NextToken"):
                return samples
            request["NextToken"] = answer["NextToken"]

    return read


def process(
    body: Mapping[str, Any],
    *,
    stack: str,
    fis: Any,
    cloudwatch: Any,
    query: Query,
    judgements: Mapping[str, Any],
    now: datetime,
) -> Verdict | None:
    """One queued state-change event: the verdict it published, or None when it is not for a
    finished experiment of this stack."""
    detail = body.get("detail") or {}
    if (detail.get("new-state") or {}).get("status") not in TERMINAL:
        return None
    experiment = fis.get_experiment(id=detail["experiment-id"])["experiment"]
    template = fis.get_experiment_template(id=experiment["experimentTemplateId"])["experimentTemplate"]
    tags = template.get("tags") or {}
    if tags.get("stack") != stack or "drill" not in tags:
        log.info(json.dumps({"experiment": experiment["id"], "ignored": "not a drill of this stack"}))
        return None
    verdict = judge(experiment, tags["drill"], judgements.get(tags["drill"]), query, now, _cloudwatch(cloudwatch))
    at = experiment.get("endTime") or now
    cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=verdict.metrics(stack, at))
    log.info(
        json.dumps(
            {
                "experiment": verdict.experiment,
                "drill": verdict.drill,
                "status": verdict.status,
                "passed": verdict.passed,
                "recoverySeconds": verdict.recovery_seconds,
                "reasons": verdict.reasons,
            }
        )
    )
    return verdict


def handler(event: Mapping[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    """SQS batch: each failed message is reported for a retry (ReportBatchItemFailures)."""
    import botocore.session

    session = botocore.session.get_session()
    region = os.environ["AWS_REGION"]
    judgements = json.loads((Path(__file__).parent / JUDGEMENTS_FILE).read_text())
    fis = session.create_client("fis", region_name=region)
    cloudwatch = session.create_client("cloudwatch", region_name=region)
    query = _prometheus(session, region, os.environ["PROMETHEUS_URL"])
    failures: list[dict[str, str]] = []
    for record in event.get("Records") or []:
        try:
            process(
                json.loads(record["body"]),
                stack=os.environ["STACK"],
                fis=fis,
                cloudwatch=cloudwatch,
                query=query,
                judgements=judgements,
                now=datetime.now(UTC),
            )
        except Exception:
            log.exception("drill result of message %s", record["messageId"])
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
