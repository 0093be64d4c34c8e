"""Identity: no IAM or RAM policy grants every action on every resource, whichever resource
declares the grant.

The grant is judged in the policy document, wherever it is written: an ``iam.Policy``, an inline
``iam.RolePolicy`` / ``UserPolicy`` / ``GroupPolicy``, a role's ``inlinePolicies``; an Alibaba
Cloud ``ram.Policy`` or ``resourcemanager.Policy``. Attaching the clouds' own full-access
policies (``AdministratorAccess`` on both) is the same grant under another name. A statement
grants everything when it allows an action pattern that matches every action (``*``, ``*:*``)
or allows everything but a few (``NotAction``), on ``*`` or everything but a few resources
(``NotResource``), whatever its conditions: a condition narrows when, not what.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from guardrails.common import Report, get, resource_policy
from guardrails.follow import Unknown, allows, as_list, every_action, known, statements

IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE = "aws:iam/role:Role"
IAM_INLINE = (
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
IAM_ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
IAM_EXCLUSIVE_ATTACHMENTS = (
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
)
RAM_POLICY = "alicloud:ram/policy:Policy"
RESOURCE_MANAGER_POLICY = "alicloud:resourcemanager/policy:Policy"
RAM_ATTACHMENTS = (
    "alicloud:ram/rolePolicyAttachment:RolePolicyAttachment",
    "alicloud:ram/userPolicyAttachment:UserPolicyAttachment",
    "alicloud:ram/groupPolicyAttachment:GroupPolicyAttachment",
    "alicloud:resourcemanager/policyAttachment:PolicyAttachment",
)


def _documents(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(where, document) for every policy document a resource declares."""
    if resource_type == IAM_ROLE:
        for index, inline in enumerate(get(props, "inlinePolicies", default=[])):
            yield f"inlinePolicies[{index}] ({get(inline, 'name', default='unnamed')})", get(inline, "policy")
    elif resource_type == RAM_POLICY:
        # `document` is the deprecated spelling of `policyDocument` (pulumi-alicloud ram.Policy).
        yield "policyDocument", get(props, "policyDocument", default=get(props, "document"))
    elif resource_type == RESOURCE_MANAGER_POLICY:
        yield "policyDocument", get(props, "policyDocument")
    else:
        yield "policy", get(props, "policy")


def _everything(statement: Mapping[str, Any]) -> str | None:
    """What an Allow statement grants, when it is every action on every resource."""
    if not allows(statement):
        return None
    if "NotAction" in statement:
        actions = f"every action but {', '.join(map(str, as_list(statement['NotAction'])))}"
    elif any(every_action(a) for a in as_list(statement.get("Action"))):
        actions = "every action"
    else:
        return None
    if "NotResource" in statement:
        return f"{actions} on every resource but {', '.join(map(str, as_list(statement['NotResource'])))}"
    if any(str(r).strip() == "*" for r in as_list(statement.get("Resource"))):
        return f"{actions} on every resource"
    return None


def _check_documents(args: ResourceValidationArgs, report: Report, cloud: str) -> None:
    documents = known(lambda: list(_documents(args.resource_type, args.props)))
    if isinstance(documents, Unknown):
        return  # judged at `up`, when the document is known (follow.known)
    for where, document in documents:
        try:
            found = statements(document)
        except ValueError as error:
            report(f"{args.name}: {where}: {error}; write it as a JSON object the guardrail can read.")
            continue
        for index, statement in enumerate(found):
            granted = _everything(statement)
            if granted:
                sid = statement.get("Sid") or f"Statement[{index}]"
                report(
                    f"{args.name}: {where} {sid} allows {granted}: full administrator access. List the actions "
                    f"the {cloud} principal needs on the resources it needs them on."
                )


@resource_policy(
    "aws-iam-policy-no-full-access",
    "No IAM policy (managed, inline on a role, user or group, or a role's inlinePolicies) allows every "
    'action on every resource ("*" on "*"), and no principal is given AdministratorAccess.',
    [IAM_POLICY, IAM_ROLE, *IAM_INLINE, *IAM_ATTACHMENTS, *IAM_EXCLUSIVE_ATTACHMENTS],
)
def iam_no_full_access(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    key = {
        **dict.fromkeys(IAM_ATTACHMENTS, "policyArn"),
        **dict.fromkeys(IAM_EXCLUSIVE_ATTACHMENTS, "policyArns"),
        IAM_ROLE: "managedPolicyArns",
    }.get(args.resource_type)
    # An ARN computed from another resource (a policy of the stack) is unknown during preview;
    # that policy's own document is judged on its own resource.
    arns = known(lambda: as_list(get(args.props, key))) if key else []
    for arn in [] if isinstance(arns, Unknown) else arns:
        # arn:<partition>:iam::aws:policy/AdministratorAccess: AWS's managed policy of "*" on "*".
        if isinstance(arn, str) and arn.endswith(":iam::aws:policy/AdministratorAccess"):
            report(
                f"{args.name} attaches AdministratorAccess ({arn}): every action on every resource. Attach a "
                "policy that lists the actions the principal needs."
            )
    if args.resource_type in (IAM_POLICY, IAM_ROLE, *IAM_INLINE):
        _check_documents(args, report, "IAM")


@resource_policy(
    "alicloud-ram-policy-no-full-access",
    'No RAM policy allows every action on every resource ("*" on "*"), and no principal is given the '
    "system AdministratorAccess policy.",
    [RAM_POLICY, RESOURCE_MANAGER_POLICY, *RAM_ATTACHMENTS],
)
def ram_no_full_access(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if args.resource_type in RAM_ATTACHMENTS:
        # A custom policy's name is often an output of the stack's own ram.Policy (unknown during
        # preview); AdministratorAccess is attached by its literal name.
        name = known(lambda: get(args.props, "policyName"))
        kind = str(get(args.props, "policyType", default="System"))
        if name == "AdministratorAccess" and kind.lower() == "system":
            report(
                f"{args.name} attaches the system policy AdministratorAccess (every action on every resource); "
                "attach a custom RAM policy that lists the actions the principal needs."
            )
        return
    _check_documents(args, report, "RAM")
