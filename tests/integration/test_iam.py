"""The shipped IAM policy (policy/iam-policy.json) is enough, on a local cloud that enforces IAM.

A cloud of this module's own runs with LOCALCLOUD_IAM=enforce: every request must be signed by
a known IAM user and allowed by its policies, under AWS's IAM action names. A user with exactly
the shipped policy runs deploy (with every option), a rerun, monitor with the dashboard, and
teardown. A policy without one needed permission stops the run with a message naming it.

What the local cloud cannot show: moto knows no request's condition keys nor, outside S3, its
resource ARNs, so the policy's tag conditions and ARNs are taken as matching here (see
localcloud/iam.py); they follow AWS's Service Authorization Reference instead.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest

from conftest import ROOT, LocalCloud, own_cloud
from playbooks import playbook
from sweep import NOTHING, resources, sweep

pytestmark = pytest.mark.cloud

POLICY = json.loads((ROOT / "policy/iam-policy.json").read_text())
# The group mode's permissions (deployment_capacity), attached next to POLICY.
GROUP_POLICY = json.loads((ROOT / "policy/iam-policy-group.json").read_text())


def granted(policy: dict) -> set[str]:
    return {
        action
        for statement in policy["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }


@pytest.fixture(scope="module")
def iam_cloud(tmp_path_factory):
    # ELB's settle time longer than teardown's steps between the balancer and its target group take:
    # the group's life meets CertificateNotFound and ResourceInUse, and retries through them.
    settings = {"LOCALCLOUD_IAM": "enforce", "LOCALCLOUD_ELB_SETTLE_SECONDS": "5"}
    with own_cloud(tmp_path_factory, "iamcloud", settings) as started:
        yield started


def user_with(cloud: LocalCloud, policy: dict, *more: dict) -> dict[str, str]:
    """A new IAM user whose only permissions are `policy` (and `more`); its keys as -e values."""
    iam = cloud.client("iam")
    name = f"deployer-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="webserver", PolicyDocument=json.dumps(policy))
    for number, extra in enumerate(more):
        iam.put_user_policy(UserName=name, PolicyName=f"webserver-{number}", PolicyDocument=json.dumps(extra))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"deployment_access_key": key["AccessKeyId"], "deployment_secret_key": key["SecretAccessKey"]}


def client_as(cloud: LocalCloud, keys: dict[str, str], service: str):
    """A boto3 client of the local cloud signing with a test user's keys (user_with)."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=cloud.endpoint,
        region_name="us-east-1",
        aws_access_key_id=keys["deployment_access_key"],
        aws_secret_access_key=keys["deployment_secret_key"],
    )


def policy_without(action: str) -> dict:
    """The shipped policy less one action."""
    policy = json.loads(json.dumps(POLICY))
    for statement in policy["Statement"]:
        if isinstance(statement["Action"], list) and action in statement["Action"]:
            statement["Action"].remove(action)
    assert action not in granted(policy)
    return policy


def as_user(keys: dict[str, str], name: str, *args: str) -> list[str]:
    return ["-e", json.dumps({**keys, "deployment_name": name}), *args]


def test_the_local_cloud_refuses_unknown_and_unpermitted_callers(iam_cloud):
    from botocore.exceptions import ClientError

    unknown = {"deployment_access_key": "AKIANOTAUSER00000000", "deployment_secret_key": "x"}
    anonymous_key = client_as(iam_cloud, unknown, "ec2")
    with pytest.raises(ClientError, match=r"AuthFailure|InvalidClientTokenId"):
        anonymous_key.describe_vpcs()
    keys = user_with(iam_cloud, {"Version": "2012-10-17", "Statement": [POLICY["Statement"][0]]})
    reader = client_as(iam_cloud, keys, "s3")
    with pytest.raises(ClientError, match=r"not authorized to perform: s3:CreateBucket"):
        reader.create_bucket(Bucket="refused-123456789012-us-east-1")


def test_tags_given_at_creation_need_the_tagging_permission_too(iam_cloud):
    """As on AWS (moto checks only sns:CreateTopic): sns_alarm_topic tags the topic in CreateTopic,
    which the policy allows only with the ManagedBy tag."""
    from botocore.exceptions import ClientError

    tags = [{"Key": "Deployment", "Value": "t"}, {"Key": "ManagedBy", "Value": "ansible-aws-webserver"}]
    name = f"aaw-t{uuid.uuid4().hex[:7]}-alarms"
    without_tagging = client_as(iam_cloud, user_with(iam_cloud, policy_without("sns:TagResource")), "sns")
    with pytest.raises(ClientError, match=r"not authorized to perform: sns:TagResource"):
        without_tagging.create_topic(Name=name, Tags=tags)
    sns = client_as(iam_cloud, user_with(iam_cloud, POLICY), "sns")
    with pytest.raises(ClientError, match=r"not authorized to perform: sns:CreateTopic"):
        sns.create_topic(Name=name)  # untagged: refused
    arn = sns.create_topic(Name=name, Tags=tags)["TopicArn"]
    assert arn.endswith(f":{name}")
    sns.delete_topic(TopicArn=arn)


def test_the_shipped_policy_deploys_monitors_and_tears_down(iam_cloud, tmp_path):
    keys = user_with(iam_cloud, POLICY)
    name = f"i{uuid.uuid4().hex[:7]}"
    every_option = [
        "-e", "deployment_alarm_email=ops@example.com",
        "-e", '{"deployment_high_cpu_actions": ["notify", "reboot"]}',
    ]  # fmt: skip
    first = playbook(iam_cloud, "deploy", tmp_path, *as_user(keys, name, *every_option))
    assert first.returncode == 0, first.output[-5000:]
    assert "HTTPS:       https://" in first.output

    rerun = playbook(iam_cloud, "deploy", tmp_path, *as_user(keys, name, *every_option))
    assert rerun.returncode == 0, rerun.output[-5000:]
    assert rerun.changed == 0, rerun.output[-5000:]

    # A bucket of someone else's that the policy gives no access to: monitor must not read its tags.
    iam_cloud.client("s3").create_bucket(Bucket=f"photos{name}")
    iam_cloud.client("s3").put_bucket_tagging(
        Bucket=f"photos{name}", Tagging={"TagSet": [{"Key": "Deployment", "Value": name}]}
    )
    report = playbook(iam_cloud, "monitor", tmp_path, *as_user(keys, name, "-e", "dashboard=true"))
    assert report.returncode == 0, report.output[-5000:]
    assert f"Dashboard: aaw-{name} in CloudWatch (updated)" in report.output

    gone = playbook(iam_cloud, "teardown", tmp_path, *as_user(keys, name, "-e", "confirm=true"))
    assert gone.returncode == 0, gone.output[-5000:]
    assert f"Deployment {name} is gone" in gone.output
    assert resources(iam_cloud, name) == {k: [] for k in ("instances", "groups", "keys", "buckets", "alarms")}


def test_the_group_policy_runs_a_group_through_its_life(iam_cloud, tmp_path):
    """Capacity 2 with HTTPS: deploy, a rerun that changes nothing, a change that rolls the group
    (a new launch template version and an instance refresh), monitor with the dashboard, teardown."""
    keys = user_with(iam_cloud, POLICY, GROUP_POLICY)
    name = f"g{uuid.uuid4().hex[:7]}"
    group = ["-e", "deployment_capacity=2"]
    first = playbook(iam_cloud, "deploy", tmp_path, *as_user(keys, name, *group))
    assert first.returncode == 0, first.output[-5000:]
    assert "HTTPS:       https://" in first.output
    assert "FAILED - RETRYING: [localhost]: Ensure the load balancer answers HTTPS" in first.output, (
        "CertificateNotFound"
    )
    elbv2 = iam_cloud.client("elbv2")
    balancer = elbv2.describe_load_balancers(Names=[f"aaw-{name}-lb"])["LoadBalancers"][0]["LoadBalancerArn"]
    attributes = {
        a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=balancer)["Attributes"]
    }
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"

    rerun = playbook(iam_cloud, "deploy", tmp_path, *as_user(keys, name, *group))
    assert rerun.returncode == 0, rerun.output[-5000:]
    assert rerun.changed == 0, rerun.output[-5000:]

    rolled = playbook(
        iam_cloud, "deploy", tmp_path, *as_user(keys, name, *group, "-e", '{"deployment_tags": {"Team": "web"}}')
    )
    assert rolled.returncode == 0, rolled.output[-5000:]
    assert "instance refresh" in " ".join(rolled.output.split())

    report = playbook(iam_cloud, "monitor", tmp_path, *as_user(keys, name, "-e", "dashboard=true"))
    assert report.returncode == 0, report.output[-5000:]
    assert f"Dashboard: aaw-{name} in CloudWatch (updated)" in report.output

    gone = playbook(iam_cloud, "teardown", tmp_path, *as_user(keys, name, "-e", "confirm=true"))
    assert gone.returncode == 0, gone.output[-5000:]
    assert "FAILED - RETRYING: [localhost]: Ensure the target group is deleted" in gone.output, "ResourceInUse, retried"
    assert sweep(iam_cloud, name) == NOTHING


def refused(call, *args, **kwargs) -> str:
    """The action AWS named in refusing `call`; fails the test when the call went through."""
    from botocore.exceptions import ClientError

    try:
        call(*args, **kwargs)
    except ClientError as error:
        found = re.search(r"not authorized to perform: (\S+)", str(error))
        assert found, f"{call.__name__} failed for another reason: {error}"
        return found.group(1)
    raise AssertionError(
        f"{call.__name__}{args or ''}{kwargs or ''} went through: the policy reaches another team's resource"
    )


def test_the_policies_keep_the_deployer_away_from_everything_else(iam_cloud):
    """Another team's resources in the same account, untagged or named as other tools name theirs:
    a user holding exactly policy/*.json can change none of them."""
    keys = user_with(iam_cloud, POLICY, GROUP_POLICY)
    admin = {
        service: iam_cloud.client(service)
        for service in ("ec2", "s3", "sns", "cloudwatch", "elbv2", "acm", "autoscaling")
    }
    mine = {service: client_as(iam_cloud, keys, service) for service in admin}
    ec2 = admin["ec2"]
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]][
        :2
    ]
    debian = iam_cloud.client("ssm").get_parameter(Name="/aws/service/debian/release/12/latest/amd64")
    image = debian["Parameter"]["Value"]  # the one image the local cloud launches
    suffix = uuid.uuid4().hex[:6]
    group = ec2.create_security_group(GroupName=f"team-{suffix}", Description="theirs", VpcId=vpc)["GroupId"]
    ec2.create_key_pair(KeyName=f"team-{suffix}")
    template = ec2.create_launch_template(
        LaunchTemplateName=f"team-{suffix}", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.nano"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    admin["autoscaling"].create_auto_scaling_group(
        AutoScalingGroupName=f"team-{suffix}", MinSize=0, MaxSize=1, VPCZoneIdentifier=subnets[0],
        LaunchTemplate={"LaunchTemplateId": template},
    )  # fmt: skip
    buckets = [f"aws-cloudtrail-logs-123456789012-{suffix}", f"cdk-hnb659fds-assets-123456789012-{suffix}"]
    for bucket in buckets:
        admin["s3"].create_bucket(Bucket=bucket)
        admin["s3"].put_object(Bucket=bucket, Key="log", Body=b"x")
    topic = admin["sns"].create_topic(Name="prod-alarms")["TopicArn"]
    admin["cloudwatch"].put_dashboard(DashboardName=f"ops-{suffix}", DashboardBody=json.dumps({"widgets": []}))
    target_group = admin["elbv2"].create_target_group(Name=f"team-{suffix}-tg", Protocol="HTTP", Port=80, VpcId=vpc)[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    balancer = admin["elbv2"].create_load_balancer(Name=f"team-{suffix}-lb", Subnets=subnets)["LoadBalancers"][0]
    listener = admin["elbv2"].create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
    )["Listeners"][0]["ListenerArn"]  # fmt: skip
    certificate = admin["acm"].request_certificate(DomainName="team.example")["CertificateArn"]
    # Not tagged (or tagged for no deployment), so nothing deploy made for any deployment.
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.nano")["Instances"][0][
        "InstanceId"
    ]
    ours = [{"Key": "ManagedBy", "Value": "ansible-aws-webserver"}]

    e, s3, cw, elb = mine["ec2"], mine["s3"], mine["cloudwatch"], mine["elbv2"]
    attempts = {
        "terminate their instance": (e.terminate_instances, {"InstanceIds": [instance]}),
        "tag their instance as ours": (e.create_tags, {"Resources": [instance], "Tags": ours}),
        "open their security group": (e.authorize_security_group_ingress, {
            "GroupId": group, "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                                  "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}),
        "delete their security group": (e.delete_security_group, {"GroupId": group}),
        "delete their key pair": (e.delete_key_pair, {"KeyName": f"team-{suffix}"}),
        "change their launch template": (e.create_launch_template_version, {
            "LaunchTemplateId": template, "LaunchTemplateData": {"InstanceType": "t3.micro"}}),
        "launch from their template": (e.run_instances, {
            "MinCount": 1, "MaxCount": 1, "LaunchTemplate": {"LaunchTemplateId": template},
            "TagSpecifications": [{"ResourceType": kind, "Tags": ours} for kind in ("instance", "volume")]}),
        "resize their group": (mine["autoscaling"].update_auto_scaling_group, {
            "AutoScalingGroupName": f"team-{suffix}", "MaxSize": 5}),
        "delete their group": (mine["autoscaling"].delete_auto_scaling_group, {
            "AutoScalingGroupName": f"team-{suffix}", "ForceDelete": True}),
        "subscribe to prod-alarms": (mine["sns"].subscribe, {"TopicArn": topic, "Protocol": "email",
                                                             "Endpoint": "x@example.com"}),
        "delete prod-alarms": (mine["sns"].delete_topic, {"TopicArn": topic}),
        "overwrite their dashboard": (cw.put_dashboard, {"DashboardName": f"ops-{suffix}",
                                                         "DashboardBody": json.dumps({"widgets": []})}),
        "delete their dashboard": (cw.delete_dashboards, {"DashboardNames": [f"ops-{suffix}"]}),
        "an alarm not named by the project": (cw.put_metric_alarm, {
            "AlarmName": f"x{suffix}-idle-terminate", "MetricName": "CPUUtilization", "Namespace": "AWS/EC2",
            "Statistic": "Average", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0,
            "ComparisonOperator": "LessThanThreshold", "Dimensions": [{"Name": "InstanceId", "Value": instance}],
            "AlarmActions": ["arn:aws:automate:us-east-1:ec2:terminate"]}),
        "an alarm of ours that notifies their topic": (cw.put_metric_alarm, {
            "AlarmName": f"aaw-x{suffix}-high-cpu", "MetricName": "CPUUtilization", "Namespace": "AWS/EC2",
            "Statistic": "Average", "Period": 60, "EvaluationPeriods": 1, "Threshold": 90.0,
            "ComparisonOperator": "GreaterThanThreshold", "AlarmActions": [topic]}),
        "delete their balancer": (elb.delete_load_balancer, {"LoadBalancerArn": balancer["LoadBalancerArn"]}),
        "tag their balancer as ours": (elb.add_tags, {"ResourceArns": [balancer["LoadBalancerArn"]], "Tags": ours}),
        "delete their listener": (elb.delete_listener, {"ListenerArn": listener}),
        "add a listener to their balancer": (elb.create_listener, {
            "LoadBalancerArn": balancer["LoadBalancerArn"], "Protocol": "HTTP", "Port": 8080,
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": target_group}]}),
        "delete their target group": (elb.delete_target_group, {"TargetGroupArn": target_group}),
        "delete their certificate": (mine["acm"].delete_certificate, {"CertificateArn": certificate}),
        "read their certificate": (mine["acm"].get_certificate, {"CertificateArn": certificate}),
    }  # fmt: skip
    for bucket in buckets:
        attempts[f"delete {bucket}"] = (s3.delete_bucket, {"Bucket": bucket})
        attempts[f"read {bucket}"] = (s3.get_object, {"Bucket": bucket, "Key": "log"})
        attempts[f"write to {bucket}"] = (s3.put_object, {"Bucket": bucket, "Key": "x", "Body": b"x"})
        attempts[f"open {bucket} to the world"] = (s3.put_bucket_policy, {"Bucket": bucket, "Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                     "Resource": f"arn:aws:s3:::{bucket}/*"}]})})  # fmt: skip
    went_through = []
    for what, (call, arguments) in attempts.items():
        try:
            refused(call, **arguments)
        except AssertionError as error:
            went_through.append(f"{what}: {error}")
    assert not went_through, "\n".join(went_through)

    # What AWS cannot scope, said in the README: ACM authorises tagging on no tag or name of the certificate,
    # and an EC2 alarm action names no instance. The test pins it, so a tightening shows here.
    mine["acm"].add_tags_to_certificate(CertificateArn=certificate, Tags=ours)
    admin["acm"].remove_tags_from_certificate(CertificateArn=certificate, Tags=ours)


def test_a_missing_permission_stops_the_run_and_is_named(iam_cloud, tmp_path):
    keys = user_with(iam_cloud, policy_without("s3:PutEncryptionConfiguration"))
    name = f"i{uuid.uuid4().hex[:7]}"
    run = playbook(iam_cloud, "deploy", tmp_path, *as_user(keys, name))
    try:
        assert run.returncode != 0
        assert "not authorized to perform: s3:PutEncryptionConfiguration" in run.output
        assert (
            "AWS refused these credentials the permission s3:PutEncryptionConfiguration. "
            "policy/iam-policy.json is the IAM policy"
        ) in run.output
        # The bucket was created, then could not be encrypted: it is removed again, not left untagged.
        assert "The bucket this run created was removed again" in " ".join(run.output.split())
        assert resources(iam_cloud, name)["buckets"] == []
    finally:
        admin = iam_cloud.client("ec2")
        for instance in resources(iam_cloud, name)["instances"]:
            admin.terminate_instances(InstanceIds=[instance])


def test_the_policy_fits_iam_and_grants_no_wildcard_action():
    sids = [statement["Sid"] for statement in POLICY["Statement"]]
    assert len(sids) == len(set(sids))
    assert len(json.dumps(POLICY, separators=(",", ":"))) <= 6144, "over IAM's managed-policy size limit"
    # autoscaling, elasticloadbalancing and acm: reads only, as teardown looks for a group on every deployment.
    services = {"ec2", "s3", "ssm", "cloudwatch", "sns", "iam", "autoscaling", "elasticloadbalancing", "acm"}
    assert {a.split(":")[0] for a in granted(POLICY)} <= services
    assert all(
        a.split(":")[1].startswith(("Describe", "List"))
        for a in granted(POLICY)
        if a.startswith(("autoscaling", "elastic", "acm"))
    )
    assert not any("*" in a for a in granted(POLICY))
    assert len(json.dumps(GROUP_POLICY, separators=(",", ":"))) <= 6144
    assert {a.split(":")[0] for a in granted(GROUP_POLICY)} <= {
        "ec2",
        "autoscaling",
        "elasticloadbalancing",
        "iam",
        "acm",
    }
    assert not any("*" in a for a in granted(GROUP_POLICY))
    shared = {"ec2:RunInstances", "ec2:CreateTags", "iam:CreateServiceLinkedRole"}  # each for its own resources
    assert not (granted(POLICY) & granted(GROUP_POLICY)) - shared


def test_a_customer_managed_default_ebs_key_needs_the_kms_policy(iam_cloud, tmp_path):
    """Last in the module: the account's default EBS key becomes a customer-managed key (a common
    organisation guardrail) and stays so. Deploy says which key its volume will use; without
    policy/iam-policy-kms.json the launch is refused naming kms:CreateGrant, with it the run goes through."""
    key = iam_cloud.client("kms").create_key(Description="the organisation's EBS key")["KeyMetadata"]["Arn"]
    iam_cloud.client("ec2").modify_ebs_default_kms_key_id(KmsKeyId=key)
    kms = json.loads((ROOT / "policy/iam-policy-kms.json").read_text())

    name = f"k{uuid.uuid4().hex[:7]}"
    refused = playbook(iam_cloud, "deploy", tmp_path, *as_user(user_with(iam_cloud, POLICY), name))
    said = " ".join(refused.output.split())
    try:
        assert refused.returncode != 0
        assert f"encrypted with the customer-managed key {key}" in said
        assert f"not authorized to perform: kms:CreateGrant on resource: {key}" in said
    finally:
        playbook(iam_cloud, "teardown", tmp_path, *as_user(user_with(iam_cloud, POLICY), name, "-e", "confirm=true"))

    keys = user_with(iam_cloud, POLICY, kms)
    name = f"k{uuid.uuid4().hex[:7]}"
    first = playbook(iam_cloud, "deploy", tmp_path, *as_user(keys, name))
    assert first.returncode == 0, first.output[-5000:]
    volumes = iam_cloud.client("ec2").describe_volumes(Filters=[{"Name": "tag:Deployment", "Values": [name]}])[
        "Volumes"
    ]
    assert [(v["Encrypted"], v["KmsKeyId"]) for v in volumes] == [(True, key)]
    gone = playbook(iam_cloud, "teardown", tmp_path, *as_user(keys, name, "-e", "confirm=true"))
    assert gone.returncode == 0, gone.output[-5000:]
    assert sweep(iam_cloud, name) == NOTHING
