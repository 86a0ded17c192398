"""library/s3_account_public_access_info.py against moto's server (S3 Control, account level)."""

from __future__ import annotations

import boto3
import pytest

ACCOUNT = "123456789012"


def _without_account_prefix(request, **_kwargs):
    request.url = request.url.replace(f"//{ACCOUNT}.", "//", 1)


@pytest.fixture
def s3control(moto_endpoint):
    client = boto3.client(
        "s3control",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    # As the module does: S3 Control's account-ID host prefix cannot resolve on an address.
    client.meta.events.register("before-sign.s3-control.*", _without_account_prefix)
    yield client
    client.delete_public_access_block(AccountId=ACCOUNT)


def test_an_account_without_settings_blocks_nothing(run_module, s3control):
    rc, result = run_module("s3_account_public_access_info", account_id=ACCOUNT)
    assert rc == 0, result
    assert result["changed"] is False and result["readable"] is True and result["configured"] is False
    assert set(result["public_access_block"].values()) == {False}


def test_the_account_settings_are_reported(run_module, s3control):
    s3control.put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": False,
        },
    )
    rc, result = run_module("s3_account_public_access_info", account_id=ACCOUNT, check_mode=True)
    assert rc == 0, result
    assert result["configured"] is True
    assert result["public_access_block"] == {
        "block_public_acls": True,
        "ignore_public_acls": True,
        "block_public_policy": True,
        "restrict_public_buckets": False,
    }


def test_an_unreachable_endpoint_fails_with_the_reason(run_module):
    rc, result = run_module("s3_account_public_access_info", account_id=ACCOUNT, endpoint_url="http://127.0.0.1:9")
    assert rc != 0 and result["failed"]
    assert "Block Public Access" in result["msg"] and "Could not connect" in result["msg"]
