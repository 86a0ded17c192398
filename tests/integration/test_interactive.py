"""deploy.yml -e interactive=true, driven through a terminal (pexpect) on a test local cloud."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest
from guided import NOTHING, create_key_pair, finish, new_name, resources, spawn_deploy, terminate

from playbooks import playbook

pytestmark = pytest.mark.cloud


def flat(text: str) -> str:
    """Text with its line breaks and indentation (Ansible wraps long messages) as single spaces."""
    return " ".join(text.split())


def ask(child, label: str, default: str | None = None) -> str:
    """Wait for the question `label` (with its default, when given); the text printed before it."""
    shown = re.escape(default) if default is not None else r"[^\]\r\n]*"
    child.expect(rf"{re.escape(label)} \[{shown}\]:")
    return child.before


def test_interactive_run_reuses_a_listed_key_pair_re_asks_a_bad_bucket_and_serves_the_page(cloud, tmp_path):
    name = new_name("i")
    account = cloud.client("sts").get_caller_identity()["Account"]
    region = cloud.env["AWS_DEFAULT_REGION"]
    origin = f"http://127.0.0.1:{cloud.env['LOCALCLOUD_ORIGIN_PORT']}/image.jpg"
    key = create_key_pair(cloud, f"{name}-mine", tmp_path)
    elsewhere = create_key_pair(cloud, f"{name}-elsewhere", None)  # its private key is not here

    try:
        child = spawn_deploy(cloud, tmp_path, "-e", "interactive=true")
        ask(child, "Deployment name", "webserver")
        child.sendline(name)
        ask(child, "AWS region", region)
        child.sendline("")
        ask(child, "Instance type", "t3.nano")
        child.sendline("")

        listing = ask(child, "Key pair (number)")
        assert elsewhere not in listing, "a key pair without its private key on disk was offered"
        number = re.search(rf"(\d+)\) {re.escape(key)} \(private key", listing)
        assert number, listing[-2000:]
        assert re.search(r"\d+\) create a new key pair", listing)
        child.sendline(number.group(1))

        listing = ask(child, "Security group (number)")
        assert re.search(r"\d+\) sg-\w+\s+default", listing)
        assert f"create (or keep) {name}-web" in listing
        child.sendline("")  # the default: create the deployment's own group

        default_bucket = f"aaw-{name}-{account}-{region}"
        ask(child, "S3 bucket name", default_bucket)
        child.sendline("Bad_Bucket")
        explained = flat(ask(child, "S3 bucket name", default_bucket))  # asked again
        assert '"Bad_Bucket" cannot be used' in explained and "uppercase letters" in explained
        child.sendline("")
        ask(child, "Image URL", origin)
        child.sendline("")

        summary = flat(ask(child, "Create or update these resources now? yes or no", "no"))
        assert f"Deployment: {name}" in summary
        assert f"Key pair: {key} (existing" in summary
        assert f"S3 bucket: {default_bucket}" in summary
        assert resources(cloud, name) == NOTHING, "something was created before the confirmation"
        child.sendline("yes")

        status, output = finish(child)
        assert status == 0, output[-5000:]
        page = re.search(r"Web page:\s+(http://127\.[\d.]+/)", output)
        assert page, output[-3000:]
        with urllib.request.urlopen(page.group(1), timeout=10) as response:
            html = response.read().decode()
        assert response.status == 200 and f"{default_bucket}/public/image" in html

        # The answers outranked the inventory's and the role's defaults for the whole run.
        made = resources(cloud, name)
        assert made["buckets"] == [default_bucket] and len(made["instances"]) == 1 and len(made["groups"]) == 1
        ec2 = cloud.client("ec2")
        instance = ec2.describe_instances(InstanceIds=made["instances"])["Reservations"][0]["Instances"][0]
        assert instance["KeyName"] == key
        assert not (tmp_path / f"{name}-key.pem").exists()
    finally:
        terminate(cloud, name)


def test_declining_creates_nothing_and_a_taken_key_name_is_re_asked(cloud, tmp_path):
    name = new_name("n")
    taken = create_key_pair(cloud, f"{name}-key", None)  # exists in AWS, private key elsewhere

    child = spawn_deploy(cloud, tmp_path, "-e", "interactive=true", "-e", f"deployment_name={name}")
    ask(child, "Deployment name", name)
    child.sendline("")
    ask(child, "AWS region")
    child.sendline("")
    ask(child, "Instance type", "t3.nano")
    child.sendline("t3.galactic")
    assert "AWS has no instance type of that name" in flat(ask(child, "Instance type", "t3.nano"))
    child.sendline("")
    listing = ask(child, "Key pair (number)")
    assert taken not in listing
    choice = re.search(r"(\d+)\) create a new key pair", listing).group(1)
    child.sendline("99")
    assert "answer with a number from 1 to" in flat(ask(child, "Key pair (number)"))
    child.sendline(choice)
    ask(child, "Name of the new key pair", taken)
    child.sendline("")
    assert "a key pair of that name exists in" in flat(ask(child, "Name of the new key pair", taken))
    child.sendline(f"{name}-fresh")
    for label in ("Security group (number)", "S3 bucket name", "Image URL"):
        ask(child, label)
        child.sendline("")
    summary = flat(ask(child, "Create or update these resources now? yes or no", "no"))
    assert f"Key pair: {name}-fresh (new" in summary
    child.sendline("")  # Enter: the default, no

    status, output = finish(child, timeout=120)
    assert status == 0, output[-3000:]
    assert "Nothing was created" in output
    assert resources(cloud, name) == {**NOTHING, "keys": [taken]}
    assert not (tmp_path / f"{name}-fresh.pem").exists()


def test_interactive_mode_without_a_terminal_stops_at_once(cloud, tmp_path):
    name = new_name("t")
    started = time.monotonic()
    run = playbook(cloud, "deploy", tmp_path, "-e", "interactive=true", "-e", f"deployment_name={name}")
    assert run.returncode != 0
    assert "interactive=true needs a terminal" in run.output
    assert time.monotonic() - started < 60
    assert resources(cloud, name) == NOTHING
