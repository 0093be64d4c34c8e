"""The builders of FIS experiment template arguments the drill kinds share: an action with its
target and parameters, a target resolved by tags (and filters), and the compact JSON FIS
parameter values must be."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def compact(document: Mapping[str, object]) -> str:
    """JSON without whitespace: FIS parameter values match [\\S]+."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def action(
    name: str, action_id: str, key: str | None = None, target: str | None = None, **parameters: pulumi.Input[str]
) -> aws.fis.ExperimentTemplateActionArgs:
    """The action ``name`` (FIS's ``action_id``) on the target ``target`` under ``key``, if any."""
    return aws.fis.ExperimentTemplateActionArgs(
        name=name,
        action_id=action_id,
        parameters=[aws.fis.ExperimentTemplateActionParameterArgs(key=k, value=v) for k, v in parameters.items()]
        or None,
        target=aws.fis.ExperimentTemplateActionTargetArgs(key=key, value=target) if key and target else None,
    )


def tagged_target(
    name: str,
    resource_type: str,
    tags: Mapping[str, str],
    filters: Mapping[str, list[str]] | None = None,
    selection: str = "ALL",
) -> aws.fis.ExperimentTemplateTargetArgs:
    """The target ``name``: the resources of ``resource_type`` with all ``tags`` that pass
    ``filters``, ``selection`` of them."""
    return aws.fis.ExperimentTemplateTargetArgs(
        name=name,
        resource_type=resource_type,
        selection_mode=selection,
        resource_tags=[aws.fis.ExperimentTemplateTargetResourceTagArgs(key=k, value=v) for k, v in tags.items()],
        filters=[aws.fis.ExperimentTemplateTargetFilterArgs(path=p, values=v) for p, v in (filters or {}).items()]
        or None,
    )
