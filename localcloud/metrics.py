"""EC2 metrics for the local cloud's instances, measured for real and sent to moto's CloudWatch.

Every interval (10 s, LOCALCLOUD_METRICS_INTERVAL; aligned to the clock, so that an alarm period
of that length holds one datapoint) and on SIGUSR1 (`localcloud metrics`), each running instance
gets, in namespace AWS/EC2 with the InstanceId dimension and EC2's units:
- CPUUtilization (Percent): the container's CPU time over the interval, per vCPU of its type;
- NetworkIn / NetworkOut (Bytes): bytes through its public address since the last sample;
- StatusCheckFailed (Count): 0 while its container runs, 1 when it does not;
- for a burstable type, its CPU credits (cpu_credits.py): CPUCreditUsage, CPUCreditBalance,
  CPUSurplusCreditBalance, CPUSurplusCreditsCharged; a standard-mode instance whose credits are
  spent is held to its baseline.
"""

from __future__ import annotations

import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import config

VCPUS = {"nano": 2, "micro": 2, "small": 2, "medium": 2, "large": 2, "xlarge": 4}


def vcpus(instance_type: str) -> int:
    return VCPUS.get(instance_type.split(".")[-1], 2)


def cpu_seconds(cgroup_path: str) -> float | None:
    """CPU time used by a container's cgroup, on cgroup v1 or v2."""
    v1 = Path("/sys/fs/cgroup/cpuacct") / cgroup_path.lstrip("/") / "cpuacct.usage"
    if v1.exists():
        return int(v1.read_text()) / 1e9
    v2 = Path("/sys/fs/cgroup") / cgroup_path.lstrip("/") / "cpu.stat"
    if v2.exists():
        for line in v2.read_text().splitlines():
            if line.startswith("usage_usec"):
                return int(line.split()[1]) / 1e6
    return None


class MetricsPublisher:
    def __init__(self, cloud: Any, settings: config.Settings, balancers: Any = None, credit_keeper: Any = None):
        self.cloud = cloud
        self.credits = credit_keeper
        self.balancers = balancers
        self.settings = settings
        self.interval = settings.metrics_interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._last: dict[str, tuple[float, float, int, int]] = {}
        self._clients: dict[str, Any] = {}

    def start(self) -> None:
        signal.signal(signal.SIGUSR1, lambda *_: self._wake.set())
        threading.Thread(target=self._loop, name="metrics", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _cloudwatch(self, region: str):
        # One client a region for the daemon's life: the publisher runs every 10 s.
        if region not in self._clients:
            self._clients[region] = config.client(self.settings, "cloudwatch", region)
        return self._clients[region]

    def _loop(self) -> None:
        next_publish = time.time() - time.time() % self.interval + self.interval
        while not self._stop.is_set():
            woken = self._wake.wait(max(0.0, min(next_publish - time.time(), 5.0)))
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                for body in list(self.cloud.bodies.values()):
                    if body.id not in self._last and body.instance._state.name == "running":
                        self.sample(body)  # the baseline the first datapoint is measured from
                if woken or time.time() >= next_publish:
                    next_publish = time.time() - time.time() % self.interval + self.interval
                    self.publish()
            except Exception as exc:  # noqa: BLE001 - a failed sample must not stop the loop
                self.cloud.log(f"metrics: publishing failed: {exc}")

    def sample(self, body: Any) -> list[dict[str, Any]] | None:
        """One instance's datapoints since its last sample (None on its first sample)."""
        instance = body.instance
        running = instance._state.name == "running"
        now = time.monotonic()
        cgroup = self.cloud.cgroup_of(body.id) if running else ""
        cpu = cpu_seconds(cgroup) if running and cgroup else None
        sent_in, sent_out = body.counters.bytes_in, body.counters.bytes_out
        previous = self._last.get(body.id)
        self._last[body.id] = (now, cpu or 0.0, sent_in, sent_out)
        if previous is None:
            return None
        then, cpu_then, in_then, out_then = previous
        elapsed = max(now - then, 1e-6)
        dims = [{"Name": "InstanceId", "Value": body.id}]
        # Stamped with the start of the interval it measures, as EC2's datapoints are with the start
        # of their period: the period is complete, and an alarm can judge it, once it is published.
        stamp = datetime.now(UTC) - timedelta(seconds=elapsed)
        points = [
            {"MetricName": "NetworkIn", "Value": float(sent_in - in_then), "Unit": "Bytes"},
            {"MetricName": "NetworkOut", "Value": float(sent_out - out_then), "Unit": "Bytes"},
            {"MetricName": "StatusCheckFailed", "Value": 0.0 if running else 1.0, "Unit": "Count"},
        ]
        utilization = None
        if cpu is not None:
            percent = 100.0 * max(cpu - cpu_then, 0.0) / (elapsed * vcpus(instance.instance_type))
            utilization = {"MetricName": "CPUUtilization", "Value": round(min(percent, 100.0), 3), "Unit": "Percent"}
            points.append(utilization)
            if self.credits is not None:
                points += self.credits.sample(instance, cgroup, max(cpu - cpu_then, 0.0), elapsed)
        for point in points:
            point.update(Dimensions=dims, Timestamp=stamp)
        group = getattr(instance, "autoscaling_group", None)
        if group is not None and utilization is not None:
            # EC2 aggregates its metrics over an Auto Scaling group's instances too: the group's
            # Average is the statistic over every member's datapoints of the period.
            points.append({**utilization, "Dimensions": [{"Name": "AutoScalingGroupName", "Value": group.name}]})
        return points

    def publish(self) -> int:
        sent = 0
        for body in list(self.cloud.bodies.values()):
            if body.instance._state.name not in ("running", "stopped"):
                continue
            points = self.sample(body)
            if points:
                self._cloudwatch(body.instance.region_name).put_metric_data(Namespace="AWS/EC2", MetricData=points)
                sent += len(points)
        sent += self.publish_balancers() + self.publish_groups()
        if sent:
            self.cloud.log(f"metrics: published {sent} datapoint(s)")
        return sent

    def publish_balancers(self) -> int:
        """AWS/ApplicationELB: each load balancer's request counts of the interval (Sum)."""
        if self.balancers is None:
            return 0
        sent = 0
        stamp = datetime.now(UTC) - timedelta(seconds=self.interval)
        for arn, counts in self.balancers.counters().items():
            region, name = arn.split(":")[3], arn.split(":loadbalancer/", 1)[1]
            data = [
                {"MetricName": metric, "Value": float(value), "Unit": "Count", "Timestamp": stamp,
                 "Dimensions": [{"Name": "LoadBalancer", "Value": name}]}
                for metric, value in counts.items()
            ]  # fmt: skip
            self._cloudwatch(region).put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data)
            sent += len(data)
        return sent

    def publish_groups(self) -> int:
        """AWS/AutoScaling: the group metrics a group has enabled (EnableMetricsCollection)."""
        from moto.autoscaling.models import autoscaling_backends

        sent = 0
        for regions in list(autoscaling_backends.values()):
            for region, backend in list(regions.items()):
                for group in list(backend.autoscaling_groups.values()):
                    values = group_metrics(group)
                    data = [
                        {"MetricName": m, "Value": float(values[m]), "Unit": "None",
                         "Dimensions": [{"Name": "AutoScalingGroupName", "Value": group.name}]}
                        for m in group.metrics if m in values
                    ]  # fmt: skip
                    if data:
                        self._cloudwatch(region).put_metric_data(Namespace="AWS/AutoScaling", MetricData=data)
                        sent += len(data)
        return sent


def group_metrics(group: Any) -> dict[str, int]:
    states = [s.lifecycle_state for s in group.instance_states]
    in_service = states.count("InService")
    pending = sum(1 for s in states if s.startswith("Pending"))
    terminating = sum(1 for s in states if s.startswith("Terminating"))
    values = {
        "GroupMinSize": int(group.min_size), "GroupMaxSize": int(group.max_size),
        "GroupDesiredCapacity": int(group.desired_capacity or 0), "GroupInServiceInstances": in_service,
        "GroupPendingInstances": pending, "GroupStandbyInstances": states.count("Standby"),
        "GroupTerminatingInstances": terminating, "GroupTotalInstances": len(states),
    }  # fmt: skip
    for kind in ("InService", "Pending", "Standby", "Terminating", "Total"):
        values[f"Group{kind}Capacity"] = values[f"Group{kind}Instances"]
    return values
