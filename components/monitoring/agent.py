"""What runs on every fleet instance to feed Prometheus. Pure: text only, no resources.

node_exporter exposes host metrics on 127.0.0.1:9100; a Prometheus server in agent mode
scrapes it and the service's own ``/metrics``, labels every series with ``service``,
``region``, ``environment`` and the EC2 instance ID, and remote-writes to the region's
Amazon Managed Prometheus workspace with SigV4 (credentials from the instance profile).

Both run as containers from the stack's own ECR repositories in the instance's region
(``courier/<stack>/platform/<name>``), under systemd units that start at every boot: nothing
is downloaded from the internet at boot, so a mass scale-out never waits on a third party's
release downloads or rate limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components import boot
from components.monitoring import yamltext

NODE_EXPORTER_VERSION = "1.8.2"
PROMETHEUS_VERSION = "2.53.2"  # an LTS release; agent mode and SigV4 remote write
NODE_EXPORTER_PORT = boot.NODE_EXPORTER_PORT
PROMETHEUS_PORT = 9090
SCRAPE_INTERVAL = "15s"
#: The image's own user (nobody), which must own the agent's write-ahead log on the host.
PROMETHEUS_UID = 65534
CONFIG_PATH = f"{boot.CONFIG_DIR}/prometheus-agent.yml"
DATA_DIR = "/var/lib/prometheus-agent"


@dataclass(frozen=True)
class UpstreamImage:
    """A third-party image the release pipeline copies unchanged (image index and all, e.g.
    ``crane copy`` or ``skopeo copy --all``, which keep the digest) into the stack's
    repository ``courier/<stack>/platform/<name>`` in the primary region; ECR replication
    brings it to the other regions. Instances pull only from their own region's copy."""

    name: str
    upstream: str
    tag: str
    #: The upstream image index digest, or None while nobody has verified it.
    digest: str | None

    @property
    def reference(self) -> str:
        """``@sha256:...``, or ``:<tag>`` until the digest is filled in (the repository's
        immutable tags keep the tag from moving, but a recreated repository could differ)."""
        return f"@{self.digest}" if self.digest else f":{self.tag}"


#: Index digest of node-exporter v1.8.2 as pinned identically in several public repositories
#: (quay.io/prometheus/node-exporter and prom/node-exporter publish the same index); check
#: it with `crane digest quay.io/prometheus/node-exporter:v1.8.2` when copying it.
NODE_EXPORTER_DIGEST: str | None = "sha256:4032c6d5bfd752342c3e631c2f1de93ba6b86c41db6b167b9a35372c139e7706"
#: Index digest of prom/prometheus:v2.53.2 as pinned in a public repository's Pulumi program
#: (one source only). Docker Hub's prom/prometheus is the upstream here because that is the
#: reference the digest was published for. The mirror step copies *by this digest*
#: (tools/mirror_images.py), so a wrong digest fails the copy in the release pipeline, never an
#: instance's boot; check it with `crane digest docker.io/prom/prometheus:v2.53.2`.
PROMETHEUS_DIGEST: str | None = "sha256:cafe963e591c872d38f3ea41ff8eb22cee97917b7c97b5c0ccd43a419f11f613"

NODE_EXPORTER = UpstreamImage(
    "node-exporter", "quay.io/prometheus/node-exporter", f"v{NODE_EXPORTER_VERSION}", NODE_EXPORTER_DIGEST
)
PROMETHEUS = UpstreamImage("prometheus", "docker.io/prom/prometheus", f"v{PROMETHEUS_VERSION}", PROMETHEUS_DIGEST)
#: Every image the agent needs, each in its own repository under ``courier/<stack>/platform/``.
IMAGES = (NODE_EXPORTER, PROMETHEUS)


@dataclass(frozen=True)
class AgentImages:
    """Full references of the agent's images in the instance's own region, e.g.
    ``<account>.dkr.ecr.<region>.amazonaws.com/courier/prod/platform/prometheus@sha256:...``."""

    node_exporter: str
    prometheus: str


@dataclass(frozen=True)
class AgentTarget:
    service: str
    region: str
    environment: str
    port: int
    #: ``<workspace prometheus endpoint>api/v1/remote_write``
    remote_write_url: str


def agent_config(target: AgentTarget, instance: str) -> dict[str, Any]:
    """The agent's prometheus.yml; ``instance`` names this host (its EC2 instance ID)."""
    identity = [{"target_label": "instance", "replacement": instance}]
    return {
        "global": {
            "scrape_interval": SCRAPE_INTERVAL,
            "external_labels": {
                "service": target.service,
                "region": target.region,
                "environment": target.environment,
            },
        },
        "scrape_configs": [
            {
                "job_name": "node",
                "static_configs": [{"targets": [f"127.0.0.1:{NODE_EXPORTER_PORT}"]}],
                "relabel_configs": identity,
            },
            {
                "job_name": "app",
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [f"127.0.0.1:{target.port}"]}],
                "relabel_configs": identity,
            },
        ],
        "remote_write": [
            {
                "url": target.remote_write_url,
                "sigv4": {"region": target.region},
                # Sized for a burst of new instances during a storm without dropping samples.
                "queue_config": {"capacity": 10000, "max_shards": 50, "max_samples_per_send": 2000},
            }
        ],
    }


def agent_config_yaml(target: AgentTarget, instance: str) -> str:
    return yamltext.dump(agent_config(target, instance))


def boot_steps(target: AgentTarget, images: AgentImages) -> str:
    """User-data lines that configure and start both containers. They run after the service
    has started and are never waited on: an agent that cannot start keeps retrying in its unit
    (``Restart=always``) and never holds up serving. The instance ID labels every series; it
    is read once, at the first boot (it survives a warm pool's stop and start)."""
    config = agent_config_yaml(target, "${INSTANCE_ID}")
    node_exporter = boot.container_unit(
        "node-exporter",
        "Prometheus node_exporter (container image from this region's ECR repository)",
        images.node_exporter,
        ["--network host", "--pid host", "--volume /:/host:ro,rslave"],
        ["--path.rootfs=/host", f"--web.listen-address=127.0.0.1:{NODE_EXPORTER_PORT}"],
    )
    prometheus = boot.container_unit(
        "prometheus-agent",
        "Prometheus agent, remote write to Amazon Managed Prometheus (container image from this region's ECR)",
        images.prometheus,
        [
            # The host network: SigV4 credentials come from the instance metadata service, which
            # a bridged container cannot reach with the launch template's hop limit of 1.
            "--network host",
            f"--user {PROMETHEUS_UID}:{PROMETHEUS_UID}",
            f"--volume {CONFIG_PATH}:/etc/prometheus/agent.yml:ro",
            f"--volume {DATA_DIR}:/prometheus",
        ],
        [
            "--enable-feature=agent",
            "--config.file=/etc/prometheus/agent.yml",
            "--storage.agent.path=/prometheus",
            f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
        ],
    )
    return f"""# Metrics: node_exporter and a Prometheus agent, containers from this region's registry.
TOKEN=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
INSTANCE_ID=$(curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id)
install -d -o {PROMETHEUS_UID} -g {PROMETHEUS_UID} {DATA_DIR}
cat > {CONFIG_PATH} <<AGENT
{config}AGENT
{node_exporter}{prometheus}systemctl daemon-reload
systemctl enable --now --no-block node-exporter.service prometheus-agent.service
"""
