"""Tags: every resource says which service, environment and owner it belongs to.

"Taggable" is not a list kept by hand: it is every type whose class in the installed SDK takes
a ``tags`` input (objects.accepts_tags, read once per process from pulumi_aws and
pulumi_alicloud), so a resource of a type nobody thought of is judged like the others; on
Kubernetes, every object with metadata (objects.labelled). The tags a resource gets are its
own and, on AWS, its provider's ``defaultTags`` (the provider applies them to every resource
that takes tags).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from guardrails.common import Report, Setting, declared, get, resource_policy, setting
from guardrails.objects import SdkMissing, accepts_tags, labelled

REQUIRED_TAGS = Setting(
    "requiredTags",
    {
        "type": "array",
        "items": {"type": "string"},
        "default": ["service", "environment", "owner"],
        "description": "Tags every taggable resource carries (labels courier/<tag> on Kubernetes objects).",
    },
)


#: Clouds whose missing SDK this process has reported (once, not once per resource).
_REPORTED: set[str] = set()


def _aws(resource_type: str) -> bool:
    return resource_type.startswith("aws:")


def _alicloud(resource_type: str) -> bool:
    return resource_type.startswith("alicloud:")


def _takes_tags(args: ResourceValidationArgs, report: Report) -> bool:
    try:
        return accepts_tags(args.resource_type)
    except SdkMissing as error:
        # Never a silent pass: say so once, and judge the resources that declare tags meanwhile.
        cloud = args.resource_type.split(":", 1)[0]
        if cloud not in _REPORTED:
            _REPORTED.add(cloud)
            report(f"{error}; until then only resources that declare tags are checked.")
        return declared(args.props, "tags")


def _tags(props: Mapping[str, Any]) -> dict[str, Any]:
    tags = get(props, "tags", default={})
    if isinstance(tags, Mapping):
        return dict(tags)
    # Auto Scaling groups: [{key, value, propagateAtLaunch}]
    return {str(t.get("key")): t.get("value") for t in tags if isinstance(t, Mapping)}


def effective_tags(args: ResourceValidationArgs) -> dict[str, Any]:
    """The tags the cloud object gets: the provider's ``defaultTags.tags`` (AWS), then its own."""
    provider = args.provider
    defaults = get(provider.props, "defaultTags", "tags", default={}) if provider is not None else {}
    return {**(dict(defaults) if isinstance(defaults, Mapping) else {}), **_tags(args.props)}


def _missing(tags: Mapping[str, Any], required: list[str]) -> list[str]:
    return [t for t in required if not tags.get(t)]


def _required_tags(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if not _takes_tags(args, report):
        return
    missing = _missing(effective_tags(args), setting(config, REQUIRED_TAGS))
    if missing:
        report(
            f"{args.name} ({args.resource_type}) lacks tag(s) {', '.join(missing)}; its type takes tags, so pass "
            "spec.tags(<service>) to it (or set them in the provider's defaultTags)."
        )


aws_tags = resource_policy(
    "aws-resource-required-tags",
    "Every AWS resource whose type takes tags (per the installed SDK) carries the required tags (service, "
    "environment, owner), its own or its provider's default tags.",
    _aws,
    REQUIRED_TAGS,
)(_required_tags)
alicloud_tags = resource_policy(
    "alicloud-resource-required-tags",
    "Every Alibaba Cloud resource whose type takes tags (per the installed SDK) carries the required tags "
    "(service, environment, owner).",
    _alicloud,
    REQUIRED_TAGS,
)(_required_tags)


@resource_policy(
    "kubernetes-resource-required-labels",
    "Every Kubernetes object (built-in kinds and custom resources) carries the required labels as courier/<tag>.",
    labelled,
    REQUIRED_TAGS,
)
def kubernetes_labels(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    labels = get(args.props, "metadata", "labels", default={})
    missing = [t for t in setting(config, REQUIRED_TAGS) if not labels.get(f"courier/{t}")]
    if missing:
        report(
            f"{args.name} lacks label(s) {', '.join(f'courier/{t}' for t in missing)}; set them in "
            "metadata.labels (spec.labels(<service>))."
        )
