"""Helpers for the group mode (deployment_capacity), shared by its tests and its benchmark."""

from __future__ import annotations

import re
import socket
import ssl
import urllib.error
import urllib.request

from conftest import LocalCloud
from playbooks import ssh

# One busy loop for at most 5 minutes, detached from the SSH session: up to half of a nano's two
# vCPUs, well over the tests' threshold, and the machine's other core left to the rest of the suite
# (make load puts a loop on every vCPU).
BUSY = "nohup timeout 300 sh -c 'while :; do :; done' >/dev/null 2>&1 &"
# The pattern must not match the shell that runs pkill ('[:]' matches ':').
CALM = "pkill -f 'while [:]' || true"


def page_instance(url: str) -> tuple[int, str]:
    """The HTTP status of the page at `url` and the instance id it shows ('' for none)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            found = re.search(r"Instance ID</th>\s*<td>(i-[0-9a-f]+)</td>", answer.read().decode())
            return answer.status, found.group(1) if found else ""
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError:
        return 0, ""


def group_of(cloud: LocalCloud, name: str) -> dict:
    """Deployment `name`'s Auto Scaling group, as DescribeAutoScalingGroups answers."""
    groups = cloud.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[f"{name}-web"])
    return groups["AutoScalingGroups"][0]


def target_states(cloud: LocalCloud, name: str) -> dict[str, str]:
    """Each target of deployment `name`'s target group with its state (initial, healthy, unhealthy, draining)."""
    elbv2 = cloud.client("elbv2")
    arn = elbv2.describe_target_groups(Names=[f"aaw-{name}-tg"])["TargetGroups"][0]["TargetGroupArn"]
    found = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in found}


def healthy(cloud: LocalCloud, name: str) -> list[str]:
    """The instances deployment `name`'s target group reports healthy."""
    return sorted(target for target, state in target_states(cloud, name).items() if state == "healthy")


def run_on(cloud: LocalCloud, deployment: dict, members, command: str) -> None:
    """`command` over SSH on each of the instances `members` of a deployment (its key and known hosts)."""
    ec2 = cloud.client("ec2")
    for member in sorted(members):
        instance = ec2.describe_instances(InstanceIds=[member])["Reservations"][0]["Instances"][0]
        result = ssh({**deployment, "ip": instance["PublicIpAddress"]}, command)
        assert result.returncode == 0, result.stderr


def served_certificate(address: str) -> bytes:
    """The DER certificate the TLS server at address:443 presents (not verified); b"" when none answers."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection((address, 443), timeout=5) as raw, context.wrap_socket(raw) as tls:
            return tls.getpeercert(binary_form=True)
    except OSError:  # refused or reset: no listener (yet, or any more)
        return b""
