"""A catalogue of bad inputs to deploy.yml: each fails fast, with a message naming the input, and
creates nothing. The ones the settings check catches (roles/deployment/tasks/settings.yml) stop
before any AWS call; so do misspelt names."""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError
from guided import NOTHING, create_key_pair, new_name, resources, run_playbook

from conftest import free_port

pytestmark = pytest.mark.cloud

# The first AWS call of a run; a bad input caught before it never touched AWS.
FIRST_AWS_CALL = "TASK [deployment : Take the deployment's lock, then read"

# No credentials anywhere: no variables, no files, and never the instance metadata service.
NO_CREDENTIALS = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}
CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


@dataclass
class Case:
    """args and env may name {closed} (a loopback port nothing listens on), {origin} (the image origin)
    and {portal} (a captive portal's sign-in page, answering 200 to every GET)."""

    args: tuple[str, ...]
    says: tuple[str, ...]
    before_aws: bool = True
    inventory: str = "local"
    env: dict[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()
    existing_key: bool = False  # a key pair <name>-key exists, its private key elsewhere
    hides: tuple[str, ...] = ()  # what the output must never show
    # a resource exists before the run: "bucket" {bucket}, "key pair" {key} or "group" {group}, tagged for
    # another deployment; "untagged group": a group named "<deployment_name>-web" without tags
    foreign: str = ""


CASES = {
    "bucket with uppercase and underscore": Case(
        ("-e", "deployment_bucket_name=Bad_Bucket"), ("deployment_bucket_name", "Bad_Bucket", "uppercase")
    ),
    "bucket too short": Case(("-e", "deployment_bucket_name=ab"), ("deployment_bucket_name", '"ab"', "2 characters")),
    "bucket like an IP address": Case(
        ("-e", "deployment_bucket_name=192.168.5.4"), ("deployment_bucket_name", "192.168.5.4", "has dots")
    ),
    "bucket with dots": Case(
        ("-e", "deployment_bucket_name=my-bucket.example"), ("my-bucket.example", "break the image's HTTPS address")
    ),
    "region of another partition": Case(
        ("-e", "deployment_region=us-gov-west-1"), ("deployment_region", "aws-us-gov (GovCloud) partition")
    ),
    "bucket with a reserved prefix": Case(("-e", "deployment_bucket_name=xn--bucket"), ("xn--bucket", "reserved")),
    "unknown region": Case(("-e", "deployment_region=us-north-9"), ("deployment_region", "us-north-9", "no region")),
    "misspelt region": Case(("-e", "deployment_region=eu-wset-1"), ("eu-wset-1", "Did you mean eu-west-1")),
    "CIDR that is not one": Case(
        ("-e", "deployment_ssh_cidr=300.1.2.3/32"), ("deployment_ssh_cidr", "300.1.2.3/32", "not an IPv4 CIDR")
    ),
    "CIDR of the whole internet": Case(("-e", "deployment_ssh_cidr=0.0.0.0/0"), ("0.0.0.0/0", "too much")),
    "address without a prefix": Case(("-e", "deployment_ssh_cidr=127.0.0.1"), ("127.0.0.1/32",)),
    "instance type of a wrong form": Case(
        ("-e", "deployment_instance_type=t3nano"), ("deployment_instance_type", "t3nano", "not an EC2 instance type")
    ),
    "deployment name with uppercase": Case(("-e", "deployment_name=Web_Server"), ("deployment_name", "Web_Server")),
    "image URL that is not http": Case(
        ("-e", "deployment_image_url=ftp://example.com/a.jpg"), ("deployment_image_url", "ftp://example.com/a.jpg")
    ),
    # The local inventory's alarm period is 10 s, where any whole minute fits: AWS's 300 s here.
    "idle minutes not a multiple of 5": Case(
        ("-e", "deployment_idle_minutes=7", "-e", "deployment_alarm_period=300"),
        ("deployment_idle_minutes", "multiple of 5"),
    ),
    "more tags than an S3 object takes with the project's own": Case(
        ("-e", json.dumps({"deployment_tags": {f"t{n}": "v" for n in range(9)}})),
        ("deployment_tags", "it has 9 tags", "give at most 8"),
    ),
    "tag key AWS reserves": Case(("-e", '{"deployment_tags": {"aws:team": "web"}}'), ("aws:team", "AWS reserves")),
    "tag value that is not text": Case(
        ("-e", '{"deployment_tags": {"cost": 42}}'), ("the value of cost is int", "put it in quotes")
    ),
    "tag value with characters AWS refuses": Case(
        ("-e", '{"deployment_tags": {"team": "web#1"}}'), ("'web#1'", "does not allow in tags")
    ),
    "tag value holding a template": Case(
        ("-e", '{"deployment_tags": {"team": "{{ nothing_here }}"}}'),
        ("deployment_tags cannot be read", "'nothing_here' is undefined", "Remove the braces"),
        hides=("Error while resolving", "Traceback"),
    ),
    "tags given as text": Case(
        ("-e", "deployment_tags=team=web"), ("deployment_tags", "it must be a mapping", '{"deployment_tags"')
    ),
    "idle threshold above 100": Case(
        ("-e", "deployment_idle_cpu_threshold=101"), ("deployment_idle_cpu_threshold=101 ", "between 0 and 100")
    ),
    "idle threshold below 0": Case(("-e", "deployment_idle_cpu_threshold=-1"), ("=-1 ", "fires always or never")),
    "high-CPU minutes not a multiple of 5": Case(
        ("-e", "deployment_high_cpu_minutes=3", "-e", "deployment_alarm_period=300"),
        ("deployment_high_cpu_minutes=3", "multiple of 5"),
    ),
    "high-CPU alarm with no action": Case(
        ("-e", '{"deployment_high_cpu_actions": []}'), ("deployment_high_cpu_actions=[]", "notify, reboot or both")
    ),
    "alarm e-mail that is not an address": Case(
        ("-e", "deployment_alarm_email=ops.example.com"), ("deployment_alarm_email", "not an e-mail address")
    ),
    "empty public prefix (the whole bucket public)": Case(
        ("-e", "deployment_public_prefix="), ("deployment_public_prefix", "whole bucket readable by anyone")
    ),
    "public prefix that breaks the bucket policy": Case(
        ("-e", '{"deployment_public_prefix": "pub\\"lic/", "deployment_image_key": "pub\\"lic/image"}'),
        ("deployment_public_prefix", "break the bucket policy"),
    ),
    "image timeout of zero": Case(("-e", "deployment_image_timeout=0"), ("deployment_image_timeout=0", "1 to 3600")),
    "image size above one upload's limit": Case(
        ("-e", "deployment_image_max_size=6000000000"), ("deployment_image_max_size", "5 GiB")
    ),
    "boot timeout too short": Case(("-e", "deployment_boot_timeout=2"), ("deployment_boot_timeout=2", "10 to 3600")),
    "image URL holding a password": Case(
        ("-e", "deployment_image_url=https://alice:s3cret-pw@example.com/a.jpg"),
        ("deployment_image_url", "***@example.com", "would be published"),
        hides=("s3cret-pw",),
    ),
    "true or false misspelt": Case(
        ("-e", "deployment_https=ture"), ('deployment_https="ture"', "it must be true or false")
    ),
    "list for a text setting": Case(
        ("-e", '{"deployment_name": ["a", "b"]}'), ("deployment_name", "not a list or a mapping")
    ),
    "text for a whole number": Case(
        ("-e", '{"deployment_idle_minutes": "an hour"}'), ('deployment_idle_minutes="an hour"', "whole number")
    ),
    "misspelt setting": Case(
        ("-e", "deployment_instance_typ=t3.micro"), ("deployment_instance_typ", "did you mean deployment_instance_type")
    ),
    "misspelt switch": Case(("-e", "interactiv=true"), ("interactiv is not a switch", "did you mean interactive")),
    "several bad settings at once": Case(
        ("-e", "deployment_boot_timeout=2", "-e", "deployment_alarm_email=x", "-e", "deployment_regoin=eu-west-1"),
        ("deployment_boot_timeout=2", "deployment_alarm_email", "did you mean deployment_region"),
    ),
    # Caught after reads from AWS (or the image's server), still before anything is created.
    "instance type AWS does not have": Case(
        ("-e", "deployment_instance_type=t3.galactic"),
        ("deployment_instance_type", "t3.galactic", "no instance type of that name"),
        before_aws=False,
    ),
    "instance type of another architecture": Case(
        ("-e", "deployment_instance_type=t4g.nano"),
        ("t4g.nano", "runs arm64", "deployment_architecture=arm64"),
        before_aws=False,
    ),
    "unreachable image URL": Case(
        ("-e", "deployment_image_url=http://127.0.0.1:{closed}/image.jpg"),
        ("deployment_image_url", "127.0.0.1:{closed}", "nothing answers there"),
        before_aws=False,
    ),
    "image URL that answers 404": Case(
        ("-e", "deployment_image_url={origin}/missing.jpg"),
        ("deployment_image_url", "missing.jpg", "HTTP 404"),
        before_aws=False,
    ),
    # Fetched whole and checked with the reads: refused before the key pair, group or bucket exist.
    "image URL that answers an empty body": Case(
        ("-e", "deployment_image_url={portal}/empty.jpg"),
        ("deployment_image_url", "empty.jpg", "not an image", "none (empty response)", "Nothing was created"),
        before_aws=False,
    ),
    "image URL that answers an SVG": Case(
        ("-e", "deployment_image_url={portal}/vector.svg"),
        ("deployment_image_url", "not an image", "image/svg+xml", "JPEG, PNG, GIF, WebP or BMP"),
        before_aws=False,
    ),
    "image URL that answers a sign-in page": Case(
        ("-e", "deployment_image_url={portal}/image.jpg"),
        ("deployment_image_url", "not an image", "text/html"),
        before_aws=False,
    ),
    "image URL that never ends": Case(
        ("-e", "deployment_image_url={portal}/endless.jpg", "-e", "deployment_image_max_size=200000"),
        ("deployment_image_url", "larger than max_size 200000 bytes", "deployment_image_max_size (200000 bytes)"),
        before_aws=False,
    ),
    "image URL that trickles": Case(
        ("-e", "deployment_image_url={portal}/trickle.jpg", "-e", "deployment_image_timeout=3"),
        ("deployment_image_url", "took longer than 3 s", "deployment_image_timeout (3 s"),
        before_aws=False,
    ),
    "address lookup answering something else than an address": Case(
        ("-e", "deployment_ssh_cidr=", "-e", "__deployment_checkip_url={portal}/"),
        ("{portal}/ answered", "Sign in", "not this machine's public IPv4 address", "deployment_ssh_cidr=<your"),
        before_aws=False,
    ),
    "security group that does not exist": Case(
        ("-e", "deployment_security_group=sg-0123456789abcdef0"),
        ("deployment_security_group", "sg-0123456789abcdef0", "matches no security group"),
        before_aws=False,
    ),
    "key pair without its private key here": Case(
        (), ("key pair", "-key", "its private key", "is not at"), before_aws=False, existing_key=True
    ),
    "bucket of another deployment": Case(
        ("-e", "deployment_bucket_name={bucket}"),
        ("deployment_bucket_name", "{bucket}", 'is the bucket of the deployment "someone-else"', "would delete it"),
        before_aws=False,
        foreign="bucket",
    ),
    "key pair of another deployment": Case(
        ("-e", "deployment_key_name={key}"),
        ("deployment_key_name", "{key}", 'is the key pair of the deployment "someone-else"', "its private key"),
        before_aws=False,
        foreign="key pair",
    ),
    "security group of another deployment": Case(
        ("-e", "deployment_security_group={group}"),
        ("deployment_security_group", "{group}", 'is the security group of the deployment "someone-else"'),
        before_aws=False,
        foreign="group",
    ),
    "untagged bucket holding other data": Case(
        ("-e", "deployment_bucket_name={bucket}"),
        ("deployment_bucket_name", "{bucket}", "holds other objects (data/keep.txt)", "teardown would delete it"),
        before_aws=False,
        foreign="untagged bucket",
    ),
    "untagged group with the name deploy gives": Case(
        (),
        ("security group", "-web", "is not this deployment's", "take it over", "-e deployment_security_group="),
        before_aws=False,
        foreign="untagged group",
    ),
    "wrong endpoint": Case(
        ("-e", "deployment_endpoint_url=http://127.0.0.1:{closed}"),
        ("Could not use AWS", "http://127.0.0.1:{closed}", "Nothing answers at", "make up"),
        before_aws=False,
    ),
    "no credentials on the local inventory": Case(
        ("-e", "deployment_access_key=", "-e", "deployment_secret_key="),
        ("Could not use AWS", "Unable to locate credentials", "No AWS credentials were found", "aws configure"),
        before_aws=False,
        env=NO_CREDENTIALS,
        unset=CREDENTIAL_VARIABLES,
    ),
    # The AWS inventory, with no credentials, and AWS's endpoint replaced by a closed loopback
    # port, so that nothing could leave this machine even if credentials were found.
    "no credentials on the AWS inventory": Case(
        (
            "-e", "deployment_endpoint_url=http://127.0.0.1:{closed}",
            "-e", "deployment_ssh_cidr=127.0.0.1/32",
            "-e", "deployment_image_url={origin}/image.jpg",
        ),
        ("Could not use AWS", "No AWS credentials were found", "AWS_PROFILE"),
        before_aws=False,
        inventory="aws",
        env={**NO_CREDENTIALS, "AWS_ENDPOINT_URL": "http://127.0.0.1:{closed}", "AWS_URL": "http://127.0.0.1:{closed}"},
        unset=CREDENTIAL_VARIABLES,
    ),
    "profile given where the inventory sets access keys": Case(
        ("-e", "deployment_profile=nosuch"),
        ('deployment_profile="nosuch" is given with deployment_access_key', "inventory/local", "leave it out"),
    ),
    "profile named that does not exist": Case(
        ("-e", "deployment_profile=nosuch", "-e", "deployment_access_key=", "-e", "deployment_secret_key="),
        ("deployment_profile=\"nosuch\" is not a profile of ~/.aws/config", "aws configure --profile nosuch"),
        env={"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"},
    ),
    "profile that does not exist": Case(
        (
            "-e", "deployment_endpoint_url=http://127.0.0.1:{closed}",
            "-e", "deployment_ssh_cidr=127.0.0.1/32",
            "-e", "deployment_image_url={origin}/image.jpg",
        ),
        ("Could not use AWS", "The AWS profile 'nosuch' does not exist", "aws configure list-profiles"),
        before_aws=False,
        inventory="aws",
        env={**NO_CREDENTIALS, "AWS_PROFILE": "nosuch", "AWS_ENDPOINT_URL": "http://127.0.0.1:{closed}"},
        unset=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"),
    ),
}  # fmt: skip


class _Portal(BaseHTTPRequestHandler):
    """What a hotel network's proxy answers in place of the address lookup or an image; and image
    origins gone wrong: /empty.jpg (200, no body), /vector.svg, /endless.jpg (a JPEG's first bytes,
    then zeros without end), /trickle.jpg (one byte every half second)."""

    protocol_version = "HTTP/1.0"

    def answer(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stream(self, pause: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.end_headers()
        self.wfile.write(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32)
        while True:
            time.sleep(pause)
            self.wfile.write(b"\x00" * (1 if pause else 65536))
            self.wfile.flush()

    def do_GET(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if self.path == "/empty.jpg":
                self.answer(b"", "image/jpeg")
            elif self.path == "/vector.svg":
                self.answer(b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="5"/></svg>', "image/svg+xml")
            elif self.path in ("/endless.jpg", "/trickle.jpg"):
                self.stream(0 if self.path == "/endless.jpg" else 0.5)
            else:
                self.answer(b"<html><body><h1>Sign in to the guest Wi-Fi</h1></body></html>\n", "text/html")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def portal():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Portal)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def fill(text: str, values: dict[str, str]) -> str:
    """`text` with its {closed}, {origin}, {portal} and {bucket} filled in; other braces (JSON, Jinja) kept."""
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", value)
    return text


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_fails_fast_naming_it_and_creates_nothing(cloud, portal, tmp_path, case):
    name = new_name("b")
    values = {
        "closed": str(free_port()),
        "origin": f"http://127.0.0.1:{cloud.env['LOCALCLOUD_ORIGIN_PORT']}",
        "portal": portal,
        "bucket": new_name("taken-"),  # not named after the deployment, which the sweep matches
    }
    values["key"] = values["group"] = values["bucket"]
    left = dict(NOTHING)
    foreign = make_foreign(cloud, case.foreign, values, name)
    if case.existing_key:
        left["keys"] = [create_key_pair(cloud, f"{name}-key", None)]

    before = foreign()
    started = time.monotonic()
    run = run_playbook(
        cloud,
        tmp_path,
        "-e", f"deployment_name={name}",
        *(fill(arg, values) for arg in case.args),
        inventory=case.inventory,
        env={key: fill(value, values) for key, value in case.env.items()},
        unset=case.unset,
        timeout=300,
    )  # fmt: skip
    took = time.monotonic() - started

    assert run.returncode != 0, run.output[-3000:]
    flat = " ".join(run.output.split())
    for fragment in case.says:
        assert fill(fragment, values) in flat, f"{fragment!r} missing from:\n{run.output[-3000:]}"
    assert (FIRST_AWS_CALL not in run.output) == case.before_aws, run.output[-3000:]
    assert took < (45 if case.before_aws else 90), f"took {took:.0f} s"
    assert resources(cloud, name) == left
    assert not list(tmp_path.glob("*.pem"))
    assert "teardown.yml" not in run.output  # nothing to remove, so no teardown advice
    assert foreign() == before, "the resource that was there is changed"
    for secret in case.hides:
        assert secret not in run.output, f"{secret!r} shown in:\n{run.output[-3000:]}"


THEIRS = [{"Key": "Deployment", "Value": "someone-else"}, {"Key": "ManagedBy", "Value": "ansible-aws-webserver"}]


def bucket_tags(s3, bucket: str) -> list[dict[str, str]]:
    try:
        return s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    except ClientError:
        return []  # NoSuchTagSet


def make_foreign(cloud, kind: str, values: dict[str, str], name: str):
    """Make the resource a case finds already there; returns what reads its state (tags, rules, image)."""
    ec2, s3 = cloud.client("ec2"), cloud.client("s3")
    if kind == "bucket":
        s3.create_bucket(Bucket=values["bucket"])
        s3.put_bucket_tagging(Bucket=values["bucket"], Tagging={"TagSet": THEIRS})
        s3.put_object(Bucket=values["bucket"], Key="public/image", Body=b"their image")
        return lambda: (
            s3.get_object(Bucket=values["bucket"], Key="public/image")["Body"].read(),
            s3.get_bucket_tagging(Bucket=values["bucket"])["TagSet"],
        )
    if kind == "untagged bucket":
        s3.create_bucket(Bucket=values["bucket"])
        s3.put_object(Bucket=values["bucket"], Key="data/keep.txt", Body=b"theirs")
        return lambda: (
            s3.get_object(Bucket=values["bucket"], Key="data/keep.txt")["Body"].read(),
            [o["Key"] for o in s3.list_objects_v2(Bucket=values["bucket"])["Contents"]],
            bucket_tags(s3, values["bucket"]),
        )
    if kind == "key pair":
        tags = [{"ResourceType": "key-pair", "Tags": THEIRS}]
        ec2.create_key_pair(KeyName=values["key"], KeyType="ed25519", TagSpecifications=tags)
        return lambda: ec2.describe_key_pairs(KeyNames=[values["key"]])["KeyPairs"]
    if kind in ("group", "untagged group"):
        group = values["group"] if kind == "group" else f"{name}-web"
        tags = [{"ResourceType": "security-group", "Tags": THEIRS}] if kind == "group" else []
        group_id = ec2.create_security_group(GroupName=group, Description="theirs", TagSpecifications=tags)["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=group_id,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
            ],
        )
        return lambda: ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    return lambda: None


def test_the_catalogue_is_long_enough():
    assert len(CASES) >= 12
    assert sum(case.before_aws for case in CASES.values()) >= 8


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder on a read-only file system (mode 0700 already, so nothing needs changing there)."""
    folder = tmp_path / "read-only-keys"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,mode=0700,size=64k", "tmpfs", str(folder)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only file system here: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_key_folder_that_cannot_be_written_leaves_no_key_pair(cloud, tmp_path, read_only_folder):
    name = new_name("b")
    run = run_playbook(
        cloud, tmp_path, "-e", f"deployment_name={name}", "-e", f"deployment_key_dir={read_only_folder}", timeout=300
    )
    assert run.returncode != 0, run.output[-3000:]
    flat = " ".join(run.output.split())
    says = (f'key pair "{name}-key"', "No key pair is left behind", f'deployment_key_dir="{read_only_folder}"')
    for fragment in says:
        assert fragment in flat, f"{fragment!r} missing from:\n{run.output[-3000:]}"
    removal = run.output.split("TASK [deployment : Remove the key pair this run created")[1][:400]
    assert "changed: [localhost]" in removal, removal  # the key pair was made, and removed again
    assert resources(cloud, name) == NOTHING
    assert not list(read_only_folder.iterdir())
