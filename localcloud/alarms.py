"""How CloudWatch decides a metric alarm's state: the rules the local cloud's evaluator applies.

Read from "Evaluating an alarm" in the CloudWatch user guide (periods, evaluation range, M out
of N, missing data, avoiding premature transitions); pure functions, no AWS calls:

- An alarm looks at its last EvaluationPeriods (N) complete periods of Period seconds; a period's
  value is the alarm's Statistic (or ExtendedStatistic, a percentile) of the datapoints in it.
- CloudWatch fetches more periods than N, the evaluation range. AWS does not publish how many;
  here it is N plus a fifth of N, at least 2.
- With at least N real datapoints in the range, the N most recent real ones decide: ALARM when
  DatapointsToAlarm (M, default N) of them breach the threshold, else OK. Missing data does not count.
- With none: TreatMissingData decides: missing -> INSUFFICIENT_DATA, breaching -> ALARM,
  notBreaching -> OK, ignore -> the state stays.
- With fewer than N: the missing ones are filled as TreatMissingData says (breaching or not
  breaching; missing and ignore leave them out) and M breaching ones make ALARM. Otherwise
  "missing" goes to ALARM early when the oldest breaching datapoint of the last N periods is at
  least M periods old and every later real one breaches too (AWS's rule against premature
  transitions; "ignore" keeps its state there), to OK when the real datapoints that do not breach
  leave no way to M, and keeps its state when the data cannot tell yet.

The reasons and reason data are written as AWS writes them ("Threshold Crossed: 1 datapoint
[85.2 (05/12/26 10:00:00)] was greater than the threshold (80.0).").
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
COMPARISONS = {
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
# StateReason and StateReasonData limits of SetAlarmState.
MAX_REASON = 1023
MAX_REASON_DATA = 4000


@dataclass(frozen=True)
class Datapoint:
    """A period's value (None: no data in it), its start and how many samples it holds."""

    start: datetime
    value: float | None
    samples: float = 0.0


@dataclass(frozen=True)
class Decision:
    """The state an evaluation arrives at, why, and the data behind it (JSON-ready)."""

    state: str
    reason: str
    reason_data: dict[str, Any] = field(default_factory=dict)


def evaluation_range(evaluation_periods: int) -> int:
    """How many periods an evaluation fetches: N and some earlier ones."""
    return evaluation_periods + max(2, evaluation_periods // 5)


def period_starts(now: datetime, period: int, count: int) -> list[datetime]:
    """The starts of the last `count` complete periods before `now`, oldest first."""
    epoch = int(now.timestamp())
    end = epoch - epoch % period
    return [datetime.fromtimestamp(end - (count - index) * period, UTC) for index in range(count)]


def percentile(values: list[float], rank: float) -> float | None:
    """The rank-th percentile of values (nearest rank, as CloudWatch's pNN of raw datapoints)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def statistic_of(alarm: dict[str, Any]) -> str:
    return alarm.get("ExtendedStatistic") or alarm.get("Statistic") or "Average"


def aws_time(moment: datetime) -> str:
    """2026-12-05T10:00:00.000+0000, as alarm reason data and notifications write times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _reason_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%d/%m/%y %H:%M:%S")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _listed(points: list[Datapoint]) -> str:
    shown = [f"{p.value!r} ({_reason_time(p.start)})" for p in reversed(points)]  # newest first, as AWS
    text = ", ".join(shown)
    while len(text) > 600 and len(shown) > 1:
        shown = shown[:-1]
        text = ", ".join([*shown, "..."])
    return text


def _crossed(alarm: dict[str, Any], state: str, counted: list[Datapoint], window: int) -> str:
    """AWS's 'Threshold Crossed: ...' sentence for the datapoints that decided."""
    _, words = COMPARISONS[alarm["ComparisonOperator"]]
    threshold = float(alarm["Threshold"])
    words = words if state == ALARM else f"not {words}"
    verb = "was" if len(counted) == 1 else "were"
    if window == 1:
        return f"Threshold Crossed: 1 datapoint [{_listed(counted)}] {verb} {words} the threshold ({threshold!r})."
    needed = alarm.get("DatapointsToAlarm") or alarm["EvaluationPeriods"]
    if state == OK:
        needed = alarm["EvaluationPeriods"] - needed + 1
    transition = "OK -> ALARM" if state == ALARM else "ALARM -> OK"
    reason = (
        f"Threshold Crossed: {len(counted)} out of the last {window} datapoints [{_listed(counted)}] {verb} "
        f"{words} the threshold ({threshold!r}) (minimum {_plural(needed, 'datapoint')} for {transition} transition)."
    )
    return reason[:MAX_REASON]


def _missing(alarm: dict[str, Any], state: str, treat: str) -> str:
    n = alarm["EvaluationPeriods"]
    if state == INSUFFICIENT_DATA:
        return f"Insufficient Data: {_plural(n, 'datapoint')} {'was' if n == 1 else 'were'} unknown."
    label = "Breaching" if treat == "breaching" else "NonBreaching"
    return (
        f"Threshold Crossed: no datapoints were received for {_plural(n, 'period')} and "
        f"{_plural(n, 'missing datapoint')} {'was' if n == 1 else 'were'} treated as [{label}]."
    )


def reason_data(alarm: dict[str, Any], points: list[Datapoint], now: datetime) -> dict[str, Any]:
    """StateReasonData as AWS writes it: the query, the threshold and the datapoints evaluated."""
    real = [p for p in points if p.value is not None]
    data: dict[str, Any] = {"version": "1.0", "queryDate": aws_time(now)}
    if points:
        data["startDate"] = aws_time(points[0].start)
    key = "extendedStatistic" if alarm.get("ExtendedStatistic") else "statistic"
    data[key] = statistic_of(alarm)
    if alarm.get("Unit"):
        data["unit"] = alarm["Unit"]
    data.update(
        period=alarm["Period"],
        recentDatapoints=[p.value for p in real],
        threshold=float(alarm["Threshold"]),
        evaluatedDatapoints=[
            {"timestamp": aws_time(p.start), "sampleCount": p.samples, "value": p.value} for p in reversed(real)
        ],
    )
    while len(str(data)) > MAX_REASON_DATA - 200 and data["evaluatedDatapoints"]:
        data["evaluatedDatapoints"].pop()
        data["recentDatapoints"] = data["recentDatapoints"][1:]
    return data


def decide(alarm: dict[str, Any], points: list[Datapoint], state: str, now: datetime) -> Decision | None:
    """The state the alarm should be in given `points` (its evaluation range, oldest first), or
    None when the rules keep the current `state`. `alarm` is a DescribeAlarms MetricAlarm."""
    n = int(alarm["EvaluationPeriods"])
    m = int(alarm.get("DatapointsToAlarm") or n)
    treat = alarm.get("TreatMissingData") or "missing"
    compare, _ = COMPARISONS[alarm["ComparisonOperator"]]
    threshold = float(alarm["Threshold"])

    def breaches(point: Datapoint) -> bool:
        return point.value is not None and compare(point.value, threshold)

    real = [p for p in points if p.value is not None]
    if not real:
        if treat == "ignore":
            return None
        target = {"missing": INSUFFICIENT_DATA, "breaching": ALARM, "notBreaching": OK}.get(treat, INSUFFICIENT_DATA)
        return Decision(target, _missing(alarm, target, treat), reason_data(alarm, points, now))
    if len(real) >= n:
        recent = real[-n:]
        breaching = [p for p in recent if breaches(p)]
        target = ALARM if len(breaching) >= m else OK
        counted = breaching if target == ALARM else [p for p in recent if not breaches(p)]
        return Decision(target, _crossed(alarm, target, counted, n), reason_data(alarm, recent, now))
    data = reason_data(alarm, points, now)
    gaps = n - len(real)
    breaching = [p for p in real if breaches(p)]
    calm = [p for p in real if not breaches(p)]
    if len(breaching) + (gaps if treat == "breaching" else 0) >= m:
        return Decision(ALARM, _crossed(alarm, ALARM, breaching, n), data)
    if treat in ("breaching", "notBreaching"):
        return Decision(OK, _crossed(alarm, OK, calm, n), data)
    window = points[-n:]
    oldest = next((index for index, p in enumerate(window) if breaches(p)), None)
    if oldest is not None and n - oldest >= m and all(breaches(p) for p in window[oldest:] if p.value is not None):
        if treat == "ignore":
            return None
        return Decision(ALARM, _crossed(alarm, ALARM, [p for p in window if breaches(p)], n), data)
    if len(calm) > n - m:
        return Decision(OK, _crossed(alarm, OK, calm, n), data)
    return None


def next_due(alarm: dict[str, Any], last: datetime | None, now: datetime) -> bool:
    """Whether the alarm is due: CloudWatch evaluates alarms of 10-30 s periods every 10 s and
    others every minute."""
    cadence = 10 if int(alarm["Period"]) < 60 else 60
    return last is None or now - last >= timedelta(seconds=cadence)
