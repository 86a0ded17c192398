"""A catalogue of bad inputs to deploy.yml: each fails fast, with a message naming the input, and
creates nothing. The ones validate.yml catches stop before any AWS call."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from guided import NOTHING, create_key_pair, new_name, resources, run_playbook

from conftest import free_port

pytestmark = pytest.mark.cloud

# The first AWS call of a run; a bad input caught before it never touched AWS.
FIRST_AWS_CALL = "Ask STS who the credentials belong to"

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
    "deployment name that begins a reserved bucket prefix": Case(
        ("-e", "deployment_name=xn--shop"), ("deployment_name", "xn--shop", "which S3 reserves")
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
    "idle minutes not a multiple of 5": Case(
        ("-e", "deployment_idle_minutes=7"), ("deployment_idle_minutes", "multiple of 5")
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
}  # fmt: skip


class _Portal(BaseHTTPRequestHandler):
    """What a hotel network's proxy answers in place of the address lookup."""

    def do_GET(self) -> None:
        body = b"<html><body><h1>Sign in to the guest Wi-Fi</h1></body></html>\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def portal():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Portal)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_fails_fast_naming_it_and_creates_nothing(cloud, portal, tmp_path, case):
    name = new_name("b")
    values = {
        "closed": str(free_port()),
        "origin": f"http://127.0.0.1:{cloud.env['LOCALCLOUD_ORIGIN_PORT']}",
        "portal": portal,
    }
    left = dict(NOTHING)
    if case.existing_key:
        left["keys"] = [create_key_pair(cloud, f"{name}-key", None)]

    started = time.monotonic()
    run = run_playbook(
        cloud,
        tmp_path,
        "-e", f"deployment_name={name}",
        *(arg.format(**values) for arg in case.args),
        inventory=case.inventory,
        env={key: value.format(**values) for key, value in case.env.items()},
        unset=case.unset,
        timeout=300,
    )  # fmt: skip
    took = time.monotonic() - started

    assert run.returncode != 0, run.output[-3000:]
    flat = " ".join(run.output.split())
    for fragment in case.says:
        assert fragment.format(**values) in flat, f"{fragment!r} missing from:\n{run.output[-3000:]}"
    assert (FIRST_AWS_CALL not in run.output) == case.before_aws, run.output[-3000:]
    assert took < (45 if case.before_aws else 90), f"took {took:.0f} s"
    assert resources(cloud, name) == left
    assert not list(tmp_path.glob("*.pem"))
    assert "teardown.yml" not in run.output  # nothing to remove, so no teardown advice


def test_the_catalogue_is_long_enough():
    assert len(CASES) >= 12
    assert sum(case.before_aws for case in CASES.values()) >= 8
