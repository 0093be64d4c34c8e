"""Kubernetes labels from the stack's tags: valid wherever a value lands, or refused."""

from __future__ import annotations

import re
from collections.abc import Mapping

#: Prefix of the labels that carry the stack's tags (``courier/owner`` ...).
LABEL_PREFIX = "courier"

# Kubernetes label syntax ("Labels and Selectors", apimachinery validation.IsQualifiedName /
# IsValidLabelValue): a name or value is at most 63 characters of [A-Za-z0-9-_.], beginning and
# ending with a letter or digit (a value may also be empty); a key's optional prefix is a DNS
# subdomain. The API server refuses the whole object otherwise.
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_MAX = 63
#: Where each tag's value comes from, for the error message.
_TAG_SOURCES = {"owner": "courier:owner", "stack": "the stack name", "project": "the Pulumi project name"}


def label_key_problem(key: str) -> str | None:
    """What is wrong with a label key (``[prefix/]name``), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return f"label key prefix {prefix[:80]!r} must be a lower-case DNS subdomain of at most 253 characters"
    if not name or len(name) > _LABEL_MAX or not _LABEL_NAME.fullmatch(name):
        return (
            f"label key name {name[:80]!r} must be 1-{_LABEL_MAX} characters, alphanumeric at both ends with "
            "- _ . between"
        )
    return None


def label_value_problem(value: object) -> str | None:
    """What is wrong with a label value, or None (an empty value is valid)."""
    text = "" if value is None else str(value)
    if len(text) > _LABEL_MAX or (text and not _LABEL_NAME.fullmatch(text)):
        return (
            f"label value {text[:80]!r} must be at most {_LABEL_MAX} characters, alphanumeric at both ends with "
            "- _ . between"
        )
    return None


def label_value(value: str, what: str) -> str:
    """``value`` if it is a valid Kubernetes label value; otherwise a ValueError naming ``what``."""
    problem = label_value_problem(value)
    if problem:
        raise ValueError(f"{what} {value[:80]!r} is not a valid Kubernetes label value: {problem}")
    return value


def label_key(key: str) -> str:
    """``key`` if it is a valid label key (``[prefix/]name``); otherwise a ValueError."""
    problem = label_key_problem(key)
    if problem:
        raise ValueError(f"{key[:80]!r} is not a valid Kubernetes label key: {problem}")
    return key


def tag_labels(tags: Mapping[str, str]) -> dict[str, str]:
    """The stack's tags as ``courier/<tag>`` labels, each key and value checked: a value that
    is not a valid label is refused (naming the tag and where it comes from) rather than
    rewritten, so a label always equals the tag it carries."""
    labels = {}
    for tag, value in tags.items():
        source = _TAG_SOURCES.get(tag)
        what = f"The {tag!r} tag" + (f" (from {source})" if source else "")
        labels[label_key(f"{LABEL_PREFIX}/{tag}")] = label_value(value, what)
    return labels
