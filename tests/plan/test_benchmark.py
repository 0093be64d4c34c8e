"""The benchmark's synthetic stack stays a valid prod-shaped config as the shipped prod grows."""

from __future__ import annotations

from tests.builders import spec_of
from tests.conftest import ROOT


def test_synthetic_stack_is_valid_and_spans_the_requested_regions() -> None:
    import importlib.util

    loader = importlib.util.spec_from_file_location("plan_benchmark", ROOT / "benchmarks" / "plan_benchmark.py")
    assert loader is not None and loader.loader is not None
    benchmark = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(benchmark)

    config = benchmark.synthetic_config(10)["config"]
    values = {k.removeprefix("courier:"): v for k, v in config.items() if k.startswith("courier:")}
    spec = spec_of(values, stack="synthetic")
    assert len(spec.regions) == 10 and {r.cloud for r in spec.regions} == {"aws"}
    assert all(len(spec.services_in(r)) == len(spec.services) for r in spec.regions)
