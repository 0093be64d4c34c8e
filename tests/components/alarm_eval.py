"""How CloudWatch and CloudMonitor decide an alarm, reduced to what the tests need: feed one
value per period (None: no datapoint) and ask whether the rule is in ALARM after the last.

promtool plays this part for Prometheus rules; neither cloud ships an offline evaluator, so the
tests read the planned inputs and evaluate them here, on both sides of each threshold.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping, Sequence
from typing import Any

_CMS_OPERATORS = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_CLOUDWATCH_OPERATORS = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
#: ``@Metric[period].$Statistic`` in a CloudMonitor alert rule expression.
_METRIC = re.compile(r"@([A-Za-z][_A-Za-z0-9]*)\[(\d+)\]\.\$([A-Za-z]+)")


def cloudwatch_alarms(alarm: Mapping[str, Any], values: Sequence[float | None]) -> bool:
    """A single-metric CloudWatch alarm (M of N datapoints) after the last of ``values``,
    missing datapoints treated as its ``treatMissingData`` says."""
    compare = _CLOUDWATCH_OPERATORS[alarm["comparisonOperator"]]
    window = list(values)[-int(alarm["evaluationPeriods"]) :]
    missing = alarm.get("treatMissingData", "missing")
    breaching = 0
    for value in window:
        if value is None:
            breaching += missing == "breaching"
        else:
            breaching += compare(value, float(alarm["threshold"]))
    return breaching >= int(alarm.get("datapointsToAlarm") or alarm["evaluationPeriods"])


def cloudmonitor_alarms(rule: Mapping[str, Any], periods: Sequence[Mapping[str, float]]) -> bool:
    """A CloudMonitor alarm rule (``cms.Alarm`` inputs) after the last of ``periods``, each a
    metric name -> value map: its escalation, or its composite expression, true for ``times``
    periods in a row. A period without the rule's metric is not a breach (no data, no alert)."""
    expression = rule.get("compositeExpression")
    if expression:
        times = int(expression["times"])
        test = _expression(expression["expressionRaw"])
    else:
        (level,) = [rule[k] for k in ("escalationsCritical", "escalationsWarn", "escalationsInfo") if k in rule]
        times = int(level["times"])
        compare = _CMS_OPERATORS[level["comparisonOperator"]]

        def test(values: Mapping[str, float]) -> bool:
            return rule["metric"] in values and compare(values[rule["metric"]], float(level["threshold"]))

    recent = list(periods)[-times:]
    return len(recent) == times and all(test(values) for values in recent)


def _expression(raw: str):
    """A CloudMonitor expression as a Python predicate over one period's values (the subset
    the rules here use: metrics, numbers, arithmetic, comparisons, && and ||)."""
    python = _METRIC.sub(lambda m: f"values[{m.group(1)!r}]", raw).replace("&&", " and ").replace("||", " or ")
    if re.search(r"[^\w\s.'\[\]<>=!*/+()-]", python.replace(" and ", " ").replace(" or ", " ")):
        raise ValueError(f"unsupported CloudMonitor expression {raw!r}")

    def test(values: Mapping[str, float]) -> bool:
        try:
            return bool(eval(python, {"__builtins__": {}}, {"values": values}))
        except (KeyError, ZeroDivisionError):
            return False

    return test
