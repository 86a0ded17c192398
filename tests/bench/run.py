"""Benchmarks: figures, not pass/fail. `make bench` runs this on a private local cloud.

    localcloud up (image built)             goal <= 5 s
    RunInstances -> first SSH login         goal <= 10 s
    then, --runs times (default 3), a deployment's life, each run with its own access key:
    first deploy, from nothing to the page  goal <= 20 s, <= 30 AWS calls
    no-change rerun (changed=0)             goal <= 10 s, <= 20 AWS calls
    monitor.yml                             goal <= 6 s,  <= 8 AWS calls
    teardown                                goal <= 10 s, <= 20 AWS calls
    monitor.yml, alarm history off          once: its AWS calls without DescribeAlarmHistory
    teardown with a 30 s release            once: the AWS calls of a teardown that waits as on AWS
    image build from nothing                goal <= 3 min   (only with --image: it rebuilds the image)

Each figure is printed as min / median / max; the AWS API calls of a run are counted by moto's
request recorder (tests/bench/apicalls.py), by service and action. Other benchmark scripts in
this folder (bench_*.py) run after these, each printing its own lines.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

sys.path.insert(0, str(HERE))
import apicalls  # noqa: E402
from guided import resources  # noqa: E402

from conftest import LocalCloud, cloud_env, private_range  # noqa: E402
from instances import launch  # noqa: E402
from playbooks import Run, playbook  # noqa: E402

# (label, playbook, extra arguments, goal seconds, goal AWS calls)
LIFE = (
    ("first deploy, from nothing to the page", "deploy", (), 20, 30),
    ("no-change rerun", "deploy", (), 10, 20),
    ("monitor.yml", "monitor", (), 6, 8),
    ("teardown", "teardown", ("-e", "confirm=true"), 10, 20),
)

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


def timed_run(cloud: LocalCloud, book: str, state: Path, key: str, *args: str) -> tuple[Run, float, object]:
    """One playbook run signed with its own access key: its result, seconds and AWS calls."""
    apicalls.start(cloud.endpoint)
    started = time.monotonic()
    run = playbook(cloud, book, state, "-e", f"deployment_access_key={key}", *args)
    seconds = time.monotonic() - started
    return run, seconds, apicalls.stop(cloud.endpoint, key)


def bench_life(cloud: LocalCloud, home: Path, runs: int) -> None:
    """A deployment's whole life, `runs` times: the figures of each step, min / median / max."""
    seconds: dict[str, list[float]] = {label: [] for label, *_ in LIFE}
    calls: dict[str, list] = {label: [] for label, *_ in LIFE}
    for index in range(runs):
        state = home / f"life-{index}"
        for step, (label, book, args, _, _) in enumerate(LIFE):
            key = f"bench{index}{step}"
            run, took, counted = timed_run(cloud, book, state, key, "-e", "deployment_name=bench", *args)
            if run.returncode != 0:
                print(f"{label}: FAILED (rc {run.returncode})\n{run.output[-3000:]}")
                return
            if label == "no-change rerun" and run.changed:
                print(f"    note: the rerun changed {run.changed} thing(s): {run.recap}")
            seconds[label].append(took)
            calls[label].append(counted)
            if index == 0:
                print(f"    {label}, slowest tasks: {slowest_tasks(run.output)}")
    print(f"\n{'run':<40} {'seconds min / median / max':<28} {'goal':<8} AWS calls (median run) / goal")
    for label, _, _, goal_seconds, goal_calls in LIFE:
        times = seconds[label]
        ordered = sorted(calls[label], key=lambda c: sum(c.values()))
        median_calls = ordered[len(ordered) // 2]
        figure = f"{min(times):5.1f} / {statistics.median(times):5.1f} / {max(times):5.1f}"
        print(f"{label:<40} {figure:<28} <= {goal_seconds:<5} {sum(median_calls.values())} / <= {goal_calls}")
        print(f"    {apicalls.summary(median_calls)}")


# On AWS an instance takes 30-90 s from TerminateInstances to the release of its network interface;
# the local cloud's instances terminate in a second and release theirs 5 s later, unless tagged.
AWS_LIKE_RELEASE = 30


def bench_once(cloud: LocalCloud, home: Path) -> None:
    """Figures taken once, on a deployment of their own: monitor.yml without the alarms' history, then
    a teardown whose security group stays in use for 30 s after termination, as on AWS."""
    state, name = home / "once", "bench-once"
    made = playbook(cloud, "deploy", state, "-e", f"deployment_name={name}")
    if made.returncode != 0:
        print(f"once-off figures: deploy FAILED\n{made.output[-3000:]}")
        return
    bench_monitor_without_history(cloud, state, name)
    bench_slow_release(cloud, state, name)


def once_line(label: str, run: Run, took: float, counted) -> None:
    """A once-off figure: its seconds and AWS calls, or the failed run's output."""
    if run.returncode != 0:
        print(f"{label}: FAILED (rc {run.returncode})\n{run.output[-3000:]}")
        return
    print(f"\n{label:<40} {took:5.1f} s{'':<22} {sum(counted.values())} AWS calls")
    print(f"    {apicalls.summary(counted)}")


def bench_monitor_without_history(cloud: LocalCloud, state: Path, name: str) -> None:
    """monitor.yml with monitoring_alarm_history=0: its calls less the DescribeAlarmHistory one an alarm."""
    run, took, counted = timed_run(cloud, "monitor", state, "benchmonitor", "-e", f"deployment_name={name}",
                                   "-e", "monitoring_alarm_history=0")  # fmt: skip
    once_line("monitor.yml, alarm history off", run, took, counted)


def bench_slow_release(cloud: LocalCloud, state: Path, name: str) -> None:
    """A teardown whose security group stays in use for 30 s after termination, as on AWS: the cost of
    teardown's wait in seconds and AWS calls."""
    from localcloud.awsrules import ENI_RELEASE_TAG

    instances = resources(cloud, name)["instances"]
    release = [{"Key": ENI_RELEASE_TAG, "Value": str(AWS_LIKE_RELEASE)}]
    cloud.client("ec2").create_tags(Resources=instances, Tags=release)
    run, took, counted = timed_run(cloud, "teardown", state, "benchslow", "-e", f"deployment_name={name}",
                                   "-e", "confirm=true")  # fmt: skip
    once_line(f"teardown with a {AWS_LIKE_RELEASE} s release (as on AWS)", run, took, counted)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", action="store_true", help="also rebuild the instance image from nothing")
    parser.add_argument("--runs", type=int, default=3, help="times to run a deployment's life (default 3)")
    parser.add_argument("--only-life", action="store_true", help="skip the boot figures and the other scripts")
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
            if not args.only_life:
                started = time.monotonic()
                instance = launch(cloud, home)
                instance.wait_for_ssh(timeout=120)
                line("RunInstances -> first SSH login", time.monotonic() - started, "<= 10 s")
            bench_life(cloud, home, args.runs)
            bench_once(cloud, home)
        finally:
            cloud.cli("down", check=False)

    if not args.only_life:
        for script in sorted(HERE.glob("bench_*.py")):
            subprocess.run([sys.executable, str(script)], cwd=ROOT, env={**os.environ}, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
