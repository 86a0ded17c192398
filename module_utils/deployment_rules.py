# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rules a deployment's settings must keep, as plain sentences for a newcomer: what is wrong,
and what to do instead. One rule set for the deployment role's settings check (its input_rules
and answers filters) and the modules that take the same values (s3_image_upload's bucket name).

- ``deployment_settings_problems(values)``: every rule the role's settings break, as sentences
  (the values already hold their types: see the role's filter_plugins/settings.py).
- ``deployment_problem(value, 'deployment_bucket_name')``: why a setting's value is not usable
  ('' when it is); ``bucket_name_problem(name)`` the same for a bucket name alone.
- ``shown(value)``: a value as the user would type it, for messages.
- ``tag_dict(tags)``: AWS's tag list as a dict (here, free of boto3, so filters can use it).
- ``sha256_fingerprint(der)``: a certificate's fingerprint as the summaries print it.
- ``resource_names(name, ...)``: the names deploy gives a deployment's resources, the one place
  they are derived (the collection's resource_names filter, deployment_info's bucket).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
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
    "deployment_bucket_name": 'Leave it empty to get "aaw-<deployment_name>-<account>-<region>".',
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
# The most instances the group mode takes: a project limit, well inside AWS's default quotas.
GROUP_LIMIT = 20
ALARM_MINUTES = (1, 1440)
# CloudWatch's alarm periods: 10, 20, 30 (high resolution) or a multiple of 60 up to a day.
HIGH_RESOLUTION_PERIODS = (10, 20, 30)
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


def _period_problem(value: int, values: dict) -> str:
    if value not in HIGH_RESOLUTION_PERIODS and (value < 60 or value % 60 or value > 86400):
        return "CloudWatch takes 10, 20, 30 or a multiple of 60 seconds up to 86400 (a day)"
    if values.get("deployment_endpoint_url"):
        return ""  # the local cloud sends EC2 metrics as often as it is told
    if value < 60:
        return (
            "on AWS, EC2 sends its metrics once a minute at most (detailed monitoring), so a shorter period leaves "
            "the alarms without data; use 60 (with deployment_detailed_monitoring=true) or 300"
        )
    if value < 300 and values.get("deployment_detailed_monitoring") is False:
        return (
            "without detailed monitoring EC2 sends its metrics every 5 minutes, so most periods would have no data; "
            "use 300, or -e deployment_detailed_monitoring=true"
        )
    return ""


def _minutes_problem(value: int, values: dict) -> str:
    """Whole alarm periods in 1-1440 minutes (a day, CloudWatch's limit for periods under an hour)."""
    period = values.get("deployment_alarm_period", 300)
    if not isinstance(period, int) or _period_problem(period, {"deployment_endpoint_url": "any"}):
        period = 60  # the period's own rule says what is wrong with it
    step = max(1, period // 60)
    low, high = max(ALARM_MINUTES[0], step), ALARM_MINUTES[1]
    if value * 60 % period == 0 and low <= value <= high:
        return ""
    if period == 300:
        return f"the alarm looks at 5-minute averages: give a multiple of 5 from {low} to {high} (a day), e.g. 60"
    if step == 1:
        return f"give {low} to {high} minutes (a day)"
    return (
        f"the alarm looks at {period}-second averages (deployment_alarm_period): give a multiple of {step} "
        f"from {low} to {high} minutes (a day)"
    )


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
    "deployment_alarm_period": _period_problem,
    "deployment_alarm_email": _email_problem,
    "deployment_public_prefix": _prefix_problem,
    "deployment_image_max_size": _range_problem(1, PUT_OBJECT_LIMIT, "bytes (5 GiB is one upload's limit)"),
    "deployment_image_timeout": _range_problem(1, 3600, "seconds"),
    "deployment_boot_timeout": _range_problem(10, 3600, "seconds"),
    "deployment_teardown_timeout": _range_problem(0, 3600, "seconds"),
    "deployment_lock_wait": _range_problem(0, 3600, "seconds"),
    "deployment_teardown_lock_wait": _range_problem(0, 3600, "seconds"),
    "deployment_capacity": _range_problem(0, GROUP_LIMIT, "instances (0: one instance without a load balancer)"),
    "deployment_capacity_min": _range_problem(0, GROUP_LIMIT, "instances (0: the same as deployment_capacity)"),
    "deployment_capacity_max": _range_problem(0, GROUP_LIMIT, "instances (0: twice deployment_capacity)"),
    "deployment_health_check_grace": _range_problem(0, 7200, "seconds"),
    "deployment_group_zones": _range_problem(2, 6, "availability zones"),
}
# Rules that read other settings too (rule(value, values)).
RELATED = frozenset({"deployment_idle_minutes", "deployment_high_cpu_minutes", "deployment_alarm_period"})
# Settings that may stay empty (a default is derived from others).
OPTIONAL = frozenset({"deployment_key_name", "deployment_ssh_cidr", "deployment_bucket_name"})


def _profile_problems(values: dict) -> list[str]:
    """A named profile that does not exist, or given with access keys that would be used instead."""
    profile = values.get("deployment_profile")
    if not profile:
        return []
    if values.get("deployment_access_key"):
        return [
            f"deployment_profile={shown(profile)} is given with deployment_access_key (set with -e, or by the "
            "inventory: inventory/local sets the local cloud's keys): AWS takes its credentials from one place only. "
            "On the local cloud leave it out; on AWS (-i inventory/aws) drop deployment_access_key "
            "and deployment_secret_key to use the profile."
        ]
    try:
        import botocore.session  # pylint: disable=import-outside-toplevel - only when a profile is named
    except ImportError:
        return []
    known = botocore.session.Session().available_profiles
    if profile in known:
        return []
    return [
        f"deployment_profile={shown(profile)} is not a profile of ~/.aws/config or ~/.aws/credentials (they have "
        f"{', '.join(sorted(known)) or 'none'}). Give one of them, make it with 'aws configure --profile "
        f"{profile}' (or 'aws configure sso'), or leave deployment_profile empty for the default credentials."
    ]


def _relations(values: dict) -> list[str]:
    """Rules between settings."""
    problems = _profile_problems(values)
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
    return problems + _group_relations(values)


def group_sizes(capacity: int, minimum: int = 0, maximum: int = 0) -> dict:
    """The Auto Scaling group's sizes from the settings: a minimum of 0 means deployment_capacity,
    a maximum of 0 twice deployment_capacity (at least 2)."""
    capacity = int(capacity or 0)
    return {
        "desired": capacity,
        "min": int(minimum or 0) or capacity,
        "max": int(maximum or 0) or max(2 * capacity, 2),
    }


def _group_relations(values: dict) -> list[str]:
    """The group mode's rules (deployment_capacity above 0)."""
    capacity = values.get("deployment_capacity") or 0
    if not isinstance(capacity, int) or capacity <= 0:
        return []
    problems = []
    sizes = group_sizes(capacity, values.get("deployment_capacity_min"), values.get("deployment_capacity_max"))
    if not sizes["min"] <= sizes["desired"] <= sizes["max"]:
        problems.append(
            f"deployment_capacity={capacity} must lie between deployment_capacity_min ({sizes['min']}) and "
            f"deployment_capacity_max ({sizes['max']}): change one of the three."
        )
    if "reboot" in (values.get("deployment_high_cpu_actions") or []):
        problems.append(
            'deployment_high_cpu_actions=["reboot"] does not go with deployment_capacity: a busy group grows '
            "instead (its high-CPU alarm adds an instance). Give notify, or an empty deployment_high_cpu_actions."
        )
    if values.get("deployment_security_group"):
        problems.append(
            "deployment_security_group does not go with deployment_capacity: the group's instances need a group "
            "that lets the load balancer in, which deploy makes. Leave deployment_security_group empty."
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
        elif name in RELATED:
            problem = RULES[name](value, values)
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


def bucket_name_problem(name: str) -> str:
    """Why `name` cannot be the deployment's bucket, as a clause ('' when it can)."""
    return _bucket_problem(name)


# The prefix of the names the IAM policies scope by name (policy/*.json): the bucket, the alarm topic,
# the alarms, the dashboard, the load balancer and the target group (whose listeners AWS authorises
# by the balancer's name, and which community.aws creates untagged). "ansible-aws-webserver": no
# other tool's names start with it, where "*-alarms" or "*-<account>-*" reach AWS's own buckets
# (aws-cloudtrail-logs-<account>-...) and other teams' topics.
PROJECT_PREFIX = "aaw-"


def short_name(name: str, suffix: str, limit: int = 32) -> str:
    """'<name>-<suffix>', or when longer than `limit` (load balancers and target groups take 32
    characters) the name cut short with a hash of the whole, so different names stay different."""
    full = f"{name}-{suffix}"
    if len(full) <= limit:
        return full
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - len(suffix) - 8].rstrip('-')}-{digest}-{suffix}"


def resource_names(name, key_name="", security_group="", bucket_name="", account_id="", region=""):
    """The names of deployment `name`'s resources: a name the user set wins over the derived one.

    key_pair "<name>-key", security_group (a name or an id) and instance (its Name tag and inventory
    host) "<name>-web"; under the project's prefix, as the IAM policies scope them by name: topic
    "aaw-<name>-alarms", the alarms "aaw-<name>-idle-terminate", "-high-cpu" and "-scale-in",
    dashboard "aaw-<name>", bucket "aaw-<name>-<account>-<region>" ('' while the account is not
    known), load balancer "aaw-<name>-lb" and target group "aaw-<name>-tg" (cut to 32 characters).
    `legacy`: the names an earlier version gave them, without the prefix (teardown finds those too).
    """
    scoped = f"{PROJECT_PREFIX}{name}"
    alarms = {"idle": f"{scoped}-idle-terminate", "high_cpu": f"{scoped}-high-cpu", "scale_in": f"{scoped}-scale-in"}
    derived_bucket = f"{scoped}-{account_id}-{region}" if account_id and region else ""
    return {
        "key_pair": key_name or f"{name}-key",
        "security_group": security_group or f"{name}-web",
        "derived_security_group": f"{name}-web",
        "instance": f"{name}-web",
        "topic": f"{scoped}-alarms",
        "alarms": alarms,
        "alarm_list": [alarms["idle"], alarms["high_cpu"], alarms["scale_in"]],
        # The group mode (deployment_capacity above 0): the Auto Scaling group and its launch template
        # carry the instance's name; the load balancer's and target group's names fit AWS's 32 characters.
        "group": f"{name}-web",
        "launch_template": f"{name}-web",
        "balancer": short_name(scoped, "lb"),
        "target_group": short_name(scoped, "tg"),
        "balancer_security_group": f"{name}-lb",
        # The load balancer's self-signed HTTPS certificate in ACM (its Name tag).
        "certificate": f"{name}-https",
        "policies": {"out": f"{name}-scale-out", "in": f"{name}-scale-in"},
        "dashboard": scoped,
        "bucket": bucket_name or derived_bucket,
        "derived_bucket": derived_bucket,
        "derived_key_pair": f"{name}-key",
        "legacy": {
            "topic": f"{name}-alarms",
            "alarm_list": [f"{name}-idle-terminate", f"{name}-high-cpu", f"{name}-scale-in"],
            "dashboard": name,
            "bucket": f"{name}-{account_id}-{region}" if account_id and region else "",
            "balancer": short_name(name, "lb"),
            "target_group": short_name(name, "tg"),
        },
    }


def tag_dict(tags):
    """AWS's [{'Key': k, 'Value': v}] (any letter case) as {k: v}; a dict stays as it is."""
    if isinstance(tags, dict):
        return dict(tags)
    return {t.get("Key", t.get("key")): t.get("Value", t.get("value", "")) for t in tags or []}


def sha256_fingerprint(der: bytes) -> str:
    """A DER certificate's SHA-256 fingerprint, colon-separated lower-case hex, as community.crypto's
    x509_certificate_info writes it (what the summaries print and the checks compare)."""
    digest = hashlib.sha256(der).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
