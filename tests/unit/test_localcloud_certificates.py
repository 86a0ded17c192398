"""The local cloud's ACM rules (localcloud/awsrules.py), against moto in this process with the
rules installed: a certificate a listener uses cannot be deleted, and InUseBy follows the
listeners (plain moto deletes it, and names a deleted balancer for ever)."""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from moto import mock_aws

from localcloud import awsrules

REGION = "eu-west-1"


def self_signed(name: str) -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False).sign(key, hashes.SHA256())
    )  # fmt: skip
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM), private


@pytest.fixture
def aws():
    awsrules.install_certificate_rules()
    with mock_aws():
        yield {s: boto3.client(s, region_name=REGION) for s in ("acm", "ec2", "elbv2")}


def test_a_certificate_a_listener_uses_cannot_be_deleted_until_its_balancer_is(aws):
    body, key = self_signed("site.example")
    arn = aws["acm"].import_certificate(Certificate=body, PrivateKey=key)["CertificateArn"]
    subnets = [s["SubnetId"] for s in aws["ec2"].describe_subnets()["Subnets"][:2]]
    balancer = aws["elbv2"].create_load_balancer(Name="web-lb", Subnets=subnets)["LoadBalancers"][0]
    vpc = aws["ec2"].describe_vpcs()["Vpcs"][0]["VpcId"]
    group = aws["elbv2"].create_target_group(Name="web-tg", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    aws["elbv2"].create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": arn}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )  # fmt: skip
    assert aws["acm"].describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"] == [
        balancer["LoadBalancerArn"]
    ]
    with pytest.raises(ClientError, match="ResourceInUseException"):
        aws["acm"].delete_certificate(CertificateArn=arn)
    aws["elbv2"].delete_load_balancer(LoadBalancerArn=balancer["LoadBalancerArn"])
    assert aws["acm"].describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"] == []
    assert aws["acm"].list_certificates()["CertificateSummaryList"][0]["InUse"] is False
    aws["acm"].delete_certificate(CertificateArn=arn)
    assert aws["acm"].list_certificates()["CertificateSummaryList"] == []
