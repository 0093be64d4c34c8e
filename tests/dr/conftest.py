"""One dr run of prod (lose the primary, rebuild it in Jakarta), shared by the dr tests: the
plan before is the session's prod plan, so the run costs one more plan and one pack run."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from courier import cli
from courier.dr import command
from courier.plan import Plan
from tests.conftest import AS_OF, ROOT, StackPlans


@dataclass
class DrRun:
    code: int
    document: dict[str, Any]
    out_dir: Path
    before: Plan
    after: Plan
    text: str


def dr_args(out: Path | None = None, **extra: Any) -> argparse.Namespace:
    values = {
        "stack": "prod",
        "lose": "ap-southeast-1",
        "rebuild_in": "ap-southeast-3",
        "config_file": None,
        "at": AS_OF,
        "json": True,
        "out": out,
        "markdown": None,
        "debug": False,
    }
    values.update(extra)
    return argparse.Namespace(**values)


@pytest.fixture(scope="session")
def prod_dr(stack_plans: StackPlans, tmp_path_factory: pytest.TempPathFactory) -> DrRun:
    out_dir = tmp_path_factory.mktemp("dr")
    plans: dict[str, Plan] = {}

    def plan_for(stack: str, config_file: Path | None, at: Any) -> Plan:
        if config_file is None:
            return stack_plans[stack]
        plans["after"] = cli.make_plan(stack, config_file, at)
        return plans["after"]

    stdout = Console(record=True, width=200)
    stderr = Console(stderr=True)
    import io
    import sys

    captured = io.StringIO()
    real = sys.stdout
    sys.stdout = captured
    try:
        code = command.run(
            dr_args(out_dir),
            plan_for,
            lambda plan: cli.judge(plan, stderr, AS_OF),
            stdout,
            stderr,
            ROOT,
        )
    finally:
        sys.stdout = real
    return DrRun(
        code, json.loads(captured.getvalue()), out_dir, stack_plans["prod"], plans["after"], captured.getvalue()
    )
