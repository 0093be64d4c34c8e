"""The data tier of the AWS regions (orders and payments in an Aurora PostgreSQL Global Database,
rider locations in a DynamoDB global table, sessions and dispatch state in a Valkey Global
Datastore, proof-of-delivery media in S3 replicated between the regions), each store in every
AWS region in its role, encrypted with the region's own key, and watched for replication lag."""

from components.aws.data.regional import DataHandles, RegionalData, RegionalDataArgs
from components.aws.data.shared import DataReplication, DataReplicationArgs, MediaBucket, SharedData, SharedDataArgs

__all__ = [
    "DataHandles",
    "DataReplication",
    "DataReplicationArgs",
    "MediaBucket",
    "RegionalData",
    "RegionalDataArgs",
    "SharedData",
    "SharedDataArgs",
]
