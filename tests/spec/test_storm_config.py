"""courier:storm and the surge scaling keys: defaults per environment, and clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from components.spec import SpecError
from components.spec.storm import DEFAULT_ASSUMPTIONS, resolved
from tests.builders import HANGZHOU, mutated, spec_of, valid_config


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as raised:
        spec_of(config)
    return [str(p) for p in raised.value.problems]


def test_prod_scales_on_10_second_cpu_with_a_saturation_step_and_a_pool_for_it() -> None:
    spec = spec_of(valid_config("prod"))
    service = spec.services[0]
    region = spec.regions[0]
    assert spec.high_resolution(service) is True
    assert spec.surge_step_percent(service) == 250
    desired = spec.capacity(service, region).desired
    assert spec.warm_pool_size(service, region) == -(-desired * 250 // 100)
    assert spec.storm_objectives is not None and spec.storm_objectives.surge is not None


def test_elsewhere_neither_and_no_objectives() -> None:
    spec = spec_of(valid_config("staging"))
    service = spec.services[0]
    assert (spec.high_resolution(service), spec.surge_step_percent(service), spec.storm_objectives) == (False, 0, None)


def test_assumptions_resolve_service_then_stack_then_default() -> None:
    def change(config: dict[str, Any]) -> None:
        config["storm"] = {"assumptions": {"bootSeconds": 200}, "services": {"orders": {"bootSeconds": 90}}}

    spec = spec_of(mutated(change))
    assert resolved(spec.storm, "orders")["bootSeconds"] == 90
    assert resolved(spec.storm, "dispatch")["bootSeconds"] == 200
    assert resolved(spec.storm, "dispatch")["warmResumeSeconds"] == DEFAULT_ASSUMPTIONS.warm_resume_seconds


@pytest.mark.parametrize(
    ("storm", "expected"),
    [
        (
            {"services": {"ordres": {"bootSeconds": 90}}},
            "courier:storm.services.ordres: is not a service of this stack",
        ),
        (
            {"assumptions": {"bootSeconds": 5}},
            "courier:storm.assumptions.bootSeconds: must be between 10 and 3600 (got 5)",
        ),
        ({"assumptions": {"normalCpu": 50}}, "courier:storm.assumptions.normalCpu: unknown key"),
        (
            {
                "objectives": {
                    "exempt": [{"objective": "surge", "region": "eu-west-9", "reason": "a reason long enough here"}]
                }
            },
            "courier:storm.objectives.exempt[0].region: is not a region of this stack",
        ),
        (
            {"objectives": {"exempt": [{"objective": "surge", "reason": "short"}]}},
            "courier:storm.objectives.exempt[0].reason: string should have at least 20 characters",
        ),
    ],
)
def test_bad_storm_config_is_refused_with_its_key(storm: dict[str, Any], expected: str) -> None:
    found = problems(mutated(lambda config: config.__setitem__("storm", storm)))
    assert any(p.startswith(expected) or expected in p for p in found), found


def test_a_surge_step_needs_high_resolution() -> None:
    def change(config: dict[str, Any]) -> None:
        config["services"][0]["scaling"] = {"surgeStepPercent": 200, "highResolution": False}

    assert any(
        p.startswith("courier:services[orders].scaling.surgeStepPercent: needs highResolution")
        for p in problems(mutated(change))
    )


def test_vcpus_from_the_table_or_the_size_name() -> None:
    from components import catalog

    assert [
        catalog.vcpus(t) for t in ("c6i.xlarge", "c7g.large", "m7i.4xlarge", "t3.small", "t3.xlarge", "c6i.metal")
    ] == [
        4,
        2,
        16,
        2,
        4,
        None,
    ]
    assert catalog.standard_family("m6i.large") and not catalog.standard_family("g5.xlarge")
    assert not catalog.standard_family("inf2.xlarge") and not catalog.standard_family("p5.48xlarge")


def test_the_peak_must_fit_the_regions_quota() -> None:
    spec = spec_of(valid_config("prod"))
    region = spec.regions[0]
    peak, unknown = spec.peak_standard_vcpus(region)
    assert unknown == []

    def tight(config: dict[str, Any]) -> None:
        config["regions"][0]["quotas"] = {"onDemandStandardVcpus": peak - 1}

    def enough(config: dict[str, Any]) -> None:
        config["regions"][0]["quotas"] = {"onDemandStandardVcpus": peak}

    [problem] = problems(mutated(tight))
    assert problem.startswith(
        f"courier:regions[ap-southeast-1].quotas.onDemandStandardVcpus: is below the peak: every fleet and node group of {region.name} "
        f"at its largest maximum runs {peak} vCPUs"
    )
    assert spec_of(mutated(enough)).regions[0].quotas is not None


def test_quotas_are_for_aws_regions() -> None:
    def change(config: dict[str, Any]) -> None:
        config["regions"].append({**HANGZHOU, "quotas": {"onDemandStandardVcpus": 100}})

    assert (
        "courier:regions[cn-hangzhou].quotas: is for AWS regions (EC2 quotas); cn-hangzhou is an Alibaba Cloud region"
        in problems(mutated(change))
    )
