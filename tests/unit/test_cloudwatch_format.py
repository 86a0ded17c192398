"""The monitoring role's CloudWatch formatting filters: notes, numbers and chart geometry
(roles/monitoring/filter_plugins/cloudwatch_format.py). The notes and the table are also checked on
the cloudwatch_metrics_info module's real output in test_cloudwatch_metrics_info.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "roles/monitoring/filter_plugins/cloudwatch_format.py"
spec = importlib.util.spec_from_file_location("cloudwatch_format", PATH)
fmt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fmt)

WINDOW = {"start": "2024-05-01T12:00:00Z", "end": "2024-05-01T13:00:00Z", "period": 300, "minutes": 60}


def series(statistic="Average", points=(), metric="CPUUtilization", unit="Percent", resource="i-1", kind="ec2"):
    datapoints = [{"timestamp": t, "value": v} for t, v in points]
    values = [v for _, v in points]
    return {
        "namespace": "AWS/EC2",
        "metric": metric,
        "dimensions": {"InstanceId": resource},
        "resource": resource,
        "statistic": statistic,
        "unit": unit,
        "period": 300,
        "datapoints": datapoints,
        "summary": {
            "count": len(values),
            "min": min(values, default=None),
            "average": sum(values) / len(values) if values else None,
            "max": max(values, default=None),
            "latest": values[-1] if values else None,
            "latest_timestamp": points[-1][0] if points else None,
        },
        "status": "ok" if points else "no_data",
        "kind": kind,
    }


@pytest.mark.parametrize(
    ("instance", "expected"),
    [
        ({"state": "stopped", "launch_time": "2024-05-01T10:00:00Z"}, "Instance i-1 is stopped"),
        (
            {"state": "running", "launch_time": "2024-05-01T12:30:00Z"},
            "Instance i-1 was launched at 2024-05-01T12:30:00Z",
        ),
        ({"state": "running", "launch_time": "2024-05-01T10:00:00Z"}, "No datapoints in the window."),
        ({}, "No datapoints in the window."),
    ],
)
def test_an_ec2_series_without_data_is_explained_by_its_instance(instance, expected):
    (noted,) = fmt.monitoring_metric_notes([series()], WINDOW, {"i-1": instance} if instance else {})
    assert noted["note"].startswith(expected)


@pytest.mark.parametrize(
    ("state", "launched", "expected"),
    [
        ("running", "2024-05-01T12:30:00+00:00", "Instance i-1 was launched at 2024-05-01T12:30:00+00:00"),
        ("stopped", "2024-05-01T10:00:00+00:00", "Instance i-1 is stopped;"),
        ("running", "2024-05-01T10:00:00+00:00", "No datapoints in the window."),
    ],
)
def test_the_instances_deployment_info_found_explain_a_series_as_well(state, launched, expected):
    """monitor.yml passes deployment_info's list (snake_case, ISO times with +00:00), not the module's."""
    found = [{"instance_id": "i-1", "state": {"name": state}, "launch_time": launched}, {"instance_id": "i-2"}]
    (noted,) = fmt.monitoring_metric_notes([series()], WINDOW, found)
    assert noted["note"].startswith(expected)


def test_only_series_without_data_get_a_note_and_the_query_status_is_told():
    empty = {**series(kind="custom", unit=None), "query_status": "PartialData"}
    full = series(points=[("2024-05-01T12:05:00Z", 3.0)])
    noted = fmt.monitoring_metric_notes([full, empty], WINDOW, {})
    assert "note" not in noted[0]
    assert noted[1]["note"].startswith(
        "Custom metric not published in the window yet, or published with other dimensions;"
    )
    assert noted[1]["note"].endswith("CloudWatch answered with status PartialData.")
    assert "note" not in empty  # the module's data is not changed


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (None, "Bytes", "-"),
        (2048, "Bytes", "2.00 KB"),
        (12.345, "Percent", "12.3%"),
        (3.0, None, "3"),
        (2.5, "Count", "2.50"),
    ],
)
def test_numbers_are_written_for_their_unit(value, unit, shown):
    assert fmt.monitoring_number(value, unit) == shown


def test_a_chart_places_each_point_in_time_and_value():
    average = series(points=[("2024-05-01T12:00:00Z", 0.0), ("2024-05-01T13:00:00Z", 50.0)])
    maximum = series("Maximum", points=[("2024-05-01T12:30:00Z", 100.0)])

    (chart,) = fmt.monitoring_charts([average, maximum], WINDOW)

    plot = chart["plot"]
    assert plot == {"x": 72, "y": 14, "width": 632, "height": 168}
    # Values run from 0 to 110 (10% above the top): 0 at the bottom, 100 at 168 * 10/110 below the top.
    first, second = chart["lines"]
    assert first["points"] == "72.0,182.0 704.0,105.6"
    assert second["statistic"] == "Maximum" and second["colour"] == "#d62728"
    assert (second["dots"][0]["x"], second["dots"][0]["y"]) == (388.0, 29.3)
    assert second["dots"][0]["title"] == "Maximum 2024-05-01T12:30:00Z: 100.0%"
    assert [g["label"] for g in chart["grid"]] == ["0.0%", "55.0%", "110.0%"]
    assert chart["start_label"]["text"] == "2024-05-01 12:00 UTC" and chart["end_label"]["text"] == "13:00 UTC"
    assert chart["no_data"] is None
    assert [item["statistic"] for item in chart["legend"]] == ["Average", "Maximum"]


def test_a_chart_without_data_says_so_and_series_group_by_resource_and_metric():
    metrics = [series(), series(resource="i-2"), series("Maximum"), series(metric="NetworkIn", unit="Bytes")]

    charts = fmt.monitoring_charts(metrics, WINDOW)

    assert [(c["resource"], c["metric"], len(c["series"])) for c in charts] == [
        ("i-1", "CPUUtilization", 2),
        ("i-2", "CPUUtilization", 1),
        ("i-1", "NetworkIn", 1),
    ]
    assert charts[0]["lines"] == [] and charts[0]["no_data"] == {"x": 388.0, "y": 98.0}
    assert [g["label"] for g in charts[2]["grid"]] == ["0.00 Bytes", "0.50 Bytes", "1.00 Bytes"]


def test_the_table_aligns_numbers_and_marks_missing_values():
    metrics = [
        series(points=[("2024-05-01T12:05:00Z", 5.0), ("2024-05-01T12:10:00Z", 7.5)]),
        series(metric="NetworkIn", unit="Bytes"),
    ]
    lines = fmt.monitoring_metrics_table(metrics).splitlines()
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
    assert lines[1].split() == [
        "i-1",
        "AWS/EC2",
        "CPUUtilization",
        "Average",
        "5",
        "6.25",
        "7.50",
        "7.50",
        "Percent",
        "2",
    ]
    assert lines[2].split() == ["i-1", "AWS/EC2", "NetworkIn", "Average", "-", "-", "-", "-", "Bytes", "0"]
    assert len(lines[1]) == len(lines[2])
