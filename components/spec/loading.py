"""Entry points: config as the engine hands it to a program -> EnvironmentSpec or SpecError."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pulumi
from pydantic import ValidationError

from components.spec.drills import calendar
from components.spec.errors import Problem, SpecError, _describe, item_names
from components.spec.fields import _STRUCTURED_KEYS, NAMESPACE, did_you_mean
from components.spec.model import KNOWN_KEYS, EnvironmentSpec, _StackConfig
from components.spec.rules import (
    _check_access,
    _check_all,
    _check_data,
    _check_quotas,
    _check_sections_that_parsed,
    _check_storm,
    indexed,
)

# --------------------------------------------------------------------------------------
# Entry points.
# --------------------------------------------------------------------------------------


def build_spec(
    raw: Mapping[str, Any],
    *,
    project: str,
    stack: str,
    as_of: datetime | None = None,
    secret_keys: frozenset[str] = frozenset(),
) -> EnvironmentSpec:
    """Validate already-parsed config values (``{"regions": [...], ...}``, keys without the
    namespace) and return the spec, or raise SpecError listing every problem."""
    problems: list[Problem] = []
    for key in raw:
        if key not in KNOWN_KEYS:
            hint = did_you_mean(key, KNOWN_KEYS, prefix=f"{NAMESPACE}:")
            problems.append(
                Problem(f"{NAMESPACE}:{key}", f"unknown config key (allowed: {', '.join(KNOWN_KEYS)}){hint}")
            )
    known = {k: v for k, v in raw.items() if k in KNOWN_KEYS}
    try:
        config = _StackConfig.model_validate(known)
    except ValidationError as invalid:
        # List items are named in every path (services[orders]), as the rules name them.
        names = item_names(known)
        problems.extend(_describe(e, names) for e in invalid.errors())
        problems.extend(_check_sections_that_parsed(known))
        raise SpecError(problems) from None
    regions = indexed("regions", config.regions)
    services = indexed("services", config.services)
    problems.extend(
        _check_all(
            config.environment,
            regions,
            services,
            indexed("promotions", config.promotions),
            config.alerting,
            complete=True,
        )
    )
    problems.extend(_check_access(config.kubernetes_access, regions))
    problems.extend(_check_storm(config.storm, [s.name for s in config.services], [r.name for r in config.regions]))
    problems.extend(_check_data(config.environment, config.data, regions, services))
    if problems:
        raise SpecError(problems)
    spec = EnvironmentSpec(**dict(config), project=project, stack=stack, as_of=as_of or _now(), secret_keys=secret_keys)
    # Rules over the derived capacity (promotions sized, node groups planned) need the spec.
    quota_problems = list(_check_quotas(spec))
    # The drill calendar names regions, zones and services of the built stack (components.spec.drills).
    quota_problems += [Problem(path, message) for path, message in calendar(spec)[1]]
    if quota_problems:
        raise SpecError(quota_problems)
    return spec


_clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def _now() -> datetime:
    return _clock()


def set_clock(clock: Callable[[], datetime]) -> Callable[[], datetime]:
    """Replace the clock that decides which promotions are still ahead; returns the old one.

    The offline plan uses it for ``--at`` ("plan as if it were this moment").
    """
    global _clock
    previous, _clock = _clock, clock
    return previous


def load_spec() -> EnvironmentSpec:
    """Read and validate this stack's ``courier:*`` config through ``pulumi.Config``."""
    from pulumi.runtime.config import is_config_secret

    config = pulumi.Config(NAMESPACE)
    keys = sorted(_present_keys())
    values = {key: config.get(key) for key in keys}
    secret = frozenset(k for k in keys if is_config_secret(f"{NAMESPACE}:{k}"))
    stray = _project_namespace_keys(pulumi.get_project())
    try:
        spec = spec_from_config(values, project=pulumi.get_project(), stack=pulumi.get_stack(), secret_keys=secret)
    except SpecError as invalid:
        raise SpecError(invalid.problems + stray) from None
    if stray:
        raise SpecError(stray)
    return spec


def _project_namespace_keys(project: str) -> list[Problem]:
    """Keys set without a namespace: `pulumi config set owner x` stores them under the project
    (``courier-platform:owner``), which nothing reads; they would be ignored silently."""
    from pulumi.runtime import config as runtime_config

    prefix = f"{project}:"
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    return [
        Problem(
            key,
            f"is in the project's namespace, which nothing reads; did you mean '{NAMESPACE}:{key[len(prefix) :]}'? "
            f"(set it with `pulumi config set {NAMESPACE}:{key[len(prefix) :]} ...`)",
        )
        for key in sorted(keys)
        if key.startswith(prefix) and project != NAMESPACE
    ]


def spec_from_config(
    values: Mapping[str, str | None],
    *,
    project: str,
    stack: str,
    as_of: datetime | None = None,
    secret_keys: frozenset[str] = frozenset(),
) -> EnvironmentSpec:
    """Validate config as the engine hands it to a program: key (without the namespace) ->
    text, lists and mappings as JSON text. Raises SpecError listing every problem."""
    raw: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, text in values.items():
        if text is None:
            continue
        if key in _STRUCTURED_KEYS or key == "drills":
            try:
                raw[key] = json.loads(text)
            except json.JSONDecodeError:
                problems.append(Problem(f"{NAMESPACE}:{key}", f"must be a list (got {text!r})"))
        else:
            raw[key] = text
    try:
        spec = build_spec(raw, project=project, stack=stack, as_of=as_of, secret_keys=secret_keys)
    except SpecError as invalid:
        raise SpecError(problems + invalid.problems) from None
    if problems:
        raise SpecError(problems)
    return spec


def _present_keys() -> set[str]:
    """Every ``courier:*`` key the stack sets, known or not, so typos are reported."""
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    prefix = f"{NAMESPACE}:"
    return {k[len(prefix) :] for k in keys if k.startswith(prefix)} | set(KNOWN_KEYS)
