"""The region drill's SSM Automation runbook (schema 0.3): FIS has no global switchover action,
so ``aws:ssm:start-automation-execution`` runs this. Pure: the document as a dict."""

from __future__ import annotations

#: Finds the cluster that writes now, so the drill puts the writer back where it found it, and
#: refuses to start when the target already writes (nothing would be drilled).
_FIND_WRITER = """import boto3


def writer(events, context):
    found = boto3.client("rds").describe_global_clusters(GlobalClusterIdentifier=events["GlobalClusterIdentifier"])
    members = found["GlobalClusters"][0]["GlobalClusterMembers"]
    arn = next(m["DBClusterArn"] for m in members if m["IsWriter"])
    if arn == events["TargetClusterArn"]:
        raise Exception(f"{arn} already writes: start the drill of another region")
    return {"WriterArn": arn}
"""


def _switch(step: str, to: str) -> dict[str, object]:
    return {
        "name": step,
        "action": "aws:executeAwsApi",
        "inputs": {
            "Service": "rds",
            "Api": "SwitchoverGlobalCluster",
            "GlobalClusterIdentifier": "{{ GlobalClusterIdentifier }}",
            "TargetDbClusterIdentifier": to,
        },
    }


def _settle(step: str, on_cancel: str | None) -> list[dict[str, object]]:
    """A minute for the switchover to start, then until the global database is available."""
    started: dict[str, object] = {"name": f"{step}Started", "action": "aws:sleep", "inputs": {"Duration": "PT1M"}}
    settled: dict[str, object] = {
        "name": f"{step}Settled",
        "action": "aws:waitForAwsResourceProperty",
        "timeoutSeconds": 1800,
        "inputs": {
            "Service": "rds",
            "Api": "DescribeGlobalClusters",
            "GlobalClusterIdentifier": "{{ GlobalClusterIdentifier }}",
            "PropertySelector": "$.GlobalClusters[0].Status",
            "DesiredValues": ["available"],
        },
    }
    if on_cancel:
        started["onCancel"] = settled["onCancel"] = on_cancel
    return [started, settled]


def switchover() -> dict[str, object]:
    """Find the writer, switch to the target cluster (rds SwitchoverGlobalCluster: replicated
    first, no data lost), hold, switch back. Cancelled (the experiment stopped on an alarm) while
    the writer is away, it still switches back."""
    return {
        "schemaVersion": "0.3",
        "description": "courier region drill: move the Aurora global database's writer to a region and back",
        "assumeRole": "{{ AutomationAssumeRole }}",
        "parameters": {
            "AutomationAssumeRole": {"type": "String", "description": "The runbook's role"},
            "GlobalClusterIdentifier": {"type": "String", "description": "The global database"},
            "TargetClusterArn": {"type": "String", "description": "The cluster that takes the writer"},
            "HoldDuration": {"type": "String", "default": "PT10M", "description": "How long the writer stays"},
        },
        "mainSteps": [
            {
                "name": "FindWriter",
                "action": "aws:executeScript",
                "inputs": {
                    "Runtime": "python3.11",
                    "Handler": "writer",
                    "Script": _FIND_WRITER,
                    "InputPayload": {
                        "GlobalClusterIdentifier": "{{ GlobalClusterIdentifier }}",
                        "TargetClusterArn": "{{ TargetClusterArn }}",
                    },
                },
                "outputs": [{"Name": "WriterArn", "Selector": "$.Payload.WriterArn", "Type": "String"}],
            },
            _switch("SwitchToTarget", "{{ TargetClusterArn }}"),
            *_settle("SwitchToTarget", "step:SwitchBack"),
            {
                "name": "Hold",
                "action": "aws:sleep",
                "inputs": {"Duration": "{{ HoldDuration }}"},
                "onCancel": "step:SwitchBack",
            },
            _switch("SwitchBack", "{{ FindWriter.WriterArn }}"),
            *_settle("SwitchBack", None),
        ],
    }
