"""The group mode (deployment_capacity): an Auto Scaling group behind a load balancer, deployed (a
first run killed half-way, a second converging), scaled by its alarms and torn down with the
playbooks, on a local cloud of its own whose instances publish EC2 metrics every 10 s (so 1-minute
alarms act within the test)."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import time
import uuid
from collections import Counter

import pytest

from conftest import ROOT, own_cloud, wait_for
from groups import BUSY, CALM, group_of, healthy, page_instance, run_on, served_certificate, target_states
from playbooks import playbook, playbook_command
from sweep import NOTHING, containers, sweep

# A 15 % threshold: the busy loops share the machine's cores with the rest of the test suite, so each
# instance may get well under a core; idle, the instances stay under 2 %.
GROUP = (
    "-e", "deployment_capacity=2", "-e", "deployment_capacity_max=3",
    "-e", "deployment_high_cpu_threshold=15", "-e", "deployment_high_cpu_minutes=1", "-e", "deployment_idle_minutes=1",
)  # fmt: skip


@pytest.fixture(scope="module")
def scaling_cloud(tmp_path_factory):
    with own_cloud(tmp_path_factory, "scalingcloud", {"LOCALCLOUD_METRICS_INTERVAL": "10"}) as started:
        yield started


def killed_once_the_group_exists(cloud, state, name: str) -> None:
    """A deploy killed (SIGKILL, no handler runs) right after it created the Auto Scaling group."""
    command, env = playbook_command(cloud, "deploy", state, "-e", f"deployment_name={name}", *GROUP)
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        autoscaling = cloud.client("autoscaling")

        def made() -> list:
            return autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[f"{name}-web"])["AutoScalingGroups"]

        wait_for(made, 180, "the group to be created", 0.5)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def deployment(scaling_cloud, tmp_path_factory):
    """A group deployment whose first deploy was killed half-way: the second run converges."""
    name = f"g{uuid.uuid4().hex[:7]}"
    state = tmp_path_factory.mktemp("group")
    killed_once_the_group_exists(scaling_cloud, state, name)
    started = time.monotonic()
    run = playbook(scaling_cloud, "deploy", state, "-e", f"deployment_name={name}", *GROUP)
    assert run.returncode == 0, run.output[-6000:]
    dns = scaling_cloud.client("elbv2").describe_load_balancers(Names=[f"aaw-{name}-lb"])["LoadBalancers"][0]["DNSName"]
    return {"name": name, "state": state, "dns": dns, "output": run.output, "seconds": time.monotonic() - started}


def test_deploy_runs_two_healthy_instances_in_two_zones_behind_the_balancer(scaling_cloud, deployment):
    group = group_of(scaling_cloud, deployment["name"])
    members = [i["InstanceId"] for i in group["Instances"]]
    assert len(members) == 2 and len({i["AvailabilityZone"] for i in group["Instances"]}) == 2
    assert healthy(scaling_cloud, deployment["name"]) == sorted(members)
    assert all(containers(scaling_cloud, member) for member in members), "each instance is a container"
    assert f"Web page:    http://{deployment['dns']}/" in deployment["output"]
    https = re.search(r"HTTPS:\s+https://(\S+)/ \(self-signed; SHA-256 ([0-9a-f:]+)\)", deployment["output"])
    assert https and https.group(1) == deployment["dns"], "HTTPS on the balancer, as the single instance serves it"
    served = hashlib.sha256(served_certificate(deployment["dns"])).hexdigest()
    assert served == https.group(2).replace(":", ""), "port 443 presents the certificate the summary names"
    seen = Counter(page_instance(f"http://{deployment['dns']}/")[1] for _ in range(6))
    assert sorted(seen) == sorted(members) and set(seen.values()) == {3}, f"round robin over both: {seen}"
    instances = scaling_cloud.client("ec2").describe_instances(InstanceIds=members)["Reservations"]
    for instance in (i for r in instances for i in r["Instances"]):
        assert instance["MetadataOptions"]["HttpTokens"] == "required"
        assert {"Key": "Deployment", "Value": deployment["name"]} in instance["Tags"]


def test_instances_answer_only_the_balancer(scaling_cloud, deployment):
    member = group_of(scaling_cloud, deployment["name"])["Instances"][0]["InstanceId"]
    ip = scaling_cloud.client("ec2").describe_instances(InstanceIds=[member])["Reservations"][0]["Instances"][0]
    assert page_instance(f"http://{ip['PublicIpAddress']}/") == (0, ""), "HTTP only from the load balancer's group"


def test_a_rerun_changes_nothing(scaling_cloud, deployment):
    run = playbook(scaling_cloud, "deploy", deployment["state"], "-e", f"deployment_name={deployment['name']}", *GROUP)
    assert run.returncode == 0, run.output[-4000:]
    assert run.recap and run.changed == 0, run.recap
    checked = playbook(scaling_cloud, "deploy", deployment["state"], "-e", f"deployment_name={deployment['name']}",
                       *GROUP, "--check")  # fmt: skip
    assert checked.returncode == 0, checked.output[-4000:]
    assert "Would create the load balancer" not in checked.output, "check mode finds the group's resources"
    assert checked.recap and checked.changed == 0, f"check mode calls the unchanged group unchanged: {checked.recap}"


def test_tags_page_refreshes_the_group_without_its_security_group_steps(scaling_cloud, deployment):
    """--tags page leaves security_group.yml out: the balancer and launch template use the groups found."""
    run = playbook(scaling_cloud, "deploy", deployment["state"], "-e", f"deployment_name={deployment['name']}",
                   *GROUP, "--tags", "page")  # fmt: skip
    assert run.returncode == 0, run.output[-4000:]
    assert run.recap and run.changed == 0, run.recap
    assert "TASK [deployment : Ensure the load balancer answers HTTP" in run.output, "group.yml ran"
    assert f"Web page:    http://{deployment['dns']}/" in run.output


def test_switching_modes_is_refused_before_anything_changes(scaling_cloud, deployment):
    run = playbook(scaling_cloud, "deploy", deployment["state"], "-e", f"deployment_name={deployment['name']}",
                   "-e", "deployment_https=false")  # fmt: skip
    assert run.returncode != 0
    assert "is an Auto Scaling group behind a load balancer" in run.output and "Nothing was changed." in run.output
    assert len(group_of(scaling_cloud, deployment["name"])["Instances"]) == 2


def test_load_adds_a_serving_instance_and_idleness_takes_it_away(scaling_cloud, deployment):
    before = {i["InstanceId"] for i in group_of(scaling_cloud, deployment["name"])["Instances"]}
    run_on(scaling_cloud, deployment, before, BUSY)
    started = time.monotonic()
    try:
        wait_for(lambda: len(healthy(scaling_cloud, deployment["name"])) == 3, 240, "a third healthy instance")
        deployment["third_healthy_after"] = time.monotonic() - started
        added = (set(healthy(scaling_cloud, deployment["name"])) - before).pop()
        wait_for(lambda: added in {page_instance(f"http://{deployment['dns']}/")[1] for _ in range(3)}, 30, "its page")
    finally:
        run_on(scaling_cloud, deployment, before, CALM)
    history = scaling_cloud.client("cloudwatch").describe_alarm_history(AlarmName=f"aaw-{deployment['name']}-high-cpu")
    assert any(
        "scale-out" in h["HistorySummary"] for h in history["AlarmHistoryItems"] if h["HistoryItemType"] == "Action"
    )
    wait_for(lambda: len(group_of(scaling_cloud, deployment["name"])["Instances"]) == 2, 240, "back to the minimum")
    wait_for(lambda: len(healthy(scaling_cloud, deployment["name"])) == 2, 30, "the removed instance deregistered")
    took = deployment["third_healthy_after"]
    print(f"deploy {deployment['seconds']:.1f} s; load to a third healthy instance {took:.1f} s")


def test_monitor_reports_every_instance_and_the_group(scaling_cloud, deployment):
    report = playbook(scaling_cloud, "monitor", deployment["state"], "-e", f"deployment_name={deployment['name']}")
    assert report.returncode == 0, report.output[-4000:]
    members = sorted(i["InstanceId"] for i in group_of(scaling_cloud, deployment["name"])["Instances"])
    assert f"Group:     {deployment['name']}-web, 2 instance(s): {', '.join(members)}" in report.output
    rows = [line for line in report.output.splitlines() if "CPUUtilization" in line and "Average" in line]
    assert {m for m in members if any(m in row for row in rows)} == set(members)
    assert any(f"{deployment['name']}-web" in row for row in rows), "the group's average CPU"
    assert "GroupInServiceInstances" in report.output


def test_a_dead_web_server_is_replaced_while_the_page_answers(scaling_cloud, deployment):
    """Apache stopped on one instance: its target goes unhealthy, the group (ELB health checks) replaces
    it with one that serves its own page, and the balancer answers no 5xx once the target is marked."""
    name = deployment["name"]
    before = {i["InstanceId"] for i in group_of(scaling_cloud, name)["Instances"]}
    victim = sorted(before)[0]
    run_on(scaling_cloud, deployment, [victim], "sudo systemctl stop apache2")
    answers, failed_after_marked, marked = Counter(), Counter(), False
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        # Health is read before the request: a request already sent to the victim when its check
        # failed is not the balancer's fault; one sent after the victim was marked, with a healthy
        # target left, is.
        health = target_states(scaling_cloud, name)
        marked = marked or health.get(victim, "unused") != "healthy"
        status, shown = page_instance(f"http://{deployment['dns']}/")
        answers[status] += 1
        if marked and (status >= 500 or status == 0) and "healthy" in health.values():
            failed_after_marked[status] += 1
        new = {i for i, state in health.items() if state == "healthy"} - before
        if new and shown in new:
            break
        time.sleep(0.3)
    else:
        pytest.fail(f"no replacement served within 240 s: {health}, answers {answers}")
    assert marked, "the stopped web server failed its health checks"
    assert victim not in {i["InstanceId"] for i in group_of(scaling_cloud, name)["Instances"]}, "replaced"
    assert not failed_after_marked, f"failures once the target was marked, a healthy one left: {failed_after_marked}"
    wait_for(lambda: len(healthy(scaling_cloud, name)) == 2, 60, "two healthy instances again")


def test_a_changed_template_rolls_the_instances_while_the_page_answers(scaling_cloud, deployment):
    before = {i["InstanceId"] for i in group_of(scaling_cloud, deployment["name"])["Instances"]}
    changed = ["-e", '{"deployment_tags": {"Team": "web"}}']  # a new template version (its tag specifications)
    run = playbook(scaling_cloud, "deploy", deployment["state"], "-e", f"deployment_name={deployment['name']}",
                   *GROUP, *changed)  # fmt: skip
    assert run.returncode == 0, run.output[-4000:]
    said = " ".join(run.output.split())
    assert "instance refresh" in said and "replaces the running instances one at a time" in said
    autoscaling, answers, serving = scaling_cloud.client("autoscaling"), Counter(), []

    def rolled():
        answers[page_instance(f"http://{deployment['dns']}/")[0]] += 1
        serving.append(len(healthy(scaling_cloud, deployment["name"])))
        refresh = autoscaling.describe_instance_refreshes(AutoScalingGroupName=f"{deployment['name']}-web")
        return refresh["InstanceRefreshes"][0]["Status"] == "Successful"

    wait_for(rolled, 300, "the instance refresh to succeed", 0.5)
    after = {i["InstanceId"] for i in group_of(scaling_cloud, deployment["name"])["Instances"]}
    assert len(after) == 2 and not after & before, "every instance replaced"
    assert not [code for code in answers if code >= 500 or code == 0], f"the page answered throughout: {answers}"
    # MaxHealthyPercentage 200: each replacement is healthy before the instance it replaces goes.
    assert min(serving) >= 2 and max(serving) == 3, f"launch before terminate: healthy counts {serving}"
    tags = scaling_cloud.client("ec2").describe_instances(InstanceIds=sorted(after))["Reservations"]
    assert all({"Key": "Team", "Value": "web"} in i["Tags"] for r in tags for i in r["Instances"])


def test_teardown_removes_the_group_and_everything_else(scaling_cloud, deployment):
    gone = playbook(scaling_cloud, "teardown", deployment["state"], "-e", f"deployment_name={deployment['name']}",
                    "-e", "confirm=true")  # fmt: skip
    assert gone.returncode == 0, gone.output[-4000:]
    name = deployment["name"]
    assert sweep(scaling_cloud, name) == NOTHING
    again = playbook(
        scaling_cloud, "teardown", deployment["state"], "-e", f"deployment_name={name}", "-e", "confirm=true"
    )
    assert again.returncode == 0 and "nothing to delete" in again.output
