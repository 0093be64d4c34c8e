"""``python -m courier``: the offline operator CLI.

    python -m courier plan STACK [--config-file FILE] [--json] [--out DIR] [--at TIME] [--debug]
                                 [--compare BASE [--allow-protected-deletes]]   (courier/compare.py)
    python -m courier storm STACK [--scenario NAME ...] [--at TIME] [--json] [--out DIR] [--markdown FILE]
                                  [--sweep KEY=FROM:TO:STEP]   (courier/storm/command.py)
    python -m courier drill STACK [--at TIME] [--all] [--region REGION] [--drill KEY|KIND] [--json]
                                  (courier/drill/command.py)

Exit codes: 0 the plan is good; 1 a mandatory policy failed, an artifact failed
verification or (with --compare) a protected resource would be deleted; 2 invalid config,
a bad BASE or a program error (a clear message; a traceback only with --debug).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from components import spec as spec_module
from courier import analyze, artifacts, compare, coverage, render, verify
from courier import summary as summary_view
from courier.dr import command as dr_command
from courier.drill import command as drill_command
from courier.engine import ProgramError, run_program
from courier.plan import Plan, build_plan
from courier.stackconfig import ConfigFileError, load_project, load_stack_config
from courier.storm import command as storm_command

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
        help="policy pack config (--policy-pack-config format); default: policies/config/ENVIRONMENT.json, "
        "ENVIRONMENT being the stack's courier:environment (not its name)",
    )
    plan.add_argument(
        "--markdown",
        type=Path,
        metavar="FILE",
        help="append a Markdown summary (fleets, policy verdict, artifacts) to FILE, e.g. $GITHUB_STEP_SUMMARY",
    )
    plan.add_argument(
        "--compare",
        metavar="BASE",
        help="show what changes against BASE: a Plan JSON (plan --out DIR writes DIR/plan.json) or a git ref, "
        "planned in a temporary worktree; a protected resource deleted or replaced fails the plan",
    )
    plan.add_argument(
        "--allow-protected-deletes",
        action="store_true",
        help="with --compare: do not fail when protected resources would be deleted or replaced",
    )
    plan.add_argument(
        "--tree",
        action="store_true",
        help="show every resource (the tree, like pulumi preview), the full fleet table and every diagnostic",
    )
    plan.add_argument("--debug", action="store_true", help="show tracebacks for program errors")
    storm_command.add_parser(commands, _timestamp)
    dr_command.add_parser(commands, _timestamp)
    drill_command.add_parser(commands, _timestamp)
    return top


def judge(plan: Plan, err: Console, at: datetime | None = None) -> tuple[bool, str]:
    """The pack (with the plan's environment's config) and the verification over ``plan``:
    (no mandatory violation and no finding, a one-line verdict)."""
    policy_file = policy_config_file(plan, None, err)
    plan.policies = analyze.analyze(plan, PROJECT_ROOT / "policies", policy_file, plan_time=at).to_json()
    plan.verification = verify.verify(plan).to_json()
    violations = plan.policies.get("violations", [])
    mandatory = [v for v in violations if v.get("level") == "mandatory"]
    findings = plan.verification["findings"]
    pack = plan.policies.get("pack", "the pack")
    verdict = f"{pack}: {len(mandatory)} mandatory and {len(violations) - len(mandatory)} advisory violations"
    verdict += f"; verification: {len(findings)} findings"
    for violation in mandatory[:5]:
        verdict += f"\n    {violation.get('policy')}: {violation.get('message')}"
    return not mandatory and not findings, verdict


def make_plan(
    stack: str,
    config_file: Path | None = None,
    at: datetime | None = None,
    root: Path = PROJECT_ROOT,
    adjust: Callable[[dict[str, str]], dict[str, str]] | None = None,
) -> Plan:
    """Load the stack's config (changed by ``adjust``, for a sweep), run the program offline
    and return its Plan.

    Raises ConfigFileError, spec.SpecError or ProgramError for the CLI to report.
    """
    project = load_project(root)
    config, secret_keys = load_stack_config(project, stack, config_file)
    if adjust is not None:
        config = adjust(config)
    previous = spec_module.set_clock(lambda: at) if at is not None else None
    try:
        recording = run_program(root, project=project.name, stack=stack, config=config, secret_keys=secret_keys)
    finally:
        if previous is not None:
            spec_module.set_clock(previous)
    plan = build_plan(project.name, stack, recording)
    plan.as_of = at or datetime.now(UTC)
    return plan


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


POLICY_CONFIGS = PROJECT_ROOT / "policies" / "config"


def policy_config_file(plan: Plan, override: Path | None, err: Console, configs: Path = POLICY_CONFIGS) -> Path | None:
    """The policy config the pack runs with: ``override`` (--policy-config) when given, else
    ``configs/<environment>.json`` for the environment the program exports
    (``courier:environment``). Never the stack's name: a prod environment planned under any
    stack name is enforced as prod. None when the environment has no file, which is said on
    ``err`` (the pack then runs at its built-in levels). Raises PolicyError for an override
    that does not exist, rather than running the defaults under its name."""
    if override is not None:
        if not override.is_file():
            raise analyze.PolicyError(f"{override}: no such policy config file")
        return override
    environment = plan.outputs.get("environment")
    if not isinstance(environment, str) or not environment:
        raise analyze.PolicyError("the program exports no `environment`: cannot choose its policy config")
    chosen = configs / f"{environment}.json"
    if chosen.is_file():
        return chosen
    shown = chosen.relative_to(PROJECT_ROOT) if chosen.is_relative_to(PROJECT_ROOT) else chosen
    err.print(
        f"note: no policy config for environment {environment!r} ({shown}): the pack runs at its "
        "built-in levels and thresholds (advisory by default)",
        markup=False,
    )
    return None


def _unwritable_outputs(args: argparse.Namespace) -> list[str]:
    """What is wrong with --out and --markdown, checked before anything is planned (a plan
    takes seconds; a path that cannot be written should not cost them)."""
    problems = []
    if args.out is not None:
        problem = _directory_problem(args.out)
        if problem:
            problems.append(f"--out {args.out}: {problem}")
    if args.markdown is not None:
        problem = _file_problem(args.markdown)
        if problem:
            problems.append(f"--markdown {args.markdown}: {problem}")
    return problems


def _directory_problem(path: Path) -> str | None:
    """Why ``path`` cannot be (made) a directory to write into, or None. Tried for real (make
    it, write a probe file, remove the probe): permission bits say nothing for root, nor for
    /proc-like file systems."""
    if path.exists() and not path.is_dir():
        return "is a file, not a directory (--out writes plan.json and the artifacts into a directory)"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".courier-write-probe"
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as error:
        return f"cannot be written: {error.strerror or error}"
    return None


def _file_problem(path: Path) -> str | None:
    """Why the summary cannot be appended to ``path``, or None (tried for real, as above; a
    file the probe created is removed again)."""
    if path.is_dir():
        return "is a directory; give the file to append the Markdown summary to"
    if not path.parent.exists():
        return f"is in a directory that does not exist ({path.parent})"
    if not path.parent.is_dir():
        return f"is under {path.parent}, which is a file, not a directory"
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as error:
        return f"cannot be written: {error.strerror or error}"
    if not existed:
        path.unlink(missing_ok=True)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = Console(highlight=False, soft_wrap=False)
    if not out.is_terminal:
        # Piped into a file or a CI log: never cut resource names to 80 columns.
        out = Console(highlight=False, soft_wrap=False, width=200)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    unwritable = _unwritable_outputs(args)
    if unwritable:
        for problem in unwritable:
            err.print(f"[bold red]error:[/] {escape(problem)}", markup=True, emoji=False)
        err.print("nothing was planned", markup=False)
        return EXIT_INVALID
    started = time.perf_counter()
    where = args.config_file or Path("stacks") / f"Pulumi.{args.stack}.yaml"
    base = None
    if args.command == "plan" and args.compare is not None:
        # The base first (a bad one costs no plan), both plans at the same moment.
        args.at = args.at or datetime.now(UTC)
        try:
            base = compare.load_base(args.compare, args.stack, args.config_file, args.at, PROJECT_ROOT)
        except compare.BaseError as problem:
            err.print(f"[bold red]error:[/] {escape(str(problem))}", markup=True, emoji=False)
            return EXIT_INVALID
    try:
        if args.command == "storm":
            return storm_command.run(args, make_plan, out, err)
        if args.command == "drill":
            return drill_command.run(args, make_plan, out, err)
        if args.command == "dr":
            return dr_command.run(args, make_plan, lambda plan: judge(plan, err, args.at), out, err, PROJECT_ROOT)
        plan = make_plan(args.stack, args.config_file, args.at)
    except ConfigFileError as problem:
        # emoji=False: a key such as courier:loop: must not turn into a picture.
        err.print(f"[bold red]error:[/] {escape(problem.message)}", markup=True, emoji=False)
        for line in problem.lines():
            err.print(f"  {line}", markup=False, emoji=False)
        return EXIT_INVALID
    except spec_module.SpecError as invalid:
        err.print(
            f"[bold red]error:[/] stack {escape(repr(args.stack))} ({escape(str(where))}) has invalid config; "
            "nothing was planned:",
            markup=True,
            emoji=False,
        )
        for line in invalid.lines():
            err.print(f"  {line}", markup=False, emoji=False)
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
        policy_file = policy_config_file(plan, args.policy_config, err)
        plan.policies = analyze.analyze(plan, PROJECT_ROOT / "policies", policy_file, plan_time=args.at).to_json()
    except analyze.PolicyError as problem:
        err.print(f"[bold red]error:[/] {problem}", markup=True)
        return EXIT_INVALID
    # Every input against the clouds' own rules (API models, documented rules, shellcheck).
    plan.verification = verify.verify(plan).to_json()
    attach_artifacts(plan, args.out)
    changes = compare.diff(base[0], plan, base[1]) if base is not None else None
    # What the config leaves unserved (and, against a base, what it stops serving).
    plan.diagnostics += coverage.diagnostics(plan, base[0] if base is not None else None)
    if args.out:
        (args.out / "plan.json").write_text(compare.dumps(plan, changes) + "\n", encoding="utf-8")
    if args.markdown:
        with args.markdown.open("a", encoding="utf-8") as summary:
            if changes is not None:
                summary.write(compare.markdown(changes, allow_protected=args.allow_protected_deletes) + "\n")
            summary.write(render.markdown(plan))
    if args.json:
        sys.stdout.write(compare.dumps(plan, changes) + "\n")
    else:
        if changes is not None:
            # What changes first: it is what a reviewer reads a compared plan for.
            compare.render(out, changes, allow_protected=args.allow_protected_deletes)
        if args.tree:
            render.preview(out, plan, elapsed=time.perf_counter() - started, out_dir=args.out)
        else:
            # One screen (courier.summary); the resource tree is behind --tree.
            summary_view.show(out, plan, elapsed=time.perf_counter() - started, out_dir=args.out)
    refused = changes is not None and compare.refused(changes, args.allow_protected_deletes, err)
    failed = [a for a in plan.artifacts if not a.get("ok")]
    mandatory = [v for v in plan.policies.get("violations", []) if v.get("level") == "mandatory"]
    findings = plan.verification["findings"]
    return EXIT_VERIFY if failed or mandatory or findings or refused else EXIT_OK
