"""Alarms and schedules: periods, evaluation windows, and moments relative to the plan's.

Each rule is one function with the place the rule is written down, in a comment and in its
:class:`Rule`. The time-based rules read the Plan's moment (``asOf``), never the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from courier.plan import Resource
from courier.verify.findings import Context, Issue, Rule
from courier.verify.rules import ASG_SCHEDULE, ESS_TASK, fmt, moment, number

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

# -- alarms ------------------------------------------------------------------------------

ALARM_SOURCE = "botocore cloudwatch PutMetricAlarmInput.Period documentation (PutMetricAlarm API reference)"


def _alarm_periods(alarm: Resource) -> list[tuple[str, float]]:
    periods = []
    if (period := number(alarm.inputs.get("period"))) is not None:
        periods.append(("period", period))
    for index, query in enumerate(alarm.inputs.get("metricQueries") or []):
        metric = query.get("metric") or {}
        if (period := number(metric.get("period"))) is not None:
            periods.append((f"metricQueries[{index}].metric.period", period))
        if (period := number(query.get("period"))) is not None:
            periods.append((f"metricQueries[{index}].period", period))
    return periods


# PutMetricAlarm.Period: "Valid values are 10, 20, 30, and any multiple of 60."
def alarm_period_values(context: Context) -> Iterator[Issue]:
    for alarm in context.of_type(ALARM):
        for where, period in _alarm_periods(alarm):
            if period not in (10, 20, 30) and (period <= 0 or period % 60):
                yield Issue(alarm.urn, where, f"period {fmt(period)} s: must be 10, 20, 30 or a multiple of 60")


# PutMetricAlarm.Period: "Period multiplied by EvaluationPeriods can't be more than 604,800
# seconds. For alarms with a period of less than one hour (3,600 seconds), the total
# evaluation period can't be longer than one day (86,400 seconds)."
def alarm_evaluation_window(context: Context) -> Iterator[Issue]:
    for alarm in context.of_type(ALARM):
        periods = [p for _, p in _alarm_periods(alarm)]
        evaluations = number(alarm.inputs.get("evaluationPeriods"))
        if not periods or evaluations is None:
            continue
        period = max(periods)
        window = period * evaluations
        limit = 86_400 if period < 3600 else 604_800
        if window > limit:
            yield Issue(
                alarm.urn,
                "evaluationPeriods",
                f"{fmt(evaluations)} periods of {fmt(period)} s is {fmt(window)} s, over the {limit} s "
                f"({'one day' if limit == 86_400 else 'seven days'}) an alarm may evaluate",
            )


# CloudWatch user guide, evaluating an alarm: DatapointsToAlarm is the M of "M out of N" and
# EvaluationPeriods the N, so M cannot exceed N.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation
def alarm_datapoints_within_periods(context: Context) -> Iterator[Issue]:
    for alarm in context.of_type(ALARM):
        datapoints = number(alarm.inputs.get("datapointsToAlarm"))
        evaluations = number(alarm.inputs.get("evaluationPeriods"))
        if datapoints is not None and evaluations is not None and datapoints > evaluations:
            yield Issue(
                alarm.urn,
                "datapointsToAlarm",
                f"{fmt(datapoints)} datapoints to alarm out of only {fmt(evaluations)} evaluation periods",
            )


# -- schedules ---------------------------------------------------------------------------


# EC2 Auto Scaling user guide, scheduled scaling: a one-time action runs at its start time,
# which must lie in the future (PutScheduledUpdateGroupAction refuses a start time in the past:
# "Given start time is in the past"); an end time must come after the start time.
# https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-scheduled-scaling.html
def asg_schedule_in_future(context: Context) -> Iterator[Issue]:
    for action in context.of_type(ASG_SCHEDULE):
        start = moment(action.inputs.get("startTime"))
        if start is not None and not action.inputs.get("recurrence") and start <= context.as_of:
            yield Issue(
                action.urn,
                "startTime",
                f"start time {action.inputs['startTime']} is not after the plan's moment "
                f"{context.as_of.isoformat()}: AWS refuses a scheduled action in the past",
            )
        end = moment(action.inputs.get("endTime"))
        if start is not None and end is not None and end <= start:
            yield Issue(action.urn, "endTime", f"end time {action.inputs['endTime']} is not after the start time")


ESS_HORIZON = timedelta(days=90)
ESS_RECURRENCE_HORIZON = timedelta(days=365)


# Alibaba ESS CreateScheduledTask, LaunchTime: "You cannot enter a time point later than 90 days
# from the date of scheduled task creation" (and it must lie in the future); RecurrenceEndTime:
# no later than 365 days. terraform-provider-alicloud website/docs/r/ess_scheduled_task.html.markdown;
# https://www.alibabacloud.com/help/en/auto-scaling/latest/createscheduledtask
def ess_task_horizon(context: Context) -> Iterator[Issue]:
    latest = context.as_of + ESS_HORIZON
    for task in context.of_type(ESS_TASK):
        launch = moment(task.inputs.get("launchTime"))
        if launch is None:
            continue
        shown = task.inputs["launchTime"]
        if launch <= context.as_of:
            yield Issue(task.urn, "launchTime", f"launch time {shown} is not after the plan's moment")
        elif launch > latest:
            days = (launch - context.as_of).days
            yield Issue(
                task.urn,
                "launchTime",
                f"launch time {shown} is {days} days out; ESS accepts at most 90 days "
                f"(until {latest.strftime('%Y-%m-%dT%H:%MZ')}): create the task once it is within the horizon",
            )
        end = moment(task.inputs.get("recurrenceEndTime"))
        if end is not None and end > context.as_of + ESS_RECURRENCE_HORIZON:
            yield Issue(task.urn, "recurrenceEndTime", "recurrence end time is more than 365 days out")


RULES: tuple[Rule, ...] = (
    Rule("aws-alarm-period", ALARM_SOURCE, alarm_period_values),
    Rule("aws-alarm-evaluation-window", ALARM_SOURCE, alarm_evaluation_window),
    Rule(
        "aws-alarm-datapoints-within-periods",
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation",
        alarm_datapoints_within_periods,
    ),
    Rule(
        "aws-asg-schedule-in-future",
        "https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-scheduled-scaling.html",
        asg_schedule_in_future,
    ),
    Rule(
        "alicloud-ess-scheduled-task-horizon",
        "https://www.alibabacloud.com/help/en/auto-scaling/latest/createscheduledtask (LaunchTime); "
        "terraform-provider-alicloud website/docs/r/ess_scheduled_task.html.markdown",
        ess_task_horizon,
    ),
)
