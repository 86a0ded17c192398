"""Benchmark: one monitor.yml run for one instance on a local cloud of its own.

    .venv/bin/python tests/bench/bench_monitor.py [--runs 3] [--requests 50]

Starts a private local cloud (own LOCALCLOUD_HOME, ports and 127.x range, as the integration
tests do), deploys one web server, puts a bounded load on its page, publishes the EC2 metrics,
then times monitor.yml end to end (ansible-playbook start to exit) and prints, per run, the
seconds, the CloudWatch API calls (GetMetricData, PutMetricData, DescribeAlarms) and the AWS
calls of the cloudwatch_metrics_info module. Figures, not pass/fail; the goal is 15 s or less.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from conftest import LOCALCLOUD, LocalCloud, cloud_env, private_range, wait_for  # noqa: E402
from playbooks import playbook  # noqa: E402

GOAL_SECONDS = 15.0


def ec2_datapoints(cloud: LocalCloud, instance_id: str) -> int:
    now = datetime.datetime.now(datetime.UTC)
    points = cloud.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/EC2",
        MetricName="NetworkOut",
        Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
        StartTime=now - datetime.timedelta(hours=1),
        EndTime=now + datetime.timedelta(minutes=5),
        Period=7200,
        Statistics=["SampleCount"],
    )["Datapoints"]
    return int(sum(p["SampleCount"] for p in points))


def slowest_tasks(output: str, count: int = 5) -> list[str]:
    recap = output.split("TASKS RECAP", 1)[-1]
    return [line.strip() for line in recap.splitlines() if re.search(r" -+ \d+\.\d+s$", line)][:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="monitor runs to time (default 3)")
    parser.add_argument("--requests", type=int, default=50, help="GETs of the page before the first run (default 50)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    cloud = LocalCloud(home=work / "localcloud", env=cloud_env(work / "localcloud", private_range()))
    subprocess.run([*LOCALCLOUD, "up", "--no-build"], env=cloud.env, cwd=ROOT, check=True, capture_output=True)
    name = f"bench{uuid.uuid4().hex[:6]}"
    state = work / "state"
    try:
        started = time.monotonic()
        deploy = playbook(cloud, "deploy", state, "-e", f"deployment_name={name}")
        if deploy.returncode != 0:
            print(deploy.output[-3000:], file=sys.stderr)
            return 1
        print(f"deploy.yml: {time.monotonic() - started:.1f} s")
        instance = cloud.client("ec2").describe_instances(
            Filters=[
                {"Name": "tag:Deployment", "Values": [name]},
                {"Name": "instance-state-name", "Values": ["running"]},
            ]
        )["Reservations"][0]["Instances"][0]
        cloud.cli("metrics")
        wait_for(lambda: ec2_datapoints(cloud, instance["InstanceId"]) >= 1, 30, "the first EC2 datapoints")
        for _ in range(args.requests):
            with urllib.request.urlopen(f"http://{instance['PublicIpAddress']}/", timeout=5) as response:
                response.read()
        cloud.cli("metrics")
        wait_for(lambda: ec2_datapoints(cloud, instance["InstanceId"]) >= 2, 30, "the EC2 datapoints after the load")

        timings = []
        print(f"\nmonitor.yml, one instance ({instance['InstanceId']}), {args.runs} run(s):")
        for index in range(args.runs):
            begin = time.monotonic()
            run = playbook(
                cloud,
                "monitor",
                state,
                "-e",
                f"deployment_name={name}",
                "-e",
                f"monitoring_report_dir={work / 'reports'}",
            )
            seconds = time.monotonic() - begin
            if run.returncode != 0:
                print(run.output[-3000:], file=sys.stderr)
                return 1
            report = json.loads(Path(re.search(r"JSON report: (\S+\.json)", run.output).group(1)).read_text())
            calls = report["api_calls"]
            timings.append(seconds)
            print(
                f"  run {index + 1}: {seconds:5.1f} s  CloudWatch API calls {calls['cloudwatch']}"
                f" {calls['by_operation']};"
                f" cloudwatch_metrics_info AWS calls {calls['cloudwatch_metrics_info']}"
                f" {calls['cloudwatch_metrics_info_by_operation']};"
                f" page views published {report['page_views']['value']}"
            )
            if index == 0:
                print("    slowest tasks:")
                for line in slowest_tasks(run.output):
                    print(f"      {line}")
        median = statistics.median(timings)
        verdict = "within" if median <= GOAL_SECONDS else "over"
        print(
            f"\nmedian {median:.1f} s, min {min(timings):.1f} s, max {max(timings):.1f} s"
            f" ({verdict} the {GOAL_SECONDS:.0f} s goal)"
        )
        return 0
    finally:
        cloud.cli("down", check=False)


if __name__ == "__main__":
    sys.exit(main())
