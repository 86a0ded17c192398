"""Alarms that act: the local cloud evaluates CloudWatch alarms on the instances' real metrics and
carries out their actions (localcloud/evaluator.py, alarm_actions.py, outbox.py).

The module runs its own local cloud, whose instances publish EC2 metrics every 10 s (the session's
cloud publishes only when asked), and two deployments with 1-minute alarms on 10-second periods:
an idle one its idle alarm terminates, and a busy one whose high-CPU alarm notifies.
"""

from __future__ import annotations

import datetime
import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

from conftest import LocalCloud, own_cloud, wait_for
from playbooks import playbook, ssh
from sweep import NOTHING, containers, sweep


@pytest.fixture(scope="module")
def alarm_cloud(tmp_path_factory):
    with own_cloud(tmp_path_factory, "alarmcloud", {"LOCALCLOUD_METRICS_INTERVAL": "10"}) as started:
        yield started


def deploy(cloud: LocalCloud, state, name: str, *args: str) -> dict:
    run = playbook(cloud, "deploy", state, "-e", f"deployment_name={name}", *args)
    assert run.returncode == 0, run.output[-5000:]
    reservations = cloud.client("ec2").describe_instances(
        Filters=[{"Name": "tag:Deployment", "Values": [name]}, {"Name": "instance-state-name", "Values": ["running"]}]
    )["Reservations"]
    instance = reservations[0]["Instances"][0]
    return {"name": name, "state": state, "instance_id": instance["InstanceId"], "ip": instance["PublicIpAddress"]}


@pytest.fixture(scope="module")
def idle(alarm_cloud, tmp_path_factory):
    """Deployed first, so its idle minute runs while the other deployment is made."""
    name = f"i{uuid.uuid4().hex[:7]}"
    return deploy(
        alarm_cloud, tmp_path_factory.mktemp("idle"), name,
        "-e", "deployment_idle_minutes=1", "-e", "deployment_high_cpu_alarm_enabled=false",
    )  # fmt: skip


@pytest.fixture(scope="module")
def busy(alarm_cloud, idle, tmp_path_factory):
    name = f"b{uuid.uuid4().hex[:7]}"
    found = deploy(
        alarm_cloud, tmp_path_factory.mktemp("busy"), name,
        # A 30 % threshold: the busy loops share the machine's cores with the rest of the test suite.
        "-e", "deployment_idle_alarm_enabled=false", "-e", "deployment_high_cpu_minutes=1",
        "-e", "deployment_high_cpu_threshold=30",
        "-e", "deployment_alarm_email=ops@example.com",
    )  # fmt: skip
    # An SQS queue subscribed to the alarm topic receives the notifications for real.
    sqs, sns = alarm_cloud.client("sqs"), alarm_cloud.client("sns")
    queue = sqs.create_queue(QueueName=f"{name}-alarms")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":aaw-{name}-alarms"))
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return {**found, "queue": queue, "topic": topic}


def ssh_out(deployment: dict, command: str) -> str:
    result = ssh(deployment, command)
    return result.stdout.strip() if result.returncode == 0 else ""


def alarm_state(cloud: LocalCloud, alarm: str) -> str:
    return cloud.client("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"]


def outbox(cloud: LocalCloud) -> list[dict]:
    return json.loads(cloud.cli("outbox", "--json", "--limit", "1000").stdout)


def queued(cloud: LocalCloud, queue: str) -> list[dict]:
    """The SNS envelopes in the queue (received and deleted)."""
    sqs = cloud.client("sqs")
    found = []
    for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
        found.append(json.loads(message["Body"]))
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return found


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def test_a_new_alarm_starts_with_insufficient_data_and_keeps_its_state_when_changed(alarm_cloud):
    cloudwatch = alarm_cloud.client("cloudwatch")
    settings = {
        "AlarmName": f"t{uuid.uuid4().hex[:6]}", "Namespace": "Test", "MetricName": "Load", "Statistic": "Average",
        "Period": 60, "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 1.0,
    }  # fmt: skip
    cloudwatch.put_metric_alarm(**settings)
    assert alarm_state(alarm_cloud, settings["AlarmName"]) == "INSUFFICIENT_DATA"  # moto said OK
    cloudwatch.set_alarm_state(AlarmName=settings["AlarmName"], StateValue="ALARM", StateReason="testing")
    cloudwatch.put_metric_alarm(**{**settings, "Threshold": 2.0})
    assert alarm_state(alarm_cloud, settings["AlarmName"]) == "ALARM"  # AWS keeps the state of an updated alarm
    history = cloudwatch.describe_alarm_history(AlarmName=settings["AlarmName"])["AlarmHistoryItems"]
    assert [(h["HistoryItemType"], h["HistorySummary"]) for h in history] == [
        ("ConfigurationUpdate", f'Alarm "{settings["AlarmName"]}" updated'),
        ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM"),
        ("ConfigurationUpdate", f'Alarm "{settings["AlarmName"]}" created'),
    ]
    cloudwatch.delete_alarms(AlarmNames=[settings["AlarmName"]])


def test_percentile_alarms_are_evaluated_on_the_raw_datapoints(alarm_cloud):
    cloudwatch = alarm_cloud.client("cloudwatch")
    name, now = f"p{uuid.uuid4().hex[:6]}", datetime.datetime.now(datetime.UTC)
    minute = now.replace(second=0, microsecond=0)
    dimensions = [{"Name": "Host", "Value": name}]
    # Nine calm datapoints and one spike in each of the last three whole minutes: p90 is calm, p99 is not.
    data = [
        {"MetricName": "Latency", "Dimensions": dimensions, "Value": 500.0 if n == 9 else 10.0,
         "Timestamp": minute - datetime.timedelta(minutes=back) + datetime.timedelta(seconds=5 * n + 1)}
        for back in range(1, 4) for n in range(10)
    ]  # fmt: skip
    cloudwatch.put_metric_data(Namespace="Test", MetricData=data)
    for stat in ("p90", "p99"):
        cloudwatch.put_metric_alarm(
            AlarmName=f"{name}-{stat}", Namespace="Test", MetricName="Latency", Dimensions=dimensions,
            ExtendedStatistic=stat, Period=60, EvaluationPeriods=2, ComparisonOperator="GreaterThanThreshold",
            Threshold=100.0,
        )  # fmt: skip
    states = {a["name"]: a["state"] for a in json.loads(alarm_cloud.cli("alarms", "--json").stdout)}
    assert (states[f"{name}-p90"], states[f"{name}-p99"]) == ("OK", "ALARM")


def test_a_state_change_runs_ec2_actions_on_the_instance(alarm_cloud, busy):
    """SetAlarmState runs the new state's actions, as on AWS: here EC2's reboot really reboots (the
    instance's /run, a tmpfs, starts empty again; its kernel boot id is the host's, shared)."""
    marker = "/run/before-the-reboot"
    assert ssh_out(busy, f"sudo touch {marker} && echo made") == "made"
    cloudwatch, region = alarm_cloud.client("cloudwatch"), alarm_cloud.env["AWS_DEFAULT_REGION"]
    name = f"{busy['name']}-reboot-test"
    cloudwatch.put_metric_alarm(
        AlarmName=name, Namespace="AWS/EC2", MetricName="StatusCheckFailed", Statistic="Maximum", Period=60,
        EvaluationPeriods=1, ComparisonOperator="GreaterThanThreshold", Threshold=0.0,
        Dimensions=[{"Name": "InstanceId", "Value": busy["instance_id"]}],
        AlarmActions=[f"arn:aws:automate:{region}:ec2:reboot"],
    )  # fmt: skip
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing the reboot action")
    check = f"test -e {marker} && echo before || echo rebooted"
    wait_for(lambda: ssh_out(busy, check) == "rebooted", 120, "the instance to come back rebooted", 2)
    history = cloudwatch.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
    assert history[0]["HistorySummary"] == f"Successfully executed action arn:aws:automate:{region}:ec2:reboot"
    cloudwatch.delete_alarms(AlarmNames=[name])


def test_high_cpu_fires_the_alarm_which_notifies_and_goes_back_to_ok_when_the_load_stops(alarm_cloud, busy):
    name, alarm = busy["name"], f"aaw-{busy['name']}-high-cpu"
    load = playbook(
        alarm_cloud, "load", busy["state"], "-e", f"deployment_name={name}", "-e", "monitoring_load_seconds=300"
    )
    assert load.returncode == 0, load.output[-3000:]
    started = time.monotonic()
    wait_for(lambda: alarm_state(alarm_cloud, alarm) == "ALARM", 150, "the high-CPU alarm to fire", 1)
    fired = time.monotonic() - started
    mails = [m for m in outbox(alarm_cloud) if m["endpoint"] == "ops@example.com" and alarm in m["subject"]]
    assert mails[0]["subject"] == f'ALARM: "{alarm}" in US East (N. Virginia)'
    notification = json.loads(mails[0]["body"])
    assert (notification["OldStateValue"], notification["NewStateValue"]) == ("OK", "ALARM")
    assert notification["Trigger"]["Dimensions"] == [{"value": busy["instance_id"], "name": "InstanceId"}]
    assert notification["NewStateReason"].startswith("Threshold Crossed: 6 out of the last 6 datapoints")
    seen = []

    def delivered():
        seen.extend(queued(alarm_cloud, busy["queue"]))
        return next((e for e in seen if e["Subject"] == mails[0]["subject"]), None)

    envelope = wait_for(delivered, 30, "the ALARM notification in the SQS queue")
    assert envelope["TopicArn"] == busy["topic"] and json.loads(envelope["Message"])["NewStateValue"] == "ALARM"

    stop = playbook(
        alarm_cloud, "load", busy["state"], "-e", f"deployment_name={name}", "-e", "monitoring_load_seconds=0"
    )
    assert stop.returncode == 0 and "is stopped" in stop.output, stop.output[-3000:]
    wait_for(lambda: alarm_state(alarm_cloud, alarm) == "OK", 60, "the alarm back to OK", 1)
    latest = next(m for m in outbox(alarm_cloud) if alarm in m["subject"])
    assert latest["subject"] == f'OK: "{alarm}" in US East (N. Virginia)'
    print(f"high-CPU alarm: ALARM {fired:.0f} s after the load started")


def test_the_idle_alarm_terminates_the_idle_instance_and_monitor_shows_why(alarm_cloud, idle):
    alarm = f"aaw-{idle['name']}-idle-terminate"
    ec2 = alarm_cloud.client("ec2")

    def terminated():
        found = ec2.describe_instances(InstanceIds=[idle["instance_id"]])["Reservations"][0]["Instances"][0]
        return found["State"]["Name"] == "terminated"

    wait_for(terminated, 180, "the idle alarm to terminate the instance", 2)
    cloudwatch, region = alarm_cloud.client("cloudwatch"), alarm_cloud.env["AWS_DEFAULT_REGION"]
    history = cloudwatch.describe_alarm_history(AlarmName=alarm, ScanBy="TimestampAscending")["AlarmHistoryItems"]
    summaries = [h["HistorySummary"] for h in history]
    fired = next(i for i, summary in enumerate(summaries) if summary.endswith(" to ALARM"))
    assert summaries[fired + 1] == f"Successfully executed action arn:aws:automate:{region}:ec2:terminate"
    assert containers(alarm_cloud, idle["instance_id"]) == []
    assert not answers(f"http://{idle['ip']}/")

    reports = idle["state"] / "reports"
    run = playbook(
        alarm_cloud, "monitor", idle["state"], "-e", f"deployment_name={idle['name']}",
        "-e", f"monitoring_report_dir={reports}",
    )  # fmt: skip
    assert run.returncode == 0, run.output[-5000:]
    assert "-> ALARM: Threshold Crossed: 6 out of the last 6 datapoints" in " ".join(run.output.split())
    report = json.loads(next(reports.glob("*.json")).read_text())
    (row,) = [a for a in report["alarms"] if a["name"] == alarm]
    assert "ALARM" in [change["to"] for change in row["history"]]
    html = next(reports.glob("*.html")).read_text()
    assert 'id="alarm-history"' in html and f"<td>{alarm}</td>" in html and '<td class="ALARM">ALARM</td>' in html

    teardown = playbook(
        alarm_cloud, "teardown", idle["state"], "-e", f"deployment_name={idle['name']}", "-e", "confirm=true"
    )
    assert teardown.returncode == 0, teardown.output[-3000:]
    assert sweep(alarm_cloud, idle["name"]) == NOTHING


def test_an_auto_scaling_policy_runs_on_alarm_and_again_after_its_cooldown_while_in_alarm(alarm_cloud):
    ec2, autoscaling = alarm_cloud.client("ec2"), alarm_cloud.client("autoscaling")
    cloudwatch, ssm = alarm_cloud.client("cloudwatch"), alarm_cloud.client("ssm")
    name = f"g{uuid.uuid4().hex[:6]}"
    ami = ssm.get_parameter(Name="/aws/service/debian/release/12/latest/amd64")["Parameter"]["Value"]
    zones = ec2.describe_instance_type_offerings(
        LocationType="availability-zone", Filters=[{"Name": "instance-type", "Values": ["t3.nano"]}]
    )["InstanceTypeOfferings"]
    ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={"ImageId": ami, "InstanceType": "t3.nano"})
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateName": name}, MinSize=0, MaxSize=2,
        DesiredCapacity=0, AvailabilityZones=[zones[0]["Location"]],
    )  # fmt: skip
    try:
        autoscaling.put_scaling_policy(
            AutoScalingGroupName=name, PolicyName="out", PolicyType="SimpleScaling",
            AdjustmentType="ChangeInCapacity", ScalingAdjustment=1, Cooldown=20,
        )  # fmt: skip
        policy = autoscaling.describe_policies(AutoScalingGroupName=name)["ScalingPolicies"][0]["PolicyARN"]
        # No data, and missing data ignored: the alarm stays in the state it is set to.
        cloudwatch.put_metric_alarm(
            AlarmName=name, Namespace="Test", MetricName="Backlog", Dimensions=[{"Name": "Group", "Value": name}],
            Statistic="Average", Period=10, EvaluationPeriods=1, ComparisonOperator="GreaterThanThreshold",
            Threshold=1.0, TreatMissingData="ignore", AlarmActions=[policy],
        )  # fmt: skip
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing the scaling policy")

        def desired() -> int:
            return autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0][
                "DesiredCapacity"
            ]

        wait_for(lambda: desired() == 1, 30, "the policy to add an instance", 0.5)
        first = time.monotonic()
        wait_for(lambda: desired() == 2, 90, "the policy to add another after its cooldown", 1)
        assert time.monotonic() - first >= 15  # not before the 20 s cooldown (the test saw the first late)
        actions = cloudwatch.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
        assert [a["HistorySummary"] for a in actions] == [f"Successfully executed action {policy}"] * 2
    finally:
        cloudwatch.delete_alarms(AlarmNames=[name])
        autoscaling.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
        ec2.delete_launch_template(LaunchTemplateName=name)
