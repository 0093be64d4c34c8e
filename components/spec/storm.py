"""``courier:storm``: what the storm simulator (``python -m courier storm``) cannot read from the
Plan, and the objectives a plan must meet.

The Plan says how each fleet is built and scales; it cannot say how fast an instance of *this*
service boots, how many requests it serves at 100% CPU, or how busy it normally is. Those are
named assumptions with defaults, overridable for every service (``services.<name>``), and
validated like every other key. Objectives default to prod's goals (issue 9) in prod and to
none elsewhere (the simulator then reports without judging).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from components.spec.fields import Number, WholeNumber, _between, _Model


class StormAssumptions(_Model):
    """Per-service facts the Plan cannot know. Every field may be overridden per service."""

    #: Launch to serving, cold, on AWS (boot, Docker and the image from the region's ECR, the
    #: service's start, the lifecycle hook, the target group's first health checks). An
    #: estimate (README, "Launch to serving"); measure it with ``courier-ready``'s journal.
    boot_seconds: Annotated[WholeNumber, _between(10, 3600)] | None = None
    #: The same on Alibaba Cloud (Docker CE is installed at first boot; no warm pools).
    alicloud_boot_seconds: Annotated[WholeNumber, _between(10, 3600)] | None = None
    #: A stopped warm-pool instance started again, to serving (AWS workshop: 36 s; our units
    #: re-run the health wait and the hook).
    warm_resume_seconds: Annotated[WholeNumber, _between(5, 3600)] | None = None
    #: A pod scheduled on a node with room, to ready (image on the node, readiness probe).
    pod_start_seconds: Annotated[WholeNumber, _between(1, 3600)] | None = None
    #: A node added by the cluster autoscaler, to schedulable.
    node_provision_seconds: Annotated[WholeNumber, _between(10, 3600)] | None = None
    #: Requests per second one instance (or pod, at its CPU request) serves at 100% CPU.
    requests_per_instance: Annotated[Number, _between(0.1, 1_000_000)] | None = None
    #: CPU the fleet runs at, at its configured desired capacity, on a normal day's peak: it
    #: turns "3x normal load" into requests per second.
    normal_cpu_percent: Annotated[Number, _between(1, 100)] | None = None
    #: CloudWatch's delay between a datapoint's period and the alarm seeing it.
    metric_delay_seconds: Annotated[WholeNumber, _between(0, 600)] | None = None
    #: The same for a high-resolution (10 s) agent metric: the agent's 10 s flush plus ingestion.
    high_resolution_delay_seconds: Annotated[WholeNumber, _between(0, 600)] | None = None
    #: How late a scheduled action runs (EC2 Auto Scaling: "up to about 2 minutes").
    scheduled_delay_seconds: Annotated[WholeNumber, _between(0, 600)] | None = None


#: The defaults the simulator uses where neither the stack nor the service says otherwise.
DEFAULT_ASSUMPTIONS = StormAssumptions(
    boot_seconds=150,
    alicloud_boot_seconds=180,
    warm_resume_seconds=45,
    pod_start_seconds=20,
    node_provision_seconds=120,
    requests_per_instance=100,
    normal_cpu_percent=50,
    metric_delay_seconds=60,
    high_resolution_delay_seconds=20,
    scheduled_delay_seconds=60,
)


class SurgeObjective(_Model):
    """An unannounced surge (``surge-4x``): at most this bad, per fleet."""

    max_overloaded_minutes: Annotated[Number, _between(0, 1440)] = 2
    max_unserved_percent: Annotated[Number, _between(0, 100)] = 1.5
    max_cost_ratio: Annotated[Number, _between(1, 100)] = 1.10


class PromotionObjective(_Model):
    """An announced promotion: nothing unserved up to ``margin_percent`` above its forecast, at
    no more than ``max_cost_ratio`` the ideal fleet's instance-hours (at the forecast)."""

    margin_percent: Annotated[Number, _between(0, 500)] = 25
    max_unserved_percent: Annotated[Number, _between(0, 100)] = 0
    max_cost_ratio: Annotated[Number, _between(1, 100)] = 1.10


class Exemption(_Model):
    """Fleets an objective is not applied to, and why (shown wherever the result is)."""

    objective: Literal["surge", "promotion"]
    region: str | None = None
    service: str | None = None
    #: Why: a reviewer reads it in the storm summary.
    reason: Annotated[str, Field(min_length=20, max_length=300)]


class StormObjectives(_Model):
    surge: SurgeObjective | None = SurgeObjective()
    promotion: PromotionObjective | None = PromotionObjective()
    #: Fleets an objective does not apply to (they are still simulated and shown).
    exempt: tuple[Exemption, ...] = ()


class StormSpec(_Model):
    #: Defaults for every service (each unset field falls back to DEFAULT_ASSUMPTIONS).
    assumptions: StormAssumptions = StormAssumptions()
    #: Per-service overrides, by service name.
    services: dict[str, StormAssumptions] = {}
    #: What a plan must meet; unset: prod's goals in prod, none elsewhere.
    objectives: StormObjectives | None = None


def resolved(storm: StormSpec, service: str) -> dict[str, float]:
    """The assumptions for ``service``: its override, else the stack's, else the default."""
    layers = [storm.services.get(service), storm.assumptions, DEFAULT_ASSUMPTIONS]
    result: dict[str, float] = {}
    for name, field in StormAssumptions.model_fields.items():
        value = next(getattr(layer, name) for layer in layers if layer and getattr(layer, name) is not None)
        result[field.alias or name] = value
    return result
