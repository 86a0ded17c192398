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
module: ec2_instance_metadata
short_description: Read the instance metadata values a page shows, with IMDSv2, on the instance itself
version_added: 1.1.0
description:
  - Runs on an EC2 instance. Asks the instance metadata service for an IMDSv2 session token,
    then reads only the values a home page shows (instance id and type, AMI, region and zone,
    subnet and VPC of the primary interface, private and public address, security groups).
  - C(amazon.aws.ec2_metadata_facts) walks the whole metadata tree (hundreds of requests);
    this module makes a dozen.
  - Only the Python standard library is used, so nothing needs installing on the instance.
  - The module only reads. It runs the same way in check mode and never reports a change.
author:
  - Project team
options:
  endpoint:
    description:
      - The metadata service's address; C(http://[fd00:ec2::254]) on instances that use its IPv6 endpoint.
    type: str
    default: http://169.254.169.254
  timeout:
    description: Seconds to wait for each answer of the metadata service.
    type: int
    default: 5
  token_ttl:
    description: Lifetime in seconds of the IMDSv2 session token (1 to 21600).
    type: int
    default: 60
notes:
  - The metadata service answers only on the instance, at 169.254.169.254; the module never runs
    anywhere else in this project.
"""

EXAMPLES = r"""
- name: Read the instance's metadata.
  ec2_instance_metadata:
  register: found

- name: Show the instance's zone.
  ansible.builtin.debug:
    msg: "{{ found.metadata.availability_zone }}"
"""

RETURN = r"""
metadata:
  description:
    - C(instance_id), C(instance_type), C(ami_id), C(region), C(availability_zone), C(subnet_id),
      C(vpc_id), C(private_ip), C(public_ip) (empty without one), C(security_groups) (names, comma-separated).
  returned: success
  type: dict
  sample:
    instance_id: i-0123456789abcdef0
    availability_zone: us-east-1a
"""

import urllib.error
import urllib.request

from ansible.module_utils.basic import AnsibleModule

IMDS = "http://169.254.169.254"
# What the page shows: the result's key and the metadata path ({mac}: the primary interface's).
VALUES = {
    "instance_id": "instance-id",
    "instance_type": "instance-type",
    "ami_id": "ami-id",
    "region": "placement/region",
    "availability_zone": "placement/availability-zone",
    "subnet_id": "network/interfaces/macs/{mac}/subnet-id",
    "vpc_id": "network/interfaces/macs/{mac}/vpc-id",
    "private_ip": "local-ipv4",
    "public_ip": "public-ipv4",
    "security_groups": "security-groups",
}
OPTIONAL = {"public_ip"}  # an instance without a public address has no public-ipv4


class Imds:
    def __init__(self, endpoint, timeout, token_ttl):
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        request = urllib.request.Request(
            f"{self.endpoint}/latest/api/token",
            method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": str(token_ttl)},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            self.token = response.read().decode()

    def get(self, path):
        """The value at latest/meta-data/<path>, or None when the service has none (404)."""
        request = urllib.request.Request(
            f"{self.endpoint}/latest/meta-data/{path}", headers={"X-aws-ec2-metadata-token": self.token}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read().decode().strip()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise


def main():
    module = AnsibleModule(
        argument_spec={
            "endpoint": {"type": "str", "default": IMDS},
            "timeout": {"type": "int", "default": 5},
            "token_ttl": {"type": "int", "default": 60},
        },
        supports_check_mode=True,
    )
    try:
        imds = Imds(module.params["endpoint"], module.params["timeout"], module.params["token_ttl"])
        mac = imds.get("mac")
        metadata = {}
        for key, path in VALUES.items():
            value = imds.get(path.format(mac=mac))
            if value is None and key not in OPTIONAL:
                module.fail_json(msg=f"The instance metadata service has no {path.format(mac=mac)}.")
            metadata[key] = (value or "").replace("\n", ", ")
    except urllib.error.HTTPError as error:
        module.fail_json(
            msg=f"The instance metadata service answered HTTP {error.code} ({error.reason}) at {error.url}. "
            "A 401 means the IMDSv2 token was refused; a 403, that the instance's metadata options "
            "turn the service off."
        )
    except (urllib.error.URLError, OSError) as error:
        module.fail_json(
            msg=f"Could not reach the instance metadata service at {module.params['endpoint']} ({error}): "
            "this is not an EC2 instance, "
            "its metadata endpoint is disabled, or the token's hop limit is too low for a container."
        )
    module.exit_json(changed=False, metadata=metadata)


if __name__ == "__main__":
    main()
