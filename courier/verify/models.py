"""Every AWS input against AWS's own API models (botocore's service-2.json files).

botocore ships the models the AWS SDKs are generated from: for each operation's input, every
member's type and its constraints (enum, min/max for numbers, min/max length for strings and
lists, pattern). Each resource type is mapped (catalogue.CREATE_CALLS) to the create call its
provider makes; each Pulumi input is matched to a member by normalised name (case-insensitive,
no underscores), recursing into structures, lists and maps, with per-type aliases where the
names differ. Values the mock engine invents (outputs of other resources), secrets and tags
(checked by labels.py) are not judged here. Models are loaded once per process.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from components.spec import SECRET_PLACEHOLDER
from courier.plan import Resource
from courier.verify.catalogue import CREATE_CALLS, TAG_PROPERTIES, CheckedByRule, CreateCall, Documented
from courier.verify.findings import Context, Issue

NUMERIC = frozenset({"integer", "long", "float", "double"})
_CONSTRAINTS = frozenset({"enum", "min", "max", "pattern"})


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(service: str) -> ServiceModel:
    return _session().get_service_model(service)


@cache
def operation(service: str, name: str) -> OperationModel:
    return service_model(service).operation_model(name)


# botocore's shapes expose members and metadata through an untyped CachedProperty: these
# accessors give them the types they have.
def metadata(shape: Shape) -> Mapping[str, Any]:
    return cast("Mapping[str, Any]", shape.metadata)


def members(shape: StructureShape) -> Mapping[str, Shape]:
    return cast("Mapping[str, Shape]", shape.members)


def element(shape: ListShape) -> Shape:
    return cast(Shape, shape.member)


def input_shape(op: OperationModel) -> Shape:
    return cast(Shape, op.input_shape)


def normalise(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


@cache
def _normalised_names(shape: StructureShape) -> dict[str, str]:
    return {normalise(name): name for name in members(shape)}


_SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)


@cache
def compiled(pattern: str) -> re.Pattern[str] | None:
    """A model pattern as a Python regex, or None when Python cannot express it.

    The models write astral code points as Java-style surrogate pairs (``\\uD800\\uDC00``),
    which Python's ``re`` rejects as a bad range: they become ``\\U00010000``. Callers match
    the whole value: AWS's services validate the whole member ("Member must satisfy regular
    expression pattern"), and the models' patterns are written for that (``[\\w+=,.@-]+``).
    """

    def astral(match: re.Match[str]) -> str:
        high, low = int(match.group(1), 16), int(match.group(2), 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"

    try:
        return re.compile(_SURROGATE_PAIR.sub(astral, pattern))
    except re.error:
        return None


def resolve(call: CreateCall, target: str) -> tuple[OperationModel, Shape | None, str]:
    """The operation, shape and member path an alias target names: ``Member.Sub`` in the
    type's own call, or ``service:Operation:Member.Sub`` in another call."""
    service, name, path = call.service, call.operation, target
    if target.count(":") == 2:
        service, name, path = target.split(":")
    op = operation(service, name)
    shape: Shape | None = input_shape(op)
    for part in [p for p in path.split(".") if p]:
        shape = _unwrap_lists(shape)
        if not isinstance(shape, StructureShape) or part not in members(shape):
            raise KeyError(f"{service}:{name} has no member {path!r}")
        shape = members(shape)[part]
    return op, shape, path


def _unwrap_lists(shape: Shape | None) -> Shape | None:
    while isinstance(shape, ListShape):
        shape = element(shape)
    return shape


@dataclass
class Coverage:
    inputs: int = 0
    checked: int = 0
    #: Of the checked inputs, those whose member carries a constraint (enum, range, length, pattern).
    constrained: int = 0
    provider_only: int = 0
    unmapped: int = 0
    unmapped_paths: set[str] = field(default_factory=set)
    #: Inputs the model walk cannot match by name that a rule of their own reshapes into the
    #: request and checks (catalogue.CheckedByRule: a FIS template's actions and targets, by
    #: courier/verify/fis.py). Not in ``checked``: inputs = checked + checkedByRule +
    #: providerOnly + unmapped.
    by_rule: int = 0

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "inputs": self.inputs,
            "checked": self.checked,
            "constrained": self.constrained,
            "providerOnly": self.provider_only,
            "unmapped": self.unmapped,
            "unmappedPaths": sorted(self.unmapped_paths),
        }
        if self.by_rule:
            # Only the types a rule of their own checks carry it (the totals always do).
            document["checkedByRule"] = self.by_rule
        return document


class _Walk:
    """Walks one resource's inputs against its create call."""

    def __init__(self, resource: Resource, call: CreateCall, coverage: Coverage) -> None:
        self.resource = resource
        self.call = call
        self.coverage = coverage
        self.issues: list[Issue] = []
        self.op, self.root, _ = resolve(call, call.root)
        #: Inputs computed from other resources' outputs: the mock engine invents their values.
        self.computed = {k for k, deps in resource.property_dependencies.items() if deps}

    def run(self) -> list[Issue]:
        for key, value in self.resource.inputs.items():
            self.visit(key, key, value, self.op, self.root, computed=key in self.computed)
        return self.issues

    def visit(
        self, path: str, shown: str, value: Any, op: OperationModel, parent: Shape | None, *, computed: bool
    ) -> None:
        """``path`` is the alias key (no list indices), ``shown`` the path a finding names."""
        if path.rsplit(".", 1)[-1] in TAG_PROPERTIES:
            return
        target = self.call.aliases.get(path, _UNSET)
        if target is _UNSET:
            shape = _member_of(parent, path.rsplit(".", 1)[-1])
            member_op = op
            if shape is None and self._aliased_below(path):
                # A Pulumi grouping the API does not have (failoverRoutingPolicies: [{type}]):
                # its children are aliased to members of the same parent.
                shape = parent
        elif target is None or isinstance(target, Documented):
            self._documented(shown, value, target, computed=computed)
            return
        elif isinstance(target, CheckedByRule):
            self._by_rule(path, value, target)
            return
        else:
            assert isinstance(target, str)
            member_op, shape, _ = resolve(self.call, target)
        self.descend(path, shown, value, member_op, shape, computed=computed)

    def _aliased_below(self, path: str) -> bool:
        prefix = f"{path}."
        return any(key.startswith(prefix) for key in self.call.aliases)

    def descend(
        self, path: str, shown: str, value: Any, op: OperationModel, shape: Shape | None, *, computed: bool
    ) -> None:
        if shape is None:
            self._unmapped(path, value)
            return
        if isinstance(value, Mapping):
            pair = _name_value(shape)
            if pair is not None:
                # A map in Pulumi, a list of {Name, Value} in the API (alarm dimensions).
                assert isinstance(shape, ListShape)
                self._count_check(shown, value, shape, op)
                key_shape, value_shape = pair
                for key, item in value.items():
                    self.leaf(f"{shown}[{key!r}]", key, key_shape, op, computed=computed)
                    self.descend(path, f"{shown}.{key}", item, op, value_shape, computed=computed)
                return
            if isinstance(shape, ListShape) and isinstance(element(shape), StructureShape):
                # The provider flattens a one-element list (MaxItems 1) into an object.
                shape = element(shape)
            if isinstance(shape, StructureShape):
                for key, item in value.items():
                    self.visit(f"{path}.{key}", f"{shown}.{key}", item, op, shape, computed=computed)
                return
            if isinstance(shape, MapShape):
                self._count_check(shown, value, shape, op)
                for key, item in value.items():
                    self.leaf(f"{shown}[{key!r}]", key, cast(Shape, shape.key), op, computed=computed)
                    self.descend(path, f"{shown}.{key}", item, op, cast(Shape, shape.value), computed=computed)
                return
            self._unmapped(path, value)
            return
        if isinstance(value, list):
            if isinstance(shape, ListShape):
                self._count_check(shown, value, shape, op)
                for index, item in enumerate(value):
                    self.descend(path, f"{shown}[{index}]", item, op, element(shape), computed=computed)
                return
            if isinstance(shape, StructureShape):
                for index, item in enumerate(value):
                    self.descend(path, f"{shown}[{index}]", item, op, shape, computed=computed)
                return
            # A list of scalars against one scalar member (records -> ResourceRecords.Value).
            for index, item in enumerate(value):
                self.descend(path, f"{shown}[{index}]", item, op, shape, computed=computed)
            return
        if isinstance(shape, ListShape) and not isinstance(element(shape), (StructureShape, ListShape, MapShape)):
            # One value where the API takes a list: the provider sends a list of one.
            shape = element(shape)
        self.coverage.inputs += 1
        if isinstance(shape, (StructureShape, ListShape, MapShape)):
            self.coverage.unmapped += 1
            self.coverage.unmapped_paths.add(path)
            return
        self.coverage.checked += 1
        if _CONSTRAINTS & metadata(shape).keys():
            self.coverage.constrained += 1
        self.leaf(shown, value, shape, op, computed=computed)

    def leaf(self, shown: str, value: Any, shape: Shape, op: OperationModel, *, computed: bool) -> None:
        if value == SECRET_PLACEHOLDER or value is None:
            return
        where = f"{op.service_model.service_name} {op.name} ({shape.name})"
        source = f"botocore {op.service_model.service_name}/{op.service_model.api_version} service-2.json: {op.name}"
        limits = metadata(shape)
        if shape.type_name == "string":
            if computed:
                # Names, IDs and ARNs of other resources: the mock engine invents them.
                return
            text = str(value).lower() if isinstance(value, bool) else str(value)
            allowed = limits.get("enum")
            if allowed and text.lower() not in {a.lower() for a in allowed}:
                # Case-insensitive: the provider validates most enums case-insensitively and
                # normalises the case before the call.
                self._issue(shown, f"{text!r} is not one of {_sample(allowed)} ({where})", source)
            self._bounds(shown, len(text), limits, where, source, unit=" characters")
            pattern = limits.get("pattern")
            regex = compiled(pattern) if pattern else None
            if regex is not None and not regex.fullmatch(text):
                self._issue(shown, f"{_short(text)!r} does not match {pattern!r} ({where})", source)
        elif shape.type_name in NUMERIC:
            number = _number(value)
            if number is not None:
                self._bounds(shown, number, limits, where, source)

    def _bounds(
        self, shown: str, measured: float, metadata: Mapping[str, Any], where: str, source: str, unit: str = ""
    ) -> None:
        low, high = metadata.get("min"), metadata.get("max")
        if low is not None and measured < low:
            self._issue(shown, f"{_fmt(measured)}{unit} is below the minimum {low}{unit} ({where})", source)
        if high is not None and measured > high:
            self._issue(shown, f"{_fmt(measured)}{unit} is above the maximum {high}{unit} ({where})", source)

    def _count_check(self, shown: str, value: Any, shape: Shape, op: OperationModel) -> None:
        if not value:
            # An empty list or map is not sent at all (terraform-plugin-sdk's GetOk reports it
            # unset), so the member's minimum count never applies to it: a secret of a one-region
            # stack has `replicas: []` and no AddReplicaRegions.
            return
        source = f"botocore {op.service_model.service_name}/{op.service_model.api_version} service-2.json: {op.name}"
        where = f"{op.service_model.service_name} {op.name} ({shape.name})"
        self._bounds(shown, len(value), metadata(shape), where, source, unit=" items")

    def _documented(self, shown: str, value: Any, target: Documented | None, *, computed: bool) -> None:
        for _ in _scalars(value):
            self.coverage.inputs += 1
            if target is None:
                self.coverage.provider_only += 1
            else:
                self.coverage.checked += 1
                self.coverage.constrained += 1
        if target is None or computed or value == SECRET_PLACEHOLDER:
            return
        for item in value if isinstance(value, list) else [value]:
            problem = target.problem(item)
            if problem:
                self._issue(shown, problem, target.source)

    def _by_rule(self, path: str, value: Any, target: CheckedByRule) -> None:
        """Its own rule checks the input (its findings are that rule's): the leaves the rule
        carries into the request count as checked by it, any other as unmapped."""
        for leaf in _leaf_paths(value):
            self.coverage.inputs += 1
            if target.covers(leaf):
                self.coverage.by_rule += 1
            else:
                self.coverage.unmapped += 1
                self.coverage.unmapped_paths.add(f"{path}.{leaf}")

    def _unmapped(self, path: str, value: Any) -> None:
        for _ in _scalars(value):
            self.coverage.inputs += 1
            self.coverage.unmapped += 1
        self.coverage.unmapped_paths.add(path)

    def _issue(self, shown: str, message: str, source: str) -> None:
        self.issues.append(Issue(self.resource.urn, shown, message, source))


_UNSET: Any = object()


def _member_of(parent: Shape | None, key: str) -> Shape | None:
    parent = _unwrap_lists(parent)
    if not isinstance(parent, StructureShape):
        return None
    names = _normalised_names(parent)
    for candidate in (key, key.removesuffix("s"), f"{key}s"):
        name = names.get(normalise(candidate))
        if name is not None:
            return members(parent)[name]
    return None


def _name_value(shape: Shape) -> tuple[Shape, Shape] | None:
    """The key and value members of a list of ``{Name|Key, Value}`` structures."""
    if not isinstance(shape, ListShape) or not isinstance(element(shape), StructureShape):
        return None
    fields = members(cast(StructureShape, element(shape)))
    key = fields.get("Name") or fields.get("Key")
    if key is None or "Value" not in fields or len(fields) > 3:
        return None
    return key, fields["Value"]


def _scalars(value: Any) -> Iterator[Any]:
    """The leaves of an input: a list of scalars counts once, as one input."""
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _scalars(item)
    elif isinstance(value, list) and any(isinstance(v, (Mapping, list)) for v in value):
        for item in value:
            yield from _scalars(item)
    else:
        yield value


def _leaf_paths(value: Any, path: str = "") -> Iterator[str]:
    """The paths below ``value`` of the leaves _scalars yields, one per leaf (dots, no indices)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaf_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list) and any(isinstance(v, (Mapping, list)) for v in value):
        for item in value:
            yield from _leaf_paths(item, path)
    else:
        yield path


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(str(value))
    except ValueError:
        return None


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _sample(values: list[str]) -> str:
    shown = ", ".join(values[:8])
    return shown + (f", … ({len(values)} values)" if len(values) > 8 else "")


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def check(context: Context, coverage: dict[str, Coverage]) -> Iterator[Issue]:
    """Every input of every mapped AWS resource against its create call's model."""
    for resource in context.managed:
        call: CreateCall | None = CREATE_CALLS.get(resource.type)
        if call is None:
            if resource.type.startswith("aws:"):
                entry = coverage.setdefault(resource.type, Coverage())
                _count_unmapped(resource, entry)
            continue
        entry = coverage.setdefault(resource.type, Coverage())
        yield from _Walk(resource, call, entry).run()


def _count_unmapped(resource: Resource, entry: Coverage) -> None:
    for key, value in resource.inputs.items():
        if key in TAG_PROPERTIES:
            continue
        for _ in _scalars(value):
            entry.inputs += 1
            entry.unmapped += 1
            entry.unmapped_paths.add(key)


def aliases_resolve() -> list[str]:
    """Alias targets that name no model member (a test keeps this empty)."""
    broken = []
    for token, call in CREATE_CALLS.items():
        try:
            resolve(call, call.root)
        except KeyError as problem:
            broken.append(f"{token}: {problem}")
        for key, target in call.aliases.items():
            if isinstance(target, str):
                try:
                    resolve(call, target)
                except KeyError as problem:
                    broken.append(f"{token} {key}: {problem}")
    return broken
