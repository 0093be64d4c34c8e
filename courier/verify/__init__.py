"""The verification stage: every resource's inputs against the rules the mock engine cannot know.

The offline engine accepts any value; the clouds do not. This stage checks the Plan against
what the clouds publish (DESIGN.md 1, issue 8 part 2):

- models.py: each AWS input against AWS's own API model (botocore), for the create call the
  provider makes (catalogue.py maps types to calls);
- naming.py: Pulumi auto-names and explicit names against the documented length limits;
- rules.py, timing.py, dns.py, labels.py: documented cross-field rules (slow start vs. algorithm,
  schedule horizons, unique geolocation records, tags, Kubernetes labels, ...);
- scripts.py: boot scripts through shellcheck and the size limit, and the images they (and pods
  on EKS) pull;
- dashboards.py: Grafana panels' PromQL (parses, reads only series that exist) and CloudWatch
  dashboard bodies (the documented structure).

Every finding names its rule and the source the rule comes from. A rule that cannot run (a
missing tool, an unexpected error) is reported as a finding, never passed silently.
"""

from __future__ import annotations

from datetime import UTC, datetime

from courier.plan import Plan
from courier.verify import (
    dashboards,
    dns,
    drill_results,
    fis,
    labels,
    models,
    naming,
    rules,
    scheduler,
    scripts,
    timing,
)
from courier.verify.findings import Context, Finding, Issue, Rule, Verification

__all__ = ["RULES", "Finding", "Issue", "Rule", "Verification", "verify"]

MODEL_SOURCE = "botocore service models (botocore/data/<service>/<version>/service-2.json)"

#: The documented rules, each with its source; the model check and auto-naming come first.
RULES: tuple[Rule, ...] = (
    Rule("aws-names", naming.AUTONAMING, naming.check),
    *rules.RULES,
    *timing.RULES,
    *dns.RULES,
    *labels.RULES,
    *scripts.RULES,
    *dashboards.RULES,
    *fis.RULES,
    *drill_results.RULES,
    *scheduler.RULES,
)

_FIND = "find"


def verify(plan: Plan, *, as_of: datetime | None = None, shellcheck: str | None = _FIND) -> Verification:
    """Check ``plan`` as of ``as_of`` (default: the moment the plan was made, else now).

    ``shellcheck`` is the tool's path; by default it is looked up, None means it is missing.
    """
    moment = as_of or plan.as_of or datetime.now(UTC)
    tool = scripts.find_shellcheck() if shellcheck == _FIND else shellcheck
    context = Context(plan, moment, tool)
    coverage: dict[str, models.Coverage] = {}
    model_rule = Rule("aws-api-model", MODEL_SOURCE, lambda c: models.check(c, coverage))
    findings: list[Finding] = []
    for rule in (model_rule, *RULES):
        try:
            findings.extend(rule.run(context))
        except Exception as failure:
            # The stage must never pass because a rule broke: the failure is itself a finding.
            findings.append(
                Finding(
                    "verify-stage-error",
                    "",
                    "",
                    f"rule {rule.name} could not run: {type(failure).__name__}: {failure}",
                    rule.source,
                )
            )
    findings.sort(key=lambda f: (f.rule, f.urn, f.property))
    return Verification(
        rules=1 + len(RULES),
        checked=len(context.managed),
        findings=findings,
        coverage={token: entry.to_json() for token, entry in sorted(coverage.items())},
    )
