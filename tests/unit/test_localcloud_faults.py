"""The local cloud's fault injection (localcloud/faults.py), in front of moto's server in this
process: each service's error as its client reads it, a count and a probability, latency, an
access key that expires, botocore's standard retry mode carrying a call through, and the rules'
checks."""

from __future__ import annotations

import threading
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from localcloud.faults import FaultInjector, FaultRuleError, Faults

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture(scope="module")
def server():
    faults = Faults(log=lambda line: faults.said.append(line))
    faults.said = []
    httpd = make_server("127.0.0.1", 0, FaultInjector(DomainDispatcherApplication(create_backend_app), faults))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", faults
    httpd.shutdown()


@pytest.fixture
def cloud(server):
    endpoint, faults = server
    faults.replace([])
    faults.said.clear()

    def client(service: str, key: str = "AKIAFAULTS0000000001", config: Config = NO_RETRIES):
        return boto3.client(
            service, endpoint_url=endpoint, region_name="us-east-1", config=config,
            aws_access_key_id=key, aws_secret_access_key="secret",
        )  # fmt: skip

    return client, faults


@pytest.mark.parametrize(
    ("service", "call", "kind", "code", "status"),
    [
        ("ec2", lambda c: c.describe_vpcs(), "throttle", "RequestLimitExceeded", 503),
        ("s3", lambda c: c.list_buckets(), "throttle", "SlowDown", 503),
        ("ssm", lambda c: c.describe_parameters(), "throttle", "ThrottlingException", 400),
        ("cloudwatch", lambda c: c.list_metrics(), "throttle", "Throttling", 400),
        ("sns", lambda c: c.list_topics(), "throttle", "Throttling", 400),
        ("elbv2", lambda c: c.describe_load_balancers(), "internal", "InternalFailure", 500),
        ("ec2", lambda c: c.describe_vpcs(), "internal", "InternalError", 500),
        ("s3", lambda c: c.list_buckets(), "internal", "InternalError", 500),
        ("acm", lambda c: c.list_certificates(), "expired", "ExpiredTokenException", 400),
        ("sts", lambda c: c.get_caller_identity(), "expired", "ExpiredToken", 403),
    ],
)
def test_each_service_answers_the_error_as_aws_spells_it(cloud, service, call, kind, code, status):
    client, faults = cloud
    faults.add({"service": service, "error": kind, "count": 1})
    with pytest.raises(ClientError) as raised:
        call(client(service))
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    call(client(service))  # its count spent, the next call goes through
    assert faults.listed()[0]["injected"] == 1
    assert any(f"answered {status} {code}" in line for line in faults.said)


def test_the_standard_retry_mode_carries_a_call_through_its_throttling(cloud):
    client, faults = cloud
    faults.add({"service": "ec2", "operation": "DescribeVpcs", "error": "throttle", "count": 3})
    patient = client("ec2", config=Config(retries={"mode": "standard", "total_max_attempts": 5}))
    answer = patient.describe_vpcs()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 3
    client("ec2").describe_subnets()  # another operation: not matched


def test_a_rule_matches_its_operation_region_and_key_only(cloud):
    client, faults = cloud
    faults.add({"service": "ec2", "operation": "DescribeSubnets", "error": "throttle"})
    faults.add({"region": "eu-west-1", "error": "internal"})
    faults.add({"access_key": "AKIAOTHER00000000001", "error": "internal"})
    client("ec2").describe_vpcs()
    with pytest.raises(ClientError, match="RequestLimitExceeded"):
        client("ec2").describe_subnets()
    with pytest.raises(ClientError, match="InternalFailure"):
        client("sns", key="AKIAOTHER00000000001").list_topics()
    client("sns").list_topics()


def test_an_access_key_expires_at_its_time(cloud):
    client, faults = cloud
    faults.add({"access_key": "AKIAFAULTS0000000001", "error": "expired", "after": time.time() + 1})
    client("ec2").describe_vpcs()
    time.sleep(1.1)
    with pytest.raises(ClientError, match="ExpiredToken"):
        client("ec2").describe_vpcs()
    client("ec2", key="AKIAFRESH00000000001").describe_vpcs()


def test_latency_alone_slows_the_call_and_a_probability_fires_that_often(cloud):
    client, faults = cloud
    faults.add({"service": "sts", "latency": 0.5})
    started = time.monotonic()
    client("sts").get_caller_identity()
    assert time.monotonic() - started >= 0.5
    faults.replace([{"service": "ec2", "error": "throttle", "probability": 0.3}])
    failed = 0
    for _ in range(100):
        try:
            client("ec2").describe_vpcs()
        except ClientError:
            failed += 1
    assert 10 <= failed <= 55, failed


def test_unsigned_requests_are_never_faulted(cloud, server):
    import urllib.request

    client, faults = cloud
    client("s3").create_bucket(Bucket="public-page")
    faults.add({"error": "internal"})
    with urllib.request.urlopen(f"{server[0]}/public-page", timeout=10) as answer:
        assert answer.status == 200


@pytest.mark.parametrize(
    ("rule", "said"),
    [
        ({"error": "melt"}, "not one of"),
        ({"service": "ec2"}, "needs an error"),
        ({"error": "throttle", "probability": 2}, "not in (0, 1]"),
        ({"error": "throttle", "count": 0}, "positive number"),
        ({"error": {"code": "X"}}, "code and an HTTP status"),
        ({"error": "throttle", "services": "ec2"}, "unknown rule field"),
    ],
)
def test_a_bad_rule_is_refused_saying_why(rule, said):
    with pytest.raises(FaultRuleError, match=said.replace("(", r"\(").replace(")", r"\)")):
        Faults().add(rule)
