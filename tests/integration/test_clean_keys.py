"""make clean-keys (playbooks/clean_keys.yml): private keys are deleted only when nothing in the region
still needs them, and only when confirmed; AWS never hands a private key out again."""

from __future__ import annotations

import uuid

import pytest

from instances import local_ami, security_group
from playbooks import playbook

pytestmark = pytest.mark.cloud


def private_key(cloud, folder, tags: dict[str, str] | None = None) -> str:
    """A key pair of the test cloud, its private key saved in `folder` as a deploy saves it."""
    name = f"ck-{uuid.uuid4().hex[:8]}"
    spec = [{"ResourceType": "key-pair", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] if tags else []
    created = cloud.client("ec2").create_key_pair(KeyName=name, KeyType="ed25519", TagSpecifications=spec)
    path = folder / f"{name}.pem"
    path.write_text(created["KeyMaterial"])
    path.chmod(0o600)
    return name


def test_a_key_whose_key_pair_exists_is_kept(cloud, tmp_path):
    name = private_key(cloud, tmp_path, {"Deployment": "ckdemo"})

    run = playbook(cloud, "clean_keys", tmp_path, "-e", "confirm=true")

    assert run.returncode != 0, run.output
    assert f"key pair {name} (deployment ckdemo)" in run.output
    assert "Every key was kept" in run.output
    assert (tmp_path / f"{name}.pem").exists()
    cloud.client("ec2").delete_key_pair(KeyName=name)


def test_a_key_an_instance_was_launched_with_is_kept_after_its_key_pair_is_gone(cloud, tmp_path):
    ec2 = cloud.client("ec2")
    name = private_key(cloud, tmp_path)
    instance = ec2.run_instances(
        ImageId=local_ami(cloud),
        InstanceType="t3.nano",
        MinCount=1,
        MaxCount=1,
        KeyName=name,
        SecurityGroupIds=[security_group(cloud, ())],
    )["Instances"][0]["InstanceId"]
    ec2.delete_key_pair(KeyName=name)
    try:
        run = playbook(cloud, "clean_keys", tmp_path, "-e", "confirm=true")
    finally:
        ec2.terminate_instances(InstanceIds=[instance])

    assert run.returncode != 0, run.output
    assert f"instance {instance}" in run.output
    assert (tmp_path / f"{name}.pem").exists()


def test_an_unused_key_is_deleted_only_when_confirmed(cloud, tmp_path):
    name = private_key(cloud, tmp_path)
    cloud.client("ec2").delete_key_pair(KeyName=name)
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")

    unconfirmed = playbook(cloud, "clean_keys", tmp_path, env={"CI": "true"})
    assert unconfirmed.returncode != 0, unconfirmed.output
    assert f"{name}.pem" in unconfirmed.output
    assert "no one to confirm" in unconfirmed.output
    assert (tmp_path / f"{name}.pem").exists()

    confirmed = playbook(cloud, "clean_keys", tmp_path, "-e", "confirm=true")
    assert confirmed.returncode == 0, confirmed.output
    assert not (tmp_path / f"{name}.pem").exists()
    assert known_hosts.exists()


def test_keys_are_kept_when_the_cloud_cannot_be_asked(cloud, tmp_path):
    name = private_key(cloud, tmp_path)
    cloud.client("ec2").delete_key_pair(KeyName=name)

    run = playbook(
        cloud, "clean_keys", tmp_path, "-e", "confirm=true", "-e", "deployment_endpoint_url=http://127.0.0.1:1"
    )

    assert run.returncode != 0, run.output
    assert "could not check whether they are still in use" in run.output
    assert (tmp_path / f"{name}.pem").exists()
