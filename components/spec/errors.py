"""Problems with the stack config, and how pydantic's errors become them (key path, what is
allowed, the value received)."""

from __future__ import annotations

import re
import typing
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pydantic import BaseModel

from components import catalog
from components.spec.fields import (
    ECHO_LIMIT,
    NAMESPACE,
    PROMOTION_NAME_PATTERN,
    SERVICE_NAME_PATTERN,
    clip,
    did_you_mean,
    shown,
)
from components.spec.model import KNOWN_KEYS, _StackConfig

# --------------------------------------------------------------------------------------
# Errors.
# --------------------------------------------------------------------------------------


#: Problems listed before the rest are only counted: a screenful, whatever the config holds.
MAX_LISTED = 30
#: The longest message a problem keeps (long lists of what is allowed fit; a flood does not).
_MESSAGE_LIMIT = 1000
_LONG_WORD = re.compile(rf"\S{{{ECHO_LIMIT + 1},}}")


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    message: str

    def __post_init__(self) -> None:
        # Whoever wrote the message, a bad value is echoed in at most ECHO_LIMIT characters.
        object.__setattr__(self, "path", clip(self.path))
        message = _LONG_WORD.sub(lambda word: clip(word.group()), self.message)
        object.__setattr__(self, "message", clip(message, _MESSAGE_LIMIT))

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecError(pulumi.RunError):
    """Invalid stack config. A RunError, so the Pulumi CLI prints the message, not a traceback."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted({p for p in problems if not isinstance(p, _Repeated)}, key=_problem_order)
        count = len(self.problems)
        lines = "\n".join(self.lines())
        super().__init__(f"invalid stack config ({count} problem{'s' if count != 1 else ''}):\n{lines}")

    def lines(self, limit: int = MAX_LISTED) -> list[str]:
        """One line per problem, at most ``limit``, then how many more there are."""
        shown_lines = [str(p) for p in self.problems[:limit]]
        hidden = len(self.problems) - len(shown_lines)
        return shown_lines + ([f"... and {hidden} more problem{'s' if hidden != 1 else ''}"] if hidden else [])


class _Repeated(Problem):
    """A pydantic error that only repeats others: a list "too short after validation" because
    some of its items were invalid (each of those is reported). SpecError leaves it out."""


def _problem_order(problem: Problem) -> tuple[int, str]:
    key = problem.path.split(":", 1)[-1].split("[", 1)[0].split(".", 1)[0]
    position = KNOWN_KEYS.index(key) if key in KNOWN_KEYS else len(KNOWN_KEYS)
    return (position, problem.path)


# --------------------------------------------------------------------------------------
# Paths: list items by name.
# --------------------------------------------------------------------------------------

#: The lists whose items messages address by name.
NAMED_LISTS: tuple[str, ...] = ("regions", "services", "promotions")
#: The names that may address a service or a promotion (a region's: a region of its cloud).
_NAME_PATTERNS = {
    "services": re.compile(SERVICE_NAME_PATTERN),
    "promotions": re.compile(PROMOTION_NAME_PATTERN),
}


@dataclass(frozen=True)
class Item:
    """An item of a config list as messages address it: ``services[orders]`` by its name, or
    ``services[3]`` by its position when it has no name that tells it apart from the others
    (missing, invalid, or shared with another item)."""

    key: str
    index: int
    #: The item's usable, unique name; None: addressed by its index.
    name: str | None = None

    def __str__(self) -> str:
        return f"{self.key}[{self.index if self.name is None else self.name}]"

    @property
    def path(self) -> str:
        """The item's config path, ``courier:services[orders]``."""
        return f"{NAMESPACE}:{self}"

    def mention(self, name: str) -> str:
        """The item in another item's message: ``services[orders]``, or ``services[3] 'orders'``
        when it is addressed by its index (its name, even a shared one, still helps)."""
        return str(self) if self.name is not None else f"{self} {name!r}"


#: Key -> the items of that list as messages address them (lists without names: absent).
ItemNames = Mapping[str, Sequence[Item]]


def items(key: str, values: Any) -> list[Item]:
    """The items of the list ``key`` as messages address them, from the raw config (mappings)
    or the parsed models alike. A name addresses its item when it is valid for the list (a
    region of its cloud, a well-formed service or promotion name, not only digits, which would
    read as a position) and no other item of the list is called the same."""
    if not isinstance(values, (list, tuple)):
        return []
    values = typing.cast("Sequence[Any]", values)
    written = Counter(name for name in (_attribute(v, "name") for v in values) if isinstance(name, str))
    result = []
    for i, value in enumerate(values):
        name = _usable_name(key, value)
        result.append(Item(key, i, name if name is not None and written[name] == 1 else None))
    return result


def item_names(config: Mapping[str, Any]) -> dict[str, list[Item]]:
    """The named lists' items of a (raw) config, for the paths of every problem in it."""
    return {key: items(key, config.get(key)) for key in NAMED_LISTS}


def _attribute(value: Any, name: str) -> Any:
    if isinstance(value, Mapping):
        return typing.cast("Mapping[str, Any]", value).get(name)
    return getattr(value, name, None) if isinstance(value, BaseModel) else None


def _usable_name(key: str, value: Any) -> str | None:
    name = _attribute(value, "name")
    if not isinstance(name, str) or name.isdigit():
        return None
    if key == "regions":
        cloud = _attribute(value, "cloud")
        cloud = "aws" if cloud is None else cloud
        return name if isinstance(cloud, str) and catalog.region(cloud, name) is not None else None
    pattern = _NAME_PATTERNS.get(key)
    return name if pattern is not None and pattern.fullmatch(name) else None


def _path(loc: tuple[int | str, ...], names: ItemNames | None = None) -> str:
    if not loc:
        return NAMESPACE
    text, rest = f"{NAMESPACE}:{loc[0]}", loc[1:]
    listed = (names or {}).get(str(loc[0]), ())
    if rest and isinstance(rest[0], int) and 0 <= rest[0] < len(listed):
        text, rest = listed[rest[0]].path, rest[1:]
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class that holds the field at ``loc`` (for "did you mean" hints)."""
    model: type[BaseModel] = _StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return None
        inner = _find_model(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def _find_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _find_model(arg)
        if found is not None:
            return found
    return None


def _aliases(model: type[BaseModel]) -> list[str]:
    return [(f.alias or n) for n, f in model.model_fields.items()]


_TYPE_WORDS = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "model_type": "must be a mapping of keys to values",
    "model_attributes_type": "must be a mapping of keys to values",
    "dict_type": "must be a mapping of keys to values",
    "datetime_parsing": "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-11-11T00:00:00+08:00",
    "datetime_type": "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-11-11T00:00:00+08:00",
    "datetime_from_date_parsing": "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-11-11T00:00:00+08:00",
}


def _describe(error: Mapping[str, Any], names: ItemNames | None = None) -> Problem:
    """A pydantic error as a Problem; ``names`` (item_names of the config) addresses list
    items by name."""
    loc = tuple(error["loc"])
    path = _path(loc, names)
    kind = error["type"]
    got = error.get("input")
    if kind == "missing":
        return Problem(path, "is required")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = _aliases(model) if model else []
        return Problem(path, f"unknown key (allowed: {', '.join(allowed)}){did_you_mean(str(loc[-1]), allowed)}")
    if kind == "value_error":
        return Problem(path, str(error["ctx"]["error"]))
    if kind == "literal_error":
        return Problem(path, f"must be one of {error['ctx']['expected']} (got {shown(got)})")
    if kind == "too_short":
        least = error["ctx"]["min_length"]
        if isinstance(got, (list, tuple)) and len(got) >= least:
            return _Repeated(path, "has invalid items")
        return Problem(path, f"must have at least {least} item{'s' if least != 1 else ''}")
    if kind == "string_too_long":
        return Problem(path, f"must be at most {error['ctx']['max_length']} characters")
    words = _TYPE_WORDS.get(kind, str(error["msg"]).lower())
    return Problem(path, f"{words} (got {shown(got)})")
