"""The courier-platform policy pack. Assembles the pack and serves it; nothing else.

Run by `pulumi preview --policy-pack policies` (and by `python -m courier plan`, which speaks
the same analyzer protocol to it).
"""

from guardrails import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name="courier-platform",
    description="Guardrails for the courier platform: resilience, observability, security, data, Kubernetes, cost, tags.",
    # Per-stack enforcement and thresholds come from policies/config/<stack>.json
    # (--policy-pack-config): mandatory in prod and staging, advisory in dev.
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=POLICIES,
)
