"""How much does the offline plan add to Pulumi's own mock engine?

    .venv/bin/python benchmarks/plan_benchmark.py [--runs 5] [--regions 10]

For the shipped prod stack and a synthetic prod-shaped stack of N AWS regions x 5 services:

- plan: the whole ``python -m courier plan`` path: stack file, spec, the real program under
  the recording engine, Plan building. Best of ``--runs`` warm runs.
- bare: the same program registering the same resources under Pulumi's stock MockMonitor
  with mocks that only answer (no recording, no Plan, no config file). The target is
  plan <= 1.5 x bare: the offline machinery must stay cheap next to registration itself.
- flat: the same resource types with the same inputs registered flat as generic
  CustomResources (no components, no typed SDK classes, no program): the floor of the SDK.
  plan / flat shows what typed classes and component structure cost on top of that floor.
- policy: the policy pack over the plan as the CLI runs it (start the pack process, configure
  it with policies/config/prod.json, analyze every resource, then the stack). Best of
  ``--runs``; it is not part of plan and not part of the plan/bare target.

All three run with the same runtime settings (courier.engine.lean_runtime). ms per resource
counts every registered resource, components included.
"""

import argparse
import contextvars
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pulumi  # noqa: E402
from pulumi.runtime.stack import run_pulumi_func  # noqa: E402
from pulumi.runtime.sync_await import _sync_await  # noqa: E402

from components import catalog  # noqa: E402
from courier import analyze, verify  # noqa: E402
from courier.cli import make_plan  # noqa: E402
from courier.engine import RecordingMocks, lean_runtime  # noqa: E402
from courier.plan import Plan  # noqa: E402
from courier.stackconfig import load_project, load_stack_config  # noqa: E402


def bare_program(stack: str, config_file: Path | None) -> float:
    """Seconds for the same program under the stock MockMonitor, answering but not recording."""
    project = load_project(ROOT)
    config, secret_keys = load_stack_config(project, stack, config_file)
    code = compile((ROOT / "__main__.py").read_text(), str(ROOT / "__main__.py"), "exec")

    def run() -> float:
        import asyncio

        asyncio.set_event_loop(asyncio.new_event_loop())
        pulumi.runtime.set_all_config(config, secret_keys)
        pulumi.runtime.set_mocks(RecordingMocks(), project=project.name, stack=stack, preview=False)

        def program() -> None:
            exec(code, {"__name__": "__main__"})

        with lean_runtime():
            started = time.perf_counter()
            _sync_await(run_pulumi_func(program))
            return time.perf_counter() - started

    return contextvars.Context().run(run)


class _EchoMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        return f"{args.name}-id", args.inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        return {}, []


def flat_registration(resources: list[tuple[str, str, dict[str, Any]]]) -> float:
    """Seconds for the stock mock engine to register these (type, name, inputs) flat."""

    def run() -> float:
        import asyncio

        asyncio.set_event_loop(asyncio.new_event_loop())
        pulumi.runtime.set_mocks(_EchoMocks(), project="bench", stack="bench", preview=False)

        def program() -> None:
            for resource_type, name, inputs in resources:
                pulumi.CustomResource(resource_type, name, dict(inputs))

        # The same runtime settings the offline engine uses, so the ratio measures only what
        # the program and the recording add on top of registering the resources.
        with lean_runtime():
            started = time.perf_counter()
            _sync_await(run_pulumi_func(program))
            return time.perf_counter() - started

    return contextvars.Context().run(run)


def synthetic_config(region_count: int) -> dict[str, Any]:
    """A prod-shaped stack over ``region_count`` AWS regions with at least 3 zones each, every
    service (VM fleets and the Kubernetes one on an EKS cluster) in every region."""
    prod = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())["config"]
    names = [r.name for r in catalog.regions("aws") if len(r.zones) >= 3][:region_count]
    if len(names) < region_count:
        raise SystemExit(f"the catalogue has only {len(names)} AWS regions with 3 zones")
    cluster = next(r["kubernetes"] for r in prod["courier:regions"] if "kubernetes" in r)
    regions = []
    for index, name in enumerate(names):
        info = catalog.region("aws", name)
        assert info is not None
        regions.append(
            {
                "name": name,
                "role": "primary" if index == 0 else ("standby" if index == region_count - 1 else "secondary"),
                "availabilityZones": list(info.zones[:3]),
                "cidr": f"10.{40 + index}.0.0/16",
                "kubernetes": dict(cluster),
            }
        )
    prod["courier:regions"] = regions
    # Exemptions name prod's regions, which the synthetic stack does not have.
    prod.pop("courier:storm", None)
    for service in prod["courier:services"]:
        service.pop("regions", None)  # every service in every region
    return {"config": prod}


def time_plan(stack: str, config_file: Path | None, runs: int) -> tuple[float, Plan]:
    make_plan(stack, config_file)  # warm: imports, first-run caches
    times = []
    plan = None
    for _ in range(runs):
        started = time.perf_counter()
        plan = make_plan(stack, config_file)
        times.append(time.perf_counter() - started)
    assert plan is not None
    return min(times), plan


def measure(label: str, stack: str, config_file: Path | None, runs: int) -> dict[str, Any]:
    plan_seconds, plan = time_plan(stack, config_file, runs)
    count = len(plan.resources)
    bare_seconds = min(bare_program(stack, config_file) for _ in range(runs))
    registered = [(r.type, r.name, r.inputs) for r in plan.resources if r.custom and r.type != "pulumi:pulumi:Stack"]
    flat_seconds = min(flat_registration(registered) for _ in range(runs))
    policy_seconds = min(time_policy(plan) for _ in range(runs))
    verify_seconds = min(time_verify(plan) for _ in range(runs))
    return {
        "label": label,
        "resources": count,
        "plan_s": plan_seconds,
        "plan_ms": plan_seconds / count * 1000,
        "bare_ms": bare_seconds / count * 1000,
        "flat_ms": flat_seconds / len(registered) * 1000,
        "ratio_bare": plan_seconds / bare_seconds,
        "ratio_flat": plan_seconds / (flat_seconds / len(registered) * count),
        "policy_s": policy_seconds,
        "verify_s": verify_seconds,
    }


def time_policy(plan: Plan) -> float:
    started = time.perf_counter()
    analyze.analyze(plan, ROOT / "policies", ROOT / "policies" / "config" / "prod.json")
    return time.perf_counter() - started


def time_verify(plan: Plan) -> float:
    """The verification stage: every input against the API models and the documented rules,
    and every boot script through one shellcheck run."""
    started = time.perf_counter()
    verify.verify(plan)
    return time.perf_counter() - started


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--runs", type=int, default=3)
    options.add_argument("--regions", type=int, default=10)
    args = options.parse_args()

    rows = [measure("prod (3 AWS + 1 Alibaba, 5 services)", "prod", None, args.runs)]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "Pulumi.synthetic.yaml"
        path.write_text(yaml.safe_dump(synthetic_config(args.regions), sort_keys=False))
        rows.append(measure(f"synthetic ({args.regions} AWS regions x 5 services)", "synthetic", path, args.runs))

    header = f"{'environment':<36} {'resources':>9} {'plan s':>7} {'plan':>7} {'bare':>7} {'flat':>7} {'plan/bare':>10} {'plan/flat':>10} {'policy s':>9} {'verify s':>9}"
    print(header)
    print(f"{'':<36} {'':>9} {'':>7} {'ms/res':>7} {'ms/res':>7} {'ms/res':>7}")
    for row in rows:
        print(
            f"{row['label']:<36} {row['resources']:>9} {row['plan_s']:>7.2f} {row['plan_ms']:>7.2f} "
            f"{row['bare_ms']:>7.2f} {row['flat_ms']:>7.2f} {row['ratio_bare']:>10.2f} {row['ratio_flat']:>10.2f} {row['policy_s']:>9.2f} {row['verify_s']:>9.2f}"
        )
    print(f"\nbest of {args.runs} warm runs each; target plan/bare <= 1.5 (see the docstring for what each column is)")


if __name__ == "__main__":
    main()
