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
module: web_page_check
short_description: Check a web page, its image and its HTTPS certificate from the controller, in one run
version_added: 1.2.0
description:
  - Asks for O(url) until it answers HTTP 200 (every 2 seconds, for at most O(wait) seconds), then
    checks that the page shows every string of O(contains).
  - With O(image_url), checks that the image answers HTTP 200 with an C(image/*) content type.
  - With O(certificate_host), reads the certificate the host presents on O(certificate_port)
    without verifying it (a self-signed one is expected), and returns its SHA-256 fingerprint. With
    O(certificate_fingerprint) too, the certificate must be that one. No answer on the port is not
    a failure; RV(certificate.error) says why, and the caller decides (a security group may keep
    the port closed on purpose).
  - One module run for what C(ansible.builtin.uri) twice and C(community.crypto.get_certificate)
    would do in three.
  - When a check fails, RV(problem) names it, so that a rescue can explain it in the caller's terms.
  - The module only reads. It runs the same way in check mode and never reports a change.
author:
  - Project team
options:
  url:
    description: The page to fetch (C(http://) or C(https://); an https page's certificate is not verified).
    type: str
    required: true
  contains:
    description: Strings the page must show, each somewhere in its HTML.
    type: list
    elements: str
    default: []
  wait:
    description:
      - Seconds to keep asking until the page answers HTTP 200. V(0) asks once.
    type: int
    default: 20
  timeout:
    description: Seconds to wait for each answer.
    type: int
    default: 10
  image_url:
    description: An image the page shows, which must answer HTTP 200 with an C(image/*) content type.
    type: str
  certificate_host:
    description: The host whose TLS certificate to read on O(certificate_port).
    type: str
  certificate_port:
    description: The port of O(certificate_host) that presents the certificate.
    type: int
    default: 443
  certificate_fingerprint:
    description:
      - The SHA-256 fingerprint the certificate must have, colon-separated hex as
        C(community.crypto.x509_certificate_info) writes it (case and colons do not matter).
    type: str
notes:
  - Requests go only to the addresses given; redirects are followed when they keep the method.
  - Requests carry C(ansible.builtin.uri)'s User-Agent, C(ansible-httpget), so that page-view counts
    can leave them out.
"""

EXAMPLES = r"""
- name: Check the page, its image and the certificate on port 443.
  web_page_check:
    url: "http://{{ address }}/"
    contains: ["{{ image_url }}", "{{ instance_id }}"]
    image_url: "{{ image_url }}"
    certificate_host: "{{ address }}"
    certificate_fingerprint: "{{ fingerprint }}"
  register: checked
"""

RETURN = r"""
page:
  description: The last answer for O(url) (C(status) -1 when nothing answered), and the strings of O(contains) it lacks.
  returned: always
  type: dict
  sample: {"status": 200, "missing": [], "error": ""}
image:
  description: The answer for O(image_url) (C(status) -1 when nothing answered); empty without O(image_url).
  returned: always
  type: dict
  sample: {"status": 200, "content_type": "image/jpeg", "error": ""}
certificate:
  description:
    - The certificate presented on O(certificate_port) of O(certificate_host), by its SHA-256 fingerprint;
      C(fingerprint_sha256) is empty and C(error) says why when the port gave none. Empty without O(certificate_host).
  returned: always
  type: dict
  sample: {"fingerprint_sha256": "3f:a1:...", "error": ""}
problem:
  description:
    - What failed, for the caller's explanation. V(page_unreachable) (no HTTP 200 within O(wait)),
      V(page_content) (a string of O(contains) is missing), V(image) (no image at O(image_url)),
      V(certificate) (another certificate than O(certificate_fingerprint)); empty when all is well.
  returned: always
  type: str
  sample: ""
"""

import socket
import ssl
import time
import urllib.error

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_http import USER_AGENT
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_rules import sha256_fingerprint

POLL_SECONDS = 2


def fetch(url, timeout):
    """(status, content type, body, error): status -1 when nothing answered."""
    try:
        response = open_url(url, timeout=timeout, validate_certs=False, follow_redirects="safe", http_agent=USER_AGENT)
        with response:
            return response.status, response.headers.get("Content-Type", ""), response.read(), ""
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", "") if error.headers else "", b"", f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return -1, "", b"", str(getattr(error, "reason", error))


def check_page(url, contains, wait, timeout):
    deadline = time.monotonic() + wait
    while True:
        status, _type, body, error = fetch(url, timeout)
        if status == 200 or time.monotonic() + POLL_SECONDS > deadline:
            break
        time.sleep(POLL_SECONDS)
    text = body.decode("utf-8", "replace")
    missing = [wanted for wanted in contains if wanted not in text] if status == 200 else list(contains)
    return {"status": status, "missing": missing, "error": error}


def check_image(url, timeout):
    status, content_type, _body, error = fetch(url, timeout)
    return {"status": status, "content_type": content_type, "error": error}


def read_certificate(host, port, timeout):
    """The SHA-256 fingerprint of the certificate host:port presents, and '' or why there is none."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as error:
        return {"fingerprint_sha256": "", "error": str(error) or type(error).__name__}
    if not der:
        return {"fingerprint_sha256": "", "error": "the TLS handshake gave no certificate"}
    return {"fingerprint_sha256": sha256_fingerprint(der), "error": ""}


def normalised(fingerprint):
    return (fingerprint or "").replace(":", "").lower()


def first_problem(params, page, image, certificate):
    """(problem, message) of the first check that failed, or ('', '')."""
    if page["status"] != 200:
        why = page["error"] or f"HTTP {page['status']}"
        return "page_unreachable", f"{params['url']} did not answer HTTP 200 within {params['wait']} s ({why})."
    if page["missing"]:
        return "page_content", f"{params['url']} answers, but does not show {', '.join(page['missing'])}."
    if image and (image["status"] != 200 or not image["content_type"].startswith("image/")):
        status = image["status"] if image["status"] > 0 else "no answer"
        return "image", (
            f"{params['image_url']} did not answer with an image "
            f"(HTTP {status}, {image['content_type'] or 'no content type'})."
        )
    found = certificate.get("fingerprint_sha256")
    wanted = params["certificate_fingerprint"]
    if wanted and found and normalised(found) != normalised(wanted):
        where = f"{params['certificate_host']}:{params['certificate_port']}"
        return "certificate", f"{where} presents a certificate with SHA-256 fingerprint {found}, not {wanted}."
    return "", ""


def main():
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "contains": {"type": "list", "elements": "str", "default": []},
            "wait": {"type": "int", "default": 20},
            "timeout": {"type": "int", "default": 10},
            "image_url": {"type": "str"},
            "certificate_host": {"type": "str"},
            "certificate_port": {"type": "int", "default": 443},
            "certificate_fingerprint": {"type": "str", "no_log": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["wait"] < 0 or params["timeout"] <= 0:
        module.fail_json(
            msg=f"wait must be 0 or more and timeout more than 0 seconds, got {params['wait']} and {params['timeout']}"
        )

    page = check_page(params["url"], params["contains"], params["wait"], params["timeout"])
    image = check_image(params["image_url"], params["timeout"]) if params["image_url"] else {}
    certificate = {}
    if params["certificate_host"]:
        certificate = read_certificate(params["certificate_host"], params["certificate_port"], params["timeout"])
    problem, msg = first_problem(params, page, image, certificate)
    result = {"changed": False, "page": page, "image": image, "certificate": certificate, "problem": problem}
    if problem:
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
