"""The guardrails judge time-dependent rules (promotions under way, scheduling horizons) at
the plan's moment; the shipped plans are made as of tests.conftest.AS_OF, so the in-process
policies are too (the offline CLI passes --at to the pack the same way)."""

from __future__ import annotations

import pytest

from tests.conftest import AS_OF


@pytest.fixture(autouse=True)
def plan_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURIER_PLAN_TIME", AS_OF.isoformat())
