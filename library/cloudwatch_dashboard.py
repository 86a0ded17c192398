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
module: cloudwatch_dashboard
short_description: Ensure a CloudWatch dashboard exists with a given body, or is absent
version_added: 1.0.0
description:
  - Creates or updates a CloudWatch dashboard (C(PutDashboard)) when O(state=present), and deletes
    it (C(DeleteDashboards)) when O(state=absent). Neither amazon.aws nor community.aws has a
    module for dashboards.
  - The body is compared with the dashboard's current body as data, so a rerun with the same
    body reports no change.
  - Supports check mode and diff mode.
author:
  - Project team
options:
  name:
    description:
      - Name of the dashboard (letters, digits, C(-) and C(_), at most 255 characters).
    type: str
    required: true
  state:
    description:
      - Whether the dashboard should exist.
    type: str
    choices: [present, absent]
    default: present
  body:
    description:
      - The dashboard body (its C(widgets)), as described in the CloudWatch dashboard body structure.
      - Required when O(state=present).
    type: dict
# The AWS connection options (region, endpoint_url, credentials), as amazon.aws's modules have them.
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Ensure the deployment's dashboard shows the instance's CPU.
  cloudwatch_dashboard:
    name: demo
    body:
      widgets:
        - type: metric
          width: 12
          height: 6
          properties:
            region: us-east-1
            metrics: [[AWS/EC2, CPUUtilization, InstanceId, i-0123456789abcdef0]]

- name: Ensure the dashboard is deleted.
  cloudwatch_dashboard:
    name: demo
    state: absent
"""

RETURN = r"""
existed:
  description: Whether the dashboard existed before the task.
  returned: always
  type: bool
  sample: true
body:
  description: The dashboard's body after the task (empty when it is absent).
  returned: always
  type: dict
  sample: {"widgets": []}
api_calls_by_operation:
  description:
    - The CloudWatch API calls the task made, by operation (C(GetDashboard), then C(PutDashboard) or
      C(DeleteDashboards)).
  returned: always
  type: dict
  sample: {"GetDashboard": 1}
"""

import json
import re

try:  # noqa: SIM105 - the amazon.aws pattern; AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import ApiCallCounter

NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def current_body(client, name):
    """The dashboard's body, or None when there is no such dashboard."""
    try:
        response = client.get_dashboard(DashboardName=name, aws_retry=True)
    except is_boto3_error_code(["ResourceNotFound", "ResourceNotFoundException"]):
        return None
    return json.loads(response.get("DashboardBody") or "{}")


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "body": {"type": "dict"},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec, required_if=[("state", "present", ["body"])], supports_check_mode=True
    )
    name, state, body = module.params["name"], module.params["state"], module.params["body"]
    if not NAME.match(name):
        module.fail_json(msg=f"name={name!r} is not a valid dashboard name: use 1-255 letters, digits, '-' or '_'.")
    counter = ApiCallCounter()
    client = counter.attach(module.client("cloudwatch", retry_decorator=AWSRetry.jittered_backoff()))
    try:
        before = current_body(client, name)
        after = body if state == "present" else None
        changed = before != after
        if changed and not module.check_mode:
            if state == "present":
                response = client.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body), aws_retry=True)
                problems = response.get("DashboardValidationMessages") or []
                if problems:
                    module.warn(f"CloudWatch accepted the dashboard {name} with remarks: {problems}")
            else:
                client.delete_dashboards(DashboardNames=[name], aws_retry=True)
    except (ClientError, BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not {'update' if state == 'present' else 'delete'} the dashboard {name}")
    module.exit_json(
        changed=changed,
        existed=before is not None,
        body=after or {},
        diff={"before": before or {}, "after": after or {}},
        api_calls_by_operation=counter.by_operation,
    )


if __name__ == "__main__":
    main()
