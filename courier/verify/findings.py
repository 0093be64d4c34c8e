"""What the verification stage reports: findings, the rules that produce them, the report.

Pure data: no I/O. A rule is a function from a :class:`Context` to :class:`Issue` values; the
stage wraps each issue into a :class:`Finding` that names the rule and its source, so a
finding always says where the rule it breaks is written down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from courier.engine import PROVIDER_PREFIX
from courier.plan import Plan, Resource


@dataclass(frozen=True)
class Finding:
    rule: str
    urn: str
    property: str
    message: str
    source: str

    def to_json(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "urn": self.urn,
            "property": self.property,
            "message": self.message,
            "source": self.source,
        }


@dataclass(frozen=True)
class Issue:
    """One broken rule on one resource; ``source`` overrides the rule's own (the model check
    cites the exact service model member)."""

    urn: str
    property: str
    message: str
    source: str | None = None


@dataclass
class Context:
    """What every rule reads: the plan and the moment it was made (time-based rules)."""

    plan: Plan
    as_of: datetime
    #: The shellcheck binary, or None when it is not installed (a finding, not a pass).
    shellcheck: str | None = None

    @cached_property
    def managed(self) -> list[Resource]:
        return [r for r in self.plan.resources if r.custom and not r.type.startswith(PROVIDER_PREFIX)]

    @cached_property
    def _by_type(self) -> dict[str, list[Resource]]:
        index: dict[str, list[Resource]] = {}
        for resource in self.managed:
            index.setdefault(resource.type, []).append(resource)
        return index

    def of_type(self, *tokens: str) -> list[Resource]:
        return [r for token in tokens for r in self._by_type.get(token, [])]


@dataclass(frozen=True)
class Rule:
    name: str
    source: str
    check: Callable[[Context], Iterable[Issue]]

    def run(self, context: Context) -> Iterator[Finding]:
        for issue in self.check(context):
            yield Finding(self.name, issue.urn, issue.property, issue.message, issue.source or self.source)


@dataclass
class Verification:
    """The stage's result, as the Plan JSON carries it under ``verification``."""

    rules: int
    checked: int
    findings: list[Finding] = field(default_factory=list)
    #: Per AWS resource type: how many input values the service models checked, how many a
    #: rule of their own checks (``checkedByRule``: FIS actions and targets, courier/verify/
    #: fis.py), how many are provider-only settings (no API member) and how many are not
    #: mapped to any member.
    coverage: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        totals = {
            key: sum(entry.get(key, 0) for entry in self.coverage.values())
            for key in ("inputs", "checked", "constrained", "checkedByRule", "providerOnly", "unmapped")
        }
        return {
            "rules": self.rules,
            "checked": self.checked,
            "findings": [f.to_json() for f in self.findings],
            "coverage": {**totals, "byType": self.coverage},
        }
