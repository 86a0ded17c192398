"""Launch local-cloud instances with plain boto3 and reach them by SSH, as a user would."""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from conftest import LocalCloud, wait_for

DEBIAN_AMI_PARAMETER = "/aws/service/debian/release/12/latest/amd64"


@dataclass
class Launched:
    cloud: LocalCloud
    instance_id: str
    public_ip: str
    key_file: Path
    known_hosts: Path

    def ssh(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                "ssh", "-i", str(self.key_file),
                "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=accept-new",
                "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "ConnectTimeout=5",
                f"admin@{self.public_ip}", command,
            ],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def wait_for_ssh(self, timeout: float = 60) -> None:
        wait_for(lambda: self.ssh("true", timeout=15).returncode == 0, timeout, f"SSH to {self.public_ip}", 0.3)

    def describe(self) -> dict:
        ec2 = self.cloud.client("ec2")
        return ec2.describe_instances(InstanceIds=[self.instance_id])["Reservations"][0]["Instances"][0]

    def state(self) -> str:
        return self.describe()["State"]["Name"]


def local_ami(cloud: LocalCloud) -> str:
    return cloud.client("ssm").get_parameter(Name=DEBIAN_AMI_PARAMETER)["Parameter"]["Value"]


def security_group(cloud: LocalCloud, ports: tuple[int, ...] = (22, 80), cidr: str = "127.0.0.1/32") -> str:
    ec2 = cloud.client("ec2")
    group = ec2.create_security_group(GroupName=f"test-{uuid.uuid4().hex[:8]}", Description="test")["GroupId"]
    if ports:
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": cidr}]} for p in ports
            ],
        )
    return group


def key_pair(cloud: LocalCloud, folder: Path) -> tuple[str, Path]:
    name = f"test-{uuid.uuid4().hex[:8]}"
    material = cloud.client("ec2").create_key_pair(KeyName=name)["KeyMaterial"]
    path = folder / f"{name}.pem"
    path.write_text(material)
    os.chmod(path, 0o600)
    return name, path


def launch(
    cloud: LocalCloud,
    folder: Path,
    user_data: str = "#!/bin/bash\necho hello > /var/tmp/user-data-ran\n",
    http_tokens: str = "required",
    ports: tuple[int, ...] = (22, 80),
    cpu_credits: str | None = None,
) -> Launched:
    """A t3.nano of the local AMI; `cpu_credits` its CPU credit mode (None: AWS's default, unlimited)."""
    ec2 = cloud.client("ec2")
    name, key_file = key_pair(cloud, folder)
    more = {"CreditSpecification": {"CpuCredits": cpu_credits}} if cpu_credits else {}
    response = ec2.run_instances(
        ImageId=local_ami(cloud),
        InstanceType="t3.nano",
        MinCount=1,
        MaxCount=1,
        KeyName=name,
        SecurityGroupIds=[security_group(cloud, ports)],
        UserData=user_data,
        MetadataOptions={"HttpTokens": http_tokens, "HttpEndpoint": "enabled"},
        **more,
    )
    instance_id = response["Instances"][0]["InstanceId"]
    launched = Launched(cloud, instance_id, "", key_file, folder / "known_hosts")
    wait_for(lambda: launched.state() == "running", 60, f"{instance_id} to run")
    launched.public_ip = launched.describe()["PublicIpAddress"]
    return launched
