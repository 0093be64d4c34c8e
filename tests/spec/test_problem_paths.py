"""Config errors name list items by their name (``services[orders]``), by position only when the
name cannot tell the item apart, and suggest the nearest real region, zone or instance type."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import catalog
from components.spec import SpecError
from components.spec.fields import closest, did_you_mean, nearest
from tests.builders import HANGZHOU, mutated, spec_of


def problems_of(config: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as raised:
        spec_of(config)
    return [str(p) for p in raised.value.problems]


def problems_after(change: Any) -> list[str]:
    return problems_of(mutated(change))


def with_hangzhou(**changes: Any):
    def change(config: dict[str, Any]) -> None:
        config["regions"].append(dict(HANGZHOU, **changes))

    return change


# --------------------------------------------------------------------------------------
# (a) List items by name: pydantic's errors and the cross-field rules alike.
# --------------------------------------------------------------------------------------

# (id, mutation, the exact problem line expected)
BY_NAME = [
    (
        "service_field",
        lambda c: c["services"][1].update(scaling={"cpuTarget": 150}),
        "courier:services[payments].scaling.cpuTarget: must be between 10 and 95 (got 150)",
    ),
    (
        "service_rule",
        lambda c: c["services"][1].update(capacity={"min": 4, "desired": 3, "max": 20}),
        "courier:services[payments].capacity: must satisfy min <= desired <= max (got min=4, desired=3, max=20)",
    ),
    (
        "service_nested_list_keeps_its_position",
        lambda c: c["services"][1].update(instanceTypes=["large"]),
        "courier:services[payments].instanceTypes[0]: must be an EC2 instance type such as c6i.large (got 'large')",
    ),
    (
        "region_field",
        lambda c: c["regions"][1].update(capacityPercent=0),
        "courier:regions[ap-northeast-1].capacityPercent: must be between 1 and 100 (got 0)",
    ),
    (
        "region_rule",
        lambda c: c["regions"][1].update(cidr="8.8.0.0/16"),
        "courier:regions[ap-northeast-1].cidr: must be a private (RFC 1918) range (got '8.8.0.0/16')",
    ),
    (
        "alicloud_region",
        with_hangzhou(role="standby"),
        "courier:regions[cn-hangzhou].role: an Alibaba Cloud region serves mainland China as an active region and "
        "must be 'secondary' (got 'standby')",
    ),
    (
        "promotion_field",
        lambda c: c["promotions"][0].update(expectedPeakMultiplier=0.5),
        "courier:promotions[double-12].expectedPeakMultiplier: must be between 1.1 and 20 (got 0.5)",
    ),
    (
        "promotion_rule",
        lambda c: c["promotions"][0].update(end="2026-12-11T00:00:00+08:00"),
        "courier:promotions[double-12].end: must be after start 2026-12-12T00:00:00+08:00 "
        "(got 2026-12-11T00:00:00+08:00)",
    ),
    # Other items a message mentions are named the same way.
    (
        "mentioned_service",
        lambda c: c["services"][1].update(port=8080),
        "courier:services[payments].port: is already used by services[orders] (got 8080)",
    ),
    (
        "mentioned_region",
        lambda c: c["regions"][1].update(cidr="10.10.128.0/17"),
        "courier:regions[ap-northeast-1].cidr: overlaps regions[ap-southeast-1].cidr 10.10.0.0/16 (got "
        "'10.10.128.0/17'); regions need distinct ranges so they can be peered for replication",
    ),
    (
        "mentioned_promotion",
        lambda c: c["promotions"].append(
            dict(
                c["promotions"][0],
                name="flash-sale",
                start="2026-12-13T01:30:00+08:00",
                end="2026-12-13T05:00:00+08:00",
            )
        ),
        "courier:promotions[flash-sale].start: its window (including prewarmMinutes) overlaps promotions[double-12]; "
        "overlapping schedules would restore capacity in the middle of the other promotion, so merge them into one "
        "(got 2026-12-13T01:30:00+08:00)",
    ),
    (
        "mentioned_service_by_a_promotion",
        lambda c: c["services"][0].update(capacity={"min": 2, "desired": 400, "max": 800}),
        "courier:promotions[double-12].expectedPeakMultiplier: would need 1500 instances of services[orders], "
        "above the 1000-instance limit (got 3)",
    ),
]


@pytest.mark.parametrize(("mutation", "expected"), [(m, e) for _, m, e in BY_NAME], ids=[i for i, _, _ in BY_NAME])
def test_list_items_are_named_by_their_name(mutation, expected: str) -> None:
    problems = problems_after(mutation)
    assert expected in problems, "\n".join(problems)


def test_items_are_named_alike_when_some_items_do_not_parse() -> None:
    # services[payments] fails to parse (pydantic's error); the rules still check orders.
    def change(config: dict[str, Any]) -> None:
        config["services"][1]["port"] = "x"
        config["services"][0]["capacity"] = {"min": 4, "desired": 3, "max": 20}

    assert problems_after(change) == [
        "courier:services[orders].capacity: must satisfy min <= desired <= max (got min=4, desired=3, max=20)",
        "courier:services[payments].port: must be a whole number (got 'x')",
    ]


# --------------------------------------------------------------------------------------
# (a) The position, when the name cannot tell the item apart.
# --------------------------------------------------------------------------------------

BY_POSITION = [
    (
        "name_missing",
        lambda c: (c["services"][1].pop("name"), c["services"][1].update(port=80)),
        ["courier:services[1].name: is required", "courier:services[1].port: must be between 1024 and 65535 (got 80)"],
    ),
    (
        "name_invalid",
        lambda c: c["services"][1].update(name="Payments!", port=80),
        ["courier:services[1].port: must be between 1024 and 65535 (got 80)"],
    ),
    (
        "name_only_digits",
        # A promotion called 1111 (Singles' Day) would read as a position: promotions[1111].
        lambda c: c["promotions"][0].update(name="1111", expectedPeakMultiplier=0.5),
        ["courier:promotions[0].expectedPeakMultiplier: must be between 1.1 and 20 (got 0.5)"],
    ),
    (
        "region_unknown",
        lambda c: c["regions"][1].update(name="mars-1", capacityPercent=0),
        ["courier:regions[1].capacityPercent: must be between 1 and 100 (got 0)"],
    ),
    (
        "region_cloud_unknown",
        lambda c: c["regions"][1].update(cloud="gcp", capacityPercent=0),
        ["courier:regions[1].capacityPercent: must be between 1 and 100 (got 0)"],
    ),
    (
        "a_name_two_items_share",
        # Both items are addressed by position, the first too: services[orders] would be ambiguous.
        lambda c: (
            c["services"][1].update(name="orders"),
            c["services"][0].update(capacity={"min": 4, "desired": 3, "max": 20}),
        ),
        [
            "courier:services[0].capacity: must satisfy min <= desired <= max (got min=4, desired=3, max=20)",
            "courier:services[1].name: duplicates services[0] (got 'orders')",
        ],
    ),
    (
        "a_region_name_in_both_clouds",
        lambda c: c["regions"].append(
            dict(
                HANGZHOU,
                name="ap-southeast-1",
                availabilityZones=["ap-southeast-1a", "ap-southeast-1b"],
                dataReplica=None,
                certificateId=None,
            )
        ),
        ["courier:regions[2].certificateId: is required for an Alibaba Cloud region"],
    ),
    (
        "a_shared_name_mentioned_with_its_position",
        lambda c: c["promotions"].append(
            dict(c["promotions"][0], start="2026-12-13T01:30:00+08:00", end="2026-12-13T05:00:00+08:00")
        ),
        [
            "courier:promotions[1].name: duplicates promotions[0] (got 'double-12')",
            "courier:promotions[1].start: its window (including prewarmMinutes) overlaps promotions[0] 'double-12'; "
            "overlapping schedules would restore capacity in the middle of the other promotion, so merge them into "
            "one (got 2026-12-13T01:30:00+08:00)",
        ],
    ),
]


@pytest.mark.parametrize(
    ("mutation", "expected"), [(m, e) for _, m, e in BY_POSITION], ids=[i for i, _, _ in BY_POSITION]
)
def test_an_item_without_a_telling_name_is_named_by_position(mutation, expected: list[str]) -> None:
    problems = problems_after(mutation)
    for line in expected:
        assert any(p.startswith(line) for p in problems), "\n".join(problems)


def test_a_shared_name_that_does_not_parse_still_keeps_the_other_item_positional() -> None:
    # The second 'orders' fails to parse, so no rule sees it; the first is still not named by it.
    def change(config: dict[str, Any]) -> None:
        config["services"][1].update(name="orders", port="x")
        config["services"][0]["capacity"] = {"min": 4, "desired": 3, "max": 20}

    assert problems_after(change) == [
        "courier:services[0].capacity: must satisfy min <= desired <= max (got min=4, desired=3, max=20)",
        "courier:services[1].port: must be a whole number (got 'x')",
    ]


# --------------------------------------------------------------------------------------
# (b) Did you mean: regions, zones, instance types.
# --------------------------------------------------------------------------------------

HINTS = [
    (
        "region_misspelled",
        lambda c: c["regions"][1].update(name="ap-northeat-1"),
        "courier:regions[1].name: is not an AWS region (got 'ap-northeat-1'; known: ",
        "; did you mean 'ap-northeast-1'?",
    ),
    (
        "region_of_the_other_cloud",
        lambda c: c["regions"][1].update(name="cn-hangzhou"),
        "courier:regions[1].name: is not an AWS region (got 'cn-hangzhou'; known: ",
        "; cn-hangzhou is an Alibaba Cloud region (set cloud: alicloud)",
    ),
    (
        "alicloud_region_misspelled",
        with_hangzhou(name="cn-hangzou"),
        "courier:regions[2].name: is not an Alibaba Cloud region (got 'cn-hangzou'; known: ",
        "; did you mean 'cn-hangzhou'?",
    ),
    (
        "service_region_misspelled",
        lambda c: c["services"][0].update(regions=["ap-southeast-1", "ap-northeast1"]),
        "courier:services[orders].regions[1]: is not a configured region (got 'ap-northeast1'; configured: "
        "ap-northeast-1, ap-southeast-1)",
        "; did you mean 'ap-northeast-1'?",
    ),
    (
        "data_replica_misspelled",
        with_hangzhou(
            dataReplica={
                "name": "cn-shangai",
                "availabilityZones": ["cn-shanghai-e", "cn-shanghai-f"],
                "cidr": "10.41.0.0/16",
            }
        ),
        "courier:regions[cn-hangzhou].dataReplica.name: is not an Alibaba Cloud region (got 'cn-shangai'; known: ",
        "; did you mean 'cn-shanghai'?",
    ),
    (
        "origin_region_misspelled",
        lambda c: c.update(data={"database": {"originRegion": "ap-southeast1"}}),
        "courier:data.database.originRegion: must be one of the stack's AWS regions, the one whose cluster created "
        "the global database (got 'ap-southeast1'; AWS regions: ap-southeast-1, ap-northeast-1)",
        "; did you mean 'ap-southeast-1'?",
    ),
    (
        "zone_misspelled",
        lambda c: c["regions"][0]["availabilityZones"].__setitem__(2, "ap-southeast1c"),
        "courier:regions[ap-southeast-1].availabilityZones[2]: is not a zone of ap-southeast-1 (got "
        "'ap-southeast1c'; known: ap-southeast-1a, ap-southeast-1b, ap-southeast-1c)",
        "; did you mean 'ap-southeast-1c'?",
    ),
    (
        "alicloud_zone_misspelled",
        with_hangzhou(availabilityZones=["cn-hangzhou-h", "cn-hangzhou-j", "cn-hangzhoui"]),
        "courier:regions[cn-hangzhou].availabilityZones[2]: is not a zone of cn-hangzhou (got 'cn-hangzhoui'; "
        "known: cn-hangzhou-b, cn-hangzhou-f, cn-hangzhou-g, cn-hangzhou-h, cn-hangzhou-i, cn-hangzhou-j, "
        "cn-hangzhou-k)",
        "; did you mean 'cn-hangzhou-i'?",
    ),
    (
        "data_replica_zone_misspelled",
        with_hangzhou(
            dataReplica={
                "name": "cn-shanghai",
                "availabilityZones": ["cn-shanghai-e", "cn-shanghaif"],
                "cidr": "10.41.0.0/16",
            }
        ),
        "courier:regions[cn-hangzhou].dataReplica.availabilityZones[1]: is not a zone of cn-shanghai (got "
        "'cn-shanghaif'; zones: ",
        "; did you mean 'cn-shanghai-f'?",
    ),
    (
        "instance_type_misspelled",
        lambda c: c["services"][1].update(instanceTypes=["m6i.lareg"]),
        "courier:services[payments].instanceTypes[0]: is not an EC2 instance type (got 'm6i.lareg')",
        "; did you mean 'm6i.large'? m6i comes in large, ",
    ),
    (
        "node_type_the_stack_cannot_size",
        # A real EC2 type (it passes the EC2 catalogue) that the node catalogue lacks.
        lambda c: c["regions"][0].update(kubernetes={"nodeInstanceTypes": ["r5.large"]}),
        "courier:regions[ap-southeast-1].kubernetes.nodeInstanceTypes[0]: is not a node type the stack can size "
        "(got 'r5.large'; known: t3.medium, ",
        "r6i.xlarge); did you mean 'r6i.large'?",
    ),
    (
        "storm_exemption_region_misspelled",
        lambda c: c.update(
            storm={"objectives": {"exempt": [{"objective": "surge", "region": "ap-northeast1", "reason": "x" * 20}]}}
        ),
        "courier:storm.objectives.exempt[0].region: is not a region of this stack (regions: ap-southeast-1, "
        "ap-northeast-1)",
        "; did you mean 'ap-northeast-1'?",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "start", "hint"), [(m, s, h) for _, m, s, h in HINTS], ids=[i for i, _, _, _ in HINTS]
)
def test_a_misspelling_gets_the_nearest_real_name(mutation, start: str, hint: str) -> None:
    problems = problems_after(mutation)
    line = next((p for p in problems if p.startswith(start)), None)
    assert line is not None, "\n".join(problems)
    assert hint in line and line.count("did you mean") <= 1, line


@pytest.mark.parametrize(
    ("mutation", "start"),
    [
        # As near to every zone of the region: the list alone, no coin toss.
        (
            lambda c: c["regions"][0]["availabilityZones"].__setitem__(2, "ap-southeast-1z"),
            "courier:regions[ap-southeast-1].availabilityZones[2]: is not a zone of ap-southeast-1",
        ),
        (lambda c: c["regions"][1].update(name="ap-southeast-9"), "courier:regions[1].name: is not an AWS region"),
        (lambda c: c["regions"][1].update(name="atlantis"), "courier:regions[1].name: is not an AWS region"),
    ],
    ids=["zone_equally_near_all", "region_equally_near_several", "region_near_none"],
)
def test_no_suggestion_when_none_is_clearly_nearest(mutation, start: str) -> None:
    line = next(p for p in problems_after(mutation) if p.startswith(start))
    assert "did you mean" not in line and "known: " in line


def test_closest_picks_one_clear_candidate_or_none() -> None:
    assert closest("ap-southest-1", ["ap-southeast-1", "ap-southeast-2", "us-east-1"]) == "ap-southeast-1"
    assert closest("ap-southeast-1z", ["ap-southeast-1a", "ap-southeast-1b"]) is None
    assert closest("zzz", ["ap-southeast-1"]) is None
    assert closest("x" * 10_000, ["x"]) is None
    assert closest("owner", ["owner"]) is None  # the value itself is no suggestion
    assert did_you_mean("ownr", ["owner", "domain"], prefix="courier:") == "; did you mean 'courier:owner'?"
    assert did_you_mean("qqq", ["owner"]) == ""


def test_a_few_equally_near_names_are_offered_together() -> None:
    # Up to three, and never all of the candidates (the message lists those already).
    assert nearest("ap-northeast-l", catalog.region_names("aws")) == [
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
    ]
    assert did_you_mean("m5.large", catalog.NODE_TYPES) == "; did you mean 'm6i.large' or 'm7i.large'?"
    assert nearest("ap-southeast-9", catalog.region_names("aws")) == []  # six equally near
    assert nearest("ap-southeast-1z", ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"]) == []


def test_an_unknown_instance_family_offers_the_equally_near_ones() -> None:
    problems = problems_after(lambda c: c["services"][0].update(instanceTypes=["c6x.large"]))
    assert any(
        p.startswith("courier:services[orders].instanceTypes[0]: is not an EC2 instance type (got 'c6x.large')")
        and p.endswith("has no family 'c6x'; did you mean 'c6a.large', 'c6g.large' or 'c6i.large'?")
        for p in problems
    ), problems


# --------------------------------------------------------------------------------------
# (c) Stack outputs: every region, both clouds, no secret.
# --------------------------------------------------------------------------------------


def test_stack_outputs_cover_every_region_cloud_cluster_and_data_tier(stack_plans) -> None:
    plan = stack_plans["prod"]
    regions = plan.outputs["regions"]
    assert list(regions) == ["apse1", "apne1", "apne2", "cnhz"]
    vm = ["orders", "dispatch", "tracking", "payments"]
    for code in ("apse1", "apne1", "apne2"):
        outputs = regions[code]
        assert outputs["cloud"] == "aws"
        assert outputs["loadBalancer"].endswith(".elb.amazonaws.com")
        assert list(outputs["fleets"]) == vm
        assert all(group.startswith(f"{code}-{s}-asg") for s, group in outputs["fleets"].items())
        kubernetes = outputs["kubernetes"]
        assert {k: kubernetes[k] for k in ("cluster", "services")} == {"cluster": "eks", "services": ["notifications"]}
        assert kubernetes["name"] == f"courier-prod-{code}" and kubernetes["endpoint"].endswith(".eks.amazonaws.com")
        data = outputs["data"]
        assert data["databaseEndpoint"].startswith(f"courier-prod-{code}-orders.cluster-")
        assert data["databaseReaderEndpoint"].startswith(f"courier-prod-{code}-orders.cluster-ro-")
        assert ".cache.amazonaws.com" in data["cacheEndpoint"]
        assert data["mediaBucket"].startswith(f"{code}-media")
    china = regions["cnhz"]
    assert (china["name"], china["cloud"]) == ("cn-hangzhou", "alicloud")
    assert china["loadBalancer"].endswith(".cn-hangzhou.alb.aliyuncs.com")
    assert list(china["fleets"]) == vm
    assert all(group.startswith(f"cnhz-{s}-group") for s, group in china["fleets"].items())
    assert "kubernetes" not in china
    assert china["data"]["databaseEndpoint"].endswith(".polardb.rds.aliyuncs.com")
    assert china["data"]["replica"]["name"] == "cn-shanghai"
    assert china["data"]["mediaBucket"] and china["data"]["replica"]["mediaBucket"]
    # No secret, not even one the plan would mask.
    text = json.dumps(plan.outputs)
    assert "[secret]" not in text and "password" not in text.lower() and "kubeconfig" not in text.lower()


def test_stack_outputs_of_a_region_without_kubernetes(stack_plans) -> None:
    assert stack_plans["dev"].outputs["regions"]["apse1"]["kubernetes"] is None
