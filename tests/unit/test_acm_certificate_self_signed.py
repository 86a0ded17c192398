"""library/acm_certificate_self_signed.py against moto's server: a certificate made in memory,
imported with its tags, kept while it covers the name, replaced when it does not, deleted."""

from __future__ import annotations

import hashlib
import ssl
import uuid

import pytest
from cryptography import x509

TAGS = {"Deployment": "demo", "ManagedBy": "ansible-aws-webserver"}


@pytest.fixture
def acm(moto_client):
    return moto_client("acm")


def named(acm, name):
    arns = [c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"]]
    return [
        a for a in arns if {"Key": "Name", "Value": name} in acm.list_tags_for_certificate(CertificateArn=a)["Tags"]
    ]


def test_a_certificate_is_made_imported_with_its_tags_and_kept_on_a_rerun(acm, run_module):
    name = f"c{uuid.uuid4().hex[:8]}-https"
    rc, made = run_module("acm_certificate_self_signed", name=name, domain="demo-lb-1.us-east-1.elb.amazonaws.com",
                          common_name="demo", tags=TAGS)  # fmt: skip
    assert rc == 0, made
    assert made["changed"] is True and made["arn"].startswith("arn:aws:acm:")
    tags = {t["Key"]: t["Value"] for t in acm.list_tags_for_certificate(CertificateArn=made["arn"])["Tags"]}
    assert tags == {**TAGS, "Name": name}
    pem = acm.get_certificate(CertificateArn=made["arn"])["Certificate"]
    assert made["certificate"].strip() == pem.strip()
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    assert made["fingerprint_sha256"].replace(":", "") == digest
    parsed = x509.load_pem_x509_certificate(pem.encode())
    names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["demo-lb-1.us-east-1.elb.amazonaws.com"]
    assert parsed.subject.rfc4514_string() == "CN=demo"
    assert "PRIVATE KEY" not in str(made), "the private key is never returned"
    rc, again = run_module("acm_certificate_self_signed", name=name, domain="demo-lb-1.us-east-1.elb.amazonaws.com",
                           tags=TAGS)  # fmt: skip
    assert rc == 0 and again["changed"] is False and again["arn"] == made["arn"]
    assert again["fingerprint_sha256"] == made["fingerprint_sha256"]


def test_an_ip_address_goes_in_as_one_and_a_new_name_replaces_the_certificate(acm, run_module):
    name = f"c{uuid.uuid4().hex[:8]}-https"
    first = run_module("acm_certificate_self_signed", name=name, domain="127.0.3.4", tags=TAGS)[1]
    parsed = x509.load_pem_x509_certificate(first["certificate"].encode())
    names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["127.0.3.4"]
    rc, second = run_module("acm_certificate_self_signed", name=name, domain="127.0.3.5", tags=TAGS)
    assert rc == 0 and second["changed"] is True and second["arn"] != first["arn"]
    # The first one is in use by nothing: the run that replaced it deleted it.
    assert second["deleted"] == [first["arn"]]
    assert named(acm, name) == [second["arn"]]


def test_check_mode_imports_nothing(acm, run_module):
    name = f"c{uuid.uuid4().hex[:8]}-https"
    rc, result = run_module("acm_certificate_self_signed", check_mode=True, name=name, domain="a.example", tags=TAGS)
    assert rc == 0 and result["changed"] is True and result["arn"] == ""
    assert named(acm, name) == []


def test_absent_deletes_only_certificates_with_every_tag(acm, run_module):
    name = f"c{uuid.uuid4().hex[:8]}-https"
    ours = run_module("acm_certificate_self_signed", name=name, domain="a.example", tags=TAGS)[1]["arn"]
    theirs = run_module("acm_certificate_self_signed", name=name, domain="a.example",
                        tags={"Deployment": "demo", "ManagedBy": "someone-else"})[1]["arn"]  # fmt: skip
    rc, checked = run_module("acm_certificate_self_signed", check_mode=True, name=name, tags=TAGS, state="absent")
    assert rc == 0 and checked["changed"] is True and checked["deleted"] == [ours]
    rc, gone = run_module("acm_certificate_self_signed", name=name, tags=TAGS, state="absent")
    assert rc == 0 and gone["deleted"] == [ours]
    assert named(acm, name) == [theirs]
    rc, again = run_module("acm_certificate_self_signed", name=name, tags=TAGS, state="absent")
    assert rc == 0 and again["changed"] is False and again["deleted"] == []


def test_present_without_a_domain_says_what_is_missing(run_module):
    rc, result = run_module("acm_certificate_self_signed", name="x-https")
    assert rc != 0 and "domain" in result["msg"]
