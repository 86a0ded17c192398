"""The local cloud through its public faces: boto3, SSH, the metadata service, the CLI."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import (
    OWNER_FILE,
    LocalCloud,
    all_runs_temp_root,
    private_range,
    start_cloud,
    sweep_abandoned_clouds,
    wait_for,
)
from instances import key_pair, launch, local_ami, security_group
from sweep import container_records

pytestmark = pytest.mark.cloud

IMDS = "http://169.254.169.254"
TOKEN = f"$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' {IMDS}/latest/api/token)"


def imds_get(path: str, token: bool = True) -> str:
    header = f'-H "X-aws-ec2-metadata-token: {TOKEN}" ' if token else ""
    return f"curl -s -w '\\n%{{http_code}}' {header}{IMDS}{path}"


def split_status(output: str) -> tuple[str, int]:
    body, _, status = output.rstrip("\n").rpartition("\n")
    return body, int(status)


@pytest.fixture(scope="module")
def booted(cloud: LocalCloud, tmp_path_factory):
    """One instance, launched with boto3 and reached by SSH; shared by the read-only tests."""
    instance = launch(cloud, tmp_path_factory.mktemp("booted"))
    instance.wait_for_ssh()
    assert instance.ssh("cloud-init status --wait").returncode == 0
    return instance


def test_public_address_is_loopback_from_the_cloud_range(booted):
    assert ipaddress.ip_address(booted.public_ip) in ipaddress.ip_network(booted.cloud.env["LOCALCLOUD_PUBLIC_IPS"])


def test_ssh_login_as_admin_with_passwordless_sudo(booted):
    result = booted.ssh("id -un && sudo -n id -u")
    assert result.stdout.split() == ["admin", "0"], result.stderr


def test_imdsv2_returns_the_instance_values_moto_holds(booted):
    described = booted.describe()
    expected = {
        "/latest/meta-data/instance-id": described["InstanceId"],
        "/latest/meta-data/placement/availability-zone": described["Placement"]["AvailabilityZone"],
        "/latest/meta-data/instance-type": "t3.nano",
        "/latest/meta-data/ami-id": described["ImageId"],
        "/latest/meta-data/local-ipv4": described["PrivateIpAddress"],
        "/latest/meta-data/public-ipv4": booted.public_ip,
        "/latest/meta-data/placement/region": "us-east-1",
        "/latest/meta-data/mac": described["NetworkInterfaces"][0]["MacAddress"],
    }
    mac = expected["/latest/meta-data/mac"]
    expected[f"/latest/meta-data/network/interfaces/macs/{mac}/subnet-id"] = described["SubnetId"]
    expected[f"/latest/meta-data/network/interfaces/macs/{mac}/vpc-id"] = described["VpcId"]
    expected[f"/latest/meta-data/network/interfaces/macs/{mac}/security-group-ids"] = described["SecurityGroups"][0][
        "GroupId"
    ]
    for path, value in expected.items():
        body, status = split_status(booted.ssh(imds_get(path)).stdout)
        assert (status, body) == (200, value), path


def test_imds_public_key_is_the_key_pair(booted):
    body, status = split_status(booted.ssh(imds_get("/latest/meta-data/public-keys/0/openssh-key")).stdout)
    authorized = booted.ssh("cat ~/.ssh/authorized_keys").stdout
    assert status == 200
    assert body.split()[:2] == authorized.split()[:2]


def test_imds_requires_a_token_when_http_tokens_is_required(booted):
    _, status = split_status(booted.ssh(imds_get("/latest/meta-data/instance-id", token=False)).stdout)
    assert status == 401
    bad = booted.ssh(f"curl -s -o /dev/null -w '%{{http_code}}' -H 'X-aws-ec2-metadata-token: forged' {IMDS}/latest/")
    assert bad.stdout == "401"
    no_ttl = booted.ssh(f"curl -s -o /dev/null -w '%{{http_code}}' -X PUT {IMDS}/latest/api/token")
    assert no_ttl.stdout == "400"


def test_imds_user_data_and_cloud_init_ran_it_once(booted):
    body, status = split_status(booted.ssh(imds_get("/latest/user-data")).stdout)
    assert status == 200 and "user-data-ran" in body
    assert booted.ssh("cat /var/tmp/user-data-ran").stdout.strip() == "hello"
    status = booted.ssh("cloud-init status --long")
    assert "status: done" in status.stdout
    assert booted.ssh("test -s /var/log/cloud-init-output.log").returncode == 0


def test_instance_has_no_route_off_the_machine(booted):
    # eth0 leads only to the instance's own metadata service; there is no default route.
    routes = booted.ssh("ip -4 route show").stdout
    assert "default" not in routes
    assert "169.254.169.254 dev eth0" in routes
    unreachable = booted.ssh("ip route get 192.0.2.1")
    assert unreachable.returncode != 0 and "unreachable" in unreachable.stderr


def test_console_output_carries_the_boot(booted):
    ec2 = booted.cloud.client("ec2")
    output = wait_for(
        lambda: ec2.get_console_output(InstanceId=booted.instance_id).get("Output", ""), 30, "console output"
    )
    assert "cloud-init" in output


def test_imdsv1_allowed_when_optional(cloud, tmp_path):
    instance = launch(cloud, tmp_path, http_tokens="optional")
    instance.wait_for_ssh()
    body, status = split_status(instance.ssh(imds_get("/latest/meta-data/instance-id", token=False)).stdout)
    assert (status, body) == (200, instance.instance_id)
    cloud.client("ec2").modify_instance_metadata_options(InstanceId=instance.instance_id, HttpTokens="required")
    _, status = split_status(instance.ssh(imds_get("/latest/meta-data/instance-id", token=False)).stdout)
    assert status == 401
    cloud.client("ec2").terminate_instances(InstanceIds=[instance.instance_id])


def test_failing_user_data_shows_in_cloud_init_status(cloud, tmp_path):
    instance = launch(cloud, tmp_path, user_data="#!/bin/bash\necho about to fail\nexit 3\n")
    instance.wait_for_ssh()
    result = instance.ssh("cloud-init status --wait")
    assert result.returncode != 0
    assert "error" in result.stdout
    assert "about to fail" in instance.ssh("cat /var/log/cloud-init-output.log").stdout
    cloud.client("ec2").terminate_instances(InstanceIds=[instance.instance_id])


def test_security_group_decides_who_connects(cloud, tmp_path):
    instance = launch(cloud, tmp_path, ports=(22,))
    instance.wait_for_ssh()
    assert instance.ssh("systemctl is-active apache2").stdout.strip() == "active"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://{instance.public_ip}/", timeout=5)
    cloud.client("ec2").authorize_security_group_ingress(
        GroupId=instance.describe()["SecurityGroups"][0]["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    with urllib.request.urlopen(f"http://{instance.public_ip}/", timeout=5) as response:
        assert response.status == 200
    cloud.client("ec2").terminate_instances(InstanceIds=[instance.instance_id])


def test_only_what_listens_on_the_instance_interface_answers_outside(booted):
    """EC2 delivers a public address's traffic to the instance's interface: a service bound to
    the instance's loopback cannot be reached from outside, one on all addresses can."""
    group = booted.describe()["SecurityGroups"][0]["GroupId"]
    booted.cloud.client("ec2").authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "127.0.0.1/32"}]}],
    )
    url = f"http://{booted.public_ip}:443/"
    serve = "cd /tmp && sudo setsid -f python3 -m http.server 443 --bind {} >/dev/null 2>&1; sleep 1"
    try:
        assert booted.ssh(serve.format("127.0.0.1")).returncode == 0
        assert booted.ssh("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:443/").stdout == "200"
        with pytest.raises(OSError):
            urllib.request.urlopen(url, timeout=5)
        booted.ssh("sudo pkill -f 'http[.]server 443'")
        everywhere = "0.0.0.0"  # noqa: S104 (all addresses inside the instance, as a web server listens)
        assert booted.ssh(serve.format(everywhere)).returncode == 0
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200
    finally:
        booted.ssh("sudo pkill -f 'http[.]server 443'")


def container_state(cloud: LocalCloud, instance_id: str) -> str:
    return " ".join(container["State"] for container in container_records(cloud, instance_id))


def test_stop_start_reboot_terminate_act_on_the_container(cloud, tmp_path):
    ec2 = cloud.client("ec2")
    instance = launch(cloud, tmp_path)
    instance.wait_for_ssh()
    ec2.stop_instances(InstanceIds=[instance.instance_id])
    wait_for(lambda: instance.state() == "stopped", 60, "stopped")
    assert container_state(cloud, instance.instance_id) == "exited"
    assert "PublicIpAddress" not in instance.describe()
    assert instance.ssh("true", timeout=15).returncode != 0

    ec2.start_instances(InstanceIds=[instance.instance_id])
    wait_for(lambda: instance.state() == "running", 60, "running again")
    instance.public_ip = instance.describe()["PublicIpAddress"]
    instance.wait_for_ssh()
    # The disk survived the stop (a busy machine may still be starting sshd's session: retry).
    wait_for(lambda: instance.ssh("cat /var/tmp/user-data-ran").stdout.strip() == "hello", 30, "the file kept on disk")

    started = instance.ssh("systemctl show -p ActiveEnterTimestampMonotonic --value sshd").stdout
    ec2.reboot_instances(InstanceIds=[instance.instance_id])
    wait_for(
        lambda: (
            instance.ssh("systemctl show -p ActiveEnterTimestampMonotonic --value sshd", timeout=15).stdout
            not in ("", started)
        ),
        60,
        "the reboot",
        0.5,
    )

    ec2.terminate_instances(InstanceIds=[instance.instance_id])
    wait_for(lambda: instance.state() == "terminated", 60, "terminated")
    assert container_state(cloud, instance.instance_id) == ""


def test_unknown_key_pair_is_refused_like_aws(cloud):
    with pytest.raises(ClientError) as error:
        cloud.client("ec2").run_instances(
            ImageId=local_ami(cloud), InstanceType="t3.nano", MinCount=1, MaxCount=1, KeyName="no-such-key"
        )
    assert error.value.response["Error"]["Code"] == "InvalidKeyPair.NotFound"


def test_only_the_local_ami_launches(cloud, tmp_path):
    name, _ = key_pair(cloud, tmp_path)
    other = cloud.client("ssm").get_parameter(
        Name="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    )["Parameter"]["Value"]
    with pytest.raises(ClientError) as error:
        cloud.client("ec2").run_instances(
            ImageId=other, InstanceType="t3.nano", MinCount=1, MaxCount=1, KeyName=name,
            SecurityGroupIds=[security_group(cloud)],
        )  # fmt: skip
    assert "local cloud runs one image" in str(error.value)


def test_imported_key_pairs_log_in_too(cloud, tmp_path):
    key = tmp_path / "imported"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    ec2 = cloud.client("ec2")
    ec2.import_key_pair(KeyName="imported-key", PublicKeyMaterial=key.with_suffix(".pub").read_bytes())
    run = ec2.run_instances(
        ImageId=local_ami(cloud), InstanceType="t3.nano", MinCount=1, MaxCount=1, KeyName="imported-key",
        SecurityGroupIds=[security_group(cloud)],
    )  # fmt: skip
    instance_id = run["Instances"][0]["InstanceId"]
    from instances import Launched

    launched = Launched(cloud, instance_id, "", key, tmp_path / "known_hosts")
    wait_for(lambda: launched.state() == "running", 60, "running")
    launched.public_ip = launched.describe()["PublicIpAddress"]
    launched.wait_for_ssh()
    assert launched.ssh("id -un").stdout.strip() == "admin"
    ec2.terminate_instances(InstanceIds=[instance_id])


def test_image_origin_serves_a_jpeg_that_can_change(cloud):
    url = f"http://127.0.0.1:{cloud.env['LOCALCLOUD_ORIGIN_PORT']}/image.jpg"
    with urllib.request.urlopen(url, timeout=5) as response:
        first = response.read()
        assert response.headers["Content-Type"] == "image/jpeg"
    assert first[:3] == b"\xff\xd8\xff"
    cloud.cli("origin", "next")
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read() != first


# --- the command line ------------------------------------------------------------------


def test_second_up_is_a_no_op_with_a_message(cloud):
    result = cloud.cli("up")
    assert "already up" in result.stdout


def test_env_prints_exports_for_aws_tools(cloud):
    lines = cloud.cli("env").stdout.splitlines()
    keys = {line.split("=")[0].removeprefix("export ") for line in lines}
    assert {
        "AWS_ENDPOINT_URL",
        "AWS_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
    } <= keys


def test_port_in_use_fails_clearly_and_starts_nothing(cloud, tmp_path):
    env = {**cloud.env, "LOCALCLOUD_HOME": str(tmp_path / "other")}  # same port as the running cloud
    result = cloud.cli("up", env=env, check=False)
    assert result.returncode == 1
    assert f"port {cloud.env['LOCALCLOUD_PORT']}" in result.stderr and "in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "other" / "localcloud.pid").exists()


def test_down_with_nothing_running_says_so(cloud, tmp_path):
    env = {**cloud.env, "LOCALCLOUD_HOME": str(tmp_path / "idle")}
    result = cloud.cli("down", env=env)
    assert "not running" in result.stdout


def test_missing_podman_is_explained(cloud, tmp_path):
    env = {**cloud.env, "PATH": str(tmp_path), "LOCALCLOUD_HOME": str(tmp_path / "nopodman")}
    env["LOCALCLOUD_PORT"] = str(int(cloud.env["LOCALCLOUD_PORT"]) + 7)
    result = cloud.cli("up", env=env, check=False)
    assert result.returncode == 1
    assert "podman" in result.stderr and "make setup" in result.stderr
    assert "Traceback" not in result.stderr


def test_down_removes_every_container(tmp_path):
    other = start_cloud(tmp_path / "home", private_range())
    try:
        instance = launch(other, tmp_path)
        assert container_state(other, instance.instance_id) == "running"
    finally:
        other.cli("down")
    assert container_state(other, instance.instance_id) == ""
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert instance.instance_id not in namespaces


def process_gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_a_killed_test_session_s_cloud_is_swept_and_a_live_one_kept(cloud, tmp_path):
    finished = subprocess.Popen(["true"])
    finished.wait()
    # Under a root of its own: the session-start sweeps of concurrent xdist workers look under
    # pytest's root only, and would otherwise remove this abandoned-looking cloud before the test does.
    root = Path(tempfile.mkdtemp(prefix="sweep-test-"))
    home = root / "killed-session"
    home.mkdir(parents=True)
    (home / OWNER_FILE).write_text(str(finished.pid))  # its pytest is gone, as after a SIGKILL
    other = start_cloud(home, private_range())
    try:
        daemon = int((home / "localcloud.pid").read_text())
        instance = launch(other, tmp_path)
        sweep_abandoned_clouds(root)
        sweep_abandoned_clouds(all_runs_temp_root(tmp_path))  # as every session does at its start: keeps ours
        wait_for(lambda: process_gone(daemon), 10, "the abandoned cloud's daemon to end")
        assert container_state(other, instance.instance_id) == ""
        namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
        assert instance.instance_id not in namespaces
        # This session's cloud (its owner, this pytest, is alive) still serves.
        assert int((cloud.home / OWNER_FILE).read_text()) == os.getpid()
        assert cloud.client("ec2").describe_regions()["Regions"]
    finally:
        other.cli("down", check=False)
        shutil.rmtree(root, ignore_errors=True)
