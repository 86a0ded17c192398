"""The log file: each run, with timestamps, and no secrets (private keys, the secret key)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess

import pytest
from guided import new_name, run_playbook, terminate

from conftest import ROOT

pytestmark = pytest.mark.cloud

RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} p=(\d+) u=\S+ n=ansible (?:INFO|WARNING|ERROR|DEBUG)\| ")


@pytest.fixture(scope="module")
def logged(cloud, tmp_path_factory):
    """Two runs of one deployment, a full one and --tags alarm, with credentials of their own.
    The first runs with -v, which logs every task's result: more places a secret could leak."""
    name = new_name("l")
    state = tmp_path_factory.mktemp("logged")
    access_key = f"AKIALOG{secrets.token_hex(6).upper()}"
    secret_key = f"s3cr3t-{secrets.token_urlsafe(24)}"
    credentials = ("-e", f"deployment_access_key={access_key}", "-e", f"deployment_secret_key={secret_key}")
    first = run_playbook(cloud, state, "-v", "-e", f"deployment_name={name}", *credentials)
    assert first.returncode == 0, first.output[-5000:]
    second = run_playbook(cloud, state, "-e", f"deployment_name={name}", *credentials, "--tags", "alarm")
    assert second.returncode == 0, second.output[-5000:]
    yield {"name": name, "state": state, "secret_key": secret_key, "log": (state / "ansible.log").read_text()}
    terminate(cloud, name)


def test_the_log_file_is_logs_ansible_log_by_default():
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_LOG_PATH"}
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    dump = subprocess.run(
        [str(ROOT / ".venv/bin/ansible-config"), "dump", "--only-changed"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(rf"DEFAULT_LOG_PATH\(.*ansible\.cfg\) = {re.escape(str(ROOT / 'logs/ansible.log'))}", dump), dump
    assert (ROOT / "logs").is_dir()


def test_each_run_is_logged_with_timestamps(logged):
    lines = logged["log"].splitlines()
    starts = [line for line in lines if "===== deploy.yml started:" in line]
    ends = [line for line in lines if "===== deploy.yml ended: ok =====" in line]
    assert len(starts) == 2 and len(ends) == 2, "\n".join(starts + ends)
    assert "tags all" in starts[0] and "tags alarm" in starts[1]
    for marker in starts + ends:
        assert RECORD.match(marker), marker
    pids = {RECORD.match(line).group(1) for line in lines if RECORD.match(line)}
    assert len(pids) == 2  # one process per run
    banners = [line for line in lines if "TASK [" in line]
    assert len(banners) > 40 and all(RECORD.match(line) for line in banners)
    assert any("Web page:" in line for line in lines)


def test_the_log_holds_no_private_key(logged):
    key = (logged["state"] / f"{logged['name']}-key.pem").read_text()
    assert "PRIVATE KEY" in key
    body = [line for line in key.strip().splitlines() if not line.startswith("-----")]
    assert body
    log = logged["log"]
    assert "PRIVATE KEY" not in log
    for line in body:
        assert line not in log


def test_the_log_holds_no_secret_key(logged):
    assert logged["secret_key"] not in logged["log"]
    assert logged["secret_key"][7:20] not in logged["log"]  # not even a piece of it


def test_the_log_names_no_extra_variables(logged):
    markers = [line for line in logged["log"].splitlines() if "===== deploy.yml" in line]
    assert markers and not any("deployment_" in line for line in markers)


def test_a_failed_run_is_logged_with_its_message(cloud, tmp_path):
    name = new_name("g")
    run = run_playbook(cloud, tmp_path, "-e", f"deployment_name={name}", "-e", "deployment_bucket_name=Bad_Bucket")
    assert run.returncode != 0
    log = (tmp_path / "ansible.log").read_text()
    assert "===== deploy.yml ended: failed =====" in log
    assert 'deployment_bucket_name="Bad_Bucket" is not valid: it has uppercase letters' in " ".join(log.split())
