"""library/deployment_lock.py against moto's server: one run holds a deployment at a time; another
is refused naming it, or waits for it; a lapsed lock is taken over; a release leaves other runs'
locks alone."""

from __future__ import annotations

import datetime
import json
import os
import threading
import time
import uuid

import pytest


@pytest.fixture
def name():
    return f"lock{uuid.uuid4().hex[:8]}"


def holder(moto_client, name: str) -> dict | None:
    try:
        value = moto_client("ssm").get_parameter(Name=f"/aaw/{name}/lock")["Parameter"]["Value"]
    except moto_client("ssm").exceptions.ParameterNotFound:
        return None
    return json.loads(value)


def test_one_run_holds_the_lock_and_another_is_refused_naming_it(run_module, moto_client, name):
    rc, first = run_module("deployment_lock", name=name, playbook="deploy.yml")
    assert rc == 0 and first["changed"] is True, first
    assert holder(moto_client, name)["run_id"] == first["run_id"]
    rc, again = run_module("deployment_lock", name=name, playbook="deploy.yml", run_id=first["run_id"])
    assert rc == 0 and again["changed"] is False, "the run's own lock is kept"

    rc, second = run_module("deployment_lock", name=name, playbook="deploy.yml", advice="Force it with -e x=true.")
    assert rc != 0
    said = second["msg"]
    assert f"Deployment {name} is being changed by another run: deploy.yml by " in said
    assert f"lock /aaw/{name}/lock in SSM Parameter Store" in said and said.endswith("Force it with -e x=true.")
    assert second["holder"]["run_id"] == first["run_id"]

    rc, other = run_module("deployment_lock", name=name, state="absent", run_id="not-this-run")
    assert rc == 0 and other["changed"] is False and holder(moto_client, name) is not None, "another run's lock stays"
    rc, released = run_module("deployment_lock", name=name, state="absent", run_id=first["run_id"])
    assert rc == 0 and released["changed"] is True and holder(moto_client, name) is None
    rc, gone = run_module("deployment_lock", name=name, state="absent", run_id=first["run_id"])
    assert rc == 0 and gone["changed"] is False


def test_a_run_waits_for_the_lock_to_be_released(run_module, moto_client, name):
    rc, first = run_module("deployment_lock", name=name, playbook="deploy.yml")
    assert rc == 0
    release = threading.Timer(
        2, lambda: run_module("deployment_lock", name=name, state="absent", run_id=first["run_id"])
    )
    release.start()
    started = time.monotonic()
    rc, second = run_module("deployment_lock", name=name, playbook="teardown.yml", wait=60)
    release.join()
    assert rc == 0 and second["changed"] is True, second
    assert second["waited"] >= 2 and time.monotonic() - started < 30
    assert holder(moto_client, name)["playbook"] == "teardown.yml"


def test_a_lapsed_lock_is_taken_over_and_force_takes_any(run_module, moto_client, name):
    lapsed = {"run_id": "dead", "playbook": "deploy.yml", "user": "bob", "host": "gone",
              "started": "2026-01-01T00:00:00Z", "expires": "2026-01-01T01:00:00Z"}  # fmt: skip
    moto_client("ssm").put_parameter(Name=f"/aaw/{name}/lock", Value=json.dumps(lapsed), Type="String")
    rc, taken = run_module("deployment_lock", name=name, playbook="deploy.yml")
    assert rc == 0 and taken["holder"] == lapsed, taken
    rc, forced = run_module("deployment_lock", name=name, playbook="teardown.yml", force=True)
    assert rc == 0 and forced["holder"]["run_id"] == taken["run_id"]
    expires = datetime.datetime.strptime(holder(moto_client, name)["expires"], "%Y-%m-%dT%H:%M:%SZ")
    in_50_minutes = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(minutes=50)
    assert expires > in_50_minutes, "the new holder's lease is the default hour"


def test_check_mode_writes_nothing_and_warns_of_a_holder(run_module, moto_client, name):
    rc, result = run_module("deployment_lock", check_mode=True, name=name)
    assert rc == 0 and result["changed"] is True and holder(moto_client, name) is None
    rc, first = run_module("deployment_lock", name=name, playbook="deploy.yml")
    rc, looked = run_module("deployment_lock", check_mode=True, name=name)
    assert rc == 0 and looked["holder"]["run_id"] == first["run_id"]
    assert "Another run holds the deployment" in json.dumps(looked.get("warnings", []))


def test_the_lock_of_an_ended_run_of_this_machine_is_taken_over_and_a_live_ones_is_not(run_module, moto_client, name):
    import socket
    import subprocess

    dead = subprocess.Popen(["sleep", "0"])
    dead.wait()
    with open(f"/proc/{os.getpid()}/stat", encoding="utf-8") as stat:
        start = int(stat.read().rsplit(")", 1)[1].split()[19])
    base = {"playbook": "deploy.yml", "user": "me", "host": socket.gethostname(),
            "started": "2026-12-07T00:00:00Z", "expires": "2999-01-01T00:00:00Z"}  # fmt: skip
    ssm = moto_client("ssm")
    live = {**base, "run_id": "live", "pid": os.getpid(), "pid_start": start}
    ssm.put_parameter(Name=f"/aaw/{name}/lock", Value=json.dumps(live), Type="String")
    rc, refused = run_module("deployment_lock", name=name)
    assert rc != 0 and f"(pid {os.getpid()})" in refused["msg"], "a running ansible-playbook keeps its lock"

    gone = {**base, "run_id": "gone", "pid": dead.pid, "pid_start": 1}
    zombie = subprocess.Popen(["true"])  # it ends at once; its status is not read yet
    time.sleep(0.5)
    with open(f"/proc/{zombie.pid}/stat", encoding="utf-8") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    assert fields[0] == "Z"
    ended = {**base, "run_id": "zombie", "pid": zombie.pid, "pid_start": int(fields[19])}
    ssm.put_parameter(Name=f"/aaw/{name}/lock", Value=json.dumps(ended), Type="String", Overwrite=True)
    rc, taken = run_module("deployment_lock", name=name)
    assert rc == 0 and taken["holder"]["run_id"] == "zombie", "a run that ended and was not reaped yet"
    zombie.wait()
    ssm.delete_parameter(Name=f"/aaw/{name}/lock")

    ssm.put_parameter(Name=f"/aaw/{name}/lock", Value=json.dumps(gone), Type="String", Overwrite=True)
    rc, taken = run_module("deployment_lock", name=name)
    assert rc == 0 and taken["holder"]["run_id"] == "gone", taken
