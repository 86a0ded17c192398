"""Benchmarks: figures, not pass/fail. `make bench` runs this on a private local cloud.

    localcloud up (image built)        goal <= 5 s
    RunInstances -> first SSH login    goal <= 10 s
    deploy from nothing -> verified    goal <= 60 s
    deploy rerun (no change)           goal <= 20 s
    image build from nothing           goal <= 3 min   (only with --image: it rebuilds the image)

Other benchmark scripts in this folder (bench_*.py) run after these, each printing its own lines.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from conftest import LocalCloud, cloud_env, private_range  # noqa: E402
from instances import launch  # noqa: E402
from playbooks import playbook  # noqa: E402

TASK_TIME = re.compile(r"^(?P<task>.+?) -+ (?P<seconds>\d+\.\d+)s$", re.M)


def line(label: str, seconds: float, goal: str = "", extra: str = "") -> None:
    print(f"{label:<40} {seconds:8.1f} s   {goal:<10} {extra}", flush=True)


def slowest_tasks(output: str, count: int = 5) -> str:
    tasks = [(float(m["seconds"]), m["task"].strip()) for m in TASK_TIME.finditer(output)]
    return "; ".join(f"{task} {secs:.1f}s" for secs, task in sorted(tasks, reverse=True)[:count])


def bench_image_build(cloud: LocalCloud) -> None:
    from localcloud import image
    from localcloud.podman import Podman

    podman = Podman(cloud.home / "containers.conf")
    podman.run("rmi", "--force", image.image_ref(), check=False)
    started = time.monotonic()
    cloud.cli("image", "build")
    line("image build from nothing", time.monotonic() - started, "<= 180 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", action="store_true", help="also rebuild the instance image from nothing")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        home = Path(tmp)
        cloud = LocalCloud(home=home / "cloud", env=cloud_env(home / "cloud", private_range()))
        if args.image:
            bench_image_build(cloud)
        started = time.monotonic()
        cloud.cli("up", "--no-build")
        line("localcloud up (image built)", time.monotonic() - started, "<= 5 s")
        try:
            started = time.monotonic()
            instance = launch(cloud, home)
            instance.wait_for_ssh(timeout=120)
            line("RunInstances -> first SSH login", time.monotonic() - started, "<= 10 s")

            state = home / "deploy"
            started = time.monotonic()
            first = playbook(cloud, "deploy", state, "-e", "deployment_name=bench")
            elapsed = time.monotonic() - started
            ok = "ok" if first.returncode == 0 else f"FAILED (rc {first.returncode})"
            line("deploy from nothing -> verified page", elapsed, "<= 60 s", ok)
            print(f"    slowest tasks: {slowest_tasks(first.output)}")
            started = time.monotonic()
            again = playbook(cloud, "deploy", state, "-e", "deployment_name=bench")
            line("deploy rerun (no change)", time.monotonic() - started, "<= 20 s", f"changed={again.changed}")
            print(f"    slowest tasks: {slowest_tasks(again.output)}")
        finally:
            cloud.cli("down", check=False)

    for script in sorted(HERE.glob("bench_*.py")):
        subprocess.run([sys.executable, str(script)], cwd=ROOT, env={**os.environ}, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
