"""Route 53: records a hosted zone refuses, and health check values."""

from __future__ import annotations

from typing import Any

from courier.plan import Resource
from tests.verify.plans import findings, resource

ZONE = {"zoneId": ["urn:zone"]}


def record(name: str, **inputs: Any) -> Resource:
    base = {"zoneId": "Z1", "name": "api.courier.example.com", "type": "CNAME", "ttl": 60, "records": ["x"]}
    return resource("aws:route53/record:Record", name, {**base, **inputs}, region="ap-southeast-1", computed=ZONE)


def _geo(name: str, country: str, identifier: str | None = None) -> Resource:
    return record(
        name,
        setIdentifier=identifier or name,
        geolocationRoutingPolicies=[{"country": country}],
        records=[f"{name}.api.courier.example.com"],
    )


def _messages(*records: Resource, rule: str) -> list[str]:
    return [f.message for f in findings(*records, rule=rule)]


def test_rejects_two_geolocation_records_for_one_country() -> None:
    rule = "aws-route53-geolocation-unique"
    assert _messages(_geo("cnhz", "CN"), _geo("default", "*"), rule=rule) == []
    [message] = _messages(_geo("cnhz", "CN"), _geo("cnsh", "CN"), _geo("default", "*"), rule=rule)
    assert "a second geolocation record for CN (already 'cnhz')" in message


def test_geolocation_records_differ_by_name_type_and_zone() -> None:
    other_name = _geo("cnsh", "CN")
    other_name.inputs["name"] = "cn.api.courier.example.com"
    assert _messages(_geo("cnhz", "CN"), other_name, rule="aws-route53-geolocation-unique") == []


def test_rejects_a_repeated_set_identifier() -> None:
    rule = "aws-route53-set-identifier-unique"
    assert _messages(_geo("a", "CN", "one"), _geo("b", "JP", "two"), rule=rule) == []
    assert _messages(_geo("a", "CN", "one"), _geo("b", "JP", "one"), rule=rule)


def test_rejects_mixed_routing_policies_and_a_simple_record_beside_others() -> None:
    rule = "aws-route53-routing-policy-consistent"
    latency = record("lat", type="A", setIdentifier="apne1", latencyRoutingPolicies=[{"region": "ap-northeast-1"}])
    failover = record("fo", type="A", setIdentifier="primary", failoverRoutingPolicies=[{"type": "PRIMARY"}])
    simple = record("simple", type="A")
    assert _messages(latency, rule=rule) == []
    assert "a failover record cannot share" in _messages(latency, failover, rule=rule)[0]
    assert _messages(simple, latency, rule=rule)


def test_rejects_two_latency_records_for_one_region() -> None:
    rule = "aws-route53-latency-region-unique"

    def latency(name: str, region: str) -> Resource:
        return record(name, type="A", setIdentifier=name, latencyRoutingPolicies=[{"region": region}])

    assert _messages(latency("a", "ap-northeast-1"), latency("b", "ap-southeast-1"), rule=rule) == []
    assert _messages(latency("a", "ap-northeast-1"), latency("b", "ap-northeast-1"), rule=rule)


def test_rejects_a_cname_sharing_its_name_with_another_type() -> None:
    rule = "aws-route53-cname-exclusive"
    assert _messages(_geo("cnhz", "CN"), _geo("default", "*"), rule=rule) == []
    txt = record("txt", type="TXT", records=['"v=1"'])
    [message] = _messages(_geo("cnhz", "CN"), txt, rule=rule)
    assert "a TXT record cannot share its name with the CNAME 'cnhz'" in message


def test_rejects_an_alias_with_a_ttl_and_a_record_without_values() -> None:
    rule = "aws-route53-alias-or-values"
    alias = {"aliases": [{"name": "alb.example.com", "zoneId": "Z2", "evaluateTargetHealth": True}]}
    assert _messages(record("a", type="A", ttl=None, records=None, **alias), record("c"), rule=rule) == []
    assert _messages(record("a", type="A", records=None, **alias), rule=rule) == [
        "an alias record takes no TTL (Route 53 uses the alias target's)"
    ]
    assert _messages(record("c", records=[]), rule=rule)


def _check(**inputs: Any) -> Resource:
    base = {"type": "HTTPS", "fqdn": "apne1.api.courier.example.com", "port": 443, "requestInterval": 10}
    return resource("aws:route53/healthCheck:HealthCheck", "hc", {**base, **inputs}, region="ap-southeast-1")


def test_rejects_a_request_interval_other_than_10_or_30_and_too_few_children() -> None:
    rule = "aws-route53-health-check-values"
    calculated = _check(type="CALCULATED", childHealthchecks=["a", "b"], childHealthThreshold=2, requestInterval=None)
    assert _messages(_check(), _check(requestInterval=30), calculated, rule=rule) == []
    assert _messages(_check(requestInterval=20), rule=rule) == ["request interval 20 s: must be 10 or 30"]
    calculated.inputs["childHealthThreshold"] = 3
    assert "needs 3 healthy children of 2" in _messages(calculated, rule=rule)[0]


def test_a_failure_threshold_outside_1_to_10_is_refused_by_the_model() -> None:
    [found] = findings(_check(failureThreshold=11), rule="aws-api-model")
    assert found.property == "failureThreshold" and "above the maximum 10" in found.message
