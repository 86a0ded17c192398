"""The monitoring role's report filters, as functions."""

from __future__ import annotations

import importlib.util
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[2] / "roles" / "monitoring" / "filter_plugins" / "monitoring_report.py"
spec = importlib.util.spec_from_file_location("monitoring_report", PLUGIN)
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)


def alarm(**overrides):
    found = {
        "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-high-cpu", "StateValue": "OK",
        "StateReason": "Threshold Crossed", "AlarmDescription": "CPU high", "MetricName": "CPUUtilization",
        "Statistic": "Average", "ComparisonOperator": "GreaterThanThreshold", "Threshold": 80.0, "Period": 300,
        "EvaluationPeriods": 2, "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:web-alarms"], "OKActions": [],
        "Namespace": "AWS/EC2", "Dimensions": [{"Name": "InstanceId", "Value": "i-0123456789abcdef0"}],
    }  # fmt: skip
    return {**found, **overrides}


def test_alarms_become_report_rows_by_name():
    rows = report.monitoring_alarm_rows(
        {"web-idle-terminate": alarm(StateValue="INSUFFICIENT_DATA", Threshold=2.0), "web-high-cpu": alarm()}
    )
    assert [r["name"] for r in rows] == ["web-high-cpu", "web-idle-terminate"]
    assert rows[0] == {
        "name": "web-high-cpu", "arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-high-cpu",
        "state": "OK", "reason": "Threshold Crossed", "description": "CPU high", "metric": "CPUUtilization",
        "statistic": "Average", "comparison": "GreaterThanThreshold", "threshold": 80.0, "period": 300,
        "evaluation_periods": 2, "alarm_actions": ["arn:aws:sns:us-east-1:123456789012:web-alarms"], "ok_actions": [],
        "history": [],
    }  # fmt: skip
    assert (rows[1]["state"], rows[1]["threshold"]) == ("INSUFFICIENT_DATA", 2.0)


def test_no_alarms_no_rows():
    assert report.monitoring_alarm_rows({}) == [] and report.monitoring_alarm_rows(None) == []


def test_cloudwatch_calls_are_summed_over_the_modules_and_other_services_left_out():
    calls = report.monitoring_api_calls(
        [
            {"GetCallerIdentity": 1, "DescribeInstances": 1, "HeadBucket": 1, "DescribeAlarms": 1},
            {"GetMetricData": 2},
            {"PutMetricData": 1},
            {"GetDashboard": 1, "PutDashboard": 1},
            None,  # a module that did not run
        ]
    )
    assert calls == {
        "total": 6,
        "by_operation": {
            "GetMetricData": 2,
            "PutMetricData": 1,
            "DescribeAlarms": 1,
            "GetDashboard": 1,
            "PutDashboard": 1,
        },
    }
    assert report.monitoring_api_calls([{"PutMetricData": 0}]) == {"total": 0, "by_operation": {}}


def test_an_alarm_row_carries_its_latest_state_changes():
    change = {"time": "2026-12-05T03:19:55Z", "from": "OK", "to": "ALARM", "reason": "Threshold Crossed: ..."}
    (row,) = report.monitoring_alarm_rows({"web-idle-terminate": alarm(history=[change])})
    assert row["history"] == [change]
