"""What a deployment has in a test local cloud: every resource type the project creates, found
independently of the playbooks (plain boto3, podman, ip), so tests can check what teardown left."""

from __future__ import annotations

import json
import os
import subprocess

from botocore.exceptions import ClientError

from conftest import LocalCloud

NOTHING = {
    kind: []
    for kind in (
        "instances",
        "groups",
        "keys",
        "buckets",
        "alarms",
        "volumes",
        "topics",
        "dashboards",
        "containers",
        "namespaces",
        "scaling",
        "lock",
    )
}


def named(name: str) -> tuple[str, ...]:
    """The prefixes of deployment `name`'s resource names: the project's (aaw-), and an earlier version's."""
    return (f"aaw-{name}-", f"{name}-")


def resources(cloud: LocalCloud, name: str) -> dict[str, list[str]]:
    """Everything tagged or named for deployment `name`, by type."""
    ec2 = cloud.client("ec2")
    tag = [{"Name": "tag:Deployment", "Values": [name]}]
    instances = [
        i["InstanceId"]
        for r in ec2.describe_instances(Filters=tag)["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]
    groups = [g["GroupId"] for g in ec2.describe_security_groups(Filters=tag)["SecurityGroups"]]
    keys = [k["KeyName"] for k in ec2.describe_key_pairs(Filters=tag)["KeyPairs"]]
    buckets = [b["Name"] for b in cloud.client("s3").list_buckets()["Buckets"] if b["Name"].startswith(named(name))]
    alarms = [
        a["AlarmName"]
        for prefix in named(name)
        for a in cloud.client("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
    ]
    return {"instances": instances, "groups": groups, "keys": keys, "buckets": buckets, "alarms": alarms}


def scaling(cloud: LocalCloud, name: str) -> list[str]:
    """The group mode's resources of deployment `name`, by the names deploy gives them."""
    found = [f"group {g['AutoScalingGroupName']}" for g in cloud.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[f"{name}-web"])["AutoScalingGroups"]]  # fmt: skip
    elbv2 = cloud.client("elbv2")
    found += [f"balancer {b['LoadBalancerName']}" for b in elbv2.describe_load_balancers()["LoadBalancers"]
              if b["LoadBalancerName"] in (f"aaw-{name}-lb", f"{name}-lb")]  # fmt: skip
    found += [f"target group {t['TargetGroupName']}" for t in elbv2.describe_target_groups()["TargetGroups"]
              if t["TargetGroupName"] in (f"aaw-{name}-tg", f"{name}-tg")]  # fmt: skip
    found += [f"launch template {t['LaunchTemplateName']}"
              for t in cloud.client("ec2").describe_launch_templates()["LaunchTemplates"]
              if t["LaunchTemplateName"] == f"{name}-web"]  # fmt: skip
    acm = cloud.client("acm")
    for summary in acm.list_certificates()["CertificateSummaryList"]:
        tags = acm.list_tags_for_certificate(CertificateArn=summary["CertificateArn"])["Tags"]
        if {"Key": "Name", "Value": f"{name}-https"} in tags:
            found.append(f"certificate {summary['CertificateArn']}")
    return found


def instance_ids(cloud: LocalCloud, name: str) -> list[str]:
    """Every instance ever tagged for `name`, terminated ones included."""
    reservations = cloud.client("ec2").describe_instances(Filters=[{"Name": "tag:Deployment", "Values": [name]}])
    return [i["InstanceId"] for r in reservations["Reservations"] for i in r["Instances"]]


def container_records(cloud: LocalCloud, instance_id: str) -> list[dict]:
    """podman's records of the containers (any state) standing behind an instance."""
    result = subprocess.run(
        ["podman", "ps", "-a", "--filter", f"label=io.localcloud.instance={instance_id}", "--format", "json"],
        env={**os.environ, "CONTAINERS_CONF": str(cloud.home / "containers.conf")},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout or "[]")


def containers(cloud: LocalCloud, instance_id: str) -> list[str]:
    """Names of the podman containers (any state) standing behind an instance."""
    return [n for c in container_records(cloud, instance_id) for n in c.get("Names", [])]


def tagged_buckets(cloud: LocalCloud, name: str) -> list[str]:
    s3 = cloud.client("s3")
    found = []
    for bucket in s3.list_buckets()["Buckets"]:
        try:
            tags = s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"]
        except ClientError:
            continue  # no tags (or deleted meanwhile)
        if {"Key": "Deployment", "Value": name} in tags:
            found.append(bucket["Name"])
    return found


def sweep(cloud: LocalCloud, name: str) -> dict[str, list[str]]:
    """resources() plus everything else that could stay behind: buckets tagged for the deployment
    whatever their name, the instances' tagged volumes, the alarm topic and dashboard, and the
    containers and network namespaces of any instance the deployment ever had, its lock. All lists are
    empty once the deployment is gone."""
    found = resources(cloud, name)
    found["buckets"] = sorted(set(found["buckets"]) | set(tagged_buckets(cloud, name)))
    volumes = cloud.client("ec2").describe_volumes(Filters=[{"Name": "tag:Deployment", "Values": [name]}])
    found["volumes"] = [v["VolumeId"] for v in volumes["Volumes"]]
    found["topics"] = [
        t["TopicArn"]
        for t in cloud.client("sns").list_topics()["Topics"]
        if t["TopicArn"].rsplit(":", 1)[-1].startswith(named(name))
    ]
    found["dashboards"] = [
        d["DashboardName"]
        for d in cloud.client("cloudwatch").list_dashboards()["DashboardEntries"]
        if d["DashboardName"] in (name, f"aaw-{name}") or d["DashboardName"].startswith(named(name))
    ]
    found["scaling"] = scaling(cloud, name)
    lock = cloud.client("ssm").get_parameters(Names=[f"/aaw/{name}/lock"])["Parameters"]
    found["lock"] = [parameter["Name"] for parameter in lock]
    ids = instance_ids(cloud, name)
    found["containers"] = [c for i in ids for c in containers(cloud, i)]
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    found["namespaces"] = [line.split()[0] for line in namespaces.splitlines() if any(i in line for i in ids)]
    return found
