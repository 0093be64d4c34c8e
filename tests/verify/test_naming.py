"""Pulumi auto-names and explicit names against AWS's limits (pulumi-aws fails, never truncates)."""

from __future__ import annotations

import importlib
import inspect
import keyword

import pytest

from courier.verify.catalogue import CREATE_CALLS
from courier.verify.naming import NAME_RULES, SUFFIX
from tests.verify.plans import findings, resource, target_group

RULE = "aws-names"


def test_the_auto_name_suffix_is_a_dash_and_7_hex_characters() -> None:
    assert len(SUFFIX) == 8 and SUFFIX.startswith("-")


def test_an_auto_named_target_group_that_fits_32_characters_passes() -> None:
    # 24 + 8 = 32: exactly the limit.
    assert findings(target_group("apne1-notifications-tgxx"), rule=RULE) == []


def test_rejects_an_auto_named_target_group_over_32_characters() -> None:
    [found] = findings(target_group("apne1-notifications-target"), rule=RULE)
    assert found.property == "name"
    assert "34 characters exceeds 32" in found.message and "shorten the logical name to 24" in found.message
    assert "autonaming.go" in found.source


def test_rejects_an_explicit_target_group_name_over_32_characters_or_with_underscores() -> None:
    [too_long] = findings(target_group(name="x" * 33), rule=RULE)
    assert "33 characters, over AWS's limit of 32" in too_long.message
    [underscore] = findings(target_group(name="apne1_orders"), rule=RULE)
    assert "characters AWS refuses" in underscore.message


def test_a_load_balancer_auto_name_is_capped_by_aws_not_by_the_provider() -> None:
    balancer = resource("aws:lb/loadBalancer:LoadBalancer", "apne1-public-application-lb", {})
    [found] = findings(balancer, rule=RULE)
    assert "exceeds 32 (AWS's documented maximum)" in found.message
    internal = resource("aws:lb/loadBalancer:LoadBalancer", "internal-alb", {})
    [prefix] = findings(internal, rule=RULE)
    assert "must not begin with 'internal-'" in prefix.message


def test_rejects_an_iam_role_whose_auto_name_exceeds_64_characters() -> None:
    assert findings(resource("aws:iam/role:Role", "apne1-dispatch-instance"), rule=RULE) == []
    [found] = findings(resource("aws:iam/role:Role", "r" * 57), rule=RULE)
    assert "65 characters exceeds 64" in found.message


def test_an_instance_profile_is_limited_by_the_iam_model_not_the_provider() -> None:
    [found] = findings(resource("aws:iam/instanceProfile:InstanceProfile", "p" * 121), rule=RULE)
    assert "129 characters exceeds 128 (the API model's maximum)" in found.message


def test_s3_auto_names_are_lower_cased_and_must_fit_63_characters() -> None:
    assert findings(resource("aws:s3/bucket:Bucket", "Apne1-ALB-Logs"), rule=RULE) == []
    [found] = findings(resource("aws:s3/bucket:Bucket", "b" * 56), rule=RULE)
    assert "64 characters exceeds 63" in found.message
    [underscore] = findings(resource("aws:s3/bucket:Bucket", "alb_logs"), rule=RULE)
    assert "characters AWS refuses" in underscore.message


def test_rejects_an_ecr_auto_name_with_upper_case() -> None:
    [found] = findings(resource("aws:ecr/repository:Repository", "Orders"), rule=RULE)
    assert "does not match the API's pattern" in found.message
    assert findings(resource("aws:ecr/repository:Repository", "orders", {"name": "courier/orders"}), rule=RULE) == []


def test_a_name_prefix_or_a_computed_name_is_not_judged() -> None:
    assert findings(resource("aws:iam/role:Role", "r" * 70, {"namePrefix": "apne1-"}), rule=RULE) == []
    computed = resource("aws:iam/role:Role", "r", {"name": "x" * 80}, computed={"name": ["urn:other"]})
    assert findings(computed, rule=RULE) == []


def test_rejects_a_kms_alias_without_the_alias_prefix() -> None:
    assert findings(resource("aws:kms/alias:Alias", "a", {"name": "alias/courier-prod-alerts"}), rule=RULE) == []
    [explicit] = findings(resource("aws:kms/alias:Alias", "a", {"name": "courier-prod-alerts"}), rule=RULE)
    assert "must begin with alias/" in explicit.message
    [auto] = findings(resource("aws:kms/alias:Alias", "apne1-alerts"), rule=RULE)
    assert "lacks the required alias/ prefix" in auto.message


def _optional_name(token: str) -> str | None:
    """The auto-named input of a type per the installed SDK: pulumi-terraform-bridge makes an
    auto-named property optional in the schema, so an optional ``name`` (``bucket`` for S3)
    is auto-named."""
    module, kind = token.split(":")[1].split("/")[0], token.split(":")[2]
    # A Python keyword gets a trailing underscore: pulumi_aws.lambda_.
    module = f"{module}_" if keyword.iskeyword(module) else module
    args = getattr(importlib.import_module(f"pulumi_aws.{module}"), f"{kind}Args")
    parameters = inspect.signature(args.__init__).parameters
    for name in ("bucket", "name") if kind == "Bucket" else ("name",):
        if name in parameters and parameters[name].default is not inspect.Parameter.empty:
            return name
    return None


@pytest.mark.parametrize("token", sorted(CREATE_CALLS))
def test_the_name_table_covers_every_auto_named_type_in_the_catalogue(token: str) -> None:
    expected = _optional_name(token)
    if token == "aws:kms/alias:Alias":
        assert expected == "name"  # checked for its alias/ prefix instead
    else:
        assert (NAME_RULES[token].property if token in NAME_RULES else None) == expected
