"""IAM and resource policy documents, built as plain JSON (no invoke needed in preview)."""

from __future__ import annotations

import json
from typing import Any


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def assume_role(service: str) -> str:
    """Trust policy letting one AWS service assume the role."""
    return document({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


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
