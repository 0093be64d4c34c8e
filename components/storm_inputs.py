"""What the storm simulator needs beyond the resources, exported by the program as the stack
output ``storm`` (so ``python -m courier storm`` reads one thing: the Plan). Pure."""

from __future__ import annotations

from typing import Any

from components.spec import EnvironmentSpec
from components.spec.storm import resolved


def storm_inputs(spec: EnvironmentSpec) -> dict[str, Any]:
    """Promotions with their forecasts, each region's role and cloud, each service's
    assumptions (components.spec.storm, resolved), and the objectives in force (or None)."""
    objectives = spec.storm_objectives
    return {
        "promotions": [
            {
                "name": p.name,
                "start": p.start.isoformat(),
                "end": p.end.isoformat(),
                "expectedPeakMultiplier": p.expected_peak_multiplier,
                "prewarmMinutes": p.prewarm_minutes,
            }
            for p in spec.upcoming_promotions()
        ],
        "regions": {
            r.name: {"code": r.code, "role": r.role, "cloud": r.cloud, "zones": list(r.availability_zones)}
            # A lost region serves nobody: its fleets are not simulated, nor counted as survivors.
            for r in spec.regions
            if not r.lost
        },
        "services": {
            s.name: {
                "platform": s.platform,
                "cpuTarget": s.scaling.cpu_target,
                "assumptions": resolved(spec.storm, s.name),
                # The everyday capacity per region (the groups may hold a promotion's at the
                # moment of the plan): what normal load is measured against.
                "capacity": {
                    r.name: {"min": c.min, "desired": c.desired, "max": c.max}
                    for r in spec.regions
                    if s.runs_in(r)
                    for c in [spec.capacity(s, r)]
                },
            }
            for s in spec.services
        },
        "objectives": objectives.model_dump(by_alias=True) if objectives is not None else None,
    }
