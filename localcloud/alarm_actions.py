"""The actions of alarms that change state, carried out through the local cloud's own API.

A thread takes each transition cloudwatch.py hands over (the evaluator's and any SetAlarmState
call) and runs the actions of the new state, as CloudWatch does once per transition:
- arn:aws:automate:<region>:ec2:stop|terminate|reboot|recover on the alarm's InstanceId
  dimension: StopInstances, TerminateInstances, RebootInstances (recover reboots too: on AWS it
  moves the instance to new hardware, keeping its ID and addresses);
- an SNS topic: Publish with the notification AWS sends (subject 'ALARM: "<name>" in <region>',
  the alarm's JSON as the message);
- an Auto Scaling policy: ExecutePolicy (a step policy gets the breaching value and the threshold,
  as CloudWatch gives them), and again at each evaluation while the alarm stays in
  ALARM, honouring the policy's (or the group's) cooldown.
Each action, done or failed, is a line of the alarm's history (DescribeAlarmHistory).
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from . import config
from .alarms import ALARM, aws_time
from .cloudwatch import AlarmHistory, Transition

EC2_ACTION = re.compile(r"arn:aws[a-z-]*:automate:(?P<region>[a-z0-9-]+):ec2:(?P<verb>stop|terminate|reboot|recover)")
POLICY_ACTION = re.compile(
    r"arn:aws[a-z-]*:autoscaling:(?P<region>[a-z0-9-]+):\d+:scalingPolicy:[^:]+:"
    r"autoScalingGroupName/(?P<group>[^:]+):policyName/(?P<policy>.+)"
)
SNS_ACTION = re.compile(r"arn:aws[a-z-]*:sns:(?P<region>[a-z0-9-]+):\d+:.+")
EC2_CALLS = {"stop": "stop_instances", "terminate": "terminate_instances", "reboot": "reboot_instances"}
DEFAULT_COOLDOWN = 300


def region_description(region: str) -> str:
    """'US East (N. Virginia)' for us-east-1, as alarm notifications name regions."""
    import botocore.session

    for partition in botocore.session.get_session().get_data("endpoints")["partitions"]:
        if region in partition.get("regions", {}):
            return partition["regions"][region].get("description", region)
    return region


def notification(transition: Transition) -> tuple[str, str]:
    """The subject and message of the SNS notification AWS publishes for a transition."""
    alarm = transition.alarm
    region = region_description(transition.region)
    extended = alarm.get("ExtendedStatistic")
    trigger = {
        "MetricName": alarm["MetricName"],
        "Namespace": alarm["Namespace"],
        "StatisticType": "ExtendedStatistic" if extended else "Statistic",
        "Statistic": extended or str(alarm.get("Statistic", "")).upper(),
        "Unit": alarm.get("Unit"),
        "Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in alarm["Dimensions"]],
        "Period": alarm["Period"],
        "EvaluationPeriods": alarm["EvaluationPeriods"],
        "ComparisonOperator": alarm["ComparisonOperator"],
        "Threshold": float(alarm["Threshold"]),
        "TreatMissingData": alarm.get("TreatMissingData", "missing"),
        "EvaluateLowSampleCountPercentile": "",
    }
    if alarm.get("DatapointsToAlarm"):
        trigger["DatapointsToAlarm"] = alarm["DatapointsToAlarm"]
    message = {
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription") or None,
        "AWSAccountId": transition.account,
        "AlarmConfigurationUpdatedTimestamp": alarm.get("AlarmConfigurationUpdatedTimestamp"),
        "NewStateValue": transition.new_state,
        "NewStateReason": transition.reason,
        "StateChangeTime": aws_time(transition.time),
        "Region": region,
        "AlarmArn": alarm["AlarmArn"],
        "OldStateValue": transition.old_state,
        "OKActions": alarm.get("OKActions", []),
        "AlarmActions": alarm.get("AlarmActions", []),
        "InsufficientDataActions": alarm.get("InsufficientDataActions", []),
        "Trigger": trigger,
    }
    subject = f'{transition.new_state}: "{alarm["AlarmName"]}" in {region}'
    return subject[:100], json.dumps(message)


def actions_of(transition: Transition) -> list[str]:
    alarm = transition.alarm
    if not alarm.get("ActionsEnabled", True):
        return []
    key = {"ALARM": "AlarmActions", "OK": "OKActions"}.get(transition.new_state, "InsufficientDataActions")
    actions = list(alarm.get(key, []))
    if transition.repeat:
        actions = [a for a in actions if POLICY_ACTION.match(a)]
    return actions


class ActionRunner:
    def __init__(self, settings: config.Settings, history: AlarmHistory, transitions: queue.Queue, log: Callable):
        self.settings = settings
        self.history = history
        self.transitions = transitions
        self.log = log
        self._clients: dict[tuple[str, str], Any] = {}
        self._policy_runs: dict[str, float] = {}
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._loop, name="alarm-actions", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                transition = self.transitions.get(timeout=1)
            except queue.Empty:
                continue
            try:
                for action in actions_of(transition):
                    self.run(transition, action)
            except Exception as exc:  # noqa: BLE001 - one bad action must not stop the others
                self.log(f"alarms: the actions of {transition.alarm.get('AlarmName')} failed: {exc}")
            finally:
                self.transitions.task_done()

    def _client(self, service: str, region: str) -> Any:
        if (service, region) not in self._clients:
            self._clients[(service, region)] = config.client(self.settings, service, region)
        return self._clients[(service, region)]

    def run(self, transition: Transition, action: str) -> None:
        """Carries out one action and writes the outcome in the alarm's history."""
        name = transition.alarm["AlarmName"]
        try:
            done = self._execute(transition, action)
        except Exception as exc:  # noqa: BLE001 - AWS records a failed action and goes on
            self._record(transition, action, "Failed", f"Failed to execute action {action}. Received error: {exc}")
            self.log(f"alarms: {name}: {action} failed: {exc}")
            return
        if done:
            self._record(transition, action, "Succeeded", f"Successfully executed action {action}")
            self.log(f"alarms: {name} {transition.old_state} -> {transition.new_state}: {done}")

    def _record(self, transition: Transition, action: str, outcome: str, summary: str) -> None:
        data = {
            "actionState": outcome,
            "stateUpdateTimestamp": int(transition.time.timestamp() * 1000),
            "notificationResource": action,
        }
        self.history.add(transition.account, transition.region, transition.alarm["AlarmName"], "Action", summary, data)

    def _execute(self, transition: Transition, action: str) -> str:
        """What was done ('' when nothing was due), or raises with AWS's refusal."""
        ec2 = EC2_ACTION.match(action)
        if ec2:
            dimensions = {d["Name"]: d["Value"] for d in transition.alarm.get("Dimensions", [])}
            instance = dimensions.get("InstanceId")
            if not instance:
                raise ValueError("EC2 actions need an alarm on a metric with an InstanceId dimension")
            verb = ec2["verb"]
            getattr(self._client("ec2", ec2["region"]), EC2_CALLS.get(verb, "reboot_instances"))(InstanceIds=[instance])
            return f"{verb} {instance}"
        policy = POLICY_ACTION.match(action)
        if policy:
            return self._scale(action, policy["region"], policy["group"], policy["policy"], transition)
        topic = SNS_ACTION.match(action)
        if topic:
            subject, message = notification(transition)
            self._client("sns", topic["region"]).publish(TopicArn=action, Subject=subject, Message=message)
            return f"notified {action.rsplit(':', 1)[-1]}"
        raise ValueError("the local cloud runs EC2, SNS and Auto Scaling actions only")

    def _scale(self, action: str, region: str, group: str, policy: str, transition: Transition) -> str:
        autoscaling = self._client("autoscaling", region)
        found = autoscaling.describe_policies(AutoScalingGroupName=group, PolicyNames=[policy])["ScalingPolicies"]
        if transition.repeat:
            cooldown = (found[0].get("Cooldown") if found else None) or self._group_cooldown(autoscaling, group)
            if time.monotonic() - self._policy_runs.get(action, float("-inf")) < cooldown:
                return ""
        extra = {}
        if found and found[0].get("PolicyType") == "StepScaling":
            # CloudWatch hands a step policy the breaching value and the alarm's threshold.
            threshold = float(transition.alarm["Threshold"])
            extra = {"MetricValue": breaching_value(transition), "BreachThreshold": threshold}
        autoscaling.execute_policy(AutoScalingGroupName=group, PolicyName=policy, HonorCooldown=True, **extra)
        self._policy_runs[action] = time.monotonic()
        return f"executed policy {policy} of {group}"

    @staticmethod
    def _group_cooldown(autoscaling: Any, group: str) -> int:
        groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
        return int(groups[0].get("DefaultCooldown", DEFAULT_COOLDOWN)) if groups else DEFAULT_COOLDOWN


def breaching_value(transition: Transition) -> float:
    """The metric value of the datapoint that put the alarm where it is (the newest in its reason data)."""
    try:
        points = json.loads(transition.reason_data or "{}").get("recentDatapoints") or []
    except ValueError:
        points = []
    return float(points[-1]) if points else float(transition.alarm["Threshold"])


def repeats(state: str, alarm: dict[str, Any]) -> bool:
    """Whether an alarm that stays in `state` runs actions again (Auto Scaling ones, in ALARM)."""
    return (
        state == ALARM
        and alarm.get("ActionsEnabled", True)
        and any(POLICY_ACTION.match(a) for a in alarm.get("AlarmActions", []))
    )
