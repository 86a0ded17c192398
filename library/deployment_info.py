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
module: deployment_info
short_description: Read, in one pass, what AWS holds for a web server deployment
version_added: 1.1.0
description:
  - Answers in one process what deploy.yml and teardown.yml would otherwise ask with a module
    run each (about a second apiece) - who the credentials belong to, the region's default VPC
    and its default subnets, the instance type's zones, the key pair, the security group, the
    bucket and its tags, the account's S3 Block Public Access, the deployment's instances,
    alarms, alarm topic and dashboard; also the newest AMI (an SSM parameter) and whether the
    image URL answers, the two checks deploy makes before it creates anything.
  - Each part is read only when its option asks for it. Things that do not exist are reported
    empty, not as errors; a refusal of a permission or any other AWS error fails the module with
    AWS's message (except the account's Block Public Access, which reports that it is unreadable).
  - The module only reads, but for the deployment's lock that O(lock) takes first, so that what it reads
    stays true while the run changes it (one run at a time, from any machine). The amazon.aws modules
    make every change; this one tells the playbook whether one is needed, and reports no change.
  - In check mode it reads the same way; the lock is then only read (a holder is warned of).
author:
  - Project team
options:
  name:
    description: The deployment's name (its C(Deployment) tag).
    type: str
    required: true
  managed_by:
    description: The value of the C(ManagedBy) tag the deployment's resources carry.
    type: str
    required: true
  vpc:
    description: Find the region's default VPC and its default subnets (one per zone).
    type: bool
    default: false
  instance_type:
    description:
      - An instance type to look up (C(DescribeInstanceTypes), C(DescribeInstanceTypeOfferings)).
      - Empty, the type is not looked up.
    type: str
    default: ""
  key_name:
    description: A key pair to look up by its name; empty, none.
    type: str
    default: ""
  security_group:
    description:
      - A security group to look up by id (C(sg-...)) or by name; empty, none.
      - With O(vpc=true), only in the default VPC (none when the region has no default VPC);
        without, in any VPC (check its tags to know whose it is).
    type: str
    default: ""
  security_group_users:
    description: Also list the instances (in any state but terminated) that use the security group, as C(users).
    type: bool
    default: false
  bucket:
    description:
      - The bucket to look up (C(HeadBucket), then its tags).
      - C(null) or empty, the bucket is the deployment's derived name C(aaw-<name>-<account>-<region>).
    type: str
  image_key:
    description:
      - The object key of the image deploy uploads. When given and the bucket carries no tags, the
        image's tags are read too (deploy tags both, so they tell whose the bucket is).
    type: str
    default: ""
  bucket_settings:
    description:
      - Read the settings deploy gives an existing bucket too (default encryption, public access block,
        object ownership, policy), so a rerun can tell whether C(amazon.aws.s3_bucket) has anything to change.
    type: bool
    default: false
  bucket_versioning:
    description:
      - Read whether versioning was ever turned on for the bucket (C(GetBucketVersioning)), as
        RV(bucket.versioning); teardown empties a bucket version by version only when it was.
    type: bool
    default: false
  account_public_access_block:
    description: Read the account's S3 Block Public Access settings (S3 Control).
    type: bool
    default: false
  instance_states:
    description:
      - Find the deployment's instances (both tags) in these states; empty, none are looked up.
    type: list
    elements: str
    default: []
  alarm_names:
    description: CloudWatch alarms to look up by their exact names.
    type: list
    elements: str
    default: []
  alarm_history:
    description:
      - How many of each found alarm's latest state changes to read (DescribeAlarmHistory, one call
        an alarm); C(0), none.
    type: int
    default: 0
  topic_name:
    description:
      - An SNS topic to look up by its exact name, with its tags; empty, none.
      - It is asked for by its ARN in the account and region (C(GetTopicAttributes)), not found in
        C(ListTopics)' pages.
    type: str
    default: ""
  topic_subscriptions:
    description:
      - Whether the topic's subscriptions are listed too (C(ListSubscriptionsByTopic)); deploy needs
        them only to check an e-mail subscription, teardown not at all.
    type: bool
    default: true
  dashboard_name:
    description: A CloudWatch dashboard to look up by its exact name; empty, none.
    type: str
    default: ""
  cpu_credits:
    description:
      - With O(instance_states), also read each burstable instance's CPU credit mode (one
        C(DescribeInstanceCreditSpecifications) call), returned as C(cpu_credits) in RV(instances).
    type: bool
    default: false
  ebs_default_key:
    description:
      - With O(instance_states), when the deployment has no instance yet, also read the account's
        default EBS encryption key (C(GetEbsDefaultKmsKeyId)), which the launch's encrypted volumes use.
    type: bool
    default: false
  earlier_names:
    description:
      - Where the bucket derived from O(name), the topic of O(topic_name) or the dashboard of
        O(dashboard_name) does not exist, also look for the name an earlier version of the project
        gave it, without the C(aaw-) prefix (teardown removes those deployments too). A refusal of
        such a look-up (the shipped IAM policy allows the current names only) counts as not found.
      - The group mode's load balancer and target group are always looked for under both names.
    type: bool
    default: false
  ami_parameter:
    description:
      - An SSM parameter that holds an AMI id, such as AWS's public
        C(/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64), whose value is the
        newest image of its family; empty, none is read.
    type: str
    default: ""
  image_url:
    description:
      - An http(s) URL of the image the deployment will serve, fetched whole into O(image_dest) and
        checked before anything is created (empty, none). It must be a raster image (JPEG, PNG, GIF, WebP or
        BMP, known by its first bytes), whole (its format's end present), at most O(image_max_size) bytes,
        all of it within O(image_timeout) seconds. A URL with non-ASCII characters is sent as browsers
        send it (IDNA host, UTF-8 percent-encoded path).
      - The fetch runs while the AWS reads do. It is not made to AWS, and its failure is reported in
        RV(image_url), never as the module's.
      - Runs in check mode too (nothing is created by it but the file).
    type: str
  image_dest:
    description:
      - Where to write the image fetched from O(image_url), atomically (its directory is made when
        missing); a failed fetch leaves an earlier file as it was. Required with O(image_url).
    type: path
  image_timeout:
    description: Seconds the whole fetch of O(image_url) may take, from connecting to the last byte.
    type: int
    default: 30
  image_max_size:
    description: Largest image accepted from O(image_url), in bytes.
    type: int
    default: 10485760
  lock:
    description:
      - Take the deployment's lock before anything is read, as M(aws_webserver.core.deployment_lock) with
        O(aws_webserver.core.deployment_lock#module:state=present) does (the SSM parameter C(/aaw/<name>/lock)),
        or fail naming the run that holds it (RV(holder), RV(parameter)). RV(lock) says which
        run holds it now; M(aws_webserver.core.deployment_lock) releases it at the end of the run.
      - Left out, no lock is taken (monitor.yml only reads).
    type: dict
    suboptions:
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
        description: Take the lock whoever holds it.
        type: bool
        default: false
      advice:
        description: Text added to the failure message when another run holds the lock (how to force it).
        type: str
        default: ""
  scaling:
    description:
      - Look up the group mode's resources by the names deploy gives them (resource_names of O(name))
        with their tags; the Auto Scaling group, the launch template, the load balancer, its target
        group and its security group, and the load balancer's HTTPS certificates in ACM (by their
        tags C(Name=<name>-https), C(Deployment) and C(ManagedBy)).
      - The load balancer's security group is looked up first, as deploy creates it before the rest of
        the group mode and teardown deletes it after, so without it the other lookups (five more
        calls) are skipped, as for every single-instance deployment.
    type: bool
    default: false
# The AWS connection options (region, endpoint_url, credentials), as amazon.aws's modules have them.
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Find what deploy needs to know before it changes anything.
  deployment_info:
    name: webserver
    managed_by: ansible-aws-webserver
    vpc: true
    instance_type: t3.nano
    key_name: webserver-key
    security_group: webserver-web
    account_public_access_block: true
  register: found

- name: Show the default VPC and whether the key pair exists.
  ansible.builtin.debug:
    msg: "{{ found.vpc_id }} {{ found.key_pair | length > 0 }}"
"""

RETURN = r"""
lock:
  description:
    - With O(lock), the lock this run holds now (C(run_id), C(parameter)), who held it before when this run
      took it over from another (C(holder)) and the seconds it waited (C(waited)); else empty.
    - C(run_id) is empty in check mode when another run holds the lock.
  returned: always
  type: dict
  sample: {"run_id": "5f0c2a4e8d7b4c1e9a3f6b2d1c0e9f8a", "parameter": "/aaw/web/lock", "holder": {}, "waited": 0.0}
holder:
  description:
    - Who holds the lock (C(run_id), C(playbook), C(user), C(host), C(pid), C(started), C(expires)), in the
      failed result when O(lock) finds another run holding the deployment.
  returned: when another run holds the lock (the module fails)
  type: dict
  sample: {"run_id": "5f0c...", "playbook": "deploy.yml", "user": "alice", "host": "laptop",
           "started": "2026-12-07T07:00:00Z", "expires": "2026-12-07T08:00:00Z"}
parameter:
  description: The SSM parameter that is the lock, in the same failed result as RV(holder).
  returned: when another run holds the lock (the module fails)
  type: str
  sample: /aaw/web/lock
account:
  description: The account the credentials belong to.
  returned: always
  type: str
  sample: "123456789012"
arn:
  description: The caller's ARN.
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:user/deployer
partition:
  description: The AWS partition, from the caller's ARN.
  returned: always
  type: str
  sample: aws
vpc_id:
  description: The default VPC's id; empty when the region has none or O(vpc=false).
  returned: always
  type: str
  sample: vpc-0123456789abcdef0
subnets:
  description: The default VPC's default subnets (C(subnet_id), C(availability_zone)), by zone.
  returned: always
  type: list
  elements: dict
instance_type:
  description:
    - C(exists), C(offered), C(availability_zones), C(architectures), C(free_tier_eligible) of O(instance_type).
  returned: when O(instance_type) is given
  type: dict
key_pair:
  description: The key pair (C(key_name), C(key_pair_id), C(key_type), C(tags)); empty when it does not exist.
  returned: always
  type: dict
security_group:
  description:
    - The security group as C(ec2_security_group_info) returns one (snake_case, C(tags) as a dict);
      empty when it does not exist.
  returned: always
  type: dict
bucket:
  description:
    - C(name), C(exists), C(accessible) (false when S3 answers 403 - another account's bucket, or
      no s3:ListBucket), C(region) (where an accessible bucket is, as HeadBucket says), C(tags); for
      a bucket without tags C(other_objects) (up to three keys other than O(image_key)) and
      C(image_tags); when asked, C(settings) (C(encryption), the algorithms; C(public_access_block),
      four booleans; C(object_ownership); C(policy), the document; each C(null) when not set); when
      asked, C(versioning) (C(Enabled), C(Suspended), or empty when versioning was never turned on).
  returned: always
  type: dict
account_public_access_block:
  description: C(readable), C(configured), C(public_access_block) (four booleans) and, when unreadable, C(reason).
  returned: when O(account_public_access_block=true)
  type: dict
instances:
  description:
    - The deployment's instances in O(instance_states), with the keys C(ec2_instance_info) gives them
      (C(instance_id), C(state.name), C(state_reason), C(public_ip_address), C(security_groups), C(key_name),
      C(instance_type), C(placement), C(launch_time), C(image_id), C(monitoring), C(metadata_options),
      C(subnet_id), C(tags)); with O(cpu_credits), a burstable one's C(cpu_credits) too.
  returned: always
  type: list
  elements: dict
alarms:
  description:
    - The alarms of O(alarm_names) that exist (its keys are their names), each with DescribeAlarms' keys that make
      it (C(Threshold), C(Dimensions), C(AlarmActions)...), to compare with what the playbook wants, and its
      C(AlarmArn), C(StateValue) and C(StateReason).
    - With O(alarm_history), each also has C(history), its latest state changes, newest first, each
      with C(time) (ISO 8601), C(from), C(to) and C(reason).
  returned: always
  type: dict
ami:
  description:
    - C(parameter), the O(ami_parameter) read; C(image_id), its value (empty when it could not be read);
      C(problem), AWS's error when it could not be read (a refusal of ssm:GetParameter, no such parameter
      in the region), else empty.
  returned: when O(ami_parameter) is given
  type: dict
  sample:
    parameter: /aws/service/debian/release/12/latest/amd64
    image_id: ami-0123456789abcdef0
    problem: ""
image_url:
  description:
    - C(url), O(image_url); C(problem), why it cannot be used (nothing answers, an HTTP error, empty,
      not a raster image, too large, too slow, cut short), else empty; when it can, C(path)
      (O(image_dest)), C(sha256), C(size) and C(content_type) of the image fetched.
  returned: when O(image_url) is given
  type: dict
  sample: {"url": "http://devops.witdemo.net/image.jpg", "problem": "", "path": "/home/me/.state/images/web-image",
           "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "size": 48213,
           "content_type": "image/jpeg"}
api_calls_by_operation:
  description: The AWS API calls the module made, by operation (C(DescribeAlarms), C(GetCallerIdentity)...).
  returned: always
  type: dict
  sample: {"GetCallerIdentity": 1, "DescribeInstances": 1}
topic:
  description:
    - The topic of O(topic_name) (C(arn), C(tags), C(display_name), and with O(topic_subscriptions)
      C(subscriptions) with C(protocol) and C(endpoint)); empty when it does not exist.
  returned: always
  type: dict
dashboard:
  description: Whether the dashboard of O(dashboard_name) exists (or, with O(earlier_names), its earlier name).
  returned: always
  type: bool
ebs_default_key:
  description:
    - With O(ebs_default_key) and no instance found, the account's default EBS key in the region
      (C(key), an ARN; C(alias/aws/ebs) for AWS's own) and whether a customer manages it (C(customer_managed)).
  returned: when asked and the deployment has no instance
  type: dict
  sample: {"key": "arn:aws:kms:us-east-1:123456789012:alias/aws/ebs", "customer_managed": false}
dashboard_name:
  description: The name the dashboard was found under; empty when there is none.
  returned: always
  type: str
  sample: aaw-demo
scaling:
  description:
    - With O(scaling=true), the group mode's resources; each empty when it does not exist.
    - C(group) (C(name), C(arn), C(min_size), C(max_size), C(desired_capacity), C(instances), C(tags),
      C(tags_propagated), C(subnets), C(target_group_arns), C(health_check_type), C(health_check_grace),
      C(default_cooldown), C(launch_template) (C(name), C(version)), C(metrics_enabled),
      C(policies) the scaling policies' ARNs by name),
      C(launch_template) (C(id), C(name), C(latest_version), C(tags)), C(balancer) (C(arn), C(name),
      C(dns_name), C(tags)), C(target_group) (C(arn), C(name), C(tags)), C(security_group) (as
      RV(security_group)), C(certificates) (a list of C(arn), C(domain), C(not_after), C(in_use), C(tags)).
  returned: when O(scaling=true)
  type: dict
"""

import json
from concurrent.futures import ThreadPoolExecutor

try:  # noqa: SIM105 - the amazon.aws pattern; AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import (
    PUBLIC_ACCESS_SETTINGS,
    Clients,
    ModuleError,
    access_denied,
    account_public_access_block,
    fail,
    instance_type_offering,
    paginate,
    sns_topic,
    status_code,
    tag_dict,
    tagged_certificates,
)
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_image import ImageFetchError, fetch_to_file
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_lock import (
    TAKE_OPTIONS,
    Lock,
    options_problem,
    take,
)
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_rules import resource_names
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_time import iso


class Reader:
    """One module run's clients (one boto3 session; see Clients); each call raises ModuleError
    naming what it was for. The lookups run in threads: boto3 clients are thread-safe once made."""

    def __init__(self, module):
        self.module = module
        self.client = Clients(module)
        self.counter = self.client.counter

    def call(self, service, operation, what, **kwargs):
        try:
            return getattr(self.client(service), operation)(aws_retry=True, **kwargs)
        except (ClientError, BotoCoreError) as e:
            raise ModuleError(f"Unable to {what}", e) from e

    def pages(self, service, operation, key, what, **kwargs):
        try:
            return paginate(self.client(service), operation, **kwargs).get(key, [])
        except (ClientError, BotoCoreError) as e:
            raise ModuleError(f"Unable to {what}", e) from e


def default_vpc(reader):
    """The default VPC's id and its default subnets. Default subnets exist only in the default VPC,
    so one DescribeSubnets answers both; DescribeVpcs only when there is none (a default VPC whose
    default subnets were deleted still has its id)."""
    subnets = reader.pages(
        "ec2", "describe_subnets", "Subnets", "list the default VPC's subnets",
        Filters=[{"Name": "default-for-az", "Values": ["true"]}],
    )  # fmt: skip
    if not subnets:
        vpcs = reader.call(
            "ec2", "describe_vpcs", "find the default VPC", Filters=[{"Name": "is-default", "Values": ["true"]}]
        )
        return (vpcs["Vpcs"][0]["VpcId"] if vpcs["Vpcs"] else ""), []
    found = [{"subnet_id": s["SubnetId"], "availability_zone": s["AvailabilityZone"]} for s in subnets]
    return subnets[0]["VpcId"], sorted(found, key=lambda s: s["availability_zone"])


def key_pair(reader, name):
    try:
        pairs = reader.client("ec2").describe_key_pairs(KeyNames=[name], aws_retry=True)["KeyPairs"]
    except is_boto3_error_code("InvalidKeyPair.NotFound"):
        return {}
    except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
        raise ModuleError(f"Unable to look the key pair {name} up", e) from e
    if not pairs:
        return {}
    pair = pairs[0]
    return {
        "key_name": pair["KeyName"],
        "key_pair_id": pair.get("KeyPairId", ""),
        "key_type": pair.get("KeyType", ""),
        "tags": tag_dict(pair.get("Tags")),
    }


NOT_TERMINATED = ["pending", "running", "shutting-down", "stopping", "stopped"]


def security_group(reader, vpc_id, group, name, users):
    by = "group-id" if group.startswith("sg-") else "group-name"
    filters = [{"Name": by, "Values": [group]}] + ([{"Name": "vpc-id", "Values": [vpc_id]}] if vpc_id else [])
    groups = reader.pages(
        "ec2", "describe_security_groups", "SecurityGroups", f"look the security group {group} up", Filters=filters
    )
    if not groups:
        return {}
    # Names are unique per VPC only: the deployment's own first, when several VPCs have one.
    groups.sort(key=lambda g: tag_dict(g.get("Tags")).get("Deployment") != name)
    found = camel_dict_to_snake_dict(groups[0], ignore_list=["Tags"])
    found["tags"] = tag_dict(found.pop("tags", []))
    if users:
        reservations = reader.pages(
            "ec2", "describe_instances", "Reservations", f"find the instances that use {group}",
            Filters=[
                {"Name": "instance.group-id", "Values": [found["group_id"]]},
                {"Name": "instance-state-name", "Values": NOT_TERMINATED},
            ],
        )  # fmt: skip
        found["users"] = [i["InstanceId"] for r in reservations for i in r["Instances"]]
    return found


# A bucket setting's reader, the error AWS gives when it is not set, and how the answer reads.
BUCKET_SETTINGS = {
    "encryption": (
        "get_bucket_encryption", "ServerSideEncryptionConfigurationNotFoundError",
        lambda r: [rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
                   for rule in r["ServerSideEncryptionConfiguration"]["Rules"]],
    ),
    "public_access_block": (
        "get_public_access_block", "NoSuchPublicAccessBlockConfiguration",
        lambda r: {PUBLIC_ACCESS_SETTINGS[k]: v for k, v in r["PublicAccessBlockConfiguration"].items()},
    ),
    "object_ownership": (
        "get_bucket_ownership_controls", "OwnershipControlsNotFoundError",
        lambda r: [rule["ObjectOwnership"] for rule in r["OwnershipControls"]["Rules"]],
    ),
    "policy": ("get_bucket_policy", "NoSuchBucketPolicy", lambda r: json.loads(r["Policy"])),
}  # fmt: skip


def bucket_settings(reader, name):
    """The settings deploy gives a bucket, as S3 has them (None for one that is not set)."""
    s3 = reader.client("s3")
    found = {}
    for key, (operation, missing, read) in BUCKET_SETTINGS.items():
        try:
            found[key] = read(getattr(s3, operation)(Bucket=name, aws_retry=True))
        except is_boto3_error_code(missing):
            found[key] = None
        except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
            raise ModuleError(f"Unable to read the {key.replace('_', ' ')} of the bucket {name}", e) from e
    return found


def bucket(reader, name, image_key, settings, versioning=False):
    s3 = reader.client("s3")
    found = {"name": name, "exists": False, "accessible": False, "tags": {}}
    try:
        head = s3.head_bucket(Bucket=name, aws_retry=True)
    except (ClientError, BotoCoreError) as e:
        code = status_code(e)
        if code == 404:
            return found
        if code == 403:
            return {**found, "exists": True}
        raise ModuleError(f"Unable to look the bucket {name} up", e) from e
    found.update(exists=True, accessible=True, region=head.get("BucketRegion", ""))
    try:
        found["tags"] = tag_dict(s3.get_bucket_tagging(Bucket=name, aws_retry=True)["TagSet"])
    except is_boto3_error_code("NoSuchTagSet"):
        pass
    except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
        raise ModuleError(f"Unable to read the tags of the bucket {name}", e) from e
    if not found["tags"]:
        # An untagged bucket deploy would adopt: what is in it besides the deployment's image.
        listed = reader.call("s3", "list_objects_v2", f"list the objects of the bucket {name}", Bucket=name, MaxKeys=4)
        found["other_objects"] = [o["Key"] for o in listed.get("Contents", []) if o["Key"] != image_key][:3]
    if image_key and not found["tags"]:
        try:
            tags = s3.get_object_tagging(Bucket=name, Key=image_key, aws_retry=True)["TagSet"]
            found["image_tags"] = tag_dict(tags)
        except is_boto3_error_code(["NoSuchKey", "404"]):
            found["image_tags"] = {}
        except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
            raise ModuleError(f"Unable to read the tags of {image_key} in the bucket {name}", e) from e
    if settings:
        found["settings"] = bucket_settings(reader, name)
    if versioning:
        answer = reader.call("s3", "get_bucket_versioning", f"read the versioning of the bucket {name}", Bucket=name)
        found["versioning"] = answer.get("Status", "")
    return found


# What the playbooks read of an instance, as ec2_instance_info names it (snake_case, tags as a dict).
INSTANCE_KEYS = (
    "InstanceId", "State", "StateReason", "PublicIpAddress", "SecurityGroups", "KeyName", "InstanceType",
    "Placement", "LaunchTime", "ImageId", "Monitoring", "MetadataOptions", "SubnetId",
)  # fmt: skip


def instances(reader, name, managed_by, states):
    reservations = reader.pages(
        "ec2", "describe_instances", "Reservations", "find the deployment's instances",
        Filters=[
            {"Name": "tag:Deployment", "Values": [name]},
            {"Name": "tag:ManagedBy", "Values": [managed_by]},
            {"Name": "instance-state-name", "Values": states},
        ],
    )  # fmt: skip
    found = []
    for instance in (i for r in reservations for i in r["Instances"]):
        kept = camel_dict_to_snake_dict({key: instance[key] for key in INSTANCE_KEYS if key in instance})
        kept["tags"] = tag_dict(instance.get("Tags"))
        found.append(kept)
    return found


# What an alarm is made of (DescribeAlarms' names), as cloudwatch_metric_alarm compares it.
ALARM_KEYS = (
    "AlarmDescription", "Namespace", "MetricName", "Statistic", "ComparisonOperator", "Threshold", "Unit", "Period",
    "EvaluationPeriods", "TreatMissingData", "Dimensions", "AlarmActions", "OKActions", "InsufficientDataActions",
)  # fmt: skip
# What monitor.yml reports of it besides.
ALARM_STATE_KEYS = ("AlarmArn", "StateValue", "StateReason")


def topic(reader, arn, subscriptions=True):
    """The topic of that ARN (its name, in this account and region), or {} when there is none."""
    return sns_topic(reader.client("sns"), arn, subscriptions) or {}


def alarm_history(reader, name, count):
    """The alarm's latest `count` state changes, newest first: {time, from, to, reason}."""
    found = reader.call(
        "cloudwatch", "describe_alarm_history", f"read the history of the alarm {name}",
        AlarmName=name, HistoryItemType="StateUpdate", ScanBy="TimestampDescending", MaxRecords=count,
    )  # fmt: skip
    changes = []
    for item in found.get("AlarmHistoryItems", []):
        try:
            data = json.loads(item.get("HistoryData") or "{}")
        except ValueError:
            data = {}
        changes.append(
            {
                "time": iso(item["Timestamp"]),
                "from": data.get("oldState", {}).get("stateValue", ""),
                "to": data.get("newState", {}).get("stateValue", ""),
                "reason": data.get("newState", {}).get("stateReason", item.get("HistorySummary", "")),
            }
        )
    return changes


def dashboard(reader, name):
    try:
        reader.client("cloudwatch").get_dashboard(DashboardName=name, aws_retry=True)
    except is_boto3_error_code(["ResourceNotFound", "ResourceNotFoundException"]):
        return False
    except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
        raise ModuleError(f"Unable to look the dashboard {name} up", e) from e
    return True


def scaling(reader, name, managed_by):
    """The group mode's resources, by the names deploy gives them; each {} when it does not exist.
    None exists without the load balancer's security group, made first and deleted last."""
    names = resource_names(name)
    found = {"group": {}, "launch_template": {}, "balancer": {}, "target_group": {}, "security_group": {},
             "certificates": []}  # fmt: skip
    found["security_group"] = security_group(reader, "", names["balancer_security_group"], name, users=False)
    if not found["security_group"]:
        return found
    what = f"look the Auto Scaling group {names['group']} up"
    groups = reader.pages(
        "autoscaling", "describe_auto_scaling_groups", "AutoScalingGroups", what, AutoScalingGroupNames=[names["group"]]
    )
    for group in groups:
        launch = group.get("LaunchTemplate", {})
        found["group"] = {
            "name": group["AutoScalingGroupName"], "arn": group.get("AutoScalingGroupARN", ""),
            "min_size": group["MinSize"], "max_size": group["MaxSize"], "desired_capacity": group["DesiredCapacity"],
            "instances": [i["InstanceId"] for i in group.get("Instances", [])], "tags": tag_dict(group.get("Tags")),
            # What autoscaling_group sets, so that check mode can tell an unchanged group (the module
            # itself says "changed" in check mode for any group that exists).
            "tags_propagated": all(t.get("PropagateAtLaunch") for t in group.get("Tags", [])),
            "subnets": sorted(s for s in group.get("VPCZoneIdentifier", "").split(",") if s),
            "target_group_arns": sorted(group.get("TargetGroupARNs", [])),
            "health_check_type": group.get("HealthCheckType", ""),
            "health_check_grace": group.get("HealthCheckGracePeriod", 0),
            "default_cooldown": group.get("DefaultCooldown", 0),
            "launch_template": {"name": launch.get("LaunchTemplateName", ""), "version": launch.get("Version", "")},
            "metrics_enabled": bool(group.get("EnabledMetrics")),
        }  # fmt: skip
        policies = reader.pages(
            "autoscaling", "describe_policies", "ScalingPolicies", f"read the scaling policies of {names['group']}",
            AutoScalingGroupName=names["group"],
        )  # fmt: skip
        found["group"]["policies"] = {p["PolicyName"]: p["PolicyARN"] for p in policies}
    try:
        templates = reader.client("ec2").describe_launch_templates(
            LaunchTemplateNames=[names["launch_template"]], aws_retry=True
        )["LaunchTemplates"]
    except is_boto3_error_code(["InvalidLaunchTemplateName.NotFoundException", "InvalidLaunchTemplateName.NotFound"]):
        templates = []
    except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
        raise ModuleError(f"Unable to look the launch template {names['launch_template']} up", e) from e
    for template in templates:
        found["launch_template"] = {
            "id": template["LaunchTemplateId"], "name": template["LaunchTemplateName"],
            "latest_version": template.get("LatestVersionNumber"), "tags": tag_dict(template.get("Tags")),
        }  # fmt: skip
    elbv2 = reader.client("elbv2")
    for key, operation, field, missing, arn_key in (
        ("balancer", "describe_load_balancers", "LoadBalancers", "LoadBalancerNotFound", "LoadBalancerArn"),
        ("target_group", "describe_target_groups", "TargetGroups", "TargetGroupNotFound", "TargetGroupArn"),
    ):
        items = []
        for wanted in (names[key], names["legacy"][key]):
            try:
                items = getattr(elbv2, operation)(Names=[wanted], aws_retry=True)[field]
            except is_boto3_error_code(missing):
                items = []
            except (ClientError, BotoCoreError) as e:  # pylint: disable=duplicate-except
                raise ModuleError(f"Unable to look the {key.replace('_', ' ')} {wanted} up", e) from e
            if items:
                break
        for item in items:
            described = reader.call(
                "elbv2", "describe_tags", f"read the tags of {wanted}", ResourceArns=[item[arn_key]]
            )
            tags = described["TagDescriptions"][0].get("Tags", []) if described["TagDescriptions"] else []
            found[key] = {"arn": item[arn_key], "name": wanted, "tags": tag_dict(tags)}
            if key == "balancer":
                found[key]["dns_name"] = item.get("DNSName", "")
    try:
        found["certificates"] = tagged_certificates(
            reader.client("acm"), {"Name": names["certificate"], "Deployment": name, "ManagedBy": managed_by}
        )
    except (ClientError, BotoCoreError) as e:
        raise ModuleError(f"Unable to look up the certificates named {names['certificate']} in ACM", e) from e
    return found


def vpc_and_group(reader, params):
    found = {"vpc_id": "", "subnets": [], "security_group": {}}
    if params["vpc"]:
        found["vpc_id"], found["subnets"] = default_vpc(reader)
    if params["security_group"] and (found["vpc_id"] or not params["vpc"]):
        found["security_group"] = security_group(
            reader, found["vpc_id"], params["security_group"], params["name"], params["security_group_users"]
        )
    return found


def alarms(reader, names, history):
    described = reader.call("cloudwatch", "describe_alarms", "look the alarms up", AlarmNames=names,
                            AlarmTypes=["MetricAlarm"])  # fmt: skip
    found = {
        a["AlarmName"]: {key: a.get(key) for key in (*ALARM_KEYS, *ALARM_STATE_KEYS)}
        for a in described.get("MetricAlarms", [])
    }
    if history > 0:
        for name, alarm in found.items():
            alarm["history"] = alarm_history(reader, name, history)
    return found


def ami(reader, parameter):
    """The AMI id an SSM parameter holds. A refusal or a missing parameter is reported as the
    problem, for the playbook to explain (which family, which permission), not raised."""
    try:
        value = reader.client("ssm").get_parameter(aws_retry=True, Name=parameter)
    except (ClientError, BotoCoreError) as e:
        return {"parameter": parameter, "image_id": "", "problem": str(e)}
    return {"parameter": parameter, "image_id": value["Parameter"]["Value"], "problem": ""}


def image_url(url, dest, timeout, max_size):
    """The image at url fetched into dest and checked, or why it cannot be used."""
    try:
        return dict(fetch_to_file(url, dest, timeout, max_size), url=url, problem="")
    except ImageFetchError as e:
        return {"url": url, "problem": str(e)}


def credit_modes(reader, found):
    """Each burstable instance's CPU credit mode (cpu_credits: standard or unlimited), in one call."""
    burstable = [i["instance_id"] for i in found if i.get("instance_type", "").startswith(("t2.", "t3", "t4g."))]
    if not burstable:
        return
    answer = reader.call(
        "ec2", "describe_instance_credit_specifications", "read the instances' CPU credit modes", InstanceIds=burstable
    )
    modes = {s["InstanceId"]: s["CpuCredits"] for s in answer.get("InstanceCreditSpecifications", [])}
    for instance in found:
        if instance["instance_id"] in modes:
            instance["cpu_credits"] = modes[instance["instance_id"]]


def ebs_default_key(reader):
    """The account's default EBS key in the region, and whether a customer manages it (then the
    caller needs KMS permissions on it to launch encrypted volumes; AWS's own needs none)."""
    answer = reader.call("ec2", "get_ebs_default_kms_key_id", "read the account's default EBS encryption key")
    key = answer.get("KmsKeyId", "")
    return {"key": key, "customer_managed": bool(key) and not key.endswith("alias/aws/ebs")}


def earlier_found(lookup, reader, *args):
    """`lookup` of a name an earlier version gave, or None when AWS refuses to show it: the IAM
    policy this version ships allows only the current names, and a refusal there means nothing."""
    try:
        return lookup(reader, *args)
    except ModuleError as e:
        if e.exception is not None and access_denied(e.exception):
            return None
        raise


def lookups(module, reader, account, partition):
    """The reads the parameters ask for, each a function giving part of the result. They are
    independent of each other, so they run at once (a dozen calls' latency becomes a few's)."""
    params = module.params
    wanted = {"vpc_and_group": lambda: vpc_and_group(reader, params)}
    if params["instance_type"]:
        wanted["instance_type"] = lambda: {
            "instance_type": instance_type_offering(reader.client("ec2"), params["instance_type"])
        }
    if params["key_name"]:
        wanted["key_pair"] = lambda: {"key_pair": key_pair(reader, params["key_name"])}
    names = resource_names(params["name"], bucket_name=params["bucket"], account_id=account, region=module.region)
    # The names an earlier version gave (earlier_names), looked for only where the current one is missing.
    earlier = names["legacy"] if params["earlier_names"] else {}

    def find_bucket():
        found = bucket(
            reader, names["bucket"], params["image_key"], params["bucket_settings"], params["bucket_versioning"]
        )
        if not found["exists"] and earlier and not params["bucket"]:
            before = earlier_found(bucket, reader, earlier["bucket"], params["image_key"], params["bucket_settings"],
                                   params["bucket_versioning"])  # fmt: skip
            found = before if before and before["accessible"] else found
        return {"bucket": found}

    wanted["bucket"] = find_bucket
    if params["account_public_access_block"]:
        wanted["account_public_access_block"] = lambda: {
            "account_public_access_block": account_public_access_block(module, reader.client("s3control"), account)
        }
    if params["instance_states"]:

        def find_instances():
            found = {"instances": instances(reader, params["name"], params["managed_by"], params["instance_states"])}
            if params["cpu_credits"]:
                credit_modes(reader, found["instances"])
            # What a launch's encrypted volumes will use: read only when there is none yet to launch.
            if params["ebs_default_key"] and not found["instances"]:
                found["ebs_default_key"] = ebs_default_key(reader)
            return found

        wanted["instances"] = find_instances
    if params["alarm_names"]:
        wanted["alarms"] = lambda: {"alarms": alarms(reader, params["alarm_names"], params["alarm_history"])}
    if params["topic_name"]:

        def find_topic():
            arn = f"arn:{partition}:sns:{module.region}:{account}:"
            found = topic(reader, arn + params["topic_name"], params["topic_subscriptions"])
            if not found and earlier:
                found = earlier_found(topic, reader, arn + earlier["topic"], params["topic_subscriptions"]) or {}
            return {"topic": found}

        wanted["topic"] = find_topic
    if params["dashboard_name"]:

        def find_dashboard():
            name = params["dashboard_name"] if dashboard(reader, params["dashboard_name"]) else ""
            if not name and earlier and earlier_found(dashboard, reader, earlier["dashboard"]):
                name = earlier["dashboard"]
            return {"dashboard": bool(name), "dashboard_name": name}

        wanted["dashboard"] = find_dashboard
    if params["ami_parameter"]:
        wanted["ami"] = lambda: {"ami": ami(reader, params["ami_parameter"])}
    if params["image_url"]:
        wanted["image_url"] = lambda: {
            "image_url": image_url(
                params["image_url"], params["image_dest"], params["image_timeout"], params["image_max_size"]
            )
        }
    if params["scaling"]:
        wanted["scaling"] = lambda: {"scaling": scaling(reader, params["name"], params["managed_by"])}
    return wanted


def take_lock(module, reader):
    """The deployment's lock, taken before any read (O(lock)), or {} when not asked for."""
    wanted = module.params["lock"]
    if wanted is None:
        return {}
    problem = options_problem(wanted["wait"], wanted["lease"])
    if problem:
        raise ModuleError(f"lock: {problem}")
    lock = Lock(reader.client("ssm"), module.params["name"])
    taken = take(module, lock, module.params["name"], **wanted)
    return {"run_id": taken["run_id"], "parameter": lock.parameter, "holder": taken["holder"],
            "waited": taken.get("waited", 0.0)}  # fmt: skip


def read(module, reader):
    """What the parameters ask for, read from AWS (under the deployment's lock, with O(lock))."""
    lock = take_lock(module, reader)
    caller = reader.call("sts", "get_caller_identity", "ask STS who the credentials belong to")
    result = {
        "lock": lock,
        "changed": False,
        "account": caller["Account"],
        "arn": caller["Arn"],
        "partition": caller["Arn"].split(":")[1],
        "key_pair": {},
        "instances": [],
        "alarms": {},
        "topic": {},
        "dashboard": False,
        "dashboard_name": "",
    }
    wanted = lookups(module, reader, result["account"], result["partition"])
    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        futures = [pool.submit(lookup) for lookup in wanted.values()]
    # In a fixed order, so that the same failure is reported whatever finished first.
    for future in futures:
        result.update(future.result())
    return result


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "managed_by": {"type": "str", "required": True},
        "vpc": {"type": "bool", "default": False},
        "instance_type": {"type": "str", "default": ""},
        "key_name": {"type": "str", "default": ""},
        "security_group": {"type": "str", "default": ""},
        "security_group_users": {"type": "bool", "default": False},
        "bucket": {"type": "str"},
        "image_key": {"type": "str", "default": ""},
        "bucket_settings": {"type": "bool", "default": False},
        "bucket_versioning": {"type": "bool", "default": False},
        "account_public_access_block": {"type": "bool", "default": False},
        "instance_states": {"type": "list", "elements": "str", "default": []},
        "alarm_names": {"type": "list", "elements": "str", "default": []},
        "alarm_history": {"type": "int", "default": 0},
        "topic_name": {"type": "str", "default": ""},
        "topic_subscriptions": {"type": "bool", "default": True},
        "dashboard_name": {"type": "str", "default": ""},
        "earlier_names": {"type": "bool", "default": False},
        "ebs_default_key": {"type": "bool", "default": False},
        "cpu_credits": {"type": "bool", "default": False},
        "scaling": {"type": "bool", "default": False},
        "lock": {"type": "dict", "options": TAKE_OPTIONS},
        "ami_parameter": {"type": "str", "default": ""},
        "image_url": {"type": "str"},
        "image_dest": {"type": "path"},
        "image_timeout": {"type": "int", "default": 30},
        "image_max_size": {"type": "int", "default": 10485760},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec, supports_check_mode=True, required_by={"image_url": "image_dest"}
    )
    reader = Reader(module)
    try:
        result = read(module, reader)
    except ModuleError as e:
        fail(module, e)
    module.exit_json(api_calls_by_operation=reader.counter.by_operation, **result)


if __name__ == "__main__":
    main()
