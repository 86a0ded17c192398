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
module: sns_alarm_topic
short_description: Ensure the SNS topic an alarm notifies, with its display name, tags and subscriptions
version_added: 1.0.0
description:
  - Ensures an SNS topic exists with a display name, tags and subscriptions, or is deleted with
    its subscriptions. It is the topic a CloudWatch alarm publishes to.
  - The topic is named by its ARN, as every SNS call but C(CreateTopic) names it, so finding it
    is one C(GetTopicAttributes) call. M(community.aws.sns_topic) finds a topic in
    C(ListTopics)' pages, which hold every topic of the account, and reads it again after each
    change (about 12 calls to create a topic with tags and one subscription; this module makes 3).
  - A new topic gets its display name and tags in its C(CreateTopic) call, then one C(Subscribe)
    call for each subscription.
  - An existing topic is read (C(GetTopicAttributes), C(ListTagsForResource),
    C(ListSubscriptionsByTopic)) and only what differs is changed.
  - Subscriptions not in O(subscriptions) are kept (added by hand, for example a chat hook).
  - In check mode it reports what it would change and changes nothing; with C(--diff) it shows
    the display name, tags and subscriptions before and after.
author:
  - Project team
options:
  arn:
    description:
      - The topic's ARN, C(arn:<partition>:sns:<region>:<account>:<name>). Its region must be the
        module's region, and its name 1 to 256 letters, digits, hyphens and underscores (a
        standard topic; FIFO topics are not handled).
    type: str
    required: true
  state:
    description:
      - C(present) creates or updates the topic; C(absent) deletes it with its subscriptions
        (C(DeleteTopic)).
    type: str
    choices: [present, absent]
    default: present
  display_name:
    description:
      - The topic's display name (at most 100 characters), the sender name of its e-mails. Empty leaves
        a new topic without one and an existing topic's as it is.
    type: str
    default: ""
  tags:
    description:
      - The topic's tags. A new topic gets them in its C(CreateTopic) call.
    type: dict
    default: {}
  purge_tags:
    description:
      - Whether tags of an existing topic that are not in O(tags) are removed.
    type: bool
    default: true
  subscriptions:
    description:
      - Subscriptions the topic must have. An e-mail subscription stays pending until its
        address confirms it; a pending one counts as present.
    type: list
    elements: dict
    default: []
    suboptions:
      protocol:
        description: The protocol (C(email), C(https), C(sqs)...).
        type: str
        required: true
      endpoint:
        description: The endpoint, as SNS stores it (an address, a URL, an ARN).
        type: str
        required: true
notes:
  - Needs C(sns:GetTopicAttributes) and, as the run requires, C(sns:CreateTopic) with
    C(sns:TagResource) (AWS checks both to tag a topic at creation), C(sns:ListTagsForResource),
    C(sns:UntagResource), C(sns:SetTopicAttributes), C(sns:ListSubscriptionsByTopic),
    C(sns:Subscribe) and C(sns:DeleteTopic), on the topic's ARN.
# The AWS connection options (region, endpoint_url, credentials), as amazon.aws's modules have them.
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Ensure the alarm topic exists and e-mails the operator.
  sns_alarm_topic:
    arn: arn:aws:sns:eu-west-1:123456789012:demo-alarms
    display_name: demo alarms
    tags:
      Deployment: demo
    subscriptions:
      - protocol: email
        endpoint: ops@example.com

- name: Ensure the alarm topic is deleted with its subscriptions.
  sns_alarm_topic:
    arn: arn:aws:sns:eu-west-1:123456789012:demo-alarms
    state: absent
"""

RETURN = r"""
sns_arn:
  description: The topic's ARN (as O(arn)), also when it is absent.
  returned: always
  type: str
  sample: arn:aws:sns:eu-west-1:123456789012:demo-alarms
created:
  description: Whether the topic was created (in check mode, would be).
  returned: always
  type: bool
deleted:
  description: Whether the topic was deleted (in check mode, would be).
  returned: always
  type: bool
subscribed:
  description: The subscriptions added (in check mode, that would be), as O(subscriptions) gives them.
  returned: always
  type: list
  elements: dict
  sample: [{protocol: email, endpoint: ops@example.com}]
api_calls_by_operation:
  description: The SNS API calls the task made, by operation.
  returned: always
  type: dict
  sample: {GetTopicAttributes: 1, CreateTopic: 1, Subscribe: 1}
"""

import re

try:  # noqa: SIM105 - the amazon.aws pattern; AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import (
    ApiCallCounter,
    ModuleError,
    fail,
    sns_topic,
)

ARN = re.compile(r"^arn:[a-z-]+:sns:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>[A-Za-z0-9_-]{1,256})$")
MAX_DISPLAY_NAME = 100


class Topic:
    """One topic, named by its ARN; each call raises ModuleError naming what it was for."""

    def __init__(self, client, arn):
        self.client = client
        self.arn = arn
        self.name = arn.rsplit(":", 1)[-1]

    def call(self, operation, what, permission, **kwargs):
        try:
            return getattr(self.client, operation)(aws_retry=True, **kwargs)
        except (ClientError, BotoCoreError) as e:
            raise ModuleError(f"Could not {what} the topic {self.name} ({permission})", e) from e

    def read(self, details=True):
        """{display_name, tags, subscriptions} of the topic, or None when it does not exist; with
        details=False only whether it exists ({} then), one call."""
        found = sns_topic(self.client, self.arn, subscriptions=details, tags=details)
        if found is None:
            return None
        return {key: found[key] for key in ("display_name", "tags", "subscriptions")} if details else {}


def tag_list(tags):
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def wanted_state(params, before):
    """What the topic will be: the parameters applied to `before` (None for a new topic)."""
    if params["state"] == "absent":
        return None
    before = before or {"display_name": "", "tags": {}, "subscriptions": []}
    tags = params["tags"] if params["purge_tags"] else {**before["tags"], **params["tags"]}
    missing = [s for s in params["subscriptions"] if s not in before["subscriptions"]]
    return {
        "display_name": params["display_name"] or before["display_name"],
        "tags": tags,
        "subscriptions": before["subscriptions"] + missing,
    }


def ensure(module, topic):
    """Makes the topic as the parameters say; the module's result."""
    params = module.params
    # Deleting needs to know only that the topic exists (the diff shows what goes).
    before = topic.read(details=params["state"] == "present" or module._diff)
    after = wanted_state(params, before)
    result = {
        "sns_arn": topic.arn,
        "created": before is None and after is not None,
        "deleted": before is not None and after is None,
        "subscribed": [
            s for s in params["subscriptions"] if after and s not in (before or {}).get("subscriptions", [])
        ],
    }
    result["changed"] = before != after
    if module._diff:
        result["diff"] = {"before": before or {}, "after": after or {}}
    if module.check_mode or not result["changed"]:
        return result
    if result["deleted"]:
        # DeleteTopic deletes the topic's subscriptions too.
        topic.call("delete_topic", "delete", "sns:DeleteTopic", TopicArn=topic.arn)
        return result
    if result["created"]:
        created = {"Name": topic.name}
        if after["display_name"]:
            created["Attributes"] = {"DisplayName": after["display_name"]}
        if after["tags"]:  # tagged in the same call: AWS then checks sns:TagResource too
            created["Tags"] = tag_list(after["tags"])
        topic.call("create_topic", "create", "sns:CreateTopic and sns:TagResource", **created)
        before = {"display_name": after["display_name"], "tags": after["tags"], "subscriptions": []}
    if after["display_name"] != before["display_name"]:
        topic.call("set_topic_attributes", "set the display name of", "sns:SetTopicAttributes",
                   TopicArn=topic.arn, AttributeName="DisplayName", AttributeValue=after["display_name"])  # fmt: skip
    gone = [key for key in before["tags"] if key not in after["tags"]]
    if gone:
        topic.call("untag_resource", "remove tags of", "sns:UntagResource", ResourceArn=topic.arn, TagKeys=gone)
    changed_tags = {key: value for key, value in after["tags"].items() if before["tags"].get(key) != value}
    if changed_tags:
        topic.call("tag_resource", "tag", "sns:TagResource", ResourceArn=topic.arn, Tags=tag_list(changed_tags))
    for subscription in result["subscribed"]:
        topic.call("subscribe", f"subscribe {subscription['endpoint']} to", "sns:Subscribe", TopicArn=topic.arn,
                   Protocol=subscription["protocol"], Endpoint=subscription["endpoint"])  # fmt: skip
    return result


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "arn": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "display_name": {"type": "str", "default": ""},
            "tags": {"type": "dict", "default": {}},
            "purge_tags": {"type": "bool", "default": True},
            "subscriptions": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "protocol": {"type": "str", "required": True},
                    "endpoint": {"type": "str", "required": True},
                },
            },
        },
        supports_check_mode=True,
    )
    arn = ARN.match(module.params["arn"])
    if not arn:
        module.fail_json(
            msg=f"arn={module.params['arn']!r} is not a topic ARN: it must read "
            "arn:<partition>:sns:<region>:<12-digit account>:<name>, the name 1 to 256 letters, digits, - and _."
        )
    if module.region and arn["region"] != module.region:  # none set: module.client() says so
        module.fail_json(
            msg=f"arn={module.params['arn']!r} names a topic in {arn['region']}, but the module runs in "
            f"{module.region}: set region to {arn['region']}, or give the ARN of the topic in {module.region}."
        )
    if len(module.params["display_name"]) > MAX_DISPLAY_NAME:
        module.fail_json(
            msg=f"display_name is {len(module.params['display_name'])} characters long; SNS allows at most "
            f"{MAX_DISPLAY_NAME}: shorten it."
        )
    module.params["subscriptions"] = [
        {"protocol": s["protocol"], "endpoint": s["endpoint"]} for s in module.params["subscriptions"]
    ]
    module.params["tags"] = {str(key): str(value) for key, value in module.params["tags"].items()}
    counter = ApiCallCounter()
    client = counter.attach(module.client("sns", retry_decorator=AWSRetry.jittered_backoff()))
    try:
        result = ensure(module, Topic(client, module.params["arn"]))
    except ModuleError as e:
        fail(module, e)
    module.exit_json(**result, api_calls_by_operation=counter.by_operation)


if __name__ == "__main__":
    main()
