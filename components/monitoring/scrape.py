"""How a Prometheus *outside* the instances scrapes an Alibaba Cloud fleet. Pure: text only.

On AWS every instance runs a Prometheus agent that remote-writes with SigV4 (the instance
profile's credentials; components/monitoring/agent.py). Alibaba Cloud's Managed Service for
Prometheus (ARMS) documents only an AccessKey pair for remote write, and no long-lived key goes
on an instance. So mainland China is scraped instead: an ARMS Prometheus instance of type
``ecs`` sits in the region's VPC (its collector's network interfaces in one app vSwitch, in a
security group of its own) and discovers the fleet's ECS instances with ARMS's built-in
Alibaba Cloud ECS service discovery, ``aliyun_sd_configs``, filtered by the tags the scaling
configuration puts on every instance (``stack`` and ``service``; ESS applies the
configuration's tags to the instances it launches). Nothing on the instance holds a credential
for it: node_exporter listens on the instance's private address, the service serves its own
``/metrics``, and only the collector's security group may reach either port.

The series get exactly the labels the agent gives them on AWS (``job`` node or app,
``service``, ``region``, ``environment``, ``instance`` = the ECS instance ID), so the alert
rules of components.monitoring.rules read both clouds alike.
"""

from __future__ import annotations

from typing import Any

from components.monitoring import yamltext
from components.monitoring.agent import NODE_EXPORTER_PORT, SCRAPE_INTERVAL

#: Only running instances are scraped: a stopped or starting one is not a lost target.
RUNNING = "Running"
#: How often the discovery lists the region's instances: a storm's new instances are scraped
#: within this (plus a scrape interval) of starting.
REFRESH_INTERVAL = "30s"
#: DescribeInstances pages: ``limit`` below zero lists every instance (ARMS's
#: aliyun_sd_configs reference: "get all instances when less than zero").
ALL_INSTANCES = -1


def job_name(stack: str, service: str, job: str) -> str:
    """``courier-<stack>-<service>-<job>``: unique in the ARMS instance."""
    return f"courier-{stack}-{service}-{job}"


def _job(*, stack: str, service: str, region: str, environment: str, job: str, port: int) -> dict[str, Any]:
    return {
        "job_name": job_name(stack, service, job),
        "scrape_interval": SCRAPE_INTERVAL,
        "scrape_timeout": "10s",
        "metrics_path": "/metrics",
        "scheme": "http",
        "honor_labels": False,
        "aliyun_sd_configs": [
            {
                "region_id": region,
                "port": port,
                "refresh_interval": REFRESH_INTERVAL,
                "limit": ALL_INSTANCES,
                "tag_filters": [
                    {"key": "stack", "values": [stack]},
                    {"key": "service", "values": [service]},
                ],
            }
        ],
        "relabel_configs": [
            # The discovery's own filters are the first line; these make the job safe even if a
            # filter were ignored: only running VPC instances of this stack and service.
            {"source_labels": ["__meta_ecs_status"], "regex": RUNNING, "action": "keep"},
            {"source_labels": ["__meta_ecs_tag_stack"], "regex": stack, "action": "keep"},
            {"source_labels": ["__meta_ecs_tag_service"], "regex": service, "action": "keep"},
            # The private address (the instances have no public one), on the job's port.
            {
                "source_labels": ["__meta_ecs_private_ip"],
                "regex": "(.+)",
                "target_label": "__address__",
                "replacement": f"$1:{port}",
            },
            {"target_label": "job", "replacement": job},
            {"target_label": "service", "replacement": service},
            {"target_label": "region", "replacement": region},
            {"target_label": "environment", "replacement": environment},
            {"source_labels": ["__meta_ecs_instance_id"], "target_label": "instance"},
        ],
    }


def fleet_scrape_config(*, stack: str, service: str, region: str, environment: str, port: int) -> dict[str, Any]:
    """The fleet's two jobs, as the ``scrape_configs`` document an ARMS custom job takes:
    ``node`` (node_exporter on NODE_EXPORTER_PORT) and ``app`` (the service's port)."""
    common = {"stack": stack, "service": service, "region": region, "environment": environment}
    return {
        "scrape_configs": [
            _job(job="node", port=NODE_EXPORTER_PORT, **common),
            _job(job="app", port=port, **common),
        ]
    }


def fleet_scrape_yaml(*, stack: str, service: str, region: str, environment: str, port: int) -> str:
    return yamltext.dump(
        fleet_scrape_config(stack=stack, service=service, region=region, environment=environment, port=port)
    )
