"""Hostile or careless config input: each mistake exits 2 before anything is planned, names the
file and the key, and prints no traceback (issue 8, part 3).

The stack file is read as the Pulumi CLI reads it (Go's yaml.v3), so these also pin down where
that differs from PyYAML: duplicate keys, YAML 1.1 booleans, base-60 numbers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from courier import cli
from courier.stackconfig import (
    MAX_DEPTH,
    ConfigFileError,
    load_project,
    load_stack_config,
)
from tests.conftest import ROOT

DEV = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text(encoding="utf-8")


def candidate(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "candidate.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str) -> str:
    assert old in DEV
    return DEV.replace(old, new, 1)


def refused(capsys, path: Path, *extra: str) -> str:
    """Plan ``path`` as the dev stack; it must exit 2 with no traceback. Returns stderr."""
    code = cli.main(["plan", "dev", "--config-file", str(path), *extra])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    return err


def read(path: Path) -> dict[str, str]:
    config, _ = load_stack_config(load_project(ROOT), "dev", path)
    return config


# 1. Duplicate keys ---------------------------------------------------------------------


def test_rejects_a_duplicate_top_level_key_naming_both_lines(capsys, tmp_path: Path) -> None:
    path = candidate(tmp_path, edited("  courier:owner:", "  courier:environment: prod\n  courier:owner:"))
    err = refused(capsys, path)
    assert (
        f"{path}: line 6: 'courier:environment' is given twice (first at line 4); YAML keeps only the last one "
        "and the Pulumi CLI refuses the file: keep one"
    ) in err


def test_rejects_duplicate_keys_anywhere_listing_each(capsys, tmp_path: Path) -> None:
    path = candidate(
        tmp_path,
        edited("capacity: {min: 1, desired: 1, max: 3}", "capacity: {min: 1, desired: 1, max: 3, min: 2}").replace(
            "config:\n", "config:\n  courier:domain: first.example.com\n", 1
        ),
    )
    err = refused(capsys, path)
    assert f"{path}: 2 keys given twice:" in err
    assert "  line 6: 'courier:domain' is given twice (first at line 3)" in err
    # The first capacity line of the dev stack, one line down (the domain line added above).
    first = next(i for i, line in enumerate(DEV.splitlines(), 1) if "capacity: {min: 1, desired: 1, max: 3}" in line)
    assert f"'courier:services[0].capacity.min' is given twice (first at line {first + 1})" in err


def test_a_merge_key_may_override_what_it_merges(tmp_path: Path) -> None:
    path = candidate(tmp_path, DEV + "  courier:extra:\n    base: &b {x: 1, y: 2}\n    merged: {<<: *b, y: 3}\n")
    assert json.loads(read(path)["courier:extra"])["merged"] == {"x": 1, "y": 3}


# 2. Scalars as the Pulumi CLI reads them -----------------------------------------------


def test_yes_is_text_as_for_the_pulumi_cli_and_refused_as_a_number(capsys, tmp_path: Path) -> None:
    path = candidate(
        tmp_path, edited("      cidr: 10.100.0.0/16", "      cidr: 10.100.0.0/16\n      capacityPercent: yes")
    )
    err = refused(capsys, path)
    assert f"stack 'dev' ({path}) has invalid config; nothing was planned:" in err
    # Exactly one line: no "regions: must have at least 1 item" echo of the same mistake.
    assert err.strip().splitlines()[1:] == [
        "  courier:regions[ap-southeast-1].capacityPercent: must be a whole number (got 'yes')"
    ]


def test_a_boolean_is_not_a_number(capsys, tmp_path: Path) -> None:
    path = candidate(
        tmp_path, edited("      cidr: 10.100.0.0/16", "      cidr: 10.100.0.0/16\n      capacityPercent: true")
    )
    assert "courier:regions[ap-southeast-1].capacityPercent: must be a whole number (got true)" in refused(capsys, path)


def test_scalars_are_read_as_the_pulumi_cli_reads_them(tmp_path: Path) -> None:
    values = "[yes, no, on, off, y, true, False, ~, 1:30, 0x1F, 0o17, 017, 1_000, 1e3, .5, 2026-12-12, 1.42.0-dev]"
    path = candidate(tmp_path, DEV + f"  courier:extra: {values}\n  courier:flag: on\n")
    config = read(path)
    assert json.loads(config["courier:extra"]) == [
        *("yes", "no", "on", "off", "y", True, False, None, "1:30"),
        *(31, 15, 15, 1000, 1000.0, 0.5, "2026-12-12", "1.42.0-dev"),
    ]
    assert config["courier:flag"] == "on"


# 3. Bytes that are not UTF-8 text -------------------------------------------------------


def test_rejects_bytes_that_are_not_utf8_naming_line_and_key(capsys, tmp_path: Path) -> None:
    path = candidate(tmp_path, DEV.encode().replace(b"dev.courier.example.com", b"dev.courier\xff.example.com"))
    err = refused(capsys, path)
    offset = DEV.encode().index(b"dev.courier.example.com") + len(b"dev.courier")
    assert (
        f"{path}: not UTF-8 text: byte 0xff at byte {offset} (line 5, column 30, in courier:domain); "
        "save the file as UTF-8"
    ) in err


def test_rejects_binary_garbage(capsys, tmp_path: Path) -> None:
    path = candidate(tmp_path, b"config:\n  courier:environment: dev\x00\x01\x02\n")
    err = refused(capsys, path)
    assert (
        f"{path}: contains the control character U+0000 at line 2, column 27, in courier:environment, "
        "which YAML text may not hold (is this a binary file?)"
    ) in err


def test_a_utf8_byte_order_mark_is_dropped_as_the_cli_does(tmp_path: Path) -> None:
    path = candidate(tmp_path, b"\xef\xbb\xbf" + DEV.encode())
    assert read(path)["courier:environment"] == "dev"


# 4. Nesting ----------------------------------------------------------------------------


def test_rejects_deep_nesting_naming_where(capsys, tmp_path: Path) -> None:
    path = candidate(tmp_path, DEV + "  courier:deep: " + "[" * 5000 + "]" * 5000 + "\n")
    err = refused(capsys, path)
    # The 31st "[" opens level 33 (root and config: are levels 1 and 2).
    line = DEV.count("\n") + 1
    assert f"{path}: line {line}, column {17 + MAX_DEPTH - 2}: courier:deep{'[0]' * (MAX_DEPTH - 2)} is nested" in err
    assert f"is nested deeper than {MAX_DEPTH} levels; a stack config needs fewer than 10" in err
    assert "RecursionError" not in err


# 5. Moments ----------------------------------------------------------------------------


def test_rejects_a_promotion_start_given_as_a_unix_timestamp(capsys, tmp_path: Path) -> None:
    path = candidate(
        tmp_path,
        DEV
        + "  courier:promotions:\n"
        + "    - {name: sale, start: 1765468800, end: '2026-12-13T00:00:00+08:00', expectedPeakMultiplier: 2}\n",
    )
    assert (
        "courier:promotions[sale].start: must be an ISO 8601 date-time with a UTC offset, e.g. "
        "2026-11-11T00:00:00+08:00, not a Unix timestamp (got 1765468800)"
    ) in refused(capsys, path)


# 6. Namespaces and the config: wrapper --------------------------------------------------


def test_rejects_a_key_without_namespace_with_a_hint(capsys, tmp_path: Path) -> None:
    path = candidate(tmp_path, edited("  courier:owner:", "  owner:"))
    err = refused(capsys, path)
    assert (
        f"{path}: line 6: 'owner' has no namespace, so Pulumi reads it as 'courier-platform:owner', which "
        "nothing reads; did you mean 'courier:owner'?"
    ) in err


def test_rejects_namespaces_the_stack_does_not_read(capsys, tmp_path: Path) -> None:
    path = candidate(
        tmp_path,
        edited("  courier:domain:", "  courer:domain:").replace("  courier:owner:", "  courier-platform:owner:"),
    )
    err = refused(capsys, path)
    assert f"{path}: 2 config keys that nothing reads:" in err
    assert (
        "  line 5: 'courer:domain' is in namespace 'courer', which this stack does not read "
        "(allowed: courier, pulumi, aws, alicloud, kubernetes); did you mean 'courier:domain'?"
    ) in err
    assert "  line 6: 'courier-platform:owner' is in namespace 'courier-platform'" in err
    assert "did you mean 'courier:owner'?" in err


def test_provider_namespaces_are_allowed(tmp_path: Path) -> None:
    path = candidate(tmp_path, DEV + "  aws:region: ap-southeast-1\n  kubernetes:context: ops\n")
    config = read(path)
    assert config["aws:region"] == "ap-southeast-1"
    assert config["pulumi:disable-default-providers"] == '["*"]'


def test_a_file_without_the_config_wrapper_is_one_clear_error(capsys, tmp_path: Path) -> None:
    unwrapped = "\n".join(line[2:] for line in DEV.splitlines() if line.startswith("  "))
    path = candidate(tmp_path, unwrapped + "\n")
    err = refused(capsys, path)
    assert err.strip().splitlines() == [
        f"error: {path} has no 'config:' section; put the keys under config: (found "
        "'pulumi:disable-default-providers', 'courier:environment', 'courier:domain' and 4 more at the top level)"
    ]


def test_an_empty_file_has_no_config_section(capsys, tmp_path: Path) -> None:
    path = candidate(tmp_path, "# nothing yet\n")
    assert f"{path} has no 'config:' section; put the keys under config:" in refused(capsys, path)


def test_rejects_config_keys_outside_the_config_section(capsys, tmp_path: Path) -> None:
    path = candidate(tmp_path, DEV + "courier:environment: prod\n")
    assert (
        f"{path}: 'courier:environment' is not stack file setting (allowed: config, environment, "
        "secretsprovider, encryptedkey, encryptionsalt); config keys go under config:"
    ) in refused(capsys, path)


# 7. Floods -------------------------------------------------------------------------------


def test_a_long_value_is_echoed_shortened(capsys, tmp_path: Path) -> None:
    path = candidate(tmp_path, edited("dev.courier.example.com", "x" * 500_000))
    err = refused(capsys, path)
    line = next(line for line in err.splitlines() if "courier:domain" in line)
    assert "x…x" in line
    assert len(line) < 350


def test_a_file_over_a_mebibyte_is_refused_unread(capsys, tmp_path: Path) -> None:
    path = candidate(tmp_path, edited("dev.courier.example.com", "x" * 2_000_000))
    err = refused(capsys, path)
    size = path.stat().st_size
    assert f"{path}: is {size:,} bytes; a stack config may be at most 1,048,576 bytes (1 MiB)" in err
    assert len(err) < 300


def test_an_alias_bomb_is_refused_quickly(capsys, tmp_path: Path) -> None:
    bomb = "  courier:lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"  courier:lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)
    )
    path = candidate(tmp_path, DEV + bomb)
    started = time.perf_counter()
    err = refused(capsys, path)
    assert time.perf_counter() - started < 10
    assert (
        "the document holds more than 100,000 values once its aliases are expanded (the limit is reached in "
        "courier:lol4)"
    ) in err
    assert err.startswith(f"error: {path}: line {DEV.count(chr(10)) + 5}, column ")


def test_a_recursive_alias_is_refused(capsys, tmp_path: Path) -> None:
    path = candidate(tmp_path, DEV + "  courier:loop: &loop [a, *loop]\n")
    assert "courier:loop: alias *loop refers to the value that contains it" in refused(capsys, path)


def test_at_most_a_screenful_of_problems_is_listed(capsys, tmp_path: Path) -> None:
    path = candidate(tmp_path, DEV + "".join(f"  courier:unknown{i:02}: x\n" for i in range(45)))
    lines = refused(capsys, path).strip().splitlines()
    assert len(lines) == 1 + 30 + 1
    assert lines[1].startswith("  courier:unknown00: unknown config key")
    assert lines[-1] == "  ... and 15 more problems"


def test_config_file_problems_are_capped_too() -> None:
    error = ConfigFileError("f.yaml: 40 keys given twice:", [f"line {n}" for n in range(40)])
    assert error.lines()[-1] == "... and 10 more problems"
    assert len(error.lines()) == 31


# 8. Instance types ---------------------------------------------------------------------


def test_rejects_unknown_instance_types_with_a_hint(capsys, tmp_path: Path) -> None:
    path = candidate(tmp_path, edited("instanceTypes: [t3.medium]", "instanceTypes: [t3.medum]"))
    assert (
        "courier:services[orders].instanceTypes[0]: is not an EC2 instance type (got 't3.medum'); did you mean "
        "'t3.medium'? t3 comes in nano, micro, small, medium, large, xlarge, 2xlarge"
    ) in refused(capsys, path)


# 9. Output paths -----------------------------------------------------------------------


@pytest.fixture
def no_planning(monkeypatch):
    def planned(*_args, **_kwargs):
        raise AssertionError("a plan was made although an output path cannot be written")

    monkeypatch.setattr(cli, "make_plan", planned)


@pytest.mark.parametrize(
    ("option", "where", "expected"),
    [
        ("--out", "a-file", "is a file, not a directory (--out writes plan.json and the artifacts into a directory)"),
        ("--out", "a-file/out", "cannot be written: Not a directory"),
        ("--markdown", "missing/summary.md", "is in a directory that does not exist ({tmp}/missing)"),
        ("--markdown", ".", "is a directory; give the file to append the Markdown summary to"),
        ("--markdown", "a-file/summary.md", "is under {tmp}/a-file, which is a file, not a directory"),
        # Permission bits say nothing for root or /proc: the paths are tried for real.
        ("--out", "/proc/courier-out", "cannot be written: No such file or directory"),
        ("--markdown", "/proc/courier.md", "cannot be written: No such file or directory"),
    ],
    ids=[
        "out_is_a_file",
        "out_under_a_file",
        "markdown_in_a_missing_directory",
        "markdown_is_a_directory",
        "markdown_under_a_file",
        "out_on_proc",
        "markdown_on_proc",
    ],
)
def test_unwritable_outputs_fail_before_planning(capsys, tmp_path: Path, no_planning, option, where, expected) -> None:
    (tmp_path / "a-file").write_text("taken\n")
    target = tmp_path / where
    code = cli.main(["plan", "dev", option, str(target)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: {option} {target}: {expected.format(tmp=tmp_path)}" in err
    assert "nothing was planned" in err
    assert "Traceback" not in err


def test_rejects_random_binary_bytes_naming_the_file(capsys, tmp_path: Path) -> None:
    import random

    noise = random.Random(8).randbytes(4096)
    path = candidate(tmp_path, noise)
    err = refused(capsys, path)
    assert f"error: {path}: not UTF-8 text" in err
    # Invalid UTF-8 mixed with control characters once crashed while locating the key.
    mixed = candidate(tmp_path, b'config:\n  courier:environment: "\xff\x00\x01dev"\n')
    assert "not UTF-8 text: byte 0xff" in refused(capsys, mixed)
