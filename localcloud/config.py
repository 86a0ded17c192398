"""Settings of the local cloud: where its state lives and which loopback ports it uses.

Every setting has a default and an environment variable, so that tests and users can
run several clouds side by side without editing anything.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Credentials moto accepts; they are not secrets and never reach AWS.
ACCESS_KEY_ID = "localcloud"
SECRET_ACCESS_KEY = "localcloud"  # noqa: S105 - a fixed, public value moto accepts
ACCOUNT_ID = "123456789012"
ADMIN_USER = "localcloud-admin"

# The instance image: Debian 12 built locally, registered in every region as this AMI.
IMAGE_NAME = "localhost/localcloud/debian-12"
AMI_NAME_PREFIX = "localcloud-debian-12-amd64"
# Debian publishes its AMIs in these public SSM parameters on AWS; the local cloud answers them.
DEBIAN_SSM_PARAMETERS = (
    "/aws/service/debian/release/12/latest/amd64",
    "/aws/service/debian/release/bookworm/latest/amd64",
)
LABEL = "io.localcloud.home"


def namespace_prefix(home: Path) -> str:
    """Prefix of the network namespaces and containers of the cloud in `home` (resolved), unique per home."""
    return "lc" + hashlib.sha256(str(home).encode()).hexdigest()[:6]


def _under_home(name: str) -> property:
    """A read-only attribute: the path `name` in the cloud's home."""
    return property(lambda settings: settings.home / name, doc=f"<home>/{name}")


@dataclass(frozen=True)
class Settings:
    """Where the local cloud keeps its files and which loopback addresses it serves on."""

    home: Path
    host: str
    port: int
    origin_port: int
    region: str
    public_ip_network: ipaddress.IPv4Network
    # IAM as on AWS: every request signed by a known user and allowed by its policies
    # (LOCALCLOUD_IAM=enforce). The fixed access key is then the account's administrator.
    iam_enforced: bool = False
    # Seconds a terminated instance's network interface keeps its security groups in use.
    eni_release_seconds: float = 5.0
    # Seconds Elastic Load Balancing takes to let go of a deleted listener's target group, and to
    # find a certificate just imported into ACM (CertificateNotFound until then).
    elb_settle_seconds: float = 2.0
    # Seconds between the instances' EC2 metrics (AWS: 60 with detailed monitoring, 300 without).
    metrics_interval: float = 10.0
    # Seconds between two rounds of the alarm evaluator.
    alarm_interval: float = 10.0
    # The fault rules the cloud starts with (LOCALCLOUD_FAULTS, a JSON list; localcloud/faults.py).
    faults: str = ""

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def origin_url(self) -> str:
        return f"http://{self.host}:{self.origin_port}/image.jpg"

    # Files and folders of the cloud, all under its home.
    pid_file = _under_home("localcloud.pid")
    log_file = _under_home("localcloud.log")
    containers_conf = _under_home("containers.conf")
    origin_dir = _under_home("origin")
    image_dir = _under_home("image")
    outbox_file = _under_home("outbox.jsonl")

    @property
    def namespace_prefix(self) -> str:
        return namespace_prefix(self.home)


def load() -> Settings:
    """Read the settings from the environment, with the documented defaults."""
    home = Path(os.environ.get("LOCALCLOUD_HOME", PROJECT_ROOT / ".state" / "localcloud"))
    network = os.environ.get("LOCALCLOUD_PUBLIC_IPS", "127.42.0.0/16")
    try:
        public = ipaddress.IPv4Network(network)
    except ValueError as exc:
        raise SystemExit(f"LOCALCLOUD_PUBLIC_IPS={network!r} is not a network: {exc}") from None
    if not public.subnet_of(ipaddress.IPv4Network("127.0.0.0/8")):
        raise SystemExit(
            f"LOCALCLOUD_PUBLIC_IPS={network!r} must lie in the loopback range 127.0.0.0/8: "
            "the local cloud never hands out addresses that could leave this machine."
        )
    return Settings(
        home=home.resolve(),
        host=os.environ.get("LOCALCLOUD_HOST", "127.0.0.1"),
        port=_port("LOCALCLOUD_PORT", 4566),
        origin_port=_port("LOCALCLOUD_ORIGIN_PORT", 4567),
        region=os.environ.get("LOCALCLOUD_REGION", "us-east-1"),
        public_ip_network=public,
        iam_enforced=_choice("LOCALCLOUD_IAM", ("off", "enforce")) == "enforce",
        eni_release_seconds=_seconds("LOCALCLOUD_ENI_RELEASE_SECONDS", 5.0),
        elb_settle_seconds=_seconds("LOCALCLOUD_ELB_SETTLE_SECONDS", 2.0),
        metrics_interval=_seconds("LOCALCLOUD_METRICS_INTERVAL", 10.0, low=1),
        alarm_interval=_seconds("LOCALCLOUD_ALARM_INTERVAL", 10.0, low=1),
        faults=os.environ.get("LOCALCLOUD_FAULTS", ""),
    )


def _choice(name: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(name, allowed[0])
    if value not in allowed:
        raise SystemExit(f"{name}={value!r} is not one of {', '.join(allowed)}.")
    return value


def _seconds(name: str, default: float, low: float = 0) -> float:
    value = os.environ.get(name, str(default))
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not low <= seconds <= 3600:
        raise SystemExit(f"{name}={value!r} is not a number of seconds ({low:g}-3600).")
    return seconds


def _port(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"{name}={value!r} is not a TCP port (1-65535).")
    return int(value)


def client(settings: Settings, service: str, region: str | None = None):
    """A boto3 client of the local cloud's own API, as its administrator (the daemon's threads and the CLI)."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=settings.endpoint,
        region_name=region or settings.region,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


def client_environment(settings: Settings) -> dict[str, str]:
    """The variables that point boto3, the AWS CLI and amazon.aws at the local cloud."""
    return {
        "AWS_ENDPOINT_URL": settings.endpoint,
        "AWS_URL": settings.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": settings.region,
        "AWS_REGION": settings.region,
    }
