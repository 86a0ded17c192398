"""Auto Scaling groups in the local cloud keep their instances, as AWS's health checks do.

Every few seconds, for every group:
- an instance that is no longer running (stopped, terminated by hand or by an alarm) is
  replaced (EC2 health check);
- with health check type ELB, an instance that a target group of the group reports unhealthy,
  once its health check grace period is over, is marked Unhealthy and replaced;
- the group's instances are registered with its target groups, and those it has let go
  (scale-in, replacement) deregistered, so they drain;
- an instance refresh (StartInstanceRefresh, autoscaling.py) replaces the instances the group had
  when it started, one at a time: the next only once every instance is healthy again.
moto does none of this. The changes go through the API (SetInstanceHealth,
TerminateInstanceInAutoScalingGroup, RegisterTargets, DeregisterTargets) as the local cloud's
administrator, so they show in the group's activities and in the recordings like any call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from . import config
from .autoscaling import REFRESHES

GONE = ("stopping", "stopped", "shutting-down", "terminated")


def replacements(group: Any, health: Callable[[str, str], str], now: datetime) -> list[tuple[str, str]]:
    """(instance id, why) for each instance of the group that must be replaced."""
    found = []
    for state in group.instance_states:
        instance = state.instance
        if instance.state in GONE:
            found.append((instance.id, f"EC2 health check: the instance is {instance.state}"))
            continue
        if group.health_check_type != "ELB" or state.lifecycle_state != "InService":
            continue
        launched = instance.launch_time if isinstance(instance.launch_time, datetime) else None
        age = (now - launched.replace(tzinfo=launched.tzinfo or UTC)).total_seconds() if launched else 0
        if age < int(group.health_check_grace_period or 0):
            continue
        if any(health(arn, instance.id) == "unhealthy" for arn in group.target_group_arns):
            found.append((instance.id, "ELB health check: the target is unhealthy"))
    return found


class GroupKeeper:
    INTERVAL = 2.0

    def __init__(self, settings: config.Settings, balancers: Any, log: Callable[[str], None]):
        self.settings = settings
        self.balancers = balancers
        self.log = log
        self._stop = threading.Event()
        self._clients: dict[tuple[str, str], Any] = {}

    def start(self) -> None:
        threading.Thread(target=self._loop, name="groups", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 - report, keep going
                self.log(f"auto scaling groups: {exc}")

    def _client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = config.client(self.settings, service, region)
        return self._clients[key]

    def tick(self) -> None:
        from moto.autoscaling.models import autoscaling_backends

        for regions in list(autoscaling_backends.values()):
            for region, backend in list(regions.items()):
                for group in list(backend.autoscaling_groups.values()):
                    self._keep(region, backend, group)

    def _keep(self, region: str, backend: Any, group: Any) -> None:
        autoscaling = self._client("autoscaling", region)

        def health(arn: str, instance_id: str) -> str:
            target_group = backend.elbv2_backend.target_groups.get(arn)
            return self.balancers.target_state(target_group, instance_id)[0] if target_group else "unused"

        for instance_id, why in replacements(group, health, datetime.now(UTC)):
            self.log(f"{group.name}: replacing {instance_id} ({why})")
            if why.startswith("ELB"):
                autoscaling.set_instance_health(InstanceId=instance_id, HealthStatus="Unhealthy")
            autoscaling.terminate_instance_in_auto_scaling_group(
                InstanceId=instance_id, ShouldDecrementDesiredCapacity=False
            )
        self._refresh(autoscaling, backend, group, health)
        members = {s.instance.id for s in group.instance_states if s.instance.state not in GONE}
        elbv2 = self._client("elbv2", region)
        for arn in group.target_group_arns:
            target_group = backend.elbv2_backend.target_groups.get(arn)
            if target_group is None:
                continue
            registered = set(target_group.targets)
            if missing := sorted(members - registered):
                elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": i} for i in missing])
            former = sorted(
                i
                for i in registered - members
                if getattr(backend.ec2_backend.get_instance_by_id(i), "autoscaling_group", None) is group
            )
            if former:
                elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": i} for i in former])

    def _refresh(self, autoscaling: Any, backend: Any, group: Any, health: Callable[[str, str], str]) -> None:
        refresh = REFRESHES.active((backend.account_id, backend.region_name, group.name))
        if refresh is None:
            return
        members = [s.instance.id for s in group.active_instances() if s.instance.state == "running"]
        ready = len(members) >= int(group.desired_capacity or 0) and all(
            health(arn, member) == "healthy" for member in members for arn in group.target_group_arns
        )
        with REFRESHES.lock:
            remaining = [i for i in refresh["to_replace"] if i in members]
            total = max(refresh["InstancesToUpdate"], 1)
            refresh["PercentageComplete"] = (
                int(100 * (total - len(remaining)) / total) if ready else refresh["PercentageComplete"]
            )
            if refresh["Status"] == "Cancelling":
                refresh["Status"], refresh["EndTime"] = "Cancelled", datetime.now(UTC)
                return
            refresh["Status"] = "InProgress"
            if ready and not remaining:
                refresh["Status"], refresh["PercentageComplete"], refresh["EndTime"] = (
                    "Successful",
                    100,
                    datetime.now(UTC),
                )
                self.log(f"{group.name}: instance refresh {refresh['InstanceRefreshId']} done")
                return
        if ready and remaining:
            # MaxHealthyPercentage above 100: the replacement is launched (and healthy) before the
            # instance it replaces goes, as AWS does; otherwise the old one goes first.
            wanted = refresh.setdefault("desired", int(group.desired_capacity or 0))
            launch_first = int(refresh["Preferences"].get("MaxHealthyPercentage", 100)) > 100
            if launch_first and len(members) <= wanted:
                self.log(f"{group.name}: instance refresh launches the replacement of {remaining[0]} first")
                autoscaling.set_desired_capacity(AutoScalingGroupName=group.name, DesiredCapacity=wanted + 1)
                return
            self.log(f"{group.name}: instance refresh replaces {remaining[0]}")
            autoscaling.terminate_instance_in_auto_scaling_group(
                InstanceId=remaining[0], ShouldDecrementDesiredCapacity=launch_first
            )
