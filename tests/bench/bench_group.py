"""Benchmark: the group mode on the local cloud, from nothing to a verified group, and from CPU load to a
third healthy instance.

    .venv/bin/python tests/bench/bench_group.py [--runs 2]

Starts a private local cloud whose instances send EC2 metrics every 10 s. Per run: deploys a new
deployment with deployment_capacity=2 (maximum 3, a high-CPU alarm of one minute above 30 % on
10-second periods), puts busy loops on both instances over SSH, and times until the target group
reports a third instance healthy (one minute of load by design, then the scale-out, the boot and
two passed health checks); then stops the load and tears the deployment down. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

from benchlib import private_cloud, spread
from conftest import LocalCloud, wait_for
from groups import BUSY, CALM, group_of, healthy, run_on
from playbooks import playbook

GROUP = (
    "-e", "deployment_capacity=2", "-e", "deployment_capacity_max=3",
    "-e", "deployment_high_cpu_threshold=30", "-e", "deployment_high_cpu_minutes=1",
)  # fmt: skip


def one_run(cloud: LocalCloud, home: Path) -> tuple[float, float]:
    name, state = f"b{uuid.uuid4().hex[:6]}", home / f"state-{uuid.uuid4().hex[:4]}"
    started = time.monotonic()
    deploy = playbook(cloud, "deploy", state, "-e", f"deployment_name={name}", *GROUP)
    assert deploy.returncode == 0, deploy.output[-3000:]
    deployed = time.monotonic() - started
    deployment = {"name": name, "state": state}
    members = {i["InstanceId"] for i in group_of(cloud, name)["Instances"]}
    try:
        run_on(cloud, deployment, members, BUSY)
        started = time.monotonic()
        wait_for(lambda: len(healthy(cloud, name)) == 3, 300, "a third healthy instance", 1)
        grown = time.monotonic() - started
    finally:
        run_on(cloud, deployment, members, CALM)
        playbook(cloud, "teardown", state, "-e", f"deployment_name={name}", "-e", "confirm=true")
    return deployed, grown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with private_cloud("bench-group-", {"LOCALCLOUD_METRICS_INTERVAL": "10"}) as (cloud, home):
        deploys, growths = [], []
        for _ in range(args.runs):
            deployed, grown = one_run(cloud, home)
            deploys.append(deployed)
            growths.append(grown)
            print(f"    run: deploy with capacity 2 {deployed:.1f} s; load -> third healthy instance {grown:.1f} s")
        for label, values in (("group deploy (capacity 2) from nothing", deploys),
                              ("load -> a third healthy instance", growths)):  # fmt: skip
            print(f"{label:<40} {spread(values)} s (min / median / max)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
