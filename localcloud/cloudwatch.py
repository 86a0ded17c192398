"""CloudWatch alarms in the local cloud: what moto leaves out, put back as AWS does it.

- A new alarm starts in INSUFFICIENT_DATA ("Unchecked: Initial alarm creation"); moto starts it at OK.
- PutMetricAlarm on an existing alarm replaces its configuration and keeps its state, as on AWS
  (moto makes a new alarm, back at its first state).
- Every change of state (SetAlarmState, which the evaluator uses too) is recorded in the alarm's
  history and handed over, as plain data, to the action runner (alarm_actions.py).
- DescribeAlarmHistory answers (moto does not implement it): configuration updates, state updates
  and actions, newest first by default; the history outlives the alarm, as on AWS.
- GetMetricData computes percentile statistics (p90, p99.9) from the raw datapoints; moto
  answers nothing for them.
"""

from __future__ import annotations

import json
import queue
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .alarms import INSUFFICIENT_DATA, aws_time, percentile

PERCENTILE = re.compile(r"p(100|\d{1,2}(?:\.\d+)?)")
HISTORY_TYPES = ("ConfigurationUpdate", "StateUpdate", "Action")


@dataclass(frozen=True)
class Transition:
    """An alarm's change of state, with the alarm as DescribeAlarms shows it at that moment."""

    account: str
    region: str
    alarm: dict[str, Any]
    old_state: str
    new_state: str
    reason: str
    reason_data: str
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    repeat: bool = False  # not a change: Auto Scaling actions again while the alarm stays in ALARM


class AlarmHistory:
    """Every alarm's history items, per account and region, safe to use from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def add(self, account: str, region: str, name: str, kind: str, summary: str, data: dict[str, Any]) -> None:
        item = {
            "AlarmName": name,
            "AlarmType": "MetricAlarm",
            "Timestamp": datetime.now(UTC),
            "HistoryItemType": kind,
            "HistorySummary": summary,
            "HistoryData": json.dumps(data),
        }
        with self._lock:
            self._items.setdefault((account, region), []).append(item)

    def items(self, account: str, region: str, name: str = "", kind: str = "", start=None, end=None) -> list[dict]:
        """Oldest first."""
        with self._lock:
            found = list(self._items.get((account, region), []))
        return [
            item
            for item in found
            if (not name or item["AlarmName"] == name)
            and (not kind or item["HistoryItemType"] == kind)
            and (start is None or item["Timestamp"] >= start)
            and (end is None or item["Timestamp"] <= end)
        ]


HISTORY = AlarmHistory()
TRANSITIONS: queue.Queue[Transition] = queue.Queue()
# The (account, region) pairs that have had alarms: where the evaluator looks.
ALARM_REGIONS: set[tuple[str, str]] = set()


def alarm_as_described(alarm: Any) -> dict[str, Any]:
    """A moto alarm as DescribeAlarms' MetricAlarm (plain data another thread may keep)."""
    found = {
        "AlarmName": alarm.name,
        "AlarmArn": alarm.alarm_arn,
        "AlarmDescription": alarm.description or "",
        "AlarmConfigurationUpdatedTimestamp": aws_time(alarm.configuration_updated_timestamp),
        "ActionsEnabled": bool(alarm.actions_enabled),
        "OKActions": list(alarm.ok_actions or []),
        "AlarmActions": list(alarm.alarm_actions or []),
        "InsufficientDataActions": list(alarm.insufficient_data_actions or []),
        "MetricName": alarm.metric_name,
        "Namespace": alarm.namespace,
        "Dimensions": [{"Name": d.name, "Value": d.value} for d in alarm.dimensions],
        "Period": alarm.period,
        "EvaluationPeriods": alarm.evaluation_periods,
        "ComparisonOperator": alarm.comparison_operator,
        "Threshold": alarm.threshold,
        "TreatMissingData": alarm.treat_missing_data or "missing",
        "Unit": alarm.unit,
    }
    for key, value in (
        ("Statistic", alarm.statistic),
        ("ExtendedStatistic", alarm.extended_statistic),
        ("DatapointsToAlarm", alarm.datapoints_to_alarm),
    ):
        if value:
            found[key] = value
    return found


def install(history: AlarmHistory = HISTORY, transitions: queue.Queue = TRANSITIONS) -> None:
    _install_alarm_states(history, transitions)
    _install_alarm_history(history)
    _install_percentiles()


def _install_alarm_states(history: AlarmHistory, transitions: queue.Queue) -> None:
    from moto.cloudwatch.models import CloudWatchBackend

    put_metric_alarm = CloudWatchBackend.put_metric_alarm
    set_alarm_state = CloudWatchBackend.set_alarm_state

    def _put_metric_alarm(self: Any, *args: Any, **kwargs: Any):
        name = kwargs.get("name") or args[0]
        previous = self.alarms.get(name)
        alarm = put_metric_alarm(self, *args, **kwargs)
        if previous is not None:
            alarm.state_value, alarm.state_reason = previous.state_value, previous.state_reason
            alarm.state_reason_data = previous.state_reason_data
            alarm.state_updated_timestamp = previous.state_updated_timestamp
        else:
            alarm.state_value = INSUFFICIENT_DATA
        if alarm.rule is None:
            ALARM_REGIONS.add((self.account_id, self.region_name))
        change = "updated" if previous is not None else "created"
        history.add(
            self.account_id, self.region_name, name, "ConfigurationUpdate", f'Alarm "{name}" {change}',
            {"version": "1.0", "type": "Update" if previous is not None else "Create"},
        )  # fmt: skip
        return alarm

    def _set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        before = (alarm.state_value, alarm.state_reason) if alarm is not None else None
        set_alarm_state(self, alarm_name, reason, reason_data, state_value)
        if before is None or before[0] == state_value:
            return
        new_state: dict[str, Any] = {"stateValue": state_value, "stateReason": reason}
        if reason_data:
            new_state["stateReasonData"] = json.loads(reason_data)
        history.add(
            self.account_id, self.region_name, alarm_name, "StateUpdate",
            f"Alarm updated from {before[0]} to {state_value}",
            {"version": "1.0", "oldState": {"stateValue": before[0], "stateReason": before[1]}, "newState": new_state},
        )  # fmt: skip
        transitions.put(
            Transition(
                self.account_id, self.region_name, alarm_as_described(alarm), before[0], state_value,
                reason, reason_data or "{}",
            )
        )  # fmt: skip

    CloudWatchBackend.put_metric_alarm = _put_metric_alarm
    CloudWatchBackend.set_alarm_state = _set_alarm_state


def _when(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _install_alarm_history(history: AlarmHistory) -> None:
    from moto.cloudwatch.exceptions import InvalidParameterValue
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.responses import ActionResult

    def describe_alarm_history(self: Any) -> ActionResult:
        kind = self._get_param("HistoryItemType") or ""
        if kind and kind not in (*HISTORY_TYPES, "AlarmContributorStateUpdate", "AlarmContributorAction"):
            raise InvalidParameterValue(f"The value {kind} for parameter HistoryItemType is not supported.")
        items = history.items(
            self.current_account, self.region, self._get_param("AlarmName") or "", kind,
            _when(self._get_param("StartDate")), _when(self._get_param("EndDate")),
        )  # fmt: skip
        types = self._get_param("AlarmTypes") or []
        if types:
            items = [item for item in items if item["AlarmType"] in types]
        if (self._get_param("ScanBy") or "TimestampDescending") == "TimestampDescending":
            items.reverse()
        start = int(self._get_param("NextToken") or 0)
        size = int(self._get_param("MaxRecords") or 100)
        result: dict[str, Any] = {"AlarmHistoryItems": items[start : start + size]}
        if start + size < len(items):
            result["NextToken"] = str(start + size)
        return ActionResult(result)

    CloudWatchResponse.describe_alarm_history = describe_alarm_history


def _install_percentiles() -> None:
    from moto.cloudwatch.models import Statistics

    get_statistics_for_type = Statistics.get_statistics_for_type

    def _get_statistics_for_type(self: Any, stat: str):
        match = PERCENTILE.fullmatch(stat or "")
        if match:
            return percentile(self.metric_single_values_list, float(match[1]))
        return get_statistics_for_type(self, stat)

    Statistics.get_statistics_for_type = _get_statistics_for_type
