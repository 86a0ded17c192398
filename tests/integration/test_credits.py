"""CPU credits on the local cloud, as the EC2 User Guide describes burstable instances: a T3 in
standard mode launches with no credits and, busy, is held to its baseline through its container's
CPU quota; an unlimited one is not. Deploy boots its instance unlimited and leaves it in the mode
the settings ask for once the page answers, so the project's boot is never held: test_iam.py's
single-mode life deploys so."""

from __future__ import annotations

import datetime

import pytest

from conftest import LocalCloud, wait_for
from instances import launch

pytestmark = pytest.mark.cloud

# One busy loop (one vCPU of a t3.nano's two) for at most two minutes, detached from SSH.
BUSY = "nohup timeout 120 sh -c 'while :; do :; done' >/dev/null 2>&1 &"
# A t3.nano's baseline is 5 % of each of its two vCPUs; one free loop fills one vCPU (50 %), less
# on a machine whose cores the other tests share. Held is at most HELD, free at least FREE.
HELD, FREE = 8.0, 15.0


def datapoints(cloud: LocalCloud, instance_id: str, metric: str, since: datetime.datetime, stat: str = "Maximum"):
    """An instance's AWS/EC2 datapoints of intervals that began at `since` or later, oldest first."""
    now = datetime.datetime.now(datetime.UTC)
    points = cloud.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/EC2", MetricName=metric, Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
        StartTime=since, EndTime=now + datetime.timedelta(minutes=1), Period=1, Statistics=[stat],
    )["Datapoints"]  # fmt: skip
    return [p[stat] for p in sorted(points, key=lambda p: p["Timestamp"]) if p["Timestamp"] >= since]


def measured(cloud: LocalCloud, instance_id: str, metric: str, since: datetime.datetime, count: int = 2) -> list[float]:
    """`count` datapoints of intervals after `since`, the local cloud asked to publish every 3 s."""

    def enough() -> bool:
        cloud.cli("metrics")
        return len(datapoints(cloud, instance_id, metric, since)) >= count

    wait_for(enough, 60, f"{metric} of {instance_id} after {since:%H:%M:%S}", 3)
    return datapoints(cloud, instance_id, metric, since)


def busy_from_now(*instances) -> datetime.datetime:
    """A busy loop on each instance; the time after which every interval holds it."""
    for instance in instances:
        assert instance.ssh(BUSY).returncode == 0
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1)


def test_a_busy_standard_t3_without_credits_is_held_to_its_baseline_and_an_unlimited_one_is_not(cloud, tmp_path):
    held = launch(cloud, tmp_path, cpu_credits="standard")
    free = launch(cloud, tmp_path, cpu_credits="unlimited")
    for instance in (held, free):
        instance.wait_for_ssh()
    busy_from_now(held, free)
    # It launched with no credits (a T3): the few it earns while it boots go within an interval of load.
    log = cloud.home / "localcloud.log"

    def held_now() -> bool:
        cloud.cli("metrics")
        return f"credits: {held.instance_id} (t3.nano, standard) held" in log.read_text()

    wait_for(held_now, 60, "the standard instance, its credits spent, to be held", 2)
    since = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1)
    held_cpu = max(measured(cloud, held.instance_id, "CPUUtilization", since))
    free_cpu = max(measured(cloud, free.instance_id, "CPUUtilization", since))
    assert held_cpu <= HELD, f"standard, no credits: held to the baseline, measured {held_cpu} %"
    assert free_cpu >= FREE, f"unlimited: not held, measured {free_cpu} %"
    assert min(measured(cloud, held.instance_id, "CPUCreditBalance", since)) < 0.05, "it spends what it earns"
    assert max(measured(cloud, free.instance_id, "CPUSurplusCreditBalance", since)) > 0.0, "unlimited runs on surplus"

    # Switched to unlimited (ModifyInstanceCreditSpecification), the held instance goes free at once.
    cloud.client("ec2").modify_instance_credit_specification(
        InstanceCreditSpecifications=[{"InstanceId": held.instance_id, "CpuCredits": "unlimited"}]
    )
    since = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1)
    freed_cpu = max(measured(cloud, held.instance_id, "CPUUtilization", since))
    assert freed_cpu >= FREE, f"switched to unlimited: no longer held, measured {freed_cpu} %"
    for instance in (held, free):
        instance.ssh("pkill -f 'while [:]' || true")
