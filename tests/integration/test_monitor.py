"""monitor.yml for real on a test local cloud: EC2 metrics under load, the access-log summary,
page views published once and only once, the HTML report in a browser, the high-CPU alarm."""

from __future__ import annotations

import datetime
import json
import re
import ssl
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from browser import Browser
from conftest import LocalCloud, wait_for
from playbooks import Run, playbook, ssh

pytestmark = pytest.mark.cloud

PAGE_LOADS = 25  # GET / from this test: each one a page view
MISSING_LOADS = 3  # GET of a missing path: requests, not page views
PROBE = "/<script>alert(1)</script>"  # a hostile path that must reach the report escaped


def monitor(cloud: LocalCloud, deployment: dict, *args: str) -> Run:
    return playbook(
        cloud,
        "monitor",
        deployment["state"],
        "-e", f"deployment_name={deployment['name']}",
        "-e", f"monitoring_report_dir={deployment['reports']}",
        *args,
    )  # fmt: skip


def report_of(run: Run) -> dict:
    """The JSON report a monitor run wrote, found through the path it printed at the end."""
    assert run.returncode == 0, run.output[-5000:]
    match = re.search(r"JSON report: (\S+\.json)", run.output)
    assert match, f"no report path printed:\n{run.output[-3000:]}"
    data = json.loads(Path(match.group(1)).read_text())
    html = re.search(r"HTML report: (\S+\.html)", run.output)
    assert html and html.group(1) == data["files"]["html"]
    return data


def series(report: dict, metric: str, statistic: str) -> dict:
    found = [m for m in report["metrics"] if m["metric"] == metric and m["statistic"] == statistic]
    assert len(found) == 1, [(m["metric"], m["statistic"]) for m in report["metrics"]]
    return found[0]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def bounded_load(base: str, path: str, count: int, budget: float = 60) -> list[int]:
    """`count` GETs of base+path, one after the other, within `budget` seconds."""
    started = time.monotonic()
    statuses = []
    for _ in range(count):
        assert time.monotonic() - started < budget, f"the load took over {budget} s"
        statuses.append(get(base + path))
    return statuses


def samples(cloud: LocalCloud, namespace: str, metric: str, dimensions: dict[str, str], stat: str = "SampleCount"):
    """One statistic over the last two hours of a metric, straight from CloudWatch (0 without data)."""
    now = datetime.datetime.now(datetime.UTC)
    points = cloud.client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - datetime.timedelta(hours=2),
        EndTime=now + datetime.timedelta(minutes=5),
        Period=3 * 3600,
        Statistics=[stat],
    )["Datapoints"]
    return sum(p[stat] for p in points)


def ec2_samples(cloud: LocalCloud, instance_id: str) -> float:
    return samples(cloud, "AWS/EC2", "NetworkOut", {"InstanceId": instance_id})


def page_views(cloud: LocalCloud, name: str, stat: str) -> float:
    return samples(cloud, "WebServer", "PageViews", {"Deployment": name}, stat)


def topic_arn(cloud: LocalCloud, name: str) -> str:
    account = cloud.client("sts").get_caller_identity()["Account"]
    return f"arn:aws:sns:{cloud.env['AWS_DEFAULT_REGION']}:{account}:aaw-{name}-alarms"


@pytest.fixture(scope="module")
def deployment(cloud, tmp_path_factory):
    name = f"m{uuid.uuid4().hex[:8]}"
    state = tmp_path_factory.mktemp("monitor")
    run = playbook(cloud, "deploy", state, "-e", f"deployment_name={name}")
    assert run.returncode == 0, run.output[-5000:]
    ec2 = cloud.client("ec2")
    reservations = ec2.describe_instances(
        Filters=[{"Name": "tag:Deployment", "Values": [name]}, {"Name": "instance-state-name", "Values": ["running"]}]
    )["Reservations"]
    instance = reservations[0]["Instances"][0]
    return {
        "name": name,
        "state": state,
        "reports": state / "reports",
        "instance_id": instance["InstanceId"],
        "ip": instance["PublicIpAddress"],
    }


@pytest.fixture(scope="module")
def runs(cloud, deployment):
    """Metrics published before and after a bounded load, then monitor twice in a row."""
    instance_id = deployment["instance_id"]
    # The local cloud took its baseline sample when the instance started; this publishes the
    # deployment's own activity, so the next datapoint holds only the load.
    cloud.cli("metrics")
    wait_for(lambda: ec2_samples(cloud, instance_id) >= 1, 30, "the first EC2 datapoints")
    base = f"http://{deployment['ip']}"
    pages = bounded_load(base, "/", PAGE_LOADS)
    missing_path = f"/missing-{uuid.uuid4().hex[:6]}"
    missing = bounded_load(base, missing_path, MISSING_LOADS)
    probe = get(base + PROBE)
    cloud.cli("metrics")
    wait_for(lambda: ec2_samples(cloud, instance_id) >= 2, 30, "the EC2 datapoints after the load")
    first = monitor(cloud, deployment)
    first_report = report_of(first)
    second = monitor(cloud, deployment)
    return {
        "statuses": (pages, missing, probe),
        "missing_path": missing_path,
        "first": first,
        "first_report": first_report,
        "second": second,
        "second_report": report_of(second),
    }


def test_load_was_served(runs):
    pages, missing, probe = runs["statuses"]
    assert pages == [200] * PAGE_LOADS
    assert missing == [404] * MISSING_LOADS
    assert probe == 404


def test_report_shows_cpu_and_network_of_the_instance(runs, deployment):
    report = runs["first_report"]
    assert report["instance"]["id"] == deployment["instance_id"]
    assert report["bucket"].startswith(f"aaw-{deployment['name']}-")
    cpu = series(report, "CPUUtilization", "Maximum")
    assert cpu["status"] == "ok" and cpu["summary"]["max"] > 0, cpu
    assert cpu["unit"] == "Percent"
    for metric in ("NetworkIn", "NetworkOut"):
        network = series(report, metric, "Maximum")
        assert network["status"] == "ok" and network["summary"]["max"] > 0, network
    # The load alone sent PAGE_LOADS home pages of over 1 KB each.
    assert series(report, "NetworkOut", "Maximum")["summary"]["max"] > PAGE_LOADS * 1024
    assert series(report, "StatusCheckFailed", "Maximum")["summary"]["max"] == 0
    # The console table names the instance's metrics too.
    assert re.search(rf"{deployment['instance_id']}\s+AWS/EC2\s+CPUUtilization", runs["first"].output)


def test_access_log_summary_counts_the_requests(runs):
    logs = runs["first_report"]["logs"]
    paths = {p["path"]: p["count"] for p in logs["top_paths"]}
    statuses = {s["status"]: s["count"] for s in logs["status_codes"]}
    assert paths[runs["missing_path"]] == MISSING_LOADS
    assert paths["/"] >= PAGE_LOADS  # and the deployment's own page check
    assert paths[PROBE] == 1
    assert statuses["404"] == MISSING_LOADS + 1
    assert statuses["200"] >= PAGE_LOADS
    assert logs["requests"] == sum(statuses.values()) == sum(logs["status_classes"].values())
    assert logs["requests"] >= PAGE_LOADS + MISSING_LOADS + 1
    assert logs["top_clients"] and logs["top_clients"][0]["count"] >= PAGE_LOADS
    assert logs["error_log"]["path"] == "/var/log/apache2/error.log" and logs["error_log"]["lines"]
    assert re.search(r"Top paths:\s+/ \d+", runs["first"].output)


def test_page_views_are_published_once(cloud, runs, deployment):
    first, second = runs["first_report"]["page_views"], runs["second_report"]["page_views"]
    assert first["published"] and first["value"] == PAGE_LOADS, first
    assert first["counted_from"] == "first_run"
    assert series(runs["first_report"], "PageViews", "Sum")["summary"]["max"] == PAGE_LOADS
    # The second run, right after, counts from the mark the first one left: nothing new.
    assert second["published"] and second["value"] == 0, second
    assert second["counted_from"] == "mark"
    assert page_views(cloud, deployment["name"], "Sum") == PAGE_LOADS
    assert page_views(cloud, deployment["name"], "SampleCount") == 2
    assert series(runs["second_report"], "PageViews", "Sum")["summary"]["max"] == PAGE_LOADS


def test_high_water_mark_is_kept_on_the_instance(runs, deployment):
    mark = ssh(deployment, "cat /var/lib/webserver-monitor/last-publish; stat -c '%i %s' /var/log/apache2/access.log")
    assert mark.returncode == 0, mark.stderr
    saved, stat = mark.stdout.strip().splitlines()
    saved = json.loads(saved)
    inode, size = (int(v) for v in stat.split())
    assert saved["inode"] == inode and saved["offset"] == size
    # The second run found nothing new: the mark it would have written is the one kept.
    latest = runs["second_report"]["logs"]["page_views"]["mark"]
    assert (saved["inode"], saved["offset"], saved["head_sha256"]) == (
        latest["inode"],
        latest["offset"],
        latest["head_sha256"],
    )


def test_new_page_views_after_a_publish_are_counted(cloud, runs, deployment):
    """Over HTTP and HTTPS alike (one access log); a load balancer's health checks are not views."""
    bounded_load(f"http://{deployment['ip']}", "/index.html", 4)
    unverified = ssl.create_default_context()
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE  # the instance's self-signed one
    for _ in range(2):
        with urllib.request.urlopen(f"https://{deployment['ip']}/", timeout=5, context=unverified) as answer:
            assert answer.status == 200
    checker = urllib.request.Request(f"http://{deployment['ip']}/", headers={"User-Agent": "ELB-HealthChecker/2.0"})
    with urllib.request.urlopen(checker, timeout=5) as answer:
        assert answer.status == 200
    run = monitor(cloud, deployment)
    report = report_of(run)
    assert report["page_views"]["value"] == 6
    assert page_views(cloud, deployment["name"], "Sum") == PAGE_LOADS + 6


def test_check_mode_publishes_nothing(cloud, runs, deployment):
    before = page_views(cloud, deployment["name"], "SampleCount")
    mark = ssh(deployment, "cat /var/lib/webserver-monitor/last-publish").stdout
    bounded_load(f"http://{deployment['ip']}", "/", 2)
    run = monitor(cloud, deployment, "--check")
    report = report_of(run)
    assert report["page_views"]["value"] == 2 and not report["page_views"]["published"]
    assert page_views(cloud, deployment["name"], "SampleCount") == before
    assert ssh(deployment, "cat /var/lib/webserver-monitor/last-publish").stdout == mark


def test_html_report_shows_a_chart_per_metric_in_a_browser(runs, tmp_path):
    report = runs["first_report"]
    html = Path(report["files"]["html"])
    charts = {(m["namespace"], m["resource"], m["metric"]) for m in report["metrics"]}
    with_data = {(m["namespace"], m["resource"], m["metric"]) for m in report["metrics"] if m["datapoints"]}
    browser = Browser()
    try:
        url = html.as_uri()
        browser.open(url)
        shot = browser.screenshot(tmp_path / "report.png")
        found = browser.evaluate(
            "[...document.querySelectorAll('figure.metric')].map(f => ({metric: f.dataset.metric,"
            " resource: f.dataset.resource, svgs: f.querySelectorAll('svg.chart').length,"
            " points: f.querySelectorAll('svg.chart circle').length,"
            " width: f.querySelector('svg.chart').getBoundingClientRect().width}))"
        )
        svg_count = browser.evaluate("document.querySelectorAll('svg').length")
        scripts = browser.evaluate("document.scripts.length")
        loaded = browser.evaluate("performance.getEntriesByType('resource').length")
        paths = browser.evaluate("document.getElementById('top-paths').innerText")
    finally:
        browser.close()
    assert shot.stat().st_size > 20_000
    assert svg_count == len(charts) == len(found)
    assert {(f["resource"], f["metric"]) for f in found} == {(r, m) for _n, r, m in charts}
    assert all(f["svgs"] == 1 and f["width"] > 300 for f in found)
    for f in found:
        has_data = any(r == f["resource"] and m == f["metric"] for _n, r, m in with_data)
        assert (f["points"] > 0) == has_data, f
    assert {"CPUUtilization", "NetworkIn", "NetworkOut", "PageViews"} <= {f["metric"] for f in found if f["points"]}
    # Nothing is loaded from anywhere, no script runs, and the hostile path is shown as text.
    assert scripts == 0 and loaded == 0
    assert PROBE in paths
    source = html.read_text()
    assert "<script" not in source and "&lt;script&gt;alert(1)" in source


def test_no_deployment_gives_a_clear_message(cloud, tmp_path):
    name = f"none{uuid.uuid4().hex[:6]}"
    run = playbook(
        cloud, "monitor", tmp_path, "-e", f"deployment_name={name}", "-e", f"monitoring_report_dir={tmp_path}"
    )
    assert run.returncode != 0
    assert f"no deployment named '{name}'" in run.output
    assert "playbooks/deploy.yml" in run.output and f"-e deployment_name={name}" in run.output
    assert not list(tmp_path.glob("*.html"))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("-e", "windows_minutes=5"), "windows_minutes is not a switch of this playbook: did you mean window_minutes?"),
        (("-e", "period=sixty"), 'period="sixty" is not valid: it must be a whole number.'),
        (("-e", "dashboard=ture"), 'dashboard="ture" is not valid: it must be true or false.'),
        (("-e", "monitoring_perod=60"), "not a setting of this project: did you mean monitoring_period"),
    ],
    ids=["misspelt-switch", "period-not-a-number", "dashboard-not-a-bool", "misspelt-setting"],
)
def test_a_bad_or_misspelt_option_stops_before_any_aws_call(cloud, tmp_path, args, says):
    run = playbook(cloud, "monitor", tmp_path, "-e", f"monitoring_report_dir={tmp_path}", *args)
    assert run.returncode != 0
    assert says in " ".join(run.output.split()), run.output[-3000:]
    assert "Find the deployment's instances by their tags" not in run.output  # no AWS call
    assert not list(tmp_path.glob("*.html"))


def test_without_the_ssh_key_the_report_is_written_and_the_run_fails(cloud, runs, deployment, tmp_path):
    before = page_views(cloud, deployment["name"], "SampleCount")
    run = monitor(cloud, deployment, "-e", f"deployment_key_dir={tmp_path}")
    assert run.returncode != 0
    assert f"The private key of the instance is not at {tmp_path}/{deployment['name']}-key.pem" in run.output
    html = re.search(r"HTML report: (\S+\.html)", run.output)
    assert html and "The logs were not read" in Path(html.group(1)).read_text()
    assert page_views(cloud, deployment["name"], "SampleCount") == before


def test_the_logs_are_read_without_a_wait_and_a_silent_ssh_is_waited_for_then_explained(cloud, runs, deployment):
    """The logs are read at once (no module run to wait for SSH first); when SSH does not answer (here
    a closed port), the run waits for it, then writes the report without the logs and says why."""
    wait = "monitoring : Wait for the web server to answer SSH."
    assert "\nskipping: " in runs["first"].task(wait)
    before = page_views(cloud, deployment["name"], "SampleCount")
    run = monitor(cloud, deployment, "-e", "ansible_port=2222", "-e", "monitoring_connect_timeout=3")
    assert run.returncode != 0
    first = run.task("monitoring : Summarise the access and error logs and count")
    assert "UNREACHABLE" in first and "...ignoring" in first
    assert "\nfatal: " in run.task(wait) and "port 2222" in run.task(wait)
    said = " ".join(run.output.split())
    assert f"The logs of {deployment['name']}-web (" in said and "could not be read" in said
    html = re.search(r"HTML report: (\S+\.html)", run.output)
    assert html and "The logs were not read" in Path(html.group(1)).read_text()
    assert page_views(cloud, deployment["name"], "SampleCount") == before


def test_high_cpu_alarm_notifies_the_alarm_topic(cloud, deployment):
    name = deployment["name"]
    alarm = cloud.client("cloudwatch").describe_alarms(AlarmNames=[f"aaw-{name}-high-cpu"])["MetricAlarms"]
    assert len(alarm) == 1
    alarm = alarm[0]
    topic = topic_arn(cloud, name)
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/EC2", "CPUUtilization", "Average")
    assert alarm["Dimensions"] == [{"Name": "InstanceId", "Value": deployment["instance_id"]}]
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] == 80.0
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 600
    assert alarm["AlarmActions"] == [topic] and alarm["OKActions"] == [topic]
    attributes = cloud.client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["TopicArn"] == topic


def test_high_cpu_alarm_is_configurable(cloud, deployment, runs):
    """Runs last in this module: it changes the alarm, then puts the defaults back."""
    name = deployment["name"]
    cloudwatch, sns = cloud.client("cloudwatch"), cloud.client("sns")
    topic = topic_arn(cloud, name)
    reboot = f"arn:aws:automate:{cloud.env['AWS_DEFAULT_REGION']}:ec2:reboot"

    # Alarm changes need only the alarm step (--tags alarm), as the README says.
    both = playbook(
        cloud, "deploy", deployment["state"], "-e", f"deployment_name={name}", "--tags", "alarm",
        "-e", '{"deployment_high_cpu_actions": ["notify", "reboot"]}',
        "-e", "deployment_high_cpu_threshold=90", "-e", "deployment_high_cpu_minutes=15",
        "-e", "deployment_alarm_email=ops@example.com",
    )  # fmt: skip
    assert both.returncode == 0, both.output[-3000:]
    alarm = cloudwatch.describe_alarms(AlarmNames=[f"aaw-{name}-high-cpu"])["MetricAlarms"][0]
    assert alarm["Threshold"] == 90.0 and alarm["Period"] * alarm["EvaluationPeriods"] == 15 * 60
    assert alarm["AlarmActions"] == [topic, reboot]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "ops@example.com")]

    reboot_only = playbook(
        cloud, "deploy", deployment["state"], "-e", f"deployment_name={name}", "--tags", "alarm",
        "-e", '{"deployment_high_cpu_actions": ["reboot"]}',
    )  # fmt: skip
    assert reboot_only.returncode == 0, reboot_only.output[-3000:]
    alarm = cloudwatch.describe_alarms(AlarmNames=[f"aaw-{name}-high-cpu"])["MetricAlarms"][0]
    assert alarm["AlarmActions"] == [reboot] and alarm["OKActions"] == []
    assert topic not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]

    # The monitor's report shows the alarm as it now is.
    report = report_of(monitor(cloud, deployment))
    high_cpu = [a for a in report["alarms"] if a["name"] == f"aaw-{name}-high-cpu"]
    assert high_cpu and high_cpu[0]["alarm_actions"] == [reboot] and high_cpu[0]["threshold"] == 80.0

    restored = playbook(cloud, "deploy", deployment["state"], "-e", f"deployment_name={name}", "--tags", "alarm")
    assert restored.returncode == 0, restored.output[-3000:]
    assert cloudwatch.describe_alarms(AlarmNames=[f"aaw-{name}-high-cpu"])["MetricAlarms"][0]["AlarmActions"] == [topic]


def test_dashboard_shows_the_instance_the_bucket_the_page_views_and_the_alarms(cloud, runs, deployment):
    cloudwatch = cloud.client("cloudwatch")
    name = deployment["name"]
    assert f"aaw-{name}" not in [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]  # opt-in
    first = monitor(cloud, deployment, "-e", "dashboard=true")
    report = report_of(first)
    assert report["dashboard"] == f"aaw-{name}"
    assert f"Dashboard: aaw-{name} in CloudWatch (updated)" in first.output
    body = json.loads(cloudwatch.get_dashboard(DashboardName=f"aaw-{name}")["DashboardBody"])
    metrics = [w["properties"]["metrics"][0] for w in body["widgets"] if w["type"] == "metric"]
    assert ["AWS/EC2", "CPUUtilization", "InstanceId", deployment["instance_id"]] in metrics
    assert any(m[:4] == ["AWS/S3", "BucketSizeBytes", "BucketName", report["bucket"]] for m in metrics)
    assert ["WebServer", "PageViews", "Deployment", name] in metrics
    alarms = next(w for w in body["widgets"] if w["type"] == "alarm")["properties"]["alarms"]
    assert sorted(arn.rsplit(":", 1)[1] for arn in alarms) == [f"aaw-{name}-high-cpu", f"aaw-{name}-idle-terminate"]
    # Each module counts its own CloudWatch calls: the dashboard was read, then written.
    calls = report["api_calls"]
    assert calls["by_operation"]["DescribeAlarms"] == 1 and calls["by_operation"]["GetMetricData"] >= 1
    assert (calls["by_operation"]["GetDashboard"], calls["by_operation"]["PutDashboard"]) == (1, 1)
    assert calls["cloudwatch"] == sum(calls["by_operation"].values())
    second = monitor(cloud, deployment, "-e", "dashboard=true")
    assert f"Dashboard: aaw-{name} in CloudWatch (up to date)" in second.output
    assert "PutDashboard" not in report_of(second)["api_calls"]["by_operation"]  # nothing to write
