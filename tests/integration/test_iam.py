"""The shipped IAM policy (policy/iam-policy.json) is enough, on a local cloud that enforces IAM.

A user with exactly the shipped policy runs deploy (with every option, CPU credits standard after an
unlimited boot among them), a rerun, monitor with the dashboard, and teardown; a policy without one
needed permission stops the run naming it; a customer-managed default EBS key needs
policy/iam-policy-kms.json. The cloud evaluates actions, resource ARNs and condition keys as AWS
does (localcloud/iam.py says what it cannot know), and throttles and fails calls as AWS does on a
bad day: every run converges through it.
The group mode's policy is proven in test_iam_group.py.
"""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import ROOT
from iam_users import GROUP_POLICY, POLICY, as_user, client_as, granted, injected, policy_without, user_with
from playbooks import playbook
from sweep import NOTHING, resources, sweep

pytestmark = pytest.mark.cloud


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
    """Through a fifth of the calls throttled and one in twenty answering 500 (conftest's iam_cloud)."""
    before = injected(iam_cloud)
    keys = user_with(iam_cloud, POLICY)
    name = f"i{uuid.uuid4().hex[:7]}"
    every_option = [
        "-e", "deployment_alarm_email=ops@example.com",
        "-e", '{"deployment_high_cpu_actions": ["notify", "reboot"]}',
        # AWS's default mode for a T3 is unlimited: the instance boots so, then leaves it.
        "-e", "deployment_cpu_credits=standard",
    ]  # fmt: skip
    first = playbook(iam_cloud, "deploy", tmp_path, *as_user(keys, name, *every_option))
    assert first.returncode == 0, first.output[-5000:]
    assert "HTTPS:       https://" in first.output
    switched = first.task("deployment : Switch the instance's CPU credits")
    assert "changed: [localhost]" in switched, "the instance left the unlimited mode it booted in"
    assert "CPU credits: standard (the boot ran unlimited)" in first.output
    ec2 = iam_cloud.client("ec2")
    instance_id = resources(iam_cloud, name)["instances"][0]
    modes = ec2.describe_instance_credit_specifications(InstanceIds=[instance_id])["InstanceCreditSpecifications"]
    assert modes[0]["CpuCredits"] == "standard"

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
    after = injected(iam_cloud)
    assert after["throttle"] - before["throttle"] > 20 and after["internal"] - before["internal"] > 3, after


def test_a_missing_permission_stops_the_run_and_is_named(iam_cloud, tmp_path):
    # The lives above proved the runs through the faults; from here on the module's tests are about
    # permissions alone, and run without them (the suite's time).
    iam_cloud.faults("DELETE")
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
