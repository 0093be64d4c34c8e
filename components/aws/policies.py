"""IAM and resource policy documents, built as plain JSON (no invoke needed in preview)."""

from __future__ import annotations

import json
from typing import Any


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def assume_role(service: str, source_account: str | None = None, source_arn: str | None = None) -> str:
    """Trust policy letting one AWS service assume the role; with ``source_account`` (and
    ``source_arn``, a pattern), only on behalf of that account (and those resources): the
    confused-deputy guard AWS documents for service roles."""
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    condition: dict[str, Any] = {}
    if source_account is not None:
        condition["StringEquals"] = {"aws:SourceAccount": source_account}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    if condition:
        statement["Condition"] = condition
    return document(statement)


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    """Refuse any request to the bucket that does not use TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
