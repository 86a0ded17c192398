"""library/cloudwatch_dashboard.py against moto's server."""

from __future__ import annotations

import pytest

REGION = "us-east-1"  # the region run_module and moto_client use

BODY = {
    "widgets": [
        {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {"region": REGION, "metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"]]},
        }
    ]
}


@pytest.fixture
def cloudwatch(moto_client):
    return moto_client("cloudwatch")


def names(cloudwatch):
    return [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]


def test_present_creates_then_a_rerun_changes_nothing(cloudwatch, run_module):
    rc, result = run_module("cloudwatch_dashboard", name="made", body=BODY)
    assert rc == 0, result
    assert result["changed"] is True and result["existed"] is False and result["body"] == BODY
    assert "made" in names(cloudwatch)
    rc, result = run_module("cloudwatch_dashboard", name="made", body=BODY)
    assert rc == 0 and result["changed"] is False and result["existed"] is True


def test_a_changed_body_is_put_with_a_diff(cloudwatch, run_module):
    run_module("cloudwatch_dashboard", name="changed", body=BODY)
    wider = {"widgets": [{**BODY["widgets"][0], "width": 24}]}
    rc, result = run_module("cloudwatch_dashboard", diff=True, name="changed", body=wider)
    assert rc == 0 and result["changed"] is True
    assert result["diff"] == {"before": BODY, "after": wider}


def test_check_mode_creates_and_deletes_nothing(cloudwatch, run_module):
    rc, result = run_module("cloudwatch_dashboard", check_mode=True, name="checked", body=BODY)
    assert rc == 0 and result["changed"] is True
    assert "checked" not in names(cloudwatch)
    run_module("cloudwatch_dashboard", name="checked", body=BODY)
    rc, result = run_module("cloudwatch_dashboard", check_mode=True, name="checked", state="absent")
    assert rc == 0 and result["changed"] is True
    assert "checked" in names(cloudwatch)


def test_absent_deletes_only_that_dashboard_and_then_changes_nothing(cloudwatch, run_module):
    run_module("cloudwatch_dashboard", name="gone", body=BODY)
    run_module("cloudwatch_dashboard", name="gone-not", body=BODY)
    rc, result = run_module("cloudwatch_dashboard", name="gone", state="absent")
    assert rc == 0 and result["changed"] is True and result["existed"] is True
    assert "gone" not in names(cloudwatch) and "gone-not" in names(cloudwatch)
    rc, result = run_module("cloudwatch_dashboard", name="gone", state="absent")
    assert rc == 0 and result["changed"] is False and result["existed"] is False


def test_present_without_a_body_and_a_bad_name_are_explained(run_module):
    rc, result = run_module("cloudwatch_dashboard", name="nobody")
    assert rc != 0 and "body" in result["msg"]
    rc, result = run_module("cloudwatch_dashboard", name="has spaces", body=BODY)
    assert rc != 0 and "has spaces" in result["msg"] and "dashboard name" in result["msg"]
