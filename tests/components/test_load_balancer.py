"""LoadBalancer: 80/443-only ingress, TLS 1.3 HTTPS, redirect, health-checked target groups, logs."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.aws.load_balancer import SSL_POLICY, LoadBalancer, LoadBalancerArgs, ServiceTarget

SERVICES = [
    ServiceTarget("orders", 8080, "/healthz", ("/orders", "/orders/*")),
    ServiceTarget("payments", 8083, "/health/ready", ("/payments", "/payments/*")),
]


def declare(deletion_protection: bool = True, region: str = "ap-southeast-1"):
    def program() -> None:
        provider = aws.Provider("aws-r", region=region)
        LoadBalancer(
            "apse1",
            LoadBalancerArgs(
                region=region,
                vpc_id="vpc-0123",
                vpc_cidr="10.10.0.0/16",
                public_subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
                certificate_arn="arn:aws:acm:ap-southeast-1:123456789012:certificate/abc",
                services=SERVICES,
                deletion_protection=deletion_protection,
                protect_logs=deletion_protection,
                tags={"environment": "prod", "service": "shared", "owner": "team"},
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    return program


def test_security_group_admits_only_http_and_https_from_anywhere(run_components) -> None:
    plan = run_components(declare())
    ingress = plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert sorted((r.inputs["fromPort"], r.inputs["toPort"], r.inputs["cidrIpv4"]) for r in ingress) == [
        (80, 80, "0.0.0.0/0"),
        (443, 443, "0.0.0.0/0"),
    ]
    egress = plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert sorted((r.inputs["fromPort"], r.inputs["cidrIpv4"]) for r in egress) == [
        (8080, "10.10.0.0/16"),
        (8083, "10.10.0.0/16"),
    ]


def test_alb_is_public_protected_and_drops_invalid_headers(run_components) -> None:
    plan = run_components(declare())
    (alb,) = plan.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["loadBalancerType"] == "application"
    assert alb.inputs["internal"] is False
    assert alb.inputs["subnets"] == ["subnet-a", "subnet-b", "subnet-c"]
    assert alb.inputs["enableDeletionProtection"] is True
    assert alb.inputs["dropInvalidHeaderFields"] is True
    assert alb.inputs["accessLogs"]["enabled"] is True


def test_deletion_protection_follows_the_argument(run_components) -> None:
    plan = run_components(declare(deletion_protection=False))
    (alb,) = plan.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["enableDeletionProtection"] is False
    (bucket,) = plan.of_type("aws:s3/bucket:Bucket")
    assert bucket.protect is False


def test_https_listener_uses_tls13_policy_and_the_certificate(run_components) -> None:
    plan = run_components(declare())
    listeners = {r.inputs["port"]: r.inputs for r in plan.of_type("aws:lb/listener:Listener")}
    assert listeners[443]["protocol"] == "HTTPS"
    assert listeners[443]["sslPolicy"] == SSL_POLICY
    assert "TLS13" in SSL_POLICY
    assert listeners[443]["certificateArn"].startswith("arn:aws:acm:")
    assert listeners[443]["defaultActions"][0]["fixedResponse"]["statusCode"] == "404"


def test_http_listener_redirects_to_https(run_components) -> None:
    plan = run_components(declare())
    listeners = {r.inputs["port"]: r.inputs for r in plan.of_type("aws:lb/listener:Listener")}
    (action,) = listeners[80]["defaultActions"]
    assert action["type"] == "redirect"
    assert action["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}


def test_one_health_checked_target_group_and_route_per_service(run_components) -> None:
    plan = run_components(declare())
    groups = {r.name: r.inputs for r in plan.of_type("aws:lb/targetGroup:TargetGroup")}
    assert set(groups) == {"apse1-orders", "apse1-payments"}
    assert groups["apse1-orders"]["port"] == 8080
    assert groups["apse1-orders"]["healthCheck"]["path"] == "/healthz"
    assert groups["apse1-payments"]["healthCheck"]["path"] == "/health/ready"
    for group in groups.values():
        check = group["healthCheck"]
        assert check["enabled"] is True
        assert check["matcher"] == "200"
        assert (check["interval"], check["timeout"], check["healthyThreshold"], check["unhealthyThreshold"]) == (
            5,
            4,
            2,
            3,
        )
        assert group["deregistrationDelay"] == 30
    rules = {r.name: r.inputs for r in plan.of_type("aws:lb/listenerRule:ListenerRule")}
    assert rules["apse1-orders"]["conditions"][0]["pathPattern"]["values"] == ["/orders", "/orders/*"]
    assert rules["apse1-orders"]["priority"] == 10
    assert rules["apse1-payments"]["priority"] == 20
    assert rules["apse1-payments"]["actions"][0]["type"] == "forward"


def test_access_logs_go_to_a_private_encrypted_protected_bucket(run_components) -> None:
    plan = run_components(declare())
    (bucket,) = plan.of_type("aws:s3/bucket:Bucket")
    assert bucket.protect is True
    (block,) = plan.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    (sse,) = plan.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    (policy,) = plan.of_type("aws:s3/bucketPolicy:BucketPolicy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # ap-southeast-1 predates August 2022: logs are written by the regional ELB account.
    assert statements["AlbAccessLogs"]["Principal"]["AWS"].startswith("arn:aws:iam::")


def test_newer_regions_deliver_logs_through_the_service_principal(run_components) -> None:
    plan = run_components(declare(region="ap-southeast-4"))
    (policy,) = plan.of_type("aws:s3/bucketPolicy:BucketPolicy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["AlbAccessLogs"]["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}


def test_children_are_parented_and_regional(run_components) -> None:
    plan = run_components(declare())
    (component,) = plan.of_type("courier:aws:LoadBalancer")
    children = list(plan.descendants(component.urn))
    assert all(c.parent == component.urn for c in children)
    assert {c.region for c in children} == {"ap-southeast-1"}


def test_target_groups_never_combine_slow_start_with_least_outstanding_requests(run_components) -> None:
    # ELB refuses slow start together with least_outstanding_requests (and weighted_random):
    # every target group would have failed at `pulumi up`.
    plan = run_components(declare())
    groups = plan.of_type("aws:lb/targetGroup:TargetGroup")
    assert len(groups) == len(SERVICES)
    for group in groups:
        assert group.inputs["loadBalancingAlgorithmType"] == "least_outstanding_requests"
        assert group.inputs.get("slowStart", 0) == 0, group.name
