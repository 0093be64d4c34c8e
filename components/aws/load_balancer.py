"""LoadBalancer: the region's public HTTPS entry point, one target group per service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws import policies

TYPE = "courier:aws:LoadBalancer"

#: TLS 1.3 and TLS 1.2 with forward-secret AEAD ciphers only.
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"

# Regions opened after August 2022 deliver ALB access logs through a service principal; the
# older ones through a regional Elastic Load Balancing account (looked up with an invoke).
_LOG_DELIVERY_PRINCIPAL_ONLY = frozenset(
    {
        "ap-south-2",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-7",
        "ca-west-1",
        "eu-central-2",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "mx-central-1",
    }
)


@dataclass(frozen=True)
class ServiceTarget:
    """What the load balancer needs to know about one service."""

    name: str
    port: int
    health_check_path: str
    path_patterns: Sequence[str]


@dataclass(frozen=True)
class LoadBalancerArgs:
    region: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    #: Public subnets, one per zone: the load balancer has a node in every zone.
    public_subnet_ids: Sequence[pulumi.Input[str]]
    #: ARN of an issued ACM certificate for the names clients use.
    certificate_arn: pulumi.Input[str]
    services: Sequence[ServiceTarget]
    #: Deletion protection on the load balancer (prod): a stray `pulumi destroy` or replace
    #: must not take the region's front door down.
    deletion_protection: bool = True
    #: Days access logs are kept before they expire.
    access_log_retention_days: int = 365
    #: `protect` the access-log bucket (prod): it holds the audit trail.
    protect_logs: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)


class LoadBalancer(pulumi.ComponentResource):
    """An internet-facing ALB across the public subnets: a security group that admits only
    80 and 443, an HTTPS listener (TLS 1.3 policy) routing ``/<service>`` paths to one
    health-checked target group per service, an HTTP listener that redirects to HTTPS, and
    access logs in an encrypted, private bucket."""

    arn: pulumi.Output[str]
    arn_suffix: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    target_groups: dict[str, aws.lb.TargetGroup]

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        security_group = aws.ec2.SecurityGroup(
            f"{name}-alb",
            vpc_id=args.vpc_id,
            description="Public HTTPS entry point: 443, and 80 only to redirect to 443",
            tags={**tags, "Name": f"{name}-alb"},
            opts=child,
        )
        for port in (80, 443):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-alb-in-{port}",
                security_group_id=security_group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4="0.0.0.0/0",
                description="Clients (HTTP is redirected to HTTPS)" if port == 80 else "Clients",
                tags=tags,
                opts=child,
            )
        for service in args.services:
            # The load balancer only ever talks to the fleets' service ports inside the VPC.
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-alb-out-{service.name}",
                security_group_id=security_group.id,
                ip_protocol="tcp",
                from_port=service.port,
                to_port=service.port,
                cidr_ipv4=args.vpc_cidr,
                description=f"To the {service.name} fleet",
                tags=tags,
                opts=child,
            )

        log_bucket = self._access_log_bucket(tags)

        self.alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            subnets=list(args.public_subnet_ids),
            security_groups=[security_group.id],
            enable_deletion_protection=args.deletion_protection,
            drop_invalid_header_fields=True,
            desync_mitigation_mode="defensive",
            enable_http2=True,
            idle_timeout=60,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(bucket=log_bucket.bucket, prefix="alb", enabled=True),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._log_policy]),
        )

        self.target_groups = {}
        for service in args.services:
            self.target_groups[service.name] = aws.lb.TargetGroup(
                f"{name}-{service.name}",
                port=service.port,
                protocol="HTTP",
                target_type="instance",
                vpc_id=args.vpc_id,
                # Least outstanding requests: a slow or cold target accumulates requests in
                # flight and is sent fewer, so it throttles itself without slow start. The two
                # cannot be combined ("You cannot enable both least outstanding requests and
                # slow start mode", ELB user guide, target group attributes); slow start stays
                # off (0), as the API requires.
                slow_start=0,
                load_balancing_algorithm_type="least_outstanding_requests",
                # Short drain: requests are short; long drains slow down scale-in and deploys.
                deregistration_delay=30,
                health_check=aws.lb.TargetGroupHealthCheckArgs(
                    enabled=True,
                    path=service.health_check_path,
                    port="traffic-port",
                    protocol="HTTP",
                    matcher="200",
                    # Every second counts when a storm adds instances: a new target serves
                    # after one passing check (ALB user guide, target group health checks),
                    # so check every 5 s (the minimum); the timeout stays below the interval.
                    interval=5,
                    timeout=4,
                    healthy_threshold=2,
                    unhealthy_threshold=3,
                ),
                tags={**tags, "service": service.name},
                opts=child,
            )

        https = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=self.alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=SSL_POLICY,
            certificate_arn=args.certificate_arn,
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="fixed-response",
                    fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                        content_type="application/json",
                        message_body='{"error":"not found"}',
                        status_code="404",
                    ),
                )
            ],
            tags=tags,
            opts=child,
        )
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=self.alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ],
            tags=tags,
            opts=child,
        )
        for priority, service in enumerate(args.services, start=1):
            aws.lb.ListenerRule(
                f"{name}-{service.name}",
                listener_arn=https.arn,
                priority=priority * 10,
                conditions=[
                    aws.lb.ListenerRuleConditionArgs(
                        path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=list(service.path_patterns))
                    )
                ],
                actions=[
                    aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=self.target_groups[service.name].arn)
                ],
                tags={**tags, "service": service.name},
                opts=child,
            )

        self.arn = self.alb.arn
        self.arn_suffix = self.alb.arn_suffix
        self.dns_name = self.alb.dns_name
        self.zone_id = self.alb.zone_id
        self.security_group_id = security_group.id
        self.register_outputs(
            {
                "arn": self.arn,
                "dnsName": self.dns_name,
                "zoneId": self.zone_id,
                "securityGroupId": self.security_group_id,
                "targetGroupArns": {k: tg.arn for k, tg in self.target_groups.items()},
            }
        )

    def _access_log_bucket(self, tags: dict[str, str]) -> aws.s3.Bucket:
        name, args = self._name, self._args
        # The access logs are the audit trail of every request: protected in prod, and never
        # emptied implicitly by a destroy.
        keep = pulumi.ResourceOptions(parent=self, protect=args.protect_logs)
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(f"{name}-alb-logs", force_destroy=False, tags=tags, opts=keep)
        aws.s3.BucketOwnershipControls(
            f"{name}-alb-logs",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-alb-logs",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # ALB access logs only support SSE-S3 (AES256), not KMS keys.
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-alb-logs",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    )
                )
            ],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-alb-logs",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=args.access_log_retention_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
            opts=child,
        )
        writer = self._log_writer_principal()
        self._log_policy = aws.s3.BucketPolicy(
            f"{name}-alb-logs",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, writer).apply(
                lambda values: policies.document(
                    policies.deny_insecure_transport(values[0]),
                    {
                        "Sid": "AlbAccessLogs",
                        "Effect": "Allow",
                        "Principal": values[1],
                        "Action": "s3:PutObject",
                        "Resource": f"{values[0]}/alb/AWSLogs/*",
                    },
                )
            ),
            # A bucket policy is refused while the public access block is being applied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        return bucket

    def _log_writer_principal(self) -> pulumi.Output[dict[str, str]]:
        if self._args.region in _LOG_DELIVERY_PRINCIPAL_ONLY:
            return pulumi.Output.from_input({"Service": "logdelivery.elasticloadbalancing.amazonaws.com"})
        account = aws.elb.get_service_account_output(opts=pulumi.InvokeOutputOptions(parent=self))
        return account.arn.apply(lambda arn: {"AWS": arn})
