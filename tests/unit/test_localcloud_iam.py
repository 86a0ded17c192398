"""The local cloud's IAM rules that need no cloud (localcloud/iam.py): which requests AWS also
authorises as a tagging action (tags given to a call that creates a resource)."""

from __future__ import annotations

import json

import pytest

from localcloud.iam import iam_match, tagging_action


@pytest.mark.parametrize(
    ("action", "data", "body", "also"),
    [
        ("sns:CreateTopic", {"Name": ["t"], "Tags.member.1.Key": ["Deployment"]}, b"", "sns:TagResource"),
        ("sns:CreateTopic", {"Name": ["t"]}, b"", None),
        ("sns:CreateTopic", {"Name": ["t"], "Tags": [""]}, b"", None),  # an empty list
        ("sns:TagResource", {"Tags.member.1.Key": ["Deployment"]}, b"", None),
        ("ec2:RunInstances", {"TagSpecification.1.ResourceType": ["instance"]}, b"", "ec2:CreateTags"),
        ("ec2:CreateSecurityGroup", {"GroupName": ["g"]}, b"", None),
        ("elasticloadbalancing:CreateTargetGroup", {"Tags.member.1.Key": ["a"]}, b"", "elasticloadbalancing:AddTags"),
        ("acm:ImportCertificate", {}, json.dumps({"Tags": [{"Key": "a"}]}).encode(), "acm:AddTagsToCertificate"),
        ("acm:RemoveTagsFromCertificate", {}, json.dumps({"Tags": [{"Key": "a"}]}).encode(), None),
        ("s3:CreateBucket", {"x-amz-tagging": ["a=b"]}, b"<xml/>", None),
    ],
    ids=[
        "topic-with-tags", "topic-without-tags", "topic-empty-tags", "tagging-itself", "instance-with-tags",
        "group-without-tags", "target-group-with-tags", "certificate-json-tags", "removing-tags", "other-service",
    ],
)  # fmt: skip
def test_tags_at_creation_are_authorised_as_the_services_tagging_action(action, data, body, also):
    assert tagging_action(action, data, body) == also


def test_iam_wildcards_are_not_regular_expressions():
    assert iam_match("arn:aws:sns:*:*:*-alarms", "arn:aws:sns:eu-west-1:123456789012:web-alarms")
    assert not iam_match("arn:aws:s3:::a.b", "arn:aws:s3:::axb")
    assert iam_match("s3:Get?ucket*", "s3:GetBucketTagging")
