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
module: ec2_instance_type_offering
short_description: Tell whether an EC2 instance type exists and is offered in a region
version_added: 1.0.0
description:
  - Looks an instance type up with C(DescribeInstanceTypes) and C(DescribeInstanceTypeOfferings),
    so a playbook can stop with a clear message before it creates anything, instead of failing
    at C(RunInstances) after the key pair and security group exist.
  - Returns whether AWS knows the type, the availability zones of the region that offer it, its
    CPU architectures and whether it is free-tier eligible.
  - The module only reads. It runs the same way in check mode and never reports a change.
author:
  - Project team
options:
  instance_type:
    description:
      - The instance type, for example C(t3.nano).
    type: str
    required: true
# The AWS connection options (region, endpoint_url, credentials), as amazon.aws's modules have them.
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Look the instance type up.
  ec2_instance_type_offering:
    instance_type: t3.nano
  register: offering

- name: Stop when the region does not offer it.
  ansible.builtin.fail:
    msg: t3.nano is not offered in this region.
  when: not offering.offered
"""

RETURN = r"""
exists:
  description: Whether AWS knows the instance type at all.
  returned: always
  type: bool
  sample: true
offered:
  description: Whether at least one availability zone of the region offers the type.
  returned: always
  type: bool
  sample: true
availability_zones:
  description: The region's availability zones that offer the type, sorted.
  returned: always
  type: list
  elements: str
  sample: [us-east-1a, us-east-1b]
architectures:
  description: The CPU architectures the type supports (empty when it does not exist).
  returned: always
  type: list
  elements: str
  sample: [x86_64]
free_tier_eligible:
  description: Whether the type is free-tier eligible (false when it does not exist).
  returned: always
  type: bool
  sample: false
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import (
    ModuleError,
    fail,
    instance_type_offering,
)


def main():
    argument_spec = {"instance_type": {"type": "str", "required": True}}
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    try:
        offering = instance_type_offering(client, module.params["instance_type"])
    except ModuleError as e:
        fail(module, e)
    module.exit_json(changed=False, **offering)


if __name__ == "__main__":
    main()
