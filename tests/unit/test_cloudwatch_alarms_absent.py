"""library/cloudwatch_alarms_absent.py against moto's server: several alarms go in one module run."""

from __future__ import annotations

import importlib

import pytest


@pytest.fixture
def cloudwatch(moto_client):
    return moto_client("cloudwatch")


def put_alarm(cloudwatch, name):
    cloudwatch.put_metric_alarm(
        AlarmName=name, Namespace="AWS/EC2", MetricName="CPUUtilization", Statistic="Average", Period=60,
        EvaluationPeriods=1, Threshold=70.0, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip


def names(cloudwatch, prefix):
    return sorted(a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"])


def test_the_alarms_that_exist_are_deleted_and_a_rerun_changes_nothing(cloudwatch, run_module):
    for name in ("gone-high-cpu", "gone-idle", "gone-other"):
        put_alarm(cloudwatch, name)
    wanted = ["gone-idle", "gone-high-cpu", "gone-never-made", "gone-idle"]
    rc, result = run_module("cloudwatch_alarms_absent", names=wanted)
    assert rc == 0, result
    assert result["changed"] is True and result["deleted"] == ["gone-idle", "gone-high-cpu"]
    assert names(cloudwatch, "gone-") == ["gone-other"]  # only the named ones
    rc, again = run_module("cloudwatch_alarms_absent", names=wanted)
    assert rc == 0 and again["changed"] is False and again["deleted"] == []


def test_check_mode_reports_and_deletes_nothing(cloudwatch, run_module):
    put_alarm(cloudwatch, "kept-high-cpu")
    rc, result = run_module("cloudwatch_alarms_absent", check_mode=True, names=["kept-high-cpu"])
    assert rc == 0 and result["changed"] is True and result["deleted"] == ["kept-high-cpu"]
    assert names(cloudwatch, "kept-") == ["kept-high-cpu"]


def test_an_unreachable_endpoint_fails_naming_the_alarms_and_the_permissions(run_module):
    rc, result = run_module("cloudwatch_alarms_absent", names=["a-high-cpu"], endpoint_url="http://127.0.0.1:9")
    assert rc != 0 and result["failed"]
    assert "a-high-cpu" in result["msg"] and "cloudwatch:DeleteAlarms" in result["msg"]


def test_the_delete_calls_hold_100_names_and_one_composite_alarm_at_most():
    module = importlib.import_module("ansible_collections.aws_webserver.core.plugins.modules.cloudwatch_alarms_absent")
    found = {f"m{n}": "MetricAlarm" for n in range(150)} | {"c1": "CompositeAlarm", "c2": "CompositeAlarm"}
    calls = module.batches(found)
    assert [len(call) for call in calls] == [100, 52]
    assert all(sum(name.startswith("c") for name in call) <= 1 for call in calls)
    assert sorted(name for call in calls for name in call) == sorted(found)
    assert module.batches({f"c{n}": "CompositeAlarm" for n in range(3)}) == [["c0"], ["c1"], ["c2"]]
