"""The local cloud's SNS rule (localcloud/awsrules.py), against moto in this process with the rule
installed: CreateTopic returns an existing topic only when the tags it carries are the topic's, as
on AWS (plain moto returns the topic whatever the tags)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import awsrules


@pytest.fixture
def sns():
    awsrules.install_topic_rules()
    with mock_aws():
        yield boto3.client("sns", region_name="eu-west-1")


def test_creating_a_topic_again_with_its_tags_or_without_tags_returns_it(sns):
    arn = sns.create_topic(Name="web-alarms", Tags=[{"Key": "Deployment", "Value": "web"}])["TopicArn"]
    assert sns.create_topic(Name="web-alarms", Tags=[{"Key": "Deployment", "Value": "web"}])["TopicArn"] == arn
    assert sns.create_topic(Name="web-alarms")["TopicArn"] == arn


@pytest.mark.parametrize("tags", [{"Deployment": "other"}, {"Owner": "ops"}], ids=["another-value", "another-key"])
def test_creating_a_topic_again_with_other_tags_fails_as_on_aws(sns, tags):
    sns.create_topic(Name="web-alarms", Tags=[{"Key": "Deployment", "Value": "web"}])
    with pytest.raises(ClientError, match="Topic already exists with different tags") as raised:
        sns.create_topic(Name="web-alarms", Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    assert raised.value.response["Error"]["Code"] == "InvalidParameter"
    tags_now = sns.list_tags_for_resource(ResourceArn=sns.list_topics()["Topics"][0]["TopicArn"])["Tags"]
    assert tags_now == [{"Key": "Deployment", "Value": "web"}]
