"""External validators: found, or a loud failure in CI, or a visible skip on a laptop."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest


def require_tool(name: str, hint: str) -> str:
    """Path of ``name``; under CI=true a missing tool fails the test, elsewhere it skips it."""
    # The virtualenv's own bin directory first: the tests may run without it on PATH.
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed ({hint})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must install it", pytrace=False)
    pytest.skip(message)
