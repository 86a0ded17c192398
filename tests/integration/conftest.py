"""Fixtures for tests that run on a local cloud of their own.

The session starts one local cloud in a temporary home with its own ports and public
address range, so it never meets a cloud a developer started with `make demo`.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from localcloud.config import LABEL, namespace_prefix

ROOT = Path(__file__).resolve().parents[2]
# As the playbooks' modules retry (module_defaults' aws_config): the tests' own calls get through a
# cloud that injects faults too.
RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 10})
# AWS on a bad day: 20 % of the calls throttled, 5 % answering 500 (the second rule is asked only
# when the first did not fire: 0.0625 of the other 80 %).
FLAKY_AWS = json.dumps([{"error": "throttle", "probability": 0.2}, {"error": "internal", "probability": 0.0625}])
LOCALCLOUD = [sys.executable, "-m", "localcloud"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalCloud:
    home: Path
    env: dict[str, str]
    keys: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return self.env["AWS_ENDPOINT_URL"]

    def cli(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [*LOCALCLOUD, *args], env=env or self.env, cwd=ROOT, capture_output=True, text=True, timeout=600
        )
        if check and result.returncode != 0:
            raise AssertionError(f"localcloud {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.env["AWS_DEFAULT_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            config=RETRIES,
        )

    def faults(self, method: str = "GET", body: object = None) -> list[dict]:
        """The cloud's fault rules (localcloud/faults.py), each with how often it fired; or set them."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.endpoint}/localcloud-api/faults", data=data, method=method)
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())["rules"]


def cloud_env(home: Path, public_ips: str, settings: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LOCALCLOUD_HOME": str(home),
        "LOCALCLOUD_PORT": str(free_port()),
        "LOCALCLOUD_ORIGIN_PORT": str(free_port()),
        "LOCALCLOUD_PUBLIC_IPS": public_ips,
        # EC2 metrics only when a test asks (`localcloud metrics`), unless `settings` say otherwise.
        "LOCALCLOUD_METRICS_INTERVAL": "3600",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        **(settings or {}),
    }
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(key, None)
    exports = subprocess.run([*LOCALCLOUD, "env"], env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for line in exports.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    return env


def start_cloud(home: Path, public_ips: str, settings: dict[str, str] | None = None) -> LocalCloud:
    """A local cloud of its own in `home`; `settings` are LOCALCLOUD_* variables for it."""
    if shutil.which("podman") is None or os.geteuid() != 0:
        pytest.skip("the local cloud needs podman and root: run 'make setup' as root")
    cloud = LocalCloud(home=home, env=cloud_env(home, public_ips, settings))
    cloud.cli("up", "--no-build")
    return cloud


OWNER_FILE = "test-session.pid"


@contextlib.contextmanager
def own_cloud(tmp_path_factory, name: str, settings: dict[str, str] | None = None):
    """A local cloud of a test module's own (its home `name` under pytest's folders, owned by this
    session so a killed session's cloud is swept), with LOCALCLOUD_* `settings`; down at the end."""
    home = tmp_path_factory.mktemp(name)
    (home / OWNER_FILE).write_text(str(os.getpid()))
    started = start_cloud(home, private_range(), settings)
    try:
        yield started
    finally:
        started.cli("down", check=False)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _daemon_environments() -> dict[int, dict[str, str]]:
    """Running local-cloud daemons (any session's, any user's) and their environments, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"localcloud.daemon" not in (entry / "cmdline").read_bytes():
                continue
            environ = (entry / "environ").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        found[int(entry.name)] = dict(item.partition("=")[::2] for item in environ if "=" in item)
    return found


def _daemons() -> dict[int, Path]:
    """Running local-cloud daemons and their home folders."""
    return {
        pid: Path(env["LOCALCLOUD_HOME"]) for pid, env in _daemon_environments().items() if "LOCALCLOUD_HOME" in env
    }


_ranges_used: set[int] = set()


def private_range() -> str:
    """A public-address range of its own for this test session: not one a running local cloud
    uses, and with pytest-xdist, from a share of the candidates that no other worker draws from."""
    for env in _daemon_environments().values():
        taken = env.get("LOCALCLOUD_PUBLIC_IPS", "127.42.0.0/16").split(".")
        if len(taken) > 1 and taken[1].isdigit():
            _ranges_used.add(int(taken[1]))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(worker) if worker.isdigit() else 0
    second = random.choice([n for n in range(50, 251) if n not in _ranges_used and n % workers == index % workers])
    _ranges_used.add(second)
    return f"127.{second}.0.0/16"


def _abandoned(home: Path, tests_root: Path) -> bool:
    """A home folder of an earlier test session whose pytest process is gone."""
    if not home.is_relative_to(tests_root):
        return False
    try:
        return not _pid_alive(int((home / OWNER_FILE).read_text()))
    except (OSError, ValueError):
        return True


def all_runs_temp_root(path: Path) -> Path:
    """pytest-of-<user>: the folder above every run's (and, with xdist, every worker's) temporary folder."""
    return next((p for p in path.parents if p.name.startswith("pytest-of-")), path.parent)


def sweep_abandoned_clouds(tests_root: Path) -> None:
    """Remove what test sessions that were killed (SIGKILL, a closed terminal) left running.

    A finished or interrupted session takes its cloud down itself; a killed one cannot, and its
    daemon, containers and namespaces would slow down or break every later session. Only homes
    under `tests_root` (pytest's temporary folders) whose owning pytest process is dead are
    touched: a developer's `make demo` cloud and concurrent test sessions are left alone.
    """
    live_homes = []
    for pid, home in _daemons().items():
        if _abandoned(home, tests_root):
            os.kill(pid, signal.SIGKILL)
        else:
            live_homes.append(home)
    listing = subprocess.run(
        ["podman", "ps", "-a", "--filter", f"label={LABEL}", "--format", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    containers = json.loads(listing.stdout or "[]") if listing.returncode == 0 else []
    live_prefixes = set()
    for container in containers:
        home = Path(container.get("Labels", {}).get(LABEL, ""))
        if _abandoned(home, tests_root):
            subprocess.run(["podman", "rm", "-f", "-t", "0", *container["Names"]], capture_output=True, check=False)
        else:
            live_prefixes.add(container["Names"][0].split("-", 1)[0])
    live_prefixes |= {namespace_prefix(home.resolve()) for home in live_homes}
    try:
        namespaces = os.listdir("/run/netns")
    except FileNotFoundError:
        namespaces = []
    for name in namespaces:
        if name.startswith("lc") and "-i-" in name and name.split("-", 1)[0] not in live_prefixes:
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def _interrupt_on_sigterm(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt("SIGTERM")


@pytest.fixture(scope="session")
def cloud(tmp_path_factory) -> LocalCloud:
    if shutil.which("podman") and os.geteuid() == 0:
        sweep_abandoned_clouds(all_runs_temp_root(tmp_path_factory.getbasetemp()))
    # pytest tears fixtures down on Ctrl-C but not on SIGTERM (a CI timeout, `kill`): make
    # SIGTERM an interrupt too, so this session's cloud goes down with it.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    home = tmp_path_factory.mktemp("localcloud")
    (home / OWNER_FILE).write_text(str(os.getpid()))
    started = start_cloud(home, private_range())
    yield started
    started.cli("down", check=False)


@pytest.fixture(scope="module")
def iam_cloud(tmp_path_factory):
    """A cloud of the module's own as strict and as flaky as AWS: it enforces IAM (every request signed
    by a known IAM user and allowed by its policies, as AWS evaluates them), and throttles 20 % of the
    calls and answers 5 % with a 500 (FLAKY_AWS): the runs must converge through both."""
    # ELB's settle time longer than the steps from a certificate's import to its listener, and from a
    # listener's deletion to its target group's, take even when throttled calls back off between
    # them: the group's life meets CertificateNotFound and ResourceInUse, and retries through both.
    settings = {"LOCALCLOUD_IAM": "enforce", "LOCALCLOUD_ELB_SETTLE_SECONDS": "10", "LOCALCLOUD_FAULTS": FLAKY_AWS}
    with own_cloud(tmp_path_factory, "iamcloud", settings) as started:
        yield started


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
