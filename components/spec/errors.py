"""Problems with the stack config, and how pydantic's errors become them (key path, what is
allowed, the value received)."""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pydantic import BaseModel

from components.spec.fields import ECHO_LIMIT, NAMESPACE, clip, shown
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


def _path(loc: tuple[int | str, ...]) -> str:
    text = f"{NAMESPACE}:{loc[0]}" if loc else NAMESPACE
    for part in loc[1:]:
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


def _describe(error: Mapping[str, Any]) -> Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    got = error.get("input")
    if kind == "missing":
        return Problem(_path(loc), "is required")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = _aliases(model) if model else []
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        suffix = f"; did you mean {hint[0]!r}?" if hint else ""
        return Problem(_path(loc), f"unknown key (allowed: {', '.join(allowed)}){suffix}")
    if kind == "value_error":
        return Problem(_path(loc), str(error["ctx"]["error"]))
    if kind == "literal_error":
        return Problem(_path(loc), f"must be one of {error['ctx']['expected']} (got {shown(got)})")
    if kind == "too_short":
        least = error["ctx"]["min_length"]
        if isinstance(got, (list, tuple)) and len(got) >= least:
            return _Repeated(_path(loc), "has invalid items")
        return Problem(_path(loc), f"must have at least {least} item{'s' if least != 1 else ''}")
    if kind == "string_too_long":
        return Problem(_path(loc), f"must be at most {error['ctx']['max_length']} characters")
    words = _TYPE_WORDS.get(kind, str(error["msg"]).lower())
    return Problem(_path(loc), f"{words} (got {shown(got)})")
