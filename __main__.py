"""courier-platform: the Pulumi program. Thin by design: spec in, environment out.

`pulumi preview -s prod` / `pulumi up -s prod` run this with the real engine;
`python -m courier plan prod` runs the very same file under the offline mock engine.
"""

import pulumi

from components.dr_inputs import dr_inputs
from components.environment import CourierEnvironment, CourierEnvironmentArgs
from components.providers import alicloud_providers, aws_providers, global_provider, random_provider
from components.spec import RegionSpec, load_spec
from components.storm_inputs import storm_inputs

# Invalid config stops here, with every problem listed, before any resource is declared.
spec = load_spec()

environment = CourierEnvironment(
    "courier",
    CourierEnvironmentArgs(
        spec=spec,
        aws_providers=aws_providers(spec),
        global_provider=global_provider(),
        random_provider=random_provider(),
        alicloud_providers=alicloud_providers(spec),
    ),
)

pulumi.export("environment", spec.environment)
pulumi.export("primaryRegion", spec.primary.name)
pulumi.export("apiUrl", environment.api_url)


def _region_outputs(region: RegionSpec) -> dict[str, object]:
    """What operators and other stacks look up in a region: its load balancer, its fleets (Auto
    Scaling group names; ESS scaling group IDs in Alibaba Cloud), its Kubernetes services and
    its data tier's endpoints. Never a secret: no password, no kubeconfig."""
    if region.cloud == "alicloud":
        built = environment.alicloud_regions[region.code]
        china, replica = built.data, region.data_replica
        return {
            "name": region.name,
            "cloud": region.cloud,
            "loadBalancer": built.load_balancer.dns_name,
            "fleets": {name: fleet.group_id for name, fleet in built.fleets.items()},
            "data": None
            if china is None or replica is None
            else {
                "databaseEndpoint": china.database_endpoint,
                "mediaBucket": china.bucket_name,
                "replica": {
                    "name": replica.name,
                    "databaseEndpoint": china.replica_database_endpoint,
                    "mediaBucket": china.replica_bucket_name,
                },
            },
        }
    aws_region = environment.regions[region.code]
    data = aws_region.data_tier
    kubernetes = spec.services_on("kubernetes", region)
    return {
        "name": region.name,
        "cloud": region.cloud,
        "loadBalancer": aws_region.load_balancer.dns_name,
        "fleets": {name: fleet.group_name for name, fleet in aws_region.fleets.items()},
        "kubernetes": {
            "cluster": region.kubernetes.cluster,
            "services": [s.name for s in kubernetes],
            **(
                {"name": aws_region.cluster.name, "endpoint": aws_region.cluster.endpoint}
                if aws_region.cluster is not None
                else {}
            ),
        }
        if region.kubernetes is not None and kubernetes
        else None,
        "data": {
            "databaseEndpoint": data.cluster_endpoint,
            "databaseReaderEndpoint": data.reader_endpoint,
            "cacheEndpoint": data.cache_endpoint,
            "mediaBucket": data.bucket.bucket,
        },
    }


pulumi.export("regions", {region.code: _region_outputs(region) for region in spec.regions})

# What the storm simulator needs beyond the resources (python -m courier storm reads the Plan):
# the promotions' forecasts, each region's role, and each service's assumptions and objectives.
pulumi.export("storm", storm_inputs(spec))

# What `python -m courier dr` needs beyond the resources: regions in failover order with their
# roles and status, the data tier's origin, the stores each service uses.
pulumi.export("dr", dr_inputs(spec))
