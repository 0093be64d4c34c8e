"""Boot scripts: decoding, the size limit, shellcheck, and the images they pull."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path
from typing import Any

import pytest

from components import boot
from components.kubernetes import charts
from courier.plan import Resource
from courier.verify.scripts import decode, embedded
from tests.tools import require_tool
from tests.verify.plans import findings, resource

AGENT = """install -m 0755 /dev/stdin /usr/local/sbin/agent <<'SCRIPT'
#!/bin/bash
set -euo pipefail
unused_setting=1
exec /opt/agent/agent
SCRIPT
"""


def template(script: str | bytes, name: str = "apne1-orders", region: str = "ap-northeast-1") -> Resource:
    raw = script.encode() if isinstance(script, str) else script
    return resource(
        "aws:ec2/launchTemplate:LaunchTemplate",
        name,
        {"userData": base64.b64encode(raw).decode(), "instanceType": "c6i.xlarge"},
        region=region,
    )


def ess_configuration(script: str) -> Resource:
    return resource(
        "alicloud:ess/scalingConfiguration:ScalingConfiguration",
        "cnhz-orders-config",
        {"userData": boot.user_data(script)},
        region="cn-hangzhou",
    )


def test_decodes_base64_gzip_and_mime_multipart_user_data() -> None:
    script = boot.start_service("orders", "ap-northeast-1", "prod", 8080)
    raw, [(kind, text)] = decode(boot.user_data(script))
    assert kind == "text/x-shellscript" and text == script and len(raw) == len(script.encode())
    zipped = gzip.compress(script.encode())
    assert decode(base64.b64encode(zipped).decode())[1] == [("text/x-shellscript", script)]
    mime = (
        'Content-Type: multipart/mixed; boundary="B"\nMIME-Version: 1.0\n\n--B\n'
        'Content-Type: text/cloud-config; charset="us-ascii"\n\n#cloud-config\nruncmd: [true]\n\n--B\n'
        'Content-Type: text/x-shellscript; charset="us-ascii"\n\n' + script + "\n--B--\n"
    )
    kinds = [kind for kind, _ in decode(base64.b64encode(mime.encode()).decode())[1]]
    assert kinds == ["text/cloud-config", "text/x-shellscript"]
    assert decode("#!/bin/bash\ntrue\n")[1] == [("text/x-shellscript", "#!/bin/bash\ntrue\n")]


def test_finds_scripts_installed_through_quoted_here_documents() -> None:
    [(label, text)] = list(embedded("#!/bin/bash\n" + AGENT))
    assert label == "here-document SCRIPT (line 2)" and text.startswith("#!/bin/bash\nset -euo")
    assert list(embedded("#!/bin/bash\ncat > /etc/x <<EOF\n#!/bin/bash\n$HOME\nEOF\n")) == []


def test_rejects_user_data_over_16_kb_before_base64() -> None:
    rule = "boot-script-size"
    assert findings(template("#!/bin/bash\n" + "#" * (16 * 1024 - 12)), rule=rule) == []
    [found] = findings(template("#!/bin/bash\n" + "#" * (16 * 1024 - 11)), rule=rule)
    assert found.property == "userData" and "16385 bytes" in found.message and "EC2" in found.source
    [alibaba] = findings(ess_configuration("#!/bin/bash\n" + "#" * 16 * 1024), rule=rule)
    assert "alibabacloud.com" in alibaba.source


@pytest.mark.tools
def test_shellcheck_warnings_in_a_boot_script_and_its_embedded_scripts_are_findings() -> None:
    tool = require_tool("shellcheck", "Debian package shellcheck")
    clean = boot.start_service("orders", "ap-northeast-1", "prod", 8080)
    assert findings(template(clean), ess_configuration(clean), rule="boot-script-shellcheck", shellcheck=tool) == []
    script = "#!/bin/bash\ncd /opt/courier\n" + AGENT
    found = findings(template(script), rule="boot-script-shellcheck", shellcheck=tool)
    assert [(f.property, f.message.split(" ")[0]) for f in found] == [
        ("userData", "SC2164"),
        ("userData here-document SCRIPT (line 3)", "SC2034"),
    ]
    assert all("(warning)" in f.message for f in found)


def test_a_missing_shellcheck_is_a_finding_not_a_pass() -> None:
    [found] = findings(template("#!/bin/bash\ntrue\n"), rule="boot-script-shellcheck", shellcheck=None)
    assert found.urn == "" and "shellcheck is not installed" in found.message and "1 boot script" in found.message


def _fake_tool(tmp_path: Path, body: str) -> str:
    tool = tmp_path / "shellcheck"
    tool.write_text("#!/bin/sh\n" + body + "\n")
    tool.chmod(0o755)
    return str(tool)


@pytest.mark.parametrize("body", ["echo broken >&2; exit 3", "exit 1", "echo not-json; exit 0"])
def test_a_failing_shellcheck_is_a_finding_not_a_pass(tmp_path: Path, body: str) -> None:
    tool = _fake_tool(tmp_path, body)
    [found] = findings(template("#!/bin/bash\ntrue\n"), rule="boot-script-shellcheck", shellcheck=tool)
    assert "shellcheck failed, 1 boot script(s) unchecked" in found.message


def _repository(name: str, region: str = "ap-northeast-1") -> Resource:
    return resource("aws:ecr/repository:Repository", f"{region}-{name}", {"name": name}, region=region)


def _pulls(image: str, region: str = "ap-northeast-1") -> Resource:
    return template(f"#!/bin/bash\ndocker pull {image}\n", region=region)


def _messages(*resources: Any) -> list[str]:
    return [f.message for f in findings(*resources, rule="boot-image-in-region")]


def test_an_image_from_a_repository_declared_in_the_instances_region_passes() -> None:
    image = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/courier/orders@sha256:" + "a" * 64
    assert _messages(_pulls(image), _repository("courier/orders")) == []
    variable = "${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/courier/orders:1.4.2"
    assert _messages(_pulls(variable), _repository("courier/orders")) == []


def test_rejects_an_image_whose_repository_the_plan_does_not_declare_in_that_region() -> None:
    image = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/courier/orders:1.4.2"
    [message] = _messages(_pulls(image), _repository("courier/orders", "ap-southeast-1"))
    assert "declares no ECR repository 'courier/orders' in ap-northeast-1" in message


def test_rejects_an_image_pulled_from_another_region() -> None:
    image = "123456789012.dkr.ecr.ap-southeast-1.amazonaws.com/courier/orders:1.4.2"
    messages = _messages(_pulls(image), _repository("courier/orders", "ap-southeast-1"))
    assert messages == ["pulls courier/orders from ECR in ap-southeast-1, not from its own region ap-northeast-1"]


def test_a_repository_replicated_into_the_region_counts_as_present() -> None:
    image = "${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/courier/orders:1.4.2"

    def replication(prefix: str | None) -> Resource:
        rule: dict[str, Any] = {"destinations": [{"region": "ap-northeast-1", "registryId": "123456789012"}]}
        if prefix is not None:
            rule["repositoryFilters"] = [{"filter": prefix, "filterType": "PREFIX_MATCH"}]
        return resource(
            "aws:ecr/replicationConfiguration:ReplicationConfiguration",
            "ecr-replication",
            {"replicationConfiguration": {"rules": [rule]}},
            region="ap-southeast-1",
        )

    source = _repository("courier/orders", "ap-southeast-1")
    assert _messages(_pulls(image), source, replication(None)) == []
    assert _messages(_pulls(image), source, replication("courier/")) == []
    assert _messages(_pulls(image), source, replication("other/"))


def _deployment(image: str, region: str = "ap-northeast-1") -> Resource:
    pod = {"containers": [{"name": "notifications", "image": image}]}
    return resource(
        "kubernetes:apps/v1:Deployment",
        f"{region}-notifications-deployment",
        {"spec": {"template": {"spec": pod}}},
        region=region,
    )


def _eks(region: str = "ap-northeast-1") -> Resource:
    return resource("aws:eks/cluster:Cluster", f"{region}-eks", {"name": f"courier-prod-{region}"}, region=region)


def _deployment_messages(*resources: Resource) -> list[str]:
    return [f.message for f in findings(*resources, rule="kubernetes-deployment-image-in-region")]


ECR_NOTIFICATIONS = "123456789012.dkr.ecr.{region}.amazonaws.com/courier/prod/notifications@sha256:" + "a" * 64


def test_a_deployment_on_eks_pulling_from_ecr_in_its_region_passes() -> None:
    image = ECR_NOTIFICATIONS.format(region="ap-northeast-1")
    assert _deployment_messages(_deployment(image), _eks(), _repository("courier/prod/notifications")) == []


def test_a_deployment_on_an_existing_cluster_may_pull_from_anywhere() -> None:
    assert _deployment_messages(_deployment("registry.courier.example.com/notifications:2.3.1")) == []


@pytest.mark.parametrize(
    ("image", "repository_region", "expected"),
    [
        (
            "registry.courier.example.com/notifications@sha256:" + "a" * 64,
            "ap-northeast-1",
            "pulls registry.courier.example.com/notifications@sha256:",
        ),
        (
            ECR_NOTIFICATIONS.format(region="ap-southeast-1"),
            "ap-southeast-1",
            "pulls courier/prod/notifications from ECR in ap-southeast-1, not from its cluster's region ap-northeast-1",
        ),
        (
            ECR_NOTIFICATIONS.format(region="ap-northeast-1"),
            "ap-southeast-1",
            "declares no ECR repository 'courier/prod/notifications' in ap-northeast-1",
        ),
    ],
    ids=["external-registry", "other-region", "undeclared-repository"],
)
def test_rejects_a_deployment_on_eks_pulling_from_outside_its_regions_ecr(
    image: str, repository_region: str, expected: str
) -> None:
    declared = _repository("courier/prod/notifications", repository_region)
    [message] = _deployment_messages(_deployment(image), _eks(), declared)
    assert expected in message


def _acr(instance: str = "courier-prod-cnhz-1a2b", region: str = "cn-hangzhou") -> list[Resource]:
    return [
        resource(
            "alicloud:cr/registryEnterpriseInstance:RegistryEnterpriseInstance",
            f"{region}-registry",
            {"instanceName": instance},
            region=region,
        ),
        resource(
            "alicloud:cs/registryEnterpriseRepo:RegistryEnterpriseRepo",
            f"{region}-registry-orders",
            {"namespace": "courier-prod", "name": "orders"},
            region=region,
        ),
    ]


def _alicloud_messages(image: str, *declared: Resource) -> list[str]:
    pulls = ess_configuration(f"#!/bin/bash\ndocker pull {image}\n")
    return [f.message for f in findings(pulls, *declared, rule="boot-image-in-region-alicloud")]


def test_an_alibaba_image_from_the_regions_registry_passes() -> None:
    image = "courier-prod-cnhz-1a2b-registry-vpc.cn-hangzhou.cr.aliyuncs.com/courier-prod/orders@sha256:" + "b" * 64
    assert _alicloud_messages(image, *_acr()) == []


def test_rejects_an_alibaba_image_from_another_region_or_an_undeclared_registry() -> None:
    elsewhere = "courier-prod-cnsh-9f9f-registry-vpc.cn-shanghai.cr.aliyuncs.com/courier-prod/orders:1.4.2"
    assert _alicloud_messages(elsewhere, *_acr()) == [
        "pulls courier-prod/orders from Container Registry in cn-shanghai, not from its own region cn-hangzhou"
    ]
    unknown = "someone-else-registry-vpc.cn-hangzhou.cr.aliyuncs.com/courier-prod/orders:1.4.2"
    assert _alicloud_messages(unknown, *_acr()) == [
        "pulls from registry instance 'someone-else', which the plan does not declare in cn-hangzhou"
    ]
    missing = "courier-prod-cnhz-1a2b-registry-vpc.cn-hangzhou.cr.aliyuncs.com/courier-prod/payments:1.4.2"
    assert _alicloud_messages(missing, *_acr()) == [
        "pulls courier-prod/payments but the plan declares no such repository in cn-hangzhou"
    ]


HOST = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"


def _release(chart: str, version: str, values: dict[str, Any], region: str = "ap-northeast-1") -> Resource:
    return resource(
        "kubernetes:helm.sh/v3:Release",
        f"{region}-{chart}",
        {"chart": chart, "version": version, "values": values},
        region=region,
    )


def _keda_repositories(region: str = "ap-northeast-1") -> list[Resource]:
    return [
        _repository(f"courier/prod/platform/{name}", region)
        for name in ("keda", "keda-metrics-apiserver", "keda-admission-webhooks")
    ]


def _addon_messages(*resources: Resource) -> list[str]:
    return [f.message for f in findings(*resources, rule="kubernetes-addon-images-in-region")]


def test_an_addon_release_with_every_image_from_its_regions_ecr_passes() -> None:
    values = charts.image_values("keda", "2.20.2", HOST, "courier/prod/")
    assert _addon_messages(_release("keda", "2.20.2", values), _eks(), *_keda_repositories()) == []


def test_a_release_on_an_existing_cluster_is_not_held_to_ecr() -> None:
    assert _addon_messages(_release("keda", "2.20.2", {})) == []


def test_an_addon_release_with_chart_defaults_pulls_from_the_internet() -> None:
    values = charts.image_values("keda", "2.20.2", HOST, "courier/prod/")
    del values["image"]["webhooks"]
    [message] = _addon_messages(_release("keda", "2.20.2", values), _eks(), *_keda_repositories())
    assert message == (
        "keda-admission-webhooks is pulled from the chart's default registry (ghcr.io/kedacore/keda-admission-webhooks), "
        "not from ECR in ap-northeast-1: set image.webhooks.registry"
    )


def test_an_addon_image_from_another_region_or_an_undeclared_repository_is_refused() -> None:
    other = charts.image_values("metrics-server", "3.13.1", HOST.replace("northeast-1", "southeast-1"), "courier/prod/")
    [message] = _addon_messages(_release("metrics-server", "3.13.1", other), _eks())
    assert message.endswith("not from ECR in ap-northeast-1")
    same = charts.image_values("metrics-server", "3.13.1", HOST, "courier/prod/")
    [message] = _addon_messages(_release("metrics-server", "3.13.1", same), _eks())
    assert "declares no ECR repository 'courier/prod/platform/metrics-server' in ap-northeast-1" in message


def test_an_addon_image_at_a_tag_the_pipeline_does_not_copy_or_an_unknown_chart_is_refused() -> None:
    values = charts.image_values("metrics-server", "3.13.1", HOST, "courier/prod/")
    values["image"]["tag"] = "v0.9.0"
    declared = _repository("courier/prod/platform/metrics-server")
    [message] = _addon_messages(_release("metrics-server", "3.13.1", values), _eks(), declared)
    assert (
        message
        == "metrics-server at 'v0.9.0', but the release pipeline copies 'v0.8.1' (components/kubernetes/charts.py)"
    )
    [message] = _addon_messages(_release("metrics-server", "3.14.0", values), _eks(), declared)
    assert message.startswith("chart metrics-server 3.14.0 has no image list")


def test_node_exporter_must_not_rewrite_its_tag() -> None:
    values = charts.image_values("kube-prometheus-stack", "88.5.3", HOST, "courier/prod/")
    values["prometheus-node-exporter"]["image"]["distroless"] = True
    declared = [
        _repository(f"courier/prod/platform/{i.name}") for i in charts.chart_images("kube-prometheus-stack", "88.5.3")
    ]
    [message] = _addon_messages(_release("kube-prometheus-stack", "88.5.3", values), _eks(), *declared)
    assert message == "must be False: the chart rewrites the tag otherwise"
