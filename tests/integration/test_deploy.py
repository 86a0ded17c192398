"""deploy.yml for real on a test local cloud: the page, idempotence, check mode, a changed image."""

from __future__ import annotations

import re
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from browser import Browser
from playbooks import playbook
from sweep import resources

pytestmark = pytest.mark.cloud


def summary_value(output: str, label: str) -> str:
    match = re.search(rf"{label}:\s+([^\s'\"]+)", output)
    assert match, f"no '{label}' in the summary:\n{output[-3000:]}"
    return match.group(1)


@pytest.fixture(scope="module")
def deployment(cloud, tmp_path_factory):
    name = f"t{uuid.uuid4().hex[:8]}"
    state = tmp_path_factory.mktemp("deploy")
    first = playbook(cloud, "deploy", state, "-e", f"deployment_name={name}")
    assert first.returncode == 0, first.output[-5000:]
    return {"name": name, "state": state, "first": first, "page": summary_value(first.output, "Web page")}


def test_first_deploy_ends_with_the_summary(deployment):
    output = deployment["first"].output
    for label in ("Web page", "Instance", "Bucket", "Image", "SSH"):
        summary_value(output, label)
    assert deployment["page"].startswith("http://127.")


def test_page_shows_the_s3_image_and_the_metadata_in_a_browser(cloud, deployment, tmp_path):
    image_url = summary_value(deployment["first"].output, "Image")
    instance_id = summary_value(deployment["first"].output, "Instance")
    browser = Browser()
    try:
        browser.open(deployment["page"])
        shot = browser.screenshot(tmp_path / "page.png")
        image = browser.evaluate(
            "(() => { const i = document.getElementById('s3-image');"
            " return {src: i.currentSrc, complete: i.complete, width: i.naturalWidth}; })()"
        )
        table = browser.evaluate("document.getElementById('metadata').innerText")
    finally:
        browser.close()
    assert shot.stat().st_size > 10_000
    assert image["src"] == image_url and image_url.startswith(cloud.endpoint)
    assert image["complete"] and image["width"] > 0
    described = cloud.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    for value in (instance_id, described["Placement"]["AvailabilityZone"], described["SubnetId"], "t3.nano"):
        assert value in table


def test_second_deploy_changes_nothing(cloud, deployment):
    again = playbook(cloud, "deploy", deployment["state"], "-e", f"deployment_name={deployment['name']}")
    assert again.returncode == 0, again.output[-3000:]
    assert again.changed == 0, again.recap


def test_check_mode_on_an_empty_account_lists_and_creates_nothing(cloud, tmp_path):
    name = f"c{uuid.uuid4().hex[:8]}"
    before = resources(cloud, name)
    run = playbook(cloud, "deploy", tmp_path, "-e", f"deployment_name={name}", "--check", "--diff")
    assert run.returncode == 0, run.output[-3000:]
    assert run.changed >= 6, run.recap  # key pair, group, instance, bucket, image, alarm
    for would in ("Create the key pair", "security group", "instance is launched", "Would create bucket", "image"):
        assert would in run.output
    assert resources(cloud, name) == before == {k: [] for k in before}
    assert not (tmp_path / f"{name}-key.pem").exists()


def test_check_mode_on_the_deployment_changes_nothing(cloud, deployment):
    before = resources(cloud, deployment["name"])
    run = playbook(cloud, "deploy", deployment["state"], "-e", f"deployment_name={deployment['name']}", "--check")
    assert run.returncode == 0, run.output[-3000:]
    assert run.changed == 0, run.recap
    assert resources(cloud, deployment["name"]) == before


def test_host_keys_are_pinned_from_the_console_before_the_first_login(deployment):
    public_ip = deployment["page"].split("/")[2]
    pinned = (deployment["state"] / f"{deployment['name']}.known_hosts").read_text().splitlines()
    assert any(line.startswith(f"{public_ip} ssh-ed25519 ") for line in pinned)
    # Read from the console and written by the provisioning play, before the web server play's first login.
    pinning = deployment["first"].output.split("TASK [deployment : Read the instance's SSH host keys")[1][:600]
    assert "changed: [localhost]" in pinning, pinning
    assert deployment["first"].output.index("Read the instance's SSH host keys") < deployment["first"].output.index(
        "TASK [webserver : Wait for the instance to answer SSH"
    )


def test_private_key_is_private_and_never_logged(deployment):
    key = deployment["state"] / f"{deployment['name']}-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    material = key.read_text()
    assert "PRIVATE KEY" in material
    body = material.strip().splitlines()[1]
    assert body not in deployment["first"].output
    assert body not in (deployment["state"] / "ansible.log").read_text()


def test_a_changed_image_is_uploaded_once_and_shown(cloud, deployment):
    cloud.cli("origin", "next")
    origin = f"http://127.0.0.1:{cloud.env['LOCALCLOUD_ORIGIN_PORT']}/image.jpg"
    with urllib.request.urlopen(origin, timeout=5) as response:
        new_image = response.read()
    changed = playbook(cloud, "deploy", deployment["state"], "-e", f"deployment_name={deployment['name']}")
    assert changed.returncode == 0, changed.output[-3000:]
    assert changed.changed == 1, changed.recap  # only the image upload
    image_url = summary_value(changed.output, "Image")
    with urllib.request.urlopen(image_url, timeout=5) as response:
        assert response.read() == new_image
    with urllib.request.urlopen(deployment["page"], timeout=5) as response:
        assert image_url in response.read().decode()
    # The image just uploaded is recognised as current: not uploaded again (the image step alone).
    again = playbook(
        cloud, "deploy", deployment["state"], "-e", f"deployment_name={deployment['name']}", "--tags", "image"
    )
    assert again.returncode == 0 and again.changed == 0, again.recap


class _FaultyOrigin(BaseHTTPRequestHandler):
    """An image origin that fails mid-body: /cut.jpg announces the whole image and closes after half,
    /cut-unsized.jpg sends all but the end marker with no length, /trickle.jpg sends a byte every 0.2 s."""

    image = b""

    def log_message(self, *_args):
        pass

    def do_HEAD(self):
        self._headers(with_length=self.path != "/cut-unsized.jpg")

    def _headers(self, with_length: bool):
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        if with_length:
            self.send_header("Content-Length", str(len(self.image)))
        self.end_headers()

    def do_GET(self):
        self._headers(with_length=self.path != "/cut-unsized.jpg")
        try:
            if self.path == "/cut.jpg":
                self.wfile.write(self.image[: len(self.image) // 2])
            elif self.path == "/cut-unsized.jpg":
                self.wfile.write(self.image[:-2])  # without FF D9, the JPEG's end
            else:
                for i in range(len(self.image)):
                    self.wfile.write(self.image[i : i + 1])
                    self.wfile.flush()
                    time.sleep(0.2)
        except OSError:
            pass  # the client gave up
        self.close_connection = True


@pytest.fixture(scope="module")
def faulty_origin(cloud):
    with urllib.request.urlopen(f"http://127.0.0.1:{cloud.env['LOCALCLOUD_ORIGIN_PORT']}/image.jpg") as response:
        _FaultyOrigin.image = response.read()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FaultyOrigin)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/cut.jpg", "the connection closed after"),
        ("/cut-unsized.jpg", "without its end marker"),
        ("/trickle.jpg", "took longer than 3 s"),
    ],
    ids=["cut-with-length", "cut-without-length", "trickle"],
)
def test_an_image_cut_short_or_trickling_never_replaces_the_good_one(cloud, deployment, faulty_origin, path, says):
    bucket = summary_value(deployment["first"].output, "Bucket")
    s3 = cloud.client("s3")
    good = s3.get_object(Bucket=bucket, Key="public/image")
    good_body = good["Body"].read()
    assert good_body.endswith(b"\xff\xd9")
    started = time.monotonic()
    run = playbook(
        cloud, "deploy", deployment["state"],
        "-e", f"deployment_name={deployment['name']}",
        "-e", f"deployment_image_url={faulty_origin}{path}",
        "-e", "deployment_image_timeout=3",
        "--tags", "image",
    )  # fmt: skip
    took = time.monotonic() - started
    assert run.returncode != 0, run.output[-3000:]
    assert says in " ".join(run.output.split()), run.output[-3000:]
    now = s3.get_object(Bucket=bucket, Key="public/image")
    assert (now["ETag"], now["Body"].read()) == (good["ETag"], good_body)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["public/image"]
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert took < 60, f"took {took:.0f} s"


def test_bucket_policy_exposes_only_the_public_prefix(cloud, deployment):
    bucket = summary_value(deployment["first"].output, "Bucket")
    s3 = cloud.client("s3")
    policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    assert f"arn:aws:s3:::{bucket}/public/*" in policy
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block["BlockPublicAcls"] and block["IgnorePublicAcls"]
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == (
        "BucketOwnerEnforced"
    )
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_a_page_that_does_not_answer_stops_the_verification_saying_why(cloud, deployment):
    instance_id = summary_value(deployment["first"].output, "Instance")
    ec2 = cloud.client("ec2")
    group = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["SecurityGroups"][0]
    http = [p for p in ec2.describe_security_groups(GroupIds=[group["GroupId"]])["SecurityGroups"][0]["IpPermissions"]
            if p.get("FromPort") == 80]  # fmt: skip
    ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=http)
    try:
        # --tags page: the security group (tagged instance) is left as it is.
        run = playbook(
            cloud, "deploy", deployment["state"], "-e", f"deployment_name={deployment['name']}", "--tags", "page"
        )
    finally:
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=http)
    assert run.returncode != 0, run.output[-3000:]
    said = " ".join(run.output.split())
    assert f"The page {deployment['page']} did not answer within 20 s" in said, run.output[-3000:]
    assert "lets TCP port 80 in from anywhere" in said


def test_instance_requires_imdsv2_and_ssh_only_from_the_operator(cloud, deployment):
    instance_id = summary_value(deployment["first"].output, "Instance")
    ec2 = cloud.client("ec2")
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert instance["Monitoring"]["State"] == "enabled"
    group = ec2.describe_security_groups(GroupIds=[instance["SecurityGroups"][0]["GroupId"]])["SecurityGroups"][0]
    ssh = [p for p in group["IpPermissions"] if p.get("FromPort") == 22]
    assert [r["CidrIp"] for r in ssh[0]["IpRanges"]] == ["127.0.0.1/32"]


def test_bad_bucket_name_stops_before_anything_is_created(cloud, tmp_path):
    name = f"b{uuid.uuid4().hex[:8]}"
    run = playbook(
        cloud, "deploy", tmp_path, "-e", f"deployment_name={name}", "-e", "deployment_bucket_name=Bad_Bucket"
    )
    assert run.returncode != 0
    assert "deployment_bucket_name" in run.output and "Bad_Bucket" in run.output
    assert resources(cloud, name) == {k: [] for k in ("instances", "groups", "keys", "buckets", "alarms")}


def test_settings_on_the_running_instance_converge_or_are_refused(cloud, deployment):
    """Detailed monitoring follows the setting on the instance that runs (ec2_instance sets it only at
    launch); another instance type, which would need a stop, a start and a new address, is refused."""
    instance_id = summary_value(deployment["first"].output, "Instance")
    ec2 = cloud.client("ec2")

    def monitoring() -> str:
        found = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        return found["Monitoring"]["State"]

    assert monitoring() == "enabled", "the local inventory's default"
    named = ["-e", f"deployment_name={deployment['name']}", "--tags", "instance"]
    off = playbook(cloud, "deploy", deployment["state"], *named, "-e", "deployment_detailed_monitoring=false")
    assert off.returncode == 0, off.output[-4000:]
    assert monitoring() == "disabled" and off.changed == 1, off.recap
    again = playbook(cloud, "deploy", deployment["state"], *named, "-e", "deployment_detailed_monitoring=false")
    assert again.returncode == 0 and again.changed == 0, again.recap

    bigger = playbook(cloud, "deploy", deployment["state"], *named, "-e", "deployment_instance_type=t3.micro")
    assert bigger.returncode != 0
    said = " ".join(bigger.output.split())
    assert f"The deployment's instance {instance_id} runs t3.nano; deployment_instance_type=t3.micro" in said
    assert "Keep -e deployment_instance_type=t3.nano" in said
    described = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    assert (described["State"]["Name"], described["InstanceType"]) == ("running", "t3.nano")
