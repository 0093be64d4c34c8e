"""Physical names of the data stores: fixed, derived from the stack and the region code, so a
rebuilt region gets names of its own and nothing is ever renamed (a rename replaces a store)."""

from __future__ import annotations

DATABASE = "orders"
TABLE = "rider-locations"
CACHE = "cache"
#: PostgreSQL port of every cluster (the security group opens only this).
DATABASE_PORT = 5432
#: Valkey's port with in-transit encryption.
CACHE_PORT = 6379
#: The database's master user (admin only: services connect with IAM authentication as
#: themselves; global clusters cannot use a password managed by RDS in Secrets Manager).
MASTER_USER = "courier_admin"
#: The TTL attribute of location records (epoch seconds): DynamoDB deletes them after it.
TTL_ATTRIBUTE = "expiresAt"


def global_cluster(stack: str) -> str:
    return f"courier-{stack}-{DATABASE}"


def cluster(stack: str, code: str) -> str:
    """Aurora cluster identifier: letters, digits and single hyphens, at most 63."""
    return f"courier-{stack}-{code}-{DATABASE}"


def table(stack: str) -> str:
    return f"courier-{stack}-{TABLE}"


def cache_group(stack: str, code: str) -> str:
    """Replication group ID: at most 40 lowercase letters, digits and hyphens."""
    return f"courier-{stack}-{code}-{CACHE}"


def cache_global_suffix(stack: str) -> str:
    return f"courier-{stack}-{CACHE}"


def key_alias(stack: str) -> str:
    """The data key's alias, the same name in every region (a replica secret names its key by it)."""
    return f"alias/courier-{stack}-data"


def master_secret(stack: str) -> str:
    return f"courier/{stack}/{DATABASE}/master"
