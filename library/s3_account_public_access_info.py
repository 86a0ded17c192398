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
module: s3_account_public_access_info
short_description: Read the account-level S3 Block Public Access settings
version_added: 1.0.0
description:
  - Reads the account's S3 Block Public Access configuration with the S3 Control API
    (C(GetPublicAccessBlock); IAM permission C(s3:GetAccountPublicAccessBlock)).
  - Account-level settings override every bucket's own. C(BlockPublicPolicy) makes S3 refuse any
    public bucket policy; C(RestrictPublicBuckets) makes objects unreadable anonymously even when a
    bucket policy allows it. A playbook can stop before it creates anything instead of failing at
    the bucket policy or serving an image nobody can load.
  - An account with no configuration reports every setting as false, as S3 applies it.
  - When the credentials may not read the settings, the module does not fail; it reports
    RV(readable=false) and the reason, so the playbook can decide.
  - The module only reads. It runs the same way in check mode and never reports a change.
author:
  - Project team
options:
  account_id:
    description:
      - The 12-digit ID of the account, for example from M(amazon.aws.aws_caller_info).
    type: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the account's Block Public Access settings.
  s3_account_public_access_info:
    account_id: "123456789012"
  register: account_bpa

- name: Stop when the account blocks public bucket policies.
  ansible.builtin.fail:
    msg: The account blocks public bucket policies.
  when: account_bpa.public_access_block.block_public_policy
"""

RETURN = r"""
readable:
  description: Whether the settings could be read (false when the credentials lack the permission).
  returned: always
  type: bool
  sample: true
configured:
  description: Whether the account has a Block Public Access configuration at all.
  returned: always
  type: bool
  sample: false
public_access_block:
  description: The four settings, false where the account has none.
  returned: always
  type: dict
  contains:
    block_public_acls:
      description: S3 refuses requests that add public ACLs.
      type: bool
    ignore_public_acls:
      description: S3 ignores public ACLs.
      type: bool
    block_public_policy:
      description: S3 refuses public bucket policies.
      type: bool
    restrict_public_buckets:
      description: Only AWS services and the account's own principals may use public bucket policies.
      type: bool
  sample:
    block_public_acls: true
    ignore_public_acls: true
    block_public_policy: false
    restrict_public_buckets: false
reason:
  description: Why the settings could not be read, when RV(readable) is false.
  returned: when not readable
  type: str
  sample: "AccessDenied: User ... is not authorized to perform: s3:GetAccountPublicAccessBlock"
"""

from urllib.parse import urlsplit, urlunsplit

try:  # noqa: SIM105 - the amazon.aws pattern; AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

SETTINGS = {
    "BlockPublicAcls": "block_public_acls",
    "IgnorePublicAcls": "ignore_public_acls",
    "BlockPublicPolicy": "block_public_policy",
    "RestrictPublicBuckets": "restrict_public_buckets",
}


def _endpoint_as_given(request, **_kwargs):
    """S3 Control puts the account ID in front of the endpoint's host name (123456789012.s3-control...).
    An endpoint given by address (a local cloud, an endpoint by IP) has no such names: ask it as given."""
    parts = urlsplit(request.url)
    account, _, host = parts.netloc.partition(".")
    if account.isdigit() and len(account) == 12 and host:
        request.url = urlunsplit(parts._replace(netloc=host))


def _access_denied(error):
    """'Code: message' when the error is a refusal of the permission (HTTP 403), else ''."""
    response = getattr(error, "response", None) or {}
    if response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 403:
        return ""
    # S3 Control's errors can come back with the code one level down (Errors.Error).
    detail = response.get("Error") or {}
    if not detail.get("Code"):
        detail = (response.get("Errors") or {}).get("Error") or detail
    return f"{detail.get('Code') or 'AccessDenied'}: {detail.get('Message', '')}".strip(": ")


def main():
    argument_spec = {"account_id": {"type": "str", "required": True}}
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("s3control")
    if module.params.get("endpoint_url"):
        client.meta.events.register("before-sign.s3-control.GetPublicAccessBlock", _endpoint_as_given)
    get_public_access_block = AWSRetry.jittered_backoff()(client.get_public_access_block)
    settings = dict.fromkeys(SETTINGS.values(), False)
    try:
        found = get_public_access_block(AccountId=module.params["account_id"])
    except is_boto3_error_code("NoSuchPublicAccessBlockConfiguration"):
        module.exit_json(changed=False, readable=True, configured=False, public_access_block=settings)
    except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
        reason = _access_denied(e)
        if not reason:
            module.fail_json_aws(e, msg="Unable to read the account's S3 Block Public Access settings")
        module.exit_json(changed=False, readable=False, configured=False, public_access_block=settings, reason=reason)
    configuration = found.get("PublicAccessBlockConfiguration", {})
    settings.update({snake: bool(configuration.get(camel, False)) for camel, snake in SETTINGS.items()})
    module.exit_json(changed=False, readable=True, configured=True, public_access_block=settings)


if __name__ == "__main__":
    main()
