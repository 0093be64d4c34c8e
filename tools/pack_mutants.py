"""The policy pack's kill rate over its sidestep mutants, per class.

    .venv/bin/python tools/pack_mutants.py [--json] [--verbose]

Builds the prod plan (as of the tests' moment), then runs every mutant of
tests/policies/test_sidesteps.py (an alias type, a provider default, a proxy, an equivalent
value, each applied to a copy of the compliant plan) through the one policy it concerns, and
prints ``class: killed/total`` per class and the overall rate; ``--verbose`` lists every mutant
and ``--json`` prints the table as JSON. Exit 0 when every mutant is killed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    parser.add_argument("--verbose", action="store_true", help="list every mutant and its verdict")
    options = parser.parse_args(argv)

    from courier.cli import make_plan
    from tests.conftest import AS_OF

    # The pack judges time-dependent rules at the plan's moment (tests/policies/conftest.py).
    os.environ["COURIER_PLAN_TIME"] = AS_OF.isoformat()
    from tests.policies.test_sidesteps import CLASSES, MUTANTS, outcome

    plan = make_plan("prod", at=AS_OF)
    rows = []
    for mutant in MUTANTS:
        caught, _ = outcome(plan, mutant)
        rows.append({"class": mutant.kind, "policy": mutant.policy, "mutant": mutant.name, "killed": caught})
    per_class = {
        kind: {
            "killed": sum(1 for r in rows if r["class"] == kind and r["killed"]),
            "total": sum(1 for r in rows if r["class"] == kind),
        }
        for kind in CLASSES
    }
    killed = sum(1 for r in rows if r["killed"])
    overall = 100.0 * killed / len(rows) if rows else 0.0
    if options.json:
        print(
            json.dumps(
                {
                    "classes": per_class,
                    "killed": killed,
                    "total": len(rows),
                    "percent": round(overall, 1),
                    "mutants": rows,
                },
                indent=2,
            )
        )
    else:
        if options.verbose:
            for row in rows:
                print(
                    f"{'killed  ' if row['killed'] else 'SURVIVED'} {row['class']:<10} {row['policy']}: {row['mutant']}"
                )
            print()
        for kind, counts in per_class.items():
            print(f"{kind}: {counts['killed']}/{counts['total']}")
        print(f"overall: {killed}/{len(rows)} ({overall:.0f}%)")
    return 0 if killed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
