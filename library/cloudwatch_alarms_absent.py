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
module: cloudwatch_alarms_absent
short_description: Ensure several CloudWatch alarms are deleted, in one module run
version_added: 1.0.0
description:
  - Deletes the named CloudWatch alarms (metric and composite) that exist, with one
    C(DescribeAlarms) call to find them and as few C(DeleteAlarms) calls as the API allows (100
    alarms a call, at most one composite alarm among them).
  - M(amazon.aws.cloudwatch_metric_alarm) with O(amazon.aws.cloudwatch_metric_alarm#module:state=absent)
    deletes one alarm a module run, with a C(DescribeAlarms) and a C(DeleteAlarms) call each.
  - An alarm that does not exist is already absent; the module then reports no change for it.
  - In check mode it reports the alarms it would delete and deletes nothing.
author:
  - Project team
options:
  names:
    description:
      - The names of the alarms. Duplicates are ignored.
    type: list
    elements: str
    required: true
notes:
  - Needs C(cloudwatch:DescribeAlarms) and C(cloudwatch:DeleteAlarms) on the alarms.
# The AWS connection options (region, endpoint_url, credentials), as amazon.aws's modules have them.
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Ensure the deployment's alarms are deleted.
  cloudwatch_alarms_absent:
    names:
      - demo-high-cpu
      - demo-idle
"""

RETURN = r"""
deleted:
  description:
    - The alarms that existed and were deleted (in check mode, that would be deleted), in the order of O(names).
  returned: always
  type: list
  elements: str
  sample: [demo-high-cpu, demo-idle]
"""

try:  # noqa: SIM105 - the amazon.aws pattern; AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import paginate

BATCH = 100  # DescribeAlarms and DeleteAlarms take at most 100 names a call


def existing(client, names):
    """{name: "MetricAlarm" or "CompositeAlarm"} for the names that exist."""
    found = {}
    for start in range(0, len(names), BATCH):
        listing = paginate(
            client,
            "describe_alarms",
            AlarmNames=names[start : start + BATCH],
            AlarmTypes=["MetricAlarm", "CompositeAlarm"],
        )
        found.update({alarm["AlarmName"]: "MetricAlarm" for alarm in listing.get("MetricAlarms", [])})
        found.update({alarm["AlarmName"]: "CompositeAlarm" for alarm in listing.get("CompositeAlarms", [])})
    return found


def batches(found):
    """The DeleteAlarms calls: up to 100 names, no more than one composite alarm in each."""
    metric = [name for name, kind in found.items() if kind == "MetricAlarm"]
    composite = [name for name, kind in found.items() if kind == "CompositeAlarm"]
    calls = []
    while metric or composite:
        call, composite = composite[:1], composite[1:]
        room = BATCH - len(call)
        call, metric = call + metric[:room], metric[room:]
        calls.append(call)
    return calls


def main():
    module = AnsibleAWSModule(
        argument_spec={"names": {"type": "list", "elements": "str", "required": True}}, supports_check_mode=True
    )
    names = list(dict.fromkeys(module.params["names"]))
    client = module.client("cloudwatch", retry_decorator=AWSRetry.jittered_backoff())
    try:
        found = existing(client, names)
        if not module.check_mode:
            for call in batches(found):
                client.delete_alarms(AlarmNames=call, aws_retry=True)
    except (ClientError, BotoCoreError) as e:
        module.fail_json_aws(
            e,
            msg=f"Could not delete the alarms {', '.join(names)} (cloudwatch:DescribeAlarms, cloudwatch:DeleteAlarms)",
        )
    deleted = [name for name in names if name in found]
    module.exit_json(changed=bool(deleted), deleted=deleted)


if __name__ == "__main__":
    main()
