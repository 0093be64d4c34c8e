"""``python -m courier``: the offline operator CLI.

    python -m courier plan STACK [--config-file FILE] [--json] [--out DIR] [--at TIME] [--debug]

Exit codes: 0 the plan is good; 1 a mandatory policy failed or an artifact failed
verification; 2 invalid config or a program error (a clear message; a traceback only with
--debug).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rich.console import Console

from components import spec as spec_module
from courier import analyze, artifacts, render
from courier.engine import ProgramError, run_program
from courier.plan import Plan, build_plan
from courier.stackconfig import ConfigFileError, load_project, load_stack_config

EXIT_OK = 0
EXIT_VERIFY = 1
EXIT_INVALID = 2

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"needs a UTC offset, e.g. 2026-12-11T22:00:00+08:00 (got {text!r})")
    return moment


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m courier", description="The offline operator CLI of courier-platform.")
    commands = top.add_subparsers(dest="command", required=True)
    plan = commands.add_parser(
        "plan",
        help="run the Pulumi program offline and show what it would build",
        description="Run the real Pulumi program under the recording mock engine and show the plan.",
    )
    plan.add_argument("stack", help="stack name; reads stacks/Pulumi.STACK.yaml unless --config-file is given")
    plan.add_argument("--config-file", type=Path, help="read the stack's config from this file instead")
    plan.add_argument("--json", action="store_true", help="print the Plan as JSON on stdout")
    plan.add_argument("--out", type=Path, help="write DIR/plan.json (and the artifacts) to this directory")
    plan.add_argument(
        "--at",
        type=_timestamp,
        help="plan as if it were this moment (ISO 8601 with offset); decides which promotions are still ahead",
    )
    plan.add_argument(
        "--policy-config",
        type=Path,
        help="policy pack config (--policy-pack-config format); default: policies/config/STACK.json",
    )
    plan.add_argument(
        "--markdown",
        type=Path,
        metavar="FILE",
        help="append a Markdown summary (fleets, policy verdict, artifacts) to FILE, e.g. $GITHUB_STEP_SUMMARY",
    )
    plan.add_argument("--debug", action="store_true", help="show tracebacks for program errors")
    return top


def make_plan(
    stack: str, config_file: Path | None = None, at: datetime | None = None, root: Path = PROJECT_ROOT
) -> Plan:
    """Load the stack's config, run the program offline and return its Plan.

    Raises ConfigFileError, spec.SpecError or ProgramError for the CLI to report.
    """
    project = load_project(root)
    config, secret_keys = load_stack_config(project, stack, config_file)
    previous = spec_module.set_clock(lambda: at) if at is not None else None
    try:
        recording = run_program(root, project=project.name, stack=stack, config=config, secret_keys=secret_keys)
    finally:
        if previous is not None:
            spec_module.set_clock(previous)
    return build_plan(project.name, stack, recording)


def attach_artifacts(plan: Plan, out_dir: Path | None) -> None:
    """Render the plan's artifacts into ``out_dir`` (a scratch directory when None), verify
    them with the real tools and record the results in the plan."""
    rendered = artifacts.render(plan)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        plan.artifacts = artifacts.write_and_verify(rendered, out_dir)
        return
    with tempfile.TemporaryDirectory(prefix="courier-plan-") as scratch:
        plan.artifacts = artifacts.write_and_verify(rendered, Path(scratch))


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = Console(highlight=False, soft_wrap=False)
    if not out.is_terminal:
        # Piped into a file or a CI log: never cut resource names to 80 columns.
        out = Console(highlight=False, soft_wrap=False, width=200)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    started = time.perf_counter()
    where = args.config_file or Path("stacks") / f"Pulumi.{args.stack}.yaml"
    try:
        plan = make_plan(args.stack, args.config_file, args.at)
    except ConfigFileError as problem:
        err.print(f"[bold red]error:[/] {problem}", markup=True)
        return EXIT_INVALID
    except spec_module.SpecError as invalid:
        err.print(
            f"[bold red]error:[/] stack {args.stack!r} ({where}) has invalid config; nothing was planned:",
            markup=True,
        )
        for problem in invalid.problems:
            err.print(f"  {problem}", markup=False)
        return EXIT_INVALID
    except ProgramError as failure:
        err.print(f"[bold red]error:[/] {failure}", markup=True)
        return EXIT_INVALID
    except Exception as failure:
        if args.debug:
            traceback.print_exc()
        err.print(
            f"[bold red]error:[/] the program failed: {type(failure).__name__}: {failure}"
            + ("" if args.debug else " (run with --debug for the traceback)"),
            markup=True,
        )
        return EXIT_INVALID

    try:
        policy_file = args.policy_config or PROJECT_ROOT / "policies" / "config" / f"{args.stack}.json"
        plan.policies = analyze.analyze(plan, PROJECT_ROOT / "policies", policy_file).to_json()
    except analyze.PolicyError as problem:
        err.print(f"[bold red]error:[/] {problem}", markup=True)
        return EXIT_INVALID
    attach_artifacts(plan, args.out)
    if args.out:
        (args.out / "plan.json").write_text(plan.dumps() + "\n", encoding="utf-8")
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as summary:
            summary.write(render.markdown(plan))
    if args.json:
        sys.stdout.write(plan.dumps() + "\n")
    else:
        render.preview(out, plan, elapsed=time.perf_counter() - started, out_dir=args.out)
    failed = [a for a in plan.artifacts if not a.get("ok")]
    mandatory = [v for v in plan.policies.get("violations", []) if v.get("level") == "mandatory"]
    return EXIT_VERIFY if failed or mandatory else EXIT_OK
