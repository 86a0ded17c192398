"""Unit tests for library/cloudwatch_metric_put.py.

The module runs as Ansible runs it (conftest's run_module: a subprocess with its JSON
arguments), talking real boto3 to moto's server in this process on 127.0.0.1. The test
reads the datapoints back with boto3 from the same server.
"""

import datetime
import uuid

import pytest


@pytest.fixture(scope="module")
def cloudwatch(moto_client):
    return moto_client("cloudwatch")


@pytest.fixture
def run(run_module):
    """Runs cloudwatch_metric_put with the given options; returns (return code, result)."""

    def _run(check_mode=False, **options):
        return run_module("cloudwatch_metric_put", check_mode=check_mode, **options)

    return _run


def read_back(cloudwatch, namespace, name, dimensions, stat="Sum"):
    now = datetime.datetime.now(datetime.UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - datetime.timedelta(days=1),
        EndTime=now + datetime.timedelta(minutes=5),
        Period=2 * 86400,
        Statistics=[stat],
    )["Datapoints"]
    return sum(p[stat] for p in points), [p.get("Unit") for p in points]


def page_views(value, deployment, **extra):
    return {
        "metric_name": "PageViews",
        "value": value,
        "unit": "Count",
        "dimensions": {"Deployment": deployment},
        **extra,
    }


def test_publishes_a_datapoint_that_reads_back(run, cloudwatch):
    deployment = f"d{uuid.uuid4().hex[:8]}"
    rc, result = run(namespace="WebServer", metric_data=[page_views(25, deployment)])
    assert rc == 0, result
    assert result["changed"] is True and result["api_calls"] == 1
    assert result["api_calls_by_operation"] == {"PutMetricData": 1}
    sent = result["metric_data"][0]
    assert sent["metric_name"] == "PageViews" and sent["value"] == 25.0 and sent["unit"] == "Count"
    assert sent["dimensions"] == {"Deployment": deployment} and sent["timestamp"].endswith("Z")
    total, units = read_back(cloudwatch, "WebServer", "PageViews", {"Deployment": deployment})
    assert total == 25 and units == ["Count"]


def test_check_mode_sends_nothing(run, cloudwatch):
    deployment = f"d{uuid.uuid4().hex[:8]}"
    rc, result = run(check_mode=True, namespace="WebServer", metric_data=[page_views(3, deployment)])
    assert rc == 0, result
    assert result["changed"] is True and result["api_calls"] == 0
    assert result["api_calls_by_operation"] == {}
    assert read_back(cloudwatch, "WebServer", "PageViews", {"Deployment": deployment}) == (0, [])


def test_an_explicit_timestamp_and_several_metrics(run, cloudwatch):
    deployment = f"d{uuid.uuid4().hex[:8]}"
    when = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)).replace(microsecond=0)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    rc, result = run(
        namespace="MyApp",
        metric_data=[
            page_views(1, deployment, timestamp=stamp),
            {"metric_name": "Latency", "value": 12.5, "unit": "Milliseconds", "timestamp": stamp},
        ],
    )
    assert rc == 0, result
    assert [m["timestamp"] for m in result["metric_data"]] == [stamp, stamp]
    assert result["metric_data"][1]["dimensions"] == {}
    assert read_back(cloudwatch, "MyApp", "PageViews", {"Deployment": deployment})[0] == 1
    assert read_back(cloudwatch, "MyApp", "Latency", {}, "Maximum")[0] == 12.5


def test_more_than_a_thousand_datapoints_take_two_calls(run, cloudwatch):
    deployment = f"d{uuid.uuid4().hex[:8]}"
    rc, result = run(namespace="WebServer", metric_data=[page_views(1, deployment) for _ in range(1001)])
    assert rc == 0, result
    assert result["api_calls"] == 2 and result["api_calls_by_operation"] == {"PutMetricData": 2}
    assert read_back(cloudwatch, "WebServer", "PageViews", {"Deployment": deployment})[0] == 1001


def test_zero_is_a_datapoint(run, cloudwatch):
    deployment = f"d{uuid.uuid4().hex[:8]}"
    rc, result = run(namespace="WebServer", metric_data=[page_views(0, deployment)])
    assert rc == 0 and result["changed"] is True
    assert read_back(cloudwatch, "WebServer", "PageViews", {"Deployment": deployment}, "SampleCount")[0] == 1


def test_nothing_to_send_changes_nothing(run):
    rc, result = run(namespace="WebServer", metric_data=[])
    assert rc == 0 and result["changed"] is False and result["api_calls"] == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"namespace": "AWS/EC2", "metric_data": [page_views(1, "x")]}, "reserved for AWS"),
        ({"namespace": "WebServer", "metric_data": [page_views(float("nan"), "x")]}, "finite"),
        ({"namespace": "WebServer", "metric_data": [page_views(1, "x", timestamp="yesterday")]}, "ISO 8601"),
        ({"namespace": "WebServer", "metric_data": [page_views(1, "")]}, "must not be empty"),
        ({"namespace": "WebServer", "metric_data": [page_views(1, "x", unit="Pages")]}, "metric_data[0].unit: 'Pages'"),
        ({"namespace": "WebServer", "metric_data": [page_views(1, "x", unit="count")]}, "did you mean Count?"),
    ],
)
def test_bad_datapoints_are_refused_before_sending(run, options, message):
    rc, result = run(**options)
    assert rc != 0
    assert message in result["msg"]
