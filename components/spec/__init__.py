"""EnvironmentSpec: the typed, validated, frozen description of one stack.

This module is the only place that knows the ``courier:*`` config key names. It reads them
(through ``pulumi.Config``, exactly as the Pulumi CLI provides them), checks everything,
and either returns an :class:`EnvironmentSpec` or raises :class:`SpecError` listing every
problem at once, one line each, before a single resource is declared:

    courier:services[0].scaling.cpuTarget: must be between 10 and 95 (got 150)

Environment-specific safe defaults (NAT per zone, warm pools, deletion protection, ...) are
also decided here and only here, so components receive concrete values.

The package is split by concern: ``fields`` (names and field validators), ``model`` (the
config sections and EnvironmentSpec), ``capacity`` (what the capacity comes to: regional
shares, warm pools, promotions' pre-scales, node groups, peak vCPUs), ``data``
(``courier:data``), ``storm`` (``courier:storm``), ``errors`` (Problem, SpecError), ``rules`` (cross-field
rules) and ``loading`` (the entry points). Import from ``components.spec``.
"""

from components.spec.errors import Problem, SpecError
from components.spec.fields import (
    DEADMANS_SWITCH,
    NAMESPACE,
    ONCALL_ROLES,
    RECEIVERS,
    SECRET_PLACEHOLDER,
    Environment,
    NatGateways,
    Platform,
    Role,
)
from components.spec.loading import build_spec, load_spec, set_clock, spec_from_config
from components.spec.model import (
    KNOWN_KEYS,
    AccessSpec,
    AlertingSpec,
    ArtifactSpec,
    CapacitySpec,
    ClusterSpec,
    EnvironmentSpec,
    HostImagesSpec,
    PromotionSpec,
    QuotasSpec,
    ReceiverSpec,
    RegionSpec,
    Safety,
    ScalingSpec,
    ServiceSpec,
    SloSpec,
    ThresholdsSpec,
    WorkloadSpec,
)

__all__ = [
    "DEADMANS_SWITCH",
    "KNOWN_KEYS",
    "NAMESPACE",
    "ONCALL_ROLES",
    "RECEIVERS",
    "SECRET_PLACEHOLDER",
    "AccessSpec",
    "AlertingSpec",
    "ArtifactSpec",
    "CapacitySpec",
    "ClusterSpec",
    "Environment",
    "EnvironmentSpec",
    "HostImagesSpec",
    "NatGateways",
    "Platform",
    "Problem",
    "PromotionSpec",
    "QuotasSpec",
    "ReceiverSpec",
    "RegionSpec",
    "Role",
    "Safety",
    "ScalingSpec",
    "ServiceSpec",
    "SloSpec",
    "SpecError",
    "ThresholdsSpec",
    "WorkloadSpec",
    "build_spec",
    "load_spec",
    "set_clock",
    "spec_from_config",
]
