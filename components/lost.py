"""A lost region: its control plane is unreachable (a region outage), so `pulumi up` of the rest
of the stack must neither need nor touch it, and must delete nothing it holds.

The region stays declared exactly as it was (same names, same inputs, the same protected
resources), and every resource in it carries ``ignore_changes: ["*"]``: the engine keeps the
inputs it recorded (Pulumi replaces ignored inputs with the old ones before diffing), so it never
plans a create, update or replacement there, and a lookup the program cannot make (the AMI by
name, on the region's EC2 API) changes nothing. Its provider sends STS calls (the account ID)
to us-east-1 instead of the lost region. The region leaves DNS, stops receiving replication and
is taken out of the failover plan by the components that read ``RegionSpec.lost``. See
docs/decisions.md ("A lost region") and docs/dr.md.
"""

from __future__ import annotations

import pulumi

#: Ignore every input (pulumi/pulumi#13005: "*" ignores all properties).
IGNORE_ALL = ["*"]
#: Where a lost region's provider sends STS calls (the account ID lookups).
STS_REGION = "us-east-1"


def keep_as_is(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
    """A transformation for every resource of a lost region: declared as it is, changed never."""
    return pulumi.ResourceTransformationResult(
        props=args.props,
        opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(ignore_changes=IGNORE_ALL)),
    )


def options(lost: bool) -> pulumi.ResourceOptions:
    """Options for a component (or resource) of a region: ``keep_as_is`` on everything under it
    when the region is lost, nothing otherwise."""
    return pulumi.ResourceOptions(transformations=[keep_as_is]) if lost else pulumi.ResourceOptions()
