"""Tags and labels wherever a value lands: AWS tags, Alibaba Cloud tags, Kubernetes labels.

A tag or label is usually made from config (``courier:owner``), so one bad value reaches
every resource; each finding names the resource and the key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from components.kubernetes.labels import label_key_problem, label_value_problem
from courier.plan import Resource
from courier.verify.findings import Context, Issue, Rule

# Tagging AWS resources, "Tag naming limits and requirements": at most 50 user tags per
# resource; keys 1-128 and values 0-256 Unicode characters; the aws: prefix is reserved; allowed
# characters are letters, numbers and spaces representable in UTF-8, and _ . : / = + - @.
AWS_TAGS = "https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html#tag-conventions"
_AWS_TAG_TEXT = re.compile(r"[\w\s.:/=+\-@]*")

# Alibaba Cloud TagResources (e.g. VPC API): up to 20 tags per resource; a key up to 128
# characters that cannot start with aliyun or acs: nor contain http:// or https://; a value up
# to 128 characters that cannot contain http:// or https://.
ALIBABA_TAGS = "https://www.alibabacloud.com/help/en/vpc/developer-reference/api-vpc-2016-04-28-tagresources"

# Kubernetes, labels, syntax and character set (apimachinery validation IsQualifiedName and
# IsValidLabelValue): a key is an optional DNS subdomain prefix (at most 253 characters) and
# "/", then a name of at most 63 characters; a value is at most 63 characters, empty or
# alphanumeric at both ends with - _ . between.
KUBERNETES_LABELS = "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set"


def _aws_tag_sets(resource: Resource) -> Iterator[tuple[str, dict[str, Any]]]:
    tags = resource.inputs.get("tags")
    if isinstance(tags, Mapping):
        yield "tags", dict(tags)
    elif isinstance(tags, list):
        # Auto Scaling groups: [{key, value, propagateAtLaunch}].
        yield "tags", {str(t.get("key")): t.get("value") for t in tags if isinstance(t, Mapping)}
    for index, spec in enumerate(resource.inputs.get("tagSpecifications") or []):
        if isinstance(spec, Mapping) and isinstance(spec.get("tags"), Mapping):
            yield f"tagSpecifications[{index}].tags", dict(spec["tags"])


def _default_tags(context: Context) -> dict[str, dict[str, Any]]:
    """Provider-level default tags, which the provider merges into every resource's tags."""
    found = {}
    for provider in context.plan.resources:
        if provider.type == "pulumi:providers:aws":
            tags = (provider.inputs.get("defaultTags") or {}).get("tags")
            if isinstance(tags, Mapping):
                found[provider.urn] = dict(tags)
    return found


def aws_tags(context: Context) -> Iterator[Issue]:
    defaults = _default_tags(context)
    for resource in context.managed:
        if not resource.type.startswith("aws:"):
            continue
        for where, tags in _aws_tag_sets(resource):
            merged = {**defaults.get(resource.provider or "", {}), **tags}
            if len(merged) > 50:
                yield Issue(resource.urn, where, f"{len(merged)} tags (with provider defaults); AWS allows 50")
            for key, value in tags.items():
                yield from _aws_tag(resource, where, key, value)


def _aws_tag(resource: Resource, where: str, key: str, value: Any) -> Iterator[Issue]:
    if not 1 <= len(key) <= 128:
        yield Issue(resource.urn, f"{where}.{key}", f"tag key is {len(key)} characters (1-128)")
    if key.lower().startswith("aws:"):
        yield Issue(resource.urn, f"{where}.{key}", "the aws: tag prefix is reserved for AWS")
    if not _AWS_TAG_TEXT.fullmatch(key):
        yield Issue(resource.urn, f"{where}.{key}", f"tag key {key!r} has characters outside _ . : / = + - @")
    if value is None or value == "[secret]":
        return
    text = str(value)
    if len(text) > 256:
        yield Issue(resource.urn, f"{where}.{key}", f"tag value is {len(text)} characters (at most 256)")
    if not _AWS_TAG_TEXT.fullmatch(text):
        yield Issue(resource.urn, f"{where}.{key}", f"tag value {text!r} has characters outside _ . : / = + - @")


def alibaba_tags(context: Context) -> Iterator[Issue]:
    for resource in context.managed:
        tags = resource.inputs.get("tags")
        if not resource.type.startswith("alicloud:") or not isinstance(tags, Mapping):
            continue
        if len(tags) > 20:
            yield Issue(resource.urn, "tags", f"{len(tags)} tags; Alibaba Cloud allows 20 per resource")
        for key, value in tags.items():
            where = f"tags.{key}"
            if not 1 <= len(key) <= 128:
                yield Issue(resource.urn, where, f"tag key is {len(key)} characters (1-128)")
            if key.lower().startswith(("aliyun", "acs:")):
                yield Issue(resource.urn, where, "tag keys cannot start with aliyun or acs:")
            text = "" if value is None else str(value)
            if len(text) > 128:
                yield Issue(resource.urn, where, f"tag value is {len(text)} characters (at most 128)")
            for part, kind in ((key, "key"), (text, "value")):
                if "http://" in part.lower() or "https://" in part.lower():
                    yield Issue(resource.urn, where, f"a tag {kind} cannot contain http:// or https://")


#: Where a Kubernetes object carries labels (key and value) or only label keys (annotations).
_LABEL_MAPS = frozenset({"labels", "matchLabels", "nodeSelector"})


def _labels_in(value: Any, path: str) -> Iterator[tuple[str, str, Any, bool]]:
    """(path, key, value, check the value) for every label in a Kubernetes object: labels,
    matchLabels, nodeSelector, a Service's plain selector and matchExpressions carry labels;
    annotations carry label keys with free-form values."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _labels_in(item, f"{path}[{index}]")
        return
    if not isinstance(value, Mapping):
        return
    for key, item in value.items():
        here = f"{path}.{key}" if path else key
        plain_selector = key == "selector" and isinstance(item, Mapping) and _plain(item)
        if isinstance(item, Mapping) and (key in _LABEL_MAPS or key == "annotations" or plain_selector):
            for label, text in item.items():
                yield here, str(label), text, key != "annotations"
        elif key == "matchExpressions" and isinstance(item, list):
            for index, expression in enumerate(item):
                if isinstance(expression, Mapping):
                    label = str(expression.get("key"))
                    for text in expression.get("values") or [""]:
                        yield f"{here}[{index}]", label, text, True
        else:
            yield from _labels_in(item, here)


def _plain(selector: Mapping[str, Any]) -> bool:
    return all(isinstance(v, str) for v in selector.values()) and not {"matchLabels", "matchExpressions"} & set(
        selector
    )


def kubernetes_labels(context: Context) -> Iterator[Issue]:
    for resource in context.managed:
        if resource.type.startswith("kubernetes:") and not resource.type.startswith("kubernetes:helm.sh/"):
            labels = _labels_in(resource.inputs, "")
        elif resource.type == "aws:eks/nodeGroup:NodeGroup":
            # Managed node group labels become the nodes' Kubernetes labels.
            labels = _labels_in({"labels": resource.inputs.get("labels") or {}}, "")
        else:
            continue
        for where, key, value, check_value in labels:
            problem = label_key_problem(key) or (label_value_problem(value) if check_value else None)
            if problem:
                yield Issue(resource.urn, f"{where}.{key}", problem)


# Kubernetes, Deployments, selector: ".spec.selector must match .spec.template.metadata.labels,
# or it will be rejected by the API" (the same for StatefulSets, DaemonSets, ReplicaSets).
# https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#selector
def selector_matches_template(context: Context) -> Iterator[Issue]:
    for resource in context.managed:
        if not resource.type.startswith("kubernetes:apps/v1:"):
            continue
        spec = resource.inputs.get("spec") or {}
        wanted = (spec.get("selector") or {}).get("matchLabels") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        missing = {k: v for k, v in wanted.items() if labels.get(k) != v}
        if missing:
            yield Issue(
                resource.urn,
                "spec.selector.matchLabels",
                f"selector {missing} does not match the pod template's labels: the API refuses it",
            )


RULES: tuple[Rule, ...] = (
    Rule("aws-tags", AWS_TAGS, aws_tags),
    Rule("alicloud-tags", ALIBABA_TAGS, alibaba_tags),
    Rule("kubernetes-labels", KUBERNETES_LABELS, kubernetes_labels),
    Rule(
        "kubernetes-selector-matches-template",
        "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#selector",
        selector_matches_template,
    ),
)
