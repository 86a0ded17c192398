"""The local cloud's load balancers and Auto Scaling groups (localcloud/balancer.py, groups.py,
autoscaling.py), driven with plain boto3: an Auto Scaling group of two behind an ALB, as AWS
would run it. Each instance writes its own id to /id.txt at boot from IMDSv2."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import LocalCloud, wait_for
from groups import served_certificate

USER_DATA = """#cloud-config
runcmd:
  - [sh, -c, 'M=http://169.254.169.254/latest;
      T=$(curl -s -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" $M/api/token);
      curl -s -H "X-aws-ec2-metadata-token: $T" $M/meta-data/instance-id > /var/www/html/id.txt']
"""


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError:  # refused, reset: nothing listens (yet)
        return 0, ""


class Stack:
    """A launch template, a group over two zones, a target group, an ALB and its listener."""

    def __init__(self, cloud: LocalCloud):
        self.cloud = cloud
        self.name = f"lb{uuid.uuid4().hex[:6]}"
        self.ec2, self.elb, self.asg = cloud.client("ec2"), cloud.client("elbv2"), cloud.client("autoscaling")
        vpc = self.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        subnets = self.ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
        self.subnets = sorted(subnets, key=lambda s: s["AvailabilityZone"])[:2]
        self.lb_group = self._group("alb", vpc, [{"CidrIp": "127.0.0.0/8"}])
        self.web_group = self._group("web", vpc, None, source=self.lb_group)
        image = cloud.client("ssm").get_parameter(Name="/aws/service/debian/release/12/latest/amd64")["Parameter"]
        self.ec2.create_launch_template(
            LaunchTemplateName=self.name,
            LaunchTemplateData={
                "ImageId": image["Value"], "InstanceType": "t3.nano", "SecurityGroupIds": [self.web_group],
                "UserData": base64.b64encode(USER_DATA.encode()).decode(),
                "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
            },
        )  # fmt: skip
        self.target_group = self.elb.create_target_group(
            Name=self.name, Protocol="HTTP", Port=80, VpcId=vpc, HealthCheckPath="/id.txt",
            HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2,
            UnhealthyThresholdCount=2,
        )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
        self.elb.modify_target_group_attributes(
            TargetGroupArn=self.target_group, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "5"}]
        )
        balancer = self.elb.create_load_balancer(
            Name=self.name, Subnets=[s["SubnetId"] for s in self.subnets], SecurityGroups=[self.lb_group],
            Scheme="internet-facing", Type="application",
        )["LoadBalancers"][0]  # fmt: skip
        self.dns = balancer["DNSName"]
        self.elb.create_listener(
            LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": self.target_group}],
        )  # fmt: skip
        self.asg.create_auto_scaling_group(
            AutoScalingGroupName=self.name, LaunchTemplate={"LaunchTemplateName": self.name, "Version": "$Latest"},
            MinSize=2, MaxSize=3, DesiredCapacity=2, TargetGroupARNs=[self.target_group],
            VPCZoneIdentifier=",".join(s["SubnetId"] for s in self.subnets),
            HealthCheckType="ELB", HealthCheckGracePeriod=20,
        )  # fmt: skip

    def _group(self, role: str, vpc: str, cidrs, source: str | None = None) -> str:
        group = self.ec2.create_security_group(GroupName=f"{self.name}-{role}", Description=role, VpcId=vpc)["GroupId"]
        rule = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80}
        rule.update({"IpRanges": cidrs} if cidrs else {"UserIdGroupPairs": [{"GroupId": source}]})
        self.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[rule])
        return group

    def health(self) -> dict[str, tuple[str, str]]:
        found = self.elb.describe_target_health(TargetGroupArn=self.target_group)["TargetHealthDescriptions"]
        return {d["Target"]["Id"]: (d["TargetHealth"]["State"], d["TargetHealth"].get("Reason", "")) for d in found}

    def members(self) -> list[dict]:
        return self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[self.name])["AutoScalingGroups"][0][
            "Instances"
        ]

    def wait_healthy(self, count: int, timeout: float = 120) -> dict:
        def ready():
            health = self.health()
            healthy = [i for i, (state, _) in health.items() if state == "healthy"]
            return health if len(healthy) == count and len(self.members()) == count else None

        return wait_for(ready, timeout, f"{count} healthy targets", interval=1)


@pytest.fixture(scope="module")
def stack(cloud: LocalCloud):
    built = Stack(cloud)
    built.wait_healthy(2)
    return built


def test_balancer_answers_on_a_loopback_address_with_each_instance_in_turn(stack):
    assert stack.dns.startswith("127."), "the DNS name is the balancer's loopback address"
    zones = {m["AvailabilityZone"] for m in stack.members()}
    assert zones == {s["AvailabilityZone"] for s in stack.subnets}, "one instance in each zone"
    answers = [fetch(f"http://{stack.dns}/id.txt") for _ in range(6)]
    ids = Counter(text for status, text in answers if status == 200)
    assert sorted(ids) == sorted(m["InstanceId"] for m in stack.members())
    assert set(ids.values()) == {3}, f"round robin: {ids}"
    described = stack.ec2.describe_instances(InstanceIds=list(ids))["Reservations"]
    for instance in (i for r in described for i in r["Instances"]):
        assert instance["MetadataOptions"]["HttpTokens"] == "required", "the template's IMDSv2 setting applies"


def certificate_for(address: str, name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate for an IP address, and its key (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    made = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
    return made.public_bytes(serialization.Encoding.PEM), private


def test_an_https_listener_serves_its_acm_certificate_and_a_reimported_one(stack):
    acm = stack.cloud.client("acm")
    body, key = certificate_for(stack.dns, stack.name)
    arn = acm.import_certificate(Certificate=body, PrivateKey=key)["CertificateArn"]
    stack.ec2.authorize_security_group_ingress(
        GroupId=stack.lb_group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "127.0.0.0/8"}]}],
    )
    balancer = stack.elb.describe_load_balancers(Names=[stack.name])["LoadBalancers"][0]["LoadBalancerArn"]

    def listener_made() -> str | None:
        """As on AWS, ELB finds a certificate some seconds after its import (CertificateNotFound until then)."""
        try:
            return stack.elb.create_listener(
                LoadBalancerArn=balancer, Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": arn}],
                DefaultActions=[{"Type": "forward", "TargetGroupArn": stack.target_group}],
            )["Listeners"][0]["ListenerArn"]  # fmt: skip
        except stack.elb.exceptions.CertificateNotFoundException:
            return None

    listener = wait_for(listener_made, 15, "the certificate to reach Elastic Load Balancing", 0.5)
    trusting = ssl.create_default_context(cadata=body.decode())

    def page() -> str | None:
        try:
            with urllib.request.urlopen(f"https://{stack.dns}/id.txt", timeout=5, context=trusting) as answer:
                return answer.read().decode() if answer.status == 200 else None
        except OSError:
            return None

    text = wait_for(page, 30, "the HTTPS listener")
    assert text in {m["InstanceId"] for m in stack.members()}, "the page of one of the group's instances"
    assert served_certificate(stack.dns) == ssl.PEM_cert_to_DER_cert(body.decode())
    renewed, renewed_key = certificate_for(stack.dns, stack.name)
    acm.import_certificate(CertificateArn=arn, Certificate=renewed, PrivateKey=renewed_key)
    expected = ssl.PEM_cert_to_DER_cert(renewed.decode())
    wait_for(lambda: served_certificate(stack.dns) == expected, 15, "the re-imported certificate served")
    with pytest.raises(Exception, match="ResourceInUseException"):
        acm.delete_certificate(CertificateArn=arn)
    stack.elb.delete_listener(ListenerArn=listener)
    acm.delete_certificate(CertificateArn=arn)
    wait_for(lambda: served_certificate(stack.dns) == b"", 15, "port 443 closed with the listener")


def test_instances_refuse_the_client_and_answer_the_balancer(stack):
    member = stack.ec2.describe_instances(InstanceIds=[stack.members()[0]["InstanceId"]])
    public_ip = member["Reservations"][0]["Instances"][0]["PublicIpAddress"]
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://{public_ip}/id.txt", timeout=3)


def test_a_dead_web_server_goes_unhealthy_and_the_group_replaces_it(stack):
    victim = stack.members()[0]["InstanceId"]
    conf = {**os.environ, "CONTAINERS_CONF": str(stack.cloud.home / "containers.conf")}
    container = subprocess.run(
        ["podman", "ps", "--filter", f"label=io.localcloud.instance={victim}", "--format", "{{.Names}}"],
        env=conf, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    subprocess.run(["podman", "exec", container, "systemctl", "stop", "apache2"], env=conf, check=True)
    failures_after_marked, marked = Counter(), False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status, _ = fetch(f"http://{stack.dns}/id.txt")
        health = stack.health()
        if health.get(victim, ("",))[0] in ("unhealthy", "draining", "unused") or victim not in health:
            marked = True
        if marked and status >= 500:
            failures_after_marked[status] += 1
        others = [i for i, (state, _) in health.items() if i != victim and state == "healthy"]
        if marked and len(others) == 2:
            break
        time.sleep(0.3)
    assert marked, "the stopped web server failed its health checks"
    assert victim not in {m["InstanceId"] for m in stack.members()}, "the group let the unhealthy instance go"
    assert not failures_after_marked, f"5xx once the target was marked unhealthy: {failures_after_marked}"
    assert stack.ec2.describe_instances(InstanceIds=[victim])["Reservations"][0]["Instances"][0]["State"]["Name"] in (
        "shutting-down", "terminated",
    )  # fmt: skip


def test_a_step_policy_adds_an_instance_that_serves_and_scale_in_drains(stack):
    policy = stack.asg.put_scaling_policy(
        AutoScalingGroupName=stack.name, PolicyName=f"{stack.name}-out", PolicyType="StepScaling",
        AdjustmentType="ChangeInCapacity", StepAdjustments=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    )  # fmt: skip
    assert policy["PolicyARN"]
    before = {m["InstanceId"] for m in stack.members()}
    stack.asg.execute_policy(
        AutoScalingGroupName=stack.name, PolicyName=f"{stack.name}-out", MetricValue=90, BreachThreshold=60
    )
    stack.wait_healthy(3)
    added = ({m["InstanceId"] for m in stack.members()} - before).pop()
    wait_for(lambda: added in {fetch(f"http://{stack.dns}/id.txt")[1] for _ in range(3)}, 30, "the new instance serves")

    stack.asg.set_desired_capacity(AutoScalingGroupName=stack.name, DesiredCapacity=2)

    def draining():
        health = stack.health()
        return health if any(state == "draining" for state, _ in health.values()) else None

    health = wait_for(draining, 30, "a draining target")
    assert [r for s, r in health.values() if s == "draining"] == ["Target.DeregistrationInProgress"]
    wait_for(lambda: len(stack.health()) == 2, 30, "the drained target gone after its 5 s delay")
    assert {s for s, _ in stack.health().values()} == {"healthy"}


def test_no_target_answers_503_and_unhealthy_targets_fail_open(stack):
    vpc = stack.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    empty = stack.elb.create_target_group(
        Name=f"{stack.name}-e", Protocol="HTTP", Port=80, VpcId=vpc, HealthCheckPath="/nothing-here",
        HealthCheckIntervalSeconds=5, HealthyThresholdCount=2, UnhealthyThresholdCount=2,
    )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
    balancer = stack.elb.create_load_balancer(
        Name=f"{stack.name}-e", Subnets=[s["SubnetId"] for s in stack.subnets], SecurityGroups=[stack.lb_group],
    )["LoadBalancers"][0]  # fmt: skip
    stack.elb.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": empty}],
    )  # fmt: skip
    url = f"http://{balancer['DNSName']}/id.txt"
    assert wait_for(lambda: fetch(url)[0] == 503, 10, "the balancer to answer 503 with no target")
    member = stack.members()[0]["InstanceId"]
    stack.elb.register_targets(TargetGroupArn=empty, Targets=[{"Id": member}])

    def unhealthy():
        found = stack.elb.describe_target_health(TargetGroupArn=empty)["TargetHealthDescriptions"]
        return found and found[0]["TargetHealth"]["State"] == "unhealthy" and found[0]["TargetHealth"]["Reason"]

    assert wait_for(unhealthy, 30, "the target unhealthy on /nothing-here") == "Target.ResponseCodeMismatch"
    assert fetch(url) == (200, member), "with no healthy target, the balancer sends to all (fail open)"
