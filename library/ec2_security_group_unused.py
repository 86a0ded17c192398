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
module: ec2_security_group_unused
short_description: Wait until no network interface uses the given security groups
version_added: 1.0.0
description:
  - Waits, in one module run, until no network interface (ENI) uses any of the given security
    groups, so that M(amazon.aws.ec2_security_group) can delete them at its first attempt.
  - AWS refuses to delete a security group with C(DependencyViolation) while an interface uses
    it. An instance's interface uses its groups until the instance is terminated and AWS has
    released the interface, which takes seconds, now and then minutes, after the instance shows
    C(terminated); a load balancer's interfaces stay a while after the balancer is deleted.
  - It asks C(DescribeNetworkInterfaces) with a C(group-id) filter, one call a poll. It polls every
    second for the first 3 s, then after 2 s, then every 3 s. Retrying the deletion at that pace
    instead costs M(amazon.aws.ec2_security_group) a module run and four calls an attempt.
  - It changes nothing. In check mode it reads once and does not wait.
author:
  - Project team
options:
  group_ids:
    description:
      - The ids of the security groups. The module waits until none of them is in use.
    type: list
    elements: str
    required: true
  timeout:
    description:
      - How long to wait, in seconds. When an interface still uses a group then, the module
        fails and names the interfaces with what they belong to.
    type: int
    default: 300
notes:
  - Needs C(ec2:DescribeNetworkInterfaces).
  - AWS can still refuse the deletion for a few seconds after the last interface is gone; the
    deletion keeps a short retry for that.
# The AWS connection options (region, endpoint_url, credentials), as amazon.aws's modules have them.
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Wait until the terminated instances have released the security group.
  ec2_security_group_unused:
    group_ids: [sg-0123456789abcdef0]
    timeout: 300

- name: Ensure the security group is deleted.
  amazon.aws.ec2_security_group:
    group_id: sg-0123456789abcdef0
    state: absent
"""

RETURN = r"""
network_interfaces:
  description:
    - The interfaces that use one of the groups when the module ends (empty unless it failed, or
      in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    network_interface_id:
      description: The interface's id.
      type: str
      sample: eni-0123456789abcdef0
    status:
      description: The interface's status (C(in-use), C(available), ...).
      type: str
      sample: in-use
    instance_id:
      description: The instance it is attached to (empty when none is).
      type: str
      sample: i-0123456789abcdef0
    description:
      description: The interface's description (a load balancer's names the balancer).
      type: str
      sample: Primary network interface
    group_ids:
      description: Which of the given groups it uses.
      type: list
      elements: str
      sample: [sg-0123456789abcdef0]
waited:
  description: Seconds spent waiting.
  returned: always
  type: float
  sample: 4.2
api_calls_by_operation:
  description: The AWS API calls the module made, by operation.
  returned: always
  type: dict
  sample: {DescribeNetworkInterfaces: 3}
"""

import time

try:  # noqa: SIM105 - the amazon.aws pattern; AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import ApiCallCounter, paginate

LONGEST_DELAY = 3  # seconds between polls, at most


def delays():
    """The pauses between polls: 1 s three times, then 2 s, then 3 s each. A release that is nearly
    done (as after teardown's other deletions) is seen within a second; a minute's wait costs 23 calls,
    where retrying the deletion every 3 s cost about 80."""
    yield from (1, 1, 1, 2)
    while True:
        yield LONGEST_DELAY


def users(client, group_ids):
    """The interfaces using any of the groups, as the module returns them."""
    found = paginate(client, "describe_network_interfaces", Filters=[{"Name": "group-id", "Values": group_ids}])
    return [
        {
            "network_interface_id": eni["NetworkInterfaceId"],
            "status": eni.get("Status", ""),
            "instance_id": eni.get("Attachment", {}).get("InstanceId", ""),
            "description": eni.get("Description", ""),
            "group_ids": [g["GroupId"] for g in eni.get("Groups", []) if g["GroupId"] in group_ids],
        }
        for eni in found.get("NetworkInterfaces", [])
    ]


def describe(interface):
    """An interface as the failure message names it."""
    owner = f"instance {interface['instance_id']}" if interface["instance_id"] else interface["description"]
    return f"{interface['network_interface_id']} ({', '.join(filter(None, [owner, interface['status']]))})"


def wait(client, group_ids, timeout, check_mode, clock=time.monotonic, sleep=time.sleep):
    """(interfaces still using the groups, seconds waited): polls until none is or `timeout` passes."""
    start = clock()
    pauses = delays()
    while True:
        found = users(client, group_ids)
        waited = clock() - start
        if not found or check_mode or waited >= timeout:
            return found, waited
        sleep(min(next(pauses), max(0.0, timeout - waited)))


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "group_ids": {"type": "list", "elements": "str", "required": True},
            "timeout": {"type": "int", "default": 300},
        },
        supports_check_mode=True,
    )
    group_ids = list(dict.fromkeys(module.params["group_ids"]))
    if module.params["timeout"] < 0:
        module.fail_json(msg=f"timeout must be 0 or more seconds, not {module.params['timeout']}")
    counter = ApiCallCounter()
    client = counter.attach(module.client("ec2", retry_decorator=AWSRetry.jittered_backoff()))
    try:
        found, waited = wait(client, group_ids, module.params["timeout"], module.check_mode)
    except (ClientError, BotoCoreError) as e:
        module.fail_json_aws(
            e, msg=f"Could not list the network interfaces of {', '.join(group_ids)} (ec2:DescribeNetworkInterfaces)"
        )
    result = {
        "changed": False,
        "network_interfaces": found,
        "waited": round(waited, 1),
        "api_calls_by_operation": counter.by_operation,
    }
    if found and not module.check_mode:
        module.fail_json(
            msg=(
                f"After {module.params['timeout']} s, the security group(s) {', '.join(group_ids)} are still used by "
                f"{', '.join(describe(i) for i in found)}"
            ),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
