"""The Plan: every resource the program declared, its inputs, parent, provider and region.

Built from what the offline engine recorded; the JSON shape is a contract (DESIGN.md 3).
Policy analysis, renderers and tests all read a Plan, never a second description.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from components.spec import SECRET_PLACEHOLDER
from courier.engine import PROVIDER_PREFIX, ProgramError, Recording, Registration


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    region: str | None
    protect: bool
    dependencies: list[str]
    inputs: dict[str, Any]
    ignore_changes: list[str] = field(default_factory=list)
    retain_on_delete: bool = False
    #: Input property -> the resources whose outputs it was computed from.
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "provider": self.provider,
            "region": self.region,
            "protect": self.protect,
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
            "inputs": self.inputs,
            "options": {"ignoreChanges": self.ignore_changes, "retainOnDelete": self.retain_on_delete},
        }


@dataclass
class Plan:
    project: str
    stack: str
    resources: list[Resource]
    outputs: dict[str, Any] = field(default_factory=dict)
    diagnostics: list[dict[str, str]] = field(default_factory=list)
    policies: dict[str, Any] = field(default_factory=lambda: {"pack": None, "violations": []})
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    #: The moment the plan is made (``--at``, else now): time-based checks read it.
    as_of: datetime | None = None
    #: The verification stage's result (courier.verify): rules, resources checked, findings.
    verification: dict[str, Any] = field(default_factory=lambda: {"rules": 0, "checked": 0, "findings": []})

    # -- queries used by tests, renderers and the CLI ---------------------------------
    def of_type(self, resource_type: str) -> list[Resource]:
        return [r for r in self.resources if r.type == resource_type]

    def by_urn(self, urn: str) -> Resource:
        return self._index()[urn]

    def children(self, urn: str) -> list[Resource]:
        return [r for r in self.resources if r.parent == urn]

    def descendants(self, urn: str) -> Iterator[Resource]:
        for child in self.children(urn):
            yield child
            yield from self.descendants(child.urn)

    def regions(self) -> list[str]:
        return sorted(
            {r.region for r in self.resources if r.region and r.custom and not r.type.startswith(PROVIDER_PREFIX)}
        )

    def _index(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}

    # -- the contract ------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        managed = [r for r in self.resources if r.custom and not r.type.startswith(PROVIDER_PREFIX)]
        return {
            "create": len(self.resources),
            "resources": len(managed),
            "components": sum(1 for r in self.resources if not r.custom),
            "providers": sum(1 for r in self.resources if r.type.startswith(PROVIDER_PREFIX)),
            "byType": dict(sorted(Counter(r.type for r in managed).items())),
            "byRegion": dict(sorted(Counter(r.region or "global" for r in managed).items())),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "asOf": self.as_of.isoformat() if self.as_of else None,
            "resources": [r.to_json() for r in self.resources],
            "outputs": self.outputs,
            "summary": self.summary(),
            "policies": self.policies,
            "artifacts": self.artifacts,
            "verification": self.verification,
            "diagnostics": self.diagnostics,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)


# How the engine marks a secret value on the wire (pulumi.runtime.rpc).
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def tag_value(tags: Any, key: str) -> str | None:
    """A tag's value from a resource's ``tags`` input, as a mapping (``{key: value}``) or as the
    list some types take (``[{key, value}]``); None when absent or not text."""
    if isinstance(tags, Mapping):
        value = tags.get(key)
    elif isinstance(tags, list):
        value = next((t.get("value") for t in tags if isinstance(t, Mapping) and t.get("key") == key), None)
    else:
        value = None
    return value if isinstance(value, str) else None


def integral(value: Any) -> Any:
    """Inputs as a Plan shows them: the engine sends every number as a float (``minSize:
    2.0``), whole ones are written as ints; secrets are shown as ``[secret]``, never their
    value, as ``pulumi preview`` does."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return SECRET_PLACEHOLDER
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral(v) for v in value]
    return value


def build_plan(project: str, stack: str, recording: Recording) -> Plan:
    registrations = recording.registrations
    by_urn = {r.urn: r for r in registrations}
    providers = {f"{r.urn}::{r.id}": r for r in registrations if r.type.startswith(PROVIDER_PREFIX)}

    resources: dict[str, Resource] = {}
    for registration in registrations:
        provider_urn = _provider_urn(registration, providers)
        resources[registration.urn] = Resource(
            urn=registration.urn,
            type=registration.type,
            name=registration.name,
            custom=registration.custom,
            parent=registration.parent or None,
            provider=provider_urn,
            region=None,
            protect=registration.protect,
            dependencies=registration.dependencies,
            inputs=integral(registration.inputs),
            ignore_changes=registration.ignore_changes,
            retain_on_delete=registration.retain_on_delete,
            property_dependencies=registration.property_dependencies,
        )
    for urn in resources:
        resources[urn].region = _region(urn, by_urn, providers, resources)

    ordered = list(_tree_order(resources))
    return Plan(
        project=project,
        stack=stack,
        resources=ordered,
        outputs=integral(recording.outputs),
        diagnostics=recording.diagnostics,
    )


def _provider_urn(registration: Registration, providers: dict[str, Registration]) -> str | None:
    if not registration.custom or registration.type.startswith(PROVIDER_PREFIX):
        return None
    if not registration.provider_ref:
        package = registration.type.split(":", 1)[0]
        raise ProgramError(
            f"{registration.urn} uses the default {package} provider; pass the region's provider "
            "(stacks disable default providers so nothing lands in an ambient region)"
        )
    found = providers.get(registration.provider_ref)
    return found.urn if found else registration.provider_ref.rsplit("::", 1)[0]


def _region(
    urn: str,
    by_urn: dict[str, Registration],
    providers: dict[str, Registration],
    resources: dict[str, Resource],
) -> str | None:
    """The region a resource lands in: its own ``region`` input, else its provider's (for a
    component, the provider it hands its children), else its parent's."""
    registration = by_urn[urn]
    own = registration.inputs.get("region")
    if isinstance(own, str) and own:
        return own
    refs = [registration.provider_ref] if registration.provider_ref else []
    refs += list(registration.providers.values())
    for ref in refs:
        provider = providers.get(ref)
        if provider is None:
            continue
        if isinstance(provider.inputs.get("region"), str):
            return str(provider.inputs["region"])
        # A provider without a region (Kubernetes) serves the region it was made in.
        if provider.parent and provider.parent in by_urn:
            return _region(provider.parent, by_urn, providers, resources)
    inherits = not registration.custom or registration.type.startswith(PROVIDER_PREFIX)
    if registration.parent and registration.parent in by_urn and inherits:
        return _region(registration.parent, by_urn, providers, resources)
    return None


def _tree_order(resources: dict[str, Resource]) -> Iterator[Resource]:
    """Depth first from the stack, siblings by name: stable from run to run."""
    children: dict[str | None, list[Resource]] = {}
    for resource in resources.values():
        parent = resource.parent if resource.parent in resources else None
        children.setdefault(parent, []).append(resource)
    for siblings in children.values():
        siblings.sort(key=lambda r: (r.type.startswith(PROVIDER_PREFIX) is False, r.name, r.type))

    def walk(parent: str | None) -> Iterator[Resource]:
        for resource in children.get(parent, []):
            yield resource
            yield from walk(resource.urn)

    yield from walk(None)
