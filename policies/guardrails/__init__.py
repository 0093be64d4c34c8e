"""The courier guardrails: every policy of the pack, importable without side effects.

policies/__main__.py hands POLICIES to a PolicyPack (which starts serving); tests and the
offline plan import this module directly or talk to the running pack.
"""

from __future__ import annotations

from pulumi_policy import Policy

from guardrails import (
    capacity,
    compute,
    cost,
    data,
    databases,
    drills,
    enforcement,
    identity,
    kubernetes,
    networking,
    observability,
    replication,
    resilience,
    security,
    tags,
    workloads,
)


def _collect(*modules: object) -> list[Policy]:
    found: list[Policy] = []
    for module in modules:
        found.extend(v for v in vars(module).values() if isinstance(v, Policy))
    return sorted(found, key=lambda p: p.name)


POLICIES: list[Policy] = _collect(
    resilience,
    capacity,
    observability,
    security,
    data,
    replication,
    kubernetes,
    cost,
    tags,
    enforcement,
    compute,
    identity,
    databases,
    workloads,
    networking,
    drills,
)
