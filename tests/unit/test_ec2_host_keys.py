"""library/ec2_host_keys.py against moto's server, with the console output moto serves."""

from __future__ import annotations

import pytest
from moto.ec2.responses import general

ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAILDL5/uEcvCdSJL9+UiEu5JmNBifhzrK3zrxh3Bz5+Ro"
ECDSA = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJCBPsqj3m4l74l3R7hyPknJT+1iDOp9riRmAyZucF5a"
CONSOLE = f"""[   12.3] cloud-init[601]: Cloud-init v. 22.4.2 running 'modules:final'
<14>Nov 25 15:37:48 cloud-init: #############################################################
-----BEGIN SSH HOST KEY KEYS-----
ecdsa-sha2-nistp256 {ECDSA} root@ip-172-31-0-4
ssh-ed25519 {ED25519} root@ip-172-31-0-4
-----END SSH HOST KEY KEYS-----
"""


@pytest.fixture(scope="module")
def instance_id(moto_client):
    ec2 = moto_client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    return ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]


def test_keys_in_the_console_become_known_hosts_lines(run_module, instance_id, monkeypatch):
    monkeypatch.setattr(general, "SAMPLE_CONSOLE_OUTPUT", CONSOLE)  # the server runs in this process
    rc, result = run_module("ec2_host_keys", instance_id=instance_id, host="203.0.113.10", timeout=5)
    assert rc == 0, result
    assert result["found"] is True and result["changed"] is False
    assert result["known_hosts"] == [f"203.0.113.10 ssh-ed25519 {ED25519}", f"203.0.113.10 ecdsa-sha2-nistp256 {ECDSA}"]


def test_key_types_choose_and_order_the_lines(run_module, instance_id, monkeypatch):
    monkeypatch.setattr(general, "SAMPLE_CONSOLE_OUTPUT", CONSOLE)
    rc, result = run_module(
        "ec2_host_keys", instance_id=instance_id, host="h", timeout=5, key_types=["ecdsa-sha2-nistp256"]
    )
    assert rc == 0, result
    assert result["known_hosts"] == [f"h ecdsa-sha2-nistp256 {ECDSA}"]


def test_no_keys_in_the_console_is_reported_after_the_timeout(run_module, instance_id):
    rc, result = run_module("ec2_host_keys", instance_id=instance_id, host="h", timeout=1, _ansible_check_mode=True)
    assert rc == 0, result
    assert result["found"] is False and result["known_hosts"] == []
    assert result["waited"] >= 1


def test_unknown_instance_fails_clearly(run_module):
    rc, result = run_module("ec2_host_keys", instance_id="i-0123456789abcdef0", host="h", timeout=1)
    assert rc != 0 and result["failed"]
    assert "i-0123456789abcdef0" in result["msg"]
    assert result["error"]["code"].startswith("InvalidInstanceID"), result  # the AWS error travels with it


def test_the_keys_are_pinned_in_place_of_the_host_s_earlier_ones(run_module, instance_id, monkeypatch, tmp_path):
    monkeypatch.setattr(general, "SAMPLE_CONSOLE_OUTPUT", CONSOLE)
    path = tmp_path / "keys" / "web.known_hosts"
    path.parent.mkdir()
    path.write_text("203.0.113.10 ssh-ed25519 AAAAold\n198.51.100.1 ssh-ed25519 AAAAother\n")
    args = {"instance_id": instance_id, "host": "203.0.113.10", "timeout": 5, "path": str(path)}
    rc, result = run_module("ec2_host_keys", check_mode=True, diff=True, **args)
    assert rc == 0 and result["changed"] is True, result
    assert "AAAAold" in path.read_text()  # check mode wrote nothing
    assert f"203.0.113.10 ssh-ed25519 {ED25519}" in result["diff"]["after"]
    rc, result = run_module("ec2_host_keys", **args)
    assert rc == 0 and result["changed"] is True, result
    lines = path.read_text().splitlines()
    assert lines == [
        "198.51.100.1 ssh-ed25519 AAAAother",
        f"203.0.113.10 ssh-ed25519 {ED25519}",
        f"203.0.113.10 ecdsa-sha2-nistp256 {ECDSA}",
    ]
    assert path.stat().st_mode & 0o777 == 0o600
    rc, result = run_module("ec2_host_keys", **args)
    assert rc == 0 and result["changed"] is False, result


def test_a_known_hosts_file_that_cannot_be_written_fails_naming_it(run_module, instance_id, monkeypatch, tmp_path):
    monkeypatch.setattr(general, "SAMPLE_CONSOLE_OUTPUT", CONSOLE)
    (tmp_path / "a-file").write_text("not a folder")
    path = tmp_path / "a-file" / "web.known_hosts"
    rc, result = run_module("ec2_host_keys", instance_id=instance_id, host="h", timeout=5, path=str(path))
    assert rc != 0 and result["failed"]
    assert result["msg"].startswith(f"Unable to write the host keys to {path}: "), result["msg"]
