# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The CloudWatch figures as the report shows them: the data comes from the cloudwatch_metrics_info
module, the words, the table and the chart geometry from here (tested as functions).

- ``metrics | monitoring_metric_notes(window, instances)``: the metrics, each series without data
  with a ``note`` giving its likely reason (``instances``: the module's, or deployment_info's list).
- ``metrics | monitoring_metrics_table``: the plain-text table of the console summary.
- ``value | monitoring_number(unit)``: a value as the HTML report writes it (1.5 KB, 12.5%, 3).
- ``metrics | monitoring_charts(window)``: one chart per resource and metric, its series with their
  SVG coordinates, grid lines, axis labels and legend.
"""

from __future__ import annotations

import datetime

from ansible.module_utils.common.text.formatters import bytes_to_human

STORAGE_NOTE = (
    "S3 storage metrics are published once a day (timestamped 00:00 UTC, often a day late); a bucket"
    " created in the last day or two has none yet, and an empty bucket may have none. BucketSizeBytes"
    " is read for StandardStorage only."
)
EC2_NOTE = (
    "No datapoints in the window. EC2 basic monitoring publishes every 5 minutes (detailed monitoring every"
    " minute), so a new or just started instance has none yet, and a period under 300 seconds leaves gaps"
    " without detailed monitoring."
)


def _time(text: str) -> datetime.datetime:
    """A UTC time as the modules write it: 2026-12-06T02:48:05Z or 2026-12-06T02:48:05+00:00."""
    parsed = datetime.datetime.fromisoformat(text)  # Python 3.11 and later read the Z too
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _by_id(instances) -> dict:
    """{instance_id: {state, launch_time}}: as cloudwatch_metrics_info returns them, or from a list of
    instances as deployment_info (or ec2_instance_info) returns them."""
    if isinstance(instances, dict):
        return instances
    return {
        instance["instance_id"]: {
            "state": instance.get("state", {}).get("name"),
            "launch_time": instance.get("launch_time"),
        }
        for instance in instances or []
    }


def _ec2_note(metric: dict, window: dict, instance: dict) -> str:
    resource, state = metric["resource"], instance.get("state")
    if state and state not in ("running", "pending"):
        return f"Instance {resource} is {state}; EC2 publishes no metrics for an instance that is not running."
    launched = instance.get("launch_time")
    if launched and _time(launched) > _time(window["start"]):
        return (
            f"Instance {resource} was launched at {launched}; EC2 basic monitoring publishes every"
            " 5 minutes (detailed monitoring every minute), so a new instance has no datapoints for its first minutes."
        )
    if metric["metric"].startswith(("CPUCredit", "CPUSurplus")):
        return "CPU credit metrics are only published for burstable (T family) instances."
    if metric["metric"].startswith("Disk"):
        return "Disk* metrics only cover instance store volumes; EBS volumes report in AWS/EBS or as EBS* metrics."
    return EC2_NOTE


def _note(metric: dict, window: dict, instances: dict) -> str:
    kind = metric.get("kind")
    if kind == "ec2":
        return _ec2_note(metric, window, instances.get(metric["resource"], {}))
    if kind == "s3_storage":
        return STORAGE_NOTE
    unit = " or unit" if metric.get("unit") else ""
    return (
        f"Custom metric not published in the window yet, or published with other dimensions{unit};"
        " CloudWatch matches the namespace, the name and the full set of dimensions exactly."
    )


def monitoring_metric_notes(metrics: list, window: dict, instances: dict | list | None = None) -> list:
    """The metrics, each series without datapoints with a ``note``: its likely reason (and CloudWatch's
    status of the query when it did not complete). ``instances``: cloudwatch_metrics_info's, or the
    list deployment_info found."""
    instances = _by_id(instances)
    noted = []
    for metric in metrics or []:
        metric = dict(metric)
        if metric.get("status") == "no_data":
            metric["note"] = _note(metric, window, instances or {})
            if metric.get("query_status"):
                metric["note"] += f" CloudWatch answered with status {metric['query_status']}."
        noted.append(metric)
    return noted


def _plain(value) -> str:
    if value is None:
        return "-"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.2f}"


TABLE = ["RESOURCE", "NAMESPACE", "METRIC", "STAT", "MIN", "AVG", "MAX", "LATEST", "UNIT", "POINTS"]
RIGHT_ALIGNED = {"MIN", "AVG", "MAX", "LATEST", "POINTS"}


def monitoring_metrics_table(metrics: list) -> str:
    """A fixed-width table, one row per series, numbers right-aligned, '-' where there is no value."""
    rows = []
    for m in metrics or []:
        summary = m["summary"]
        figures = [summary["min"], summary["average"], summary["max"], summary["latest"]]
        rows.append(
            [m["resource"], m["namespace"], m["metric"], m["statistic"]]
            + [_plain(value) for value in figures]
            + [m["unit"] or "-", str(summary["count"])]
        )
    widths = [max(len(row[i]) for row in [TABLE, *rows]) for i in range(len(TABLE))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(TABLE, widths, strict=True)).rstrip()]
    for row in rows:
        cells = [
            cell.rjust(width) if name in RIGHT_ALIGNED else cell.ljust(width)
            for name, cell, width in zip(TABLE, row, widths, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def monitoring_number(value, unit=None) -> str:
    """A value for the HTML report: bytes in KB/MB, percent with one decimal, whole numbers bare."""
    if value is None:
        return "-"
    if unit == "Bytes":
        return bytes_to_human(value)
    if unit == "Percent":
        return f"{value:.1f}%"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}"


# The chart's size and margins (left for the value labels, bottom for the time labels and legend).
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 720, 220, 72, 16, 14, 38
COLOURS = {"Average": "#1f77b4", "Maximum": "#d62728", "Minimum": "#2ca02c", "Sum": "#7b3fa0", "SampleCount": "#8c564b"}
LEGEND_STEP = 120


def _chart(series: list, window: dict) -> dict:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    unit = series[0]["unit"]
    points = [p for s in series for p in s["datapoints"]]
    end = _time(window["end"])
    start = min([_time(window["start"])] + [_time(p["timestamp"]) for p in points])
    span = max((end - start).total_seconds(), 1)
    values = [p["value"] for p in points]
    low, high = min(min(values, default=0), 0), max(max(values, default=0), 0)
    top = high * 1.1 if high > low else low + 1

    def xy(point):
        x = LEFT + (_time(point["timestamp"]) - start).total_seconds() / span * plot_w
        y = TOP + plot_h - (point["value"] - low) / (top - low) * plot_h
        return round(x, 1), round(y, 1)

    lines = []
    for s in series:
        if not s["datapoints"]:
            continue
        colour = COLOURS.get(s["statistic"], "#333")
        coordinates = [xy(p) for p in s["datapoints"]]
        lines.append(
            {
                "statistic": s["statistic"],
                "colour": colour,
                "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates),
                "dots": [
                    {
                        "x": x,
                        "y": y,
                        "title": f"{s['statistic']} {p['timestamp']}: {monitoring_number(p['value'], unit)}",
                    }
                    for (x, y), p in zip(coordinates, s["datapoints"], strict=True)
                ],
            }
        )
    grid = [
        {"y": round(TOP + plot_h - f * plot_h, 1), "label": monitoring_number(low + f * (top - low), unit)}
        for f in (0, 0.5, 1)
    ]
    return {
        "namespace": series[0]["namespace"],
        "resource": series[0]["resource"],
        "metric": series[0]["metric"],
        "unit": unit,
        "series": series,
        "notes": list(dict.fromkeys(s["note"] for s in series if s.get("note"))),
        "width": WIDTH,
        "height": HEIGHT,
        "plot": {"x": LEFT, "y": TOP, "width": plot_w, "height": plot_h},
        "grid": grid,
        "start_label": {"x": LEFT, "y": HEIGHT - 18, "text": start.strftime("%Y-%m-%d %H:%M") + " UTC"},
        "end_label": {"x": LEFT + plot_w, "y": HEIGHT - 18, "text": end.strftime("%H:%M") + " UTC"},
        "no_data": None if points else {"x": LEFT + plot_w / 2, "y": TOP + plot_h / 2},
        "lines": lines,
        "legend": [
            {"x": LEFT + 8 + i * LEGEND_STEP, "y": HEIGHT - 12, "colour": COLOURS.get(s["statistic"], "#333"),
             "statistic": s["statistic"]}
            for i, s in enumerate(series)
        ],
    }  # fmt: skip


def monitoring_charts(metrics: list, window: dict) -> list:
    """One chart per namespace, resource and metric, in the order the metrics come, with every
    statistic of it as a line; values from 0 (or below, for negative values) to 10% above the top."""
    groups: dict[tuple, list] = {}
    for m in metrics or []:
        groups.setdefault((m["namespace"], m["resource"], m["metric"]), []).append(m)
    return [_chart(series, window) for series in groups.values()]


class FilterModule:
    def filters(self):
        return {
            "monitoring_metric_notes": monitoring_metric_notes,
            "monitoring_metrics_table": monitoring_metrics_table,
            "monitoring_number": monitoring_number,
            "monitoring_charts": monitoring_charts,
        }
