"""How long does `python -m courier storm prod` take, and where does the time go?

    .venv/bin/python benchmarks/storm_benchmark.py [--runs 3] [--stack prod]

- plan: the real program under the recording engine (what `storm` runs first, like `plan`);
- simulate: reading the fleets from the Plan and every default scenario (promotions at their
  forecast, +25% and +50%, surge-4x, az-loss, region-loss);
- week: the replay of data/courier-week.csv (168 hours), which is not a default scenario;
- total: plan + simulate, what `storm STACK` costs. Target (issue 9): under 10 s on 2 cores.

Best of ``--runs`` warm runs each, in one process (the CLI also pays Python's start-up, about
1 s).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from courier.cli import make_plan  # noqa: E402
from courier.storm import fleets, results, scenarios  # noqa: E402

AS_OF = datetime(2026, 11, 25, tzinfo=UTC)


def best(runs: int, work) -> tuple[float, object]:
    timings, value = [], None
    for _ in range(runs):
        started = time.perf_counter()
        value = work()
        timings.append(time.perf_counter() - started)
    return min(timings), value


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--runs", type=int, default=3)
    options.add_argument("--stack", default="prod")
    args = options.parse_args()
    make_plan(args.stack, at=AS_OF)  # warm up imports and caches
    plan_s, plan = best(args.runs, lambda: make_plan(args.stack, at=AS_OF))
    environment = fleets.read(plan)  # type: ignore[arg-type]
    names = scenarios.names(environment)

    def simulate():
        return results.run_all(environment, [scenarios.build(environment, n) for n in names])

    simulate_s, (ran, checks) = best(args.runs, simulate)  # type: ignore[misc]
    week = f"replay:{ROOT / 'data' / 'courier-week.csv'}"
    week_s, _ = best(1, lambda: results.run_all(environment, [scenarios.build(environment, week)]))
    steps = sum(len(f.outcome.series.time) for r in ran for f in r.fleets)
    print(
        f"{'stack':<8} {'fleets':>6} {'scenarios':>9} {'steps':>9} {'plan s':>7} {'simulate s':>10} {'total s':>8} {'week s':>7}"
    )
    print(
        f"{args.stack:<8} {len(environment.fleets):>6} {len(names):>9} {steps:>9} {plan_s:>7.2f} {simulate_s:>10.2f} "
        f"{plan_s + simulate_s:>8.2f} {week_s:>7.2f}"
    )
    print(
        f"\nbest of {args.runs} warm runs; {sum(not c.met for c in checks)} of {len(checks)} objectives missed; target total < 10 s"
    )


if __name__ == "__main__":
    main()
