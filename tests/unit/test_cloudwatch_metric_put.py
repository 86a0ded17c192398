"""Unit tests for library/cloudwatch_metric_put.py.

The module runs as Ansible runs it: a subprocess with an ``ANSIBLE_MODULE_ARGS`` JSON file,
talking real boto3 to a moto server started in this process on 127.0.0.1. The test reads
the datapoints back with boto3 from the same server.
"""

import datetime
import json
import logging
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

REPO = Path(__file__).resolve().parents[2]
MODULE_PATH = REPO / "library" / "cloudwatch_metric_put.py"
REGION = "us-east-1"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def cloudwatch(endpoint):
    return boto3.client(
        "cloudwatch",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def run(endpoint, tmp_path):
    """Runs the module with the given options; returns (return code, result)."""

    def _run(check_mode=False, **options):
        args = {"endpoint_url": endpoint, "access_key": "testing", "secret_key": "testing", "region": REGION, **options}
        if check_mode:
            args["_ansible_check_mode"] = True
        args_file = tmp_path / f"args-{uuid.uuid4().hex}.json"
        args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            AWS_EC2_METADATA_DISABLED="true",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        proc = subprocess.run(
            [sys.executable, str(MODULE_PATH), str(args_file)],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=60,
            check=False,
        )
        try:
            result = json.loads(proc.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"module printed no JSON (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc.returncode, result

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
    assert result["api_calls"] == 2
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
        ({"namespace": "WebServer", "metric_data": [page_views(1, "x", unit="Pages")]}, "unit"),
    ],
)
def test_bad_datapoints_are_refused_before_sending(run, options, message):
    rc, result = run(**options)
    assert rc != 0
    assert message in result["msg"]
