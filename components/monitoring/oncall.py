"""Who is told about what: the on-call roles of the incident command structure.

Pure data and one routing function. CloudWatch alarms (components/aws/alarms.py) and the
Alertmanager routing tree both take their receivers from here, so every channel pages the
same people for the same kind of problem.
"""

from __future__ import annotations

from typing import Literal

Severity = Literal["critical", "warning", "info"]

INCIDENT_COMMANDER = "incident-commander"
TECH_EXPERT = "tech-expert"
OPS_COORDINATOR = "ops-coordinator"
CUSTOMER_SERVICE_LEAD = "customer-service-lead"
DATA_ANALYST = "data-analyst"

ROLES: tuple[str, ...] = (
    INCIDENT_COMMANDER,
    TECH_EXPERT,
    OPS_COORDINATOR,
    CUSTOMER_SERVICE_LEAD,
    DATA_ANALYST,
)

#: Severity -> incident level of the emergency-command process (level 1 = severe outage).
INCIDENT_LEVEL: dict[str, int] = {"critical": 1, "warning": 2, "info": 3}


def roles_for(severity: Severity, category: str | None = None, customer_impact: bool = False) -> tuple[str, ...]:
    """The roles notified for an alert.

    - critical: the incident commander and the technical expert, plus the customer-service
      lead when customers are affected;
    - warning: the operations coordinator for capacity problems, the technical expert otherwise;
    - info: the data analyst.
    """
    if severity == "critical":
        roles = [INCIDENT_COMMANDER, TECH_EXPERT]
        if customer_impact:
            roles.append(CUSTOMER_SERVICE_LEAD)
        return tuple(roles)
    if severity == "warning":
        return (OPS_COORDINATOR,) if category == "capacity" else (TECH_EXPERT,)
    return (DATA_ANALYST,)
