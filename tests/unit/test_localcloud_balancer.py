"""The local cloud's load balancer rules (localcloud/balancer.py, groups.py) that need no instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from localcloud.balancer import Health, code_matches, node_address
from localcloud.groups import replacements


@pytest.mark.parametrize(
    ("matcher", "code", "expected"),
    [("200", 200, True), ("200", 302, False), ("200-299", 204, True), ("200,302", 302, True), ("200-399", 404, False)],
)
def test_matcher(matcher, code, expected):
    assert code_matches(matcher, code) is expected


def test_a_new_target_is_healthy_after_one_pass_and_unhealthy_after_the_threshold():
    health = Health()
    assert health.view() == ("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
    health.record(False, "Target.Timeout", 0, healthy_after=3, unhealthy_after=2)
    assert health.view()[:2] == ("initial", "Elb.InitialHealthChecking")
    health.record(True, "", 200, healthy_after=3, unhealthy_after=2)
    assert health.view() == ("healthy", None, None)
    health.record(False, "Target.ResponseCodeMismatch", 500, healthy_after=3, unhealthy_after=2)
    assert health.state == "healthy", "one failure is below the unhealthy threshold"
    health.record(False, "Target.ResponseCodeMismatch", 500, healthy_after=3, unhealthy_after=2)
    assert health.view() == ("unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [500]")
    for _ in range(2):
        health.record(True, "", 200, healthy_after=3, unhealthy_after=2)
    assert health.state == "unhealthy", "back to healthy only after the healthy threshold"
    health.record(True, "", 200, healthy_after=3, unhealthy_after=2)
    assert health.state == "healthy"


def test_node_address_is_inside_the_subnet_and_not_its_broadcast():
    assert node_address("172.31.16.0/20") == "172.31.31.254"


def member(instance_id, state="running", age=60, lifecycle="InService"):
    launched = datetime.now(UTC) - timedelta(seconds=age)
    return SimpleNamespace(
        instance=SimpleNamespace(id=instance_id, state=state, launch_time=launched), lifecycle_state=lifecycle
    )


def test_replacements_follow_ec2_and_elb_health_and_the_grace_period():
    group = SimpleNamespace(
        health_check_type="ELB", health_check_grace_period=30, target_group_arns=["tg"],
        instance_states=[
            member("i-ok"), member("i-stopped", state="stopped"), member("i-sick"), member("i-young", age=5)
        ],
    )  # fmt: skip
    sick = {"i-sick", "i-young"}
    found = dict(replacements(group, lambda arn, i: "unhealthy" if i in sick else "healthy", datetime.now(UTC)))
    assert sorted(found) == ["i-sick", "i-stopped"]
    assert found["i-stopped"].startswith("EC2") and found["i-sick"].startswith("ELB")
    group.health_check_type = "EC2"
    assert [i for i, _ in replacements(group, lambda arn, i: "unhealthy", datetime.now(UTC))] == ["i-stopped"]
