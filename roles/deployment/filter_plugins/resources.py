# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the deployment's AWS resources look like compared with what deploy would make of them, and
whose they are (tasks/discover.yml, key_pair.yml, security_group.yml, bucket.yml, alarm.yml).

- ``tags | deployment_tagged_for(name, managed_by)``, ``tags | deployment_owner_problem(...)``:
  whether a resource is the deployment's, and why one cannot be taken over.
- ``instances | deployment_instance_is_current(wanted)``, ``bucket | deployment_bucket_is_current(...)``,
  ``group | deployment_group_is_current(...)``, ``topic | deployment_topic_is_current(...)``: whether
  the ensure-task may be skipped; ``group | deployment_scaling_group_is_current(wanted)``: whether check
  mode may call the Auto Scaling group unchanged.
- ``settings | deployment_alarm_specs``, ``specs | deployment_alarms_to_change(found)``: the alarms as
  data, and those that differ.
- ``ip_permissions | deployment_missing_ports(ssh_cidr)``, ``ip_permissions | deployment_allows_port(port)``:
  what an existing security group lets in.
- ``known_hosts | deployment_pins_host(host)``, ``subnets | deployment_launch_subnet(zones)``.
- ``key_pairs | deployment_key_users(instances)``: what still needs the private keys (make clean-keys).
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_rules import (
    group_sizes,
    resource_names,
    shown,
    tag_dict,
)

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


def deployment_tagged_for(tags, deployment_name: str, managed_by: str) -> bool:
    """Whether tags (a dict or AWS's Key/Value list; None for nothing) carry both of the deployment's:
    Deployment=<name> and ManagedBy=<the project>. What teardown may delete carries both."""
    found = tag_dict(tags)
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
    owner = tag_dict(tags).get("Deployment") or ""
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
    apply to it (type, key pair, security group, IMDSv2 required, tags). Detailed monitoring is not
    among them: ec2_instance sets it only at launch (ec2_detailed_monitoring changes it after)."""
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
    """The deployment's CPU alarms, as cloudwatch_metric_alarm's options (state absent when off).

    settings: name, region, partition, instance_id, topic_arn, period (deployment_alarm_period,
    seconds; 300 when not given) and the deployment_idle_* and deployment_high_cpu_* values. Every
    alarm averages CPUUtilization over periods of that length, as many as the minutes hold.
    One instance: the idle alarm terminates it, the high-CPU alarm notifies and/or reboots.
    The group mode (settings group, scale_out_arn, scale_in_arn): both watch the group's average
    CPU (AutoScalingGroupName); the scale-in alarm replaces the idle one and removes an instance
    down to the minimum, the high-CPU alarm adds one (and notifies).
    """
    period = int(settings.get("period", 300))
    names = resource_names(settings["name"])["alarms"]
    name, automate = settings["name"], f"arn:{settings['partition']}:automate:{settings['region']}:ec2:"
    group = settings.get("group") or ""
    actions = settings["high_cpu_actions"]
    notify = bool(settings["high_cpu_enabled"]) and "notify" in actions
    topic = [settings["topic_arn"]] if notify else []
    dimensions = {"AutoScalingGroupName": group} if group else {"InstanceId": settings["instance_id"]}
    common = {
        "namespace": "AWS/EC2", "metric_name": "CPUUtilization", "statistic": "Average", "unit": "Percent",
        "period": period, "treat_missing_data": "missing", "dimensions": dimensions,
    }  # fmt: skip
    idle, high = settings["idle_threshold"], settings["high_cpu_threshold"]
    idle_spec = {
        **common,
        "comparison": "LessThanThreshold",
        "threshold": float(idle),
        "evaluation_periods": int(settings["idle_minutes"]) * 60 // period,
        "ok_actions": [],
    }
    who = f"{name}'s group" if group else f"{name}'s instance"
    if group:
        high_actions = [*topic, settings["scale_out_arn"]]
        high_effect = f"Adds an instance{' and notifies' if notify else ''}."
    else:
        high_actions = topic + ([automate + "reboot"] if "reboot" in actions else [])
        high_effect = f"Actions: {', '.join(actions)}."
    return [
        {
            **idle_spec,
            "name": names["idle"],
            "state": "present" if settings["idle_enabled"] and not group else "absent",
            "description": (
                f"Terminates {name}'s instance when its average CPU stays below {idle}% "
                f"for {settings['idle_minutes']} minutes."
            ),
            "alarm_actions": [automate + "terminate"],
        },
        {
            **common,
            "name": names["high_cpu"],
            "state": "present" if settings["high_cpu_enabled"] else "absent",
            "description": (
                f"{who} used more than {high}% CPU on average for {settings['high_cpu_minutes']} minutes. {high_effect}"
            ),
            "comparison": "GreaterThanThreshold",
            "threshold": float(high),
            "evaluation_periods": int(settings["high_cpu_minutes"]) * 60 // period,
            "alarm_actions": high_actions,
            "ok_actions": topic,
        },
        {
            **idle_spec,
            "name": names["scale_in"],
            "state": "present" if settings["idle_enabled"] and group else "absent",
            "description": (
                f"Removes an instance from {name}'s group, down to its minimum, when the group's average CPU stays "
                f"below {idle}% for {settings['idle_minutes']} minutes."
            ),
            "alarm_actions": [settings.get("scale_in_arn") or ""] if group else [],
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
    """Whether the alarm topic (deployment_info's) is as sns_alarm_topic would leave it: absent when not
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


def deployment_launch_subnet(subnets: list, zones: list) -> str:
    """The default subnet to launch into: the first, by zone name, whose zone offers the instance type
    (ec2_vpc_subnet_info's subnets, ec2_instance_type_offering's availability_zones); '' when none does."""
    offered = set(zones)
    usable = sorted(
        (subnet for subnet in subnets if subnet.get("availability_zone") in offered),
        key=lambda subnet: subnet["availability_zone"],
    )
    return usable[0]["subnet_id"] if usable else ""


def deployment_owned(resources, name: str, managed_by: str):
    """Of a list of resources, or a dict of them by kind (deployment_info's), those that exist and
    carry both of the deployment's tags (Deployment=name, ManagedBy=managed_by)."""

    def ours(resource) -> bool:
        return bool(resource) and deployment_tagged_for(resource.get("tags") or {}, name, managed_by)

    if isinstance(resources, dict):
        return {kind: resource for kind, resource in resources.items() if ours(resource)}
    return [resource for resource in resources or [] if ours(resource)]


def deployment_page_instance(content: str) -> str:
    """The instance id a home page shows in its metadata table ('' when none)."""
    found = re.search(r"Instance ID</th>\s*<td>(i-[0-9a-f]+)</td>", content or "")
    return found.group(1) if found else ""


def deployment_group_sizes(capacity, minimum=0, maximum=0) -> dict:
    """The Auto Scaling group's desired, min and max sizes from the deployment_capacity* settings."""
    return group_sizes(int(capacity or 0), int(minimum or 0), int(maximum or 0))


def deployment_scaling_group_is_current(group: dict, wanted: dict) -> bool:
    """Whether the Auto Scaling group (deployment_info's scaling.group) already is as deploy sets it:
    `wanted` holds min_size, max_size, desired_capacity, subnets, target_group_arns, health_check_type,
    health_check_grace, default_cooldown, launch_template (name, version) and tags. Check mode asks,
    because amazon.aws.autoscaling_group reports every existing group as changed there."""
    if not group or not group.get("tags_propagated") or not group.get("metrics_enabled"):
        return False
    have = {key: group.get(key) for key in wanted}
    want = dict(wanted)
    for key in ("subnets", "target_group_arns"):
        have[key], want[key] = sorted(have[key] or []), sorted(want[key] or [])
    for key in ("min_size", "max_size", "desired_capacity", "health_check_grace", "default_cooldown"):
        want[key] = int(want[key])
    return have == want


def deployment_group_tags(tags: dict) -> list[dict]:
    """Tags as autoscaling_group takes them, each propagated to the instances the group launches."""
    return [{key: value, "propagate_at_launch": True} for key, value in sorted((tags or {}).items())]


def deployment_mode_problem(instances: list, capacity: int, name: str, region: str) -> str:
    """Why this run cannot go on: the deployment's instances (deployment_info's) are in the other mode
    than deployment_capacity asks for; '' when they are not, or there are none."""
    grouped = [i for i in instances or [] if "aws:autoscaling:groupName" in (i.get("tags") or {})]
    single = [i for i in instances or [] if i not in grouped]
    teardown = f"ansible-playbook playbooks/teardown.yml -e deployment_name={name} -e deployment_region={region}"
    if int(capacity or 0) > 0 and single:
        return (
            f"Deployment {name} runs one instance ({single[0].get('instance_id')}), without a load balancer: it cannot "
            f"become a group in place. Deploy it again without deployment_capacity, or tear it down first ({teardown}) "
            "and deploy it with deployment_capacity."
        )
    if int(capacity or 0) == 0 and grouped:
        return (
            f"Deployment {name} is an Auto Scaling group behind a load balancer ({len(grouped)} instance(s)): give its "
            f"size again with -e deployment_capacity=<n>, or tear it down first ({teardown}) to deploy one instance."
        )
    return ""


def deployment_group_subnets(subnets: list, zones: list, count: int = 0) -> list[str]:
    """The default subnets the Auto Scaling group and its balancer span: one in each zone that offers
    the instance type (deployment_info's subnets and instance_type.availability_zones), by zone
    name, the first `count` of them (0: all)."""
    offered = set(zones)
    usable = sorted((s for s in subnets if s.get("availability_zone") in offered), key=lambda s: s["availability_zone"])
    chosen = [s["subnet_id"] for s in usable]
    return chosen[: int(count)] if int(count or 0) > 0 else chosen


# AWS's recommended security policy for HTTPS listeners (TLS 1.3 and 1.2, forward secrecy).
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def deployment_balancer_listeners(target_group_arn: str, certificate_arn: str = "") -> list[dict]:
    """The load balancer's listeners (elb_application_lb's listeners): HTTP on port 80 and, with a
    certificate, HTTPS on port 443, each forwarding to the target group."""
    forward = [{"Type": "forward", "TargetGroupArn": target_group_arn}]
    listeners = [{"Protocol": "HTTP", "Port": 80, "DefaultActions": forward}]
    if certificate_arn:
        listeners.append({
            "Protocol": "HTTPS", "Port": 443, "SslPolicy": TLS_POLICY,
            "Certificates": [{"CertificateArn": certificate_arn}], "DefaultActions": forward,
        })  # fmt: skip
    return listeners


def deployment_newest_certificate(certificates: list) -> str:
    """The ARN of the certificate valid longest (deployment_info's scaling.certificates); '' for none."""
    dated = sorted(certificates or [], key=lambda c: c.get("not_after") or "")
    return dated[-1]["arn"] if dated else ""


def deployment_key_users(key_pairs: list, instances: list) -> list[str]:
    """What still needs the private keys make clean-keys would delete: each key pair and each
    instance launched with one (ec2_key_info's keypairs, ec2_instance_info's instances), with the
    deployment named by its Deployment tag, such as "key pair demo-key (deployment demo)"."""

    def label(kind: str, name: str, tags) -> str:
        owner = tag_dict(tags).get("Deployment")
        return f"{kind} {name}" + (f" (deployment {owner})" if owner else "")

    return [label("key pair", pair.get("key_name"), pair.get("tags")) for pair in key_pairs or []] + [
        label("instance", instance.get("instance_id"), instance.get("tags")) for instance in instances or []
    ]


class FilterModule:
    def filters(self):
        return {
            "deployment_tagged_for": deployment_tagged_for,
            "deployment_owner_problem": deployment_owner_problem,
            "deployment_instance_is_current": deployment_instance_is_current,
            "deployment_bucket_is_current": deployment_bucket_is_current,
            "deployment_alarm_specs": deployment_alarm_specs,
            "deployment_alarms_to_change": deployment_alarms_to_change,
            "deployment_topic_is_current": deployment_topic_is_current,
            "deployment_pins_host": deployment_pins_host,
            "deployment_group_is_current": deployment_group_is_current,
            "deployment_missing_ports": deployment_missing_ports,
            "deployment_allows_port": deployment_allows_port,
            "deployment_launch_subnet": deployment_launch_subnet,
            "deployment_group_subnets": deployment_group_subnets,
            "deployment_mode_problem": deployment_mode_problem,
            "deployment_group_sizes": deployment_group_sizes,
            "deployment_page_instance": deployment_page_instance,
            "deployment_owned": deployment_owned,
            "deployment_group_tags": deployment_group_tags,
            "deployment_scaling_group_is_current": deployment_scaling_group_is_current,
            "deployment_key_users": deployment_key_users,
            "deployment_balancer_listeners": deployment_balancer_listeners,
            "deployment_newest_certificate": deployment_newest_certificate,
        }
