"""Reading Pulumi.yaml and a stack's config file the way the Pulumi CLI does, offline.

The CLI reads both with Go's gopkg.in/yaml.v3 (pulumi/pulumi sdk/go/common/encoding/marshal.go,
workspace/loaders.go), so this reader follows yaml.v3 where PyYAML (YAML 1.1) differs:

- only ``true``/``false`` (any of their three spellings) are booleans; ``yes``, ``no``, ``on``
  and ``off`` are strings (yaml.v3 resolve.go), and ``1:30`` is a string, not a base-60 number;
- a key given twice in one mapping is refused, as yaml.v3 does ("mapping key already
  defined"), instead of PyYAML's silent last-wins;
- a UTF-8 byte-order mark is dropped (loaders.go ``readFileStripUTF8BOM``).

Timestamps stay strings (the spec parses them). On top of that the reader refuses what no
stack config needs and what would otherwise exhaust the process: files over 1 MiB, bytes
that are not UTF-8 text, nesting deeper than 32 levels, and anchors/aliases that expand to
more than 100,000 values (a "billion laughs" document).
"""

from __future__ import annotations

import codecs
import difflib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# The offline engine has no key to decrypt secrets: they reach the program as this value.
from components.spec import NAMESPACE, SECRET_PLACEHOLDER
from components.spec.fields import clip

#: A stack config is a few KiB (prod is the largest); anything near this is a mistake.
MAX_FILE_BYTES = 1024 * 1024
#: Levels of nesting, the document root and the values themselves included (the shipped stacks
#: need 7: root > config > courier:regions > [0] > kubernetes > nodeInstanceTypes > [0]).
MAX_DEPTH = 32
#: Values (keys included) in the document once every alias is expanded (prod has about 400).
MAX_VALUES = 100_000
#: Problems listed in one error before the rest are only counted (a screenful).
MAX_LISTED = 30

#: Config namespaces the Pulumi program reads (``courier``) or its providers read.
PROVIDER_NAMESPACES = ("pulumi", "aws", "alicloud", "kubernetes")
ALLOWED_NAMESPACES = (NAMESPACE, *PROVIDER_NAMESPACES)
#: Top-level keys of a Pulumi stack file (pulumi/pulumi workspace/project.go ProjectStack).
STACK_FILE_KEYS = ("config", "environment", "secretsprovider", "encryptedkey", "encryptionsalt")


class ConfigFileError(Exception):
    """A project or stack config file is missing, unreadable or not valid YAML of the right
    shape. ``message`` names the file; ``details`` lists the problems when there are several."""

    def __init__(self, message: str, details: Sequence[str] = ()):
        self.message = message
        self.details = list(details)
        super().__init__("\n".join([message, *(f"  {line}" for line in self.lines())]))

    def lines(self, limit: int = MAX_LISTED) -> list[str]:
        """The detail lines to show: at most ``limit``, then how many more there are."""
        shown = self.details[:limit]
        hidden = len(self.details) - len(shown)
        return shown + ([f"... and {hidden} more problem{'s' if hidden != 1 else ''}"] if hidden else [])


def _refuse(path: Path, problems: list[str], summary: str) -> ConfigFileError:
    """One problem inline, several as a list under ``summary``."""
    if len(problems) == 1:
        return ConfigFileError(f"{path}: {problems[0]}")
    return ConfigFileError(f"{path}: {len(problems)} {summary}:", problems)


# --------------------------------------------------------------------------------------
# The YAML reader.
# --------------------------------------------------------------------------------------

_TAG = "tag:yaml.org,2002:"


class _Refused(Exception):
    """The document breaks a limit of the reader (depth, size after aliases)."""

    def __init__(self, mark: yaml.Mark, problem: str):
        super().__init__(problem)
        self.mark = mark
        self.problem = problem


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with yaml.v3's scalars, duplicate keys recorded, and limits on
    depth and on values after alias expansion. Keeps the key path of the node being built so
    that every message can say where."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.where: list[str] = []
        self.values = 0
        self.by_aliases = 0
        self.expanded: dict[int, int] = {}
        self.duplicates: list[tuple[int, str, int]] = []

    def path(self, key: str | None = None) -> str:
        return _render_path([*self.where[1:], *([key] if key is not None else [])])

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor or "")
            if target is not None:
                size = self.expanded.get(id(target))
                if size is None:
                    raise _Refused(
                        event.start_mark,
                        f"{{where}}: alias *{clip(event.anchor or '', 60)} refers to the value that contains it",
                    )
                self._count(size, event.start_mark, alias=True)
            return super().compose_node(parent, index)
        self.where.append(_segment(parent, index))
        if len(self.where) > MAX_DEPTH:
            raise _Refused(
                event.start_mark,
                f"{{where}} is nested deeper than {MAX_DEPTH} levels; a stack config needs fewer than 10",
            )
        before = self.values
        self._count(1, event.start_mark)
        node = super().compose_node(parent, index)
        if getattr(event, "anchor", None):
            self.expanded[id(node)] = self.values - before
        self.where.pop()
        return node

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        first_line: dict[str, int] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode):
                continue
            line = key.start_mark.line + 1
            if key.value in first_line:
                self.duplicates.append((line, self.path(key.value), first_line[key.value]))
            else:
                first_line[key.value] = line
        return node

    def _count(self, values: int, mark: yaml.Mark, alias: bool = False) -> None:
        self.values += values
        self.by_aliases += values if alias else 0
        if self.values <= MAX_VALUES:
            return
        if self.by_aliases:
            raise _Refused(
                mark,
                f"the document holds more than {MAX_VALUES:,} values once its aliases are expanded (the "
                "limit is reached in {where}); a stack config needs a few thousand: are anchors and "
                "aliases multiplying each other?",
            )
        raise _Refused(
            mark,
            f"the document holds more than {MAX_VALUES:,} values (the limit is reached in {{where}}); "
            "a stack config needs a few thousand",
        )


def _segment(parent: Node | None, index: Any) -> str:
    if parent is None:
        return ""
    if isinstance(index, int):
        return f"[{index}]"
    if isinstance(index, ScalarNode):
        return clip(index.value, 60)
    return ""  # a mapping key: the path is the mapping's


def _render_path(parts: Sequence[str]) -> str:
    """``config.courier:services[0].capacity`` as people write config keys:
    ``courier:services[0].capacity``."""
    parts = list(parts)
    if len(parts) > 1 and parts[0] == "config":
        parts = parts[1:]
    text = ""
    for part in filter(None, parts):
        text += part if part.startswith("[") or not text else f".{part}"
    return clip(text or "the document")


# yaml.v3's scalar resolution (resolve.go), replacing PyYAML's YAML 1.1 resolvers.
_Loader.yaml_implicit_resolvers = {}
_Loader.add_implicit_resolver(f"{_TAG}bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(f"{_TAG}null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
# Anything that starts like a number; _construct_number keeps what is not one as text.
_Loader.add_implicit_resolver(
    f"{_TAG}int",
    re.compile(r"^(?:[-+]?[0-9][0-9A-Za-z_.+-]*|[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?)$"),
    list("-+.0123456789"),
)
_Loader.add_implicit_resolver(
    f"{_TAG}float", re.compile(r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+.")
)
_Loader.add_implicit_resolver(f"{_TAG}merge", re.compile(r"^<<$"), ["<"])

_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DIGITS = {
    2: re.compile(r"[01]+"),
    8: re.compile(r"[0-7]+"),
    10: re.compile(r"[0-9]+"),
    16: re.compile(r"[0-9a-fA-F]+"),
}


def _go_int(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 0, 64), falling back to ParseUint, as yaml.v3 does."""
    sign, digits = (-1, text[1:]) if text[:1] == "-" else (1, text[1:] if text[:1] == "+" else text)
    prefix = digits[:2].lower()
    if prefix in ("0x", "0o", "0b"):
        base, digits = {"0x": 16, "0o": 8, "0b": 2}[prefix], digits[2:]
    elif len(digits) > 1 and digits[0] == "0":
        base, digits = 8, digits[1:]
    else:
        base = 10
    if not _DIGITS[base].fullmatch(digits):
        return None
    value = sign * int(digits, base)
    return value if -(2**63) <= value < 2**64 else None


def _construct_number(loader: yaml.SafeLoader, node: ScalarNode) -> int | float | str:
    """A plain scalar that starts like a number, resolved as yaml.v3 does: an integer (Go
    syntax: 0x, 0o, 0b, a leading 0 for octal, underscores ignored), else a float, else text.
    Timestamps stay text: the spec parses dates."""
    text = node.value
    if re.match(r"[0-9]{4}-", text):
        return text
    plain = text.replace("_", "")
    whole = _go_int(plain)
    if whole is not None:
        return whole
    if _YAML_FLOAT.fullmatch(plain):
        return float(plain)
    return text


def _construct_float(loader: yaml.SafeLoader, node: ScalarNode) -> float:
    text = node.value.lower().replace("_", "")
    special = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
    if text in special:
        return special[text]
    try:
        return float(text)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"cannot read {clip(node.value)!r} as a number", node.start_mark
        ) from None


# Explicit YAML 1.1 tags that have no JSON form (the program receives JSON) are refused.
_Loader.yaml_constructors = {
    tag: constructor
    for tag, constructor in yaml.SafeLoader.yaml_constructors.items()
    if tag not in {f"{_TAG}{name}" for name in ("binary", "timestamp", "set", "omap", "pairs")}
}
_Loader.add_constructor(f"{_TAG}int", _construct_number)
_Loader.add_constructor(f"{_TAG}float", _construct_float)
# "<<" merges only as a mapping key (flatten_mapping); anywhere else it is text, as in yaml.v3.
_Loader.add_constructor(f"{_TAG}merge", lambda loader, node: node.value)

# What YAML accepts as text (YAML 1.2 section 5.1, as PyYAML's reader checks it).
_NOT_TEXT = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class _Document:
    data: Any
    node: Node | None


def _read_yaml(path: Path) -> _Document:
    raw = _read_bytes(path)
    text = _decode(path, raw)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if loader.duplicates:
            raise _refuse(
                path,
                [
                    f"line {line}: {key!r} is given twice (first at line {first}); YAML keeps only the last one "
                    "and the Pulumi CLI refuses the file: keep one"
                    for line, key, first in sorted(loader.duplicates)
                ],
                "keys given twice",
            )
        data = loader.construct_document(node) if node is not None else None
    except _Refused as refused:
        mark = refused.mark
        raise ConfigFileError(
            f"{path}: line {mark.line + 1}, column {mark.column + 1}: "
            + refused.problem.replace("{where}", loader.path())
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = clip(str(error.problem or error.context or "unreadable"))
        raise ConfigFileError(f"{path}: not valid YAML at {where}: {problem}") from None
    except yaml.YAMLError as error:
        raise ConfigFileError(f"{path}: not valid YAML: {clip(str(error))}") from None
    finally:
        loader.dispose()
    return _Document(data, node)


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigFileError(
                f"{path}: is {size:,} bytes; a stack config may be at most {MAX_FILE_BYTES:,} bytes (1 MiB)"
            )
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigFileError(f"{path}: is a directory, not a config file") from None
    except OSError as error:
        raise ConfigFileError(f"{path}: cannot be read ({error.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:  # grew, or a device: the limit holds whatever stat said
        raise ConfigFileError(f"{path}: is more than {MAX_FILE_BYTES:,} bytes; a stack config may be at most 1 MiB")
    return raw


def _decode(path: Path, raw: bytes) -> str:
    skipped = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    body = raw[skipped:]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as bad:
        line, column = _line_and_column(body[: bad.start].decode("utf-8"))
        inside = _where_in(body.decode("utf-8", errors="replace"), len(body[: bad.start].decode("utf-8")))
        raise ConfigFileError(
            f"{path}: not UTF-8 text: byte 0x{body[bad.start]:02x} at byte {bad.start + skipped} "
            f"(line {line}, column {column}{inside}); save the file as UTF-8"
        ) from None
    found = _NOT_TEXT.search(text)
    if found:
        line, column = _line_and_column(text[: found.start()])
        inside = _where_in(_NOT_TEXT.sub("\ufffd", text), found.start())
        raise ConfigFileError(
            f"{path}: contains the control character U+{ord(found.group()):04X} at line {line}, column {column}"
            f"{inside}, which YAML text may not hold (is this a binary file?)"
        )
    return text


def _line_and_column(before: str) -> tuple[int, int]:
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def _where_in(text: str, index: int) -> str:
    """``, in courier:domain``: the key whose value holds character ``index`` (best effort:
    empty when the rest of the file cannot be read either)."""
    try:
        # The loader's reader checks the text as it is built: garbage fails here already.
        loader = _Loader(text)
    except (yaml.YAMLError, _Refused, RecursionError):
        return ""
    try:
        node = loader.get_single_node()
    except (yaml.YAMLError, _Refused, RecursionError):
        return ""
    finally:
        loader.dispose()
    if node is None:
        return ""
    found = _path_to(node, index, [])
    return f", in {_render_path(found)}" if found else ""


def _path_to(node: Node, index: int, path: list[str]) -> list[str]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            label = clip(key.value, 60) if isinstance(key, ScalarNode) else "(key)"
            if key.start_mark.index <= index < key.end_mark.index:
                return [*path, label]
            if value.start_mark.index <= index <= value.end_mark.index:
                return _path_to(value, index, [*path, label])
    elif isinstance(node, SequenceNode):
        for position, item in enumerate(node.value):
            if item.start_mark.index <= index <= item.end_mark.index:
                return _path_to(item, index, [*path, f"[{position}]"])
    return path


# --------------------------------------------------------------------------------------
# Project and stack files.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    name: str
    root: Path
    stack_config_dir: Path

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.stack_config_dir.glob("Pulumi.*.yaml"))


def load_project(root: Path) -> Project:
    data = _read_yaml(root / "Pulumi.yaml").data
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
    document = _read_yaml(path)
    section = _config_section(path, document.data)
    _check_keys(path, section, _key_lines(document.node), project.name)
    config: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in section.items():
        plain, secret = _plain(value)
        config[key] = _top_level_text(plain)
        if secret:
            secrets.append(key)
    return config, secrets


def _config_section(path: Path, data: Any) -> dict[str, Any]:
    if data is not None and not isinstance(data, dict):
        raise ConfigFileError(
            f"{path}: must be a mapping with a 'config:' section (got {_kind(data)}); put the keys under config:"
        )
    data = data or {}
    if "config" not in data:
        stray = [str(k) for k in data]
        found = f" (found {_some(stray)} at the top level)" if stray else ""
        raise ConfigFileError(f"{path} has no 'config:' section; put the keys under config:{found}")
    stray = [str(k) for k in data if k not in STACK_FILE_KEYS]
    if stray:
        raise ConfigFileError(
            f"{path}: {_some(stray)} {'is' if len(stray) == 1 else 'are'} not stack file setting"
            f"{'' if len(stray) == 1 else 's'} (allowed: {', '.join(STACK_FILE_KEYS)}); "
            "config keys go under config:"
        )
    section = data["config"]
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigFileError(f"{path}: 'config' must be a mapping of key: value (got {_kind(section)})")
    return {str(k): v for k, v in section.items()}


def _check_keys(path: Path, section: dict[str, Any], lines: dict[str, int], project: str) -> None:
    """Every key must be one the program or a provider reads: a key without a namespace
    becomes ``<project>:<key>`` and would be silently ignored."""
    problems = []
    for key in section:
        at = f"line {lines[key]}: " if key in lines else ""
        shown = clip(key, 80)
        namespace, colon, name = key.partition(":")
        if not colon:
            problems.append(
                f"{at}{shown!r} has no namespace, so Pulumi reads it as '{project}:{clip(key, 60)}', which nothing "
                f"reads; did you mean '{NAMESPACE}:{clip(key, 60)}'?"
            )
        elif namespace not in ALLOWED_NAMESPACES:
            hint = difflib.get_close_matches(namespace, ALLOWED_NAMESPACES, n=1)
            suffix = f"; did you mean '{hint[0]}:{clip(name, 60)}'?" if hint else ""
            if namespace == project:
                suffix = f"; did you mean '{NAMESPACE}:{clip(name, 60)}'?"
            problems.append(
                f"{at}{shown!r} is in namespace {clip(namespace, 40)!r}, which this stack does not read "
                f"(allowed: {', '.join(ALLOWED_NAMESPACES)}){suffix}"
            )
    if problems:
        raise _refuse(path, problems, "config keys that nothing reads")


def _key_lines(root: Node | None) -> dict[str, int]:
    """Line of each key of the ``config:`` mapping."""
    if not isinstance(root, MappingNode):
        return {}
    for key, value in root.value:
        if isinstance(key, ScalarNode) and key.value == "config" and isinstance(value, MappingNode):
            return {k.value: k.start_mark.line + 1 for k, _ in value.value if isinstance(k, ScalarNode)}
    return {}


def _some(keys: list[str]) -> str:
    shown = ", ".join(repr(clip(k, 60)) for k in keys[:3])
    return shown + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


def _kind(value: Any) -> str:
    return {list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


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
