"""The boot script of every fleet instance, on either cloud. Pure: text only.

cloud-init runs user data at an instance's first boot only, but a warm-pool instance is
stopped and started again before it serves, so everything that must happen at *every* boot
lives in systemd units the first boot writes and enables:

- first boot (user data): the service's identity in ``/etc/courier/service.env``; Docker, the
  Amazon ECR credential helper and the AWS CLI from the AL2023 package repository of the
  instance's own region (S3-hosted and locked to the AMI's release, so no internet and the
  same package versions on every launch); the units below.
- every boot (units): ``courier-<service>.service`` runs the service's container image, pinned
  by digest, from the stack's ECR repository in the instance's own region (``Restart=always``);
  ``courier-ready.service`` waits until the service answers its health check on the instance
  itself and then completes the Auto Scaling group's launch lifecycle action (CONTINUE). Until
  then Auto Scaling neither registers the instance with the load balancer nor stops a
  warm-pool instance half-booted; if it never answers, the hook times out and ABANDON replaces it.

Alibaba Cloud fleets (``alicloud_service``) run the same kind of units: Docker CE from Alibaba
Cloud's VPC-internal mirror, the service's image pinned by digest from the stack's Container
Registry Enterprise Edition instance in the instance's own region, pulled with a temporary
password that the instance's RAM role obtains at every pull (``alicloud_pull_script``), and a
unit that records when the service first answers locally. ESS has no warm pools and no
lifecycle hook here: the ALB's health check decides when an instance gets traffic
(docs/decisions.md).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass

#: Where the instance keeps what the boot script writes.
CONFIG_DIR = "/etc/courier"
#: The Docker CLI's config (the ECR credential helper per registry), for every container unit.
DOCKER_CONFIG = f"{CONFIG_DIR}/docker"
SERVICE_ENV = f"{CONFIG_DIR}/service.env"
READY_SCRIPT = "/usr/local/sbin/courier-ready"
READY_UNIT = "courier-ready.service"
#: Installed at first boot from the region's AL2023 repository (awscli-2 is on the standard
#: AL2023 AMI already; naming it keeps the script working on the minimal AMI).
PACKAGES = ("docker", "amazon-ecr-credential-helper", "awscli-2")

#: A shell function both clouds' boot scripts use around package installs.
RETRY = """retry() {  # retry COMMAND...: five attempts, backing off
  local attempt
  for attempt in 1 2 3 4 5; do
    "$@" && return 0
    sleep $((attempt * 3))
  done
  return 1
}
"""


@dataclass(frozen=True)
class Identity:
    """What the service is told about where it runs."""

    service: str
    region: str
    environment: str
    port: int
    #: ``(name, value)`` of the data stores' endpoints (COURIER_DB_ENDPOINT, ...), sorted.
    data: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Launch:
    """How an AWS fleet instance comes up serving."""

    identity: Identity
    #: ``<account>.dkr.ecr.<region>.amazonaws.com/courier/<stack>/<service>@sha256:...``
    image: str
    #: The service's health check path, polled on the instance itself before it may serve.
    health_check_path: str
    #: Name of the Auto Scaling group's launch lifecycle hook to complete.
    lifecycle_hook: str
    #: The hook's heartbeat timeout: past it Auto Scaling abandons the instance anyway.
    launch_timeout_seconds: int

    @property
    def unit(self) -> str:
        return f"courier-{self.identity.service}.service"

    @property
    def registry(self) -> str:
        return registry_of(self.image)


def registry_of(image: str) -> str:
    """``<account>.dkr.ecr.<region>.amazonaws.com`` of an image reference."""
    return image.split("/", 1)[0]


def header(identity: Identity) -> str:
    return f"""#!/bin/bash
# courier-platform boot script: {identity.service} in {identity.region} ({identity.environment}).
set -euo pipefail
"""


def environment_file(identity: Identity) -> str:
    data = "".join(f"{key}={value}\n" for key, value in identity.data)
    return f"""install -d -m 0755 {CONFIG_DIR}
cat > {SERVICE_ENV} <<'ENV'
COURIER_SERVICE={identity.service}
COURIER_REGION={identity.region}
COURIER_ENVIRONMENT={identity.environment}
COURIER_PORT={identity.port}
{data}ENV
"""


def start_service(service: str, region: str, environment: str, port: int) -> str:
    """The smallest boot script: the identity and the start of a unit that must already exist.
    No fleet uses it any more (``aws_service``, ``alicloud_service``); the verification stage's
    tests decode it."""
    identity = Identity(service, region, environment, port)
    return header(identity) + environment_file(identity) + f"systemctl enable --now courier-{service}.service\n"


def container_runtime(registries: Sequence[str]) -> str:
    """Docker and the ECR credential helper, the AWS CLI; Docker's CLI asks the helper (which
    uses the instance profile) for every pull from these registries: no `docker login`, no
    token to renew."""
    helpers = json.dumps({"credHelpers": dict.fromkeys(sorted(set(registries)), "ecr-login")})
    return f"""{RETRY}# From this region's AL2023 repository (S3, through the VPC's gateway endpoint), at the versions
# of the AMI's release.
retry dnf install -y {" ".join(PACKAGES)}
install -d -m 0700 {DOCKER_CONFIG}
cat > {DOCKER_CONFIG}/config.json <<'JSON'
{helpers}
JSON
systemctl enable --now docker.service
"""


def container_unit(
    name: str,
    description: str,
    image: str,
    run_options: Sequence[str],
    arguments: Sequence[str] = (),
    pre_start: Sequence[str] = (),
    start_timeout_seconds: int | None = None,
) -> str:
    """A systemd unit running one container at every boot, restarted whenever it exits. The
    image is pulled only when it is not on the instance yet (a warm-pool instance has it).
    ``pre_start`` commands run before the container (each must succeed); ``start_timeout_seconds``
    bounds them and the start (systemd's default is 90 s)."""
    command = " ".join(
        ["/usr/bin/docker run --rm", f"--name {name}", *run_options, "--log-driver journald", image, *arguments]
    )
    before = "".join(f"ExecStartPre={line}\n" for line in pre_start)
    if start_timeout_seconds is not None:
        before += f"TimeoutStartSec={start_timeout_seconds}\n"
    return f"""cat > /etc/systemd/system/{name}.service <<'UNIT'
[Unit]
Description={description}
Requires=docker.service
After=docker.service network-online.target
Wants=network-online.target
StartLimitIntervalSec=0
[Service]
Environment=HOME=/root DOCKER_CONFIG={DOCKER_CONFIG}
ExecStartPre=-/usr/bin/docker rm -f {name}
{before}ExecStart={command}
ExecStop=/usr/bin/docker stop {name}
Restart=always
RestartSec=5
[Install]
WantedBy=multi-user.target
UNIT
"""


def ready_script(launch: Launch) -> str:
    """Waits for the local health check, then completes the launch lifecycle action. Run at
    every boot; on a reboot of a serving instance no action is pending, which is fine."""
    identity = launch.identity
    url = f"http://127.0.0.1:{identity.port}{launch.health_check_path}"
    return f"""#!/bin/bash
# Completes the Auto Scaling launch lifecycle action once {identity.service} answers locally.
set -euo pipefail
REGION={identity.region}
HOOK={launch.lifecycle_hook}
until curl -fsS -o /dev/null --max-time 2 '{url}'; do sleep 2; done
TOKEN=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
INSTANCE_ID=$(curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id)
# Retried: the instance role's permissions may still be propagating when the first instances boot.
for attempt in 1 2 3 4 5 6 7 8; do
  output=""
  if GROUP=$(aws autoscaling describe-auto-scaling-instances --region "$REGION" --instance-ids "$INSTANCE_ID" \\
    --query 'AutoScalingInstances[0].AutoScalingGroupName' --output text 2>&1) &&
    output=$(aws autoscaling complete-lifecycle-action --region "$REGION" --auto-scaling-group-name "$GROUP" \\
      --lifecycle-hook-name "$HOOK" --instance-id "$INSTANCE_ID" --lifecycle-action-result CONTINUE 2>&1); then
    echo "launch lifecycle action completed: $INSTANCE_ID serves"
    exit 0
  fi
  case "$output" in
    *"No active Lifecycle Action"*) echo "no launch lifecycle action pending (a reboot)"; exit 0 ;;
  esac
  echo "attempt $attempt: $GROUP $output" >&2
  sleep $((attempt * 5))
done
exit 1
"""


def aws_service(launch: Launch, registries: Sequence[str] = ()) -> str:
    """The boot script of an AWS fleet instance up to a serving service: identity, container
    runtime, the service's unit started, and the unit that reports it ready."""
    identity = launch.identity
    service_unit = container_unit(
        launch.unit.removesuffix(".service"),
        f"courier {identity.service}: container image from this region's ECR repository",
        launch.image,
        ["--env-file", SERVICE_ENV, "--publish", f"{identity.port}:{identity.port}"],
    )
    return (
        header(identity)
        + "# cloud-init runs this at the first boot only; the units it writes run at every boot.\n"
        + environment_file(identity)
        + container_runtime([launch.registry, *registries])
        + service_unit
        + f"install -m 0755 /dev/stdin {READY_SCRIPT} <<'SCRIPT'\n"
        + ready_script(launch)
        + "SCRIPT\n"
        + _ready_unit(
            f"Tell Auto Scaling that {identity.service} serves (launch lifecycle action)",
            launch.unit,
            launch.launch_timeout_seconds,
            wait_for_service=True,
        )
    )


def _ready_unit(description: str, service_unit: str, timeout_seconds: int, *, wait_for_service: bool) -> str:
    """The oneshot unit that runs READY_SCRIPT after the service, at every boot, and the
    commands that enable both (``wait_for_service``: the boot script waits for the service's
    start, as the AWS launch hook needs the service up before it can be completed)."""
    block = "" if wait_for_service else " --no-block"
    return f"""cat > /etc/systemd/system/{READY_UNIT} <<'UNIT'
[Unit]
Description={description}
After={service_unit} network-online.target
Wants=network-online.target
[Service]
Type=oneshot
ExecStart={READY_SCRIPT}
TimeoutStartSec={timeout_seconds}
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now{block} {service_unit}
systemctl enable --now --no-block {READY_UNIT}
"""


def user_data(script: str) -> str:
    """User data as both EC2 launch templates and ESS scaling configurations take it."""
    return base64.b64encode(script.encode()).decode()


# --------------------------------------------------------------------------------------
# Alibaba Cloud.
# --------------------------------------------------------------------------------------

#: Alibaba Cloud's package mirror as ECS instances reach it inside a VPC, without internet access
#: (the host ACS::ECS::InstallDockerCE uses, aliyun/oos-templates).
ALIYUN_MIRROR = "mirrors.cloud.aliyuncs.com"
#: The ECS instance metadata service (RAM role credentials, hardened mode with a token).
ALIYUN_METADATA = "100.100.100.200"
PULL_SCRIPT = "/usr/local/sbin/courier-pull"
#: How long a unit may take to pull its image before systemd gives up and restarts it.
PULL_TIMEOUT_SECONDS = 600
#: node_exporter's port, on AWS (loopback, for the local agent) and Alibaba Cloud (the private
#: address, for the VPC's collector) alike.
NODE_EXPORTER_PORT = 9100
NODE_EXPORTER_UNIT = "node-exporter"

#: Docker CE as ACS::ECS::InstallDockerCE installs it on Alibaba Cloud Linux 3 (aliyun/oos-templates,
#: CloudProductActions/ECS/YAML/ACS::ECS::InstallDockerCE.yml): the docker-ce repository of the
#: VPC-internal mirror, dnf-plugin-releasever-adapter from alinux3-plus (it maps Alibaba Cloud
#: Linux 3's $releasever onto the CentOS 8 packages), then docker-ce. The template downloads the
#: mirror's docker-ce.repo and rewrites mirrors.aliyun.com to the internal host; the same
#: repository is written here directly, so the script itself names every host it contacts. Plain
#: http is the template's: the internal mirror, with every package's GPG signature checked.
ALICLOUD_DOCKER = f"""cat > /etc/yum.repos.d/docker-ce.repo <<'REPO'
[docker-ce-stable]
name=Docker CE Stable - $basearch
baseurl=http://{ALIYUN_MIRROR}/docker-ce/linux/centos/$releasever/$basearch/stable
enabled=1
gpgcheck=1
gpgkey=http://{ALIYUN_MIRROR}/docker-ce/linux/centos/gpg
REPO
retry dnf -y install dnf-plugin-releasever-adapter --repo alinux3-plus
retry dnf -y install docker-ce
systemctl enable --now docker.service
"""

#: Bash functions that sign an Alibaba Cloud RPC API request with signature version 1.0
#: (HMAC-SHA1), as the API reference's "Request signatures" page describes it: parameters sorted
#: by name, names and values percent-encoded per RFC 3986 (space %20, "*" %2A, "~" kept),
#: StringToSign = GET&%2F&<encoded canonical query>, key = AccessKey secret + "&", Base64.
#: tests/components/test_alicloud.py checks them against that page's worked example.
RPC_SIGNING = r"""encode() {  # encode TEXT: RFC 3986 percent-encoding, as the signature requires
  local LC_ALL=C text=$1 out="" char i
  for ((i = 0; i < ${#text}; i++)); do
    char=${text:i:1}
    case $char in
      [A-Za-z0-9._~-]) out+=$char ;;
      *) printf -v char '%%%02X' "'$char"; out+=$char ;;
    esac
  done
  printf '%s' "$out"
}
canonical() {  # canonical NAME VALUE...: the encoded query string, sorted by name
  local pairs=()
  while (($# >= 2)); do
    pairs+=("$(encode "$1")=$(encode "$2")")
    shift 2
  done
  printf '%s\n' "${pairs[@]}" | LC_ALL=C sort -t '=' -k 1,1 | paste -s -d '&' -
}
sign() {  # sign SECRET QUERY: Base64(HMAC-SHA1(SECRET&, GET&%2F&encode(QUERY)))
  printf 'GET&%%2F&%s' "$(encode "$2")" | openssl dgst -sha1 -hmac "$1&" -binary | base64
}
json_field() {  # json_field NAME JSON: a string member of a flat JSON object (only \/ escaped)
  local pattern="\"$1\"[[:space:]]*:[[:space:]]*\"(([^\"\\\\]|\\\\/)*)\"" value
  if [[ ! $2 =~ $pattern ]]; then
    echo "no string $1 in the answer" >&2
    return 1
  fi
  value=${BASH_REMATCH[1]}
  printf '%s' "${value//'\/'/'/'}"
}
"""


@dataclass(frozen=True)
class AlicloudLaunch:
    """How an Alibaba Cloud fleet instance comes up serving."""

    identity: Identity
    #: ``<instance>-registry-vpc.<region>.cr.aliyuncs.com/<namespace>/<repository>@sha256:...``
    image: str
    #: The Container Registry Enterprise Edition instance (``cri-...``) that issues the password.
    registry_instance_id: str
    #: The instance's RAM role, whose STS credentials sign the password request.
    ram_role: str
    #: The service's health check path, polled on the instance itself.
    health_check_path: str
    #: How long ``courier-ready`` waits for the service to answer before it fails.
    ready_timeout_seconds: int = 600
    #: node_exporter from this region's registry, when a Prometheus in the VPC scrapes the fleet
    #: (components.monitoring.scrape); None: no metrics unit.
    node_exporter_image: str | None = None

    @property
    def unit(self) -> str:
        return f"courier-{self.identity.service}.service"

    @property
    def registry(self) -> str:
        return registry_of(self.image)

    @property
    def api_endpoint(self) -> str:
        """Container Registry's API in the region, as a VPC reaches it (API reference, Endpoints:
        "VPC access address" cr-vpc.<region>.aliyuncs.com)."""
        return f"cr-vpc.{self.identity.region}.aliyuncs.com"


def alicloud_pull_script(launch: AlicloudLaunch) -> str:
    """``courier-pull IMAGE``: pulls IMAGE unless the instance has it already. The instance's RAM
    role credentials (metadata service, hardened mode) sign GetAuthorizationToken (Container
    Registry API 2018-12-01) for this region's Enterprise Edition instance; the temporary
    password it returns lasts as long as those STS credentials and carries only the role's
    permissions (API reference, GetAuthorizationToken). Docker logs in for the pull and out
    again: no password stays on disk."""
    return f"""#!/bin/bash
# Pulls an image from this region's Container Registry with a temporary password (RAM role).
set -euo pipefail
IMAGE=$1
REGISTRY={launch.registry}
INSTANCE_ID={launch.registry_instance_id}
ROLE={launch.ram_role}
API=https://{launch.api_endpoint}/
METADATA=http://{ALIYUN_METADATA}
{RPC_SIGNING}if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  exit 0
fi
token=$(curl -fsS -X PUT "$METADATA/latest/api/token" -H 'X-aliyun-ecs-metadata-token-ttl-seconds: 300')
credentials=$(curl -fsS -H "X-aliyun-ecs-metadata-token: $token" "$METADATA/latest/meta-data/ram/security-credentials/$ROLE")
key_id=$(json_field AccessKeyId "$credentials")
secret=$(json_field AccessKeySecret "$credentials")
security_token=$(json_field SecurityToken "$credentials")
nonce=$(cat /proc/sys/kernel/random/uuid)
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
query=$(canonical AccessKeyId "$key_id" Action GetAuthorizationToken Format JSON InstanceId "$INSTANCE_ID" \\
  SecurityToken "$security_token" SignatureMethod HMAC-SHA1 SignatureNonce "$nonce" SignatureVersion 1.0 \\
  Timestamp "$now" Version 2018-12-01)
signature=$(sign "$secret" "$query")
answer=$(curl -fsS "$API?$query&Signature=$(encode "$signature")")
user=$(json_field TempUsername "$answer")
json_field AuthorizationToken "$answer" | docker login --username "$user" --password-stdin "$REGISTRY"
status=0
docker pull "$IMAGE" || status=$?
docker logout "$REGISTRY" || true
exit "$status"
"""


def alicloud_ready_script(launch: AlicloudLaunch) -> str:
    """Waits for the local health check and logs how long after boot the service first answered:
    the launch-to-serving time, in the journal of every instance. The ALB decides on its own
    when to send traffic; this unit changes nothing, it measures."""
    identity = launch.identity
    url = f"http://127.0.0.1:{identity.port}{launch.health_check_path}"
    return f"""#!/bin/bash
# Logs when {identity.service} first answers its health check on this instance.
set -euo pipefail
until curl -fsS -o /dev/null --max-time 2 '{url}'; do sleep 2; done
read -r uptime _ </proc/uptime
echo "{identity.service} serves, $uptime s after boot"
"""


def alicloud_service(launch: AlicloudLaunch) -> str:
    """The boot script of an Alibaba Cloud fleet instance up to a serving service: identity,
    Docker CE from the internal mirror, the pull script, the service's unit (which pulls its
    pinned image before it starts) and the unit that records when it first serves."""
    identity = launch.identity
    name = launch.unit.removesuffix(".service")
    service_unit = container_unit(
        name,
        f"courier {identity.service}: container image from this region's Container Registry",
        launch.image,
        ["--env-file", SERVICE_ENV, "--publish", f"{identity.port}:{identity.port}"],
        pre_start=[f"{PULL_SCRIPT} {launch.image}"],
        start_timeout_seconds=PULL_TIMEOUT_SECONDS,
    )
    return (
        header(identity)
        + "# cloud-init runs this at the first boot only; the units it writes run at every boot.\n"
        + environment_file(identity)
        + RETRY
        + ALICLOUD_DOCKER
        + f"install -d -m 0700 {DOCKER_CONFIG}\n"
        + f"install -m 0755 /dev/stdin {PULL_SCRIPT} <<'SCRIPT'\n"
        + alicloud_pull_script(launch)
        + "SCRIPT\n"
        + f"install -m 0755 /dev/stdin {READY_SCRIPT} <<'SCRIPT'\n"
        + alicloud_ready_script(launch)
        + "SCRIPT\n"
        + service_unit
        + _ready_unit(
            f"Record when {identity.service} first answers its health check",
            launch.unit,
            launch.ready_timeout_seconds,
            wait_for_service=False,
        )
        + _alicloud_node_exporter(launch)
    )


def _alicloud_node_exporter(launch: AlicloudLaunch) -> str:
    """node_exporter on the instance's private address (``NODE_EXPORTER_PORT``), for the region's
    ARMS collector, the only source its security group admits on that port. Started after the
    service and never waited on: metrics never hold up serving."""
    if launch.node_exporter_image is None:
        return ""
    unit = container_unit(
        NODE_EXPORTER_UNIT,
        "Prometheus node_exporter for the region's ARMS collector (image from this region's Container Registry)",
        launch.node_exporter_image,
        ["--network host", "--pid host", "--volume /:/host:ro,rslave"],
        ["--path.rootfs=/host", f"--web.listen-address=:{NODE_EXPORTER_PORT}"],
        pre_start=[f"{PULL_SCRIPT} {launch.node_exporter_image}"],
        start_timeout_seconds=PULL_TIMEOUT_SECONDS,
    )
    return f"""# Metrics: scraped from the VPC by the region's ARMS Prometheus; no credential on the instance.
{unit}systemctl daemon-reload
systemctl enable --now --no-block {NODE_EXPORTER_UNIT}.service
"""
