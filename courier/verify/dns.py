"""Route 53 rules that span records: what a hosted zone refuses, and health check limits.

Records are grouped per hosted zone, name (case-insensitive, without the final dot) and type,
as Route 53 groups them into record sets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from courier.plan import Resource
from courier.verify.findings import Context, Issue, Rule
from courier.verify.rules import number

RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"

RRSET_DOCS = "botocore route53 ResourceRecordSet documentation (ChangeResourceRecordSets API reference)"

_POLICIES = (
    ("latencyRoutingPolicies", "latency"),
    ("geolocationRoutingPolicies", "geolocation"),
    ("failoverRoutingPolicies", "failover"),
    ("weightedRoutingPolicies", "weighted"),
    ("geoproximityRoutingPolicy", "geoproximity"),
    ("cidrRoutingPolicy", "cidr"),
)


def _zone(record: Resource) -> str:
    return ",".join(sorted(record.property_dependencies.get("zoneId") or [])) or str(record.inputs.get("zoneId"))


def _name(record: Resource) -> str:
    return str(record.inputs.get("name", "")).lower().rstrip(".")


def policy(record: Resource) -> str:
    for key, name in _POLICIES:
        if record.inputs.get(key):
            return name
    if record.inputs.get("multivalueAnswerRoutingPolicy") in (True, "true"):
        return "multivalue"
    return "simple"


def _record_sets(context: Context) -> dict[tuple[str, str, str], list[Resource]]:
    sets: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
    for record in context.of_type(RECORD):
        sets[(_zone(record), _name(record), str(record.inputs.get("type", "")).upper())].append(record)
    return sets


def _first(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


# ResourceRecordSet.GeoLocation: "You can't create two geolocation resource record sets that
# specify the same geographic location." Route 53 developer guide, geolocation routing.
# https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-geo.html
def geolocation_unique(context: Context) -> Iterator[Issue]:
    for (_, name, kind), records in _record_sets(context).items():
        seen: dict[tuple[str, ...], Resource] = {}
        for record in records:
            if policy(record) != "geolocation":
                continue
            location = _first(record.inputs.get("geolocationRoutingPolicies"))
            key = tuple(str(location.get(k) or "") for k in ("continent", "country", "subdivision"))
            if key in seen:
                where = "/".join(part for part in key if part)
                yield Issue(
                    record.urn,
                    "geolocationRoutingPolicies",
                    f"{name} {kind}: a second geolocation record for {where} (already {seen[key].name!r}); "
                    "Route 53 refuses it",
                )
            else:
                seen[key] = record


# ResourceRecordSet.SetIdentifier: "In a group of resource record sets that have the same name
# and type, the value of SetIdentifier must be unique for each resource record set."
def set_identifier_unique(context: Context) -> Iterator[Issue]:
    for (_, name, kind), records in _record_sets(context).items():
        seen: dict[str, Resource] = {}
        for record in records:
            identifier = record.inputs.get("setIdentifier")
            if identifier is None:
                continue
            if identifier in seen:
                yield Issue(
                    record.urn,
                    "setIdentifier",
                    f"{name} {kind}: set identifier {identifier!r} is already used by {seen[identifier].name!r}",
                )
            else:
                seen[identifier] = record


# ResourceRecordSet.Region: "You can't create non-latency resource record sets that have the
# same values for the Name and Type elements as latency resource record sets", and the same
# holds for every routing policy; a simple record is alone in its set (Route 53 developer
# guide, choosing a routing policy).
# https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy.html
def routing_policy_consistent(context: Context) -> Iterator[Issue]:
    for (_, name, kind), records in _record_sets(context).items():
        if len(records) < 2:
            continue
        policies = {policy(r) for r in records}
        if len(policies) > 1 or "simple" in policies:
            first = records[0]
            for record in records[1:]:
                yield Issue(
                    record.urn,
                    "name",
                    f"{name} {kind}: a {policy(record)} record cannot share its name and type with the "
                    f"{policy(first)} record {first.name!r}",
                )


# ResourceRecordSet.Region: "You can only create one latency resource record set for each
# Amazon EC2 Region."
def latency_region_unique(context: Context) -> Iterator[Issue]:
    for (_, name, kind), records in _record_sets(context).items():
        seen: dict[str, Resource] = {}
        for record in records:
            region = _first(record.inputs.get("latencyRoutingPolicies")).get("region")
            if region is None:
                continue
            if region in seen:
                yield Issue(
                    record.urn,
                    "latencyRoutingPolicies",
                    f"{name} {kind}: a second latency record for {region} (already {seen[region].name!r})",
                )
            else:
                seen[region] = record


# RFC 1034 section 3.6.2: "If a CNAME RR is present at a node, no other data should be
# present"; Route 53 refuses a CNAME that shares its name with a record of another type.
# https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html#CNAMEFormat
def cname_exclusive(context: Context) -> Iterator[Issue]:
    by_name: dict[tuple[str, str], dict[str, list[Resource]]] = defaultdict(dict)
    for (zone, name, kind), records in _record_sets(context).items():
        by_name[(zone, name)][kind] = records
    for (_, name), kinds in by_name.items():
        if "CNAME" not in kinds or len(kinds) == 1:
            continue
        cname = kinds["CNAME"][0]
        for kind, records in kinds.items():
            if kind == "CNAME":
                continue
            for record in records:
                yield Issue(
                    record.urn,
                    "name",
                    f"{name}: a {kind} record cannot share its name with the CNAME {cname.name!r}",
                )


# ResourceRecordSet.TTL: "If you're creating or updating an alias resource record set, omit
# TTL"; a record that is not an alias needs its values (ResourceRecords, min 1).
def alias_or_values(context: Context) -> Iterator[Issue]:
    for record in context.of_type(RECORD):
        alias = record.inputs.get("aliases")
        if alias and record.inputs.get("ttl") is not None:
            yield Issue(record.urn, "ttl", "an alias record takes no TTL (Route 53 uses the alias target's)")
        if not alias and not record.inputs.get("records"):
            yield Issue(record.urn, "records", "a record that is not an alias needs at least one value")


# Route 53 developer guide, health check values: the request interval is "Standard (30
# seconds) or Fast (10 seconds)" (terraform-provider-aws health_check.go: IntInSlice 10, 30);
# HealthCheckConfig.HealthThreshold: "If you specify a number greater than the number of child
# health checks, Route 53 always considers this health check to be unhealthy."
# https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-creating-values.html
def health_check_values(context: Context) -> Iterator[Issue]:
    for check in context.of_type(HEALTH_CHECK):
        interval = number(check.inputs.get("requestInterval"))
        if interval is not None and interval not in (10, 30):
            yield Issue(check.urn, "requestInterval", f"request interval {interval:g} s: must be 10 or 30")
        if str(check.inputs.get("type", "")).upper() != "CALCULATED":
            continue
        children = check.inputs.get("childHealthchecks") or []
        threshold = number(check.inputs.get("childHealthThreshold"))
        if threshold is not None and threshold > len(children):
            yield Issue(
                check.urn,
                "childHealthThreshold",
                f"needs {threshold:g} healthy children of {len(children)}: Route 53 always considers it unhealthy",
            )


HEALTH_SOURCE = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-creating-values.html"

RULES: tuple[Rule, ...] = (
    Rule(
        "aws-route53-geolocation-unique",
        "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-geo.html; " + RRSET_DOCS,
        geolocation_unique,
    ),
    Rule("aws-route53-set-identifier-unique", RRSET_DOCS, set_identifier_unique),
    Rule(
        "aws-route53-routing-policy-consistent",
        "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy.html; " + RRSET_DOCS,
        routing_policy_consistent,
    ),
    Rule("aws-route53-latency-region-unique", RRSET_DOCS, latency_region_unique),
    Rule(
        "aws-route53-cname-exclusive",
        "RFC 1034 3.6.2; https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html",
        cname_exclusive,
    ),
    Rule("aws-route53-alias-or-values", RRSET_DOCS, alias_or_values),
    Rule("aws-route53-health-check-values", HEALTH_SOURCE, health_check_values),
)
