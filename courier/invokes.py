"""What the offline engine answers in place of the clouds.

Two kinds of answers: the outputs of a registered resource (IDs, ARNs, the computed
attributes the components read), and the results of invokes (data sources). Invokes come
from the catalogue of real regions and zones in components.catalog; an invoke this module
does not know is an error, never a silent empty answer.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from components import catalog

#: The account every offline plan pretends to run in.
ACCOUNT_ID = "123456789012"

# Prefixes of the real IDs, so a plan reads like the console would.
_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:ec2/flowLog:FlowLog": "fl",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
    "aws:amp/workspace:Workspace": "ws",
    "aws:grafana/workspace:Workspace": "g",
    "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance": "cri",
}

#: IDs whose length the API fixes (Grafana workspaces: ``g-`` and 10 hex digits).
_ID_LENGTH = {"aws:grafana/workspace:Workspace": 10}


class UnknownInvoke(Exception):
    """The program asked for a data source the offline engine cannot answer."""


def _digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _physical_name(name: str, resource_type: str) -> str:
    # Pulumi auto-names a resource "<logical name>-<7 random hex>"; here the suffix is a hash.
    return f"{name}-{_digest(resource_type, name, length=7)}"


def _service(resource_type: str) -> str:
    return resource_type.split(":")[1].split("/")[0] if ":" in resource_type else "unknown"


def outputs_for(resource_type: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
    """(id, state) for a registered resource: its inputs plus what the cloud would compute."""
    physical = inputs.get("name") if isinstance(inputs.get("name"), str) else _physical_name(name, resource_type)
    prefix = _ID_PREFIX.get(resource_type)
    resource_id = f"{prefix}-{_digest(resource_type, name)}" if prefix else str(physical)
    if resource_type in _ID_LENGTH:
        # The ID the computed attributes also derive from the physical name (an endpoint).
        resource_id = f"{prefix}-{_digest(resource_type, str(physical), length=_ID_LENGTH[resource_type])}"
    service = _service(resource_type)
    arn_region = "" if service in ("iam", "route53", "s3") else region
    state: dict[str, Any] = {
        **inputs,
        "id": resource_id,
        "name": physical,
        "arn": f"arn:aws:{service}:{arn_region}:{ACCOUNT_ID}:{resource_type.rsplit(':', 1)[-1].lower()}/{physical}",
    }
    extra = _COMPUTED.get(resource_type)
    if extra is not None:
        state.update(extra(str(physical), inputs, region))
    return resource_id, state


def _load_balancer(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    suffix = f"app/{physical}/{_digest(physical, length=16)}"
    return {
        "arnSuffix": suffix,
        "arn": f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:loadbalancer/{suffix}",
        "dnsName": f"{physical}-{int(_digest(physical, length=8), 16) % 10**10}.{region}.elb.amazonaws.com",
        "zoneId": f"Z{_digest('elb', region, length=13).upper()}",
    }


def _target_group(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    suffix = f"targetgroup/{physical}/{_digest(physical, length=16)}"
    return {
        "arnSuffix": suffix,
        "arn": f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:{suffix}",
    }


def _certificate(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    names = [inputs.get("domainName", ""), *list(inputs.get("subjectAlternativeNames") or [])]
    # ACM issues one validation record per domain name and account, the same in every region.
    return {
        "arn": f"arn:aws:acm:{region}:{ACCOUNT_ID}:certificate/{_digest(physical, length=32)}",
        "domainValidationOptions": [
            {
                "domainName": domain,
                "resourceRecordName": f"_{_digest('acm-name', domain, length=32)}.{domain}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{_digest('acm-value', domain, length=32)}.acm-validations.aws.",
            }
            for domain in names
        ],
        "status": "ISSUED",
    }


def _bucket(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    bucket = inputs.get("bucket") or physical.lower()
    return {
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
    }


def _role(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{physical}", "uniqueId": f"AROA{_digest(physical).upper()}"}


def _instance_profile(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:instance-profile/{physical}"}


def _record(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"fqdn": str(inputs.get("name", "")).rstrip(".")}


def _kms_key(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    key_id = "-".join(_digest(physical, str(n), length=n) for n in (8, 4, 4, 4, 12))
    return {"keyId": key_id, "arn": f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{key_id}"}


def _topic(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"arn": f"arn:aws:sns:{region}:{ACCOUNT_ID}:{physical}"}


def _log_group(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"arn": f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{physical}"}


def _group(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:autoscaling:{region}:{ACCOUNT_ID}:autoScalingGroup:{_digest(physical, length=36)}:autoScalingGroupName/{physical}"
    }


def _launch_template(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"latestVersion": 1, "defaultVersion": 1}


def _health_check(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"arn": f"arn:aws:route53:::healthcheck/{_digest(physical, length=36)}"}


def _amp_workspace(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    workspace = (
        f"ws-{_digest(physical, length=8)}-{_digest(physical, 'b', length=4)}-{_digest(physical, 'c', length=12)}"
    )
    return {
        "arn": f"arn:aws:aps:{region}:{ACCOUNT_ID}:workspace/{workspace}",
        "prometheusEndpoint": f"https://aps-workspaces.{region}.amazonaws.com/workspaces/{workspace}/",
    }


def _grafana_workspace(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    workspace = f"g-{_digest('aws:grafana/workspace:Workspace', physical, length=10)}"
    return {
        "arn": f"arn:aws:grafana:{region}:{ACCOUNT_ID}:/workspaces/{workspace}",
        "endpoint": f"{workspace}.grafana-workspace.{region}.amazonaws.com",
        "grafanaVersion": inputs.get("grafanaVersion") or "12.4",
    }


def _grafana_service_account(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"serviceAccountId": str(int(_digest(physical, region, length=6), 16) % 1000)}


def _grafana_token(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {
        "serviceAccountTokenId": str(int(_digest(physical, region, length=6), 16) % 1000),
        "key": f"glsa_{_digest('grafana-token', physical, length=32)}_{_digest(physical, length=8)}",
    }


def _ecr_repository(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    name = inputs.get("name") or physical
    return {
        "arn": f"arn:aws:ecr:{region}:{ACCOUNT_ID}:repository/{name}",
        "registryId": ACCOUNT_ID,
        "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{name}",
    }


def _certificate_validation(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"certificateArn": inputs.get("certificateArn", "")}


#: A made-up Alibaba Cloud account for offline plans.
ALICLOUD_ACCOUNT_ID = "1234567890123456"


def _ali_load_balancer(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"dnsName": f"alb-{_digest(physical, length=18)}.{region}.alb.aliyuncs.com"}


def _ali_scaling_rule(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"ari": f"ari:acs:ess:{region}:{ALICLOUD_ACCOUNT_ID}:scalingrule/asr-{_digest(physical, length=20)}"}


def _ali_nat_gateway(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {
        "snatTableIds": f"stb-{_digest(physical, length=20)}",
        "forwardTableIds": f"ftb-{_digest(physical, length=20)}",
    }


def _ali_eip(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    number = int(_digest(physical, length=8), 16)
    return {"ipAddress": f"47.{number % 250}.{(number >> 8) % 250}.{(number >> 16) % 250}"}


def _ali_ram_role(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    role = inputs.get("roleName") or physical
    return {"arn": f"acs:ram::{ALICLOUD_ACCOUNT_ID}:role/{str(role).lower()}", "roleId": _digest("ram", str(role))}


def _eks_cluster(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    name = inputs.get("name", physical)
    return {
        "arn": f"arn:aws:eks:{region}:{ACCOUNT_ID}:cluster/{name}",
        "endpoint": f"https://{_digest(name, length=32).upper()}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {
            "data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCm9mZmxpbmUKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
        },
        "vpcConfig": {**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{_digest('eks', name)}"},
    }


def _eks_node_group(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"resources": [{"autoscalingGroups": [{"name": f"eks-{physical}-{_digest(physical, length=8)}"}]}]}


def _global_cluster(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    ident = str(inputs.get("globalClusterIdentifier") or physical)
    return {
        "arn": f"arn:aws:rds::{ACCOUNT_ID}:global-cluster:{ident}",
        # The global writer endpoint follows the writer: <id>.global-<random>.global.rds.amazonaws.com
        "endpoint": f"{ident}.global-{_digest(ident, length=10)}.global.rds.amazonaws.com",
        "globalClusterResourceId": f"cluster-{_digest('global', ident, length=26).upper()}",
    }


def _rds_cluster(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    ident = str(inputs.get("clusterIdentifier") or physical)
    host = f"{_digest(ACCOUNT_ID, region, length=12)}.{region}.rds.amazonaws.com"
    return {
        "id": ident,
        "arn": f"arn:aws:rds:{region}:{ACCOUNT_ID}:cluster:{ident}",
        "endpoint": f"{ident}.cluster-{host}",
        "readerEndpoint": f"{ident}.cluster-ro-{host}",
        "clusterResourceId": f"cluster-{_digest(ident, length=26).upper()}",
    }


def _replication_group(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    ident = str(inputs.get("replicationGroupId") or physical)
    return {
        "id": ident,
        "arn": f"arn:aws:elasticache:{region}:{ACCOUNT_ID}:replicationgroup:{ident}",
        "primaryEndpointAddress": f"master.{ident}.{_digest(ident, length=6)}.cache.amazonaws.com",
        "readerEndpointAddress": f"replica.{ident}.{_digest(ident, length=6)}.cache.amazonaws.com",
    }


def _global_replication_group(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    # ElastiCache prefixes the suffix with a code of its own (e.g. "ldgnf-").
    ident = f"{_digest('gds', region, length=5)}-{inputs.get('globalReplicationGroupIdSuffix', physical)}"
    return {
        "id": ident,
        "globalReplicationGroupId": ident,
        "arn": f"arn:aws:elasticache::{ACCOUNT_ID}:globalreplicationgroup:{ident}",
    }


def _table(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    arn = f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{physical}"
    return {"arn": arn, "streamArn": f"{arn}/stream/2026-11-30T00:00:00.000"}


def _secret(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"arn": f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:{physical}-{_digest(physical, length=6)}"}


def _random_password(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    # Never a real secret: a fixed, recognisable stand-in of the requested length.
    length = int(inputs.get("length") or 16)
    return {"result": ("offline-plan-" + _digest(physical, length=64))[:length]}


def _arms_prometheus(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    # ARMS names an instance's cluster with a 32-hex ID (CreatePrometheusInstance).
    return {"clusterId": _digest("arms", physical, region, length=32)}


def _polardb_cluster(physical: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    ident = f"pc-{_digest(physical, region, length=16)}"
    return {"id": ident, "connectionString": f"{ident}.pg.polardb.rds.aliyuncs.com", "port": "5432"}


_COMPUTED: dict[str, Callable[[str, dict[str, Any], str], dict[str, Any]]] = {
    "alicloud:polardb/cluster:Cluster": _polardb_cluster,
    "alicloud:arms/prometheus:Prometheus": _arms_prometheus,
    "aws:rds/globalCluster:GlobalCluster": _global_cluster,
    "aws:rds/cluster:Cluster": _rds_cluster,
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": _global_replication_group,
    "aws:dynamodb/table:Table": _table,
    "aws:secretsmanager/secret:Secret": _secret,
    "random:index/randomPassword:RandomPassword": _random_password,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
    "alicloud:alb/loadBalancer:LoadBalancer": _ali_load_balancer,
    "alicloud:ess/scalingRule:ScalingRule": _ali_scaling_rule,
    "alicloud:vpc/natGateway:NatGateway": _ali_nat_gateway,
    "alicloud:ecs/eipAddress:EipAddress": _ali_eip,
    "alicloud:ram/role:Role": _ali_ram_role,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": _target_group,
    "aws:acm/certificate:Certificate": _certificate,
    "aws:acm/certificateValidation:CertificateValidation": _certificate_validation,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:iam/role:Role": _role,
    "aws:iam/instanceProfile:InstanceProfile": _instance_profile,
    "aws:route53/record:Record": _record,
    "aws:route53/healthCheck:HealthCheck": _health_check,
    "aws:kms/key:Key": _kms_key,
    "aws:sns/topic:Topic": _topic,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:autoscaling/group:Group": _group,
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:amp/workspace:Workspace": _amp_workspace,
    "aws:grafana/workspace:Workspace": _grafana_workspace,
    "aws:grafana/workspaceServiceAccount:WorkspaceServiceAccount": _grafana_service_account,
    "aws:grafana/workspaceServiceAccountToken:WorkspaceServiceAccountToken": _grafana_token,
    "aws:ecr/repository:Repository": _ecr_repository,
}


# --------------------------------------------------------------------------------------
# Invokes.
# --------------------------------------------------------------------------------------


def _need_region(token: str, region: str | None) -> str:
    if not region:
        raise UnknownInvoke(f"invoke {token} needs a region: pass the region's provider to it")
    return region


def _availability_zones(args: dict[str, Any], region: str | None) -> dict[str, Any]:
    name = _need_region("aws:index/getAvailabilityZones", region)
    info = catalog.region("aws", name)
    if info is None:
        raise UnknownInvoke(f"aws:index/getAvailabilityZones: {name!r} is not in the region catalogue")
    return {
        "id": name,
        "names": list(info.zones),
        "zoneIds": [f"{info.code}-az{i + 1}" for i in range(len(info.zones))],
        "groupNames": [name] * len(info.zones),
        "state": args.get("state", "available"),
    }


def _caller_identity(args: dict[str, Any], region: str | None) -> dict[str, Any]:
    return {
        "id": ACCOUNT_ID,
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/platform-deployer/offline-plan",
        "userId": "AROAOFFLINEPLAN:offline-plan",
    }


def _elb_service_account(args: dict[str, Any], region: str | None) -> dict[str, Any]:
    name = _need_region("aws:elb/getServiceAccount", args.get("region") or region)
    account = str(int(_digest("elb-account", name, length=10), 16) % 10**12).zfill(12)
    return {"id": account, "arn": f"arn:aws:iam::{account}:root", "region": name}


def _ssm_parameter(args: dict[str, Any], region: str | None) -> dict[str, Any]:
    name = str(args.get("name", ""))
    where = _need_region("aws:ssm/getParameter", region)
    if "ami" not in name.lower() and "image" not in name.lower():
        raise UnknownInvoke(
            f"aws:ssm/getParameter: the offline engine only answers parameters that name an "
            f"image (their path mentions 'ami' or 'image'), not {name!r}"
        )
    return {
        "id": name,
        "name": name,
        "arn": f"arn:aws:ssm:{where}::parameter{name}",
        "type": "String",
        "value": f"ami-{_digest(name, where)}",
        "insecureValue": f"ami-{_digest(name, where)}",
        "version": 1,
        "withDecryption": True,
    }


#: Amazon Linux 2023 AMI names as AWS publishes them, e.g.
#: al2023-ami-2023.11.20260526.0-kernel-6.18-x86_64 (or al2023-ami-minimal-...).
_AL2023_AMI_NAME = re.compile(r"al2023-ami-(minimal-)?2023\.\d+\.\d{8}\.\d+-kernel-\d+\.\d+-(x86_64|arm64)")


def _ami(args: dict[str, Any], region: str | None) -> dict[str, Any]:
    """An Amazon-owned AL2023 AMI looked up by its exact name: one deterministic ID per name and
    region (AMI IDs are regional). Anything else is refused rather than answered with an
    image that the real account might not have."""
    where = _need_region("aws:ec2/getAmi", region)
    owners = list(args.get("owners") or [])
    names = [
        value
        for entry in args.get("filters") or []
        if entry.get("name") == "name"
        for value in entry.get("values") or []
    ]
    if owners != ["amazon"] or len(names) != 1 or args.get("nameRegex"):
        raise UnknownInvoke(
            f"aws:ec2/getAmi: the offline engine answers only owners=['amazon'] with one exact "
            f"'name' filter, not owners={owners!r}, names={names!r}"
        )
    (name,) = names
    if not _AL2023_AMI_NAME.fullmatch(name):
        raise UnknownInvoke(
            f"aws:ec2/getAmi: {name!r} does not look like an Amazon Linux 2023 AMI name "
            "(al2023-ami-2023.<minor>.<YYYYMMDD>.<n>-kernel-<x.y>-<x86_64|arm64>)"
        )
    if args.get("mostRecent"):
        raise UnknownInvoke("aws:ec2/getAmi: most_recent picks the newest match; pin an exact name instead")
    image_id = f"ami-{_digest('ami', name, where)}"
    return {
        "id": image_id,
        "imageId": image_id,
        "arn": f"arn:aws:ec2:{where}::image/{image_id}",
        "name": name,
        "architecture": name.rsplit("-", 1)[-1],
        "imageOwnerAlias": "amazon",
        "owners": owners,
        "state": "available",
        "rootDeviceName": "/dev/xvda",
        "rootDeviceType": "ebs",
        "virtualizationType": "hvm",
        "mostRecent": False,
        "includeDeprecated": bool(args.get("includeDeprecated")),
    }


def _route53_zone(args: dict[str, Any], region: str | None) -> dict[str, Any]:
    name = str(args.get("name", "")).rstrip(".")
    zone_id = f"Z{_digest('zone', name, length=20).upper()}"
    return {
        "id": zone_id,
        "zoneId": zone_id,
        "name": name,
        "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
        "privateZone": bool(args.get("privateZone", False)),
        "nameServers": [f"ns-{n}.awsdns-{n:02d}.org" for n in (1, 2, 3, 4)],
        "resourceRecordSetCount": 2,
        "callerReference": "offline",
        "comment": "",
        "linkedServiceDescription": "",
        "linkedServicePrincipal": "",
        "primaryNameServer": "ns-1.awsdns-01.org",
        "tags": {},
    }


def _region(args: dict[str, Any], region: str | None) -> dict[str, Any]:
    name = _need_region("aws:index/getRegion", args.get("region") or args.get("name") or region)
    return {"id": name, "name": name, "region": name, "endpoint": f"ec2.{name}.amazonaws.com", "description": name}


#: Alibaba Cloud system image names as Alibaba publishes them, e.g.
#: aliyun_3_x64_20G_alibase_20251030.vhd or ubuntu_22_04_arm64_20G_alibase_20240130.vhd.
_ALI_SYSTEM_IMAGE_NAME = re.compile(r"(?:[a-z0-9]+_)+(?:x64|arm64)_\d+G_(?:[a-z0-9]+_)*\d{8}\.vhd")


def _ali_images(args: dict[str, Any], region: str | None) -> dict[str, Any]:
    """A system image looked up by its exact name (ImageName and the anchored regex of that
    name): one answer per name. A system image's ID is its name, in every region (e.g.
    ``image_id = "aliyun_3_x64_20G_alibase_20251030.vhd"``). Patterns, newest-match lookups and
    names that are not a dated system image release are refused."""
    _need_region("alicloud:ecs/getImages", region)
    name = str(args.get("imageName") or "")
    pattern = args.get("nameRegex")
    if args.get("owners") != "system" or not name:
        raise UnknownInvoke(
            f"alicloud:ecs/getImages: the offline engine answers only owners='system' with an exact "
            f"image_name, not owners={args.get('owners')!r}, image_name={name!r}"
        )
    if pattern not in (None, "", f"^{re.escape(name)}$"):
        raise UnknownInvoke(f"alicloud:ecs/getImages: name_regex {pattern!r} is not the exact name {name!r}")
    if args.get("mostRecent"):
        raise UnknownInvoke("alicloud:ecs/getImages: most_recent picks the newest match; pin an exact name instead")
    if not _ALI_SYSTEM_IMAGE_NAME.fullmatch(name):
        raise UnknownInvoke(
            f"alicloud:ecs/getImages: {name!r} does not look like an Alibaba Cloud system image name "
            "(<os>_<version>_<x64|arm64>_<size>G_<variant>_<YYYYMMDD>.vhd)"
        )
    return {
        "id": name,
        "ids": [name],
        "names": [name],
        "images": [],
        "imageName": name,
        "nameRegex": pattern or "",
        "owners": "system",
        "mostRecent": False,
    }


def _ali_account(args: dict[str, Any], region: str | None) -> dict[str, Any]:
    return {"id": ALICLOUD_ACCOUNT_ID}


_INVOKES: dict[str, Callable[[dict[str, Any], str | None], dict[str, Any]]] = {
    "alicloud:ecs/getImages:getImages": _ali_images,
    "alicloud:index/getAccount:getAccount": _ali_account,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:elb/getServiceAccount:getServiceAccount": _elb_service_account,
    "aws:ec2/getAmi:getAmi": _ami,
    "aws:ssm/getParameter:getParameter": _ssm_parameter,
    "aws:route53/getZone:getZone": _route53_zone,
    "aws:index/getRegion:getRegion": _region,
}


def answer(token: str, args: dict[str, Any], region: str | None) -> dict[str, Any]:
    """The result of an invoke, or UnknownInvoke naming it."""
    handler = _INVOKES.get(token)
    if handler is None:
        known = ", ".join(sorted(_INVOKES))
        raise UnknownInvoke(
            f"the offline engine does not know the invoke {token!r} (args: {sorted(args)}); "
            f"it answers: {known}. Teach courier/invokes.py to answer it from the catalogue."
        )
    return handler(args, region)
