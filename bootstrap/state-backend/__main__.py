"""The state backend of courier-platform: one StateBackend, an explicit provider per region.

Config (namespace courier-platform-state): homeRegion (default us-west-2), replicaRegion
(default us-east-2). Exports homeUrl and replicaUrl, the URLs to `pulumi login` to."""

import sys
from pathlib import Path

# Pulumi runs this file from bootstrap/state-backend; the components live at the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pulumi
import pulumi_aws as aws

from components.aws.state_backend import StateBackend, StateBackendArgs

config = pulumi.Config()
home_region = config.get("homeRegion") or "us-west-2"
replica_region = config.get("replicaRegion") or "us-east-2"

# Explicit providers only, as in the main project (pulumi:disable-default-providers).
home = aws.Provider("aws-home", region=home_region)
replica = aws.Provider("aws-replica", region=replica_region)
account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=home)).account_id

backend = StateBackend(
    "state",
    StateBackendArgs(
        bucket_prefix="courier-platform-state",
        account_id=account_id,
        home_region=home_region,
        home_provider=home,
        replica_region=replica_region,
        replica_provider=replica,
        tags={
            "project": "courier-platform",
            "service": "pulumi-state",
            "owner": "courier-platform-team",
            "managed-by": "pulumi",
        },
    ),
)

pulumi.export("homeUrl", backend.home_url)
pulumi.export("replicaUrl", backend.replica_url)
