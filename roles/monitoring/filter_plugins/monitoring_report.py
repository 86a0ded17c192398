# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the monitoring role's report is made of, computed in Python rather than in Jinja.

- ``found.alarms | monitoring_alarm_rows``: the deployment's alarms (deployment_info's ``alarms``)
  as the report shows them, by name, each with its latest state changes (``history``).
- ``calls | monitoring_api_calls``: the CloudWatch API calls of the run, in all and by operation,
  from each module's own count (``calls`` lists their ``api_calls_by_operation`` dicts).
"""

from __future__ import annotations

# The report's name of each DescribeAlarms key it shows.
ALARM_FIELDS = {
    "name": "AlarmName",
    "arn": "AlarmArn",
    "state": "StateValue",
    "reason": "StateReason",
    "description": "AlarmDescription",
    "metric": "MetricName",
    "statistic": "Statistic",
    "comparison": "ComparisonOperator",
    "threshold": "Threshold",
    "period": "Period",
    "evaluation_periods": "EvaluationPeriods",
    "alarm_actions": "AlarmActions",
    "ok_actions": "OKActions",
    "history": "history",
}
# The CloudWatch operations the report counts (deployment_info also reads EC2, S3 and STS).
CLOUDWATCH_OPERATIONS = (
    "GetMetricData", "PutMetricData", "DescribeAlarms", "DescribeAlarmHistory", "GetDashboard", "PutDashboard",
)  # fmt: skip


def monitoring_alarm_rows(alarms: dict) -> list[dict]:
    """deployment_info's alarms ({name: DescribeAlarms keys}) as the report's rows, by name."""
    rows = []
    for name in sorted(alarms or {}):
        alarm = {"AlarmName": name, **alarms[name]}
        row = {field: alarm.get(key) for field, key in ALARM_FIELDS.items()}
        row["history"] = row["history"] or []
        rows.append(row)
    return rows


def monitoring_api_calls(calls: list) -> dict:
    """The CloudWatch calls of the run over the modules' counts (each an api_calls_by_operation):
    {'total': n, 'by_operation': {operation: n}} with the operations that were called, in a fixed order."""
    counted = dict.fromkeys(CLOUDWATCH_OPERATIONS, 0)
    for by_operation in calls:
        for operation, count in (by_operation or {}).items():
            if operation in counted:
                counted[operation] += int(count)
    return {"total": sum(counted.values()), "by_operation": {op: n for op, n in counted.items() if n}}


class FilterModule:
    def filters(self):
        return {
            "monitoring_alarm_rows": monitoring_alarm_rows,
            "monitoring_api_calls": monitoring_api_calls,
        }
