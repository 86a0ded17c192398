#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible module layout: the documentation strings come before the imports, and the
# encoding line is kept as in the amazon.aws modules.
# ruff: noqa: E402, UP009

DOCUMENTATION = r"""
---
module: acm_certificate_self_signed
short_description: Ensure AWS Certificate Manager holds a self-signed certificate for a name, made in memory
version_added: 1.0.0
description:
  - Gives a load balancer an HTTPS certificate without a domain of your own, as the single instance
    makes one for itself at boot. The certificate is self-signed (browsers warn, and the deploy run
    prints its SHA-256 fingerprint to compare against).
  - With O(state=present), finds the imported certificates tagged C(Name=)O(name) and carrying every
    tag in O(tags). One that covers O(domain) and is valid for more than O(renew_days) days is kept
    as it is. Otherwise the module makes an RSA 2048 key and a certificate for O(domain) in its own
    memory and imports both with ImportCertificate, tags included; the private key is written to no
    file, no Ansible variable and no log, and AWS never hands it out again.
  - The module's other certificates of that name that nothing uses any more (replaced by a new one
    on an earlier run) are deleted.
  - With O(state=absent), deletes every certificate tagged C(Name=)O(name) that carries every tag in
    O(tags), waiting while a deleted load balancer still holds it (ResourceInUseException).
  - Unlike M(community.aws.acm_certificate), which takes the key as an option and tags the
    certificate after importing it, this module creates the certificate with its tags in one call,
    so an IAM policy can require them (C(aws:RequestTag)).
  - In check mode it reports what it would import or delete and changes nothing.
author:
  - Project team
options:
  name:
    description:
      - The value of the certificate's C(Name) tag, by which the module finds it.
    type: str
    required: true
  domain:
    description:
      - The DNS name (or IP address) the certificate covers, as its subject alternative name; for a
        load balancer, its DNS name. Required with O(state=present).
    type: str
  common_name:
    description:
      - The certificate's subject common name (at most 64 characters; longer names are cut). Defaults
        to O(domain) cut to 64 characters.
    type: str
  tags:
    description:
      - Tags the certificate gets, besides C(Name). Found certificates must carry all of them, so
        the module never touches a certificate another tool made.
    type: dict
    default: {}
  days:
    description:
      - How long a new certificate is valid.
    type: int
    default: 825
  renew_days:
    description:
      - A certificate valid for fewer days than this is replaced by a new one.
    type: int
    default: 30
  state:
    description:
      - Whether the certificate should exist.
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description:
      - With O(state=absent), how many seconds to retry a certificate AWS still counts in use (a load
        balancer deleted a moment ago releases it within seconds).
    type: int
    default: 300
notes:
  - "IAM: C(acm:ListCertificates), C(acm:ListTagsForCertificate), C(acm:GetCertificate),
    C(acm:ImportCertificate) and C(acm:AddTagsToCertificate) (ImportCertificate with tags needs both),
    C(acm:DeleteCertificate)."
# The AWS connection options (region, endpoint_url, credentials), as amazon.aws's modules have them.
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
requirements: [cryptography]
"""

EXAMPLES = r"""
- name: Ensure the load balancer has a self-signed certificate in ACM.
  acm_certificate_self_signed:
    name: demo-https
    domain: demo-lb-1234567890.us-east-1.elb.amazonaws.com
    common_name: demo
    tags:
      Deployment: demo
      ManagedBy: ansible-aws-webserver
  register: certificate

- name: Ensure the certificate is deleted (after its load balancer).
  acm_certificate_self_signed:
    name: demo-https
    tags:
      Deployment: demo
      ManagedBy: ansible-aws-webserver
    state: absent
"""

RETURN = r"""
arn:
  description: The certificate's ARN (empty in check mode when it would be imported, and with O(state=absent)).
  returned: always
  type: str
  sample: arn:aws:acm:us-east-1:123456789012:certificate/8c3c8e5e-4d7e-4c4e-9a61-1f5b7b0e2f3a
domain:
  description: The name the certificate covers.
  returned: when O(state=present)
  type: str
  sample: demo-lb-1234567890.us-east-1.elb.amazonaws.com
not_after:
  description: The end of the certificate's validity (ISO 8601).
  returned: when O(state=present)
  type: str
  sample: "2029-03-09T10:12:00+00:00"
fingerprint_sha256:
  description: The certificate's SHA-256 fingerprint, colon-separated lower-case hex (as community.crypto writes it).
  returned: when O(state=present)
  type: str
  sample: "3a:5f:...:9c"
certificate:
  description: The certificate, PEM-encoded (public; the private key is never returned).
  returned: when O(state=present)
  type: str
deleted:
  description: The ARNs of the certificates deleted (in check mode, that would be deleted).
  returned: always
  type: list
  elements: str
"""

import datetime
import ipaddress
import ssl
import time

try:  # noqa: SIM105 - the amazon.aws pattern; AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:
    x509 = None

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import (
    ModuleError,
    fail,
    tagged_certificates,
)
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_rules import sha256_fingerprint

RETRY_SECONDS = 5


def fingerprint(pem):
    """The SHA-256 fingerprint of a PEM certificate, as community.crypto's x509_certificate_info writes it."""
    return sha256_fingerprint(ssl.PEM_cert_to_DER_cert(pem))


def make(domain, common_name, days):
    """A new RSA 2048 key and a self-signed certificate for `domain`, both PEM (bytes), in memory."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    try:
        alternative = x509.IPAddress(ipaddress.ip_address(domain))
    except ValueError:
        alternative = x509.DNSName(domain)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (common_name or domain)[:64])])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([alternative]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), private


def covered(pem):
    """The DNS names and IP addresses a PEM certificate covers (its subject alternative names)."""
    try:
        names = x509.load_pem_x509_certificate(pem.encode()).extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
    except x509.ExtensionNotFound:
        return set()
    return set(names.value.get_values_for_type(x509.DNSName)) | {
        str(a) for a in names.value.get_values_for_type(x509.IPAddress)
    }


def current(acm, found, domain, renew_days):
    """The newest found certificate (and its PEM) that covers `domain` and stays valid past the
    renewal window: ACM's DomainName is the subject's common name, so the names are read from the
    certificate itself (GetCertificate, newest first; usually one call)."""
    horizon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=renew_days)
    for candidate in sorted(found, key=lambda c: c["not_after"], reverse=True):
        if not candidate["not_after"] or datetime.datetime.fromisoformat(candidate["not_after"]) <= horizon:
            continue
        pem = acm.get_certificate(CertificateArn=candidate["arn"], aws_retry=True)["Certificate"]
        if domain in covered(pem):
            return candidate, pem
    return None, ""


def delete(acm, arn, deadline, required=True):
    """Deletes a certificate, retrying while AWS counts it in use until `deadline` (monotonic); then
    fails, or (not `required`) leaves it and returns False."""
    while True:
        try:
            acm.delete_certificate(CertificateArn=arn, aws_retry=True)
            return True
        except is_boto3_error_code("ResourceNotFoundException"):
            return True
        except is_boto3_error_code("ResourceInUseException") as e:
            if time.monotonic() >= deadline:
                if not required:
                    return False
                raise ModuleError(
                    f"The certificate {arn} is still in use (by a load balancer's HTTPS listener). Delete the load "
                    "balancer first, or run again in a few minutes.",
                    e,
                ) from e
            time.sleep(RETRY_SECONDS)


def present(module, acm, found):
    params = module.params
    kept, pem = current(acm, found, params["domain"], params["renew_days"])
    result = {"changed": False, "deleted": []}
    if kept is None:
        result["changed"] = True
        if module.check_mode:
            return {**result, "arn": "", "domain": params["domain"], "not_after": "", "fingerprint_sha256": "",
                    "certificate": ""}  # fmt: skip
        body, private = make(params["domain"], params["common_name"], params["days"])
        tags = [{"Key": k, "Value": str(v)} for k, v in {**params["tags"], "Name": params["name"]}.items()]
        try:
            arn = acm.import_certificate(Certificate=body, PrivateKey=private, Tags=tags, aws_retry=True)[
                "CertificateArn"
            ]
        except (ClientError, BotoCoreError) as e:
            raise ModuleError(f"Could not import the certificate {params['name']} into ACM", e) from e
        pem = body.decode()
        not_after = x509.load_pem_x509_certificate(body).not_valid_after_utc.isoformat()
    else:
        arn, not_after = kept["arn"], kept["not_after"]
    # The module's earlier certificates of this name that no listener uses any more.
    stale = [c["arn"] for c in found if c["arn"] != arn and not c["in_use"]]
    if not module.check_mode:
        stale = [old for old in stale if delete(acm, old, time.monotonic(), required=False)]
    if stale:
        result["changed"] = True
        result["deleted"] = stale
    return {**result, "arn": arn, "domain": params["domain"], "not_after": not_after,
            "fingerprint_sha256": fingerprint(pem), "certificate": pem}  # fmt: skip


def absent(module, acm, found):
    arns = [c["arn"] for c in found]
    if arns and not module.check_mode:
        deadline = time.monotonic() + module.params["wait_timeout"]
        for arn in arns:
            delete(acm, arn, deadline)
    return {"changed": bool(arns), "arn": "", "deleted": arns}


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "domain": {"type": "str"},
            "common_name": {"type": "str"},
            "tags": {"type": "dict", "default": {}},
            "days": {"type": "int", "default": 825},
            "renew_days": {"type": "int", "default": 30},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "wait_timeout": {"type": "int", "default": 300},
        },
        required_if=[("state", "present", ["domain"])],
        supports_check_mode=True,
    )
    if x509 is None:
        module.fail_json(
            msg="The Python library cryptography is required on the controller (pip install cryptography)."
        )
    params = module.params
    acm = module.client("acm", retry_decorator=AWSRetry.jittered_backoff())
    try:
        found = tagged_certificates(acm, {**params["tags"], "Name": params["name"]})
        result = present(module, acm, found) if params["state"] == "present" else absent(module, acm, found)
    except ModuleError as e:
        fail(module, e)
    except (ClientError, BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not look up the certificates named {params['name']} in ACM")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
