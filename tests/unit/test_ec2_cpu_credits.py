"""library/ec2_cpu_credits.py against moto's server, with the local cloud's credit-mode rules
(RunInstances' CreditSpecification kept, ModifyInstanceCreditSpecification, which moto lacks)."""

from __future__ import annotations

import pytest

from localcloud import awsrules, cpu_credits


@pytest.fixture
def instance(moto_client):
    awsrules._install_cpu_credits()
    cpu_credits.install_modify_credit_specification()
    ec2 = moto_client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.nano", CreditSpecification={"CpuCredits": "unlimited"}
    )["Instances"][0]["InstanceId"]


def mode(moto_client, instance_id: str) -> str:
    found = moto_client("ec2").describe_instance_credit_specifications(InstanceIds=[instance_id])
    return found["InstanceCreditSpecifications"][0]["CpuCredits"]


def test_the_mode_is_switched_once_and_then_left_alone(run_module, moto_client, instance):
    assert mode(moto_client, instance) == "unlimited"
    rc, result = run_module("ec2_cpu_credits", instance_id=instance, cpu_credits="standard")
    assert rc == 0, result
    assert (result["changed"], result["previous"], result["cpu_credits"]) == (True, "unlimited", "standard")
    assert mode(moto_client, instance) == "standard"
    rc, again = run_module("ec2_cpu_credits", instance_id=instance, cpu_credits="standard")
    assert rc == 0 and again["changed"] is False


def test_check_mode_changes_nothing(run_module, moto_client, instance):
    rc, result = run_module("ec2_cpu_credits", check_mode=True, instance_id=instance, cpu_credits="standard")
    assert rc == 0 and result["changed"] is True
    assert mode(moto_client, instance) == "unlimited"


def test_a_bad_mode_is_refused_before_any_call(run_module, instance):
    rc, result = run_module("ec2_cpu_credits", instance_id=instance, cpu_credits="burst")
    assert rc != 0 and "cpu_credits" in result["msg"]
