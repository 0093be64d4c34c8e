"""Mutation testing of the pure modules: does the suite notice when the code is wrong?

    python tools/mutate.py components/planning.py --tests tests/property/test_planning.py
    python tools/mutate.py policies/guardrails/resilience.py --tests tests/policies

Each mutant changes one thing in a copy of the project (an arithmetic or comparison operator
flipped, ``and``/``or`` swapped, a number moved by one, a ``not`` dropped, a return value
replaced) and runs the given tests against it; a mutant the tests still pass "survives". The
report lists the kill rate and every survivor with its line, so a test can be written for it.
The project itself is never modified: mutants run in a temporary copy.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = (
    "components",
    "courier",
    "policies",
    "tests",
    "stacks",
    "tools",
    "__main__.py",
    "Pulumi.yaml",
    "pyproject.toml",
    "docs",
)

_BINARY = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
}
_COMPARE = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}


@dataclass(frozen=True)
class Mutant:
    line: int
    description: str
    source: str


class _Mutator(ast.NodeTransformer):
    """Applies the ``target``-th possible mutation of a tree (counting in visit order)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.seen = 0
        self.done: tuple[int, str] | None = None

    def _hit(self, node: ast.AST, description: str) -> bool:
        hit = self.seen == self.target
        self.seen += 1
        if hit:
            self.done = (getattr(node, "lineno", 0), description)
        return hit

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        swap = _BINARY.get(type(node.op))
        if swap is not None and self._hit(node, f"{type(node.op).__name__} -> {swap.__name__}"):
            node.op = swap()
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for index, op in enumerate(node.ops):
            swap = _COMPARE.get(type(op))
            if swap is not None and self._hit(node, f"{type(op).__name__} -> {swap.__name__}"):
                node.ops[index] = swap()
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        swap = ast.Or if isinstance(node.op, ast.And) else ast.And
        if self._hit(node, f"{type(node.op).__name__} -> {swap.__name__}"):
            node.op = swap()
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and self._hit(node, "drop not"):
            return node.operand
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return node
        if self._hit(node, f"{value!r} -> {value + 1!r}"):
            return ast.copy_location(ast.Constant(value + 1), node)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        # Docstrings and annotations are not behaviour; skip them.
        body = node.body[1:] if ast.get_docstring(node) is not None else node.body
        for statement in body:
            self.visit(statement)
        return node


def mutants(source: str) -> Iterator[Mutant]:
    tree = ast.parse(source)
    target = 0
    while True:
        mutator = _Mutator(target)
        mutated = mutator.visit(copy.deepcopy(tree))
        if mutator.done is None:
            return
        line, description = mutator.done
        yield Mutant(line, description, ast.unparse(ast.fix_missing_locations(mutated)))
        target += 1


def _copy_project(into: Path) -> None:
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__", "venv"))
        elif source.exists():
            shutil.copy2(source, into / name)


def run(module: Path, tests: list[str], timeout: float) -> int:
    relative = module.resolve().relative_to(ROOT)
    original = (ROOT / relative).read_text(encoding="utf-8")
    found = list(mutants(original))
    survivors: list[Mutant] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="courier-mutants-") as scratch:
        workdir = Path(scratch)
        _copy_project(workdir)
        target = workdir / relative
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-x",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            "--no-header",
            *tests,
        ]
        environment = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        # The unmutated copy must pass, or every mutant would count as killed.
        baseline = subprocess.run(
            command, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=environment
        )
        if baseline.returncode != 0:
            print(f"the tests fail without any mutation; fix them first:\n{baseline.stdout[-3000:]}")
            return 2
        for number, mutant in enumerate(found, start=1):
            target.write_text(mutant.source, encoding="utf-8")
            try:
                result = subprocess.run(command, cwd=workdir, capture_output=True, timeout=timeout, env=environment)
                killed = result.returncode != 0
            except subprocess.TimeoutExpired:
                killed = True
            if not killed:
                survivors.append(mutant)
            print(
                f"[{number}/{len(found)}] line {mutant.line}: {mutant.description}: {'killed' if killed else 'SURVIVED'}"
            )
        target.write_text(original, encoding="utf-8")
    elapsed = time.perf_counter() - started
    killed = len(found) - len(survivors)
    rate = 100 * killed / len(found) if found else 100.0
    print(
        f"\n{relative}: {len(found)} mutants, {killed} killed, {len(survivors)} survived ({rate:.1f}% killed) in {elapsed:.0f} s"
    )
    for mutant in survivors:
        print(f"  survived: line {mutant.line}: {mutant.description}")
    return 0 if not survivors else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", type=Path, help="a pure module of the project, e.g. components/planning.py")
    parser.add_argument("--tests", nargs="+", required=True, help="pytest arguments selecting the tests to run")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per mutant before it counts as killed")
    args = parser.parse_args()
    return run(args.module, args.tests, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
