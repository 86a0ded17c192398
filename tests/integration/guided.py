"""Helpers for the guided-run tests: a deployment's resources, and deploy.yml in a terminal."""

from __future__ import annotations

import uuid
from pathlib import Path

import pexpect

import sweep
from conftest import ROOT, LocalCloud
from playbooks import Run, playbook, playbook_command

NOTHING = {"instances": [], "groups": [], "keys": [], "buckets": [], "alarms": []}


def new_name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def resources(cloud: LocalCloud, name: str) -> dict[str, list[str]]:
    """sweep.resources, with key pairs matched by tag or by the name deploy would give them."""
    found = sweep.resources(cloud, name)
    ec2 = cloud.client("ec2")
    named = {k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"] if k["KeyName"] == f"{name}-key"}
    found["keys"] = sorted(set(found["keys"]) | named)
    return found


def terminate(cloud: LocalCloud, name: str) -> None:
    """End deployment `name`'s instances, so a test leaves no container running in the shared cloud."""
    running = sweep.resources(cloud, name)["instances"]
    if running:
        cloud.client("ec2").terminate_instances(InstanceIds=running)


def create_key_pair(cloud: LocalCloud, name: str, key_dir: Path | None) -> str:
    """A key pair made outside the playbook; its private key saved as <key_dir>/<name>.pem when key_dir is given."""
    created = cloud.client("ec2").create_key_pair(KeyName=name, KeyType="ed25519")
    if key_dir is not None:
        pem = key_dir / f"{name}.pem"
        pem.write_text(created["KeyMaterial"])
        pem.chmod(0o600)
    return name


def spawn_deploy(cloud: LocalCloud, state: Path, *args: str, timeout: float = 120) -> pexpect.spawn:
    """deploy.yml on the test cloud in a terminal (a pty), as a user would type it."""
    argv, env = playbook_command(cloud, "deploy", state, *args)
    child = pexpect.spawn(
        argv[0],
        argv[1:],
        cwd=str(ROOT),
        env=env,
        encoding="utf-8",
        codec_errors="replace",
        timeout=timeout,
        dimensions=(60, 250),
    )
    child.logfile_read = open(state / "terminal.log", "a", encoding="utf-8")  # noqa: SIM115 - closed with the child
    return child


def finish(child: pexpect.spawn, timeout: float = 600) -> tuple[int | None, str]:
    """Wait for the end; (exit status, the whole terminal output)."""
    child.expect(pexpect.EOF, timeout=timeout)
    child.close()
    child.logfile_read.close()
    output = Path(child.logfile_read.name).read_text(encoding="utf-8", errors="replace")
    return child.exitstatus, output


def run_playbook(
    cloud: LocalCloud,
    state: Path,
    *args: str,
    inventory: str = "local",
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
    timeout: float = 600,
) -> Run:
    """playbooks.playbook for deploy.yml."""
    return playbook(cloud, "deploy", state, *args, timeout=timeout, env=env, unset=unset, inventory=inventory)
