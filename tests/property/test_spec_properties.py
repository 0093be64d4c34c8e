"""Property tests for config validation: what is accepted, and what each rejection says."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.spec import SpecError
from tests.builders import spec_of, valid_config


def with_cpu_target(value: Any) -> dict[str, Any]:
    config = copy.deepcopy(valid_config())
    config["services"][0]["scaling"] = {"cpuTarget": value}
    return config


@given(st.integers(min_value=-1000, max_value=1000))
def test_cpu_target_accepted_exactly_between_10_and_95(target: int) -> None:
    if 10 <= target <= 95:
        assert spec_of(with_cpu_target(target)).services[0].scaling.cpu_target == target
    else:
        with pytest.raises(SpecError) as raised:
            spec_of(with_cpu_target(target))
        assert [str(p) for p in raised.value.problems] == [
            f"courier:services[orders].scaling.cpuTarget: must be between 10 and 95 (got {target})"
        ]


@given(
    minimum=st.integers(0, 60),
    desired=st.integers(0, 60),
    maximum=st.integers(1, 60),
)
def test_capacity_accepted_only_when_ordered(minimum: int, desired: int, maximum: int) -> None:
    config = copy.deepcopy(valid_config("dev"))
    config["regions"].pop()
    config["promotions"] = []
    config["services"][0]["capacity"] = {"min": minimum, "desired": desired, "max": maximum}
    ordered = minimum <= desired <= maximum and minimum >= 1
    if ordered:
        spec = spec_of(config)
        assert spec.services[0].capacity.as_capacity().desired == desired
    else:
        with pytest.raises(SpecError) as raised:
            spec_of(config)
        assert all(str(p).startswith("courier:services[orders].capacity") for p in raised.value.problems)


service_names = st.from_regex(r"[a-z][a-z0-9]{1,12}", fullmatch=True)


@given(names=st.lists(service_names, min_size=1, max_size=6, unique=True), target=st.integers(10, 95))
def test_any_set_of_well_formed_services_is_accepted(names: list[str], target: int) -> None:
    config = copy.deepcopy(valid_config())
    config["services"] = [
        {
            "name": name,
            "port": 8000 + i,
            "instanceTypes": ["m6i.large"],
            "artifact": {"digest": "sha256:" + "0" * 64},
            "capacity": {"min": 2, "desired": 3, "max": 30},
            "scaling": {"cpuTarget": target},
        }
        for i, name in enumerate(names)
    ]
    spec = spec_of(config)
    assert [s.name for s in spec.services] == names
    assert {s.scaling.cpu_target for s in spec.services} == {target}


def services_named(names: list[str]) -> dict[str, Any]:
    config = copy.deepcopy(valid_config())
    config["services"] = [
        {
            "name": name,
            "port": 8000 + i,
            "instanceTypes": ["m6i.large"],
            "artifact": {"digest": "sha256:" + "0" * 64},
            "capacity": {"min": 2, "desired": 3, "max": 30},
        }
        for i, name in enumerate(names)
    ]
    return config


@given(names=st.lists(service_names, min_size=2, max_size=6, unique=True), data=st.data())
def test_a_service_is_named_by_its_name_unless_another_shares_it(names: list[str], data: st.DataObject) -> None:
    bad = data.draw(st.integers(0, len(names) - 1))
    config = services_named(names)
    config["services"][bad]["scaling"] = {"cpuTarget": 150}
    expected = "scaling.cpuTarget: must be between 10 and 95 (got 150)"
    with pytest.raises(SpecError) as raised:
        spec_of(config)
    assert [str(p) for p in raised.value.problems] == [f"courier:services[{names[bad]}].{expected}"]
    # Another service called the same: the name no longer tells them apart, the position does.
    other = data.draw(st.integers(0, len(names) - 1).filter(lambda i: i != bad))
    config["services"][other]["name"] = names[bad]
    with pytest.raises(SpecError) as raised:
        spec_of(config)
    assert f"courier:services[{bad}].{expected}" in [str(p) for p in raised.value.problems]


@given(hours=st.integers(-48, 48))
def test_promotion_end_must_follow_start(hours: int) -> None:
    from datetime import datetime, timedelta, timezone

    config = copy.deepcopy(valid_config())
    start = datetime(2026, 12, 12, tzinfo=timezone(timedelta(hours=8)))
    config["promotions"][0]["start"] = start.isoformat()
    config["promotions"][0]["end"] = (start + timedelta(hours=hours)).isoformat()
    if hours > 0:
        assert spec_of(config).promotions[0].end > spec_of(config).promotions[0].start
    else:
        with pytest.raises(SpecError) as raised:
            spec_of(config)
        assert [p.path for p in raised.value.problems] == ["courier:promotions[double-12].end"]
