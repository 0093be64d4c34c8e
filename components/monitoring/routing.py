"""Alertmanager routing for one region, generated from the on-call matrix. Pure: no resources.

Each role is a receiver that publishes to that role's SNS topic in the region (Amazon Managed
Prometheus only allows SNS receivers); the people behind a role subscribe to its topic.

- ``severity=critical``: incident-commander and tech-expert, and customer-service-lead when
  ``customer_impact="true"`` (sibling routes with ``continue: true``, so each is notified);
- ``severity=warning``: ops-coordinator for ``category=capacity``, tech-expert otherwise;
- ``severity=info``: data-analyst;
- ``alertname=Watchdog``: deadmans-switch only, repeated often (the heartbeat);
- critical inhibits warning and info, warning inhibits info, for the same service and region.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from components.monitoring import oncall, yamltext
from components.spec import DEADMANS_SWITCH, RECEIVERS

#: Labels that make two alerts "the same problem" for grouping and inhibition.
GROUP_BY = ("alertname", "service", "region")
SCOPE = ("service", "region")


def _route(receiver: str, *matchers: str, proceed: bool = False, **timing: str) -> dict[str, Any]:
    route: dict[str, Any] = {"receiver": receiver, "matchers": list(matchers)}
    if proceed:
        route["continue"] = True
    route.update(timing)
    return route


def routes() -> list[dict[str, Any]]:
    """The routing tree's children, in evaluation order (the matrix in oncall.roles_for)."""
    return [
        # The heartbeat goes to the dead man's switch alone, often: silence means trouble.
        _route(DEADMANS_SWITCH, 'alertname="Watchdog"', group_wait="0s", group_interval="1m", repeat_interval="5m"),
        _route(oncall.INCIDENT_COMMANDER, 'severity="critical"', proceed=True, repeat_interval="1h"),
        _route(oncall.TECH_EXPERT, 'severity="critical"', proceed=True, repeat_interval="1h"),
        _route(oncall.CUSTOMER_SERVICE_LEAD, 'severity="critical"', 'customer_impact="true"', repeat_interval="1h"),
        _route(oncall.OPS_COORDINATOR, 'severity="warning"', 'category="capacity"'),
        _route(oncall.TECH_EXPERT, 'severity="warning"'),
        _route(oncall.DATA_ANALYST, 'severity="info"', repeat_interval="12h"),
    ]


def inhibit_rules() -> list[dict[str, Any]]:
    return [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity=~"warning|info"'],
            "equal": list(SCOPE),
        },
        {
            "source_matchers": ['severity="warning"'],
            "target_matchers": ['severity="info"'],
            "equal": list(SCOPE),
        },
    ]


def alertmanager_config(region: str, topic_arns: Mapping[str, str]) -> dict[str, Any]:
    """The Alertmanager configuration for one region; ``topic_arns`` maps every receiver
    (the five roles and deadmans-switch) to its SNS topic in that region."""
    missing = [r for r in RECEIVERS if r not in topic_arns]
    if missing:
        raise ValueError(f"no SNS topic for receivers: {', '.join(missing)}")
    return {
        "route": {
            # Anything no route claims still reaches a person.
            "receiver": oncall.TECH_EXPERT,
            "group_by": list(GROUP_BY),
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes(),
        },
        "inhibit_rules": inhibit_rules(),
        "receivers": [
            {
                "name": receiver,
                "sns_configs": [
                    {
                        "topic_arn": topic_arns[receiver],
                        "sigv4": {"region": region},
                        "subject": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} "
                        "({{ .CommonLabels.service }}, {{ .CommonLabels.region }})",
                        "attributes": {"severity": "{{ .CommonLabels.severity }}", "receiver": receiver},
                    }
                ],
            }
            for receiver in RECEIVERS
        ],
    }


def alertmanager_yaml(region: str, topic_arns: Mapping[str, str]) -> str:
    return yamltext.dump(alertmanager_config(region, topic_arns))


def amp_definition(config_yaml: str) -> str:
    """Amazon Managed Prometheus wants the config nested under ``alertmanager_config: |``."""
    return yamltext.dump({"alertmanager_config": config_yaml})


def inner_config(definition: str) -> str:
    """The Alertmanager config inside an AMP definition (amtool cannot read the wrapper)."""
    document = yaml.safe_load(definition)
    return str(document["alertmanager_config"])
