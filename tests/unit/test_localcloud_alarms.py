"""The local cloud's alarm rules (localcloud/alarms.py): AWS's documented evaluation, case by case.

Datapoints are written as in the CloudWatch user guide's missing-data table, oldest first:
X breaches the threshold, 0 does not, - is a period without data.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from localcloud import alarms
from localcloud.alarms import ALARM, INSUFFICIENT_DATA, OK, Datapoint, decide

NOW = datetime(2026, 12, 5, 10, 0, 5, tzinfo=UTC)


def alarm(n=3, m=None, treat="missing", comparison="GreaterThanThreshold", threshold=1.0, **extra):
    found = {
        "AlarmName": "a", "Period": 60, "EvaluationPeriods": n, "ComparisonOperator": comparison,
        "Threshold": threshold, "Statistic": "Average", "TreatMissingData": treat, **extra,
    }  # fmt: skip
    if m is not None:
        found["DatapointsToAlarm"] = m
    return found


def series(text: str, breach=2.0, calm=0.0) -> list[Datapoint]:
    marks = text.split()
    start = NOW.replace(second=0) - timedelta(minutes=len(marks))
    values = {"X": breach, "0": calm, "-": None}
    return [
        Datapoint(start + timedelta(minutes=i), values[mark], 1.0 if mark != "-" else 0.0)
        for i, mark in enumerate(marks)
    ]


def state(text, current=OK, **settings):
    decision = decide(alarm(**settings), series(text), current, NOW)
    return "retain" if decision is None else decision.state


# The CloudWatch user guide's table for 3 of 3, with 5 datapoints in the evaluation range.
@pytest.mark.parametrize(
    ("points", "missing", "ignore", "breaching", "not_breaching"),
    [
        ("0 - X - X", OK, OK, OK, OK),
        ("- - - - 0", OK, OK, OK, OK),
        ("- - - - -", INSUFFICIENT_DATA, "retain", ALARM, OK),
        ("0 X X - X", ALARM, ALARM, ALARM, ALARM),
        ("- - X - -", ALARM, "retain", ALARM, OK),
    ],
)
def test_the_user_guide_s_missing_data_table(points, missing, ignore, breaching, not_breaching):
    got = [state(points, treat=t) for t in ("missing", "ignore", "breaching", "notBreaching")]
    assert got == [missing, ignore, breaching, not_breaching]


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ("0 X 0 0 X", OK),  # 1 of the last 3 breaches
        ("0 X 0 X X", ALARM),  # 2 of the last 3
        ("X X 0 0 0", OK),  # the breaching ones are older than the last 3
        ("X - - 0 X", ALARM),  # the most recent 3 real ones: X 0 X
    ],
)
def test_m_out_of_n_counts_breaching_datapoints_among_the_last_n_real_ones(points, expected):
    assert state(points, m=2) == expected


@pytest.mark.parametrize(
    ("comparison", "threshold", "value", "breaches"),
    [
        ("GreaterThanThreshold", 80.0, 80.0, False),
        ("GreaterThanThreshold", 80.0, 80.1, True),
        ("GreaterThanOrEqualToThreshold", 80.0, 80.0, True),
        ("LessThanThreshold", 2.0, 2.0, False),
        ("LessThanThreshold", 2.0, 1.9, True),
        ("LessThanOrEqualToThreshold", 2.0, 2.0, True),
        ("LessThanOrEqualToThreshold", 2.0, 2.1, False),
    ],
)
def test_each_comparison_operator(comparison, threshold, value, breaches):
    points = [Datapoint(NOW - timedelta(minutes=2), value, 1.0)]
    decision = decide(alarm(n=1, comparison=comparison, threshold=threshold), points, OK, NOW)
    assert decision.state == (ALARM if breaches else OK)


def test_a_new_alarm_without_data_stays_insufficient_until_it_can_tell():
    assert state("- - - - -", current=INSUFFICIENT_DATA) == INSUFFICIENT_DATA
    # One breaching datapoint of the 3 needed, just now: too early to call it ALARM, nothing says OK.
    assert state("- - - - X", current=INSUFFICIENT_DATA) == "retain"
    assert state("- - - X X", current=INSUFFICIENT_DATA) == "retain"
    assert state("- - X X X", current=INSUFFICIENT_DATA) == ALARM


def test_the_reason_names_the_datapoints_as_aws_writes_it():
    point = Datapoint(datetime(2026, 12, 5, 9, 59, tzinfo=UTC), 85.5, 3)
    decision = decide(alarm(n=1, threshold=80.0), [point], OK, NOW)
    assert decision.reason == (
        "Threshold Crossed: 1 datapoint [85.5 (05/12/26 09:59:00)] was greater than the threshold (80.0)."
    )
    assert decision.reason_data["recentDatapoints"] == [85.5]
    assert decision.reason_data["evaluatedDatapoints"] == [
        {"timestamp": "2026-12-05T09:59:00.000+0000", "sampleCount": 3, "value": 85.5}
    ]
    assert decision.reason_data["statistic"] == "Average" and decision.reason_data["period"] == 60


def test_m_of_n_reasons_say_how_many_and_the_minimum():
    decision = decide(alarm(n=3, m=2), series("0 X 0 0 X"), ALARM, NOW)
    assert decision.state == OK
    assert decision.reason.startswith("Threshold Crossed: 2 out of the last 3 datapoints [0.0 (")
    assert decision.reason.endswith(
        "were not greater than the threshold (1.0) (minimum 2 datapoints for ALARM -> OK transition)."
    )
    decision = decide(alarm(n=3, m=2), series("0 X 0 X X"), OK, NOW)
    assert "(minimum 2 datapoints for OK -> ALARM transition)" in decision.reason


@pytest.mark.parametrize(
    ("treat", "reason"),
    [
        ("missing", "Insufficient Data: 3 datapoints were unknown."),
        ("breaching", "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were "
                      "treated as [Breaching]."),
        ("notBreaching", "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were "
                         "treated as [NonBreaching]."),
    ],
)  # fmt: skip
def test_missing_data_reasons(treat, reason):
    assert decide(alarm(treat=treat), series("- - - - -"), OK, NOW).reason == reason


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert alarms.percentile(values, 90) == 90.0
    assert alarms.percentile(values, 99.5) == 100.0
    assert alarms.percentile([5.0], 50) == 5.0
    assert alarms.percentile([], 50) is None
    decision = decide(alarm(n=1, ExtendedStatistic="p90"), series("X"), OK, NOW)
    assert decision.reason_data["extendedStatistic"] == "p90" and "statistic" not in decision.reason_data


def test_the_evaluation_range_and_its_periods():
    assert alarms.evaluation_range(1) == 3 and alarms.evaluation_range(60) == 72
    starts = alarms.period_starts(datetime(2026, 12, 5, 10, 0, 25, tzinfo=UTC), 10, 3)
    assert [s.strftime("%H:%M:%S") for s in starts] == ["09:59:50", "10:00:00", "10:00:10"]


def test_alarms_are_due_every_10_s_below_a_minute_and_every_minute_from_one():
    last = NOW - timedelta(seconds=30)
    assert alarms.next_due({"Period": 10}, last, NOW) and not alarms.next_due({"Period": 300}, last, NOW)
    assert alarms.next_due({"Period": 300}, None, NOW)
