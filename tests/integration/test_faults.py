"""Runs against AWS's everyday failures, injected by the local cloud (localcloud/faults.py), each
for this test's own access key or instance so that the other tests sharing the cloud see none.

Throttling and 500s over whole lives of both modes are proven on the IAM tests' clouds
(conftest's iam_cloud, test_iam.py and test_iam_group.py); here: credentials that expire mid-run,
an SSH connection that drops, two deploys of one deployment at once, and a teardown started while
a deploy runs. Each ends converged, with nothing left.
"""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest

from conftest import ROOT, LocalCloud, wait_for
from playbooks import Run, playbook, playbook_command
from sweep import NOTHING, sweep

pytestmark = pytest.mark.cloud


def new_key() -> str:
    return f"AKIA{uuid.uuid4().hex[:16].upper()}"


def as_key(key: str, name: str, *args: str) -> list[str]:
    # Ansible hides a secret's value wherever it appears in the output: a long one, not a letter of the names.
    credentials = ["-e", f"deployment_access_key={key}", "-e", "deployment_secret_key=localcloud-secret"]
    return ["-e", f"deployment_name={name}", *credentials, *args]


def start(cloud: LocalCloud, name: str, state, *args: str) -> subprocess.Popen:
    """playbooks/<name>.yml running in the background, its output going to <state>/<name>.out."""
    command, env = playbook_command(cloud, name, state, *args)
    with (state / f"{name}.out").open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=output)
    process.output_file = state / f"{name}.out"
    return process


def finished(process: subprocess.Popen, timeout: float = 600) -> Run:
    process.wait(timeout=timeout)
    return Run(process.returncode, process.output_file.read_text())


def lock_held(cloud: LocalCloud, name: str) -> bool:
    return bool(cloud.client("ssm").get_parameters(Names=[f"/aaw/{name}/lock"])["Parameters"])


def instance_of(cloud: LocalCloud, name: str) -> str:
    """The deployment's running instance ('' when none runs)."""
    found = cloud.client("ec2").describe_instances(
        Filters=[{"Name": "tag:Deployment", "Values": [name]}, {"Name": "instance-state-name", "Values": ["running"]}]
    )["Reservations"]
    return found[0]["Instances"][0]["InstanceId"] if found else ""


def test_expired_credentials_and_a_dropped_ssh_connection_are_named_and_the_reruns_converge(cloud, tmp_path):
    name = f"x{uuid.uuid4().hex[:7]}"
    expiring = new_key()
    try:
        # The key expires once the run has made its key pair: the next call is refused with ExpiredToken.
        run = start(cloud, "deploy", tmp_path, *as_key(expiring, name))
        keys = cloud.client("ec2")
        wait_for(lambda: keys.describe_key_pairs(Filters=[{"Name": "key-name", "Values": [f"{name}-key"]}])["KeyPairs"],
                 120, "the run's key pair")  # fmt: skip
        cloud.cli("faults", "expire-key", expiring)
        stopped = finished(run)
        assert stopped.returncode != 0
        said = " ".join(stopped.output.split())
        assert "ExpiredToken" in said and "AWS said the credentials expired during" in said, said[-3000:]
        assert "aws sso login" in said and "run the same command again" in said

        # Renewed credentials: the same command goes on from what exists (the lock of the ended run is taken over).
        fresh = new_key()
        converged = playbook(cloud, "deploy", tmp_path, *as_key(fresh, name))
        assert converged.returncode == 0, converged.output[-5000:]

        # One dropped connection: Ansible connects again and the run converges.
        instance = instance_of(cloud, name)
        cloud.cli("faults", "drop-ssh", instance, "--count", "1")
        rerun = playbook(cloud, "deploy", tmp_path, *as_key(fresh, name))
        assert rerun.returncode == 0 and rerun.changed == 0, rerun.output[-5000:]
        assert "dropped a connection" in (cloud.home / "localcloud.log").read_text()

        # A connection that keeps dropping: Ansible tries each once more and the role waits for SSH, then
        # the run stops naming the host and what to check.
        cloud.cli("faults", "drop-ssh", instance, "--count", "100")
        dropped = playbook(cloud, "deploy", tmp_path, *as_key(fresh, name, "-e", "webserver_connect_timeout=8"))
        assert dropped.returncode != 0
        said = " ".join(dropped.output.split())
        assert "Could not log in to 127." in said and "by SSH within 8 s" in said, said[-3000:]
        assert "lets TCP port 22 in from your address (deployment_ssh_cidr" in said
    finally:
        if instance_of(cloud, name):
            cloud.cli("faults", "drop-ssh", instance_of(cloud, name), "--count", "0", check=False)
        gone = playbook(cloud, "teardown", tmp_path, *as_key(new_key(), name, "-e", "confirm=true"))
        assert gone.returncode == 0, gone.output[-5000:]
    assert sweep(cloud, name) == NOTHING


def test_one_deploy_at_a_time_and_a_teardown_during_a_deploy_leaves_nothing(cloud, tmp_path):
    name = f"y{uuid.uuid4().hex[:7]}"
    first = start(cloud, "deploy", tmp_path / "a", "-e", f"deployment_name={name}")
    try:
        wait_for(lambda: lock_held(cloud, name), 120, "the first deploy's lock")
        # Another operator (another state folder) deploys the same deployment: stopped at its start.
        second = playbook(cloud, "deploy", tmp_path / "b", "-e", f"deployment_name={name}")
        assert second.returncode != 0
        said = " ".join(second.output.split())
        assert f"Deployment {name} is being changed by another run: deploy.yml by" in said, said[-3000:]
        assert "deployment_lock_break=true" in said
        assert "TASK [deployment : Stop when the region has no default VPC" not in second.output, "stopped at the lock"
        assert "Could not use AWS" not in said

        # Teardown started now waits for the deploy, then removes what it made.
        teardown = start(cloud, "teardown", tmp_path / "b", "-e", f"deployment_name={name}", "-e", "confirm=true")
        made = finished(first)
        assert made.returncode == 0, made.output[-5000:]
        gone = finished(teardown)
        assert gone.returncode == 0, gone.output[-5000:]
        assert f"Deployment {name} is gone" in gone.output
    finally:
        for process in (first,):
            if process.poll() is None:
                process.kill()
    assert sweep(cloud, name) == NOTHING, "teardown released the lock too, the deployment's last trace"


def test_the_fault_api_answers_and_refuses_a_bad_rule(cloud):
    shown = cloud.cli("faults", "show").stdout
    assert "No fault rules" in shown or '"injected"' in shown
    refused = cloud.cli("faults", "add", '{"error": "melt"}', check=False)
    assert refused.returncode == 1 and "not one of" in refused.stderr
    started = time.monotonic()
    assert cloud.cli("faults", "add", '{"access_key": "AKIANOBODY0000000000", "latency": 0.1}').returncode == 0
    assert time.monotonic() - started < 30
