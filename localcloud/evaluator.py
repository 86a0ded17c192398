"""The local cloud's alarm evaluator: a thread of the daemon, like the metrics publisher.

Every LOCALCLOUD_ALARM_INTERVAL seconds (10, aligned to the clock, 2 s after the metrics are
published) it evaluates the alarms that are due, as CloudWatch does: alarms of 10-30 s periods
every 10 s, others every minute. Everything goes through the local cloud's own API, as another
client would: DescribeAlarms, GetMetricData for the alarm's evaluation range (its statistic and
the sample counts), the rules of alarms.py, and SetAlarmState when the state changes (which
hands the transition to the action runner). While an alarm stays in ALARM, its Auto Scaling
actions are handed over again. `localcloud alarms` evaluates every alarm at once.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from . import config
from .alarm_actions import repeats
from .alarms import ALARM, Datapoint, decide, evaluation_range, next_due, period_starts, statistic_of
from .cloudwatch import ALARM_REGIONS, Transition

OFFSET = 2.0  # seconds after the interval's start: the metrics of the period just ended are in


class AlarmEvaluator:
    def __init__(self, settings: config.Settings, transitions: queue.Queue, log: Callable[[str], None]):
        self.settings = settings
        self.transitions = transitions
        self.log = log
        self.interval = settings.alarm_interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last: dict[tuple[str, str], datetime] = {}
        self._clients: dict[str, Any] = {}

    def start(self) -> None:
        threading.Thread(target=self._loop, name="alarms", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval - (time.time() - OFFSET) % self.interval):
            try:
                self.evaluate_all()
            except Exception as exc:  # noqa: BLE001 - a failed round must not stop the next
                self.log(f"alarms: evaluation failed: {exc}")

    def _cloudwatch(self, region: str) -> Any:
        if region not in self._clients:
            self._clients[region] = config.client(self.settings, "cloudwatch", region)
        return self._clients[region]

    def evaluate_all(self, force: bool = False) -> None:
        """Evaluates the alarms that are due (every one with `force`)."""
        with self._lock:
            for account, region in sorted(ALARM_REGIONS):
                cloudwatch = self._cloudwatch(region)
                now = datetime.now(UTC)
                for alarm in self._alarms(cloudwatch):
                    key = (region, alarm["AlarmName"])
                    if force or next_due(alarm, self._last.get(key), now):
                        self._last[key] = now
                        self.evaluate(cloudwatch, account, region, alarm, now)

    def states(self) -> list[dict[str, Any]]:
        """Every alarm's state, region by region."""
        return [
            {"region": region, "name": a["AlarmName"], "state": a["StateValue"], "reason": a["StateReason"],
             "updated": a["StateUpdatedTimestamp"].isoformat()}
            for region in sorted({region for _, region in ALARM_REGIONS})
            for a in self._alarms(self._cloudwatch(region))
        ]  # fmt: skip

    @staticmethod
    def _alarms(cloudwatch: Any) -> list[dict[str, Any]]:
        pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
        return [alarm for page in pages for alarm in page.get("MetricAlarms", [])]

    def datapoints(self, cloudwatch: Any, alarm: dict[str, Any], now: datetime) -> list[Datapoint]:
        """The alarm's evaluation range, one Datapoint a period, oldest first."""
        period = int(alarm["Period"])
        starts = period_starts(now, period, evaluation_range(int(alarm["EvaluationPeriods"])))
        metric = {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"]}
        if alarm.get("Dimensions"):
            metric["Dimensions"] = alarm["Dimensions"]

        def query(name: str, stat: str) -> dict[str, Any]:
            found = {"Id": name, "MetricStat": {"Metric": metric, "Period": period, "Stat": stat}}
            if alarm.get("Unit"):
                found["MetricStat"]["Unit"] = alarm["Unit"]
            return found

        results = cloudwatch.get_metric_data(
            MetricDataQueries=[query("value", statistic_of(alarm)), query("samples", "SampleCount")],
            StartTime=starts[0],
            EndTime=starts[-1] + timedelta(seconds=period),
        )["MetricDataResults"]
        by_id = {
            r["Id"]: {int(t.timestamp()): v for t, v in zip(r["Timestamps"], r["Values"], strict=True)} for r in results
        }
        values, samples = by_id["value"], by_id["samples"]
        return [Datapoint(s, values.get(int(s.timestamp())), samples.get(int(s.timestamp()), 0)) for s in starts]

    def evaluate(self, cloudwatch: Any, account: str, region: str, alarm: dict[str, Any], now: datetime) -> None:
        if not alarm.get("MetricName") or alarm["ComparisonOperator"].endswith("UpperThreshold"):
            return  # metric math and anomaly detection alarms: not evaluated here
        state = alarm["StateValue"]
        decision = decide(alarm, self.datapoints(cloudwatch, alarm, now), state, now)
        if decision is not None and decision.state != state:
            cloudwatch.set_alarm_state(
                AlarmName=alarm["AlarmName"],
                StateValue=decision.state,
                StateReason=decision.reason,
                StateReasonData=json.dumps(decision.reason_data),
            )
        elif repeats(state, alarm) and (decision is None or decision.state == ALARM):
            described = {k: v for k, v in alarm.items() if k not in ("StateUpdatedTimestamp",)}
            self.transitions.put(
                Transition(account, region, described, state, state, alarm["StateReason"], "{}", repeat=True)
            )
