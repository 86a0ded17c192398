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
module: s3_bucket_empty
short_description: Ensure an S3 bucket holds no objects, no object versions and no delete markers
version_added: 1.0.0
description:
  - Deletes every object version and every delete marker of a bucket, so that the bucket can be
    deleted. Works on unversioned, versioned and suspended buckets alike.
  - Fills a gap of M(amazon.aws.s3_bucket) with O(amazon.aws.s3_bucket#module:force=true), which
    deletes the C(null) version of objects stored before versioning was turned on without its
    version id; on a versioned bucket that only adds a delete marker, and the bucket stays non-empty.
  - In check mode it lists what it would delete and deletes nothing.
  - A bucket that does not exist is already empty; the module then reports no change.
author:
  - Project team
options:
  bucket:
    description:
      - Name of the bucket.
    type: str
    required: true
# The AWS connection options (region, endpoint_url, credentials), as amazon.aws's modules have them.
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Ensure the bucket is empty of every object version and delete marker.
  s3_bucket_empty:
    bucket: demo-123456789012-us-east-1

- name: Ensure the bucket is deleted.
  amazon.aws.s3_bucket:
    name: demo-123456789012-us-east-1
    state: absent
"""

RETURN = r"""
exists:
  description: Whether the bucket exists.
  returned: always
  type: bool
  sample: true
deleted:
  description: The object versions and delete markers deleted (in check mode, that would be deleted).
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The object's key.
      type: str
      sample: public/image.jpg
    version_id:
      description: The version's id; C(null) for an object stored while versioning was off.
      type: str
      sample: "null"
errors:
  description:
    - The versions S3 refused to delete, as DeleteObjects reports them (for example a version under
      S3 Object Lock, or credentials without C(s3:DeleteObjectVersion)).
  returned: when S3 refused to delete some versions (the module fails)
  type: list
  elements: dict
  sample: [{"Key": "public/image.jpg", "VersionId": "3HL4kqtJlcp", "Code": "AccessDenied", "Message": "Access Denied"}]
"""

try:  # noqa: SIM105 - the amazon.aws pattern; AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import ModuleError, fail, paginate

BATCH = 1000  # DeleteObjects takes at most 1000 keys


def versions(client, bucket):
    """Every object version and delete marker of the bucket, or None when it does not exist."""
    try:
        listing = paginate(client, "list_object_versions", Bucket=bucket)
    except is_boto3_error_code("NoSuchBucket"):
        return None
    entries = listing.get("Versions", []) + listing.get("DeleteMarkers", [])
    return [{"key": e["Key"], "version_id": e.get("VersionId") or "null"} for e in entries]


def delete(client, bucket, found):
    for start in range(0, len(found), BATCH):
        batch = [{"Key": v["key"], "VersionId": v["version_id"]} for v in found[start : start + BATCH]]
        response = client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True}, aws_retry=True)
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise ModuleError(
                f"Could not delete {len(errors)} object versions from the bucket {bucket}, for example "
                f"{first.get('Key')} (version {first.get('VersionId')}): {first.get('Code')} {first.get('Message')}. "
                "Check that the credentials may s3:DeleteObjectVersion on this bucket.",
                errors=errors,
            )


def main():
    module = AnsibleAWSModule(argument_spec={"bucket": {"type": "str", "required": True}}, supports_check_mode=True)
    bucket = module.params["bucket"]
    client = module.client("s3", retry_decorator=AWSRetry.jittered_backoff())
    try:
        found = versions(client, bucket)
        if found and not module.check_mode:
            delete(client, bucket, found)
    except ModuleError as e:
        fail(module, e)
    except (ClientError, BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not empty the bucket {bucket}")
    module.exit_json(changed=bool(found), exists=found is not None, deleted=found or [])


if __name__ == "__main__":
    main()
