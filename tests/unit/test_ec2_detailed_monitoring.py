"""library/ec2_detailed_monitoring.py against moto's server, with the local cloud's MonitorInstances
and UnmonitorInstances (moto lacks them): an existing instance's detailed monitoring follows the
setting (ec2_instance sets it only at launch)."""

from __future__ import annotations

import pytest

from localcloud import motopatch


@pytest.fixture
def instance(moto_client):
    motopatch.install_monitoring()
    ec2 = moto_client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.nano")["Instances"][0][
        "InstanceId"
    ]


def state(moto_client, instance_id: str) -> str:
    found = moto_client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return found["Monitoring"]["State"]


def test_detailed_monitoring_is_turned_on_and_off_and_then_left_alone(run_module, moto_client, instance):
    assert state(moto_client, instance) == "disabled"
    rc, on = run_module("ec2_detailed_monitoring", instance_id=instance, enabled=True)
    assert rc == 0, on
    assert (on["changed"], on["previous"]) == (True, "disabled") and on["state"] in ("enabled", "pending")
    assert state(moto_client, instance) in ("enabled", "pending")
    rc, again = run_module("ec2_detailed_monitoring", instance_id=instance, enabled=True)
    assert rc == 0 and again["changed"] is False
    rc, off = run_module("ec2_detailed_monitoring", instance_id=instance, enabled=False)
    assert rc == 0 and off["changed"] is True and off["state"] in ("disabled", "disabling")
    assert state(moto_client, instance) in ("disabled", "disabling")


def test_check_mode_says_what_would_change_and_changes_nothing(run_module, moto_client, instance):
    rc, result = run_module("ec2_detailed_monitoring", check_mode=True, instance_id=instance, enabled=True)
    assert rc == 0 and result["changed"] is True and result["state"] == "enabled"
    assert state(moto_client, instance) == "disabled"


def test_an_unknown_instance_fails_naming_it(run_module):
    rc, result = run_module("ec2_detailed_monitoring", instance_id="i-0123456789abcdef0", enabled=True)
    assert rc != 0 and "i-0123456789abcdef0" in result["msg"]
