"""Benchmark: how soon an alarm acts on the local cloud, from the threshold crossed to the action done.

    .venv/bin/python tests/bench/bench_alarms.py [--runs 3]

Starts a private local cloud whose instances send EC2 metrics every 10 s, deploys one web server
whose high-CPU alarm looks at 10-second periods for one minute and reboots the instance, then,
per run, puts CPU load on it (playbooks/load.yml) and reads the alarm's history: the time from
the end of the period whose datapoint completed the crossing (6 of 6 above 80 %) to the reboot
done, and from the load's start to the alarm's firing (one minute of load by design, plus the
start of the load). The reboot ends the load; the next run waits for the alarm to be OK again.
Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
import uuid
from pathlib import Path

from benchlib import private_cloud, spread
from conftest import LocalCloud, wait_for
from playbooks import playbook


def history(cloud: LocalCloud, alarm: str, kind: str) -> list[dict]:
    items = cloud.client("cloudwatch").describe_alarm_history(AlarmName=alarm, HistoryItemType=kind)
    return items["AlarmHistoryItems"]  # newest first


def one_run(cloud: LocalCloud, state: Path, name: str, alarm: str) -> tuple[float, float]:
    actions_before = len(history(cloud, alarm, "Action"))
    load = playbook(cloud, "load", state, "-e", f"deployment_name={name}", "-e", "monitoring_load_seconds=300")
    assert load.returncode == 0, load.output[-3000:]
    started = datetime.datetime.now(datetime.UTC)
    wait_for(lambda: len(history(cloud, alarm, "Action")) > actions_before + 1, 240, "the alarm's actions", 1)
    fired = next(h for h in history(cloud, alarm, "StateUpdate") if h["HistorySummary"].endswith("to ALARM"))
    data = json.loads(fired["HistoryData"])["newState"]["stateReasonData"]
    newest = datetime.datetime.fromisoformat(data["evaluatedDatapoints"][0]["timestamp"].replace("+0000", "+00:00"))
    crossed = newest + datetime.timedelta(seconds=data["period"])
    reboot = next(h for h in history(cloud, alarm, "Action") if h["HistorySummary"].endswith("ec2:reboot"))
    return (reboot["Timestamp"] - crossed).total_seconds(), (fired["Timestamp"] - started).total_seconds()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with private_cloud("bench-alarms-", {"LOCALCLOUD_METRICS_INTERVAL": "10"}) as (cloud, home):
        name, state = f"a{uuid.uuid4().hex[:6]}", home / "state"
        alarm = f"{name}-high-cpu"
        deploy = playbook(
            cloud, "deploy", state, "-e", f"deployment_name={name}", "-e", "deployment_high_cpu_minutes=1",
            "-e", '{"deployment_high_cpu_actions": ["notify", "reboot"]}',
        )  # fmt: skip
        assert deploy.returncode == 0, deploy.output[-3000:]
        to_action, to_fire = [], []
        for _ in range(args.runs):
            wait_for(
                lambda: cloud.client("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0][
                    "StateValue"] == "OK", 180, "the alarm to be OK", 2,
            )  # fmt: skip
            time.sleep(5)
            action, fire = one_run(cloud, state, name, alarm)
            to_action.append(action)
            to_fire.append(fire)
            print(f"    run: threshold crossed -> reboot done {action:.1f} s; load started -> ALARM {fire:.1f} s")
        for label, values in (("threshold crossed -> action done", to_action), ("load -> alarm fired", to_fire)):
            print(f"{label:<40} {spread(values)} s (min / median / max)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
