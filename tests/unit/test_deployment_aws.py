"""module_utils/deployment_aws.py's shared error and pagination, against moto's server."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import (
    Clients,
    ModuleError,
    fail,
    paginate,
)
from botocore.exceptions import ClientError


def test_a_throttled_page_is_asked_again_and_the_listing_is_whole(moto_client):
    s3 = moto_client("s3")
    s3.create_bucket(Bucket="paged")
    for n in range(5):
        s3.put_object(Bucket="paged", Key=f"k{n}", Body=b"x")
    refusals = []

    def throttle_once(**_kwargs):
        if not refusals:
            refusals.append(1)
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, "List")

    s3.meta.events.register("before-call.s3.ListObjectVersions", throttle_once)
    listing = paginate(s3, "list_object_versions", Bucket="paged", MaxKeys=2)
    assert refusals == [1]
    assert sorted(v["Key"] for v in listing["Versions"]) == [f"k{n}" for n in range(5)]


def test_an_error_that_is_not_transient_is_raised_at_once(moto_client):
    with pytest.raises(ClientError, match="NoSuchBucket"):
        paginate(moto_client("s3"), "list_object_versions", Bucket="no-such-bucket-here")


class Recorder:
    """The two ways a module ends with a failure, recorded."""

    def __init__(self):
        self.calls = []

    def fail_json_aws(self, exception, msg=None, **kwargs):
        self.calls.append(("fail_json_aws", exception, msg, kwargs))
        raise SystemExit(1)

    def fail_json(self, msg=None, **kwargs):
        self.calls.append(("fail_json", None, msg, kwargs))
        raise SystemExit(1)


def test_fail_reports_the_aws_error_behind_a_module_error_with_its_extra_keys():
    module, cause = Recorder(), ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject")
    with pytest.raises(SystemExit):
        fail(module, ModuleError("Unable to read image.jpg", cause, bucket="b"))
    assert module.calls == [("fail_json_aws", cause, "Unable to read image.jpg", {"bucket": "b"})]
    module = Recorder()
    with pytest.raises(SystemExit):
        fail(module, ModuleError("timeout must be positive"))
    assert module.calls == [("fail_json", None, "timeout must be positive", {})]


def connection(endpoint_url):
    """What AnsibleAWSModule's params hold for the connection (amazon.aws's get_aws_connection_info reads them)."""
    return SimpleNamespace(params={"endpoint_url": endpoint_url, "access_key": "testing", "secret_key": "testing",
                                   "region": "us-east-1", "validate_certs": True})  # fmt: skip


def test_clients_come_from_one_session_once_each_retrying_and_counted(moto_endpoint):
    clients = Clients(connection(moto_endpoint))
    assert clients("sts").get_caller_identity(aws_retry=True)["Account"]
    clients("s3").list_buckets(aws_retry=True)
    clients("s3").list_buckets()
    assert clients("s3") is clients("s3")
    assert clients.counter.by_operation == {"GetCallerIdentity": 1, "ListBuckets": 2}


def test_clients_asked_for_from_several_threads_are_made_once(moto_endpoint):
    clients = Clients(connection(moto_endpoint))
    made = []
    threads = [threading.Thread(target=lambda: made.append(clients("ec2"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 8 and len({id(client) for client in made}) == 1


def test_a_client_that_cannot_be_made_is_a_module_error():
    with pytest.raises(ModuleError, match="Couldn't connect to AWS"):
        Clients(connection("not a url"))("s3")
