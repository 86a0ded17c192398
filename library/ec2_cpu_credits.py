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
module: ec2_cpu_credits
short_description: Set a burstable EC2 instance's CPU credit mode (standard or unlimited)
version_added: 1.0.0
description:
  - Makes a running T2, T3, T3a or T4g instance's credit mode what the settings say, with
    C(ModifyInstanceCreditSpecification); the credits it holds carry over.
  - Deploy launches the instance C(unlimited), so its first boot (the OS upgrade, Apache) is not held
    to the baseline of a T3 that starts without credits, and switches it to the chosen mode once
    the page answers. C(amazon.aws.ec2_instance) sets the mode only at launch.
  - One C(DescribeInstanceCreditSpecifications) call, and one change call only when the mode differs.
author:
  - Project team
options:
  instance_id:
    description: The instance.
    type: str
    required: true
  cpu_credits:
    description: The credit mode.
    type: str
    required: true
    choices: [standard, unlimited]
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Bound the instance's cost once its boot is done.
  ec2_cpu_credits:
    instance_id: i-0123456789abcdef0
    cpu_credits: standard
"""

RETURN = r"""
cpu_credits:
  description: The instance's credit mode after the run.
  returned: always
  type: str
  sample: standard
previous:
  description: The mode before the run.
  returned: always
  type: str
  sample: unlimited
"""

try:  # noqa: SIM105 - the amazon.aws pattern; AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def main():
    argument_spec = {
        "instance_id": {"type": "str", "required": True},
        "cpu_credits": {"type": "str", "required": True, "choices": ["standard", "unlimited"]},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    ec2 = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    instance_id, wanted = module.params["instance_id"], module.params["cpu_credits"]
    try:
        found = ec2.describe_instance_credit_specifications(InstanceIds=[instance_id], aws_retry=True)
    except (ClientError, BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not read the credit mode of {instance_id}")
    specifications = found.get("InstanceCreditSpecifications", [])
    if not specifications:
        module.fail_json(msg=f"There is no burstable instance {instance_id}")
    previous = specifications[0]["CpuCredits"]
    if previous == wanted:
        module.exit_json(changed=False, cpu_credits=previous, previous=previous)
    if not module.check_mode:
        try:
            answer = ec2.modify_instance_credit_specification(
                InstanceCreditSpecifications=[{"InstanceId": instance_id, "CpuCredits": wanted}], aws_retry=True
            )
        except (ClientError, BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Could not set the credit mode of {instance_id} to {wanted}")
        refused = answer.get("UnsuccessfulInstanceCreditSpecifications", [])
        if refused:
            error = refused[0].get("Error", {})
            module.fail_json(
                msg=f"AWS did not set the credit mode of {instance_id} to {wanted}: {error.get('Message', error)}"
            )
    module.exit_json(changed=True, cpu_credits=wanted, previous=previous)


if __name__ == "__main__":
    main()
