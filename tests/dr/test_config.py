"""The stack config after a region is lost and rebuilt (courier.dr.config): pure."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from courier.dr import config

ROOT = Path(__file__).resolve().parents[2]


def prod() -> dict:
    return yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())["config"]


def region(document: dict, name: str) -> dict:
    return next(r for r in document["courier:regions"] if r["name"] == name)


def test_losing_the_primary_promotes_the_next_aws_region_and_records_the_origin() -> None:
    rewrite = config.lose(prod(), "ap-southeast-1", "ap-southeast-3")
    doc = rewrite.config
    assert region(doc, "ap-southeast-1")["status"] == "lost"
    assert region(doc, "ap-southeast-1")["role"] == "primary"  # declared as it was
    assert region(doc, "ap-northeast-1")["role"] == "primary"
    assert rewrite.promoted == "ap-northeast-1"
    assert doc["courier:data"]["database"]["originRegion"] == "ap-southeast-1"
    rebuilt = region(doc, "ap-southeast-3")
    # The promoted region's old role, the lost one's settings, its own zones and a free range.
    assert rebuilt["role"] == "secondary"
    assert rebuilt["availabilityZones"] == ["ap-southeast-3a", "ap-southeast-3b", "ap-southeast-3c"]
    assert rebuilt["cidr"] == "10.50.0.0/16"
    assert rebuilt["quotas"] == region(doc, "ap-southeast-1")["quotas"]
    assert rebuilt["kubernetes"] == region(doc, "ap-southeast-1")["kubernetes"]
    assert "status" not in rebuilt
    notifications = next(s for s in doc["courier:services"] if s["name"] == "notifications")
    assert notifications["regions"] == ["ap-southeast-1", "ap-northeast-1", "ap-northeast-2", "ap-southeast-3"]
    # The input is untouched.
    assert "status" not in region(prod(), "ap-southeast-1")


def test_losing_a_secondary_moves_no_role_and_keeps_the_origin_unset() -> None:
    rewrite = config.lose(prod(), "ap-northeast-1", "ap-southeast-3")
    doc = rewrite.config
    assert rewrite.promoted is None
    assert region(doc, "ap-southeast-1")["role"] == "primary"
    assert region(doc, "ap-southeast-3")["role"] == "secondary"
    assert "courier:data" not in doc


def test_without_a_rebuild_only_the_loss_and_the_promotion_change() -> None:
    rewrite = config.lose(prod(), "ap-southeast-1")
    names = [r["name"] for r in rewrite.config["courier:regions"]]
    assert names == [r["name"] for r in prod()["courier:regions"]]
    assert [c.key for c in rewrite.changes if not c.key.startswith("courier:drills")] == [
        "courier:regions[ap-southeast-1].status",
        "courier:regions[ap-northeast-1].role",
        "courier:data.database.originRegion",
    ]
    # The game days follow the primary role, rebuild or not.
    moved = [r for r in rewrite.config["courier:drills"]["runs"] if r.get("region") == "ap-northeast-1"]
    assert [(r["drill"], r.get("service")) for r in moved] == [
        ("fleet-loss", "orders"),
        ("cpu-storm", "orders"),
        ("zone-outage", None),
        ("pod-delete", "notifications"),
    ]


def runs(document: dict) -> list[dict]:
    return document["courier:drills"]["runs"]


def test_a_lost_primarys_runs_stay_pinned_there_and_run_in_the_new_primary() -> None:
    before = runs(prod())
    rewrite = config.lose(prod(), "ap-southeast-1", "ap-southeast-3")
    after = runs(rewrite.config)
    # Declared as they were: the originals keep every setting, now naming the lost region.
    originals = after[: len(before)]
    assert [{k: v for k, v in r.items() if k != "region"} for r in originals] == before
    assert [r.get("region") for r in originals] == ["ap-southeast-1"] * 3 + [None, "ap-southeast-1"]
    # A copy of each in the promoted primary, enabled as it was; the region drill is not copied
    # (it moves the writer to the origin, the lost region).
    copies = after[len(before) :]
    assert all(r["region"] == "ap-northeast-1" for r in copies)
    assert [(r["drill"], r["enabled"], r["schedule"]) for r in copies] == [
        (r["drill"], r["enabled"], r["schedule"]) for r in before if r["drill"] != "region-switchover"
    ]
    assert "courier:drills.runs[5]" in [c.key for c in rewrite.changes]


def test_a_lost_secondarys_named_run_moves_to_the_rebuild_with_its_zone() -> None:
    document = prod()
    runs(document).append(
        {
            "drill": "zone-outage",
            "region": "ap-northeast-1",
            "zone": "ap-northeast-1c",
            "schedule": "cron(0 9 ? * MON#1 *)",
        }
    )
    runs(document).append({"drill": "pod-delete", "region": "ap-northeast-1", "service": "notifications"})
    services = {s["name"]: s for s in document["courier:services"]}
    services["notifications"]["regions"] = ["ap-southeast-1", "ap-northeast-1"]
    rewrite = config.lose(document, "ap-northeast-1", "ap-southeast-3")
    after = runs(rewrite.config)
    # The zone in the same position of the rebuild's zones (ap-northeast-1c is prod's second).
    assert region(document, "ap-northeast-1")["availabilityZones"].index("ap-northeast-1c") == 1
    outage = [r for r in after if r["drill"] == "zone-outage" and r.get("region") == "ap-southeast-3"]
    assert outage == [{**runs(document)[-2], "region": "ap-southeast-3", "zone": "ap-southeast-3b"}]
    # The primary's runs are not the lost secondary's: nothing else moves.
    assert sum(1 for r in after if r.get("region") == "ap-southeast-3") == 2
    # notifications ran in the lost region: the rebuild lists it, so its run follows.
    assert [r for r in after if r["drill"] == "pod-delete" and r.get("region") == "ap-southeast-3"]


def test_a_run_of_a_service_the_successor_does_not_run_is_not_copied() -> None:
    document = prod()
    services = {s["name"]: s for s in document["courier:services"]}
    services["notifications"]["regions"] = ["ap-southeast-1", "ap-northeast-2"]
    rewrite = config.lose(document, "ap-southeast-1")
    assert not [r for r in runs(rewrite.config) if r.get("region") == "ap-northeast-1" and r["drill"] == "pod-delete"]
    assert any(c.what == "not copied to ap-northeast-1: notifications does not run there" for c in rewrite.changes)


def test_a_lost_secondary_without_a_rebuild_moves_no_run() -> None:
    document = prod()
    runs(document).append({"drill": "fleet-loss", "region": "ap-northeast-2", "service": "orders"})
    rewrite = config.lose(document, "ap-northeast-2")
    assert runs(rewrite.config) == runs(document)
    assert not [c for c in rewrite.changes if c.key.startswith("courier:drills")]


@pytest.mark.parametrize(
    ("lose", "rebuild", "message"),
    [
        ("eu-west-9", None, "--lose 'eu-west-9': not a region of the stack"),
        ("cn-hangzhou", "cn-shanghai", "--rebuild-in 'cn-shanghai': cn-hangzhou's data replica"),
        ("cn-hangzhou", "ap-southeast-3", "--rebuild-in 'ap-southeast-3': a region of the other cloud"),
        ("ap-southeast-1", "mars-1", "--rebuild-in 'mars-1': not a known aws region"),
        ("ap-southeast-1", "ap-northeast-2", "--rebuild-in 'ap-northeast-2': already a region of the stack"),
        ("ap-southeast-1", "cn-shanghai", "--rebuild-in 'cn-shanghai': a region of the other cloud"),
    ],
)
def test_bad_regions_are_refused_with_one_line(lose: str, rebuild: str | None, message: str) -> None:
    with pytest.raises(config.DrInputError) as refused:
        config.lose(prod(), lose, rebuild)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)


def test_an_already_lost_region_cannot_be_lost_again() -> None:
    once = config.lose(prod(), "ap-southeast-1").config
    with pytest.raises(config.DrInputError, match="already lost"):
        config.lose(once, "ap-southeast-1")


def test_free_cidr_skips_every_range_in_use_including_data_replicas() -> None:
    assert config.free_cidr(["10.10.0.0/16", "10.20.0.0/16"]) == "10.30.0.0/16"
    assert config.free_cidr(["10.0.0.0/12"]) == "10.20.0.0/16"
    taken = config._taken_cidrs(prod()["courier:regions"])
    assert "10.41.0.0/16" in taken  # cn-hangzhou's data replica


def test_free_cidr_falls_back_to_any_range_and_says_when_none_is_left() -> None:
    tens = [f"10.{x}.0.0/16" for x in range(10, 256, 10)]
    assert config.free_cidr(tens) == "10.0.0.0/16"
    assert config.free_cidr([*tens, "10.0.0.0/16"]) == "10.1.0.0/16"
    with pytest.raises(config.DrInputError, match=r"no free 10\.x\.0\.0 range"):
        config.free_cidr(["10.0.0.0/8"])


def test_an_origin_already_recorded_is_kept() -> None:
    document = prod()
    document["courier:data"] = {"database": {"originRegion": "ap-northeast-2"}}
    rewrite = config.lose(document, "ap-southeast-1")
    assert rewrite.config["courier:data"]["database"]["originRegion"] == "ap-northeast-2"
    assert "courier:data.database.originRegion" not in [c.key for c in rewrite.changes]


def test_the_rebuild_gets_as_many_zones_as_the_lost_region_had() -> None:
    document = prod()
    region(document, "ap-northeast-1")["availabilityZones"] = ["ap-northeast-1a", "ap-northeast-1c"]
    rebuilt = region(config.lose(document, "ap-northeast-1", "ap-southeast-3").config, "ap-southeast-3")
    assert rebuilt["availabilityZones"] == ["ap-southeast-3a", "ap-southeast-3b"]
