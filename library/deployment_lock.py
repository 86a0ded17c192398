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
  - deploy.yml and teardown.yml take the lock in their first read (the
    O(aws_webserver.core.deployment_info#module:lock) option of M(aws_webserver.core.deployment_info), the same
    code), and release it with this module.
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

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import ModuleError, fail
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_lock import (
    TAKE_OPTIONS,
    Lock,
    options_problem,
    release,
    take,
)


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "run_id": {"type": "str", "default": ""},
        **TAKE_OPTIONS,
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if params["state"] == "absent" and not params["run_id"] and not params["force"]:
        module.fail_json(msg="state=absent releases the lock of run_id (or any, with force=true): give one of them")
    problem = options_problem(params["wait"], params["lease"])
    if problem:
        module.fail_json(msg=problem)
    lock = Lock(module.client("ssm", retry_decorator=AWSRetry.jittered_backoff()), params["name"])
    try:
        if params["state"] == "present":
            result = take(
                module, lock, params["name"], playbook=params["playbook"], run_id=params["run_id"],
                wait=params["wait"], lease=params["lease"], force=params["force"], advice=params["advice"],
            )  # fmt: skip
        else:
            result = release(module, lock, params["run_id"], force=params["force"])
    except ModuleError as e:
        fail(module, e)
    module.exit_json(**{"waited": 0.0, **result, "parameter": lock.parameter})


if __name__ == "__main__":
    main()
