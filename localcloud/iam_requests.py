"""Which checks AWS makes for one request: the IAM action on each resource it touches, with the
request context each resource gets, and the other actions the request needs.

The resource types and condition keys come from the Service Authorization Reference
(iam_reference.py): for every row of the action's table, the resources of that type the request
names or creates, each as its ARN (in the reference's format) with its tags. A row the request
fills with nothing is checked on the ARN format's wildcard when it is required, and left out when
it is not. An action without resource types is checked on "*".

The context of a check holds the global keys (aws:RequestedRegion, aws:PrincipalArn,
aws:username...), and of the others only those the reference lists for that action and resource
type: aws:RequestTag/* and aws:TagKeys from the tags the request gives the resource;
aws:ResourceTag/* (and ec2:, elasticloadbalancing:, autoscaling:ResourceTag/*) from the tags an
existing resource holds when the request is made; and the service keys the project's policies use
(ec2:CreateAction, elasticloadbalancing:CreateAction, cloudwatch:AlarmActions, cloudwatch:namespace,
iam:AWSServiceName).

Other actions a request needs, as each service's documentation says:
- tags given to a call that creates a resource: the service's tagging action on that resource,
  with its CreateAction key (ec2:CreateTags, elasticloadbalancing:AddTags, acm:AddTagsToCertificate,
  sns:TagResource, cloudwatch:TagResource; Auto Scaling checks its group's tags with
  CreateAutoScalingGroup alone, the reference lists no tagging action for it);
- Elastic Load Balancing's EC2 reads (ELB User Guide, "API permissions for Application Load
  Balancers"): the reference does not list them, so they are written here (ELB_EC2_READS);
- Auto Scaling checks the caller's ec2:RunInstances on a group's launch template (Auto Scaling
  User Guide, "Control Amazon EC2 launch template usage in Auto Scaling");
- the first use of Auto Scaling, Elastic Load Balancing and CloudWatch's EC2 alarm actions in an
  account makes the service's service-linked role, as the caller (iam:CreateServiceLinkedRole);
- an encrypted volume RunInstances makes with a customer-managed key (the account's default EBS
  key, or one the request names) needs the caller's KMS permissions on that key through EC2
  (kms:CreateGrant, kms:GenerateDataKeyWithoutPlaintext, kms:Decrypt with kms:ViaService
  ec2.<region>.amazonaws.com: EC2 User Guide, "Permissions for IAM users" of EBS encryption).
  The AWS managed key (alias/aws/ebs) needs none: its key policy lets the account's principals
  use it through EC2.

What a request cannot tell the local cloud is said in iam.py's docstring and the README.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import iam_reference as reference
from .iam_policy import Check

# Elastic Load Balancing's EC2 calls made as the caller ("API permissions", ELB User Guide).
ELB_EC2_READS = {
    "CreateLoadBalancer": (
        "ec2:DescribeAccountAttributes",
        "ec2:DescribeAddresses",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    ),
    "CreateTargetGroup": ("ec2:DescribeInternetGateways", "ec2:DescribeVpcs"),
    "SetSecurityGroups": ("ec2:DescribeSecurityGroups",),
    "SetSubnets": ("ec2:DescribeSubnets",),
    "RegisterTargets": ("ec2:DescribeInstances", "ec2:DescribeVpcs"),
}

# The service-linked roles the project's calls can make, by the action that makes them on first use.
SERVICE_LINKED_ROLES = {
    "autoscaling:CreateAutoScalingGroup": ("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling"),
    "elasticloadbalancing:CreateLoadBalancer": (
        "elasticloadbalancing.amazonaws.com",
        "AWSServiceRoleForElasticLoadBalancing",
    ),
}
CLOUDWATCH_EC2_ACTIONS_ROLE = ("events.amazonaws.com", "AWSServiceRoleForCloudWatchEvents")

# EC2 resource ids by prefix, and the ARN path of each type.
EC2_ID_TYPES = {
    "i-": "instance",
    "sg-": "security-group",
    "vol-": "volume",
    "eni-": "network-interface",
    "subnet-": "subnet",
    "vpc-": "vpc",
    "ami-": "image",
    "lt-": "launch-template",
    "key-": "key-pair",
    "sgr-": "security-group-rule",
}


class Inventory(Protocol):
    """What the local cloud knows of an account's resources (iam.py reads them from moto)."""

    def ec2_tags(self, region: str, resource_id: str) -> dict[str, str]: ...
    def ec2_key_pair_id(self, region: str, name: str) -> str | None: ...
    def ec2_security_group_id(self, region: str, name: str, vpc_id: str | None) -> str | None: ...
    def ec2_default_vpc(self, region: str) -> str | None: ...
    def ec2_default_subnet(self, region: str) -> str | None: ...
    def ec2_launch_template(self, region: str, template_id: str, name: str) -> tuple[str, dict] | None: ...
    def ec2_default_ebs_key(self, region: str) -> str: ...
    def tags_by_arn(self, service: str, region: str, arn: str) -> dict[str, str]: ...
    def autoscaling_group(self, region: str, name: str) -> tuple[str, dict[str, str]] | None: ...
    def service_linked_role_exists(self, service_name: str) -> bool: ...


@dataclass(frozen=True)
class Request:
    action: str  # as IAM names it: "ec2:RunInstances"
    params: dict[str, Any]
    region: str
    account: str
    principal_arn: str
    s3_resource: str = ""  # S3: the ARN moto worked out (bucket or object)
    s3_objects: tuple[str, ...] = ()  # S3's DeleteObjects: the keys it deletes, each checked as AWS does


@dataclass
class Target:
    """A resource a request touches: its type in the reference, its ARN, the tags it holds (None for
    one the request creates) and the tags the request gives it."""

    resource_type: str
    arn: str
    tags: dict[str, str] | None = None
    request_tags: dict[str, str] | None = None


@dataclass
class Plan:
    targets: list[Target] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)  # keys of the action (cloudwatch:AlarmActions...)
    # (action, target, context, reason): checks beyond the action's own.
    extra: list[tuple[str, Target, dict[str, Any], str]] = field(default_factory=list)


def tagging_on_create(plan: Plan, action: str, target: Target, tags: dict[str, str], keys: dict | None = None) -> None:
    """The service's tagging action AWS also checks when a call creates `target` with `tags`."""
    made = Target(target.resource_type, target.arn, request_tags=tags)
    plan.extra.append((action, made, keys or {}, f"the tags given to the {target.resource_type} at its creation"))


def tag_list(tags: Any) -> dict[str, str]:
    """[{'Key': k, 'Value': v}] as {k: v}."""
    return {t["Key"]: t.get("Value", "") for t in tags or [] if isinstance(t, dict) and "Key" in t}


def arn(service: str, resource_type: str, region: str, account: str, **ids: str) -> str:
    """An ARN in the reference's format; an id not given is the wildcard (a resource not yet made)."""
    text = reference.arn_format(service, resource_type)
    text = text.replace("${Partition}", "aws").replace("${Region}", region).replace("${Account}", account)
    while "${" in text:
        start = text.index("${")
        end = text.index("}", start)
        text = text[:start] + ids.get(text[start + 2 : end], "*") + text[end + 1 :]
    return text


def _global_context(request: Request) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    user = request.principal_arn.rsplit("/", 1)[-1]
    return {
        "aws:requestedregion": request.region,
        "aws:principalarn": request.principal_arn,
        "aws:principalaccount": request.account,
        "aws:principaltype": "User",
        "aws:username": user,
        "aws:securetransport": "true",
        "aws:viaawsservice": "false",
        "aws:currenttime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:epochtime": str(int(now.timestamp())),
    }


def _tag_context(prefix: str, tags: dict[str, str]) -> dict[str, Any]:
    return {f"{prefix}/{key}".lower(): value for key, value in tags.items()}


def context_for(service: str, row: reference.ResourceRow, general: tuple[str, ...], target: Target, keys: dict) -> dict:
    """The context of one check: the keys the reference lists for this action and resource type."""
    listed = row.condition_keys + general
    found = reference.resource_condition_keys(service, target.resource_type) if target.resource_type else ()
    context: dict[str, Any] = {}
    if target.request_tags is not None:
        if reference.supports(listed, "aws:requesttag/x"):
            context.update(_tag_context("aws:RequestTag", target.request_tags))
        if "aws:tagkeys" in listed:
            context["aws:tagkeys"] = sorted(target.request_tags)
    if target.tags is not None:
        for prefix in ("aws", service):
            if reference.supports(listed + found, f"{prefix}:resourcetag/x"):
                context.update(_tag_context(f"{prefix}:ResourceTag", target.tags))
    for key, value in keys.items():
        if key in listed:
            context[key] = value
    return context


def checks(request: Request, inventory: Inventory) -> list[Check]:
    """Every check AWS makes for `request`, the action's own first."""
    service = request.action.split(":", 1)[0]
    if not reference.known(request.action):
        raise KeyError(f"{request.action} is not in the Service Authorization Reference")
    action = reference.action_name(request.action)
    plan = _plan(service, action.split(":", 1)[1], request, inventory)
    base = _global_context(request)
    made = _checks_of(action, plan.targets, plan.context, base, request)
    for extra_action, target, keys, reason in plan.extra:
        made += [
            Check(c.action, c.resource, c.context, reason)
            for c in _checks_of(extra_action, [target] if target else [], keys, base, request, required=False)
        ]
    return made


def _checks_of(
    action: str, targets: list[Target], keys: dict, base: dict, request: Request, required: bool = True
) -> list[Check]:
    """The checks of one action on its targets; `required`: also on the wildcard of each required
    resource type the targets leave out (a dependent check is made on its own target alone)."""
    service = action.split(":", 1)[0]
    rows = reference.rows(action)
    general = next((row.condition_keys for row in rows if not row.resource_type), ())
    typed = [row for row in rows if row.resource_type]
    made: list[Check] = []
    if not typed:
        general_row = reference.ResourceRow("", False, general, ())
        target = targets[0] if targets else Target("", "*")
        made.append(Check(action, "*", {**base, **context_for(service, general_row, (), target, keys)}))
        return made
    for row in typed:
        mine = [t for t in targets if t.resource_type == row.resource_type]
        # Types of one family (ELB's listener/app, listener/net, listener/gwy) are alternatives: the
        # reference marks each required, the request names one of them.
        family = row.resource_type.split("/", 1)[0]
        sibling = any(t.resource_type.split("/", 1)[0] == family for t in targets)
        if not mine and row.required and required and not sibling:
            mine = [Target(row.resource_type, arn(service, row.resource_type, request.region, request.account))]
        for target in mine:
            made.append(Check(action, target.arn, {**base, **context_for(service, row, general, target, keys)}))
    if not made:
        # Only optional rows and nothing named: AWS checks the action on "*" with its general keys.
        general_row = reference.ResourceRow("", False, general, ())
        target = targets[0] if targets else Target("", "*")
        made.append(Check(action, "*", {**base, **context_for(service, general_row, (), target, keys)}))
    return made


# --- per service: the resources a request names or creates ------------------------------------


def _plan(service: str, name: str, request: Request, inventory: Inventory) -> Plan:
    planner = _PLANNERS.get(service)
    plan = planner(name, request, inventory) if planner else Plan()
    role = SERVICE_LINKED_ROLES.get(f"{service}:{name}")
    if service == "cloudwatch" and name == "PutMetricAlarm":
        actions = request.params.get("AlarmActions", []) + request.params.get("OKActions", [])
        if any(a.startswith("arn:aws:automate:") for a in actions):
            role = CLOUDWATCH_EC2_ACTIONS_ROLE
    if role and not inventory.service_linked_role_exists(role[0]):
        target = Target("role", f"arn:aws:iam::{request.account}:role/aws-service-role/{role[0]}/{role[1]}")
        plan.extra.append(
            ("iam:CreateServiceLinkedRole", target, {"iam:awsservicename": role[0]}, "the service's role, made once")
        )
    return plan


def _ec2_target(request: Request, inventory: Inventory, resource_id: str, created: bool = False) -> Target | None:
    kind = next((k for prefix, k in EC2_ID_TYPES.items() if resource_id.startswith(prefix)), None)
    if kind is None:
        return None
    ids = {
        "instance": "InstanceId",
        "security-group": "SecurityGroupId",
        "volume": "VolumeId",
        "network-interface": "NetworkInterfaceId",
        "subnet": "SubnetId",
        "vpc": "VpcId",
        "image": "ImageId",
        "launch-template": "LaunchTemplateId",
        "security-group-rule": "SecurityGroupRuleId",
    }
    text = arn("ec2", kind, request.region, request.account, **{ids.get(kind, "Id"): resource_id})
    return Target(kind, text, None if created else inventory.ec2_tags(request.region, resource_id))


def _key_pair(request: Request, inventory: Inventory, name: str, created: bool = False) -> Target:
    text = arn("ec2", "key-pair", request.region, request.account, KeyPairName=name)
    key_id = None if created else inventory.ec2_key_pair_id(request.region, name)
    return Target("key-pair", text, None if created else inventory.ec2_tags(request.region, key_id or ""))


# What EC2 does with a customer-managed key as the caller, to make an encrypted volume.
KMS_FOR_EBS = ("kms:CreateGrant", "kms:GenerateDataKeyWithoutPlaintext", "kms:Decrypt")


def _volume_keys(params: dict, inventory: Inventory, region: str) -> list[str]:
    """The customer-managed keys (ARNs) the request's encrypted volumes use; [] for the AWS managed one."""
    keys = set()
    for mapping in params.get("BlockDeviceMappings", []) or []:
        ebs = mapping.get("Ebs") or {}
        if ebs.get("Encrypted"):
            keys.add(ebs.get("KmsKeyId") or inventory.ec2_default_ebs_key(region))
    return sorted(k for k in keys if k and not k.endswith(":alias/aws/ebs") and k != "alias/aws/ebs")


def _kms_through_ec2(plan: Plan, key: str, region: str, why: str) -> None:
    via = {"kms:viaservice": f"ec2.{region}.amazonaws.com", "kms:callerAccount".lower(): key.split(":")[4]}
    for action in KMS_FOR_EBS:
        keys = {**via, "kms:grantisforawsresource": "true"} if action == "kms:CreateGrant" else via
        plan.extra.append((action, Target("key", key), keys, why))


def _template(inventory: Inventory, region: str, spec: dict) -> tuple[str, dict] | None:
    """The launch template a request names (by id or name): its id and tags."""
    return inventory.ec2_launch_template(region, spec.get("LaunchTemplateId", ""), spec.get("LaunchTemplateName", ""))


def _ec2_tag_specs(params: dict) -> dict[str, dict[str, str]]:
    specs: dict[str, dict[str, str]] = {}
    for spec in params.get("TagSpecifications", []) or []:
        specs.setdefault(spec.get("ResourceType", ""), {}).update(tag_list(spec.get("Tags")))
    return specs


def _ec2(name: str, request: Request, inventory: Inventory) -> Plan:
    params, region, account = request.params, request.region, request.account
    plan = Plan()
    specs = _ec2_tag_specs(params)

    def new(kind: str, **ids: str) -> Target:
        target = Target(kind, arn("ec2", kind, region, account, **ids), request_tags=specs.get(kind, {}))
        if kind in specs:
            tagging_on_create(plan, "ec2:CreateTags", target, specs[kind], {"ec2:createaction": name})
        return target

    def existing(resource_id: str) -> None:
        target = _ec2_target(request, inventory, resource_id)
        if target:
            plan.targets.append(target)

    if name == "RunInstances":
        template = params.get("LaunchTemplate") or {}
        if template:
            found = _template(inventory, region, template)
            if found:
                template_arn = arn("ec2", "launch-template", region, account, LaunchTemplateId=found[0])
                plan.targets.append(Target("launch-template", template_arn, found[1]))
        plan.targets += [new("instance"), new("volume"), new("network-interface")]
        if params.get("ImageId"):
            existing(params["ImageId"])
        subnet = params.get("SubnetId") or next(
            (n.get("SubnetId") for n in params.get("NetworkInterfaces", []) if n.get("SubnetId")), None
        )
        existing(subnet or inventory.ec2_default_subnet(region) or "subnet-")
        groups = list(params.get("SecurityGroupIds", []))
        for interface in params.get("NetworkInterfaces", []):
            groups += interface.get("Groups", [])
        vpc = inventory.ec2_default_vpc(region)
        groups += [inventory.ec2_security_group_id(region, g, vpc) or g for g in params.get("SecurityGroups", [])]
        for group in groups or [inventory.ec2_security_group_id(region, "default", vpc) or ""]:
            existing(group)
        if params.get("KeyName"):
            plan.targets.append(_key_pair(request, inventory, params["KeyName"]))
        for key in _volume_keys(params, inventory, region):
            _kms_through_ec2(plan, key, region, "the encrypted volume RunInstances makes")
        return plan
    if name == "CreateSecurityGroup":
        plan.targets.append(new("security-group"))
        existing(params.get("VpcId") or inventory.ec2_default_vpc(region) or "vpc-")
        return plan
    if name in ("CreateKeyPair", "ImportKeyPair"):
        target = new("key-pair", KeyPairName=params.get("KeyName", ""))
        plan.targets.append(target)
        return plan
    if name == "CreateLaunchTemplate":
        plan.targets.append(new("launch-template"))
        return plan
    if name in ("CreateTags", "DeleteTags"):
        request_tags = tag_list(params.get("Tags"))
        for resource_id in params.get("Resources", []):
            target = _ec2_target(request, inventory, resource_id)
            if target:
                if name == "CreateTags":
                    target.request_tags = request_tags
                else:
                    target.request_tags = {t["Key"]: t.get("Value", "") for t in params.get("Tags", []) or []}
                plan.targets.append(target)
        return plan
    if name in ("DeleteKeyPair",) and params.get("KeyName"):
        plan.targets.append(_key_pair(request, inventory, params["KeyName"]))
        return plan
    if name in (
        "CreateLaunchTemplateVersion",
        "ModifyLaunchTemplate",
        "DeleteLaunchTemplate",
        "DeleteLaunchTemplateVersions",
    ):
        found = _template(inventory, region, params)
        template_id = found[0] if found else params.get("LaunchTemplateId", "")
        plan.targets.append(
            Target(
                "launch-template",
                arn("ec2", "launch-template", region, account, LaunchTemplateId=template_id),
                found[1] if found else {},
            )
        )
        return plan
    # Calls on existing resources: every id the request names.
    for key in ("InstanceId", "GroupId", "VolumeId", "NetworkInterfaceId", "SubnetId", "VpcId"):
        if isinstance(params.get(key), str):
            existing(params[key])
    for key in ("InstanceIds", "GroupIds", "SecurityGroupRuleIds"):
        for resource_id in params.get(key, []) or []:
            existing(resource_id)
    for spec in params.get("InstanceCreditSpecifications", []) or []:
        existing(spec.get("InstanceId", ""))
    if isinstance(params.get("GroupName"), str) and not params.get("GroupId"):
        group = inventory.ec2_security_group_id(region, params["GroupName"], inventory.ec2_default_vpc(region))
        if group:
            existing(group)
    return plan


def _elb_type(resource_arn: str) -> str:
    resource = resource_arn.split(":", 5)[-1]
    for prefix in ("loadbalancer/app/", "loadbalancer/net/", "loadbalancer/gwy/"):
        if resource.startswith(prefix):
            return prefix
    for prefix in ("listener-rule/app", "listener-rule/net", "listener/app", "listener/net", "listener/gwy"):
        if resource.startswith(prefix + "/"):
            return prefix
    return resource.split("/", 1)[0]


def _elbv2(name: str, request: Request, inventory: Inventory) -> Plan:
    params, region, account = request.params, request.region, request.account
    plan = Plan()
    tags = tag_list(params.get("Tags")) if params.get("Tags") else None

    def existing(resource_arn: str) -> Target:
        tags_now = inventory.tags_by_arn("elasticloadbalancing", region, resource_arn)
        return Target(_elb_type(resource_arn), resource_arn, tags_now)

    def created(kind: str, **ids: str) -> Target:
        target = Target(kind, arn("elasticloadbalancing", kind, region, account, **ids), request_tags=tags or {})
        if tags:
            keys = {"elasticloadbalancing:createaction": name}
            tagging_on_create(plan, "elasticloadbalancing:AddTags", target, tags, keys)
        return target

    if name == "CreateLoadBalancer":
        kinds = {"network": "loadbalancer/net/", "gateway": "loadbalancer/gwy/"}
        kind = kinds.get(params.get("Type", ""), "loadbalancer/app/")
        plan.targets.append(created(kind, LoadBalancerName=params.get("Name", "")))
    elif name == "CreateTargetGroup":
        plan.targets.append(created("targetgroup", TargetGroupName=params.get("Name", "")))
    elif name in ("CreateListener", "CreateRule"):
        parent = params.get("LoadBalancerArn") or params.get("ListenerArn", "")
        plan.targets.append(existing(parent))
        if tags:
            balancer = parent.split(":", 5)[-1].split("/")
            kind = "listener/app" if name == "CreateListener" else "listener-rule/app"
            ids = {
                "LoadBalancerName": balancer[2] if len(balancer) > 2 else "*",
                "LoadBalancerId": balancer[3] if len(balancer) > 3 else "*",
            }
            created(kind, **ids)
    else:
        for key in ("LoadBalancerArn", "TargetGroupArn", "ListenerArn", "RuleArn"):
            if params.get(key):
                plan.targets.append(existing(params[key]))
        for resource_arn in params.get("ResourceArns", []) or []:
            target = existing(resource_arn)
            if name == "AddTags":
                target.request_tags = tags or {}
            elif name == "RemoveTags":
                target.request_tags = dict.fromkeys(params.get("TagKeys", []), "")
            plan.targets.append(target)
    for read in ELB_EC2_READS.get(name, ()):
        plan.extra.append((read, None, {}, f"Elastic Load Balancing's {name} reads EC2 as the caller"))
    return plan


def _autoscaling(name: str, request: Request, inventory: Inventory) -> Plan:
    params, region, account = request.params, request.region, request.account
    plan = Plan()
    group = params.get("AutoScalingGroupName")
    if name == "CreateAutoScalingGroup":
        tags = {t["Key"]: t.get("Value", "") for t in params.get("Tags", []) or []}
        target = Target(
            "autoScalingGroup",
            arn("autoscaling", "autoScalingGroup", region, account, GroupFriendlyName=group or ""),
            request_tags=tags,
        )
        # No tagging action here: the reference lists none for CreateAutoScalingGroup's tags.
        plan.targets.append(target)
    elif name in ("CreateOrUpdateTags", "DeleteTags"):
        for tag in params.get("Tags", []) or []:
            found = inventory.autoscaling_group(region, tag.get("ResourceId", ""))
            if found:
                plan.targets.append(Target("autoScalingGroup", found[0], found[1], {tag["Key"]: tag.get("Value", "")}))
    elif group:
        found = inventory.autoscaling_group(region, group)
        if found:
            plan.targets.append(Target("autoScalingGroup", found[0], found[1]))
    template = params.get("LaunchTemplate") or {}
    if template and name in ("CreateAutoScalingGroup", "UpdateAutoScalingGroup"):
        found = _template(inventory, region, template)
        template_arn = arn("ec2", "launch-template", region, account, LaunchTemplateId=found[0] if found else "")
        plan.extra.append(
            (
                "ec2:RunInstances",
                Target("launch-template", template_arn, found[1] if found else {}),
                {},
                f"Auto Scaling's {name} checks RunInstances on its launch template",
            )
        )
    return plan


def _acm(name: str, request: Request, inventory: Inventory) -> Plan:
    params, region, account = request.params, request.region, request.account
    plan = Plan()
    tags = tag_list(params.get("Tags")) if params.get("Tags") else None
    certificate = params.get("CertificateArn")
    if name in ("ImportCertificate", "RequestCertificate") and not certificate:
        target = Target("certificate", arn("acm", "certificate", region, account), request_tags=tags or {})
        plan.targets.append(target)
        if tags:
            tagging_on_create(plan, "acm:AddTagsToCertificate", target, tags)
    elif certificate:
        target = Target("certificate", certificate, inventory.tags_by_arn("acm", region, certificate))
        if name in ("AddTagsToCertificate", "RemoveTagsFromCertificate"):
            target.request_tags = tags or {}
        plan.targets.append(target)
    return plan


def _sns(name: str, request: Request, inventory: Inventory) -> Plan:
    params, region, account = request.params, request.region, request.account
    plan = Plan()
    tags = tag_list(params.get("Tags")) if params.get("Tags") else None
    topic = params.get("TopicArn") or params.get("ResourceArn")
    if name == "CreateTopic":
        target = Target("topic", f"arn:aws:sns:{region}:{account}:{params.get('Name', '')}", request_tags=tags or {})
        plan.targets.append(target)
        if tags:
            tagging_on_create(plan, "sns:TagResource", target, tags)
    elif topic:
        target = Target("topic", topic, inventory.tags_by_arn("sns", region, topic))
        if name == "TagResource":
            target.request_tags = tags or {}
        plan.targets.append(target)
    return plan


def _cloudwatch(name: str, request: Request, inventory: Inventory) -> Plan:
    params, region, account = request.params, request.region, request.account
    plan = Plan()
    tags = tag_list(params.get("Tags")) if params.get("Tags") else None

    def alarm(alarm_name: str, made: bool = False) -> Target:
        alarm_arn = arn("cloudwatch", "alarm", region, account, AlarmName=alarm_name)
        if made:
            return Target("alarm", alarm_arn, request_tags=tags or {})
        return Target("alarm", alarm_arn, inventory.tags_by_arn("cloudwatch", region, alarm_arn))

    if name in ("PutMetricAlarm", "PutCompositeAlarm"):
        target = alarm(params.get("AlarmName", ""), made=True)
        plan.targets.append(target)
        plan.context["cloudwatch:alarmactions"] = list(params.get("AlarmActions", []) or [])
        if tags:
            tagging_on_create(plan, "cloudwatch:TagResource", target, tags)
    elif name in ("DeleteAlarms", "DescribeAlarmHistory", "SetAlarmState", "EnableAlarmActions", "DisableAlarmActions"):
        names = params.get("AlarmNames") or ([params["AlarmName"]] if params.get("AlarmName") else [])
        plan.targets += [alarm(n) for n in names]
    elif name in ("PutDashboard", "GetDashboard", "DeleteDashboards"):
        names = params.get("DashboardNames") or [params.get("DashboardName", "")]
        for dashboard in names:
            plan.targets.append(
                Target("dashboard", arn("cloudwatch", "dashboard", "", account, DashboardName=dashboard), {})
            )
    elif name == "PutMetricData":
        plan.context["cloudwatch:namespace"] = params.get("Namespace", "")
    return plan


def _iam(name: str, request: Request, inventory: Inventory) -> Plan:
    plan = Plan()
    if name == "CreateServiceLinkedRole":
        service = request.params.get("AWSServiceName", "")
        plan.context["iam:awsservicename"] = service
        plan.targets.append(Target("role", f"arn:aws:iam::{request.account}:role/aws-service-role/{service}/*"))
    return plan


def _ssm(name: str, request: Request, inventory: Inventory) -> Plan:
    plan = Plan()
    names = request.params.get("Names") or [request.params.get("Name", "")]
    for parameter in names:
        public = parameter.startswith("/aws/")
        account = "" if public else request.account
        path = parameter.lstrip("/")
        plan.targets.append(Target("parameter", f"arn:aws:ssm:{request.region}:{account}:parameter/{path}", {}))
    return plan


def _s3(name: str, request: Request, inventory: Inventory) -> Plan:
    plan = Plan()
    resource = request.s3_resource
    if request.s3_objects:
        plan.targets += [Target("object", f"{resource}/{key}", {}) for key in request.s3_objects]
    elif resource and resource != "arn:aws:s3:::*":
        kind = "object" if "/" in resource.split(":::", 1)[-1] else "bucket"
        plan.targets.append(Target(kind, resource, {}))
    return plan


_PLANNERS = {
    "ec2": _ec2,
    "elasticloadbalancing": _elbv2,
    "autoscaling": _autoscaling,
    "acm": _acm,
    "sns": _sns,
    "cloudwatch": _cloudwatch,
    "iam": _iam,
    "ssm": _ssm,
    "s3": _s3,
}
