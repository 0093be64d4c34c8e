"""Shared test machinery: the offline engine, plans of the shipped stacks, config builders.

Mocks are installed per run by courier.engine.record (in a fresh context), never at import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from components.spec import EnvironmentSpec
from components.spec.loading import spec_from_config
from courier.cli import make_plan
from courier.engine import record
from courier.plan import Plan, build_plan
from courier.stackconfig import load_project, load_stack_config

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


@functools.cache
def shipped_spec(stack: str) -> EnvironmentSpec:
    """The validated spec of a shipped stack's config (stacks/Pulumi.<stack>.yaml), as of AS_OF."""
    config, secrets = load_stack_config(load_project(ROOT), stack)
    return spec_from_config(
        {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("courier:")},
        project=PROJECT,
        stack=stack,
        as_of=AS_OF,
        secret_keys=frozenset(k.split(":", 1)[1] for k in secrets if k.startswith("courier:")),
    )


@pytest.fixture
def run_components() -> Callable[..., Plan]:
    """Run a function that declares resources under the recording engine; return its Plan."""

    def run(declare: Callable[[], None], stack: str = "test") -> Plan:
        return build_plan(PROJECT, stack, record(declare, project=PROJECT, stack=stack))

    return run
