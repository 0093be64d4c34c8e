"""What FIS's pod actions need inside the cluster: in each drilled namespace, the service account
FIS's pods run as, and a Role and RoleBinding that let FIS (the ``fis-experiment`` user its
experiment role is mapped to by an EKS access entry) and that service account manage the pods
(FIS user guide, "Use the AWS FIS aws:eks:pod actions", "Configure the Kubernetes service
account")."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.labels import tag_labels

#: The Kubernetes user FIS's experiment role is mapped to (the access entry's username).
FIS_KUBERNETES_USER = "fis-experiment"
#: The service account FIS's pods run as in each drilled namespace.
FIS_SERVICE_ACCOUNT = "fis-experiments"


def fis_access(name: str, namespace: str, tags: Mapping[str, str], opts: pulumi.ResourceOptions) -> None:
    """The service account, Role and RoleBinding of ``namespace`` (labelled with the stack's tags)."""
    labels = tag_labels({**tags, "service": namespace})
    meta = k8s.meta.v1.ObjectMetaArgs(name=FIS_SERVICE_ACCOUNT, namespace=namespace, labels=labels)
    k8s.core.v1.ServiceAccount(name, metadata=meta, opts=opts)
    k8s.rbac.v1.Role(
        name,
        metadata=meta,
        rules=[
            k8s.rbac.v1.PolicyRuleArgs(
                api_groups=[""], resources=["configmaps"], verbs=["get", "create", "patch", "delete"]
            ),
            k8s.rbac.v1.PolicyRuleArgs(
                api_groups=[""], resources=["pods"], verbs=["create", "list", "get", "delete", "deletecollection"]
            ),
            k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["pods/ephemeralcontainers"], verbs=["update"]),
            k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["pods/exec"], verbs=["create"]),
            k8s.rbac.v1.PolicyRuleArgs(api_groups=["apps"], resources=["deployments"], verbs=["get"]),
        ],
        opts=opts,
    )
    k8s.rbac.v1.RoleBinding(
        name,
        metadata=meta,
        subjects=[
            k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=FIS_SERVICE_ACCOUNT, namespace=namespace),
            k8s.rbac.v1.SubjectArgs(kind="User", name=FIS_KUBERNETES_USER, api_group="rbac.authorization.k8s.io"),
        ],
        role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=FIS_SERVICE_ACCOUNT),
        opts=opts,
    )
