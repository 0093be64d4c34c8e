"""Builders of valid stack config, to be mutated one mistake at a time by the tests."""

from __future__ import annotations

import copy
import hashlib
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


def service(name: str, port: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "port": port,
        "instanceTypes": ["c6i.large"],
        "artifact": {"digest": "sha256:" + hashlib.sha256(name.encode()).hexdigest()},
        "capacity": {"min": 2, "desired": 4, "max": 20},
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


def mutated(change: Any, environment: str = "prod") -> dict[str, Any]:
    """A valid config with one change applied by ``change(config)``."""
    config = copy.deepcopy(valid_config(environment))
    change(config)
    return config


def spec_of(config: dict[str, Any], stack: str = "test") -> EnvironmentSpec:
    return build_spec(config, project="courier-platform", stack=stack, as_of=AS_OF)
