"""library/sns_alarm_topic.py against moto's server: the alarm topic in as few SNS calls as the
API allows, changed only where it differs, kept as it is in check mode."""

from __future__ import annotations

import uuid

import pytest

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
EMAIL = {"protocol": "email", "endpoint": "ops@example.com"}


@pytest.fixture
def sns(moto_client):
    return moto_client("sns")


@pytest.fixture
def arn():
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:t{uuid.uuid4().hex[:8]}-alarms"


def present(arn, **options):
    return {"arn": arn, "display_name": "web alarms", "tags": {"Deployment": "web"}, **options}


def topic_of(sns, arn):
    if arn not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]:
        return None
    return {
        "display_name": sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("DisplayName", ""),
        "tags": {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]},
        "subscriptions": [
            {"protocol": s["Protocol"], "endpoint": s["Endpoint"]}
            for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        ],
    }


def test_a_new_topic_takes_three_calls_and_a_rerun_changes_nothing(sns, arn, run_module):
    rc, result = run_module("sns_alarm_topic", **present(arn, subscriptions=[EMAIL]))
    assert rc == 0, result
    assert result["changed"] and result["created"] and result["sns_arn"] == arn
    assert result["subscribed"] == [EMAIL]
    # Found by its ARN (no ListTopics), created with its display name and tags in one call.
    assert result["api_calls_by_operation"] == {"GetTopicAttributes": 1, "CreateTopic": 1, "Subscribe": 1}
    assert topic_of(sns, arn) == {"display_name": "web alarms", "tags": {"Deployment": "web"}, "subscriptions": [EMAIL]}

    rc, again = run_module("sns_alarm_topic", **present(arn, subscriptions=[EMAIL]))
    assert rc == 0 and not again["changed"] and not again["created"] and again["subscribed"] == []
    assert set(again["api_calls_by_operation"]) == {
        "GetTopicAttributes",
        "ListTagsForResource",
        "ListSubscriptionsByTopic",
    }


def test_only_what_differs_changes_and_other_subscriptions_are_kept(sns, arn, run_module):
    sns.create_topic(Name=arn.rsplit(":", 1)[-1], Attributes={"DisplayName": "old"},
                     Tags=[{"Key": "Deployment", "Value": "web"}, {"Key": "Stale", "Value": "x"}])  # fmt: skip
    hook = {"protocol": "https", "endpoint": "https://hooks.example.com/alarm"}
    sns.subscribe(TopicArn=arn, **{key.capitalize(): value for key, value in hook.items()})

    rc, result = run_module("sns_alarm_topic", diff=True, **present(arn, tags={"Deployment": "web", "Owner": "ops"},
                                                                    subscriptions=[EMAIL]))  # fmt: skip
    assert rc == 0, result
    assert result["changed"] and not result["created"] and result["subscribed"] == [EMAIL]
    assert result["diff"]["before"]["display_name"] == "old" and result["diff"]["after"]["display_name"] == "web alarms"
    calls = result["api_calls_by_operation"]
    assert {op: calls.get(op) for op in ("CreateTopic", "SetTopicAttributes", "UntagResource", "TagResource")} == {
        "CreateTopic": None, "SetTopicAttributes": 1, "UntagResource": 1, "TagResource": 1,
    }  # fmt: skip
    assert topic_of(sns, arn) == {
        "display_name": "web alarms",
        "tags": {"Deployment": "web", "Owner": "ops"},
        "subscriptions": [hook, EMAIL],  # the hook added by hand stays
    }


def test_check_mode_reports_and_changes_nothing(sns, arn, run_module):
    rc, result = run_module("sns_alarm_topic", check_mode=True, **present(arn, subscriptions=[EMAIL]))
    assert rc == 0 and result["changed"] and result["created"] and result["subscribed"] == [EMAIL]
    assert topic_of(sns, arn) is None

    run_module("sns_alarm_topic", **present(arn))
    rc, result = run_module("sns_alarm_topic", check_mode=True, diff=True, arn=arn, state="absent")
    assert rc == 0 and result["changed"] and result["deleted"]
    assert result["diff"] == {"before": {"display_name": "web alarms", "tags": {"Deployment": "web"},
                                         "subscriptions": []}, "after": {}}  # fmt: skip
    assert topic_of(sns, arn) is not None


def test_absent_deletes_the_topic_with_its_subscriptions_and_then_changes_nothing(sns, arn, run_module):
    run_module("sns_alarm_topic", **present(arn, subscriptions=[EMAIL]))
    rc, result = run_module("sns_alarm_topic", arn=arn, state="absent")
    assert rc == 0 and result["changed"] and result["deleted"], result
    # Whether it exists, then DeleteTopic, which takes the subscriptions with it.
    assert result["api_calls_by_operation"] == {"GetTopicAttributes": 1, "DeleteTopic": 1}
    assert topic_of(sns, arn) is None
    assert not [s for s in sns.list_subscriptions()["Subscriptions"] if s["TopicArn"] == arn]

    rc, again = run_module("sns_alarm_topic", arn=arn, state="absent")
    assert rc == 0 and not again["changed"] and not again["deleted"]
    assert again["api_calls_by_operation"] == {"GetTopicAttributes": 1}


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"arn": "web-alarms"}, "is not a topic ARN"),
        ({"arn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:web-alarms"}, "in eu-west-1, but the module runs in us-east-1"),
        ({"arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:web.alarms"}, "is not a topic ARN"),
        ({"arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:web-alarms", "display_name": "x" * 101}, "SNS allows at most 100"),
    ],
    ids=["a-name", "another-region", "a-dot", "long-display-name"],
)
def test_bad_input_is_refused_before_any_call(run_module, options, says):
    rc, result = run_module("sns_alarm_topic", **options)
    assert rc != 0 and says in result["msg"], result
    assert "api_calls_by_operation" not in result


def test_an_unreachable_endpoint_fails_naming_the_topic_and_the_permission(arn, run_module):
    rc, result = run_module("sns_alarm_topic", arn=arn, endpoint_url="http://127.0.0.1:9")
    assert rc != 0 and result["failed"]
    assert arn.rsplit(":", 1)[-1] in result["msg"] and "sns:GetTopicAttributes" in result["msg"]
