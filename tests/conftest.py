"""Shared test machinery: the offline engine, plans of the shipped stacks, config builders.

Mocks are installed per run by courier.engine.record (in a fresh context), never at import.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from courier.cli import make_plan
from courier.engine import record
from courier.plan import Plan, build_plan

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_STACKS = ("dev", "staging", "prod")
PROJECT = "courier-platform"

#: Plans of the shipped stacks are made "as of" this moment, so which promotions count as
#: upcoming does not change as the calendar moves on.
AS_OF = datetime(2026, 11, 25, tzinfo=UTC)


class StackPlans:
    """Plans of the shipped stacks, each made once per test session (a prod plan takes seconds)."""

    def __init__(self) -> None:
        self._plans: dict[str, Plan] = {}

    def __getitem__(self, stack: str) -> Plan:
        if stack not in self._plans:
            self._plans[stack] = make_plan(stack, at=AS_OF)
        return self._plans[stack]


@pytest.fixture(scope="session")
def stack_plans() -> StackPlans:
    return StackPlans()


@pytest.fixture
def run_components() -> Callable[..., Plan]:
    """Run a function that declares resources under the recording engine; return its Plan."""

    def run(declare: Callable[[], None], stack: str = "test") -> Plan:
        return build_plan(PROJECT, stack, record(declare, project=PROJECT, stack=stack))

    return run
