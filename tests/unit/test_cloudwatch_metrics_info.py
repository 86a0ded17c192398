"""Unit tests for library/cloudwatch_metrics_info.py, and the monitoring role's filters that turn its
data into notes and the console table (roles/monitoring/filter_plugins/cloudwatch_format.py).

The module runs as Ansible runs it: a subprocess with an ``ANSIBLE_MODULE_ARGS`` JSON file,
talking real boto3 to a moto server started in this process on 127.0.0.1. The test puts the
instances, buckets and datapoints in place with boto3 against the same server.
"""

import datetime
import importlib.util
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MODULE_PATH = REPO / "library" / "cloudwatch_metrics_info.py"
FORMAT_PATH = REPO / "roles" / "monitoring" / "filter_plugins" / "cloudwatch_format.py"
REGION = "us-east-1"
EC2_DEFAULT_METRICS = ["CPUUtilization", "NetworkIn", "NetworkOut", "StatusCheckFailed"]
ALL_STATISTICS = ["Average", "Minimum", "Maximum", "Sum", "SampleCount"]


def load_module(name="cloudwatch_metrics_info", path=MODULE_PATH):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    dont_write_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no library/__pycache__
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = dont_write_bytecode
    return module


cloudwatch_metrics_info = load_module()
cloudwatch_format = load_module("cloudwatch_format", FORMAT_PATH)


def noted(result):
    """The module's metrics with the notes the report adds to series without data."""
    return cloudwatch_format.monitoring_metric_notes(result["metrics"], result["window"], result["instances"])


def table(result):
    """The console table of the module's metrics, as the report prints it."""
    return cloudwatch_format.monitoring_metrics_table(result["metrics"])


@pytest.fixture(scope="module")
def endpoint(moto_endpoint):
    return moto_endpoint


@pytest.fixture(scope="module")
def aws(moto_client):
    return {name: moto_client(name) for name in ("ec2", "s3", "cloudwatch")}


@pytest.fixture(scope="module")
def ami_id(aws):
    return aws["ec2"].describe_images()["Images"][0]["ImageId"]


@pytest.fixture
def run(run_module):
    """Runs the module with the given options; returns (return code, result)."""

    def _run(check_mode=False, **options):
        return run_module("cloudwatch_metrics_info", check_mode=check_mode, **options)

    return _run


def launch(aws, ami_id, count=1):
    response = aws["ec2"].run_instances(ImageId=ami_id, MinCount=count, MaxCount=count, InstanceType="t3.micro")
    return [instance["InstanceId"] for instance in response["Instances"]]


def aligned_now(period=300):
    now = datetime.datetime.now(datetime.UTC)
    return now.replace(second=0, microsecond=0) - datetime.timedelta(minutes=now.minute % (period // 60))


def iso(ts):
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def put(aws, namespace, metric, dimensions, points, unit=None):
    """points: (timestamp, value) pairs."""
    data = []
    for ts, value in points:
        datum = {
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Timestamp": ts,
            "Value": value,
        }
        if unit:
            datum["Unit"] = unit
        data.append(datum)
    aws["cloudwatch"].put_metric_data(Namespace=namespace, MetricData=data)


def series(result, metric, statistic, resource=None):
    found = [
        m
        for m in result["metrics"]
        if m["metric"] == metric and m["statistic"] == statistic and resource in (None, m["resource"])
    ]
    assert len(found) == 1, f"{metric}/{statistic}/{resource}: {len(found)} series"
    return found[0]


def points(entry):
    return [(p["timestamp"], p["value"]) for p in entry["datapoints"]]


def test_datapoints_values_order_and_summary(run, aws, ami_id):
    (instance_id,) = launch(aws, ami_id)
    base = aligned_now()
    t1, t2, t3 = (base - datetime.timedelta(minutes=m) for m in (15, 10, 5))
    second = datetime.timedelta(seconds=30)
    # Put out of order, two values in the first period.
    put(
        aws,
        "AWS/EC2",
        "CPUUtilization",
        {"InstanceId": instance_id},
        [(t3 + second, 5.0), (t1 + second, 10.0), (t2 + second, 50.0), (t1 + 2 * second, 30.0)],
    )

    rc, result = run(instance_ids=[instance_id], ec2_metrics=["CPUUtilization", "NetworkIn"], statistics=ALL_STATISTICS)

    assert rc == 0, result
    assert result["changed"] is False
    assert len(result["metrics"]) == 2 * 5
    expected = {
        "Average": [20.0, 50.0, 5.0],
        "Minimum": [10.0, 50.0, 5.0],
        "Maximum": [30.0, 50.0, 5.0],
        "Sum": [40.0, 50.0, 5.0],
        "SampleCount": [2.0, 1.0, 1.0],
    }
    for statistic, values in expected.items():
        entry = series(result, "CPUUtilization", statistic)
        assert points(entry) == list(zip([iso(t1), iso(t2), iso(t3)], values, strict=True)), statistic
        assert entry["status"] == "ok"
        assert "note" not in entry
        assert entry["namespace"] == "AWS/EC2"
        assert entry["dimensions"] == {"InstanceId": instance_id}
        assert entry["resource"] == instance_id
        assert entry["unit"] == "Percent"
        assert entry["period"] == 300

    summary = series(result, "CPUUtilization", "Average")["summary"]
    assert summary == {
        "count": 3,
        "min": 5.0,
        "average": 25.0,
        "max": 50.0,
        "latest": 5.0,
        "latest_timestamp": iso(t3),
    }
    assert series(result, "CPUUtilization", "Maximum")["summary"]["average"] == pytest.approx(85.0 / 3)

    network = series(result, "NetworkIn", "Average")
    assert network["status"] == "no_data"
    assert network["unit"] == "Bytes"

    lines = table(result).splitlines()
    assert lines[0].split() == [
        "RESOURCE",
        "NAMESPACE",
        "METRIC",
        "STAT",
        "MIN",
        "AVG",
        "MAX",
        "LATEST",
        "UNIT",
        "POINTS",
    ]
    assert len(lines) == 1 + 10
    assert len({len(line) for line in lines[1:6]}) == 1  # fixed width
    assert lines[1].split() == [
        instance_id,
        "AWS/EC2",
        "CPUUtilization",
        "Average",
        "5",
        "25",
        "50",
        "5",
        "Percent",
        "3",
    ]
    assert [instance_id, "AWS/EC2", "NetworkIn", "Average", "-", "-", "-", "-", "Bytes", "0"] in [
        line.split() for line in lines
    ]

    assert result["window"]["period"] == 300
    assert result["window"]["minutes"] == 60
    assert "daily_start" not in result["window"]
    start = datetime.datetime.fromisoformat(result["window"]["start"])
    end = datetime.datetime.fromisoformat(result["window"]["end"])
    assert start.timestamp() % 300 == 0
    assert datetime.timedelta(minutes=60) <= end - start < datetime.timedelta(minutes=65)
    assert result["api_calls_by_operation"] == {"DescribeInstances": 1, "GetMetricData": 1}
    assert result["api_calls"] == 2


def test_no_data_is_reported_with_a_note(run, aws, ami_id):
    (instance_id,) = launch(aws, ami_id)

    rc, result = run(instance_ids=[instance_id])

    assert rc == 0, result
    assert "failed" not in result
    assert [(m["metric"], m["statistic"]) for m in result["metrics"]] == [
        (metric, stat) for metric in EC2_DEFAULT_METRICS for stat in ("Average", "Minimum", "Maximum")
    ]
    assert result["instances"][instance_id]["state"] == "running"
    for entry in noted(result):
        assert entry["status"] == "no_data"
        assert entry["datapoints"] == []
        assert entry["summary"] == {
            "count": 0,
            "min": None,
            "average": None,
            "max": None,
            "latest": None,
            "latest_timestamp": None,
        }
        assert f"Instance {instance_id} was launched at" in entry["note"]
        assert "every 5 minutes" in entry["note"]
    assert result["api_calls_by_operation"] == {"DescribeInstances": 1, "GetMetricData": 1}


def test_several_instances_have_their_own_series(run, aws, ami_id):
    instance_ids = launch(aws, ami_id, count=3)
    ts = aligned_now() - datetime.timedelta(minutes=10)
    for value, instance_id in zip((11.0, 22.0, 33.0), instance_ids, strict=True):
        put(aws, "AWS/EC2", "CPUUtilization", {"InstanceId": instance_id}, [(ts, value)])
    put(aws, "AWS/EC2", "NetworkOut", {"InstanceId": instance_ids[1]}, [(ts, 4096.0)])

    rc, result = run(instance_ids=instance_ids, ec2_metrics=["CPUUtilization", "NetworkOut"], statistics=["Maximum"])

    assert rc == 0, result
    assert [(m["resource"], m["metric"]) for m in result["metrics"]] == [
        (instance_id, metric) for instance_id in instance_ids for metric in ("CPUUtilization", "NetworkOut")
    ]
    for value, instance_id in zip((11.0, 22.0, 33.0), instance_ids, strict=True):
        cpu = series(result, "CPUUtilization", "Maximum", instance_id)
        assert cpu["dimensions"] == {"InstanceId": instance_id}
        assert points(cpu) == [(iso(ts), value)]
    assert points(series(result, "NetworkOut", "Maximum", instance_ids[1])) == [(iso(ts), 4096.0)]
    assert series(result, "NetworkOut", "Maximum", instance_ids[0])["status"] == "no_data"
    assert series(result, "NetworkOut", "Maximum", instance_ids[2])["status"] == "no_data"
    assert result["api_calls_by_operation"]["GetMetricData"] == 1


def test_more_than_500_queries_are_split_over_calls(run, aws, ami_id):
    # moto's GetMetricData neither pages (NextToken) nor honours MaxDatapoints, so the proof of
    # paging against moto is the 500-queries-per-call limit: 5 instances x 25 metrics x 5
    # statistics = 625 queries need two calls. The NextToken loop is tested with a stub below.
    instance_ids = launch(aws, ami_id, count=5)
    metrics = sorted(cloudwatch_metrics_info.EC2_METRIC_UNITS)
    assert len(metrics) == 25
    ts = aligned_now() - datetime.timedelta(minutes=10)
    put(aws, "AWS/EC2", metrics[0], {"InstanceId": instance_ids[0]}, [(ts, 1.5)])
    put(aws, "AWS/EC2", metrics[-1], {"InstanceId": instance_ids[-1]}, [(ts, 7.0)])

    rc, result = run(instance_ids=instance_ids, ec2_metrics=metrics, statistics=ALL_STATISTICS)

    assert rc == 0, result
    assert result["api_calls_by_operation"] == {"DescribeInstances": 1, "GetMetricData": 2}
    assert result["api_calls"] == 3
    keys = {(m["resource"], m["metric"], m["statistic"]) for m in result["metrics"]}
    assert len(result["metrics"]) == len(keys) == 625
    assert keys == {(i, m, s) for i in instance_ids for m in metrics for s in ALL_STATISTICS}
    # First query of the first call and last query of the second call both came back.
    assert points(series(result, metrics[0], "Sum", instance_ids[0])) == [(iso(ts), 1.5)]
    assert points(series(result, metrics[-1], "Maximum", instance_ids[-1])) == [(iso(ts), 7.0)]
    assert sum(m["status"] == "ok" for m in result["metrics"]) == 2 * 5


class PagingCloudWatch:
    """Stub client answering GetMetricData in two pages, as CloudWatch does for large answers."""

    def __init__(self):
        self.requests = []
        t = [datetime.datetime(2024, 5, 1, 12, m, tzinfo=datetime.UTC) for m in (0, 5, 10)]
        self.pages = [
            {
                "MetricDataResults": [
                    {"Id": "m0", "Timestamps": [t[0], t[1]], "Values": [1.0, 2.0], "StatusCode": "PartialData"},
                    {"Id": "m1", "Timestamps": [], "Values": [], "StatusCode": "PartialData"},
                ],
                "NextToken": "page-2",
            },
            {
                "MetricDataResults": [
                    {"Id": "m0", "Timestamps": [t[2]], "Values": [3.0], "StatusCode": "Complete"},
                    {"Id": "m1", "Timestamps": [t[1]], "Values": [9.0], "StatusCode": "Complete"},
                ],
            },
        ]

    def get_metric_data(self, aws_retry=False, **request):
        self.requests.append(dict(request))
        return self.pages[len(self.requests) - 1]


def test_next_token_pages_are_followed_and_merged():
    client = PagingCloudWatch()
    start = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)
    end = start + datetime.timedelta(hours=1)

    results, messages = cloudwatch_metrics_info.get_metric_data(client, [{"Id": "m0"}, {"Id": "m1"}], start, end)

    assert [r.get("NextToken") for r in client.requests] == [None, "page-2"]
    assert all(r["ScanBy"] == "TimestampAscending" for r in client.requests)
    assert [v for _, v in sorted(results["m0"]["points"].items())] == [1.0, 2.0, 3.0]
    assert list(results["m1"]["points"].values()) == [9.0]
    assert results["m0"]["status_code"] == "Complete"
    assert messages == []


def test_compute_window_alignment():
    now = datetime.datetime(2024, 5, 1, 12, 34, 56, tzinfo=datetime.UTC)

    window = cloudwatch_metrics_info.compute_window(now, 60, 300, with_daily=True)

    assert cloudwatch_metrics_info.iso(window["end"]) == "2024-05-01T12:35:00Z"
    assert cloudwatch_metrics_info.iso(window["start"]) == "2024-05-01T11:35:00Z"
    assert cloudwatch_metrics_info.iso(window["daily_start"]) == "2024-04-29T00:00:00Z"
    window = cloudwatch_metrics_info.compute_window(now, 90, 3600, with_daily=False)
    assert cloudwatch_metrics_info.iso(window["start"]) == "2024-05-01T11:00:00Z"
    assert "daily_start" not in window


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"ec2_metrics": ["CPUUtilisation"]},
            ["ec2_metrics", "unknown AWS/EC2 metric name", "'CPUUtilisation'", "did you mean 'CPUUtilization'"],
        ),
        (
            {"bucket_names": ["some-bucket"], "s3_metrics": ["NumberOfObjects", "ObjectCount"]},
            ["s3_metrics", "unknown AWS/S3 metric name", "'ObjectCount'", "BucketSizeBytes"],
        ),
        ({"statistics": ["Average", "Median"]}, ["statistics", "Median"]),
    ],
)
def test_bad_metric_or_statistic_name_fails_clearly(run, options, expected):
    options.setdefault("instance_ids", ["i-0123456789abcdef0"])

    rc, result = run(**options)

    assert rc != 0
    assert result["failed"] is True
    for text in expected:
        assert text in result["msg"]


def test_unknown_instance_fails_naming_it(run, aws, ami_id):
    (known,) = launch(aws, ami_id)
    unknown = "i-0123456789abcdef0"

    rc, result = run(instance_ids=[known, unknown])

    assert rc != 0
    assert result["failed"] is True
    assert f"instance {unknown} not found in region {REGION}" in result["msg"]
    assert known not in result["msg"]


def test_malformed_instance_id_fails_naming_it(run):
    rc, result = run(instance_ids=["web-1"])

    assert rc != 0
    assert "instance_ids: 'web-1' is not a valid EC2 instance ID" in result["msg"]


def test_unknown_bucket_fails_naming_it(run, aws):
    aws["s3"].create_bucket(Bucket="cwr-existing-bucket")

    rc, result = run(bucket_names=["cwr-existing-bucket", "cwr-no-such-bucket"])

    assert rc != 0
    assert result["failed"] is True
    assert "bucket cwr-no-such-bucket not found" in result["msg"]

    rc, result = run(bucket_names=["cwr-no-such-bucket"], validate_resources=False)

    assert rc == 0, result
    assert {m["status"] for m in result["metrics"]} == {"no_data"}
    assert "once a day" in noted(result)[0]["note"]
    assert result["api_calls_by_operation"] == {"GetMetricData": 1}


def test_s3_storage_metrics_are_daily(run, aws):
    bucket = "cwr-storage-bucket"
    aws["s3"].create_bucket(Bucket=bucket)
    for key in ("a.txt", "b.txt", "c.txt"):
        aws["s3"].put_object(Bucket=bucket, Key=key, Body=b"hello")

    rc, result = run(bucket_names=[bucket], statistics=["Average"])

    assert rc == 0, result
    midnight = datetime.datetime.now(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    objects = series(result, "NumberOfObjects", "Average")
    assert objects["dimensions"] == {"StorageType": "AllStorageTypes", "BucketName": bucket}
    assert objects["period"] == 86400
    assert objects["unit"] == "Count"
    assert points(objects) == [(iso(midnight), 3.0)]
    size = series(result, "BucketSizeBytes", "Average")
    assert size["dimensions"] == {"StorageType": "StandardStorage", "BucketName": bucket}
    assert size["unit"] == "Bytes"
    assert size["status"] == "ok"
    # moto's BucketSizeBytes is not the byte count (it sums sys.getsizeof); only check it is there.
    assert size["summary"]["latest"] > 0
    assert result["window"]["daily_start"] <= iso(midnight - datetime.timedelta(days=2))
    # The 5-minute group is empty, so only the daily call is made.
    assert result["api_calls_by_operation"] == {"HeadBucket": 1, "GetMetricData": 1}


def test_custom_page_views_with_sum(run, aws):
    deployment = f"deploy-{uuid.uuid4().hex[:8]}"
    base = aligned_now()
    t1, t2 = base - datetime.timedelta(minutes=20), base - datetime.timedelta(minutes=5)
    second = datetime.timedelta(seconds=1)
    put(
        aws,
        "WebServer",
        "PageViews",
        {"Deployment": deployment},
        [(t1 + second, 3.0), (t1 + 2 * second, 4.0), (t2 + second, 10.0)],
        unit="Count",
    )
    # Another deployment's page views must not leak in.
    put(aws, "WebServer", "PageViews", {"Deployment": "other"}, [(t1 + second, 1000.0)], unit="Count")

    rc, result = run(
        custom_metrics=[
            {
                "namespace": "WebServer",
                "name": "PageViews",
                "dimensions": {"Deployment": deployment},
                "stat": "Sum",
                "unit": "Count",
            },
            {"namespace": "WebServer", "name": "Errors", "dimensions": {"Deployment": deployment}},
        ]
    )

    assert rc == 0, result
    assert [(m["metric"], m["statistic"]) for m in result["metrics"]] == [
        ("PageViews", "Sum"),
        ("Errors", "Average"),
        ("Errors", "Minimum"),
        ("Errors", "Maximum"),
    ]
    views = result["metrics"][0]
    assert views["namespace"] == "WebServer"
    assert views["resource"] == deployment
    assert views["dimensions"] == {"Deployment": deployment}
    assert views["unit"] == "Count"
    assert points(views) == [(iso(t1), 7.0), (iso(t2), 10.0)]
    assert views["summary"]["max"] == 10.0
    assert views["summary"]["latest"] == 10.0
    errors = noted(result)[1]
    assert errors["status"] == "no_data"
    assert errors["unit"] is None
    assert "Custom metric not published" in errors["note"]
    assert result["api_calls_by_operation"] == {"GetMetricData": 1}


@pytest.mark.parametrize(
    ("minutes", "period", "queries", "fitted", "why"),
    [
        (60, 60, 12, 60, ""),
        (15 * 1440, 60, 2, 60, ""),
        (15 * 1440, 60, 12, 180, "12 series over 21600 minutes stay within 100800 datapoints a call"),
        (16 * 1440, 60, 12, 300, "CloudWatch keeps 5-minute data for that long (16 days back)"),
        (100_000, 300, 12, 3600, "CloudWatch keeps 60-minute data for that long (69 days back)"),
        (10 * 1440, 60, 12, 120, "12 series over 14400 minutes stay within 100800 datapoints a call"),
        (455 * 1440, 3600, 500, 195000, "500 series"),
    ],
)
def test_the_period_fits_what_cloudwatch_keeps_and_one_call_holds(minutes, period, queries, fitted, why):
    got, notice = cloudwatch_metrics_info.fitted_period(minutes, period, queries)
    assert got == fitted and got % 60 == 0
    assert queries * minutes * 60 / got <= cloudwatch_metrics_info.MAX_DATAPOINTS_PER_CALL
    assert (why in notice) if why else notice == ""


def test_a_window_longer_than_cloudwatch_keeps_is_refused_before_any_call(run):
    started = datetime.datetime.now(datetime.UTC)
    rc, result = run(instance_ids=["i-0123456789abcdef0"], window_minutes=456 * 1440, validate_resources=False)
    assert rc != 0
    assert "window_minutes=656640 reaches 456 days back" in result["msg"] and "at most 655200 minutes" in result["msg"]
    assert result.get("api_calls_by_operation", {}) == {}
    assert datetime.datetime.now(datetime.UTC) - started < datetime.timedelta(seconds=30)


@pytest.mark.parametrize("period", [90, 0, -60, 30])
def test_bad_period_fails(run, period):
    rc, result = run(instance_ids=["i-0123456789abcdef0"], period=period, validate_resources=False)

    assert rc != 0
    assert f"period must be a positive multiple of 60 seconds (60, 120, 300, 3600 ...), got {period}" == result["msg"]


def test_a_custom_metric_unit_cloudwatch_does_not_know_is_refused(run):
    custom = {"namespace": "WebServer", "name": "PageViews", "dimensions": {"Deployment": "x"}, "unit": "Pages"}
    rc, result = run(custom_metrics=[custom])

    assert rc != 0
    assert result["msg"].startswith("custom_metrics[0].unit: 'Pages' is not a CloudWatch unit; use one of Seconds,")


def test_nothing_to_report_fails(run):
    rc, result = run()

    assert rc != 0
    assert result["msg"].startswith("Nothing to report: instance_ids, bucket_names and custom_metrics are all empty")


def test_check_mode_gives_the_same_result(run, aws, ami_id):
    (instance_id,) = launch(aws, ami_id)
    ts = aligned_now() - datetime.timedelta(minutes=15)
    put(aws, "AWS/EC2", "NetworkIn", {"InstanceId": instance_id}, [(ts, 123.0)])

    rc, normal = run(instance_ids=[instance_id])
    rc_check, checked = run(check_mode=True, instance_ids=[instance_id])

    assert rc == rc_check == 0
    assert normal["changed"] is checked["changed"] is False
    assert checked["metrics"] == normal["metrics"]
    assert checked["instances"] == normal["instances"]
    assert checked["api_calls"] == normal["api_calls"] == 2
    assert points(series(checked, "NetworkIn", "Average")) == [(iso(ts), 123.0)]


def test_documentation_matches_argument_spec():
    doc = yaml.safe_load(cloudwatch_metrics_info.DOCUMENTATION)
    spec = cloudwatch_metrics_info.argument_spec()
    assert set(doc["options"]) == set(spec)

    def compare(doc_options, spec_options, path):
        for name, option in doc_options.items():
            expected = spec_options[name]
            where = f"{path}{name}"
            assert option["type"] == expected["type"], where
            assert option.get("elements") == expected.get("elements"), where
            assert option.get("default") == expected.get("default"), where
            assert option.get("choices") == expected.get("choices"), where
            assert option.get("required", False) == expected.get("required", False), where
            if "options" in expected:
                assert set(option["suboptions"]) == set(expected["options"]), where
                compare(option["suboptions"], expected["options"], f"{where}.")

    compare(doc["options"], spec, "")
    returned = yaml.safe_load(cloudwatch_metrics_info.RETURN)

    def check_return(keys, path):
        for name, value in keys.items():
            assert "returned" in value and "type" in value, f"{path}{name}"
            if "contains" in value:
                check_return(value["contains"], f"{path}{name}.")

    check_return(returned, "")


def test_ansible_doc_renders_without_warnings():
    ansible_doc = Path(sys.executable).parent / "ansible-doc"
    proc = subprocess.run(
        [str(ansible_doc), "-M", "library", "cloudwatch_metrics_info"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "PATH": f"{ansible_doc.parent}:{os.environ.get('PATH', '')}"},
        timeout=60,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr.upper()
    assert "cloudwatch_metrics_info" in proc.stdout
    assert "custom_metrics" in proc.stdout
