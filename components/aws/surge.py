"""Scaling for an unannounced surge: CPU every 10 seconds, a target-tracking policy on it, and a
step policy for saturation.

CPU target tracking on the 1-minute ``ASGAverageCPUUtilization`` needs three datapoints over
the target plus about a minute of publication delay before it acts (about 4 minutes), and CPU
cannot exceed 100%, so each round grows the fleet by at most 100/target. A 4x surge then takes
several rounds of launch + warmup: about 20 minutes overloaded (``python -m courier storm``).

What this adds to every AWS fleet with ``scaling.highResolution`` (prod's default):

- **The metric.** The CloudWatch agent (AL2023 package ``amazon-cloudwatch-agent``, from the
  region's AL2023 repository like Docker) publishes ``cpu_usage_active`` every 10 seconds as a
  high-resolution custom metric in the ``CWAgent`` namespace, rolled up per
  ``AutoScalingGroupName`` (agent configuration reference: ``metrics_collection_interval``
  below 60 makes a metric high-resolution; ``append_dimensions`` with
  ``${aws:AutoScalingGroupName}``; ``aggregation_dimensions``), flushed every 10 seconds
  (``force_flush_interval``, default 60). The unit starts at every boot.
- **A second target-tracking policy** on that metric with a 10-second period (EC2 Auto Scaling
  User Guide, "Create a target tracking policy using high-resolution metrics"; the API's
  ``TargetTrackingMetricStat.Period`` accepts 10, 30 and 60) at the same CPU target: 3
  datapoints of 10 s instead of 3 minutes. With several target-tracking policies the group
  scales out when any asks and in only when all agree, so the 1-minute policy (which stays on
  every fleet) has scale-in disabled and this one does the scaling in, in minutes.
- **A step policy** on a 10-second alarm at 95% CPU (one datapoint): saturated CPU says only
  that demand exceeds capacity, not by how much, so the step adds ``surge_step_percent`` of
  the group at once (``PercentChangeInCapacity``, at least 2 instances); instances in warmup
  count as added (step scaling with an instance warmup), and the high-resolution policy trims
  an overshoot within minutes. The warm pool is sized for that first wave.
- **Permissions**: ``cloudwatch:PutMetricData`` in the ``CWAgent`` namespace only
  (condition key ``cloudwatch:namespace``), and ``ec2:DescribeTags``, which the agent uses to
  learn its group's name.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.aws import policies

NAMESPACE = "CWAgent"
METRIC = "cpu_usage_active"
PERIOD_SECONDS = 10
#: The step alarm's threshold: CPU this high over 10 seconds is saturation.
SATURATED_PERCENT = 95
#: The smallest step, in instances (a small fleet still grows).
MIN_STEP_INSTANCES = 2
CONFIG_PATH = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"
CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"


def agent_config() -> str:
    """The agent's configuration: 10-second CPU per Auto Scaling group, nothing else."""
    return json.dumps(
        {
            "agent": {"metrics_collection_interval": PERIOD_SECONDS, "run_as_user": "cwagent"},
            "metrics": {
                "namespace": NAMESPACE,
                "force_flush_interval": PERIOD_SECONDS,
                "append_dimensions": {"AutoScalingGroupName": "${aws:AutoScalingGroupName}"},
                "aggregation_dimensions": [["AutoScalingGroupName"]],
                "metrics_collected": {
                    "cpu": {
                        "measurement": [METRIC],
                        "totalcpu": True,
                        "metrics_collection_interval": PERIOD_SECONDS,
                    }
                },
            },
        },
        indent=2,
        sort_keys=True,
    )


def boot_steps() -> str:
    """Install the agent from the region's AL2023 repository and start it; ``fetch-config -s``
    enables its systemd unit, so it runs at every boot (a warm-pool instance too)."""
    return f"""# 10-second CPU for the high-resolution scaling policies (CloudWatch agent, AL2023 package).
retry dnf install -y amazon-cloudwatch-agent
install -d -m 0755 {CONFIG_PATH.rsplit("/", 1)[0]}
cat > {CONFIG_PATH} <<'JSON'
{agent_config()}
JSON
{CTL} -a fetch-config -m ec2 -s -c file:{CONFIG_PATH}
"""


def publish_policy() -> str:
    return policies.document(
        {
            "Sid": "PublishFleetCpu",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": NAMESPACE}},
        },
        {"Sid": "ReadOwnTags", "Effect": "Allow", "Action": "ec2:DescribeTags", "Resource": "*"},
    )


def metric_dimensions(group_name: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    return {"AutoScalingGroupName": group_name}


def add(
    name: str,
    group: aws.autoscaling.Group,
    role: aws.iam.Role,
    *,
    cpu_target: int,
    warmup_seconds: int,
    step_percent: int,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> list[pulumi.Resource]:
    """The permission, the high-resolution policy and (``step_percent`` > 0) the step policy
    and its alarm, for ``group``."""
    child = pulumi.ResourceOptions(parent=parent)
    created: list[pulumi.Resource] = [
        aws.iam.RolePolicy(f"{name}-publish-cpu", role=role.id, policy=publish_policy(), opts=child)
    ]
    created.append(
        aws.autoscaling.Policy(
            f"{name}-cpu-10s",
            autoscaling_group_name=group.name,
            policy_type="TargetTrackingScaling",
            estimated_instance_warmup=warmup_seconds,
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                customized_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationArgs(
                    metrics=[
                        aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricArgs(
                            id="cpu",
                            label=f"{METRIC} of the group every {PERIOD_SECONDS} s",
                            metric_stat=aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricMetricStatArgs(
                                metric=aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricMetricStatMetricArgs(
                                    namespace=NAMESPACE,
                                    metric_name=METRIC,
                                    dimensions=[
                                        aws.autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricMetricStatMetricDimensionArgs(
                                            name="AutoScalingGroupName", value=group.name
                                        )
                                    ],
                                ),
                                stat="Average",
                                period=PERIOD_SECONDS,
                            ),
                            return_data=True,
                        )
                    ],
                ),
                target_value=float(cpu_target),
                disable_scale_in=False,
            ),
            opts=child,
        )
    )
    if step_percent <= 0:
        return created
    step = aws.autoscaling.Policy(
        f"{name}-surge",
        autoscaling_group_name=group.name,
        policy_type="StepScaling",
        adjustment_type="PercentChangeInCapacity",
        min_adjustment_magnitude=MIN_STEP_INSTANCES,
        metric_aggregation_type="Average",
        estimated_instance_warmup=warmup_seconds,
        step_adjustments=[
            aws.autoscaling.PolicyStepAdjustmentArgs(scaling_adjustment=step_percent, metric_interval_lower_bound="0")
        ],
        opts=child,
    )
    alarm = aws.cloudwatch.MetricAlarm(
        f"{name}-saturated",
        alarm_description=f"CPU of {name} at {SATURATED_PERCENT}% over {PERIOD_SECONDS} s: add {step_percent}% at once",
        namespace=NAMESPACE,
        metric_name=METRIC,
        dimensions=metric_dimensions(group.name),
        statistic="Average",
        period=PERIOD_SECONDS,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        threshold=SATURATED_PERCENT,
        comparison_operator="GreaterThanOrEqualToThreshold",
        # No data (a group being replaced, the agent restarting) is not a surge.
        treat_missing_data="notBreaching",
        alarm_actions=[step.arn],
        tags=tags,
        opts=child,
    )
    return [*created, step, alarm]
