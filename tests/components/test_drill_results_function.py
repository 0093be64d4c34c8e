"""The drill results function (components/aws/drills/results_function.py) as Lambda runs it:
the recovery arithmetic, the verdict, the AWS calls (botocore's Stubber checks every request
against the fis and cloudwatch models) and the SigV4-signed Prometheus query (on 127.0.0.1).
Pure: no plan (the handler as the prod plan ships it: test_drill_results.py)."""

from __future__ import annotations

import http.server
import json
import math
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from botocore.credentials import Credentials
from botocore.stub import Stubber

from components.aws.drills import probes, results
from components.aws.drills import results_function as fn
from components.monitoring.dashboards import DRILL_METRICS, DRILL_NAMESPACE

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
T0 = START.timestamp()
STEP = fn.STEP_SECONDS


def series(values: Mapping[int, float | None]) -> dict[float, float]:
    """Samples at T0 + step * i (None: no sample)."""
    return {T0 + STEP * i: v for i, v in values.items() if v is not None}


# -- recovery ---------------------------------------------------------------------------------


def test_a_probe_that_always_held_recovered_at_once() -> None:
    assert fn.recovery(series({i: 9 for i in range(-1, 11)}), T0, T0 + 300, ">=", "start") == (0.0, True)


def test_recovery_ends_with_the_last_step_that_did_not_hold() -> None:
    # 9 instances, 3 terminated at the start, back one per minute: 9 again at step 6 (3 min).
    counts = {-1: 9, 0: 9, 1: 6, 2: 6, 3: 7, 4: 7, 5: 8, 6: 9, 7: 9, 8: 9, 9: 9, 10: 9}
    assert fn.recovery(series(counts), T0, T0 + 300, ">=", "start") == (6 * STEP, True)


def test_the_threshold_at_start_is_the_value_before_the_fault() -> None:
    # Scaled out to 12 before the drill: back at 9 is not back.
    counts = {-1: 12, 0: 12, 1: 8, 2: 9, 3: 9, 4: 9}
    seconds, held = fn.recovery(series(counts), T0, T0 + 4 * STEP, ">=", "start")
    assert (seconds, held) == (5 * STEP, False)


def test_a_missing_step_does_not_hold() -> None:
    # count() of no instance is no series at all, not 0.
    counts = {-1: 9, 0: 9, 1: None, 2: None, 3: 9, 4: 9}
    assert fn.recovery(series(counts), T0, T0 + 4 * STEP, ">=", "start") == (3 * STEP, True)


def test_a_probe_that_fails_at_the_end_has_not_recovered() -> None:
    cpu = {0: 0.5, 1: 0.95, 2: 0.95, 3: 0.7, 4: 0.85}
    assert fn.recovery(series(cpu), T0, T0 + 4 * STEP, "<", 0.8) == (5 * STEP, False)


def test_under_the_target_is_strictly_under() -> None:
    assert fn.recovery(series({0: 0.8, 1: 0.79}), T0, T0 + STEP, "<", 0.8) == (STEP, True)
    assert fn.recovery(series({-1: 9, 0: 9, 1: 9}), T0, T0 + STEP, ">=", 9) == (0.0, True)


def test_no_sample_at_the_start_is_an_error_not_a_pass() -> None:
    with pytest.raises(ValueError, match="no sample before the experiment's start"):
        fn.recovery(series({0: 9, 1: 9, 2: 9}), T0, T0 + 2 * STEP, ">=", "start")


def test_an_unknown_comparison_is_refused() -> None:
    with pytest.raises(ValueError, match="probe op"):
        fn.recovery(series({0: 1}), T0, T0, ">", 0.5)


# -- judge -------------------------------------------------------------------------------------


def experiment(status: str = "completed", minutes: float = 2, reason: str = "") -> dict[str, Any]:
    state = {"status": status, **({"reason": reason} if reason else {})}
    return {
        "id": "EXP123",
        "experimentTemplateId": "EXT456",
        "state": state,
        "startTime": START,
        "endTime": START + timedelta(minutes=minutes),
    }


def answer(values: Mapping[int, float | None], labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    points = [[T0 + STEP * i, str(v)] for i, v in sorted(values.items()) if v is not None]
    return {
        "status": "success",
        "data": {"resultType": "matrix", "result": [{"metric": dict(labels or {}), "values": points}]},
    }


class Prometheus:
    """Answers query_range with ``ranges`` (one per probe, in order) and query with ``alerts``."""

    def __init__(self, ranges: list[dict[str, Any]], alerts: list[dict[str, Any]] | None = None) -> None:
        self.ranges = list(ranges)
        self.alerts = alerts
        self.asked: list[tuple[str, dict[str, str]]] = []

    def __call__(self, path: str, params: Mapping[str, str]) -> Mapping[str, Any]:
        self.asked.append((path, dict(params)))
        if path == "query_range":
            return self.ranges.pop(0)
        assert path == "query"
        return {"status": "success", "data": {"resultType": "vector", "result": self.alerts or []}}


PODS_BACK = probes.Judgement(1.75, (probes.pods_ready("orders", "ap-southeast-1"),)).as_json()
CPU_STORM = probes.Judgement(
    13.75, (probes.cpu_under_target("orders", "ap-southeast-1", 80),), "FleetCpuAboveTarget", "orders"
).as_json()
NOW = START + timedelta(hours=1)


def test_a_drill_that_recovered_within_its_hypothesis_passed() -> None:
    back = {-1: 9, 0: 9, 1: 6, 2: 6, 3: 7, 4: 9, **{i: 9 for i in range(5, 40)}}
    prometheus = Prometheus([answer(back)])
    verdict = fn.judge(experiment(), "pod-delete-orders", PODS_BACK, prometheus, NOW)
    assert (verdict.passed, verdict.recovery_seconds, verdict.reasons) == (True, 4 * STEP, [])
    ((path, params),) = prometheus.asked
    assert (
        path == "query_range"
        and params["query"] == 'courier:fleet_instances:count{service="orders", region="ap-southeast-1"}'
    )
    # From a step before the start to AFTER_END_SECONDS after the end, whole steps.
    assert float(params["start"]) == T0 - STEP and params["step"] == f"{STEP}s"
    assert float(params["end"]) == T0 + 2 * 60 + fn.AFTER_END_SECONDS


def test_the_window_stops_short_of_samples_not_yet_written() -> None:
    # Five minutes in: samples younger than a minute may be missing; whole steps from the start.
    now = START + timedelta(minutes=5)
    prometheus = Prometheus([answer({i: 9 for i in range(-1, 20)})])
    fn.judge(experiment(), "pod-delete-orders", PODS_BACK, prometheus, now)
    assert float(prometheus.asked[0][1]["end"]) == T0 + 240


def test_recovery_at_the_hypothesis_passes_and_a_step_over_fails() -> None:
    half_hour = {**PODS_BACK, "recoveryMinutes": 30, "allowanceSeconds": 0}
    for steps, passed in ((60, True), (61, False)):
        back = {-1: 9, **{i: 6 for i in range(0, steps)}, **{i: 9 for i in range(steps, 120)}}
        verdict = fn.judge(
            experiment(minutes=40), "pod-delete-orders", half_hour, Prometheus([answer(back)]), NOW + timedelta(hours=1)
        )
        assert (verdict.recovery_seconds, verdict.passed) == (steps * STEP, passed)


def test_a_failed_drill_publishes_zero() -> None:
    verdict = fn.judge(experiment("failed"), "pod-delete-orders", PODS_BACK, Prometheus([answer({-1: 9, 0: 9})]), NOW)
    assert [(m["MetricName"], m["Value"], m["Unit"]) for m in verdict.metrics("prod", NOW)] == [
        ("DrillPassed", 0.0, "Count"),
        ("RecoverySeconds", verdict.recovery_seconds, "Seconds"),
    ]


def test_a_slow_recovery_fails_the_drill_and_says_by_how_much() -> None:
    limit = PODS_BACK["recoveryMinutes"] * 60 + PODS_BACK["allowanceSeconds"]
    slow_steps = int(limit // STEP) + 1
    back = {-1: 9, **{i: 6 for i in range(0, slow_steps)}, **{i: 9 for i in range(slow_steps, 40)}}
    verdict = fn.judge(experiment(), "pod-delete-orders", PODS_BACK, Prometheus([answer(back)]), NOW)
    assert not verdict.passed and verdict.recovery_seconds == slow_steps * STEP
    assert verdict.reasons == [
        f"recovery {slow_steps * STEP} s over the hypothesis' 105 s (+105 s for the series' lag)"
    ]


def test_the_allowance_is_what_lets_a_true_hypothesis_pass() -> None:
    # Back at 3 minutes: over 1.75 minutes by the clock, within it once the series' lag is allowed.
    back = {-1: 9, **{i: 6 for i in range(0, 6)}, **{i: 9 for i in range(6, 40)}}
    verdict = fn.judge(experiment(), "pod-delete-orders", PODS_BACK, Prometheus([answer(back)]), NOW)
    assert verdict.passed and verdict.recovery_seconds == 180
    strict = {**PODS_BACK, "allowanceSeconds": 0}
    assert not fn.judge(experiment(), "pod-delete-orders", strict, Prometheus([answer(back)]), NOW).passed


def test_a_stopped_experiment_fails_even_when_the_fleet_recovered() -> None:
    back = {i: 9 for i in range(-1, 40)}
    verdict = fn.judge(
        experiment("stopped", reason="Stop condition triggered"),
        "pod-delete-orders",
        PODS_BACK,
        Prometheus([answer(back)]),
        NOW,
    )
    assert not verdict.passed
    assert verdict.reasons == ["experiment stopped: Stop condition triggered"]
    assert verdict.recovery_seconds == 0.0


def test_the_cpu_storm_passes_only_when_its_alert_fired() -> None:
    cpu = {-1: 0.4, 0: 0.4, **{i: 0.97 for i in range(1, 25)}, **{i: 0.6 for i in range(25, 80)}}
    fired = [{"metric": {"alertname": "FleetCpuAboveTarget"}, "value": [T0, "1"]}]
    passed = fn.judge(experiment(minutes=20), "cpu-storm-orders", CPU_STORM, Prometheus([answer(cpu)], fired), NOW)
    assert passed.passed and passed.recovery_seconds == 25 * STEP
    silent = Prometheus([answer(cpu)], [])
    failed = fn.judge(experiment(minutes=20), "cpu-storm-orders", CPU_STORM, silent, NOW)
    assert not failed.passed and failed.reasons == ["FleetCpuAboveTarget did not fire"]
    path, params = silent.asked[1]
    assert path == "query"
    # Over the whole window: the 20-minute experiment and the 15 minutes after it.
    assert float(params["time"]) == T0 + 20 * 60 + fn.AFTER_END_SECONDS
    window = int(float(params["time"]) - T0)
    assert params["query"] == (
        f'max_over_time(ALERTS{{alertname="FleetCpuAboveTarget", alertstate="firing", service="orders"}}[{window}s])'
    )


def test_a_drill_without_a_judgement_fails_rather_than_passing_blind() -> None:
    verdict = fn.judge(experiment(), "zone-outage", None, Prometheus([]), NOW)
    assert not verdict.passed and verdict.recovery_seconds is None
    assert verdict.reasons == ["no judgement for drill 'zone-outage' in judgements.json"]


def test_an_experiment_that_never_started_fails_without_reading_a_series() -> None:
    found = experiment("failed", reason="Target resolution failed")
    del found["startTime"], found["endTime"]
    verdict = fn.judge(found, "pod-delete-orders", PODS_BACK, Prometheus([]), NOW)
    assert not verdict.passed and verdict.recovery_seconds is None
    assert verdict.reasons == ["experiment failed: Target resolution failed", "the experiment never started"]


def test_a_judgement_without_probes_publishes_no_recovery_time() -> None:
    switchover = probes.Judgement(15).as_json()
    verdict = fn.judge(experiment(minutes=40), "region-switchover", switchover, Prometheus([]), NOW)
    assert verdict.passed and verdict.recovery_seconds is None
    assert [m["MetricName"] for m in verdict.metrics("prod", NOW)] == ["DrillPassed"]


def test_a_probe_matching_two_series_is_an_error() -> None:
    two = answer({0: 1})
    two["data"]["result"].append(two["data"]["result"][0])
    with pytest.raises(RuntimeError, match="matched 2 series"):
        fn.judge(experiment(), "pod-delete-orders", PODS_BACK, Prometheus([two]), NOW)


def test_a_failed_query_is_an_error_for_sqs_to_retry() -> None:
    error = {"status": "error", "errorType": "bad_data", "error": "parse error"}
    with pytest.raises(RuntimeError, match="bad_data: parse error"):
        fn.judge(experiment(), "pod-delete-orders", PODS_BACK, Prometheus([error]), NOW)


def test_the_shared_constants_agree() -> None:
    # The function ships alone: it cannot import these; they must agree.
    assert fn.NAMESPACE == DRILL_NAMESPACE
    assert {"DrillPassed", "RecoverySeconds"} == set(DRILL_METRICS)
    assert fn.STEP_SECONDS == probes.STEP_SECONDS
    assert fn.AFTER_END_SECONDS == results.DELAY_SECONDS
    assert set(results.TERMINAL_STATES) == fn.TERMINAL


# -- process: the AWS calls against the models -------------------------------------------------


def clients() -> tuple[Any, Any]:
    session = botocore.session.get_session()
    return tuple(
        session.create_client(
            service, region_name="ap-southeast-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x"
        )
        for service in ("fis", "cloudwatch")
    )  # type: ignore[return-value]


def state_change(status: str) -> dict[str, Any]:
    return {
        "source": "aws.fis",
        "detail-type": "FIS Experiment State Change",
        "detail": {
            "experiment-id": "EXP123",
            "experiment-template-id": "EXT456",
            "new-state": {"status": status, "reason": ""},
            "old-state": {"status": "running", "reason": ""},
        },
    }


@pytest.fixture
def aws_clients() -> Iterator[tuple[Any, Stubber, Any, Stubber]]:
    fis, cloudwatch = clients()
    with Stubber(fis) as fis_stub, Stubber(cloudwatch) as cw_stub:
        yield fis, fis_stub, cloudwatch, cw_stub
        fis_stub.assert_no_pending_responses()
        cw_stub.assert_no_pending_responses()


def expect_experiment(fis_stub: Stubber, tags: dict[str, str]) -> None:
    found = experiment()
    fis_stub.add_response("get_experiment", {"experiment": found}, {"id": "EXP123"})
    fis_stub.add_response(
        "get_experiment_template", {"experimentTemplate": {"id": "EXT456", "tags": tags}}, {"id": "EXT456"}
    )


def test_a_finished_drill_publishes_its_result(aws_clients) -> None:
    fis, fis_stub, cloudwatch, cw_stub = aws_clients
    expect_experiment(fis_stub, {"stack": "prod", "drill": "pod-delete-orders"})
    dimensions = [{"Name": "Stack", "Value": "prod"}, {"Name": "Drill", "Value": "pod-delete-orders"}]
    at = START + timedelta(minutes=2)
    cw_stub.add_response(
        "put_metric_data",
        {},
        {
            "Namespace": "Courier/Drills",
            "MetricData": [
                {"MetricName": "DrillPassed", "Dimensions": dimensions, "Timestamp": at, "Value": 1.0, "Unit": "Count"},
                {
                    "MetricName": "RecoverySeconds",
                    "Dimensions": dimensions,
                    "Timestamp": at,
                    "Value": 60.0,
                    "Unit": "Seconds",
                },
            ],
        },
    )
    back = {-1: 9, 0: 9, 1: 6, **{i: 9 for i in range(2, 40)}}
    verdict = fn.process(
        state_change("completed"),
        stack="prod",
        fis=fis,
        cloudwatch=cloudwatch,
        query=Prometheus([answer(back)]),
        judgements={"pod-delete-orders": PODS_BACK},
        now=NOW,
    )
    assert verdict is not None and verdict.passed


@pytest.mark.parametrize("status", ["pending", "initiating", "running", "stopping"])
def test_an_unfinished_experiment_is_left_alone(aws_clients, status: str) -> None:
    fis, _, cloudwatch, _ = aws_clients
    found = fn.process(
        state_change(status), stack="prod", fis=fis, cloudwatch=cloudwatch, query=Prometheus([]), judgements={}, now=NOW
    )
    assert found is None


@pytest.mark.parametrize("tags", [{"stack": "staging", "drill": "pod-delete-orders"}, {"stack": "prod"}, {}])
def test_another_stacks_experiment_publishes_nothing(aws_clients, tags: dict[str, str]) -> None:
    fis, fis_stub, cloudwatch, _ = aws_clients
    expect_experiment(fis_stub, tags)
    found = fn.process(
        state_change("completed"),
        stack="prod",
        fis=fis,
        cloudwatch=cloudwatch,
        query=Prometheus([]),
        judgements={},
        now=NOW,
    )
    assert found is None


# -- the signed query, on 127.0.0.1 -------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        type(self).seen.append({"path": self.path, "headers": dict(self.headers), "form": urllib.parse.parse_qs(body)})
        payload = json.dumps(answer({0: 9})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Session:
    def get_credentials(self) -> Credentials:
        return Credentials("AKIDEXAMPLE", "secret", "token")


@pytest.fixture
def prometheus_server() -> Iterator[str]:
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/workspaces/ws-example/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_query_is_signed_for_managed_prometheus(prometheus_server: str) -> None:
    query = fn._prometheus(_Session(), "ap-southeast-1", prometheus_server)
    found = query("query_range", {"query": "courier:fleet_instances:count", "start": "1", "end": "2", "step": "30s"})
    assert found["status"] == "success"
    (request,) = _Recorder.seen
    assert request["path"] == "/workspaces/ws-example/api/v1/query_range"
    assert request["form"]["query"] == ["courier:fleet_instances:count"] and request["form"]["step"] == ["30s"]
    authorization = request["headers"]["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/ap-southeast-1/aps/aws4_request" in authorization
    assert request["headers"]["X-Amz-Security-Token"] == "token"


# -- CloudWatch probes: Auto Scaling's in-service count ------------------------------------------

IN_SERVICE = probes.Judgement(1.75, (probes.in_service("apse1-orders-asg-0a1b2c3"),)).as_json()
#: An experiment that starts 20 s into a minute: the metric's periods start on the minute.
LATE = START + timedelta(seconds=20)


def test_a_fleets_loss_is_judged_on_auto_scalings_minutes() -> None:
    asked: list[tuple[dict[str, Any], float, float]] = []
    minute = T0  # 02:00:00, the period the experiment starts in

    def metric(found: Mapping[str, Any], start: float, end: float) -> dict[float, float]:
        asked.append((dict(found), start, end))
        # 9 in service before; terminated at 02:00:20, so 02:00's minimum is 6; back at 9 from 02:03.
        counts = {-1: 9, 0: 6, 1: 6, 2: 8, **{i: 9 for i in range(3, 40)}}
        return {minute + 60 * i: v for i, v in counts.items()}

    found = experiment(minutes=1)
    found["startTime"], found["endTime"] = LATE, LATE + timedelta(minutes=1)
    verdict = fn.judge(found, "fleet-loss-orders", IN_SERVICE, Prometheus([]), NOW, metric)
    # Recovered at 02:03:00: 160 s after the start at 02:00:20.
    assert (verdict.passed, verdict.recovery_seconds) == (True, 160.0)
    ((read, start, end),) = asked
    assert read["dimensions"] == {"AutoScalingGroupName": "apse1-orders-asg-0a1b2c3"} and read["stat"] == "Minimum"
    # From the minute before the start's minute (the baseline) to a period past the window's end.
    assert start == minute - 60
    window_end = minute + math.floor((LATE.timestamp() + 60 + fn.AFTER_END_SECONDS - minute) / 60) * 60
    assert end == window_end + 60


def test_a_fleet_still_short_at_the_end_has_not_recovered() -> None:
    def metric(found: Mapping[str, Any], start: float, end: float) -> dict[float, float]:
        return {T0 + 60 * i: (9 if i < 0 else 8) for i in range(-1, 40)}

    verdict = fn.judge(experiment(), "fleet-loss-orders", IN_SERVICE, Prometheus([]), NOW, metric)
    assert not verdict.passed
    assert verdict.reasons == [
        "not recovered by the end of the window: AWS/AutoScaling GroupInServiceInstances "
        "(AutoScalingGroupName=apse1-orders-asg-0a1b2c3) Minimum >="
    ]


def test_a_cloudwatch_probe_without_a_reader_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="needs a metric reader"):
        fn.judge(experiment(), "fleet-loss-orders", IN_SERVICE, Prometheus([]), NOW)


def test_the_metric_reader_asks_cloudwatch_as_its_model_says_and_reads_every_page() -> None:
    _, cloudwatch = clients()
    request = {
        "MetricDataQueries": [
            {
                "Id": "probe",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/AutoScaling",
                        "MetricName": "GroupInServiceInstances",
                        "Dimensions": [{"Name": "AutoScalingGroupName", "Value": "apse1-orders-asg-0a1b2c3"}],
                    },
                    "Period": 60,
                    "Stat": "Minimum",
                },
                "ReturnData": True,
            }
        ],
        "StartTime": START - timedelta(minutes=1),
        "EndTime": START + timedelta(minutes=20),
        "ScanBy": "TimestampAscending",
    }
    first, second = START - timedelta(minutes=1), START
    with Stubber(cloudwatch) as stub:
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": [{"Id": "probe", "Timestamps": [first], "Values": [9.0]}], "NextToken": "more"},
            request,
        )
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": [{"Id": "probe", "Timestamps": [second], "Values": [6.0]}]},
            {**request, "NextToken": "more"},
        )
        read = fn._cloudwatch(cloudwatch)
        samples = read(
            IN_SERVICE["probes"][0]["metric"], first.timestamp(), (START + timedelta(minutes=20)).timestamp()
        )
        stub.assert_no_pending_responses()
    assert samples == {first.timestamp(): 9.0, second.timestamp(): 6.0}
