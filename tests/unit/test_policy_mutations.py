"""The shipped policies against the calls the playbooks make, one mutation at a time.

Each creating call is built as the modules send it (botocore's parameters) and authorised by the
local cloud's evaluator (iam_requests, iam_policy) under exactly policy/iam-policy.json and
policy/iam-policy-group.json: allowed as made, refused with its tags removed. Each dependent
action removed from the policies refuses the call that needs it. The lifecycle tests in
tests/integration/test_iam.py and test_iam_group.py run the same calls for real; this shows which
statement each rests on.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from localcloud import iam_requests
from localcloud.iam_policy import Decision, evaluate

ROOT = Path(__file__).resolve().parents[2]
POLICIES = [json.loads((ROOT / f"policy/{name}").read_text()) for name in ("iam-policy.json", "iam-policy-group.json")]
ACCOUNT, REGION = "123456789012", "us-east-1"
TAGS = [{"Key": "Deployment", "Value": "demo"}, {"Key": "ManagedBy", "Value": "ansible-aws-webserver"}]
OURS = {"Deployment": "demo", "ManagedBy": "ansible-aws-webserver"}


class Inventory:
    """The account as a deployment's calls find it: its own resources tagged, the region's defaults."""

    def ec2_tags(self, region, resource_id):
        return dict(OURS) if resource_id.startswith(("sg-0ours", "lt-0ours", "i-0ours", "key-0ours")) else {}

    def ec2_key_pair_id(self, region, name):
        return "key-0ours" if name == "demo-key" else None

    def ec2_security_group_id(self, region, name, vpc_id):
        return "sg-0ours" if name == "demo-web" else None

    def ec2_default_vpc(self, region):
        return "vpc-0default"

    def ec2_default_subnet(self, region):
        return "subnet-0default"

    def ec2_launch_template(self, region, template_id, name):
        return ("lt-0ours", dict(OURS)) if name == "demo-web" or template_id == "lt-0ours" else None

    def ec2_default_ebs_key(self, region):
        return f"arn:aws:kms:{region}:{ACCOUNT}:alias/aws/ebs"

    def tags_by_arn(self, service, region, arn):
        return dict(OURS) if "aaw-demo" in arn or "certificate/ours" in arn else {}

    def autoscaling_group(self, region, name):
        arn = f"arn:aws:autoscaling:{region}:{ACCOUNT}:autoScalingGroup:1:autoScalingGroupName/{name}"
        return (arn, dict(OURS)) if name == "demo-web" else None

    def service_linked_role_exists(self, service_name):
        return False  # a fresh account: the first use makes it


BALANCER = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/aaw-demo-lb/50dc6c495c0c9188"
# The creating calls the playbooks make, each with the tags it carries (None: it carries none).
CALLS = {
    "ec2:RunInstances": {
        "ImageId": "ami-0123", "KeyName": "demo-key", "SecurityGroupIds": ["sg-0ours"], "SubnetId": "subnet-0default",
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True}}],
        "TagSpecifications": [{"ResourceType": r, "Tags": TAGS} for r in ("instance", "volume")],
    },
    "ec2:CreateSecurityGroup": {
        "GroupName": "demo-web", "VpcId": "vpc-0default",
        "TagSpecifications": [{"ResourceType": "security-group", "Tags": TAGS}],
    },
    "ec2:CreateKeyPair": {"KeyName": "demo-key", "TagSpecifications": [{"ResourceType": "key-pair", "Tags": TAGS}]},
    "ec2:CreateLaunchTemplate": {
        "LaunchTemplateName": "demo-web", "TagSpecifications": [{"ResourceType": "launch-template", "Tags": TAGS}],
    },
    "sns:CreateTopic": {"Name": "aaw-demo-alarms", "Tags": TAGS},
    "elasticloadbalancing:CreateLoadBalancer": {"Name": "aaw-demo-lb", "Tags": TAGS},
    "acm:ImportCertificate": {"Tags": TAGS},
    "autoscaling:CreateAutoScalingGroup": {
        "AutoScalingGroupName": "demo-web", "LaunchTemplate": {"LaunchTemplateName": "demo-web"},
        "Tags": [{**t, "PropagateAtLaunch": True, "ResourceId": "demo-web"} for t in TAGS],
    },
}  # fmt: skip
TAG_KEYS = {"TagSpecifications", "Tags"}


def decide(action: str, params: dict, policies: list[dict] = POLICIES) -> str:
    """'' when every check of the call is allowed, else the first refused action and resource."""
    request = iam_requests.Request(action, params, REGION, ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/deployer")
    for check in iam_requests.checks(request, Inventory()):
        if evaluate(policies, check).decision is not Decision.ALLOW:
            return f"{check.action} on {check.resource}"
    return ""


@pytest.mark.parametrize("action", sorted(CALLS))
def test_each_creating_call_is_allowed_as_made_and_refused_without_its_tags(action):
    assert decide(action, CALLS[action]) == ""
    untagged = {key: value for key, value in CALLS[action].items() if key not in TAG_KEYS}
    assert decide(action, untagged), f"{action} without its tags went through"


# Calls that need more than their own action: (the call, its parameters, the dependent action).
LOAD_BALANCER = CALLS["elasticloadbalancing:CreateLoadBalancer"]
IDLE_ALARM = {"AlarmName": "aaw-demo-idle-terminate", "AlarmActions": ["arn:aws:automate:us-east-1:ec2:terminate"]}
DEPENDENT = [
    ("ec2:RunInstances", CALLS["ec2:RunInstances"], "ec2:CreateTags"),
    ("ec2:CreateSecurityGroup", CALLS["ec2:CreateSecurityGroup"], "ec2:CreateTags"),
    ("ec2:CreateLaunchTemplate", CALLS["ec2:CreateLaunchTemplate"], "ec2:CreateTags"),
    ("sns:CreateTopic", CALLS["sns:CreateTopic"], "sns:TagResource"),
    ("elasticloadbalancing:CreateLoadBalancer", LOAD_BALANCER, "elasticloadbalancing:AddTags"),
    ("elasticloadbalancing:CreateLoadBalancer", LOAD_BALANCER, "ec2:DescribeInternetGateways"),
    ("elasticloadbalancing:CreateLoadBalancer", LOAD_BALANCER, "ec2:DescribeAccountAttributes"),
    ("elasticloadbalancing:CreateLoadBalancer", LOAD_BALANCER, "ec2:DescribeAddresses"),
    ("elasticloadbalancing:CreateLoadBalancer", LOAD_BALANCER, "iam:CreateServiceLinkedRole"),
    ("elasticloadbalancing:CreateTargetGroup", {"Name": "aaw-demo-tg", "VpcId": "vpc-0default"}, "ec2:DescribeVpcs"),
    ("acm:ImportCertificate", CALLS["acm:ImportCertificate"], "acm:AddTagsToCertificate"),
    ("autoscaling:CreateAutoScalingGroup", CALLS["autoscaling:CreateAutoScalingGroup"], "ec2:RunInstances"),
    ("autoscaling:CreateAutoScalingGroup", CALLS["autoscaling:CreateAutoScalingGroup"], "iam:CreateServiceLinkedRole"),
    ("cloudwatch:PutMetricAlarm", IDLE_ALARM, "iam:CreateServiceLinkedRole"),
    ("elasticloadbalancing:CreateListener", {"LoadBalancerArn": BALANCER}, "elasticloadbalancing:CreateListener"),
]  # fmt: skip


def without(action: str) -> list[dict]:
    """The shipped policies less one action, wherever it is granted."""
    policies = copy.deepcopy(POLICIES)
    for policy in policies:
        for statement in policy["Statement"]:
            granted = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [a for a in granted if a != action]
        policy["Statement"] = [s for s in policy["Statement"] if s["Action"]]
    return policies


@pytest.mark.parametrize(("call", "params", "dependent"), DEPENDENT, ids=[f"{c}-{d}" for c, _, d in DEPENDENT])
def test_each_dependent_action_the_policies_grant_is_needed(call, params, dependent):
    assert decide(call, params) == ""
    refused = decide(call, params, without(dependent))
    assert refused.startswith(dependent), f"without {dependent}: {refused or 'allowed'}"


def test_the_target_group_module_s_untagged_creation_is_allowed_only_under_the_project_s_name():
    """community.aws.elb_target_group creates untagged, then tags: the policy scopes it by name."""
    assert decide("elasticloadbalancing:CreateTargetGroup", {"Name": "aaw-demo-tg", "VpcId": "vpc-0default"}) == ""
    assert decide("elasticloadbalancing:CreateTargetGroup", {"Name": "team-tg", "VpcId": "vpc-0default"})


@pytest.mark.parametrize("action", ["ec2:CreateLaunchTemplateVersion", "ec2:DeleteLaunchTemplateVersions"])
def test_the_deployment_s_launch_template_changes_by_its_tags_others_are_refused(action):
    """Checked on the template's own ARN and tags (a rolled group deletes its old versions)."""
    assert decide(action, {"LaunchTemplateName": "demo-web"}) == ""
    assert decide(action, {"LaunchTemplateId": "lt-0theirs"}).startswith(action)
