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
module: ec2_detailed_monitoring
short_description: Turn an EC2 instance's detailed monitoring on or off
version_added: 1.0.0
description:
  - Makes a running instance's detailed monitoring (EC2 metrics every minute, billed) what the
    settings say, with C(MonitorInstances) or C(UnmonitorInstances).
  - C(amazon.aws.ec2_instance) sets detailed monitoring only at launch; on an existing instance it
    leaves it as it is, so a deployment whose setting changed would never converge.
  - One C(DescribeInstances) call, and one change call only when the state differs. A state
    AWS reports as C(pending) (a change under way) counts as the one it is moving to.
author:
  - Project team
options:
  instance_id:
    description: The instance.
    type: str
    required: true
  enabled:
    description: Whether detailed monitoring should be on.
    type: bool
    required: true
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Turn detailed monitoring off.
  ec2_detailed_monitoring:
    instance_id: i-0123456789abcdef0
    enabled: false
"""

RETURN = r"""
state:
  description: The instance's monitoring state after the run, as AWS reports it (C(enabled), C(pending)...).
  returned: always
  type: str
  sample: disabled
previous:
  description: The state before the run.
  returned: always
  type: str
  sample: enabled
"""

try:  # noqa: SIM105 - the amazon.aws pattern; AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def main():
    argument_spec = {"instance_id": {"type": "str", "required": True}, "enabled": {"type": "bool", "required": True}}
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    ec2 = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    instance_id, enabled = module.params["instance_id"], module.params["enabled"]
    try:
        reservations = ec2.describe_instances(InstanceIds=[instance_id], aws_retry=True)["Reservations"]
    except (ClientError, BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not read the instance {instance_id}")
    instances = [i for r in reservations for i in r["Instances"]]
    if not instances:
        module.fail_json(msg=f"There is no instance {instance_id}")
    previous = instances[0].get("Monitoring", {}).get("State", "disabled")
    on = previous in ("enabled", "pending")
    if on == enabled:
        module.exit_json(changed=False, state=previous, previous=previous)
    wanted = "enabled" if enabled else "disabled"
    if module.check_mode:
        module.exit_json(changed=True, state=wanted, previous=previous)
    try:
        if enabled:
            answer = ec2.monitor_instances(InstanceIds=[instance_id], aws_retry=True)
        else:
            answer = ec2.unmonitor_instances(InstanceIds=[instance_id], aws_retry=True)
    except (ClientError, BotoCoreError) as e:
        verb = "turn on" if enabled else "turn off"
        module.fail_json_aws(e, msg=f"Could not {verb} detailed monitoring of {instance_id}")
    state = answer["InstanceMonitorings"][0]["Monitoring"]["State"]
    module.exit_json(changed=True, state=state, previous=previous)


if __name__ == "__main__":
    main()
