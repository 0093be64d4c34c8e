"""What runs on every fleet instance to feed Prometheus. Pure: text only, no resources.

node_exporter exposes host metrics on 127.0.0.1:9100; a Prometheus server in agent mode
scrapes it and the service's own ``/metrics``, labels every series with ``service``,
``region``, ``environment`` and the EC2 instance ID, and remote-writes to the region's
Amazon Managed Prometheus workspace with SigV4 (credentials from the instance profile).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.monitoring import yamltext

NODE_EXPORTER_VERSION = "1.8.2"
PROMETHEUS_VERSION = "2.53.2"  # an LTS release; agent mode and SigV4 remote write
NODE_EXPORTER_PORT = 9100
SCRAPE_INTERVAL = "15s"


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


INSTALL_PATH = "/usr/local/sbin/courier-metrics-agent"


def install_script(target: AgentTarget) -> str:
    """A standalone script: install both binaries (unless the image has them; checksums
    verified), configure the agent, start both. Run by a systemd unit that retries it."""
    config = agent_config_yaml(target, "${INSTANCE_ID}")
    return f"""#!/bin/bash
# node_exporter + Prometheus agent -> Amazon Managed Prometheus (written by courier-platform)
set -euo pipefail
ARCH=$(uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')
TOKEN=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
INSTANCE_ID=$(curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id)
fetch() {{  # fetch NAME VERSION: a release tarball, checked against its published sha256sums.txt
  local base="https://github.com/prometheus/$1/releases/download/v$2" file="$1-$2.linux-$ARCH.tar.gz"
  [ -x "/opt/$1/$1" ] && return 0
  curl -fsSLo "/tmp/$file" "$base/$file"
  curl -fsSLo "/tmp/$1.sha256sums" "$base/sha256sums.txt"
  (cd /tmp && grep " $file\\$" "$1.sha256sums" | sha256sum -c -)
  tar -xzf "/tmp/$file" -C /opt && ln -sfn "/opt/$1-$2.linux-$ARCH" "/opt/$1"
}}
fetch node_exporter {NODE_EXPORTER_VERSION}
fetch prometheus {PROMETHEUS_VERSION}
id prometheus >/dev/null 2>&1 || useradd --system --no-create-home --shell /sbin/nologin prometheus
install -d -o prometheus -g prometheus /var/lib/prometheus-agent
cat > /etc/courier/prometheus-agent.yml <<AGENT
{config}AGENT
cat > /etc/systemd/system/node_exporter.service <<'UNIT'
[Unit]
Description=Prometheus node_exporter
[Service]
User=prometheus
ExecStart=/opt/node_exporter/node_exporter --web.listen-address=127.0.0.1:{NODE_EXPORTER_PORT}
Restart=always
[Install]
WantedBy=multi-user.target
UNIT
cat > /etc/systemd/system/prometheus-agent.service <<'UNIT'
[Unit]
Description=Prometheus agent (remote write to Amazon Managed Prometheus)
After=network-online.target node_exporter.service
[Service]
User=prometheus
ExecStart=/opt/prometheus/prometheus --enable-feature=agent --config.file=/etc/courier/prometheus-agent.yml --storage.agent.path=/var/lib/prometheus-agent --web.listen-address=127.0.0.1:9090
Restart=always
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now node_exporter.service prometheus-agent.service
"""


def boot_steps(target: AgentTarget) -> str:
    """User-data lines that install the agent without ever holding up the service: the
    script runs from a oneshot unit that retries every minute (a release download can fail
    during a mass scale-out), after the service has started. Bake the binaries into the image
    to skip the download altogether."""
    return f"""install -m 0755 /dev/stdin {INSTALL_PATH} <<'SCRIPT'
{install_script(target)}SCRIPT
cat > /etc/systemd/system/courier-metrics-agent.service <<'UNIT'
[Unit]
Description=Install and start the metrics agent
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=0
[Service]
Type=oneshot
ExecStart={INSTALL_PATH}
Restart=on-failure
RestartSec=60
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now --no-block courier-metrics-agent.service
"""
