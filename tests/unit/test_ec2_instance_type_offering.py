"""library/ec2_instance_type_offering.py against moto's server (instance types validated as on AWS)."""

from __future__ import annotations


def test_a_known_type_is_offered_in_the_region(run_module):
    rc, result = run_module("ec2_instance_type_offering", instance_type="t3.nano")
    assert rc == 0, result
    assert result["changed"] is False
    assert result["exists"] is True and result["offered"] is True
    assert result["availability_zones"] and all(z.startswith("us-east-1") for z in result["availability_zones"])
    assert result["architectures"] == ["x86_64"]
    assert result["free_tier_eligible"] is False


def test_an_arm_type_reports_its_architecture(run_module):
    rc, result = run_module("ec2_instance_type_offering", instance_type="t4g.nano", check_mode=True)
    assert rc == 0, result
    assert result["exists"] is True and result["architectures"] == ["arm64"]


def test_an_unknown_type_is_reported_not_failed(run_module):
    rc, result = run_module("ec2_instance_type_offering", instance_type="t3.galactic")
    assert rc == 0, result
    assert result["exists"] is False and result["offered"] is False
    assert result["availability_zones"] == [] and result["architectures"] == []


def test_an_unreachable_endpoint_fails_with_the_reason(run_module):
    rc, result = run_module("ec2_instance_type_offering", instance_type="t3.nano", endpoint_url="http://127.0.0.1:9")
    assert rc != 0 and result["failed"]
    assert "t3.nano" in result["msg"] and "Could not connect" in result["msg"]
