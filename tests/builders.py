"""Builders of valid stack config, to be mutated one mistake at a time by the tests."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from components.spec import DEADMANS_SWITCH, ONCALL_ROLES, EnvironmentSpec, build_spec

AS_OF = datetime(2026, 11, 25, tzinfo=UTC)


def region(name: str, role: str, cidr: str, zones: str = "abc", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "role": role,
        "availabilityZones": [f"{name}{z}" for z in zones],
        "cidr": cidr,
        **extra,
    }


#: An Alibaba Cloud region for mainland China, to add to a config.
HANGZHOU = {
    "name": "cn-hangzhou",
    "cloud": "alicloud",
    "role": "secondary",
    "availabilityZones": ["cn-hangzhou-h", "cn-hangzhou-i"],
    "cidr": "10.40.0.0/16",
    "certificateId": "12345678-cn-hangzhou",
    # PIPL: its data replicates within mainland China (required in prod).
    "dataReplica": {
        "name": "cn-shanghai",
        "availabilityZones": ["cn-shanghai-e", "cn-shanghai-f"],
        "cidr": "10.41.0.0/16",
    },
    # Its Prometheus alerts, from an ARMS instance scraping the fleets (required in prod).
    "armsPrometheus": True,
}


def service(name: str, port: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "port": port,
        "instanceTypes": ["c6i.large"],
        "artifact": {"digest": "sha256:" + hashlib.sha256(name.encode()).hexdigest()},
        "capacity": {"min": 2, "desired": 4, "max": 20},
        **extra,
    }


def kubernetes_service(name: str, port: int, **extra: Any) -> dict[str, Any]:
    """A ``platform: kubernetes`` service for EKS clusters: its release pulled from the stack's ECR."""
    return {
        "name": name,
        "port": port,
        "platform": "kubernetes",
        "artifact": {"digest": "sha256:" + hashlib.sha256(name.encode()).hexdigest()},
        "kubernetes": {"cpuRequestMillicores": 500, "memoryRequestMiB": 512},
        "capacity": {"min": 2, "desired": 3, "max": 12},
        **extra,
    }


def valid_config(environment: str = "prod") -> dict[str, Any]:
    """A small but complete config (keys without the ``courier:`` namespace)."""
    return {
        "environment": environment,
        "domain": "courier.example.com",
        "owner": "platform-team",
        "regions": [
            region("ap-southeast-1", "primary", "10.10.0.0/16"),
            region("ap-northeast-1", "standby", "10.20.0.0/16", zones="acd", capacityPercent=50),
        ],
        "services": [service("orders", 8080), service("payments", 8083, scaling={"cpuTarget": 70})],
        "alerting": {
            "runbookBaseUrl": "https://runbooks.courier.example.com/courier-platform",
            "receivers": {
                role: [{"protocol": "email", "endpoint": f"{role}@courier.example.com"}]
                for role in (*ONCALL_ROLES, DEADMANS_SWITCH)
            },
        },
        # Who may use EKS clusters (required once a region builds one).
        "kubernetesAccess": [{"principalArn": "arn:aws:iam::123456789012:role/deployer", "access": "admin"}],
        "promotions": [
            {
                "name": "double-12",
                "start": "2026-12-12T00:00:00+08:00",
                "end": "2026-12-13T02:00:00+08:00",
                "expectedPeakMultiplier": 3,
                "prewarmMinutes": 60,
            }
        ],
    }


#: Networks a prod EKS endpoint admits (prod refuses the internet there: courier.spec rules).
NAMED_NETWORKS = ["203.0.113.16/28"]


def eks_config() -> dict[str, Any]:
    """Three AWS regions; the notifications service on the EKS clusters of the first two only."""
    config = valid_config()
    config["regions"].append(region("ap-northeast-2", "secondary", "10.30.0.0/16"))
    for entry in config["regions"][:2]:
        entry["kubernetes"] = {"cluster": "eks", "apiAllowedCidrs": NAMED_NETWORKS}
    config["services"].append(kubernetes_service("notifications", 8084, regions=["ap-southeast-1", "ap-northeast-1"]))
    return config


def environment(config: dict[str, Any], stack: str = "test") -> Callable[[], None]:
    """A program declaring the whole environment of ``config``, for the run_components fixture."""

    def program() -> None:
        # Imported here: the spec tests need no Pulumi providers.
        from components.environment import CourierEnvironment, CourierEnvironmentArgs
        from components.providers import alicloud_providers, aws_providers, global_provider, random_provider

        spec = spec_of(config, stack=stack)
        CourierEnvironment(
            "courier",
            CourierEnvironmentArgs(
                spec=spec,
                aws_providers=aws_providers(spec),
                global_provider=global_provider(),
                random_provider=random_provider(),
                alicloud_providers=alicloud_providers(spec),
            ),
        )

    return program


def mutated(change: Any, environment: str = "prod") -> dict[str, Any]:
    """A valid config with one change applied by ``change(config)``."""
    config = copy.deepcopy(valid_config(environment))
    change(config)
    return config


def spec_of(config: dict[str, Any], stack: str = "test") -> EnvironmentSpec:
    return build_spec(config, project="courier-platform", stack=stack, as_of=AS_OF)
