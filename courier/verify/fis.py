"""FIS experiment templates against AWS FIS's own rules: the actions, their targets and
parameters (a table, each entry from the AWS FIS actions reference), the target resource types,
selection modes and stop conditions, and the whole request against botocore's fis model.

Pulumi spells a template's actions and targets as lists (``[{name, actionId, parameters: [{key,
value}], target: {key, value}}]``); CreateExperimentTemplate takes maps keyed by name. The
template is turned into the request the provider sends (terraform-provider-aws
internal/service/fis/experiment_template.go, expandExperimentTemplateActions/Targets) and that
request is walked against the model like every other AWS input (models.py). The coverage
credits the actions' and targets' fields this request carries (catalogue.FIS_ACTIONS and
FIS_TARGETS) as checked by this rule, not as provider-only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from courier.plan import Resource
from courier.verify import models
from courier.verify.catalogue import CreateCall
from courier.verify.findings import Context, Issue, Rule

FIS_TEMPLATE = "aws:fis/experimentTemplate:ExperimentTemplate"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

ACTIONS_REFERENCE = "https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html"
TARGETS_GUIDE = "https://docs.aws.amazon.com/fis/latest/userguide/targets.html"
EKS_POD_GUIDE = "https://docs.aws.amazon.com/fis/latest/userguide/eks-pod-actions.html"
STOP_CONDITIONS_GUIDE = "https://docs.aws.amazon.com/fis/latest/userguide/stop-conditions.html"
PROVIDER_SOURCE = "terraform-provider-aws internal/service/fis/experiment_template.go"
MODEL_SOURCE = "botocore fis service-2.json: CreateExperimentTemplateRequest (required members)"
#: "Duration ... from one minute to 12 hours. In the AWS FIS API, the value is a string in ISO
#: 8601 format. For example, PT1M represents one minute."
DURATION = re.compile(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?")
MINUTE, TWELVE_HOURS = 60, 12 * 3600


@dataclass(frozen=True)
class Parameter:
    """One action or target parameter: its kind and bounds."""

    kind: str = "text"  # text | duration | percent | count | boolean | enum | json | zones
    required: bool = False
    allowed: tuple[str, ...] = ()
    low: int = 0
    high: int = 100


@dataclass(frozen=True)
class ActionRule:
    #: The key of the action's ``targets`` map (None: the action takes no target).
    target_key: str | None
    #: The resource type that target must have.
    resource_type: str | None
    parameters: Mapping[str, Parameter] = field(default_factory=dict)


_DURATION = Parameter("duration", required=True)
_SSM_DOCUMENT = {
    "documentArn": Parameter(required=True),
    "documentVersion": Parameter(),
    "documentParameters": Parameter("json"),
}
_FIS_POD = {
    "kubernetesServiceAccount": Parameter(required=True),
    "fisPodContainerImage": Parameter(),
    "maxErrorsPercent": Parameter("percent", low=0),
    "fisPodLabels": Parameter(),
    "fisPodAnnotations": Parameter(),
    "fisPodSecurityPolicy": Parameter("enum", allowed=("privileged", "baseline", "restricted")),
}

#: The actions the stack uses, as the AWS FIS actions reference documents them (resource type,
#: parameters with their formats and bounds). An action not in the table is a finding: add it,
#: with its reference entry, before using it.
ACTIONS: Mapping[str, ActionRule] = {
    "aws:ec2:stop-instances": ActionRule(
        "Instances",
        "aws:ec2:instance",
        {
            "startInstancesAfterDuration": Parameter("duration"),
            "completeIfInstancesTerminated": Parameter("boolean"),
        },
    ),
    "aws:ec2:terminate-instances": ActionRule("Instances", "aws:ec2:instance"),
    "aws:ec2:asg-insufficient-instance-capacity-error": ActionRule(
        "AutoScalingGroups",
        "aws:ec2:autoscaling-group",
        {
            "duration": _DURATION,
            "availabilityZoneIdentifiers": Parameter("zones", required=True),
            "percentage": Parameter("percent", low=1),
        },
    ),
    "aws:network:disrupt-connectivity": ActionRule(
        "Subnets",
        "aws:ec2:subnet",
        {
            "duration": _DURATION,
            "scope": Parameter(
                "enum",
                required=True,
                allowed=("all", "availability-zone", "dynamodb", "prefix-list", "s3", "s3express", "vpc"),
            ),
            "prefixListIdentifier": Parameter(),
        },
    ),
    "aws:rds:failover-db-cluster": ActionRule("Clusters", "aws:rds:cluster"),
    "aws:ssm:send-command": ActionRule("Instances", "aws:ec2:instance", {**_SSM_DOCUMENT, "duration": _DURATION}),
    "aws:ssm:start-automation-execution": ActionRule(
        None, None, {**_SSM_DOCUMENT, "maxDuration": Parameter("duration", required=True)}
    ),
    "aws:eks:pod-delete": ActionRule(
        "Pods", "aws:eks:pod", {**_FIS_POD, "gracePeriodSeconds": Parameter("count", low=0, high=86400)}
    ),
    "aws:eks:pod-cpu-stress": ActionRule(
        "Pods",
        "aws:eks:pod",
        {
            **_FIS_POD,
            "duration": _DURATION,
            "percent": Parameter("percent", low=0),
            "workers": Parameter("count", low=0, high=1024),
        },
    ),
    "aws:fis:wait": ActionRule(None, None, {"duration": _DURATION}),
}


@dataclass(frozen=True)
class TargetRule:
    #: How targets of the type are identified: by tags or ARNs, or only by parameters.
    by_parameters: bool = False
    parameters: Mapping[str, Parameter] = field(default_factory=dict)


#: Target resource types ("Targets for AWS FIS": resource types; aws:eks:pod is identified by
#: its parameters only, "Use the AWS FIS aws:eks:pod actions").
TARGET_TYPES: Mapping[str, TargetRule] = {
    "aws:ec2:instance": TargetRule(),
    "aws:ec2:autoscaling-group": TargetRule(),
    "aws:ec2:subnet": TargetRule(),
    "aws:rds:cluster": TargetRule(),
    "aws:eks:pod": TargetRule(
        by_parameters=True,
        parameters={
            "clusterIdentifier": Parameter(required=True),
            "namespace": Parameter(required=True),
            "selectorType": Parameter("enum", required=True, allowed=("labelSelector", "deploymentName", "podName")),
            "selectorValue": Parameter(required=True),
            "availabilityZoneIdentifier": Parameter(),
            "targetContainerName": Parameter(),
        },
    ),
}

#: The provider's client-side allow-list of action target keys (validExperimentTemplateActionTargetKey).
PROVIDER_TARGET_KEYS = frozenset(
    {
        "AutoScalingGroups", "Buckets", "Cluster", "Clusters", "DBInstances", "Instances", "Nodegroups", "Pods",
        "ReplicationGroups", "Roles", "SpotInstances", "Subnets", "Tables", "Tasks", "TransitGateways", "Volumes",
    }
)  # fmt: skip
SELECTION = re.compile(r"ALL|COUNT\((\d+)\)|PERCENT\((\d+)\)")
STOP_SOURCES = ("aws:cloudwatch:alarm", "none")
#: Service Quotas, AWS FIS: "Stop conditions per experiment template: 5".
MAX_STOP_CONDITIONS = 5


def duration_seconds(text: str) -> int | None:
    match = DURATION.fullmatch(text)
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _parameter_problem(name: str, value: Any, rule: Parameter) -> str | None:
    text = str(value)
    if rule.kind == "duration":
        seconds = duration_seconds(text)
        if seconds is None:
            return f"{name} {text!r} is not an ISO 8601 duration such as PT10M"
        if not MINUTE <= seconds <= TWELVE_HOURS:
            return f"{name} {text!r} must be from one minute to 12 hours"
    elif rule.kind in ("percent", "count"):
        if not text.isdigit() or not rule.low <= int(text) <= rule.high:
            return f"{name} {text!r} must be a whole number from {rule.low} to {rule.high}"
    elif rule.kind == "boolean":
        if text.lower() not in ("true", "false"):
            return f"{name} {text!r} must be true or false"
    elif rule.kind == "enum":
        if text not in rule.allowed:
            return f"{name} {text!r} is not one of {', '.join(rule.allowed)}"
    elif rule.kind == "zones":
        if not all(re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d[a-z]|[a-z]{3,4}\d-az\d+", z.strip()) for z in text.split(",")):
            return f"{name} {text!r} must be zone names or IDs separated by commas"
    elif rule.kind == "json":
        try:
            document = json.loads(text)
        except ValueError:
            return f"{name} is not JSON"
        if not isinstance(document, dict) or not all(
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(i, str) for i in v))
            for v in document.values()
        ):
            return f"{name} must be a JSON object of strings or lists of strings"
    return None


def _pairs(items: Any) -> dict[str, Any]:
    """Pulumi's ``[{key, value}]`` as a map."""
    return {str(p.get("key")): p.get("value") for p in items or [] if isinstance(p, Mapping)}


def request(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The CreateExperimentTemplate request the provider sends for these inputs."""
    actions = {}
    for action in inputs.get("actions") or []:
        body: dict[str, Any] = {"actionId": action.get("actionId")}
        if action.get("description"):
            body["description"] = action["description"]
        if action.get("parameters"):
            body["parameters"] = _pairs(action["parameters"])
        if action.get("startAfters"):
            body["startAfter"] = list(action["startAfters"])
        if action.get("target"):
            body["targets"] = {action["target"].get("key"): action["target"].get("value")}
        actions[action.get("name")] = body
    targets = {}
    for target in inputs.get("targets") or []:
        body = {"resourceType": target.get("resourceType"), "selectionMode": target.get("selectionMode")}
        if target.get("resourceTags"):
            body["resourceTags"] = _pairs(target["resourceTags"])
        if target.get("resourceArns"):
            body["resourceArns"] = list(target["resourceArns"])
        if target.get("filters"):
            body["filters"] = [{"path": f.get("path"), "values": f.get("values")} for f in target["filters"]]
        if target.get("parameters"):
            body["parameters"] = dict(target["parameters"])
        targets[target.get("name")] = body
    return {"actions": actions, "targets": targets}


def check(context: Context) -> Iterator[Issue]:
    alarms = {r.urn: r for r in context.of_type(METRIC_ALARM)}
    for template in context.of_type(FIS_TEMPLATE):
        yield from _check_template(template, alarms)
        yield from _model(template)


def _check_template(template: Resource, alarms: Mapping[str, Resource]) -> Iterator[Issue]:
    urn, inputs = template.urn, template.inputs
    shaped = request(inputs)
    targets: dict[str, Any] = shaped["targets"]
    used: set[str] = set()
    if not shaped["actions"]:
        yield Issue(urn, "actions", "a template needs at least one action (a required member)", MODEL_SOURCE)
    for name, action in shaped["actions"].items():
        at = f"actions[{name}]"
        if name is None or len(str(name)) > 64:
            yield Issue(urn, at, "an action needs a name of at most 64 characters", PROVIDER_SOURCE)
        action_id = action.get("actionId")
        rule = ACTIONS.get(action_id)
        if rule is None:
            yield Issue(
                urn,
                f"{at}.actionId",
                f"{action_id!r} is not in the table of FIS actions (courier/verify/fis.py ACTIONS): add it with its "
                "resource type and parameters from the actions reference",
                ACTIONS_REFERENCE,
            )
            continue
        wired = action.get("targets") or {}
        for key, target_name in wired.items():
            used.add(target_name)
            if key not in PROVIDER_TARGET_KEYS:
                yield Issue(urn, f"{at}.target", f"target key {key!r} is refused by the provider", PROVIDER_SOURCE)
            if key != rule.target_key:
                expected = rule.target_key or "no target"
                yield Issue(urn, f"{at}.target", f"{action_id} takes {expected}, not {key!r}", ACTIONS_REFERENCE)
            target = targets.get(target_name)
            if target is None:
                yield Issue(urn, f"{at}.target", f"names no target of the template ({target_name!r})", TARGETS_GUIDE)
            elif target.get("resourceType") != rule.resource_type:
                yield Issue(
                    urn,
                    f"{at}.target",
                    f"{action_id} acts on {rule.resource_type}, but target {target_name!r} is "
                    f"{target.get('resourceType')}",
                    ACTIONS_REFERENCE,
                )
        if rule.target_key is not None and not wired:
            yield Issue(urn, f"{at}.target", f"{action_id} needs a {rule.target_key} target", ACTIONS_REFERENCE)
        yield from _parameters(urn, at, action_id, action.get("parameters") or {}, rule.parameters, ACTIONS_REFERENCE)
    for name, target in targets.items():
        yield from _target(urn, f"targets[{name}]", target)
        if name not in used:
            yield Issue(urn, f"targets[{name}]", "no action uses this target", TARGETS_GUIDE)
    yield from _stop_conditions(template, alarms)


def _parameters(
    urn: str, at: str, what: str, given: Mapping[str, Any], rules: Mapping[str, Parameter], source: str
) -> Iterator[Issue]:
    for name, value in given.items():
        rule = rules.get(name)
        if rule is None:
            allowed = ", ".join(rules) or "none"
            yield Issue(
                urn, f"{at}.parameters.{name}", f"{what} has no parameter {name!r} (it takes: {allowed})", source
            )
            continue
        if value is not None and len(str(value)) > 1024:
            yield Issue(urn, f"{at}.parameters.{name}", "a parameter value is at most 1024 characters", PROVIDER_SOURCE)
        problem = _parameter_problem(name, value, rule) if value is not None else None
        if problem:
            yield Issue(urn, f"{at}.parameters.{name}", f"{what}: {problem}", source)
    for name, rule in rules.items():
        if rule.required and name not in given:
            yield Issue(urn, f"{at}.parameters", f"{what} needs the parameter {name!r}", source)


def _target(urn: str, at: str, target: Mapping[str, Any]) -> Iterator[Issue]:
    resource_type = str(target.get("resourceType"))
    rule = TARGET_TYPES.get(resource_type)
    if rule is None:
        yield Issue(
            urn, f"{at}.resourceType", f"{resource_type!r} is not a target type this table knows", TARGETS_GUIDE
        )
        return
    mode = str(target.get("selectionMode"))
    match = SELECTION.fullmatch(mode)
    if match is None:
        yield Issue(urn, f"{at}.selectionMode", f"{mode!r} must be ALL, COUNT(n) or PERCENT(n)", TARGETS_GUIDE)
    elif match.group(2) is not None and not 1 <= int(match.group(2)) <= 100:
        yield Issue(urn, f"{at}.selectionMode", f"{mode!r}: PERCENT takes 1 to 100", TARGETS_GUIDE)
    elif match.group(1) is not None and int(match.group(1)) < 1:
        yield Issue(urn, f"{at}.selectionMode", f"{mode!r}: COUNT takes at least 1", TARGETS_GUIDE)
    tags, arns = target.get("resourceTags"), target.get("resourceArns")
    if rule.by_parameters:
        if tags or arns:
            yield Issue(
                urn,
                at,
                f"{resource_type} targets cannot be identified by tags or ARNs, only by parameters",
                EKS_POD_GUIDE,
            )
        yield from _parameters(urn, at, resource_type, target.get("parameters") or {}, rule.parameters, EKS_POD_GUIDE)
        return
    if bool(tags) == bool(arns):
        yield Issue(
            urn, at, "a target is identified by resource tags or by ARNs (one of them, not both)", TARGETS_GUIDE
        )
    if arns and len(arns) > 5:
        yield Issue(urn, f"{at}.resourceArns", "at most 5 ARNs per target", PROVIDER_SOURCE)
    if tags and len(tags) > 50:
        yield Issue(urn, f"{at}.resourceTags", "at most 50 resource tags per target", PROVIDER_SOURCE)


def _stop_conditions(template: Resource, alarms: Mapping[str, Resource]) -> Iterator[Issue]:
    urn = template.urn
    conditions = template.inputs.get("stopConditions") or []
    if len(conditions) > MAX_STOP_CONDITIONS:
        yield Issue(
            urn,
            "stopConditions",
            f"{len(conditions)} stop conditions: FIS takes at most {MAX_STOP_CONDITIONS} per template",
            "Service Quotas, AWS FIS",
        )
    for index, condition in enumerate(conditions):
        source = condition.get("source")
        if source not in STOP_SOURCES:
            yield Issue(
                urn, f"stopConditions[{index}].source", f"{source!r} is not one of {STOP_SOURCES}", PROVIDER_SOURCE
            )
        if source == "aws:cloudwatch:alarm" and not condition.get("value"):
            yield Issue(
                urn,
                f"stopConditions[{index}].value",
                "an alarm stop condition needs the alarm's ARN",
                STOP_CONDITIONS_GUIDE,
            )
    # The alarms must be in the experiment's own Region (FIS user guide, "Stop conditions").
    for dependency in template.property_dependencies.get("stopConditions", []):
        alarm = alarms.get(dependency)
        if alarm is not None and alarm.region != template.region:
            yield Issue(
                urn,
                "stopConditions",
                f"stops on {alarm.name} in {alarm.region}; the alarm must be in the experiment's region "
                f"({template.region})",
                STOP_CONDITIONS_GUIDE,
            )


_REQUEST = CreateCall("fis", "CreateExperimentTemplate")


def _model(template: Resource) -> Iterator[Issue]:
    """The actions and targets, in the request's shape, against botocore's fis model."""
    shaped = Resource(
        template.urn, template.type, template.name, True, None, None, template.region, False, [],
        request(template.inputs), property_dependencies=template.property_dependencies,
    )  # fmt: skip
    yield from models._Walk(shaped, _REQUEST, models.Coverage()).run()


RULES: tuple[Rule, ...] = (
    Rule(
        "aws-fis-experiment-template",
        f"{ACTIONS_REFERENCE}; {TARGETS_GUIDE}; {STOP_CONDITIONS_GUIDE}; botocore fis CreateExperimentTemplate",
        check,
    ),
)
