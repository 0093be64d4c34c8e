"""Boot scripts: what every instance runs at launch, decoded from the plan and checked.

EC2 launch templates and ESS scaling configurations carry user data base64-encoded
(components/boot.py); it may also be gzip-compressed or a MIME multi-part archive (cloud-init
formats). Each shell script in it, and each script it installs through a quoted here-document,
is checked with shellcheck; the user data against the clouds' size limits; and every container
image it pulls from ECR against the repositories the plan declares in the instance's region.
Deployments on an EKS cluster the plan builds are held to the same rule for their pods' images,
and so are the cluster add-ons' Helm releases, image by image as each chart builds it
(components/kubernetes/charts.py lists every image a pinned chart deploys and its values keys).
"""

from __future__ import annotations

import base64
import binascii
import email
import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.kubernetes import charts
from courier.plan import Resource
from courier.verify.findings import Context, Issue, Rule

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ESS_CONFIGURATION = "alicloud:ess/scalingConfiguration:ScalingConfiguration"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

#: User data is limited to 16 KB in raw form, before base64, on both clouds.
USER_DATA_LIMIT = 16 * 1024
SIZE_SOURCES = {
    "aws": "EC2 User Guide, instance user data: 'limited to 16 KB, in raw form, before it is base64-encoded'; "
    "botocore ec2 RequestLaunchTemplateData.UserData",
    "alicloud": "https://www.alibabacloud.com/help/doc-detail/49121.htm: 'The script size cannot exceed 16 KB "
    "before the script is encoded in Base64'",
}
SHELLCHECK = "https://www.shellcheck.net/wiki/ (Debian package shellcheck); findings of severity error and warning"
SHELLCHECK_TIMEOUT_SECONDS = 120

_SHELLS = re.compile(r"#!\s*(/usr)?/bin/(env\s+)?(ba)?sh\b")
_HEREDOC = re.compile(r"<<(-?)\s*(['\"])([A-Za-z_][A-Za-z0-9_]*)\2")
# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<name>, the name as ECR's model writes it
# (CreateRepository.repositoryName); account and region may be shell variables.
_ECR = re.compile(
    r"(?P<account>\d{12}|\$\{?\w+\}?)\.dkr\.ecr\.(?P<region>[a-z0-9-]+|\$\{?\w+\}?)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<name>[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*)"
)


@dataclass(frozen=True)
class UserData:
    """One resource's user data, decoded."""

    resource: Resource
    cloud: str
    #: Bytes as the cloud counts them (after base64 decoding, before any gunzip).
    raw_size: int
    #: (label, text) of every shell script in it, embedded ones included.
    scripts: tuple[tuple[str, str], ...]
    #: Every decoded text part (scripts, cloud-config), for image references.
    texts: tuple[str, ...]


def decode(value: str) -> tuple[bytes, list[tuple[str, str]]]:
    """Raw bytes and (content type, text) parts of a user data value.

    Base64 if it decodes strictly (both clouds take base64; alicloud also accepts plain text);
    gzip and MIME multi-part as cloud-init reads them."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = value.encode()
    content = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    text = content.decode("utf-8", errors="replace")
    if text.lstrip().lower().startswith(("content-type: multipart", "mime-version")):
        message = email.message_from_string(text)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                parts.append((part.get_content_type(), payload.decode("utf-8", errors="replace")))
        return raw, parts
    kind = "text/x-shellscript" if text.startswith("#!") else "text/cloud-config"
    return raw, [(kind, text)]


def embedded(script: str) -> Iterator[tuple[str, str]]:
    """Scripts a script writes through a quoted here-document (``<<'SCRIPT'``): their text is
    literal, so they are checked as the files they become."""
    lines = script.splitlines()
    for number, line in enumerate(lines):
        for match in _HEREDOC.finditer(line):
            strip_tabs, delimiter = match.group(1) == "-", match.group(3)
            body = []
            for candidate in lines[number + 1 :]:
                if (candidate.lstrip("\t") if strip_tabs else candidate) == delimiter:
                    break
                body.append(candidate.lstrip("\t") if strip_tabs else candidate)
            text = "\n".join(body) + "\n"
            if _SHELLS.match(text):
                yield f"here-document {delimiter} (line {number + 1})", text


def user_data(context: Context) -> list[UserData]:
    found = []
    for resource in context.of_type(LAUNCH_TEMPLATE, ESS_CONFIGURATION):
        value = resource.inputs.get("userData")
        if not isinstance(value, str) or not value or value == "[secret]":
            continue
        raw, parts = decode(value)
        scripts: list[tuple[str, str]] = []
        for kind, text in parts:
            if kind == "text/x-shellscript" and _SHELLS.match(text):
                scripts.append(("userData", text))
                scripts.extend((f"userData {label}", body) for label, body in embedded(text))
        cloud = "aws" if resource.type.startswith("aws:") else "alicloud"
        found.append(UserData(resource, cloud, len(raw), tuple(scripts), tuple(text for _, text in parts)))
    return found


def size_limit(context: Context) -> Iterator[Issue]:
    for data in user_data(context):
        if data.raw_size > USER_DATA_LIMIT:
            yield Issue(
                data.resource.urn,
                "userData",
                f"user data is {data.raw_size} bytes before base64; the limit is {USER_DATA_LIMIT} (16 KB)",
                SIZE_SOURCES[data.cloud],
            )


def find_shellcheck() -> str | None:
    beside = Path(sys.executable).parent / "shellcheck"
    return str(beside) if beside.exists() else shutil.which("shellcheck")


def shellcheck(context: Context) -> Iterator[Issue]:
    """Every boot script through one shellcheck run; a missing or failing tool is a finding."""
    owners: dict[str, list[tuple[Resource, str]]] = {}
    texts: dict[str, str] = {}
    for data in user_data(context):
        for label, text in data.scripts:
            digest = hashlib.sha256(text.encode()).hexdigest()[:16]
            texts[digest] = text
            owners.setdefault(digest, []).append((data.resource, label))
    if not texts:
        return
    tool = context.shellcheck
    if tool is None:
        yield Issue(
            "",
            "",
            f"shellcheck is not installed (apt-get install shellcheck): {len(texts)} boot script(s) were not checked",
        )
        return
    try:
        comments = _run_shellcheck(tool, texts)
    except (OSError, subprocess.SubprocessError, ValueError) as failure:
        yield Issue("", "", f"shellcheck failed, {len(texts)} boot script(s) unchecked: {failure}")
        return
    for digest, comment in comments:
        for resource, label in owners[digest]:
            yield Issue(
                resource.urn,
                label,
                f"SC{comment['code']} ({comment['level']}) line {comment['line']}: {comment['message']}",
            )


def _run_shellcheck(tool: str, texts: dict[str, str]) -> list[tuple[str, dict[str, object]]]:
    with tempfile.TemporaryDirectory(prefix="courier-shellcheck-") as scratch:
        files = []
        for digest, text in texts.items():
            path = Path(scratch) / f"{digest}.sh"
            path.write_text(text, encoding="utf-8")
            files.append(str(path))
        # -S warning: errors and warnings are findings, info and style are not.
        done = subprocess.run(
            [tool, "--shell=bash", "--format=json1", "--severity=warning", *files],
            capture_output=True,
            text=True,
            timeout=SHELLCHECK_TIMEOUT_SECONDS,
            check=False,
        )
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    comments = report.get("comments", []) if isinstance(report, dict) else []
    # 0: clean; 1: comments found. Anything else, or 1 without comments, is the tool failing.
    if done.returncode not in (0, 1) or (done.returncode == 1 and not comments) or "comments" not in report:
        raise ValueError(f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[:300] or 'no report'}")
    return [(Path(c["file"]).stem, c) for c in comments]


def _replicated_regions(context: Context) -> dict[str, list[tuple[str, list[str]]]]:
    """Source region -> [(destination region, name prefixes or [] for all)] of ECR replication."""
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for config in context.of_type(ECR_REPLICATION):
        for rule in ((config.inputs.get("replicationConfiguration") or {}).get("rules")) or []:
            prefixes = [
                str(f.get("filter"))
                for f in rule.get("repositoryFilters") or []
                if str(f.get("filterType", "")).upper() == "PREFIX_MATCH"
            ]
            for destination in rule.get("destinations") or []:
                if destination.get("region"):
                    found.setdefault(config.region or "", []).append((destination["region"], prefixes))
    return found


def _declared_repositories(context: Context) -> set[tuple[str | None, Any]]:
    return {
        (r.region, r.inputs.get("name"))
        for r in context.of_type(ECR_REPOSITORY)
        if isinstance(r.inputs.get("name"), str)
    }


def images_in_region(context: Context) -> Iterator[Issue]:
    """An instance pulls its images from ECR in its own region: the repository must be
    declared there, or replicated there from a region that declares it."""
    declared = _declared_repositories(context)
    replication = _replicated_regions(context)
    for data in user_data(context):
        home = data.resource.region
        seen = set()
        for text in data.texts:
            for match in _ECR.finditer(text):
                region, name = match.group("region"), match.group("name")
                literal = not region.startswith("$")
                where = region if literal else home
                if (where, name) in seen:
                    continue
                seen.add((where, name))
                if literal and region != home:
                    yield Issue(
                        data.resource.urn,
                        "userData",
                        f"pulls {name} from ECR in {region}, not from its own region {home}",
                    )
                if (where, name) in declared or _replicated(declared, replication, where, name):
                    continue
                yield Issue(
                    data.resource.urn,
                    "userData",
                    f"pulls {match.group(0)} but the plan declares no ECR repository {name!r} in {where} "
                    "(nor replicates one there)",
                )


def deployment_images_in_region(context: Context) -> Iterator[Issue]:
    """A Deployment on an EKS cluster the plan builds in region R pulls every container image
    from ECR in R, from a repository declared there or replicated there: a pod scheduled during
    a storm must not depend on a registry outside its region. Deployments in a region without a
    planned EKS cluster run on an existing cluster, which may pull from anywhere."""
    clusters = {c.region for c in context.of_type(EKS_CLUSTER)}
    declared = _declared_repositories(context)
    replication = _replicated_regions(context)
    for deployment in context.of_type(DEPLOYMENT):
        home = deployment.region
        if home not in clusters:
            continue
        pod = ((deployment.inputs.get("spec") or {}).get("template") or {}).get("spec") or {}
        for field in ("initContainers", "containers"):
            for k, container in enumerate(pod.get(field) or []):
                image = container.get("image") if isinstance(container, dict) else None
                # Unknown until apply, or a secret: nothing to check in the plan.
                if not isinstance(image, str) or not image or image.startswith("["):
                    continue
                where = f"spec.template.spec.{field}[{k}].image"
                problem = _outside_region(image.split("@", 1)[0].rsplit(":", 1)[0], home, declared, replication)
                if problem is None:
                    continue
                kind, name, region = problem
                if kind == "not-ecr":
                    message = (
                        f"pulls {image}, not from ECR in its cluster's region {home}: run the service's "
                        "release from the stack's registry (services[].artifact)"
                    )
                elif kind == "other-region":
                    message = f"pulls {name} from ECR in {region}, not from its cluster's region {home}"
                else:
                    message = (
                        f"pulls {image} but the plan declares no ECR repository {name!r} in {home} "
                        "(nor replicates one there)"
                    )
                yield Issue(deployment.urn, where, message)


def addon_images_in_region(context: Context) -> Iterator[Issue]:
    """A Helm release on an EKS cluster the plan builds in region R pulls every image its chart
    deploys from ECR in R, at the tag the release pipeline copies: the chart and version must be
    in the image list (else nothing says what it pulls), and each image's values must name a
    repository declared in R (or replicated there) and the listed tag."""
    clusters = {c.region for c in context.of_type(EKS_CLUSTER)}
    declared = _declared_repositories(context)
    replication = _replicated_regions(context)
    for release in context.of_type(HELM_RELEASE):
        home = release.region
        if home not in clusters:
            continue
        chart, version = release.inputs.get("chart"), release.inputs.get("version")
        try:
            images = charts.chart_images(str(chart), str(version))
        except KeyError as unknown:
            yield Issue(release.urn, "chart", f"{unknown.args[0]}: what it pulls cannot be checked")
            continue
        values = release.inputs.get("values") or {}
        for image in images:
            repository = charts.lookup(values, image.repository_key)
            registry = charts.lookup(values, image.registry_key) if image.registry_key else None
            tag = charts.lookup(values, image.tag_key)
            where = f"values.{image.repository_key}"
            if not isinstance(repository, str) or (image.registry_key and not isinstance(registry, str)):
                yield Issue(
                    release.urn,
                    where,
                    f"{image.name} is pulled from the chart's default registry ({image.upstream}), not from ECR "
                    f"in {home}: set {image.registry_key or image.repository_key}",
                )
                continue
            reference = f"{registry}/{repository}" if registry else repository
            problem = _outside_region(reference, home, declared, replication)
            if problem is not None and problem[0] != "undeclared":
                yield Issue(release.urn, where, f"{image.name} is pulled from {reference}, not from ECR in {home}")
            elif problem is not None:
                yield Issue(
                    release.urn,
                    where,
                    f"{image.name}: the plan declares no ECR repository {problem[1]!r} in {home} "
                    "(nor replicates one there)",
                )
            if tag != image.tag:
                yield Issue(
                    release.urn,
                    f"values.{image.tag_key}",
                    f"{image.name} at {tag!r}, but the release pipeline copies {image.tag!r} "
                    "(components/kubernetes/charts.py)",
                )
            for key, expected in image.fixed:
                if charts.lookup(values, key) != expected:
                    yield Issue(
                        release.urn, f"values.{key}", f"must be {expected!r}: the chart rewrites the tag otherwise"
                    )


ACR_INSTANCE = "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance"
ACR_REPOSITORY = "alicloud:cs/registryEnterpriseRepo:RegistryEnterpriseRepo"
# <instance>-registry-vpc.<region>.cr.aliyuncs.com/<namespace>/<repository>: the VPC endpoint of
# a Container Registry Enterprise Edition instance (Alibaba Cloud, "Configure access over VPCs").
_ACR = re.compile(
    r"(?P<instance>[a-z0-9][a-z0-9-]*?)-registry-vpc\.(?P<region>[a-z0-9-]+)\.cr\.aliyuncs\.com/"
    r"(?P<namespace>[a-z0-9][a-z0-9_.-]*)/(?P<repository>[a-z0-9][a-z0-9_./-]*?)(?=[@:\s\"'$]|$)"
)


def acr_images_in_region(context: Context) -> Iterator[Issue]:
    """An Alibaba Cloud instance pulls from its own region's registry instance: the instance
    and the repository (namespace/name) must be declared in that region."""
    instances = {
        (r.region, r.inputs.get("instanceName")) for r in context.of_type(ACR_INSTANCE) if r.inputs.get("instanceName")
    }
    repositories = {
        (r.region, r.inputs.get("namespace"), r.inputs.get("name"))
        for r in context.of_type(ACR_REPOSITORY)
        if isinstance(r.inputs.get("name"), str)
    }
    for data in user_data(context):
        home = data.resource.region
        seen = set()
        for text in data.texts:
            for match in _ACR.finditer(text):
                key = match.group(0)
                if key in seen:
                    continue
                seen.add(key)
                region, instance = match.group("region"), match.group("instance")
                namespace, repository = match.group("namespace"), match.group("repository")
                if region != home:
                    yield Issue(
                        data.resource.urn,
                        "userData",
                        f"pulls {namespace}/{repository} from Container Registry in {region}, not from its own "
                        f"region {home}",
                    )
                    continue
                if (region, instance) not in instances:
                    yield Issue(
                        data.resource.urn,
                        "userData",
                        f"pulls from registry instance {instance!r}, which the plan does not declare in {region}",
                    )
                elif (region, namespace, repository) not in repositories:
                    yield Issue(
                        data.resource.urn,
                        "userData",
                        f"pulls {namespace}/{repository} but the plan declares no such repository in {region}",
                    )


def _outside_region(
    repository: str,
    home: str | None,
    declared: set[tuple[str | None, Any]],
    replication: dict[str, list[tuple[str, list[str]]]],
) -> tuple[str, str, str] | None:
    """Why an image repository reference is not one of ECR in ``home`` that the plan declares
    there or replicates there: ("not-ecr" | "other-region" | "undeclared", name, region); None
    when it is."""
    match = _ECR.fullmatch(repository)
    if match is None:
        return ("not-ecr", repository, "")
    name, region = match.group("name"), match.group("region")
    if region != home:
        return ("other-region", name, region)
    if (home, name) not in declared and not _replicated(declared, replication, home, name):
        return ("undeclared", name, region)
    return None


def _replicated(
    declared: set[tuple[str | None, Any]],
    replication: dict[str, list[tuple[str, list[str]]]],
    region: str | None,
    name: str,
) -> bool:
    for source, rules in replication.items():
        if (source, name) not in declared:
            continue
        for destination, prefixes in rules:
            if destination == region and (not prefixes or any(name.startswith(p) for p in prefixes)):
                return True
    return False


RULES: tuple[Rule, ...] = (
    Rule("boot-script-size", SIZE_SOURCES["aws"], size_limit),
    Rule("boot-script-shellcheck", SHELLCHECK, shellcheck),
    Rule(
        "boot-image-in-region",
        "issue 8 (images pulled from a registry in the instance's own region); "
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/replication.html",
        images_in_region,
    ),
    Rule(
        "kubernetes-deployment-image-in-region",
        "issue 8 (images pulled from a registry in the cluster's own region); "
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/ECR_on_EKS.html",
        deployment_images_in_region,
    ),
    Rule(
        "kubernetes-addon-images-in-region",
        "issue 8 (nothing a node needs at boot from the internet); the charts' templates at the pinned "
        "versions (components/kubernetes/charts.py)",
        addon_images_in_region,
    ),
    Rule(
        "boot-image-in-region-alicloud",
        "issue 8 (images pulled from a registry in the instance's own region); "
        "https://www.alibabacloud.com/help/en/acr/user-guide/configure-access-over-vpcs",
        acr_images_in_region,
    ),
)
