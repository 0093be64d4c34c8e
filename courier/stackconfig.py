"""Reading Pulumi.yaml and a stack's config file the way the Pulumi CLI does, offline."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# The offline engine has no key to decrypt secrets: they reach the program as this value.
from components.spec import SECRET_PLACEHOLDER


class ConfigFileError(Exception):
    """A project or stack config file is missing or not valid YAML of the right shape."""


class _Loader(yaml.SafeLoader):
    """YAML as the Pulumi CLI reads config: timestamps stay strings (the spec parses them)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Project:
    name: str
    root: Path
    stack_config_dir: Path

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.stack_config_dir.glob("Pulumi.*.yaml"))


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: no such file") from None
    except OSError as error:
        raise ConfigFileError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ConfigFileError(f"{path}: not valid YAML at {where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise ConfigFileError(f"{path}: not valid YAML: {error}") from None


def load_project(root: Path) -> Project:
    data = _read_yaml(root / "Pulumi.yaml")
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ConfigFileError(f"{root / 'Pulumi.yaml'}: must be a mapping with a 'name'")
    return Project(
        name=data["name"],
        root=root,
        stack_config_dir=root / str(data.get("stackConfigDir", ".")),
    )


def load_stack_config(
    project: Project, stack: str, config_file: Path | None = None
) -> tuple[dict[str, str], list[str]]:
    """The stack's config as the engine hands it to a program: key -> string (structured
    values as JSON), plus the keys that are secrets."""
    path = config_file or project.stack_file(stack)
    if not path.exists():
        known = ", ".join(project.stacks()) or "none"
        raise ConfigFileError(f"{path}: no such stack config file (stacks here: {known})")
    data = _read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: must be a mapping with a 'config:' section (got {type(data).__name__})")
    section = data.get("config", {}) or {}
    if not isinstance(section, dict):
        raise ConfigFileError(f"{path}: 'config' must be a mapping of key: value (got {type(section).__name__})")
    config: dict[str, str] = {}
    secrets: list[str] = []
    for raw_key, value in section.items():
        key = str(raw_key)
        if ":" not in key:
            key = f"{project.name}:{key}"
        plain, secret = _plain(value)
        config[key] = _top_level_text(plain)
        if secret:
            secrets.append(key)
    return config, secrets


def _plain(value: Any) -> tuple[Any, bool]:
    """Replace ``{secure: ...}`` values (anywhere) with a placeholder; report if any was found."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        found = False
        result = {}
        for k, v in value.items():
            result[k], secret = _plain(v)
            found = found or secret
        return result, found
    if isinstance(value, list):
        items = [_plain(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def _top_level_text(value: Any) -> str:
    """Top-level values reach the program as text; lists and mappings as JSON text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) or value is None:
        return "" if value is None else str(value)
    return json.dumps(value)
