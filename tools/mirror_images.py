"""Print the copies the release pipeline makes of third-party images, before a stack's `up`.

    python tools/mirror_images.py --stack prod --registry 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com

Every instance and every EKS node pulls only from the stack's ECR repositories in its own region
(docs/decisions.md). The metrics agent's images (components/monitoring/agent.py) and the cluster
add-ons' images (components/kubernetes/charts.py) are copied unchanged, image index and all,
into ``courier/<stack>/platform/<name>:<tag>`` of the primary region; ECR replication brings
them to the other regions. One ``crane copy`` line per image (skopeo works the same with
``skopeo copy --all docker://SRC docker://DST``). An image with a pinned digest is copied *by
that digest*, so a wrong or moved upstream digest fails here, in the pipeline, and never at an
instance's boot. Tags are immutable in the stack's repositories: re-running a copy that already
landed fails with ImageTagAlreadyExistsException, which the pipeline may treat as done.

Alibaba Cloud regions whose fleets are scraped by ARMS (``regions[].armsPrometheus``) run
node_exporter from the region's Container Registry: ``--acr HOST`` (once per region, the
instance's public or internal push domain) adds a copy of node_exporter to
``HOST/courier-<stack>/platform-node-exporter:<tag>`` (components.alicloud.registry).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.alicloud import names
from components.alicloud.registry import NODE_EXPORTER_REPOSITORY
from components.kubernetes import charts
from components.monitoring import agent


@dataclass(frozen=True, order=True)
class Copy:
    source: str
    destination: str


def copies(stack: str, registry: str) -> list[Copy]:
    """One copy per distinct (repository, tag): the agent's images and every chart's."""
    images: dict[tuple[str, str], str] = {}
    for image in agent.IMAGES:
        source = f"{image.upstream}@{image.digest}" if image.digest else f"{image.upstream}:{image.tag}"
        images[(image.name, image.tag)] = source
    for listed in charts.CHART_IMAGES.values():
        for chart_image in listed:
            images.setdefault((chart_image.name, chart_image.tag), f"{chart_image.upstream}:{chart_image.tag}")
    return sorted(
        Copy(source, f"{registry}/courier/{stack}/{charts.PLATFORM}/{name}:{tag}")
        for (name, tag), source in images.items()
    )


def acr_copies(stack: str, registry: str) -> list[Copy]:
    """node_exporter into one Alibaba Cloud region's Container Registry instance."""
    image = agent.NODE_EXPORTER
    source = f"{image.upstream}@{image.digest}" if image.digest else f"{image.upstream}:{image.tag}"
    namespace = f"courier-{names.stack_token(stack)}"
    return [Copy(source, f"{registry}/{namespace}/{NODE_EXPORTER_REPOSITORY}:{image.tag}")]


_ACR = re.compile(r"[a-z0-9][a-z0-9-]*-registry(-vpc)?\.[a-z0-9-]+\.cr\.aliyuncs\.com")
_REGISTRY = re.compile(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
_STACK = re.compile(r"[a-z0-9][a-z0-9-]*")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name, e.g. prod")
    parser.add_argument("--registry", required=True, help="the primary region's ECR host")
    parser.add_argument(
        "--acr",
        action="append",
        default=[],
        help="an Alibaba Cloud region's Container Registry host (<instance>-registry.<region>.cr.aliyuncs.com); repeatable",
    )
    args = parser.parse_args(argv)
    if not _STACK.fullmatch(args.stack):
        print(f"--stack {args.stack[:60]!r}: lowercase letters, digits and '-'", file=sys.stderr)
        return 2
    if not _REGISTRY.fullmatch(args.registry):
        print(f"--registry {args.registry[:80]!r}: expected <account>.dkr.ecr.<region>.amazonaws.com", file=sys.stderr)
        return 2
    for host in args.acr:
        if not _ACR.fullmatch(host):
            print(f"--acr {host[:80]!r}: expected <instance>-registry.<region>.cr.aliyuncs.com", file=sys.stderr)
            return 2
    found = copies(args.stack, args.registry) + [c for host in args.acr for c in acr_copies(args.stack, host)]
    for copy in found:
        print(f"crane copy {copy.source} {copy.destination}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
