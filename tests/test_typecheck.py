"""The code type-checks against the SDKs' typed Args (mocks accept wrong names silently)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.tools import require_tool


@pytest.mark.tools
def test_pyright_finds_no_errors() -> None:
    pyright = require_tool("pyright", "pip install pyright; Pulumi.yaml runs it before every preview")
    result = subprocess.run(
        [pyright, "--outputjson", "--pythonpath", sys.executable],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(result.stdout)
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    described = "\n".join(
        f"{Path(d['file']).relative_to(ROOT)}:{d['range']['start']['line'] + 1}: {d['message']}" for d in errors
    )
    assert not errors, described
    assert report["summary"]["filesAnalyzed"] >= 15
