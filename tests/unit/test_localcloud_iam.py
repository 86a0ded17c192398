"""The local cloud's IAM evaluation (localcloud/iam_policy.py, iam_requests.py, iam.py).

Two layers: the policy evaluator on checks written by hand (operators, sets, IfExists, Deny over
Allow, wildcards), and whole requests against moto in this process with enforcement on, each with
a policy written for the test: the request's checks are built from the Service Authorization
Reference and the resources' tags at the time of the call.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto import settings as moto_settings

from localcloud import config, iam, iam_requests
from localcloud.iam_policy import Check, Decision, condition_holds, evaluate, iam_match

ALLOW_TAGGED = {"StringEquals": {"aws:RequestTag/ManagedBy": "web"}}
REPO = Path(__file__).resolve().parents[2]


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", condition=None, effect="Allow", sid="") -> dict:
    statement = {"Sid": sid, "Effect": effect, "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


# --- the evaluator ---------------------------------------------------------------------------


def test_iam_wildcards_are_not_regular_expressions():
    assert iam_match("arn:aws:sns:*:*:*-alarms", "arn:aws:sns:eu-west-1:123456789012:web-alarms")
    assert not iam_match("arn:aws:s3:::a.b", "arn:aws:s3:::axb")
    assert iam_match("arn:aws:s3:::web-????", "arn:aws:s3:::web-1234")
    assert not iam_match("arn:aws:s3:::web-????", "arn:aws:s3:::web-12345")
    assert not iam_match("arn:aws:s3:::web-*", "arn:aws:s3:::Web-1")  # resources are case-sensitive


def test_actions_match_without_regard_to_case_and_with_wildcards():
    check = Check("s3:GetBucketTagging", "*")
    assert evaluate([policy(allow("S3:get?ucket*"))], check).decision is Decision.ALLOW
    assert evaluate([policy(allow("s3:Put*"))], check).decision is Decision.IMPLICIT_DENY


def test_a_request_tag_condition_allows_with_the_tag_and_denies_without():
    document = policy(allow("ec2:CreateSecurityGroup", condition=ALLOW_TAGGED))
    tagged = Check("ec2:CreateSecurityGroup", "arn:x", {"aws:requesttag/managedby": "web"})
    assert evaluate([document], tagged).decision is Decision.ALLOW
    assert evaluate([document], Check("ec2:CreateSecurityGroup", "arn:x", {})).decision is Decision.IMPLICIT_DENY
    other = Check("ec2:CreateSecurityGroup", "arn:x", {"aws:requesttag/managedby": "other"})
    assert evaluate([document], other).decision is Decision.IMPLICIT_DENY


def test_an_explicit_deny_wins_over_any_allow():
    document = policy(
        allow("ec2:*", sid="Everything"),
        allow("ec2:TerminateInstances", "arn:aws:ec2:*:*:instance/i-prod*", effect="Deny", sid="NotProduction"),
    )
    assert (
        evaluate([document], Check("ec2:TerminateInstances", "arn:aws:ec2:r:1:instance/i-1")).decision is Decision.ALLOW
    )
    denied = evaluate(
        [document, policy(allow("*"))], Check("ec2:TerminateInstances", "arn:aws:ec2:r:1:instance/i-prod1")
    )
    assert denied.decision is Decision.EXPLICIT_DENY
    assert denied.statement == "NotProduction"


@pytest.mark.parametrize(
    ("operator", "context", "holds"),
    [
        ("StringEqualsIfExists", {}, True),
        ("StringEqualsIfExists", {"aws:requesttag/team": "web"}, True),
        ("StringEqualsIfExists", {"aws:requesttag/team": "db"}, False),
        ("StringEquals", {}, False),
        ("StringNotEquals", {}, True),  # a negated operator holds for a missing key
        ("StringNotEquals", {"aws:requesttag/team": "web"}, False),
        ("ForAnyValue:StringEquals", {}, False),
    ],
)
def test_if_exists_and_missing_keys(operator, context, holds):
    assert condition_holds(operator, "aws:RequestTag/team", "web", context) is holds


@pytest.mark.parametrize(
    ("keys", "holds"),
    [
        (["ManagedBy", "Deployment"], True),
        (["ManagedBy"], True),
        (["ManagedBy", "Owner"], False),  # a key the policy does not list
        ([], True),  # ForAllValues holds for an empty set
        (None, True),  # and for a missing key
    ],
)
def test_for_all_values_on_tag_keys(keys, holds):
    context = {} if keys is None else {"aws:tagkeys": keys}
    assert condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["ManagedBy", "Deployment"], context) is holds


def test_for_any_value_null_bool_arn_and_numbers():
    assert condition_holds("ForAnyValue:StringLike", "aws:TagKeys", "Manag*", {"aws:tagkeys": ["x", "ManagedBy"]})
    assert not condition_holds("ForAnyValue:StringLike", "aws:TagKeys", "Manag*", {"aws:tagkeys": ["x"]})
    assert condition_holds("Null", "aws:RequestTag/x", "true", {})
    assert not condition_holds("Null", "aws:RequestTag/x", "true", {"aws:requesttag/x": "1"})
    assert condition_holds("Bool", "aws:SecureTransport", True, {"aws:securetransport": "true"})
    arns = {"cloudwatch:alarmactions": ["arn:aws:automate:eu-west-1:ec2:terminate"]}
    assert condition_holds("ForAllValues:ArnLike", "cloudwatch:AlarmActions", "arn:aws:automate:*:ec2:*", arns)
    sns = {"cloudwatch:alarmactions": ["arn:aws:sns:eu-west-1:1:other"]}
    assert not condition_holds("ForAllValues:ArnLike", "cloudwatch:AlarmActions", "arn:aws:automate:*:ec2:*", sns)
    assert condition_holds("NumericLessThanEquals", "ec2:VolumeSize", "8", {"ec2:volumesize": "8"})
    assert condition_holds("StringEquals", "aws:username", "${aws:username}", {"aws:username": "dev"})
    with pytest.raises(ValueError, match="unknown condition operator"):
        condition_holds("StringIsh", "aws:username", "x", {"aws:username": "x"})


def test_resource_policy_variables_are_filled_from_the_context():
    document = policy(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"))
    mine = Check("s3:GetObject", "arn:aws:s3:::home/dev/a", {"aws:username": "dev"})
    assert evaluate([document], mine).decision is Decision.ALLOW
    theirs = Check("s3:GetObject", "arn:aws:s3:::home/ops/a", {"aws:username": "dev"})
    assert evaluate([document], theirs).decision is Decision.IMPLICIT_DENY


# --- whole requests against moto with enforcement on -------------------------------------------


class Cloud:
    """moto in this process, IAM enforced, with an administrator for set-up and users made per test."""

    def __init__(self) -> None:
        self.admin_keys = self._user(config.ADMIN_USER, policy(allow("*")))

    def _user(self, name: str, document: dict) -> dict:
        admin = boto3.client("iam", region_name="us-east-1")
        admin.create_user(UserName=name)
        admin.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(document))
        return admin.create_access_key(UserName=name)["AccessKey"]

    def user(self, name: str, *statements: dict) -> dict:
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
        try:
            return self._user(name, policy(*statements))
        finally:
            moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0

    @staticmethod
    def client(service: str, keys: dict):
        return boto3.client(
            service,
            region_name="us-east-1",
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
        )

    def admin(self, service: str):
        return self.client(service, self.admin_keys)


@pytest.fixture
def cloud(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    iam._install_s3_action_names()
    iam._install_bucket_policy_statements()
    iam._install_policy_evaluation()
    with mock_aws():
        made = Cloud()
        monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
        yield made


TAGS = [{"Key": "ManagedBy", "Value": "web"}]


def test_resource_tags_are_read_when_the_call_is_made(cloud):
    """aws:ResourceTag follows the security group's tags: retag it and the answer changes."""
    admin = cloud.admin("ec2")
    group = admin.create_security_group(GroupName="g", Description="g")["GroupId"]
    keys = cloud.user(
        "u", allow("ec2:DeleteSecurityGroup", condition={"StringEquals": {"aws:ResourceTag/ManagedBy": "web"}})
    )
    ec2 = cloud.client("ec2", keys)
    with pytest.raises(
        ClientError, match=rf"ec2:DeleteSecurityGroup on resource: arn:aws:ec2:us-east-1:\d+:security-group/{group}"
    ):
        ec2.delete_security_group(GroupId=group)
    admin.create_tags(Resources=[group], Tags=TAGS)
    ec2.delete_security_group(GroupId=group)


def test_creation_is_checked_on_every_resource_type_the_reference_lists(cloud):
    """RunInstances: the instance and volume carry the request's tags, the image, subnet, group and
    key pair are existing resources; a statement for the instance alone is not enough."""
    admin = cloud.admin("ec2")
    image = admin.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    admin.create_key_pair(KeyName="k")
    only_instances = allow("ec2:RunInstances", "arn:aws:ec2:*:*:instance/*", ALLOW_TAGGED)
    tagging = allow("ec2:CreateTags", condition={"StringEquals": {"ec2:CreateAction": "RunInstances"}})
    run = {
        "ImageId": image, "MinCount": 1, "MaxCount": 1, "KeyName": "k", "InstanceType": "t3.nano",
        "TagSpecifications": [{"ResourceType": r, "Tags": TAGS} for r in ("instance", "volume")],
    }  # fmt: skip
    rest = allow(
        "ec2:RunInstances",
        ["arn:aws:ec2:*::image/*", "arn:aws:ec2:*:*:subnet/*", "arn:aws:ec2:*:*:network-interface/*",
         "arn:aws:ec2:*:*:security-group/*", "arn:aws:ec2:*:*:key-pair/*"],
    )  # fmt: skip
    ec2 = cloud.client("ec2", cloud.user("narrow", only_instances, rest, tagging))
    with pytest.raises(ClientError, match=r"ec2:RunInstances on resource: arn:aws:ec2:us-east-1:\d+:volume/\*"):
        ec2.run_instances(**run)
    volumes = allow("ec2:RunInstances", "arn:aws:ec2:*:*:volume/*", ALLOW_TAGGED)
    ec2 = cloud.client("ec2", cloud.user("whole", only_instances, volumes, rest, tagging))
    ec2.run_instances(**run)
    untagged = {**run, "TagSpecifications": [{"ResourceType": "volume", "Tags": TAGS}]}
    with pytest.raises(ClientError, match=r"ec2:RunInstances on resource: arn:aws:ec2:us-east-1:\d+:instance/\*"):
        ec2.run_instances(**untagged)
    no_tagging = cloud.client("ec2", cloud.user("notag", only_instances, volumes, rest))
    with pytest.raises(
        ClientError, match=r"ec2:CreateTags on resource: .*instance/\* \(the tags given to the instance at its creation"
    ):
        no_tagging.run_instances(**run)


def test_tags_at_creation_need_the_tagging_action_with_its_create_action(cloud):
    admin = cloud.admin("elbv2")
    vpc = cloud.admin("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    create = allow("elasticloadbalancing:CreateTargetGroup", condition=ALLOW_TAGGED)
    reads = allow(["ec2:DescribeVpcs", "ec2:DescribeInternetGateways"])
    add_tags_on_create = allow(
        "elasticloadbalancing:AddTags",
        condition={"StringEquals": {"elasticloadbalancing:CreateAction": "CreateTargetGroup"}},
    )
    elb = cloud.client("elbv2", cloud.user("u", create, reads, add_tags_on_create))
    target = {"Protocol": "HTTP", "Port": 80, "VpcId": vpc}
    with pytest.raises(
        ClientError, match=r"elasticloadbalancing:CreateTargetGroup on resource: .*targetgroup/plain/\*"
    ):
        elb.create_target_group(Name="plain", **target)  # untagged, as community.aws.elb_target_group creates
    arn = elb.create_target_group(Name="tagged", Tags=TAGS, **target)["TargetGroups"][0]["TargetGroupArn"]
    other = admin.create_target_group(Name="theirs", **target)["TargetGroups"][0]["TargetGroupArn"]
    with pytest.raises(ClientError, match=r"elasticloadbalancing:AddTags on resource: .*targetgroup/theirs/"):
        elb.add_tags(ResourceArns=[other], Tags=TAGS)  # CreateAction holds only while creating
    assert arn.split(":")[5].startswith("targetgroup/tagged/")


def test_elb_reads_ec2_as_the_caller(cloud):
    vpc = cloud.admin("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    elb = cloud.client("elbv2", cloud.user("u", allow("elasticloadbalancing:CreateTargetGroup")))
    with pytest.raises(
        ClientError, match=r"ec2:Describe\w+ on resource: \* \(Elastic Load Balancing's CreateTargetGroup"
    ):
        elb.create_target_group(Name="t", Protocol="HTTP", Port=80, VpcId=vpc)


def test_the_first_auto_scaling_group_makes_the_service_linked_role_as_the_caller(cloud):
    admin_ec2 = cloud.admin("ec2")
    image = admin_ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    admin_ec2.create_launch_template(
        LaunchTemplateName="web-lt",
        LaunchTemplateData={"ImageId": image, "InstanceType": "t3.nano"},
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": TAGS}],
    )
    zone = admin_ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    group = {"AutoScalingGroupName": "g", "MinSize": 0, "MaxSize": 1, "AvailabilityZones": [zone],
             "LaunchTemplate": {"LaunchTemplateName": "web-lt"}}  # fmt: skip
    create = allow("autoscaling:CreateAutoScalingGroup")
    run = allow(
        "ec2:RunInstances", "arn:aws:ec2:*:*:launch-template/*", {"StringEquals": {"aws:ResourceTag/ManagedBy": "web"}}
    )
    role = allow(
        "iam:CreateServiceLinkedRole",
        "arn:aws:iam::*:role/aws-service-role/autoscaling.amazonaws.com/*",
        {"StringEquals": {"iam:AWSServiceName": "autoscaling.amazonaws.com"}},
    )
    without_role = cloud.client("autoscaling", cloud.user("a", create, run))
    with pytest.raises(ClientError, match=r"iam:CreateServiceLinkedRole on resource: .*AWSServiceRoleForAutoScaling"):
        without_role.create_auto_scaling_group(**group)
    without_template = cloud.client("autoscaling", cloud.user("b", create, role))
    with pytest.raises(ClientError, match=r"ec2:RunInstances on resource: .*launch-template/lt-\w+ \(Auto Scaling"):
        without_template.create_auto_scaling_group(**group)
    cloud.client("autoscaling", cloud.user("c", create, run, role)).create_auto_scaling_group(**group)
    # The role exists now: the next group needs no iam permission.
    cloud.client("autoscaling", cloud.user("d", create, run)).create_auto_scaling_group(
        **{**group, "AutoScalingGroupName": "g2"}
    )


def test_alarm_actions_are_a_condition_key(cloud):
    only_ec2_actions = allow(
        "cloudwatch:PutMetricAlarm",
        condition={"ForAllValues:ArnLike": {"cloudwatch:AlarmActions": "arn:aws:automate:*:ec2:*"}},
    )
    role = allow(
        "iam:CreateServiceLinkedRole", condition={"StringEquals": {"iam:AWSServiceName": "events.amazonaws.com"}}
    )
    cw = cloud.client("cloudwatch", cloud.user("u", only_ec2_actions, role))
    alarm = {"MetricName": "CPUUtilization", "Namespace": "AWS/EC2", "Statistic": "Average", "Period": 60,
             "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "LessThanThreshold"}  # fmt: skip
    cw.put_metric_alarm(AlarmName="ok", AlarmActions=["arn:aws:automate:us-east-1:ec2:terminate"], **alarm)
    with pytest.raises(ClientError, match="cloudwatch:PutMetricAlarm on resource: arn:aws:cloudwatch:us-east-1:"):
        cw.put_metric_alarm(AlarmName="no", AlarmActions=["arn:aws:sns:us-east-1:123456789012:prod-alarms"], **alarm)


def test_an_encrypted_launch_with_a_customer_managed_default_key_needs_kms_through_ec2(cloud):
    """The account's default EBS key (a common guardrail): the caller uses it through EC2."""
    from localcloud import motopatch

    motopatch.install_ebs_default_key()
    admin = cloud.admin("ec2")
    image = admin.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    run = {
        "ImageId": image, "MinCount": 1, "MaxCount": 1, "InstanceType": "t3.nano",
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True, "VolumeSize": 8}}],
    }  # fmt: skip
    launch = allow("ec2:RunInstances")
    assert admin.get_ebs_default_kms_key_id()["KmsKeyId"].endswith(":alias/aws/ebs")
    cloud.client("ec2", cloud.user("plain", launch)).run_instances(**run)  # the AWS managed key: no KMS permission

    key = cloud.admin("kms").create_key(Description="the organisation's EBS key")["KeyMetadata"]["Arn"]
    admin.modify_ebs_default_kms_key_id(KmsKeyId=key)
    assert admin.get_ebs_default_kms_key_id()["KmsKeyId"] == key
    refused_ec2 = cloud.client("ec2", cloud.user("nokms", launch))
    with pytest.raises(ClientError, match=rf"kms:CreateGrant on resource: {key} \(the encrypted volume"):
        refused_ec2.run_instances(**run)
    kms_policy = json.loads((REPO / "policy/iam-policy-kms.json").read_text())["Statement"]
    cloud.client("ec2", cloud.user("withkms", launch, *kms_policy)).run_instances(**run)
    # Outside EC2 (kms:ViaService absent) the same statements give nothing.
    with pytest.raises(ClientError, match="kms:Decrypt"):
        cloud.client("kms", cloud.user("direct", *kms_policy)).decrypt(CiphertextBlob=b"x" * 32)


def test_s3_requests_are_checked_on_their_bucket_arn(cloud):
    cloud.admin("s3").create_bucket(Bucket="theirs")
    s3 = cloud.client("s3", cloud.user("u", allow(["s3:CreateBucket", "s3:GetBucketTagging"], "arn:aws:s3:::web-*")))
    s3.create_bucket(Bucket="web-1")
    with pytest.raises(ClientError, match=r"s3:GetBucketTagging on resource: arn:aws:s3:::theirs"):
        s3.get_bucket_tagging(Bucket="theirs")


def test_every_action_the_planners_name_is_in_the_reference():
    from localcloud import iam_reference

    for actions in iam_requests.ELB_EC2_READS.values():
        assert all(iam_reference.known(action) for action in actions)
    assert iam_reference.known("acm:AddTagsToCertificate")
    assert not iam_reference.known("s3:PutPublicAccessBlock")  # moto's name; IAM's is PutBucketPublicAccessBlock
