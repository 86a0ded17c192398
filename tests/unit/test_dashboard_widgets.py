"""The monitoring role's dashboard layout (roles/monitoring/filter_plugins/dashboard_widgets.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

PATH = Path(__file__).resolve().parents[2] / "roles/monitoring/filter_plugins/dashboard_widgets.py"
spec = importlib.util.spec_from_file_location("dashboard_widgets", PATH)
widgets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(widgets)

SETTINGS = {
    "region": "eu-west-1",
    "period": "60",
    "statistic": "Average",
    "instance_id": "i-1",
    "ec2_metrics": ["CPUUtilization", "NetworkIn", "NetworkOut"],
    "bucket": "b",
    "s3_metrics": ["BucketSizeBytes", "NumberOfObjects"],
    "page_views": {"namespace": "WebServer", "name": "PageViews", "deployment": "demo"},
    "alarm_arns": ["arn:aws:cloudwatch:eu-west-1:1:alarm:demo-high-cpu"],
}


def test_graphs_go_two_to_a_row_then_page_views_beside_the_alarms():
    body = widgets.monitoring_dashboard_body(SETTINGS)["widgets"]

    assert [(w["x"], w["y"], w["width"], w["height"]) for w in body] == [
        (0, 0, 12, 6), (12, 0, 12, 6), (0, 6, 12, 6),  # three EC2 graphs: the third starts a row
        (0, 12, 12, 6), (12, 12, 12, 6),  # the S3 graphs below
        (0, 18, 12, 6), (12, 18, 12, 6),  # page views, alarms
    ]  # fmt: skip
    cpu, storage, objects, views, alarms = body[0], body[3], body[4], body[5], body[6]
    assert cpu["properties"] == {
        "title": "EC2 CPUUtilization (i-1)",
        "region": "eu-west-1",
        "view": "timeSeries",
        "stat": "Average",
        "period": 60,
        "metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"]],
    }
    assert storage["properties"]["metrics"] == [
        ["AWS/S3", "BucketSizeBytes", "BucketName", "b", "StorageType", "StandardStorage"]
    ]
    assert objects["properties"]["metrics"][0][-1] == "AllStorageTypes"
    assert storage["properties"]["period"] == 86400
    assert views["properties"]["metrics"] == [["WebServer", "PageViews", "Deployment", "demo"]]
    assert views["properties"]["stat"] == "Sum"
    assert alarms == {
        "type": "alarm",
        "x": 12,
        "y": 18,
        "width": 12,
        "height": 6,
        "properties": {"title": "Alarms", "alarms": SETTINGS["alarm_arns"]},
    }


def test_without_instance_bucket_or_alarms_only_the_page_views_remain():
    body = widgets.monitoring_dashboard_body({**SETTINGS, "instance_id": None, "bucket": None, "alarm_arns": []})
    assert [(w["properties"]["title"], w["x"], w["y"]) for w in body["widgets"]] == [("Page views", 0, 0)]
