# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A deployment's lock (aws_webserver.core's module_utils): the SSM parameter /aaw/<name>/lock,
made by exactly one PutParameter without Overwrite. deployment_info takes it before it reads (so
what a run reads stays true while it changes it); deployment_lock releases it, or takes it alone.
"""

from __future__ import annotations

import datetime
import getpass
import json
import os
import socket
import time
import uuid

try:  # noqa: SIM105 - the amazon.aws pattern; AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import ModuleError
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_time import iso

POLL_SECONDS = 5
PROC = "/proc"
# The options that take the lock: deployment_lock's own, and deployment_info's lock option.
TAKE_OPTIONS = {
    "playbook": {"type": "str", "default": ""},
    "wait": {"type": "int", "default": 0},
    "lease": {"type": "int", "default": 3600},
    "force": {"type": "bool", "default": False},
    "advice": {"type": "str", "default": ""},
}


def options_problem(wait, lease):
    """Why `wait` and `lease` (TAKE_OPTIONS) cannot be used, or an empty string."""
    if wait < 0 or lease < 60:
        return f"wait must be 0 or more, lease 60 or more seconds (got {wait}, {lease})"
    return ""


def _stat(pid):
    """(parent pid, start time in clock ticks) of a running Linux process, or None (a zombie, one
    that has ended and waits for its parent to read its status, counts as ended)."""
    try:
        with open(f"{PROC}/{pid}/stat", encoding="utf-8") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), int(fields[19])


def controller_process():
    """(pid, start) of the ansible-playbook process this module runs under, or (0, 0) when unknown.
    The outermost one: its task workers are forks that carry the same command line and end with
    the task."""
    pid, outermost = os.getppid(), (0, 0)
    while pid > 1:
        try:
            with open(f"{PROC}/{pid}/cmdline", "rb") as cmdline:
                words = cmdline.read().split(b"\0")
        except OSError:
            break
        found = _stat(pid)
        if found is None:
            break
        if any(os.path.basename(word) == b"ansible-playbook" for word in words[:2]):
            outermost = (pid, found[1])
        pid = found[0]
    return outermost


def ended_here(holder):
    """Whether the holder is an ansible-playbook of this machine that is no longer running."""
    pid, start = holder.get("pid") or 0, holder.get("pid_start") or 0
    if not pid or holder.get("host") != socket.gethostname():
        return False
    found = _stat(pid)
    return found is None or found[1] != start


def parameter_name(name):
    return f"/aaw/{name}/lock"


def now():
    return datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 - runs on Python 3.9 too


def parsed(text):
    """A time the lock's record holds (deployment_time.iso's form), or None when it is not one."""
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)  # noqa: UP017
    except (TypeError, ValueError):
        return None


class Lock:
    """The lock's SSM parameter, through a client with amazon.aws's retry decorator."""

    def __init__(self, ssm, name):
        self.ssm = ssm
        self.parameter = parameter_name(name)

    def read(self):
        """The holder's record, or None when nobody holds the lock."""
        try:
            value = self.ssm.get_parameter(Name=self.parameter, aws_retry=True)["Parameter"]["Value"]
        except is_boto3_error_code("ParameterNotFound"):
            return None
        except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
            raise ModuleError(f"Could not read the deployment's lock {self.parameter}", e) from e
        try:
            holder = json.loads(value)
        except ValueError:
            holder = {}
        return holder if isinstance(holder, dict) else {}

    def create(self, record):
        """True when this call made the lock; False when it exists."""
        try:
            self.ssm.put_parameter(
                Name=self.parameter, Value=json.dumps(record), Type="String", Overwrite=False, aws_retry=True,
                Description="Held while a run of ansible-aws-webserver changes the deployment.",
            )  # fmt: skip
        except is_boto3_error_code("ParameterAlreadyExists"):
            return False
        except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
            raise ModuleError(f"Could not take the deployment's lock {self.parameter}", e) from e
        return True

    def delete(self):
        try:
            self.ssm.delete_parameter(Name=self.parameter, aws_retry=True)
        except is_boto3_error_code("ParameterNotFound"):
            return False
        except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
            raise ModuleError(f"Could not release the deployment's lock {self.parameter}", e) from e
        return True


def lapsed(holder):
    expires = parsed(holder.get("expires"))
    return expires is None or now() >= expires  # a record nobody can read holds nothing


def described(holder, parameter, region):
    started = holder.get("started", "?")
    since = parsed(started)
    age = f", {int((now() - since).total_seconds())} s ago" if since else ""
    return (
        f"{holder.get('playbook') or 'a run'} by {holder.get('user', '?')}@{holder.get('host', '?')}"
        f"{' (pid ' + str(holder['pid']) + ')' if holder.get('pid') else ''}, started "
        f"{started}{age} (lock {parameter} in SSM Parameter Store, {region}; it lapses at {holder.get('expires', '?')})"
    )


def take(module, lock, name, playbook="", run_id="", wait=0, lease=3600, force=False, advice=""):
    """Take `lock` for deployment `name` (see deployment_lock's documentation): the result's run_id,
    holder (the run it took over from), waited and changed; ModuleError naming the holder when
    another run keeps it past `wait` seconds. In check mode nothing is written."""
    run_id = run_id or uuid.uuid4().hex
    started = now()
    pid, pid_start = controller_process()
    record = {
        "run_id": run_id,
        "playbook": playbook,
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        "started": iso(started),
        "expires": iso(started + datetime.timedelta(seconds=lease)),
        "pid": pid,
        "pid_start": pid_start,
    }
    deadline = time.monotonic() + wait
    begun = time.monotonic()
    taken_over = {}
    # Made at the first try when nobody holds it (one call); read only when it exists.
    if not module.check_mode and lock.create(record):
        return {"changed": True, "run_id": run_id, "holder": {}, "waited": 0.0}
    while True:
        holder = lock.read()
        if holder is not None and holder.get("run_id") == run_id:
            return {"changed": False, "run_id": run_id, "holder": {}}
        if holder is not None and (force or lapsed(holder) or ended_here(holder)):
            if module.check_mode:
                return {"changed": True, "run_id": run_id, "holder": holder}
            lock.delete()
            taken_over = holder
            holder = None
        if holder is None:
            if module.check_mode:
                return {"changed": True, "run_id": run_id, "holder": taken_over}
            if lock.create(record):
                return {"changed": True, "run_id": run_id, "holder": taken_over, "waited": time.monotonic() - begun}
            continue  # another run made it in between: read who
        if module.check_mode:
            module.warn(f"Another run holds the deployment: {described(holder, lock.parameter, module.region)}.")
            return {"changed": False, "run_id": "", "holder": holder}
        if time.monotonic() + POLL_SECONDS > deadline:
            waited = f" (waited {int(time.monotonic() - begun)} s)" if wait else ""
            raise ModuleError(
                f"Deployment {name} is being changed by another run{waited}: "
                f"{described(holder, lock.parameter, module.region)}. Wait for it to end, then run again. "
                f"{advice}".strip(),
                holder=holder,
                parameter=lock.parameter,
            )
        time.sleep(POLL_SECONDS)


def release(module, lock, run_id, force=False):
    """Release the lock `run_id` holds (any, with `force`); another run's is left alone."""
    holder = lock.read()
    if holder is None:
        return {"changed": False, "run_id": "", "holder": {}}
    if not force and holder.get("run_id") != run_id:
        return {"changed": False, "run_id": holder.get("run_id", ""), "holder": holder}
    if not module.check_mode:
        lock.delete()
    return {"changed": True, "run_id": "", "holder": {}}
