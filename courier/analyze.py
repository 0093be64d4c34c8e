"""Running the policy pack over a Plan, exactly as the Pulumi CLI runs it over a preview.

The pack in policies/ is started the way the CLI's Python policy shim starts it
(``python -u -m pulumi.policy <engine-address> <pack-dir>`` with PULUMI_PROJECT, PULUMI_STACK
and PULUMI_DRY_RUN set; the pack prints the port it serves on and never calls the engine
back, so the address names no server) and is spoken to over the analyzer gRPC protocol: the
policies' config (enforcement level and thresholds from ``policies/config/<stack>.json``,
the format of ``--policy-pack-config``, with each policy's schema defaults, validated against
its schema), then ``Analyze`` for every resource and ``AnalyzeStack`` for the whole stack.
The same pack gives the same verdicts in a PR's `pulumi preview --policy-pack policies`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import grpc
import jsonschema
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from courier.plan import PROVIDER_PREFIX, Plan, Resource

LEVELS = {
    "advisory": analyzer_pb2.EnforcementLevel.ADVISORY,
    "mandatory": analyzer_pb2.EnforcementLevel.MANDATORY,
    "disabled": analyzer_pb2.EnforcementLevel.DISABLED,
    "remediate": analyzer_pb2.EnforcementLevel.REMEDIATE,
}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}
_MAX_MESSAGE = 400 * 1024 * 1024
_CHANNEL_OPTIONS = [("grpc.max_receive_message_length", _MAX_MESSAGE), ("grpc.max_send_message_length", _MAX_MESSAGE)]


class PolicyError(Exception):
    """The pack could not be run (it failed to start, or its config is invalid)."""


@dataclass(frozen=True)
class Verdict:
    pack: str
    violations: list[dict[str, str]]
    policies: int

    def to_json(self) -> dict[str, Any]:
        return {"pack": self.pack, "policies": self.policies, "violations": self.violations}


@contextmanager
def running_pack(
    pack_dir: Path,
    *,
    project: str = "courier-platform",
    stack: str = "offline",
    timeout: float = 60,
    plan_time: datetime | None = None,
) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """Start the pack like the CLI does and yield an analyzer client connected to it.

    ``plan_time`` is the moment the plan is made for (``plan --at``): time-dependent policies
    (promotions under way, scheduling horizons) judge the deploy at that moment. The real CLI
    leaves it unset, and the policies use the clock."""
    environment = dict(os.environ, PULUMI_PROJECT=project, PULUMI_STACK=stack, PULUMI_DRY_RUN="true")
    environment.pop("COURIER_PLAN_TIME", None)
    if plan_time is not None:
        environment["COURIER_PLAN_TIME"] = plan_time.isoformat()
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(pack_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=pack_dir,
        env=environment,
    )
    assert process.stdout is not None
    port_line: list[bytes] = []
    reader = threading.Thread(target=lambda: port_line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    try:
        if not port_line or not port_line[0].strip().isdigit():
            process.kill()
            _, errors = process.communicate(timeout=10)
            raise PolicyError(
                f"the policy pack in {pack_dir} did not start: {errors.decode(errors='replace').strip()[-2000:]}"
            )
        channel = grpc.insecure_channel(f"127.0.0.1:{int(port_line[0])}", options=_CHANNEL_OPTIONS)
        grpc.channel_ready_future(channel).result(timeout=timeout)
        try:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
        finally:
            channel.close()
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    json_format.ParseDict(dict(value), message)
    return message


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (a second entry would silently win)."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def load_config(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise PolicyError(f"{path}: not valid JSON: {error}") from None
    except _DuplicateKey as duplicate:
        raise PolicyError(f"{path}: {duplicate.key!r} is given twice; JSON keeps only the last one: keep one") from None
    if not isinstance(document, dict):
        raise PolicyError(f"{path}: must be a JSON object of policy name -> level or settings")
    return document


def policy_config(
    info: analyzer_pb2.AnalyzerInfo, config: Mapping[str, Any], source: str
) -> dict[str, analyzer_pb2.PolicyConfig]:
    """Per policy: enforcement level and settings (schema defaults, then the file), as the CLI
    resolves ``--policy-pack-config``. Unknown policy names and invalid settings are errors."""
    known = {p.name for p in info.policies}
    unknown = sorted(set(config) - known - {"all"})
    if unknown:
        raise PolicyError(f"{source}: no such policy: {', '.join(unknown)}")
    for name, entry in config.items():
        if not isinstance(entry, (str, dict)):
            raise PolicyError(
                f"{source}: {name}: must be an enforcement level or an object of settings (got {entry!r})"
            )
    everything = config.get("all", {})
    default_level = everything if isinstance(everything, str) else everything.get("enforcementLevel")
    resolved: dict[str, analyzer_pb2.PolicyConfig] = {}
    for policy in info.policies:
        entry = config.get(policy.name, {})
        level = default_level or LEVEL_NAMES[policy.enforcementLevel]
        settings: dict[str, Any] = {}
        if isinstance(entry, str):
            level = entry
        else:
            level = entry.get("enforcementLevel", level)
            settings = {k: v for k, v in entry.items() if k != "enforcementLevel"}
        if level not in LEVELS:
            raise PolicyError(
                f"{source}: {policy.name}: enforcement level must be one of {', '.join(LEVELS)} (got {level!r})"
            )
        schema = json_format.MessageToDict(policy.configSchema)
        properties = schema.get("properties", {})
        values = {k: v["default"] for k, v in properties.items() if "default" in v}
        values.update(settings)
        if properties or settings:
            try:
                jsonschema.validate(values, {"type": "object", "properties": properties, "additionalProperties": False})
            except jsonschema.ValidationError as error:
                raise PolicyError(f"{source}: {policy.name}: {error.message}") from None
        resolved[policy.name] = analyzer_pb2.PolicyConfig(enforcementLevel=LEVELS[level], properties=_struct(values))
    return resolved


def _options(resource: Resource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect, ignoreChanges=resource.ignore_changes, parent=resource.parent or ""
    )


def _provider(resource: Resource, by_urn: Mapping[str, Resource]) -> analyzer_pb2.AnalyzerProviderResource | None:
    provider = by_urn.get(resource.provider or "")
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type, properties=_struct(provider.inputs), urn=provider.urn, name=provider.name
    )


def analyze(plan: Plan, pack_dir: Path, config_file: Path | None, plan_time: datetime | None = None) -> Verdict:
    """Run every policy of the pack over the plan; violations as the Plan JSON records them."""
    by_urn = {r.urn: r for r in plan.resources}
    analyzed = [r for r in plan.resources if not r.type.startswith(PROVIDER_PREFIX) and r.type != "pulumi:pulumi:Stack"]
    with running_pack(pack_dir, project=plan.project, stack=plan.stack, plan_time=plan_time) as analyzer:
        info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
        config = policy_config(info, load_config(config_file), str(config_file or "defaults"))
        analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=config))
        violations: list[dict[str, str]] = []
        for resource in analyzed:
            request = analyzer_pb2.AnalyzeRequest(
                type=resource.type,
                properties=_struct(resource.inputs),
                urn=resource.urn,
                name=resource.name,
                options=_options(resource),
            )
            provider = _provider(resource, by_urn)
            if provider is not None:
                request.provider.CopyFrom(provider)
            response = analyzer.Analyze(request)
            violations.extend(_violation(d, resource.urn) for d in response.diagnostics)
        stack = analyzer_pb2.AnalyzeStackRequest()
        for resource in analyzed:
            entry = stack.resources.add(
                type=resource.type,
                properties=_struct(resource.inputs),
                urn=resource.urn,
                name=resource.name,
                options=_options(resource),
                parent=resource.parent or "",
                dependencies=resource.dependencies,
            )
            provider = _provider(resource, by_urn)
            if provider is not None:
                entry.provider.CopyFrom(provider)
            for key, urns in resource.property_dependencies.items():
                entry.propertyDependencies[key].urns.extend(urns)
        response = analyzer.AnalyzeStack(stack)
        violations.extend(_violation(d, "") for d in response.diagnostics)
    violations.sort(key=lambda v: (v["level"] != "mandatory", v["policy"], v["urn"]))
    return Verdict(pack=f"{info.name}@{pack_version(pack_dir)}", violations=violations, policies=len(info.policies))


def _violation(diagnostic: analyzer_pb2.AnalyzeDiagnostic, urn: str) -> dict[str, str]:
    # The SDK sends "<policy description>\n<what was reported>": keep what was reported.
    message = diagnostic.message
    if diagnostic.description and message.startswith(diagnostic.description + "\n"):
        message = message[len(diagnostic.description) + 1 :]
    return {
        "policy": diagnostic.policyName,
        "level": LEVEL_NAMES.get(diagnostic.enforcementLevel, "advisory"),
        "urn": diagnostic.urn or urn,
        "message": message,
    }


def pack_version(pack_dir: Path) -> str:
    """The version the CLI reports: PulumiPolicy.yaml's (the Python SDK always says 0.0.1)."""
    import yaml

    try:
        document = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return "0.0.1"
    return str(document.get("version", "0.0.1"))
