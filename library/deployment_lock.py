#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible module layout: the documentation strings come before the imports, and the
# encoding line is kept as in the amazon.aws modules.
# ruff: noqa: E402, UP009

DOCUMENTATION = r"""
---
module: deployment_lock
short_description: Hold a deployment's lock in SSM Parameter Store while a run changes it
version_added: 1.0.0
description:
  - One run at a time changes a deployment, whoever starts it and from whichever machine. The lock is
    the SSM parameter C(/aaw/<name>/lock) in the deployment's region, made with C(PutParameter) without
    C(Overwrite), which AWS makes for exactly one caller. Its value says who holds it (the playbook, the
    local user and host, when it started) and until when.
  - O(state=present) takes the lock, or, when another run holds it, waits up to O(wait) seconds for it to
    be released and then fails naming that run. A run that was killed cannot release its lock; it is taken
    over when it was held from this machine by an C(ansible-playbook) process that has ended (Linux, where
    the module finds its C(ansible-playbook) among its parent processes), when it is older than O(lease)
    seconds, or with O(force).
  - O(state=absent) releases the lock O(run_id) took; a lock another run holds is left alone, and no lock is
    no change. With O(force), the lock is removed whoever holds it.
  - Taking over a lapsed lock is not atomic (SSM has no conditional overwrite); two runs that take over the
    same lapsed lock within a moment may both go on.
  - In check mode nothing is written; a lock held by another run is reported in RV(holder) with a warning.
author:
  - Project team
options:
  name:
    description: The deployment's name.
    type: str
    required: true
  state:
    description: V(present) takes the lock, V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  run_id:
    description:
      - The run that holds the lock (RV(run_id) of the O(state=present) task). Required with O(state=absent)
        unless O(force); with O(state=present), a lock this run already holds is kept.
    type: str
    default: ""
  playbook:
    description: What the run is, for the message another run gets (for example C(deploy.yml)).
    type: str
    default: ""
  wait:
    description: Seconds to wait for another run's lock before failing; 0 fails at once.
    type: int
    default: 0
  lease:
    description: Seconds after which a lock counts as abandoned and may be taken over.
    type: int
    default: 3600
  force:
    description: Take (or remove) the lock whoever holds it.
    type: bool
    default: false
  advice:
    description: Text added to the failure message when another run holds the lock (how the caller forces it).
    type: str
    default: ""
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Take the deployment's lock, or stop naming the run that holds it.
  deployment_lock:
    name: web
    playbook: deploy.yml
  register: _lock

- name: Release it at the end of the run.
  deployment_lock:
    name: web
    state: absent
    run_id: "{{ _lock.run_id }}"
"""

RETURN = r"""
run_id:
  description: The run that holds the lock after the task (this run's with O(state=present)).
  returned: always
  type: str
  sample: 5f0c2a4e8d7b4c1e9a3f6b2d1c0e9f8a
parameter:
  description: The SSM parameter that is the lock.
  returned: always
  type: str
  sample: /aaw/web/lock
holder:
  description:
    - Who held the lock before the task when it was another run (C(run_id), C(playbook), C(user), C(host),
      C(started), C(expires)), else empty.
  returned: always
  type: dict
  sample: {"run_id": "5f0c...", "playbook": "deploy.yml", "user": "alice", "host": "laptop",
           "started": "2026-12-07T07:00:00Z", "expires": "2026-12-07T08:00:00Z"}
waited:
  description: Seconds waited for another run's lock.
  returned: always
  type: float
  sample: 0.0
"""

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
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import ModuleError, fail
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_time import iso

POLL_SECONDS = 5
PROC = "/proc"


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
    def __init__(self, module, ssm):
        self.module = module
        self.ssm = ssm
        self.parameter = parameter_name(module.params["name"])

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


def take(module, lock):
    params = module.params
    run_id = params["run_id"] or uuid.uuid4().hex
    started = now()
    pid, pid_start = controller_process()
    record = {
        "run_id": run_id,
        "playbook": params["playbook"],
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        "started": iso(started),
        "expires": iso(started + datetime.timedelta(seconds=params["lease"])),
        "pid": pid,
        "pid_start": pid_start,
    }
    deadline = time.monotonic() + params["wait"]
    begun = time.monotonic()
    taken_over = {}
    # Made at the first try when nobody holds it (one call); read only when it exists.
    if not module.check_mode and lock.create(record):
        return {"changed": True, "run_id": run_id, "holder": {}, "waited": 0.0}
    while True:
        holder = lock.read()
        if holder is not None and holder.get("run_id") == run_id:
            return {"changed": False, "run_id": run_id, "holder": {}}
        if holder is not None and (params["force"] or lapsed(holder) or ended_here(holder)):
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
            waited = f" (waited {int(time.monotonic() - begun)} s)" if params["wait"] else ""
            raise ModuleError(
                f"Deployment {params['name']} is being changed by another run{waited}: "
                f"{described(holder, lock.parameter, module.region)}. Wait for it to end, then run again. "
                f"{params['advice']}".strip(),
                holder=holder,
                parameter=lock.parameter,
            )
        time.sleep(POLL_SECONDS)


def release(module, lock):
    params = module.params
    holder = lock.read()
    if holder is None:
        return {"changed": False, "run_id": "", "holder": {}}
    if not params["force"] and holder.get("run_id") != params["run_id"]:
        return {"changed": False, "run_id": holder.get("run_id", ""), "holder": holder}
    if not module.check_mode:
        lock.delete()
    return {"changed": True, "run_id": "", "holder": {}}


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "run_id": {"type": "str", "default": ""},
        "playbook": {"type": "str", "default": ""},
        "wait": {"type": "int", "default": 0},
        "lease": {"type": "int", "default": 3600},
        "force": {"type": "bool", "default": False},
        "advice": {"type": "str", "default": ""},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if params["state"] == "absent" and not params["run_id"] and not params["force"]:
        module.fail_json(msg="state=absent releases the lock of run_id (or any, with force=true): give one of them")
    if params["wait"] < 0 or params["lease"] < 60:
        module.fail_json(
            msg=f"wait must be 0 or more, lease 60 or more seconds (got {params['wait']}, {params['lease']})"
        )
    lock = Lock(module, module.client("ssm", retry_decorator=AWSRetry.jittered_backoff()))
    try:
        result = take(module, lock) if params["state"] == "present" else release(module, lock)
    except ModuleError as e:
        fail(module, e)
    module.exit_json(**{"waited": 0.0, **result, "parameter": lock.parameter})


if __name__ == "__main__":
    main()
