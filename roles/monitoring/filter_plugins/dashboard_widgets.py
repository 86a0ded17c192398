# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The deployment's CloudWatch dashboard body (tasks/dashboard.yml), laid out in Python.

- ``settings | monitoring_dashboard_body``: {'widgets': [...]}: a graph per EC2 metric of the
  instance and per S3 metric of the bucket, two to a row, then the page views and the alarms.
  ``settings`` holds region, period, statistic, instance_id (None: no EC2 graphs), ec2_metrics,
  bucket (None: no S3 graphs), s3_metrics, page_views ({namespace, name, deployment}) and
  alarm_arns.
"""

from __future__ import annotations

# A dashboard is 24 units wide; each graph is half of it, 6 units high.
GRAPH_WIDTH, GRAPH_HEIGHT = 12, 6
S3_PERIOD = 86400
# The S3 storage type each storage metric is published for.
S3_STORAGE_TYPES = {"NumberOfObjects": "AllStorageTypes"}


def _graph(x: int, y: int, title: str, region: str, stat: str, period: int, metric: list) -> dict:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": GRAPH_WIDTH,
        "height": GRAPH_HEIGHT,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stat": stat,
            "period": period,
            "metrics": [metric],
        },
    }


def _rows(graphs: list, top: int) -> tuple[list, int]:
    """Places (title, stat, period, metric) graphs two to a row from `top`; returns them and the next free row."""
    placed = [
        (i % 2 * GRAPH_WIDTH, top + i // 2 * GRAPH_HEIGHT, *graph)  # x, y, title, stat, period, metric
        for i, graph in enumerate(graphs)
    ]
    return placed, top + (len(graphs) + 1) // 2 * GRAPH_HEIGHT


def monitoring_dashboard_body(settings: dict) -> dict:
    region, period = settings["region"], int(settings["period"])
    graphs, top = [], 0
    instance, bucket = settings.get("instance_id"), settings.get("bucket")
    if instance:
        ec2 = [
            (f"EC2 {metric} ({instance})", settings["statistic"], period, ["AWS/EC2", metric, "InstanceId", instance])
            for metric in settings["ec2_metrics"]
        ]
        placed, top = _rows(ec2, top)
        graphs += placed
    if bucket:
        s3 = [
            (
                f"S3 {metric} ({bucket}, daily)",
                "Average",
                S3_PERIOD,
                [
                    "AWS/S3",
                    metric,
                    "BucketName",
                    bucket,
                    "StorageType",
                    S3_STORAGE_TYPES.get(metric, "StandardStorage"),
                ],
            )
            for metric in settings["s3_metrics"]
        ]
        placed, top = _rows(s3, top)
        graphs += placed
    views = settings["page_views"]
    graphs.append(
        (0, top, "Page views", "Sum", period, [views["namespace"], views["name"], "Deployment", views["deployment"]])
    )
    widgets = [
        _graph(x, y, title, region, stat, graph_period, metric) for x, y, title, stat, graph_period, metric in graphs
    ]
    if settings.get("alarm_arns"):
        widgets.append(
            {
                "type": "alarm",
                "x": GRAPH_WIDTH,
                "y": top,
                "width": GRAPH_WIDTH,
                "height": GRAPH_HEIGHT,
                "properties": {"title": "Alarms", "alarms": list(settings["alarm_arns"])},
            }
        )
    return {"widgets": widgets}


class FilterModule:
    def filters(self):
        return {"monitoring_dashboard_body": monitoring_dashboard_body}
