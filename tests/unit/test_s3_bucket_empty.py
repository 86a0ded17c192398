"""library/s3_bucket_empty.py against moto's server: every version, delete marker and "null" version goes."""

from __future__ import annotations

import pytest


@pytest.fixture
def s3(moto_client):
    return moto_client("s3")


def remaining(s3, bucket):
    listing = s3.list_object_versions(Bucket=bucket)
    return len(listing.get("Versions", [])) + len(listing.get("DeleteMarkers", []))


def test_a_bucket_versioned_after_its_first_upload_is_emptied_and_can_be_deleted(s3, run_module):
    s3.create_bucket(Bucket="versioned-late")
    s3.put_object(Bucket="versioned-late", Key="public/image.jpg", Body=b"before versioning")  # the "null" version
    s3.put_bucket_versioning(Bucket="versioned-late", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="versioned-late", Key="public/image.jpg", Body=b"second")
    s3.delete_object(Bucket="versioned-late", Key="public/image.jpg")  # a delete marker
    rc, result = run_module("s3_bucket_empty", bucket="versioned-late")
    assert rc == 0, result
    assert result["changed"] is True and result["exists"] is True
    assert len(result["deleted"]) == 3
    assert "null" in {v["version_id"] for v in result["deleted"]}
    assert remaining(s3, "versioned-late") == 0
    s3.delete_bucket(Bucket="versioned-late")  # fails when anything is left


def test_check_mode_lists_and_deletes_nothing_and_a_rerun_changes_nothing(s3, run_module):
    s3.create_bucket(Bucket="plain")
    for n in range(3):
        s3.put_object(Bucket="plain", Key=f"k{n}", Body=b"x")
    rc, result = run_module("s3_bucket_empty", check_mode=True, bucket="plain")
    assert rc == 0 and result["changed"] is True and len(result["deleted"]) == 3
    assert remaining(s3, "plain") == 3
    assert run_module("s3_bucket_empty", bucket="plain")[1]["changed"] is True
    rc, result = run_module("s3_bucket_empty", bucket="plain")
    assert rc == 0 and result["changed"] is False and result["deleted"] == []


def test_more_than_one_batch_of_versions_is_emptied(s3, run_module):
    s3.create_bucket(Bucket="many")
    s3.put_bucket_versioning(Bucket="many", VersioningConfiguration={"Status": "Enabled"})
    for n in range(1005):
        s3.put_object(Bucket="many", Key=f"k{n % 5}", Body=b"x")
    rc, result = run_module("s3_bucket_empty", bucket="many")
    assert rc == 0 and len(result["deleted"]) == 1005
    assert remaining(s3, "many") == 0


def test_a_missing_bucket_is_already_empty(run_module):
    rc, result = run_module("s3_bucket_empty", bucket="no-such-bucket-here")
    assert rc == 0, result
    assert result == {**result, "changed": False, "exists": False, "deleted": []}


def test_an_unreachable_endpoint_fails_naming_the_bucket(run_module):
    rc, result = run_module("s3_bucket_empty", bucket="plain", endpoint_url="http://127.0.0.1:9")
    assert rc != 0 and result["failed"]
    assert "plain" in result["msg"] and "Could not connect" in result["msg"]


def test_versions_s3_refuses_to_delete_fail_the_run_naming_one_and_the_permission(s3, run_module):
    s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket="locked", Key="held", Body=b"x", ObjectLockLegalHoldStatus="ON")
    rc, result = run_module("s3_bucket_empty", bucket="locked")
    assert rc != 0 and result["failed"]
    expected = "Could not delete 1 object versions from the bucket locked, for example held"
    assert result["msg"].startswith(expected), result
    assert "s3:DeleteObjectVersion" in result["msg"]
    assert result["errors"][0]["Key"] == "held"
    assert remaining(s3, "locked") == 1
