"""Lookups shared by the family modules (compute, storage, identity, workloads, databases,
networking): following a resource to the resources it was declared from or that were declared
from it, provider flags written as booleans or as strings, and IAM-style policy documents.

Relationships are followed through property dependencies (known during preview), never by
comparing computed IDs; a literal value is compared with the target's literal inputs only
when no dependency was recorded. Nothing here has a side effect at import.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pulumi_policy import PolicyResource, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from guardrails.common import get, of_type

T = TypeVar("T")


def as_list(value: Any) -> list[Any]:
    """A value that may be one item or a list of them (IAM's Action, Resource, Principal)."""
    if value is None:
        return []
    # The policy SDK hands lists over as read-only Sequence proxies, not lists.
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return [value]


def flag(value: Any, default: bool) -> bool:
    """A provider flag: ``True``/``False`` or, in launch templates, ``"true"``/``"false"``;
    unset (None) means ``default``."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def declared_from(resource: PolicyResource, keys: Iterable[str], *types: str) -> list[PolicyResource]:
    """The resources of ``types`` that ``resource``'s inputs ``keys`` were declared from."""
    found: dict[str, PolicyResource] = {}
    for key in keys:
        for dep in resource.property_dependencies.get(key, []):
            if dep.resource_type in types:
                found.setdefault(dep.urn, dep)
    return list(found.values())


def declared_by(
    target: PolicyResource, keys: Iterable[str], args: StackValidationArgs, *types: str
) -> list[PolicyResource]:
    """The resources of ``types`` whose inputs ``keys`` were declared from ``target``."""
    wanted = set(keys)
    return [
        r
        for r in of_type(args, *types)
        if any(d.urn == target.urn for key, deps in r.property_dependencies.items() if key in wanted for d in deps)
    ]


def literal_in(value: Any, target: PolicyResource, *names: str) -> bool:
    """Whether a literal ``value`` (or a nested value of it) equals one of ``target``'s literal
    ``names`` inputs: a reference written as a name rather than as another resource's output."""
    wanted = [get(target.props, n) for n in names]
    wanted = [w for w in wanted if isinstance(w, str) and w]
    if not wanted:
        return False

    def walk(node: Any) -> bool:
        if isinstance(node, str):
            return node in wanted
        if isinstance(node, Mapping):
            return any(walk(v) for v in node.values())
        if isinstance(node, Sequence) and not isinstance(node, bytes):
            return any(walk(v) for v in node)
        return False

    return walk(value)


# -- IAM-style policy documents (AWS IAM, S3 bucket policies, Alibaba Cloud RAM) -----------------


def known(read: Callable[[], T]) -> T | Unknown:
    """``read()``, or UNKNOWN when it reads a value that is unknown during preview.

    Policy documents are nearly always built from other resources' outputs (ARNs, IDs), so
    during `pulumi preview` the whole JSON text is unknown. Reporting that as a violation would
    fail every real preview of a mandatory stack, and reading it as "no grant" would pass
    anything. A document is therefore judged when it is known: the engine runs the pack again
    during `pulumi up`, on each resource's resolved inputs, before the provider creates or
    updates it, and a mandatory violation stops the update there. The offline plan always knows
    the documents."""
    try:
        return read()
    except UnknownValueError:
        return UNKNOWN


class Unknown:
    """A value that is unknown during preview (see ``known``)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()


def statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of a policy document, given as JSON text or as an object.

    Raises ValueError when the text is not a JSON object: a document a guardrail cannot read
    is reported, never passed."""
    if document is None or document == "":
        return []
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as error:
            raise ValueError(f"the policy document is not JSON ({error.msg})") from error
    if not isinstance(document, Mapping):
        raise ValueError("the policy document is not a JSON object")
    found = document.get("Statement", [])
    return [s for s in as_list(found) if isinstance(s, Mapping)]


def allows(statement: Mapping[str, Any]) -> bool:
    return str(statement.get("Effect", "")).lower() == "allow"


def every_action(pattern: Any) -> bool:
    """Whether an action pattern matches every action of every service: ``*``, ``*:*``, ``**``.
    (``iam:*`` is every action of one service; ``*:Get*`` a verb across services.)"""
    text = str(pattern).strip()
    return bool(text) and set(text) <= {"*", ":"} and text.count(":") <= 1


def names_of(values: Sequence[Any]) -> str:
    return ", ".join(str(v) for v in values)
