"""EventBridge Scheduler's universal targets checked offline: the API call a schedule makes.

``scheduler-universal-target``: a target ``arn:aws:scheduler:::aws-sdk:<service>:<apiAction>``
names a service by its SDK identifier and one of its operations ("Using universal targets":
the service value "must match the AWS SDK service identifier"), not a read-only one (the
prefixes that guide lists as unsupported), and its ``input`` is the operation's request: every
key a member of the operation's input shape, every required member present, every value as
botocore's own validator accepts it against the model. Keys are matched to the model's members
without regard to case: Scheduler's guide shows the members as the service's API reference
names them, and the stack writes them in PascalCase (docs/drills.md lists that as assumed).
Scheduler's context attributes (``<aws.scheduler.execution-id>``) are strings like any other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import botocore.session
from botocore.model import OperationModel
from botocore.validate import ParamValidator

from courier.verify.findings import Context, Issue, Rule

SCHEDULE_TYPE = "aws:scheduler/schedule:Schedule"
SOURCE = "https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html; botocore models"
UNIVERSAL = re.compile(r"arn:aws[a-z-]*:scheduler:::aws-sdk:(?P<service>[a-z0-9-]+):(?P<action>[a-zA-Z0-9]+)")
#: "EventBridge Scheduler does not support read-only API actions ... that begin with" these.
READ_ONLY_PREFIXES = (
    "get", "describe", "list", "poll", "receive", "search", "scan", "query", "select", "read", "lookup", "discover",
    "validate", "batchGet", "batchDescribe", "batchRead", "transactGet", "adminGet", "adminList", "testMigration",
    "retrieve", "testConnection", "translateDocument", "isAuthorized", "invokeModel",
)  # fmt: skip


def _operation(service: str, action: str) -> OperationModel | None:
    session = botocore.session.get_session()
    if service not in session.get_available_services():
        return None
    model: Any = session.get_service_model(service)
    wanted = action.lower()
    name = next((n for n in model.operation_names if n.lower() == wanted), None)
    return model.operation_model(name) if name else None


def _to_model(value: Any, shape: Any, at: str, problems: list[str]) -> Any:
    """``value`` with its keys spelt as the model spells its members (case aside); a key that is
    no member is a problem."""
    kind = getattr(shape, "type_name", "")
    if kind == "structure" and isinstance(value, Mapping):
        members = {m.lower(): m for m in shape.members}
        found: dict[str, Any] = {}
        for key, item in value.items():
            member = members.get(str(key).lower())
            if member is None:
                problems.append(f"{at}{key}: not a member of {shape.name} (members: {', '.join(shape.members)})")
                continue
            found[member] = _to_model(item, shape.members[member], f"{at}{member}.", problems)
        return found
    if kind == "list" and isinstance(value, list):
        return [_to_model(v, shape.member, at, problems) for v in value]
    if kind == "map" and isinstance(value, Mapping):
        return {k: _to_model(v, shape.value, at, problems) for k, v in value.items()}
    return value


def problems(arn: str, text: str | None) -> Iterator[str]:
    """Why a universal target ``arn`` with ``input`` ``text`` would not make its call."""
    match = UNIVERSAL.fullmatch(arn)
    if match is None:
        return
    service, action = match["service"], match["action"]
    if action.startswith(READ_ONLY_PREFIXES):
        yield f"{action}: Scheduler refuses read-only actions ({', '.join(READ_ONLY_PREFIXES[:5])}, ...)"
    operation: Any = _operation(service, action)
    if operation is None:
        yield f"{service}:{action}: no such SDK service and operation in botocore's models"
        return
    try:
        request = json.loads(text) if text else {}
    except json.JSONDecodeError as error:
        yield f"input: not JSON ({error})"
        return
    found: list[str] = []
    params = _to_model(request, operation.input_shape, "input.", found)
    yield from found
    report = ParamValidator().validate(params, operation.input_shape)
    if report.has_errors():
        yield from (f"input: {line.strip()}" for line in report.generate_report().splitlines() if line.strip())


def check(context: Context) -> Iterator[Issue]:
    for schedule in context.of_type(SCHEDULE_TYPE):
        target = schedule.inputs.get("target") or {}
        arn = target.get("arn")
        if isinstance(arn, str):
            for problem in problems(arn, target.get("input")):
                yield Issue(schedule.urn, "target", problem)


RULES: tuple[Rule, ...] = (Rule("scheduler-universal-target", SOURCE, check),)
