"""Benchmark: what AWS's everyday faults cost a deployment's life, on local clouds of their own.

    .venv/bin/python tests/bench/bench_faults.py [--runs 2]

Runs a single-mode life (first deploy, no-change rerun, monitor, teardown) on a cloud without
faults and on one that throttles 20 % of the calls and answers 5 % with a 500 (the IAM tests'
FLAKY_AWS), and prints per step the seconds (min / median / max) and, on the faulty cloud, the
faults injected, which botocore's standard retry mode carried the runs through. Then, on the
plain cloud: a rerun after one dropped SSH connection, and a deploy whose key expires once its
key pair exists (seconds until it stops, then the rerun with new keys). Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import time
import uuid

from benchlib import private_cloud, spread
from conftest import FLAKY_AWS, LocalCloud, wait_for
from playbooks import playbook

LIFE = (("first deploy", "deploy", ()), ("rerun", "deploy", ()), ("monitor", "monitor", ()),
        ("teardown", "teardown", ("-e", "confirm=true")))  # fmt: skip


def injected(cloud: LocalCloud) -> int:
    return sum(rule["injected"] for rule in cloud.faults())


def life(cloud: LocalCloud, state, runs: int) -> dict[str, list[tuple[float, int]]]:
    figures: dict[str, list[tuple[float, int]]] = {label: [] for label, _, _ in LIFE}
    for _ in range(runs):
        name = f"f{uuid.uuid4().hex[:7]}"
        for label, book, args in LIFE:
            before, started = injected(cloud), time.monotonic()
            run = playbook(cloud, book, state, "-e", f"deployment_name={name}", *args)
            if run.returncode != 0:
                raise SystemExit(f"{label} failed:\n{run.output[-3000:]}")
            figures[label].append((time.monotonic() - started, injected(cloud) - before))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2, help="lives per cloud (default 2)")
    args = parser.parse_args()

    with private_cloud("bench-faults-plain-") as (cloud, home):
        plain = life(cloud, home / "state", args.runs)
        name = f"d{uuid.uuid4().hex[:7]}"
        assert playbook(cloud, "deploy", home / "state", "-e", f"deployment_name={name}").returncode == 0
        from test_faults import finished, instance_of, start

        instance = instance_of(cloud, name)
        started = time.monotonic()
        normal = playbook(cloud, "deploy", home / "state", "-e", f"deployment_name={name}")
        rerun_seconds = time.monotonic() - started
        cloud.cli("faults", "drop-ssh", instance, "--count", "1")
        started = time.monotonic()
        dropped = playbook(cloud, "deploy", home / "state", "-e", f"deployment_name={name}")
        dropped_seconds = time.monotonic() - started
        playbook(cloud, "teardown", home / "state", "-e", f"deployment_name={name}", "-e", "confirm=true")

        key, name = f"AKIA{uuid.uuid4().hex[:16].upper()}", f"e{uuid.uuid4().hex[:7]}"
        credentials = ("-e", f"deployment_access_key={key}", "-e", "deployment_secret_key=localcloud-secret")

        started = time.monotonic()
        run = start(cloud, "deploy", home / "expired", "-e", f"deployment_name={name}", *credentials)
        ec2 = cloud.client("ec2")
        wait_for(lambda: ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": [f"{name}-key"]}])["KeyPairs"],
                 120, "the key pair")  # fmt: skip
        cloud.cli("faults", "expire-key", key)
        expired_at = time.monotonic() - started
        stopped = finished(run)
        stopped_seconds = time.monotonic() - started
        started = time.monotonic()
        renewed = playbook(cloud, "deploy", home / "expired", "-e", f"deployment_name={name}")
        renewed_seconds = time.monotonic() - started
        playbook(cloud, "teardown", home / "expired", "-e", f"deployment_name={name}", "-e", "confirm=true")

    with private_cloud("bench-faults-flaky-", {"LOCALCLOUD_FAULTS": FLAKY_AWS}) as (cloud, home):
        flaky = life(cloud, home / "state", args.runs)

    print(f"{'single-mode life':<22} {'no faults (s)':>22}   {'20 % throttled, 5 % 500 (s)':>28}   faults injected")
    for label, _, _ in LIFE:
        faults = [count for _, count in flaky[label]]
        print(f"{label:<22} {spread([s for s, _ in plain[label]]):>22}   {spread([s for s, _ in flaky[label]]):>28}"
              f"   {min(faults)}-{max(faults)}")  # fmt: skip
    print(f"rerun, one SSH connection dropped: {dropped_seconds:.1f} s (rc {dropped.returncode}; "
          f"a rerun without: {rerun_seconds:.1f} s, rc {normal.returncode})")  # fmt: skip
    print(f"key expired {expired_at:.1f} s into a first deploy: stopped at {stopped_seconds:.1f} s"
          f" (rc {stopped.returncode}, named: {'credentials expired' in stopped.output});"
          f" rerun with new keys {renewed_seconds:.1f} s (rc {renewed.returncode})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
