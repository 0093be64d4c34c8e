"""courier-platform: the Pulumi program. Thin by design: spec in, environment out.

`pulumi preview -s prod` / `pulumi up -s prod` run this with the real engine;
`python -m courier plan prod` runs the very same file under the offline mock engine.
"""

import pulumi

from components.dr_inputs import dr_inputs
from components.environment import CourierEnvironment, CourierEnvironmentArgs
from components.providers import alicloud_providers, aws_providers, global_provider, random_provider
from components.spec import load_spec
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
pulumi.export(
    "regions",
    {
        code: {
            "loadBalancer": region.load_balancer.dns_name,
            "fleets": {k: f.group_name for k, f in region.fleets.items()},
        }
        for code, region in environment.regions.items()
    },
)

# What the storm simulator needs beyond the resources (python -m courier storm reads the Plan):
# the promotions' forecasts, each region's role, and each service's assumptions and objectives.
pulumi.export("storm", storm_inputs(spec))

# What `python -m courier dr` needs beyond the resources: regions in failover order with their
# roles and status, the data tier's origin, the stores each service uses.
pulumi.export("dr", dr_inputs(spec))
