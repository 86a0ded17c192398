# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Checks and explanations the deployment role shares between tasks/settings.yml, the interactive
questions and the failure messages. Every function returns plain sentences for a newcomer:
what is wrong, and what to do instead.

- ``values | deployment_settings_problems``: every rule the role's settings break, as sentences
  (the values already hold their types: see filter_plugins/settings.py).
- ``value | deployment_problem('deployment_bucket_name')``: why a setting's value is not
  usable ('' when it is).
- ``ip_permissions | deployment_missing_ports(ssh_cidr)``: which of SSH from the operator,
  HTTP and HTTPS from anywhere an existing security group does not allow.
- ``ip_permissions | deployment_allows_port(port)``: whether a group's rules let a TCP port in
  from anywhere.
- ``failed_result | deployment_aws_advice(endpoint_url, region)``: what an AWS error means
  (credentials, endpoint, permissions, region) and what to do.
- ``failed_result | deployment_launch_advice(instance_type, region)``: the same for
  RunInstances errors (quotas, capacity, free tier, instance type not offered).
- ``offering | deployment_offering_problem(architecture, region)``: why an instance type cannot
  be used, from the ec2_instance_type_offering module's result.
- ``subnets | deployment_launch_subnet(zones)``: the default subnet to launch into, in a zone that
  offers the instance type.
- ``uri_result | deployment_fetch_problem``: why a URL did not answer, from a uri (HEAD) result.
- ``reply | deployment_answer(question)`` and ``answer | deployment_answer_problem(question, reply)``:
  the interactive mode's reading of an answer and its check (see tasks/interactive_ask.yml).
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import re
from urllib.parse import urlsplit

NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")
INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.[a-z0-9]+$")
KEY_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")
# Region prefixes of the partitions other than "aws" (their own ARNs, endpoints and S3 addresses).
OTHER_PARTITIONS = {"cn-": "aws-cn (China)", "us-gov-": "aws-us-gov (GovCloud)", "us-iso": "aws-iso (secret regions)"}
ERROR_CODE = re.compile(r"\(([A-Za-z][A-Za-z0-9.]+)\) when calling")


@functools.cache
def _known_regions() -> tuple[str, ...]:
    """Every region of every partition this botocore knows (offline: its endpoints file)."""
    # The loader, not a session: a session reads the AWS config, and a missing AWS_PROFILE would
    # fail it (ProfileNotFound) before the credentials step can explain that.
    try:
        import botocore.loaders
    except ImportError:
        return ()
    endpoints = botocore.loaders.create_loader().load_data("endpoints")
    return tuple(sorted(region for partition in endpoints["partitions"] for region in partition.get("regions", {})))


def _name_problem(value: str) -> str:
    if not value:
        return "it is empty"
    if len(value) < 2 or len(value) > 32:
        return f"it has {len(value)} characters; use 2-32"
    if value != value.lower():
        return "it has uppercase letters; use lowercase letters, digits and hyphens"
    if not value[0].isalpha():
        return "it must start with a letter"
    if value.endswith("-"):
        return "it must not end with a hyphen"
    if not NAME.match(value):
        return "use only lowercase letters, digits and hyphens (it names the key pair, group, bucket and alarms)"
    for prefix in BUCKET_PREFIXES:
        if value.startswith(prefix):
            return f"it starts with {prefix}, which S3 reserves, and it begins the bucket's name"
    return ""


def _region_problem(value: str) -> str:
    if not REGION.match(value):
        return "it is not an AWS region name such as us-east-1 or eu-west-1"
    for prefix, partition in OTHER_PARTITIONS.items():
        if value.startswith(prefix):
            return (
                f"it lies in the {partition} partition, whose accounts, endpoints and S3 addresses this project does "
                "not handle; use a region of the standard partition (aws), such as us-east-1"
            )
    known = _known_regions()
    if known and value not in known:
        close = difflib.get_close_matches(value, known, n=3)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        return (
            f"AWS has no region of that name.{hint} ('aws ec2 describe-regions' lists the regions; "
            "a region newer than this machine's botocore needs an upgrade of boto3 and botocore)"
        )
    return ""


def _instance_type_problem(value: str) -> str:
    if not INSTANCE_TYPE.match(value):
        return "it is not an EC2 instance type such as t3.nano or t3.micro (family and generation, a dot, the size)"
    return ""


def _key_name_problem(value: str) -> str:
    if not KEY_NAME.match(value) or value.startswith("."):
        return (
            "use 1-200 letters, digits, dots, hyphens and underscores, not starting with a dot "
            "(the private key is saved as <name>.pem)"
        )
    return ""


def _cidr_problem(value: str) -> str:
    if "/" not in value:
        return f"it has no prefix length; for one address write {value}/32"
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return "it is not an IPv4 CIDR such as 203.0.113.7/32"
    if network.version != 4:
        return "it is an IPv6 network; give the IPv4 address you connect from, such as 203.0.113.7/32"
    if network.prefixlen < 8:
        return "it opens SSH to too much of the internet; use a prefix from /8 to /32, ideally your own address /32"
    if str(network) != value:
        return f"it has bits set after the prefix; the network is {network}"
    return ""


def _bucket_problem(value: str) -> str:
    if len(value) < 3 or len(value) > 63:
        return f"it has {len(value)} characters; S3 bucket names have 3-63"
    bad = sorted({c for c in value if not re.match(r"[a-zA-Z0-9.-]", c)})
    upper = value != value.lower()
    if upper or bad:
        reasons = (["uppercase letters"] if upper else []) + (
            [f"characters S3 does not allow ({' '.join(repr(c) for c in bad)})"] if bad else []
        )
        return f"it has {' and '.join(reasons)}; use lowercase letters, digits, dots and hyphens"
    if not value[0].isalnum() or not value[-1].isalnum():
        return "it must start and end with a lowercase letter or a digit"
    if "." in value:
        return (
            "it has dots, which S3 allows but which break the image's HTTPS address "
            "(https://<bucket>.s3.<region>.amazonaws.com: the certificate covers one label); use hyphens"
        )
    for prefix in BUCKET_PREFIXES:
        if value.startswith(prefix):
            return f"the prefix {prefix} is reserved by AWS"
    for suffix in BUCKET_SUFFIXES:
        if value.endswith(suffix):
            return f"the suffix {suffix} is reserved by AWS"
    return ""


def _url_problem(value: str) -> str:
    if not value or any(c.isspace() for c in value):
        return "it is empty or has spaces; give an http:// or https:// URL of an image"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        return "it is not an http:// or https:// URL; example: https://example.com/picture.jpg"
    if not parts.hostname:
        return "it has no host name; example: https://example.com/picture.jpg"
    if "@" in parts.netloc:
        return (
            "it holds a user name or password (user:password@host), which would be published: the URL is shown "
            "on the home page, stored in the public image's metadata and logged. Give a URL that needs no "
            "credentials (copy the image somewhere public first)"
        )
    return ""


def _redacted(value: str) -> str:
    """A URL without the user name and password it may hold, for messages."""
    parts = urlsplit(value)
    if "@" not in parts.netloc:
        return value
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


CHECKS = {
    "deployment_name": _name_problem,
    "deployment_region": _region_problem,
    "deployment_instance_type": _instance_type_problem,
    "deployment_key_name": _key_name_problem,
    "deployment_ssh_cidr": _cidr_problem,
    "deployment_bucket_name": _bucket_problem,
    "deployment_image_url": _url_problem,
}


# What a failed check adds: where the value is used, an example, what an empty value means.
HINTS = {
    "deployment_name": (
        "It names and tags the key pair, security group, bucket and alarms. Example: -e deployment_name=demo"
    ),
    "deployment_region": "Set it with -e deployment_region=<region> (such as us-east-1) or AWS_DEFAULT_REGION.",
    "deployment_instance_type": "Example: -e deployment_instance_type=t3.micro",
    "deployment_key_name": 'Leave it empty for "<deployment_name>-key".',
    "deployment_ssh_cidr": (
        "Give the address you connect from, such as 203.0.113.7/32: SSH stays closed to the rest of the internet. "
        "Leave it empty on AWS to use this machine's public address."
    ),
    "deployment_bucket_name": 'Leave it empty to get "<deployment_name>-<account>-<region>".',
    "deployment_tags": """Example: -e '{"deployment_tags": {"team": "web", "cost-centre": "42"}}'""",
    "deployment_alarm_email": "Leave it empty to subscribe no address.",
}
# The tags the project sets itself, and S3's limit on an object's tags (EC2 and buckets allow 50).
OWN_TAGS = ("Deployment", "ManagedBy")
OBJECT_TAG_LIMIT = 10
# S3's tag character set (EC2's is the same): Unicode letters and digits, spaces, + - = . _ : / @
TAG_TEXT = re.compile(r"^[\w +\-=.:/@]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
# Largest object a single PutObject stores (s3_image_upload makes one call).
PUT_OBJECT_LIMIT = 5 * 1024**3
ALARM_MINUTES = (5, 1440)
# Characters that end a JSON string or act as wildcards in a bucket policy's Resource.
POLICY_BREAKERS = frozenset('\\"*?')


def _tags_problem(tags: dict) -> str:
    if len(tags) > OBJECT_TAG_LIMIT - len(OWN_TAGS):
        return (
            f"it has {len(tags)} tags; the image object carries them with the project's own {len(OWN_TAGS)} "
            f"({', '.join(OWN_TAGS)}) and S3 allows {OBJECT_TAG_LIMIT} on an object, so give at most "
            f"{OBJECT_TAG_LIMIT - len(OWN_TAGS)}"
        )
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            return f"the key {key!r} must be text of 1-128 characters"
        if key in OWN_TAGS:
            return f"the key {key} is the project's own tag (it finds the deployment by it); choose another key"
        if key.lower().startswith("aws:"):
            return f"the key {key} starts with aws:, which AWS reserves"
        if not isinstance(value, str):
            return f"the value of {key} is {type(value).__name__}, not text; put it in quotes"
        if len(value) > 256:
            return f"the value of {key} has {len(value)} characters; AWS allows 256"
        for text in (key, value):
            if not TAG_TEXT.match(text):
                bad = sorted({c for c in text if not TAG_TEXT.match(c)})
                return (
                    f"{text!r} has characters AWS does not allow in tags ({' '.join(map(repr, bad))}); "
                    "use letters, digits, spaces and + - = . _ : / @"
                )
    return ""


def _percent_problem(value: float) -> str:
    if not 0 < value < 100:
        return "a CPU percentage must lie between 0 and 100 (both excluded), or the alarm fires always or never"
    return ""


def _minutes_problem(value: int) -> str:
    low, high = ALARM_MINUTES
    if value % 5 or not low <= value <= high:
        return f"the alarm looks at 5-minute averages: give a multiple of 5 from {low} to {high} (a day), e.g. 60"
    return ""


def _email_problem(value: str) -> str:
    if value and not EMAIL.match(value):
        return "it is not an e-mail address such as ops@example.com"
    return ""


def _prefix_problem(value: str) -> str:
    if not value:
        return "it is empty, which would make the whole bucket readable by anyone; use a folder such as public/"
    if not value.endswith("/") or value.startswith("/"):
        return "it must be a folder such as public/: ending with / and not starting with one"
    bad = sorted({c for c in value if c in POLICY_BREAKERS or not c.isprintable()})
    if bad:
        return (
            f"it has characters that break the bucket policy ({' '.join(map(repr, bad))}); use letters, digits, - _ . /"
        )
    return ""


def _range_problem(low: int, high: int, unit: str):
    def problem(value: int) -> str:
        if not low <= value <= high:
            return f"give {low} to {high} {unit}"
        return ""

    return problem


RULES = {
    "deployment_tags": _tags_problem,
    "deployment_idle_cpu_threshold": _percent_problem,
    "deployment_high_cpu_threshold": _percent_problem,
    "deployment_idle_minutes": _minutes_problem,
    "deployment_high_cpu_minutes": _minutes_problem,
    "deployment_alarm_email": _email_problem,
    "deployment_public_prefix": _prefix_problem,
    "deployment_image_max_size": _range_problem(1, PUT_OBJECT_LIMIT, "bytes (5 GiB is one upload's limit)"),
    "deployment_image_timeout": _range_problem(1, 3600, "seconds"),
    "deployment_boot_timeout": _range_problem(10, 3600, "seconds"),
}
# Settings that may stay empty (a default is derived from others).
OPTIONAL = frozenset({"deployment_key_name", "deployment_ssh_cidr", "deployment_bucket_name"})


def _relations(values: dict) -> list[str]:
    """Rules between settings."""
    problems = []
    key, prefix = values.get("deployment_image_key"), values.get("deployment_public_prefix")
    if isinstance(key, str) and isinstance(prefix, str) and prefix and not (key.startswith(prefix) and key != prefix):
        problems.append(
            f"deployment_image_key={shown(key)} is not valid: it must lie under "
            f"deployment_public_prefix={shown(prefix)} "
            "(only that prefix is readable by browsers under the bucket policy)."
        )
    actions = values.get("deployment_high_cpu_actions")
    if values.get("deployment_high_cpu_alarm_enabled") and actions == []:
        problems.append(
            "deployment_high_cpu_actions=[] is not valid: give notify, reboot or both, or turn the alarm off with "
            "-e deployment_high_cpu_alarm_enabled=false."
        )
    return problems


def shown(value) -> str:
    """A value as the user would type it (JSON, non-ASCII characters as they are)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def deployment_settings_problems(values: dict) -> list[str]:
    """One sentence per setting whose (type-checked) value breaks a rule of the deployment role."""
    problems = []
    for name, value in (values or {}).items():
        if name in CHECKS:
            if name in OPTIONAL and value == "":
                continue
            problem = CHECKS[name]("" if value is None else str(value))
        elif name in RULES:
            problem = RULES[name](value)
        else:
            continue
        if problem:
            hint = f" {HINTS[name]}" if name in HINTS else ""
            value = _redacted(value) if name == "deployment_image_url" and isinstance(value, str) else value
            problems.append(f"{name}={shown(value)} is not valid: {problem}.{hint}")
    return problems + _relations(values or {})


def deployment_problem(value, setting: str) -> str:
    """Why `value` cannot be used as `setting`, as a clause ('' when it can)."""
    if setting not in CHECKS:
        raise ValueError(f"deployment_problem knows no setting {setting!r} (known: {', '.join(CHECKS)})")
    return CHECKS[setting]("" if value is None else str(value))


# What taking another deployment's resource would do, by kind of resource.
TAKEOVER = {
    "bucket": "using it would overwrite that deployment's image, and a teardown of either would delete it for both",
    "key pair": (
        "a teardown of that deployment deletes it and its private key, and this deployment's instance could "
        "no longer be reached"
    ),
    "security group": (
        "its rules would be shared by both deployments, and a teardown of that deployment would delete it "
        "(or be blocked by this deployment's instance)"
    ),
}


def _tag_dict(tags) -> dict:
    if isinstance(tags, dict):
        return tags
    return {t.get("Key", t.get("key")): t.get("Value", t.get("value")) for t in tags or [] if isinstance(t, dict)}


def deployment_tagged_for(tags, deployment_name: str, managed_by: str) -> bool:
    """Whether tags (a dict or AWS's Key/Value list; None for nothing) carry both of the deployment's:
    Deployment=<name> and ManagedBy=<the project>. What teardown may delete carries both."""
    found = _tag_dict(tags)
    return found.get("Deployment") == deployment_name and found.get("ManagedBy") == managed_by


def deployment_owner_problem(
    tags, deployment_name: str, kind: str, setting: str, value: str, default: str, derived: bool = False
) -> str:
    """Why an existing resource cannot be this deployment's ('' when it can), as a whole message.

    tags: the resource's tags (a dict or AWS's Key/Value list); None when the resource does not exist.
    A resource tagged for another deployment is refused, naming its owner. A resource with the name
    deploy derives (derived=True) must carry this deployment's tag: deploy would otherwise take it over.
    """
    if tags is None:
        return ""
    owner = _tag_dict(tags).get("Deployment") or ""
    if owner == deployment_name or not (owner or derived):
        return ""
    if owner:
        return (
            f"{setting}={shown(value)} is the {kind} of the deployment {shown(owner)} (its Deployment tag): "
            f"{TAKEOVER[kind]}. Nothing was created. Choose another, or leave {setting} empty to get {shown(default)}."
        )
    return (
        f"The {kind} {shown(value)} already exists and is not this deployment's (it has no Deployment tag): "
        f"deploy would take it over, and a teardown of {shown(deployment_name)} would delete it. Nothing was created. "
        f"Delete or rename it if it is left over, give it with -e {setting}={value} to use it as it is, "
        "or choose another deployment_name."
    )


def deployment_instance_is_current(instances: list, wanted: dict) -> bool:
    """Whether the deployment has exactly one instance, running, with the settings ec2_instance would
    apply to it (type, key pair, security group, detailed monitoring, IMDSv2 required, tags)."""
    if len(instances or []) != 1:
        return False
    instance = instances[0]
    metadata = instance.get("metadata_options") or {}
    tags = instance.get("tags") or {}
    return (
        (instance.get("state") or {}).get("name") == "running"
        and instance.get("instance_type") == wanted["instance_type"]
        and instance.get("key_name") == wanted["key_name"]
        and [g.get("group_id") for g in instance.get("security_groups") or []] == [wanted["security_group"]]
        and ((instance.get("monitoring") or {}).get("state") == "enabled") == wanted["detailed_monitoring"]
        and metadata.get("http_tokens") == "required"
        and metadata.get("http_endpoint") == "enabled"
        and all(tags.get(key) == value for key, value in wanted["tags"].items())
    )


# The bucket settings deploy gives (tasks/bucket.yml says the same to S3).
BUCKET_SETTINGS = {
    "encryption": ["AES256"],
    "object_ownership": ["BucketOwnerEnforced"],
    "public_access_block": {
        "block_public_acls": True,
        "ignore_public_acls": True,
        "block_public_policy": False,
        "restrict_public_buckets": False,
    },
}


def deployment_bucket_is_current(bucket: dict, tags: dict, policy) -> bool:
    """Whether the bucket (deployment_info's, with its settings) already has the tags, encryption,
    ownership, public access block and policy (a document, or its JSON text) deploy gives it, so
    s3_bucket need not run."""
    policy = json.loads(policy) if isinstance(policy, str) else policy
    settings = (bucket or {}).get("settings")
    if not bucket.get("exists") or not settings or bucket.get("tags") != tags:
        return False
    wanted = {**BUCKET_SETTINGS, "policy": policy}
    return all(settings.get(key) == value for key, value in wanted.items())


def deployment_alarm_specs(settings: dict) -> list[dict]:
    """The deployment's two CPU alarms, as cloudwatch_metric_alarm's options (state absent when off).

    settings: name, region, partition, instance_id, topic_arn and the deployment_idle_* and
    deployment_high_cpu_* values. Both alarms average CPUUtilization over 5-minute periods.
    """
    name, automate = settings["name"], f"arn:{settings['partition']}:automate:{settings['region']}:ec2:"
    actions = settings["high_cpu_actions"]
    notify = bool(settings["high_cpu_enabled"]) and "notify" in actions
    topic = [settings["topic_arn"]] if notify else []
    common = {
        "namespace": "AWS/EC2", "metric_name": "CPUUtilization", "statistic": "Average", "unit": "Percent",
        "period": 300, "treat_missing_data": "missing", "dimensions": {"InstanceId": settings["instance_id"]},
    }  # fmt: skip
    idle, high = settings["idle_threshold"], settings["high_cpu_threshold"]
    return [
        {
            **common,
            "name": f"{name}-idle-terminate",
            "state": "present" if settings["idle_enabled"] else "absent",
            "description": (
                f"Terminates {name}'s instance when its average CPU stays below {idle}% "
                f"for {settings['idle_minutes']} minutes."
            ),
            "comparison": "LessThanThreshold",
            "threshold": float(idle),
            "evaluation_periods": int(settings["idle_minutes"]) // 5,
            "alarm_actions": [automate + "terminate"],
            "ok_actions": [],
        },
        {
            **common,
            "name": f"{name}-high-cpu",
            "state": "present" if settings["high_cpu_enabled"] else "absent",
            "description": (
                f"{name}'s instance used more than {high}% CPU on average for {settings['high_cpu_minutes']} minutes. "
                f"Actions: {', '.join(actions)}."
            ),
            "comparison": "GreaterThanThreshold",
            "threshold": float(high),
            "evaluation_periods": int(settings["high_cpu_minutes"]) // 5,
            "alarm_actions": topic + ([automate + "reboot"] if "reboot" in actions else []),
            "ok_actions": topic,
        },
    ]


def _alarm_as_set(spec: dict) -> dict:
    """A spec in the shape DescribeAlarms answers (the keys cloudwatch_metric_alarm compares)."""
    return {
        "AlarmDescription": spec["description"], "Namespace": spec["namespace"], "MetricName": spec["metric_name"],
        "Statistic": spec["statistic"], "ComparisonOperator": spec["comparison"], "Threshold": spec["threshold"],
        "Unit": spec["unit"], "Period": spec["period"], "EvaluationPeriods": spec["evaluation_periods"],
        "TreatMissingData": spec["treat_missing_data"],
        "Dimensions": [{"Name": k, "Value": v} for k, v in spec["dimensions"].items()],
        "AlarmActions": spec["alarm_actions"], "OKActions": spec["ok_actions"], "InsufficientDataActions": [],
    }  # fmt: skip


def deployment_alarms_to_change(specs: list, found: dict) -> list:
    """The specs whose alarm AWS does not already hold as they say (found: deployment_info's alarms)."""
    changes = []
    for spec in specs:
        existing = (found or {}).get(spec["name"])
        if spec["state"] == "absent":
            if existing:
                changes.append(spec)
            continue
        wanted = _alarm_as_set(spec)
        if not existing or any(existing.get(key) != value for key, value in wanted.items()):
            changes.append(spec)
    return changes


def deployment_topic_is_current(topic: dict, wanted: bool, display_name: str, tags: dict, email: str) -> bool:
    """Whether the alarm topic (deployment_info's) is as sns_topic would leave it: absent when not
    wanted; else with its display name, tags and, when given, the e-mail subscription."""
    if not wanted:
        return not topic
    if not topic or topic.get("display_name") != display_name or topic.get("tags") != tags:
        return False
    return not email or any(
        s.get("protocol") == "email" and s.get("endpoint") == email for s in topic.get("subscriptions") or []
    )


def deployment_pins_host(known_hosts: str, host: str) -> bool:
    """Whether a known_hosts text has a key for host (as ec2_host_keys writes it, in plain text)."""
    for line in (known_hosts or "").splitlines():
        fields = line.split()
        if len(fields) >= 3 and not line.startswith("#") and host in fields[0].split(","):
            return True
    return False


# The rules deploy gives its security group (tasks/security_group.yml says the same to AWS).
SSH_RULE = "SSH from the operator only"
WEB_RULE = "The web page, from anywhere"


def deployment_group_is_current(group: dict, tags: dict, ssh_cidr: str, https: bool) -> bool:
    """Whether the deployment's security group (deployment_info's) already has exactly the rules and
    tags deploy gives it, so that amazon.aws.ec2_security_group need not run to find nothing to do."""
    if not group or group.get("tags") != tags:
        return False
    wanted = {("tcp", 22, ssh_cidr, SSH_RULE), ("tcp", 80, "0.0.0.0/0", WEB_RULE)}
    if https:
        wanted.add(("tcp", 443, "0.0.0.0/0", WEB_RULE))
    have = set()
    for permission in group.get("ip_permissions") or []:
        if permission.get("ipv6_ranges") or permission.get("prefix_list_ids") or permission.get("user_id_group_pairs"):
            return False
        if permission.get("from_port") != permission.get("to_port"):
            return False
        for block in permission.get("ip_ranges") or []:
            have.add(
                (
                    permission.get("ip_protocol"),
                    permission.get("from_port"),
                    block.get("cidr_ip"),
                    block.get("description"),
                )
            )
    egress = [
        (p.get("ip_protocol"), [r.get("cidr_ip") for r in p.get("ip_ranges") or []], bool(p.get("ipv6_ranges")))
        for p in group.get("ip_permissions_egress") or []
    ]
    return have == wanted and egress == [("-1", ["0.0.0.0/0"], False)]


def _allows(permission: dict, port: int, network: ipaddress.IPv4Network) -> bool:
    protocol = str(permission.get("ip_protocol", ""))
    if protocol not in ("tcp", "6", "-1"):
        return False
    if protocol != "-1":
        low, high = permission.get("from_port"), permission.get("to_port")
        if low is None or high is None or not int(low) <= port <= int(high):
            return False
    for item in permission.get("ip_ranges") or []:
        try:
            allowed = ipaddress.ip_network(item.get("cidr_ip", ""), strict=False)
        except ValueError:
            continue
        if allowed.version == 4 and network.subnet_of(allowed):
            return True
    return False


def deployment_missing_ports(ip_permissions, ssh_cidr: str) -> list[str]:
    """What an existing group's inbound rules lack for the deployment to work, in words.

    `ip_permissions` is a group's inbound rules as amazon.aws.ec2_security_group_info returns
    them (snake_case). Only IPv4 address ranges count; rules that name other groups do not.
    """
    anywhere = ipaddress.ip_network("0.0.0.0/0")
    wanted = [
        (22, "SSH", ipaddress.ip_network(ssh_cidr, strict=False), f"from {ssh_cidr}"),
        (80, "HTTP", anywhere, "from anywhere (0.0.0.0/0)"),
        (443, "HTTPS", anywhere, "from anywhere (0.0.0.0/0)"),
    ]
    return [
        f"TCP port {port} ({label}) {source}"
        for port, label, network, source in wanted
        if not any(_allows(p, port, network) for p in ip_permissions or [])
    ]


def deployment_allows_port(ip_permissions, port: int, cidr: str = "0.0.0.0/0") -> bool:
    """Whether a group's inbound rules (amazon.aws snake_case) let TCP `port` in from all of `cidr`."""
    network = ipaddress.ip_network(cidr, strict=False)
    return any(_allows(p, int(port), network) for p in ip_permissions or [])


PROFILE_NOT_FOUND = re.compile(r"The config profile \((.+?)\) could not be found")


def _error(result) -> tuple[str, str]:
    """(error code, message) of a failed amazon.aws task result or a plain message."""
    if isinstance(result, dict):
        msg = str(result.get("msg", ""))
        code = str((result.get("error") or {}).get("code", "") or "")
    else:
        msg, code = str(result), ""
    if not code:
        match = ERROR_CODE.search(msg)
        code = match.group(1) if match else ""
    return code, msg


def deployment_aws_advice(result, endpoint_url: str = "", region: str = "") -> str:
    """What to do about an AWS error that is not about one resource: credentials, endpoint,
    permissions, region."""
    code, msg = _error(result)
    where = f"at {endpoint_url}" if endpoint_url else f"in {region}"
    if "Unable to locate credentials" in msg or "NoCredentials" in msg or "Partial credentials" in msg:
        local = (
            " The local cloud accepts any values; the local inventory sets deployment_access_key and "
            "deployment_secret_key for it: do not set them empty."
            if endpoint_url
            else ""
        )
        return (
            "No AWS credentials were found. Configure them with 'aws configure', or set AWS_PROFILE=<profile>, "
            f"or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then run again.{local}"
        )
    profile = PROFILE_NOT_FOUND.search(msg)
    if profile:
        return (
            f"The AWS profile {profile.group(1)!r} does not exist in ~/.aws/config or ~/.aws/credentials. "
            "List the profiles with 'aws configure list-profiles', then set AWS_PROFILE (or -e deployment_profile) "
            "to one of them, or unset it to use the default credentials."
        )
    if "Passing both a profile and access tokens is not supported" in msg:
        return (
            "Both a profile (AWS_PROFILE or deployment_profile) and access keys (AWS_ACCESS_KEY_ID or "
            "deployment_access_key) are set, and they may name different accounts. Keep one: unset AWS_PROFILE "
            "and deployment_profile, or unset the access key variables."
        )
    if "Could not connect to the endpoint URL" in msg or "Connect timeout" in msg or "ConnectionClosedError" in msg:
        if endpoint_url:
            return (
                f"Nothing answers at {endpoint_url}. Is the local cloud running? Start it with 'make up' "
                "(or '.venv/bin/localcloud up'), or correct AWS_ENDPOINT_URL / deployment_endpoint_url."
            )
        return (
            f"AWS's endpoint {where} did not answer. Check this machine's internet connection and proxy "
            "settings, and that the region exists."
        )
    if code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "AuthFailure", "UnrecognizedClientException"):
        return (
            f"AWS rejected the credentials ({code}): the access key is wrong or deactivated, or the secret key "
            "does not match it. Check them with 'aws sts get-caller-identity' and configure working ones."
        )
    if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired") or "expired" in msg.lower():
        return (
            "The credentials have expired. Renew them ('aws sso login' for SSO profiles, or new temporary "
            "credentials) and run again; if the clock of this machine is wrong, correct it."
        )
    if code in ("OptInRequired", "SubscriptionRequiredException"):
        return (
            f"The account cannot use this service {where} yet ({code}): a new account may still be being "
            "verified, or the region is not enabled (AWS console, Account, AWS Regions). "
            "Wait for the verification e-mail, enable the region, or choose another with -e deployment_region=<region>."
        )
    if code in ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException") or "not authorized" in msg:
        return (
            f"The credentials lack the permissions for this ({code or 'access denied'}). Attach the project's "
            "IAM policy policy/iam-policy.json to the IAM user or role (README, Deploying to AWS), or use "
            "another profile with AWS_PROFILE=<profile>."
        )
    if code in ("BucketAlreadyExists",):
        return (
            "S3 bucket names are global across all AWS accounts and this one belongs to someone else. "
            "Choose another with -e deployment_bucket_name=<name>, or leave it empty for <name>-<account>-<region>."
        )
    return "Check the credentials, the region and the settings named in the error, then run again."


def deployment_launch_advice(result, instance_type: str, region: str) -> str:
    """One message for a failed RunInstances: what failed, why, and which setting to change."""
    code, msg = _error(result)
    detail = msg.split(" operation: ", 1)[-1] if " operation: " in msg else msg
    head = f"AWS did not launch the {instance_type} instance in {region} ({code or 'error'}: {detail.strip()})."
    change_type = f"-e deployment_instance_type=<type> (for example t3.micro instead of {instance_type})"
    if "free tier" in msg.lower() or "free-tier" in msg.lower():
        why = (
            "The account is on AWS's free plan, which launches only free-tier eligible instance types. "
            "Use one: -e deployment_instance_type=t3.micro (or t2.micro where t3 is not offered), "
            "or upgrade the account to a paid plan."
        )
    elif code in ("InstanceLimitExceeded", "VcpuLimitExceeded", "MaxSpotInstanceCountExceeded"):
        why = (
            "The account has reached its quota of running instances or vCPUs for this instance family in "
            f"{region}. Stop or terminate instances you no longer need (an older deployment: playbooks/teardown.yml), "
            f"choose a smaller type with {change_type}, deploy to another region with -e deployment_region=<region>, "
            "or ask for a higher quota (Service Quotas, Amazon EC2, Running On-Demand Standard instances)."
        )
    elif code == "InsufficientInstanceCapacity":
        why = (
            f"AWS has no spare {instance_type} capacity in that availability zone right now. Run again in a few "
            f"minutes, or choose another type with {change_type}, or another region with -e deployment_region=<region>."
        )
    elif code == "Unsupported" or "not supported in your requested Availability Zone" in msg:
        why = (
            f"{instance_type} is not offered in the availability zone of {region} that AWS picked. Choose a type "
            f"offered there with {change_type}, or another region; 'aws ec2 describe-instance-type-offerings "
            f"--location-type availability-zone --filters Name=instance-type,Values={instance_type} --region {region}' "
            "lists the zones that have it."
        )
    elif code.startswith("InvalidInstanceType") or ("instanceType" in msg and code == "InvalidParameterValue"):
        why = f"AWS does not know the instance type {instance_type} in {region}. Choose another with {change_type}."
    elif code.startswith("InvalidKeyPair"):
        why = "The key pair is missing in this region. Run again: the key pair step creates or imports it."
    elif code.startswith("InvalidGroup"):
        why = "The security group is missing. Check deployment_security_group, or leave it empty to create one."
    elif code.startswith("InvalidAMIID"):
        why = (
            "The AMI cannot be launched here. Check deployment_ami_family and deployment_architecture "
            "(an arm64 type such as t4g.nano needs deployment_architecture=arm64)."
        )
    else:
        why = deployment_aws_advice(result, "", region)
    return (
        f"{head} {why} Nothing of the instance was created; the key pair and security group may exist "
        "and are reused when you run again."
    )


def deployment_offering_problem(offering: dict, architecture: str, region: str) -> str:
    """Why an instance type cannot be used, from ec2_instance_type_offering's result ('' when it can)."""
    if not offering.get("exists"):
        return "AWS has no instance type of that name"
    if not offering.get("offered"):
        return f"no availability zone of {region} offers it"
    architectures = offering.get("architectures") or []
    if architecture not in architectures:
        return (
            f"it runs {' or '.join(architectures)}, and deployment_architecture is {architecture} "
            f"(set -e deployment_architecture={architectures[0]} with it, or choose an {architecture} type)"
        )
    return ""


def deployment_launch_subnet(subnets: list, zones: list) -> str:
    """The default subnet to launch into: the first, by zone name, whose zone offers the instance type
    (ec2_vpc_subnet_info's subnets, ec2_instance_type_offering's availability_zones); '' when none does."""
    offered = set(zones)
    usable = sorted(
        (subnet for subnet in subnets if subnet.get("availability_zone") in offered),
        key=lambda subnet: subnet["availability_zone"],
    )
    return usable[0]["subnet_id"] if usable else ""


def deployment_fetch_problem(result: dict) -> str:
    """Why a URL did not answer, from an ansible.builtin.uri result of a HEAD request ('' when it did).

    405 and 501 mean the server does not do HEAD: it answered, and a GET will work.
    """
    status = int(result.get("status", -1))
    if status in (200, 405, 501):
        return ""
    if status == -1:
        reason = re.sub(r"^Status code was -?\d+ and not \[[^]]*\]: ", "", str(result.get("msg") or "no answer"))
        return f"nothing answers there ({reason}); check the host name and port, and that this machine can reach it"
    return f"the server answered HTTP {status}; check the path, or open the URL in a browser"


NO_TERMINAL = "no terminal"


def deployment_answer(reply: dict, question: dict) -> str:
    """The answer to an interactive question: what was typed, or the default; a number picks a choice."""
    raw = str(reply.get("user_input") or "").strip() or str(question.get("default", "")).strip()
    choices = question.get("choices") or []
    if choices and raw.isdigit() and 1 <= int(raw) <= len(choices):
        return str(choices[int(raw) - 1])
    return raw


def deployment_answer_problem(answer: str, question: dict, reply: dict) -> str:
    """Why an interactive answer cannot be used ('' when it can; 'no terminal' without one)."""
    if any("stdin is not interactive" in str(w) for w in reply.get("warnings") or []):
        return NO_TERMINAL
    choices = [str(c) for c in question.get("choices") or []]
    if choices and answer not in choices:
        return f"answer with a number from 1 to {len(choices)}"
    words = question.get("answers") or []
    if words and answer.lower() not in words:
        return f"answer {' or '.join(words)}"
    if answer in (question.get("taken") or []):
        return str(question.get("taken_msg", "it is taken"))
    if question.get("check"):
        return deployment_problem(answer, question["check"])
    return ""


class FilterModule:
    """The deployment role's checks and advice."""

    def filters(self):
        return {
            "deployment_problem": deployment_problem,
            "deployment_settings_problems": deployment_settings_problems,
            "deployment_missing_ports": deployment_missing_ports,
            "deployment_owner_problem": deployment_owner_problem,
            "deployment_tagged_for": deployment_tagged_for,
            "deployment_group_is_current": deployment_group_is_current,
            "deployment_pins_host": deployment_pins_host,
            "deployment_instance_is_current": deployment_instance_is_current,
            "deployment_bucket_is_current": deployment_bucket_is_current,
            "deployment_alarm_specs": deployment_alarm_specs,
            "deployment_alarms_to_change": deployment_alarms_to_change,
            "deployment_topic_is_current": deployment_topic_is_current,
            "deployment_allows_port": deployment_allows_port,
            "deployment_aws_advice": deployment_aws_advice,
            "deployment_launch_advice": deployment_launch_advice,
            "deployment_offering_problem": deployment_offering_problem,
            "deployment_fetch_problem": deployment_fetch_problem,
            "deployment_launch_subnet": deployment_launch_subnet,
            "deployment_answer": deployment_answer,
            "deployment_answer_problem": deployment_answer_problem,
        }
