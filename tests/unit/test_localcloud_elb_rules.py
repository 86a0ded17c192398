"""The local cloud's Elastic Load Balancing rules (localcloud/awsrules.py), against moto in this
process: an ALB's attributes start at AWS's defaults; a target group stays in use for a moment
after the listener that used it went; a certificate just imported is not found by ELB at once."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import awsrules

SETTLE = 1.0


@pytest.fixture
def aws():
    awsrules.install_balancer_attributes()
    awsrules.install_target_group_release(SETTLE)
    awsrules.install_certificate_rules(SETTLE)
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        elbv2 = boto3.client("elbv2", region_name="us-east-1")
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
        target_group = elbv2.create_target_group(Name="web-tg", Protocol="HTTP", Port=80, VpcId=vpc)
        balancer = elbv2.create_load_balancer(Name="web-lb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        yield {"elbv2": elbv2, "acm": boto3.client("acm", region_name="us-east-1"), "balancer": balancer,
               "target_group": target_group["TargetGroups"][0]["TargetGroupArn"]}  # fmt: skip


def test_an_application_load_balancer_has_aws_s_default_attributes(aws):
    found = aws["elbv2"].describe_load_balancer_attributes(LoadBalancerArn=aws["balancer"])["Attributes"]
    attributes = {a["Key"]: a["Value"] for a in found}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "false"
    assert attributes["routing.http.desync_mitigation_mode"] == "defensive"
    assert attributes["load_balancing.cross_zone.enabled"] == "true"


def test_a_target_group_stays_in_use_a_moment_after_its_balancer_went(aws):
    elbv2 = aws["elbv2"]
    forward = [{"Type": "forward", "TargetGroupArn": aws["target_group"]}]
    elbv2.create_listener(LoadBalancerArn=aws["balancer"], Protocol="HTTP", Port=80, DefaultActions=forward)
    elbv2.delete_load_balancer(LoadBalancerArn=aws["balancer"])
    with pytest.raises(ClientError, match="ResourceInUse"):
        elbv2.delete_target_group(TargetGroupArn=aws["target_group"])
    time.sleep(SETTLE)
    elbv2.delete_target_group(TargetGroupArn=aws["target_group"])


def test_a_certificate_just_imported_is_not_found_by_a_listener_at_once(aws):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "web.example")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    arn = aws["acm"].import_certificate(
        Certificate=certificate.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()),
    )["CertificateArn"]  # fmt: skip
    https = {
        "LoadBalancerArn": aws["balancer"], "Protocol": "HTTPS", "Port": 443, "Certificates": [{"CertificateArn": arn}],
        "DefaultActions": [{"Type": "forward", "TargetGroupArn": aws["target_group"]}],
    }  # fmt: skip
    with pytest.raises(ClientError, match="CertificateNotFound"):
        aws["elbv2"].create_listener(**https)
    time.sleep(SETTLE)
    aws["elbv2"].create_listener(**https)
