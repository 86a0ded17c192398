"""teardown.yml and the lifecycle guarantees, for real on a test local cloud.

1. No leak: after deploy then teardown, nothing of the deployment is left (sweep.sweep: every
   resource type, tagged or named for it, plus containers and network namespaces).
2. An interrupted deploy converges when run again, and teardown after one leaves nothing.
3. Deployments stay apart: tearing down one leaves another whole and serving its page.
4. Idempotence: a second deploy and a second teardown change nothing.
5. Check mode: teardown --check lists everything and deletes nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import ROOT, LocalCloud
from instances import key_pair, security_group
from playbooks import Run, playbook, playbook_command
from sweep import NOTHING, instance_ids, resources, sweep

pytestmark = pytest.mark.cloud

PROMPT = b"anything else to stop"


@dataclass
class Deployment:
    name: str
    state: Path
    output: str = ""
    summary: dict[str, str] = field(default_factory=dict)

    @property
    def key_file(self) -> Path:
        return self.state / f"{self.name}-key.pem"

    @property
    def known_hosts(self) -> Path:
        return self.state / f"{self.name}.known_hosts"

    @property
    def ip(self) -> str:
        return self.summary["Web page"].removeprefix("http://").rstrip("/")

    def knows_host(self, ip: str) -> bool:
        if not self.known_hosts.exists():
            return False
        found = subprocess.run(["ssh-keygen", "-F", ip, "-f", str(self.known_hosts)], capture_output=True, check=False)
        return found.returncode == 0


def new_deployment(tmp_path_factory, prefix: str) -> Deployment:
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    return Deployment(name, tmp_path_factory.mktemp(name))


def deploy(cloud: LocalCloud, d: Deployment, *args: str) -> Run:
    run = playbook(cloud, "deploy", d.state, "-e", f"deployment_name={d.name}", *args)
    assert run.returncode == 0, run.output[-5000:]
    d.output = run.output
    d.summary = dict(re.findall(r"'(Web page|Instance|Bucket):\s+([^\s'\"]+)", run.output))
    assert set(d.summary) == {"Web page", "Instance", "Bucket"}, run.output[-3000:]
    return run


def teardown(cloud: LocalCloud, d: Deployment, *args: str, env: dict[str, str] | None = None) -> Run:
    return playbook(cloud, "teardown", d.state, "-e", f"deployment_name={d.name}", *args, env=env)


def page(ip: str) -> str:
    with urllib.request.urlopen(f"http://{ip}/", timeout=10) as response:
        assert response.status == 200
        return response.read().decode()


def process_command(cloud: LocalCloud, name: str, state: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    """playbooks.playbook_command for runs that need a process of their own: unbuffered, no CI."""
    argv, env = playbook_command(cloud, name, state, *args)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("CI", None)
    return argv, env


def kill_tree(pid: int) -> None:
    """SIGKILL a process and everything it started, Ansible's workers included (they run in
    sessions of their own): stop the tree until no new process appears, then kill it all."""
    stopped: set[int] = set()
    while True:
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(stat.parent.name))
        tree, todo = {pid}, [pid]
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in tree:
                    tree.add(child)
                    todo.append(child)
        if tree <= stopped:
            break
        for process in tree - stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process, signal.SIGSTOP)
        stopped |= tree
    for process in stopped:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process, signal.SIGKILL)


def deploy_killed_at(cloud: LocalCloud, d: Deployment, task: str, timeout: float = 300) -> str:
    """Run deploy and kill it and all its processes (SIGKILL, like a crash of the machine it
    runs on) the moment it starts the task named `task`."""
    argv, env = process_command(cloud, "deploy", d.state, "-e", f"deployment_name={d.name}")
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reached = threading.Event()

    def read() -> None:
        for line in process.stdout:
            lines.append(line)
            if not reached.is_set() and line.startswith(f"TASK [{task}"):
                reached.set()
                kill_tree(process.pid)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    kill_tree(process.pid)
    process.wait(timeout=30)
    output = "".join(lines)
    assert reached.is_set(), f"deploy ended without starting {task!r}:\n{output[-3000:]}"
    return output


def teardown_on_a_terminal(cloud: LocalCloud, d: Deployment, answer: str, timeout: float = 180) -> tuple[int, str]:
    """Run teardown with a pseudo-terminal as stdin (and controlling terminal) and type `answer`
    at its prompt, as a user at a shell would."""
    argv, env = process_command(cloud, "teardown", d.state, "-e", f"deployment_name={d.name}")
    pid, fd = pty.fork()
    if pid == 0:  # the child becomes ansible-playbook, on the terminal
        try:
            os.chdir(ROOT)
            os.execve(argv[0], argv, env)  # noqa: S606 - the project's own ansible-playbook, by path
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    output = b""
    prompted = 0.0  # when the prompt appeared
    typed_at: int | None = None  # how much output there was when the answer was last typed
    typed = 0.0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            # Ansible flushes pending input as its prompt starts, so an answer typed in that same
            # instant is lost: type like a person, a moment after the prompt, and again if the
            # run does not move on to its next task.
            now = time.monotonic()
            first = typed_at is None and prompted and now - prompted > 0.5
            again = typed_at is not None and b"TASK [" not in output[typed_at:] and now - typed > 5
            if first or again:
                typed_at, typed = len(output), now
                os.write(fd, answer.encode() + b"\r")
            if not select.select([fd], [], [], 0.2)[0]:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: ansible-playbook ended and closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if not prompted and PROMPT in output:
                prompted = time.monotonic()
        else:
            kill_tree(pid)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = output.decode(errors="replace").replace("\r\n", "\n")
    assert typed_at is not None, f"teardown never asked:\n{text[-3000:]}"
    return os.waitstatus_to_exitcode(status), text


# --- scenarios in the background -------------------------------------------------------------
# Most of a deploy is waiting (instance boot, SSH, cloud-init), so these scenarios run on
# deployments of their own while the tests of a and b run; their tests collect the results.

AFTER_KEY_PAIR = "deployment : Ensure the deployment's security group"
DURING_BOOT = "deployment : Ensure the bucket exists"  # the instance was just launched, without waiting
AFTER_BUCKET = "deployment : Ensure the bucket holds the current image"
DURING_WEBSERVER = "webserver : Ensure Apache is enabled and running."


def killed_four_times_then_converged_and_torn_down(cloud: LocalCloud, d: Deployment) -> None:
    deploy_killed_at(cloud, d, AFTER_KEY_PAIR)
    assert resources(cloud, d.name) == {
        "instances": [],
        "groups": [],
        "keys": [f"{d.name}-key"],
        "buckets": [],
        "alarms": [],
    }
    deploy_killed_at(cloud, d, DURING_BOOT)
    found = resources(cloud, d.name)
    assert len(found["instances"]) == 1 and not found["buckets"]
    deploy_killed_at(cloud, d, AFTER_BUCKET)
    assert len(resources(cloud, d.name)["buckets"]) == 1
    deploy_killed_at(cloud, d, DURING_WEBSERVER)

    deploy(cloud, d)
    found = resources(cloud, d.name)
    assert [len(found[kind]) for kind in ("instances", "groups", "keys", "buckets")] == [1, 1, 1, 1], found
    assert f"aaw-{d.name}-idle-terminate" in found["alarms"]
    assert instance_ids(cloud, d.name) == found["instances"]  # never a second launch
    assert found["instances"][0] == d.summary["Instance"]
    assert d.summary["Instance"] in page(d.ip)

    run = teardown(cloud, d, "-e", "confirm=true")
    assert run.returncode == 0, run.output[-3000:]
    assert sweep(cloud, d.name) == NOTHING
    assert not d.key_file.exists()


def killed_during_boot_then_torn_down_keeping_the_key(cloud: LocalCloud, d: Deployment) -> None:
    deploy_killed_at(cloud, d, DURING_BOOT)
    assert len(resources(cloud, d.name)["instances"]) == 1

    kept = teardown(cloud, d, "-e", "confirm=true", "-e", "keep_key=true")
    assert kept.returncode == 0, kept.output[-3000:]
    assert "kept (keep_key=true)" in " ".join(kept.output.split())  # the YAML output wraps long lines
    assert sweep(cloud, d.name) == {**NOTHING, "keys": [f"{d.name}-key"]}
    assert d.key_file.exists()

    run = teardown(cloud, d, "-e", "confirm=true")
    assert run.returncode == 0, run.output[-3000:]
    assert run.changed == 2, run.recap  # the key pair and its private key file
    assert sweep(cloud, d.name) == NOTHING
    assert not d.key_file.exists()


def the_users_own_key_pair_and_group_are_kept(cloud: LocalCloud, d: Deployment) -> None:
    """Deploy with a key pair and a security group the user made; teardown must leave both."""
    key_name, key_file = key_pair(cloud, d.state)
    group = security_group(cloud, (22, 80), "127.0.0.1/32")
    deploy(cloud, d, "-e", f"deployment_key_name={key_name}", "-e", f"deployment_security_group={group}")
    assert resources(cloud, d.name)["groups"] == []

    run = teardown(cloud, d, "-e", "confirm=true", "-e", f"deployment_key_name={key_name}")
    assert run.returncode == 0, run.output[-3000:]
    assert f"Key pair {key_name}: kept, it is not tagged Deployment={d.name}" in run.output
    assert sweep(cloud, d.name) == NOTHING
    ec2 = cloud.client("ec2")
    assert ec2.describe_key_pairs(KeyNames=[key_name])["KeyPairs"]
    assert ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    assert key_file.exists()


@pytest.fixture(scope="module", autouse=True)
def background(cloud, tmp_path_factory):
    with ThreadPoolExecutor(3, thread_name_prefix="background") as pool:
        yield {
            "converge": pool.submit(
                killed_four_times_then_converged_and_torn_down, cloud, new_deployment(tmp_path_factory, "k")
            ),
            "boot": pool.submit(
                killed_during_boot_then_torn_down_keeping_the_key, cloud, new_deployment(tmp_path_factory, "i")
            ),
            "own": pool.submit(the_users_own_key_pair_and_group_are_kept, cloud, new_deployment(tmp_path_factory, "u")),
        }


# --- two deployments side by side: a is torn down, b must not notice -------------------------


@pytest.fixture(scope="module")
def pair(cloud, tmp_path_factory) -> dict[str, Deployment]:
    a, b = new_deployment(tmp_path_factory, "a"), new_deployment(tmp_path_factory, "b")
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda d: deploy(cloud, d), (a, b)))
    return {"a": a, "b": b}


def test_check_mode_lists_everything_and_deletes_nothing(cloud, pair):
    a = pair["a"]
    before = sweep(cloud, a.name)
    run = teardown(cloud, a, "--check")
    assert run.returncode == 0, run.output[-3000:]
    assert run.changed > 0, run.recap  # what a real run would change
    listed = run.output[run.output.index("Would delete for deployment") :]
    for expected in (
        f"aaw-{a.name}-idle-terminate",
        a.summary["Instance"],
        *before["groups"],
        f"{a.name}-key",
        str(a.key_file),
        a.summary["Bucket"],
    ):
        assert expected in listed, expected
    assert sweep(cloud, a.name) == before
    assert before["instances"] and before["containers"]
    assert a.key_file.exists() and a.knows_host(a.ip)
    assert a.summary["Instance"] in page(a.ip)


@pytest.mark.parametrize("env", [{"CI": ""}, {"CI": "true"}], ids=["stdin-not-a-terminal", "ci"])
def test_without_confirmation_nothing_is_deleted_and_nothing_waits(cloud, pair, env):
    a = pair["a"]
    before = sweep(cloud, a.name)
    started = time.monotonic()
    run = teardown(cloud, a, env=env)  # stdin is /dev/null
    assert run.returncode != 0
    assert "Nothing was deleted" in run.output and "-e confirm=true" in run.output
    assert ("CI is set, so there is no one to confirm" in run.output) == bool(env["CI"])
    assert time.monotonic() - started < 120
    assert sweep(cloud, a.name) == before
    assert a.key_file.exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("-e", "keep_key=ture"), 'keep_key="ture" is not valid: it must be true or false'),
        (("-e", "keep_kye=true"), "keep_kye is not a switch of this playbook: did you mean keep_key?"),
        (("-e", "deployment_nmae=x"), "deployment_nmae is not a setting of this project: did you mean deployment_name"),
    ],
    ids=["keep-key-misspelt-value", "keep-key-misspelt-name", "misspelt-setting"],
)
def test_a_misspelt_switch_or_setting_deletes_nothing_even_when_confirmed(cloud, pair, args, says):
    a = pair["a"]
    before = sweep(cloud, a.name)
    run = teardown(cloud, a, "-e", "confirm=true", *args)
    assert run.returncode != 0
    flat = " ".join(run.output.split())
    assert says in flat and "Nothing was created or changed." in flat, run.output[-3000:]
    assert "Take the deployment's lock" not in run.output  # stopped before any AWS call
    assert sweep(cloud, a.name) == before
    assert a.key_file.exists()


def test_an_answer_other_than_yes_deletes_nothing(cloud, pair):
    a = pair["a"]
    before = sweep(cloud, a.name)
    code, output = teardown_on_a_terminal(cloud, a, "no")
    assert code != 0
    assert 'the answer was "no"' in output
    assert sweep(cloud, a.name) == before


@pytest.fixture(scope="module")
def a_gone(cloud, pair) -> dict:
    """Deployment a torn down by answering yes on a terminal; what b had just before."""
    a, b = pair["a"], pair["b"]
    s3 = cloud.client("s3")
    # Versions and a delete marker: the bucket must still go, emptied of every version.
    s3.put_bucket_versioning(Bucket=a.summary["Bucket"], VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two", b"three"):
        s3.put_object(Bucket=a.summary["Bucket"], Key="notes.txt", Body=body)
    s3.delete_object(Bucket=a.summary["Bucket"], Key="notes.txt")
    # The bucket's tags removed (by hand, or by another tool): the tags deploy gave its image still say whose it is.
    s3.delete_bucket_tagging(Bucket=a.summary["Bucket"])
    # Dashboards named like the deployments, as monitoring may add: only a's may go.
    cloudwatch = cloud.client("cloudwatch")
    for d in (a, b):
        widget = {"type": "text", "x": 0, "y": 0, "width": 6, "height": 2, "properties": {"markdown": d.name}}
        cloudwatch.put_dashboard(DashboardName=f"aaw-{d.name}", DashboardBody=json.dumps({"widgets": [widget]}))
    a_instances = instance_ids(cloud, a.name)
    b_before = sweep(cloud, b.name)
    code, output = teardown_on_a_terminal(cloud, a, "yes")
    return {"code": code, "output": output, "a_instances": a_instances, "b_before": b_before}


def test_no_leak_after_teardown(cloud, pair, a_gone):
    a = pair["a"]
    assert a_gone["code"] == 0, a_gone["output"][-5000:]
    assert sweep(cloud, a.name) == NOTHING
    states = {
        i["InstanceId"]: i["State"]["Name"]
        for r in cloud.client("ec2").describe_instances(InstanceIds=a_gone["a_instances"])["Reservations"]
        for i in r["Instances"]
    }
    assert set(states.values()) == {"terminated"}
    assert not a.key_file.exists()
    assert not a.knows_host(a.ip)
    with pytest.raises(OSError):
        page(a.ip)


def test_the_other_deployment_keeps_every_resource_and_its_page(cloud, pair, a_gone):
    b = pair["b"]
    assert sweep(cloud, b.name) == a_gone["b_before"]
    kinds = ("instances", "groups", "keys", "buckets", "alarms", "volumes", "topics", "dashboards", "containers")
    assert all(a_gone["b_before"][kind] for kind in kinds), a_gone["b_before"]
    assert b.key_file.exists() and b.knows_host(b.ip)
    body = page(b.ip)
    assert b.summary["Instance"] in body and b.summary["Bucket"] in body


def test_second_teardown_changes_nothing(cloud, pair, a_gone):
    run = teardown(cloud, pair["a"], "-e", "confirm=true")
    assert run.returncode == 0, run.output[-3000:]
    assert run.changed == 0, run.recap
    assert "nothing to delete" in run.output


def test_second_deploy_changes_nothing(cloud, pair, a_gone):
    b = pair["b"]
    before = sweep(cloud, b.name)
    run = deploy(cloud, b)
    assert run.changed == 0, run.recap
    assert sweep(cloud, b.name) == before


# --- the background scenarios' results ------------------------------------------------------


def test_deploy_killed_at_four_points_converges_then_teardown_leaves_nothing(background):
    background["converge"].result(timeout=900)


def test_teardown_right_after_a_deploy_killed_during_boot_leaves_nothing_but_a_kept_key(background):
    background["boot"].result(timeout=900)


def test_teardown_leaves_the_users_own_key_pair_and_security_group(background):
    background["own"].result(timeout=900)
