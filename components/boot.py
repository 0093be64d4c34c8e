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

Alibaba Cloud fleets still start a unit that must come with their image (``start_service``)
until their Container Registry design lands.
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


@dataclass(frozen=True)
class Identity:
    """What the service is told about where it runs."""

    service: str
    region: str
    environment: str
    port: int


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
    return f"""install -d -m 0755 {CONFIG_DIR}
cat > {SERVICE_ENV} <<'ENV'
COURIER_SERVICE={identity.service}
COURIER_REGION={identity.region}
COURIER_ENVIRONMENT={identity.environment}
COURIER_PORT={identity.port}
ENV
"""


def start_service(service: str, region: str, environment: str, port: int) -> str:
    """Alibaba Cloud: hand the service its identity and start its unit, which must come with the
    image (Alibaba Cloud Container Registry delivery is not designed yet)."""
    identity = Identity(service, region, environment, port)
    return header(identity) + environment_file(identity) + f"systemctl enable --now courier-{service}.service\n"


def container_runtime(registries: Sequence[str]) -> str:
    """Docker and the ECR credential helper, the AWS CLI; Docker's CLI asks the helper (which
    uses the instance profile) for every pull from these registries: no `docker login`, no
    token to renew."""
    helpers = json.dumps({"credHelpers": dict.fromkeys(sorted(set(registries)), "ecr-login")})
    return f"""retry() {{  # retry COMMAND...: five attempts, backing off
  local attempt
  for attempt in 1 2 3 4 5; do
    "$@" && return 0
    sleep $((attempt * 3))
  done
  return 1
}}
# From this region's AL2023 repository (S3, through the VPC's gateway endpoint), at the versions
# of the AMI's release.
retry dnf install -y {" ".join(PACKAGES)}
install -d -m 0700 {DOCKER_CONFIG}
cat > {DOCKER_CONFIG}/config.json <<'JSON'
{helpers}
JSON
systemctl enable --now docker.service
"""


def container_unit(
    name: str, description: str, image: str, run_options: Sequence[str], arguments: Sequence[str] = ()
) -> str:
    """A systemd unit running one container at every boot, restarted whenever it exits. The
    image is pulled only when it is not on the instance yet (a warm-pool instance has it)."""
    command = " ".join(
        ["/usr/bin/docker run --rm", f"--name {name}", *run_options, "--log-driver journald", image, *arguments]
    )
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
ExecStart={command}
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
        + f"""cat > /etc/systemd/system/{READY_UNIT} <<'UNIT'
[Unit]
Description=Tell Auto Scaling that {identity.service} serves (launch lifecycle action)
After={launch.unit} network-online.target
Wants=network-online.target
[Service]
Type=oneshot
ExecStart={READY_SCRIPT}
TimeoutStartSec={launch.launch_timeout_seconds}
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now {launch.unit}
systemctl enable --now --no-block {READY_UNIT}
"""
    )


def user_data(script: str) -> str:
    """User data as both EC2 launch templates and ESS scaling configurations take it."""
    return base64.b64encode(script.encode()).decode()
