"""library/ec2_security_group_unused.py against moto's server: it waits, one DescribeNetworkInterfaces
call a poll, until no network interface uses the groups, and names what still does when time is up."""

from __future__ import annotations

import importlib
import itertools
import threading
import uuid

import pytest


@pytest.fixture
def ec2(moto_client):
    return moto_client("ec2")


@pytest.fixture
def group(ec2):
    """A new group of the default VPC, and one of its subnets."""
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    group_id = ec2.create_security_group(GroupName=f"g-{uuid.uuid4().hex[:8]}", Description="t", VpcId=vpc)["GroupId"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]["SubnetId"]
    return group_id, subnet


def interface(ec2, group, description="a load balancer's"):
    group_id, subnet = group
    return ec2.create_network_interface(SubnetId=subnet, Groups=[group_id], Description=description)[
        "NetworkInterface"
    ]["NetworkInterfaceId"]


def test_an_unused_group_returns_at_once_with_one_call(group, run_module):
    rc, result = run_module("ec2_security_group_unused", group_ids=[group[0]])
    assert rc == 0, result
    assert result["changed"] is False and result["network_interfaces"] == []
    assert result["api_calls_by_operation"] == {"DescribeNetworkInterfaces": 1}
    assert result["waited"] < 1


def test_it_waits_until_the_last_interface_is_gone(ec2, group, run_module):
    eni = interface(ec2, group)
    # Released while the module waits, as AWS releases a terminated instance's interface.
    release = threading.Timer(2.0, ec2.delete_network_interface, kwargs={"NetworkInterfaceId": eni})
    release.start()
    try:
        rc, result = run_module("ec2_security_group_unused", group_ids=[group[0]], timeout=60)
    finally:
        release.join()
    assert rc == 0, result
    assert result["network_interfaces"] == []
    assert 2.0 <= result["waited"] < 10
    # Polls at 0, 1, 2 and 3 s (a pause of 1 s each): the one after the release sees it, within a second.
    assert 3 <= result["api_calls_by_operation"]["DescribeNetworkInterfaces"] <= 4
    assert result["waited"] < 4


def test_time_up_fails_naming_the_interfaces_and_what_they_belong_to(ec2, group, run_module):
    eni = interface(ec2, group, description="ELB app/web/50dc6c495c0c9188")
    vpc = ec2.describe_security_groups(GroupIds=[group[0]])["SecurityGroups"][0]["VpcId"]
    other = ec2.create_security_group(GroupName=f"o-{uuid.uuid4().hex[:8]}", Description="t", VpcId=vpc)["GroupId"]
    rc, result = run_module("ec2_security_group_unused", group_ids=[group[0], other], timeout=1)
    assert rc != 0 and result["failed"]
    assert result["msg"] == (
        f"After 1 s, the security group(s) {group[0]}, {other} are still used by "
        f"{eni} (ELB app/web/50dc6c495c0c9188, available)"
    )
    assert [i["network_interface_id"] for i in result["network_interfaces"]] == [eni]
    assert result["network_interfaces"][0]["group_ids"] == [group[0]]
    assert result["waited"] >= 1


def test_an_instance_interface_is_named_by_its_instance(ec2, group, run_module):
    group_id, subnet = group
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.nano", SubnetId=subnet, SecurityGroupIds=[group_id]
    )["Instances"][0]["InstanceId"]
    rc, result = run_module("ec2_security_group_unused", group_ids=[group_id], timeout=0)
    assert rc != 0
    assert f"(instance {instance}, in-use)" in result["msg"]
    assert result["network_interfaces"][0]["instance_id"] == instance


def test_check_mode_reads_once_and_does_not_wait(ec2, group, run_module):
    eni = interface(ec2, group)
    rc, result = run_module("ec2_security_group_unused", check_mode=True, group_ids=[group[0]], timeout=60)
    assert rc == 0, result
    assert [i["network_interface_id"] for i in result["network_interfaces"]] == [eni]
    assert result["api_calls_by_operation"] == {"DescribeNetworkInterfaces": 1} and result["waited"] < 1


def test_an_unreachable_endpoint_fails_naming_the_groups_and_the_permission(run_module):
    rc, result = run_module(
        "ec2_security_group_unused", group_ids=["sg-0123456789abcdef0"], endpoint_url="http://127.0.0.1:9"
    )
    assert rc != 0 and "sg-0123456789abcdef0" in result["msg"] and "ec2:DescribeNetworkInterfaces" in result["msg"]


def test_a_negative_timeout_is_refused(run_module):
    rc, result = run_module("ec2_security_group_unused", group_ids=["sg-0123456789abcdef0"], timeout=-1)
    assert rc != 0 and result["msg"] == "timeout must be 0 or more seconds, not -1"


def test_the_polls_come_every_second_at_first_and_settle_at_three_seconds():
    module = importlib.import_module("ansible_collections.aws_webserver.core.plugins.modules.ec2_security_group_unused")
    assert list(itertools.islice(module.delays(), 8)) == [1, 1, 1, 2, 3, 3, 3, 3]
    # A minute's wait: 23 polls (the first at once, then 22 after pauses).
    assert sum(1 for total in itertools.accumulate(itertools.islice(module.delays(), 40)) if total <= 60) == 22


def test_the_last_pause_ends_at_the_timeout(monkeypatch):
    module = importlib.import_module("ansible_collections.aws_webserver.core.plugins.modules.ec2_security_group_unused")
    monkeypatch.setattr(module, "users", lambda client, group_ids: [{"network_interface_id": "eni-1"}])
    now, pauses = [0.0], []

    def sleep(seconds):
        pauses.append(seconds)
        now[0] += seconds

    found, waited = module.wait(None, ["sg-1"], 9.5, False, clock=lambda: now[0], sleep=sleep)
    assert pauses == [1, 1, 1, 2, 3, 1.5] and waited == 9.5 and found == [{"network_interface_id": "eni-1"}]
