"""Enforcement: the policy config in force is the one of the environment being deployed.

Enforcement levels and thresholds come from policies/config/<environment>.json
(``--policy-pack-config``). Nothing in the Pulumi CLI ties that file to the stack: a prod
environment previewed with dev.json, or with no config at all, would only be advised. Each
config names its environment, and every courier resource carries its environment as a tag
(a `courier/environment` label on Kubernetes objects), so the pack itself can tell when the
two disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyResource, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from guardrails.common import Report, Setting, get, setting, stack_policy

#: The environment whose config asks the most; resources of it are never reviewed with less.
PROD = "prod"

ENVIRONMENT = Setting(
    "environment",
    {
        "type": "string",
        "minLength": 1,
        "description": "The environment this policy config is for (courier:environment); each "
        "policies/config/<environment>.json sets it. Unset: no config names an environment.",
    },
)


def _tagged_environment(resource: PolicyResource) -> str | None:
    """The environment a resource says it belongs to, or None when it carries no such tag."""
    props = resource.props
    if resource.resource_type.startswith("kubernetes:"):
        value = get(props, "metadata", "labels", "courier/environment")
    else:
        tags = get(props, "tags")
        if isinstance(tags, Mapping):
            value = tags.get("environment")
        elif isinstance(tags, Sequence) and not isinstance(tags, str):
            # Auto Scaling groups: [{key, value, propagateAtLaunch}] (a list proxy in the pack)
            value = next((get(t, "value") for t in tags if get(t, "key") == "environment"), None)
        else:
            value = None
    return value if isinstance(value, str) and value else None


def _by_environment(args: StackValidationArgs) -> dict[str, list[str]]:
    """Resource names per tagged environment."""
    found: dict[str, list[str]] = {}
    for resource in args.resources:
        try:
            environment = _tagged_environment(resource)
        except UnknownValueError:
            # A tag computed at deploy time says nothing yet; the literal tags of the other
            # resources (spec.tags() everywhere) still tell the environment.
            continue
        if environment is not None:
            found.setdefault(environment, []).append(resource.name)
    return found


def _examples(names: list[str]) -> str:
    shown = ", ".join(sorted(names)[:3])
    return f"{len(names)} resource(s) ({shown}{', ...' if len(names) > 3 else ''})"


def _check(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    configured = setting(config, ENVIRONMENT)
    in_force = f"the one for {configured!r}" if configured else "none (the pack's built-in levels)"
    for environment, names in sorted(_by_environment(args).items()):
        # Without a config only prod is refused: a new dev stack is advised by the pack's
        # defaults, not blocked by surprise. A config for another environment is always wrong.
        if environment == configured or (not configured and environment != PROD):
            continue
        belong = "belong to a prod environment" if environment == PROD else f"belong to environment {environment!r}"
        report(
            f"{_examples(names)} are tagged environment={environment}: these resources {belong} "
            f"but the policy config in force is {in_force}; run with --policy-pack-config "
            f"policies/config/{environment}.json."
        )


environment_policy_config = stack_policy(
    "courier-environment-policy-config",
    "The policy config in force is the one for the environment the resources are tagged with.",
    ENVIRONMENT,
    remediation="Pass --policy-pack-config policies/config/<environment>.json, the environment being "
    "the resources' `environment` tag (courier:environment).",
)(_check)
# Mandatory even in a pack whose default is advisory: this is the check that the stricter
# levels are in force at all. A config's "all" level overrides every policy's own level (the
# CLI's ReconcilePolicyPackConfig), so each policies/config/*.json names this policy's level
# explicitly too.
environment_policy_config.enforcement_level = EnforcementLevel.MANDATORY
