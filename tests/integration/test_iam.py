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
    with own_cloud(tmp_path_factory, "iamcloud", {"LOCALCLOUD_IAM": "enforce"}) as started:
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
    """As on AWS (moto checks only sns:CreateTopic): sns_alarm_topic tags the topic in CreateTopic."""
    from botocore.exceptions import ClientError

    policy = policy_without("sns:TagResource")
    assert "sns:CreateTopic" in granted(policy)
    sns = client_as(iam_cloud, user_with(iam_cloud, policy), "sns")
    name = f"aaw-t{uuid.uuid4().hex[:7]}-alarms"
    with pytest.raises(ClientError, match=r"not authorized to perform: sns:TagResource"):
        sns.create_topic(Name=name, Tags=[{"Key": "Deployment", "Value": name}])
    arn = sns.create_topic(Name=name)["TopicArn"]  # untagged: sns:CreateTopic alone
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


def test_the_group_policy_deploys_and_tears_down_a_group(iam_cloud, tmp_path):
    keys = user_with(iam_cloud, POLICY, GROUP_POLICY)
    name = f"g{uuid.uuid4().hex[:7]}"
    group = ["-e", "deployment_capacity=2"]
    first = playbook(iam_cloud, "deploy", tmp_path, *as_user(keys, name, *group))
    assert first.returncode == 0, first.output[-5000:]
    gone = playbook(iam_cloud, "teardown", tmp_path, *as_user(keys, name, "-e", "confirm=true"))
    assert gone.returncode == 0, gone.output[-5000:]
    assert sweep(iam_cloud, name) == NOTHING


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
