"""Physical names: Pulumi's auto-names and explicit names against AWS's documented limits.

A resource without an explicit name gets ``<logical name>-<7 hex>`` from pulumi-aws: every
resource type with an input called ``name`` is auto-named with a 255-character cap
(pulumi-aws provider/autonaming.go, ``setAutonaming``), a few with their own cap and transform
(provider/resources.go: ``aws_iam_role`` 64, ``aws_s3_bucket`` 63 lower-cased;
provider/aliases.go: ``aws_lb_target_group`` 32). The suffix is 7 random hex characters
(pulumi-terraform-bridge ``AutoName``: ``Randlen: 7``), and a name that does not fit is an
error, never truncated (pulumi sdk ``resource.NewUniqueHex``: "name '%s' plus %d random chars
is longer than maximum length %d"). Where the provider's cap is looser than AWS's own limit
(a load balancer's 32), the name is generated and AWS refuses it. Either way the ``up`` fails,
so the would-be name is checked here against the tighter of the two.

This assumes the default auto-naming pattern (no ``pulumi:autonaming`` project config).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from courier.plan import Resource
from courier.verify.catalogue import CREATE_CALLS
from courier.verify.findings import Context, Issue
from courier.verify.models import compiled, metadata, resolve

#: The random suffix pulumi-terraform-bridge appends (``AutoName``: ``Randlen: 7``), after "-".
SUFFIX = "-" + "0" * 7

AUTONAMING = (
    "pulumi-aws provider/autonaming.go (every input `name` auto-named, max 255), provider/resources.go "
    "and aliases.go (per-type caps), pulumi-terraform-bridge AutoName (Randlen 7), pulumi "
    "resource.NewUniqueHex (fails when the name does not fit)"
)


@dataclass(frozen=True)
class NameRule:
    #: The Pulumi input holding the physical name.
    property: str
    #: pulumi-aws's cap for the generated name.
    provider_max: int
    #: AWS's limit where its model does not carry one (else the model's max applies).
    documented_max: int | None = None
    #: Characters AWS documents for the name (whole-name match).
    charset: str | None = None
    #: Prefixes AWS refuses.
    forbidden_prefixes: tuple[str, ...] = ()
    #: The provider lower-cases the logical name first (S3 buckets).
    lowercase: bool = False
    source: str = ""


_ELB_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"

NAME_RULES: Mapping[str, NameRule] = MappingProxyType(
    {
        # CreateTargetGroup.Name: "can have a maximum of 32 characters, must contain only
        # alphanumeric characters or hyphens, and must not begin or end with a hyphen."
        "aws:lb/targetGroup:TargetGroup": NameRule(
            "name", 32, 32, _ELB_NAME, source="botocore elbv2 CreateTargetGroupInput.Name documentation"
        ),
        # CreateLoadBalancer.Name: the same, "and must not begin with internal-".
        "aws:lb/loadBalancer:LoadBalancer": NameRule(
            "name",
            255,
            32,
            _ELB_NAME,
            ("internal-",),
            source="botocore elbv2 CreateLoadBalancerInput.Name documentation",
        ),
        "aws:iam/role:Role": NameRule("name", 64, source="botocore iam CreateRole.RoleName (max 64)"),
        "aws:iam/instanceProfile:InstanceProfile": NameRule(
            "name", 255, source="botocore iam CreateInstanceProfile.InstanceProfileName (max 128)"
        ),
        "aws:iam/rolePolicy:RolePolicy": NameRule(
            "name", 255, source="botocore iam PutRolePolicy.PolicyName (max 128)"
        ),
        # S3 User Guide, bucket naming rules: 3-63 characters, lower-case letters, numbers,
        # dots and hyphens, beginning and ending with a letter or number.
        "aws:s3/bucket:Bucket": NameRule(
            "bucket",
            63,
            63,
            r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
            ("xn--", "sthree-", "amzn-s3-demo-"),
            lowercase=True,
            source="https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
        ),
        # CreateTopic.Name: "uppercase and lowercase ASCII letters, numbers, underscores, and
        # hyphens, and must be between 1 and 256 characters long."
        "aws:sns/topic:Topic": NameRule(
            "name", 255, 256, r"[A-Za-z0-9_-]+(\.fifo)?", source="botocore sns CreateTopicInput.Name documentation"
        ),
        "aws:autoscaling/group:Group": NameRule(
            "name", 255, source="botocore autoscaling CreateAutoScalingGroup.AutoScalingGroupName (max 255)"
        ),
        "aws:autoscaling/policy:Policy": NameRule(
            "name", 255, source="botocore autoscaling PutScalingPolicy.PolicyName (max 255)"
        ),
        "aws:autoscaling/lifecycleHook:LifecycleHook": NameRule(
            "name", 255, source="botocore autoscaling PutLifecycleHook.LifecycleHookName (max 255)"
        ),
        # The ec2 model's LaunchTemplateName shape: 3-128 characters of [a-zA-Z0-9().-/_].
        "aws:ec2/launchTemplate:LaunchTemplate": NameRule(
            "name", 255, 128, r"[a-zA-Z0-9().\-/_]{3,128}", source="botocore ec2 LaunchTemplateName shape"
        ),
        # CreateSecurityGroup.GroupName: "Up to 255 characters in length. Can't start with sg-."
        "aws:ec2/securityGroup:SecurityGroup": NameRule(
            "name",
            255,
            255,
            r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+",
            ("sg-",),
            source="botocore ec2 CreateSecurityGroupRequest.GroupName documentation",
        ),
        "aws:cloudwatch/metricAlarm:MetricAlarm": NameRule(
            "name", 255, source="botocore cloudwatch PutMetricAlarm.AlarmName (max 255)"
        ),
        "aws:cloudwatch/logGroup:LogGroup": NameRule(
            "name", 255, source="botocore logs CreateLogGroup.logGroupName (max 512, [.-_/#A-Za-z0-9]+)"
        ),
        "aws:grafana/workspace:Workspace": NameRule(
            "name", 255, source="botocore grafana CreateWorkspace.workspaceName ([a-zA-Z0-9-._~]{1,255})"
        ),
        "aws:grafana/workspaceServiceAccount:WorkspaceServiceAccount": NameRule(
            "name", 255, source="botocore grafana CreateWorkspaceServiceAccount.name (max 128)"
        ),
        "aws:grafana/workspaceServiceAccountToken:WorkspaceServiceAccountToken": NameRule(
            "name", 255, source="botocore grafana CreateWorkspaceServiceAccountToken.name (max 128)"
        ),
        "aws:eks/cluster:Cluster": NameRule("name", 255, source="botocore eks CreateCluster.name (max 100)"),
        "aws:amp/ruleGroupNamespace:RuleGroupNamespace": NameRule(
            "name", 255, source="botocore amp CreateRuleGroupsNamespace.name (max 128)"
        ),
        "aws:ssm/parameter:Parameter": NameRule("name", 255, source="botocore ssm PutParameter.Name (max 2048)"),
        "aws:ssm/document:Document": NameRule("name", 255, source="botocore ssm CreateDocument.Name (max 128)"),
        # PutRule.Name: "[\.\-_A-Za-z0-9]+", at most 64 (the model).
        "aws:cloudwatch/eventRule:EventRule": NameRule(
            "name", 64, source="botocore events PutRule.Name (max 64, [.\\-_A-Za-z0-9]+)"
        ),
        # CreateQueue.QueueName: "Maximum 80 characters. Valid values: alphanumeric characters,
        # hyphens (-), and underscores (_)" (the model leaves it a plain string).
        "aws:sqs/queue:Queue": NameRule(
            "name", 80, 80, r"[A-Za-z0-9_-]+", source="SQS API reference CreateQueue.QueueName (max 80, [A-Za-z0-9_-])"
        ),
        # CreateFunction.FunctionName: the model's 140 is for an ARN; "If you specify only the
        # function name, it is limited to 64 characters in length."
        "aws:lambda/function:Function": NameRule(
            "name",
            64,
            64,
            r"[a-zA-Z0-9_-]+",
            source="botocore lambda CreateFunction.FunctionName documentation (64 for a name)",
        ),
        "aws:scheduler/schedule:Schedule": NameRule(
            "name", 255, source="botocore scheduler CreateSchedule.Name (max 64, [0-9a-zA-Z-_.]+)"
        ),
        "aws:ecr/repository:Repository": NameRule(
            "name", 255, source="botocore ecr CreateRepository.repositoryName (2-256, lower case)"
        ),
        # The model's PlanName: 1-32 letters, digits and inner hyphens (an auto-name is checked
        # against both).
        "aws:arcregionswitch/plan:Plan": NameRule(
            "name", 255, source="botocore arc-region-switch CreatePlan.name (PlanName, max 32)"
        ),
        # CreateDBSubnetGroup.DBSubnetGroupName: "no more than 255 letters, numbers, periods,
        # underscores, spaces, or hyphens ... First character must be a letter."
        "aws:rds/subnetGroup:SubnetGroup": NameRule(
            "name",
            255,
            255,
            r"[A-Za-z][A-Za-z0-9._ -]*",
            source="botocore rds CreateDBSubnetGroupMessage.DBSubnetGroupName documentation",
        ),
        # CreateCacheSubnetGroup.CacheSubnetGroupName: "no more than 255 alphanumeric characters
        # or hyphens."
        "aws:elasticache/subnetGroup:SubnetGroup": NameRule(
            "name",
            255,
            255,
            r"[A-Za-z0-9-]+",
            source="botocore elasticache CreateCacheSubnetGroupMessage.CacheSubnetGroupName documentation",
        ),
        # The model's TableName now also takes an ARN (1-1024); a table's name is 3-255 of
        # a-z, A-Z, 0-9, _ - . (DynamoDB developer guide, naming rules).
        "aws:dynamodb/table:Table": NameRule(
            "name",
            255,
            255,
            r"[A-Za-z0-9_.-]{3,255}",
            source="https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html",
        ),
        # CreateSecret.Name: "ASCII letters, numbers, and the following characters: /_+=.@-".
        "aws:secretsmanager/secret:Secret": NameRule(
            "name",
            255,
            512,
            r"[A-Za-z0-9/_+=.@-]+",
            source="botocore secretsmanager CreateSecretRequest.Name documentation",
        ),
    }
)

#: CreateAlias.AliasName: "This value must begin with alias/ ... cannot begin with alias/aws/."
KMS_ALIAS = "botocore kms CreateAliasRequest.AliasName documentation"


def _model_limit(resource_type: str, rule: NameRule) -> tuple[int | None, re.Pattern[str] | None]:
    call = CREATE_CALLS.get(resource_type)
    if call is None:
        return None, None
    target = call.aliases.get(rule.property)
    try:
        _, shape, _ = resolve(call, target if isinstance(target, str) else rule.property)
    except KeyError:
        return None, None
    if shape is None:
        return None, None
    pattern = metadata(shape).get("pattern")
    return metadata(shape).get("max"), compiled(pattern) if pattern else None


def would_be_name(resource: Resource, rule: NameRule) -> str:
    logical = resource.name.lower() if rule.lowercase else resource.name
    return logical + SUFFIX


def check(context: Context) -> Iterator[Issue]:
    for resource_type, rule in NAME_RULES.items():
        model_max, model_pattern = _model_limit(resource_type, rule)
        for resource in context.of_type(resource_type):
            if resource.property_dependencies.get(rule.property):
                continue  # computed from another resource: the mock's value means nothing
            explicit = resource.inputs.get(rule.property)
            if explicit is None:
                yield from _auto_name(resource, rule, model_max, model_pattern)
            elif isinstance(explicit, str):
                yield from _documented(resource, rule, explicit, f"{rule.property} {explicit!r}")
    for alias in context.of_type("aws:kms/alias:Alias"):
        name = alias.inputs.get("name")
        if isinstance(name, str) and (not name.startswith("alias/") or name.startswith("alias/aws/")):
            yield Issue(alias.urn, "name", f"{name!r} must begin with alias/ (and not alias/aws/)", KMS_ALIAS)
        elif name is None and not alias.inputs.get("namePrefix"):
            yield Issue(
                alias.urn,
                "name",
                f"no name: the auto-name {alias.name + SUFFIX!r} lacks the required alias/ prefix",
                KMS_ALIAS,
            )


def _auto_name(
    resource: Resource, rule: NameRule, model_max: int | None, model_pattern: re.Pattern[str] | None
) -> Iterator[Issue]:
    if resource.inputs.get(f"{rule.property}Prefix"):
        return  # a name prefix replaces auto-naming (the provider appends 26 characters)
    name = would_be_name(resource, rule)
    limits = [(rule.provider_max, "pulumi-aws's auto-name cap")]
    if model_max is not None:
        limits.append((model_max, "the API model's maximum"))
    if rule.documented_max is not None:
        limits.append((rule.documented_max, "AWS's documented maximum"))
    limit, why = min(limits)
    what = f"auto-name {resource.name!r} + '-' + 7 hex = {len(name)} characters"
    if len(name) > limit:
        yield Issue(
            resource.urn,
            rule.property,
            f"{what} exceeds {limit} ({why}); pulumi-aws fails rather than truncates: "
            f"shorten the logical name to {limit - len(SUFFIX)} characters or set {rule.property}",
            f"{AUTONAMING}; {rule.source}",
        )
    if model_pattern is not None and not model_pattern.fullmatch(name):
        yield Issue(
            resource.urn,
            rule.property,
            f"{what}: {name!r} does not match the API's pattern {model_pattern.pattern!r}",
            f"{AUTONAMING}; {rule.source}",
        )
    yield from _documented(resource, rule, name, what, limit_checked=True)


def _documented(
    resource: Resource, rule: NameRule, name: str, what: str, *, limit_checked: bool = False
) -> Iterator[Issue]:
    if not limit_checked and rule.documented_max is not None and len(name) > rule.documented_max:
        yield Issue(
            resource.urn,
            rule.property,
            f"{what} is {len(name)} characters, over AWS's limit of {rule.documented_max}",
            rule.source,
        )
    if rule.charset is not None and not re.fullmatch(rule.charset, name):
        yield Issue(resource.urn, rule.property, f"{what}: {name!r} has characters AWS refuses", rule.source)
    for prefix in rule.forbidden_prefixes:
        if name.lower().startswith(prefix):
            yield Issue(resource.urn, rule.property, f"{what}: {name!r} must not begin with {prefix!r}", rule.source)
