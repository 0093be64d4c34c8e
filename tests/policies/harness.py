"""Running one guardrail in-process over resources of a Plan, the way the analyzer server does.

The policies import as top-level `guardrails` (the CLI runs the pack with policies/ on the
path), so the pack directory is put on sys.path here, once, without starting the pack.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Mapping
from typing import Any

from courier.plan import Plan, Resource
from tests.conftest import ROOT

if str(ROOT / "policies") not in sys.path:
    sys.path.insert(0, str(ROOT / "policies"))

from guardrails import POLICIES
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

BY_NAME: dict[str, Policy] = {p.name: p for p in POLICIES}


def _options(resource: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        resource.protect, resource.ignore_changes, None, [], PolicyCustomTimeouts(0, 0, 0), [], resource.parent
    )


def violations(policy_name: str, resources: list[Resource], config: Mapping[str, Any] | None = None) -> list[str]:
    """Messages the policy reports over ``resources`` (each resource, or the stack)."""
    policy = BY_NAME[policy_name]
    reported: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append(message)

    if isinstance(policy, ResourceValidationPolicy):
        # Each resource sees its provider, as in the analyzer (its defaultTags, its region).
        provider_of = {
            r.urn: PolicyProviderResource(r.type, copy.deepcopy(r.inputs), r.urn, r.name)
            for r in resources
            if r.type.startswith("pulumi:providers:")
        }
        for resource in resources:
            args = ResourceValidationArgs(
                resource.type,
                unknown_checking_proxy(copy.deepcopy(resource.inputs)),
                resource.urn,
                resource.name,
                _options(resource),
                provider_of.get(resource.provider or ""),
                dict(config or {}),
            )
            policy.validate(args, report)
        return reported
    providers = {
        r.urn: PolicyProviderResource(r.type, copy.deepcopy(r.inputs), r.urn, r.name)
        for r in resources
        if r.type.startswith("pulumi:providers:")
    }
    by_urn = {
        r.urn: PolicyResource(
            r.type,
            unknown_checking_proxy(copy.deepcopy(r.inputs)),
            r.urn,
            r.name,
            _options(r),
            providers.get(r.provider or ""),
            None,
            [],
            {},
        )
        for r in resources
    }
    for resource in resources:
        mine = by_urn[resource.urn]
        mine.parent = by_urn.get(resource.parent or "")
        mine.dependencies = [by_urn[d] for d in resource.dependencies if d in by_urn]
        mine.property_dependencies = {
            k: [by_urn[u] for u in urns if u in by_urn] for k, urns in resource.property_dependencies.items()
        }
    policy.validate(StackValidationArgs(list(by_urn.values()), dict(config or {})), report)
    return reported


def at(*path: Any, value: Any) -> Callable[[Resource], None]:
    """A change that sets the input at ``path`` (keys and list positions) to ``value``."""

    def change(resource: Resource) -> None:
        target: Any = resource.inputs
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def drop(*path: Any) -> Callable[[Resource], None]:
    """A change that removes the input at ``path``."""

    def change(resource: Resource) -> None:
        target: Any = resource.inputs
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return change


def mutate(plan: Plan, resource_type: str, change: Callable[[Resource], None], index: int = 0) -> list[Resource]:
    """The plan's resources with one resource of ``resource_type`` changed (a deep copy).

    ``index`` counts only the resources the change applies to: an EKS node template has no
    network interfaces to give a public IP, so it is passed over rather than failing the test.
    """
    resources = copy.deepcopy(plan.resources)
    applicable = 0
    for position, resource in enumerate(resources):
        if resource.type != resource_type:
            continue
        changed = copy.deepcopy(resource)
        try:
            change(changed)
        except (KeyError, IndexError):
            continue
        if applicable == index:
            resources[position] = changed
            return resources
        applicable += 1
    raise LookupError(f"no {resource_type} #{index} the change applies to")
