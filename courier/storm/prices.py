"""On-demand prices of the instance types the stacks use: a small dated catalogue.

USD per instance-hour, Linux, on-demand, **us-east-1 list prices** (the reference region AWS
quotes; Asia Pacific regions list roughly 10-30% higher), as published on the EC2 On-Demand
pricing page and unchanged since these types launched. Costs computed from them are for
comparing settings (the simulator's cost ratios do not depend on them), not for budgets. Types
not listed (Alibaba Cloud's, whose prices depend on the region and the account's contract)
have no price, and their cost is reported as unknown rather than guessed.
"""

from __future__ import annotations

AS_OF = "2026-11"
REFERENCE_REGION = "us-east-1"

ON_DEMAND_USD_PER_HOUR: dict[str, float] = {
    "c6i.large": 0.085,
    "c6i.xlarge": 0.17,
    "c6i.2xlarge": 0.34,
    "c7i.large": 0.08925,
    "c7i.xlarge": 0.1785,
    "m6i.large": 0.096,
    "m6i.xlarge": 0.192,
    "m6i.2xlarge": 0.384,
    "m7i.large": 0.1008,
    "m7i.xlarge": 0.2016,
    "t3.medium": 0.0416,
    "t3.large": 0.0832,
}


def hourly(instance_type: str | None) -> float | None:
    """The reference price of ``instance_type``, or None when the catalogue has none."""
    return ON_DEMAND_USD_PER_HOUR.get(instance_type or "")
