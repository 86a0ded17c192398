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
module: ec2_host_keys
short_description: Read an EC2 instance's SSH host keys from its console output
version_added: 1.0.0
description:
  - At first boot, cloud-init prints the instance's SSH host public keys to the console between
    C(-----BEGIN SSH HOST KEY KEYS-----) and C(-----END SSH HOST KEY KEYS-----).
  - This module reads the console output with C(GetConsoleOutput) (latest output where the
    instance type supports it), waits up to O(timeout) seconds for that block, and returns the
    keys as C(known_hosts) lines for the instance's public address.
  - Pinning these keys before the first SSH connection means the first connection is already
    verified, instead of trusting whatever answers on first use.
  - With O(path), it also pins the keys in that known_hosts file (the host's earlier lines replaced,
    other hosts' kept), in the same run; it reports a change when the file changes, and supports
    check mode and diff. Without O(path) it only reads and never reports a change.
author:
  - Project team
options:
  instance_id:
    description:
      - ID of the instance.
    type: str
    required: true
  host:
    description:
      - Host name or address the known_hosts lines are for, usually the instance's public IP.
    type: str
    required: true
  timeout:
    description:
      - Seconds to wait for the keys to appear in the console output.
      - On AWS the console output can take a few minutes to appear after launch.
    type: int
    default: 120
  path:
    description:
      - A known_hosts file to pin the keys in (created with mode 0600, its folder with 0700, when
        missing). Nothing is written when no key was found.
      - Empty, the keys are only returned.
    type: path
  key_types:
    description:
      - Key types to return, in order of preference.
    type: list
    elements: str
    default: [ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa]
# The AWS connection options (region, endpoint_url, credentials), as amazon.aws's modules have them.
extends_documentation_fragment: [amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Read the instance's host keys from its console.
  ec2_host_keys:
    instance_id: i-0123456789abcdef0
    host: 203.0.113.10
  register: host_keys

- name: Pin them in the project's known_hosts.
  ansible.builtin.known_hosts:
    path: .ssh/known_hosts
    name: 203.0.113.10
    key: "{{ item }}"
  loop: "{{ host_keys.known_hosts }}"
"""

RETURN = r"""
found:
  description: Whether the host key block was found in the console output within the timeout.
  returned: always
  type: bool
  sample: true
known_hosts:
  description: C(known_hosts) lines (host, key type, key), one per key type found, in O(key_types) order.
  returned: always
  type: list
  elements: str
  sample: ["203.0.113.10 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL..."]
path:
  description: The known_hosts file the keys were pinned in.
  returned: when O(path) is given
  type: str
waited:
  description: Seconds spent waiting for the console output.
  returned: always
  type: float
  sample: 2.5
"""

import base64
import os
import re
import tempfile
import time

try:  # noqa: SIM105 - the amazon.aws pattern; AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_aws import ModuleError, fail

BLOCK = re.compile(r"-----BEGIN SSH HOST KEY KEYS-----(.*?)-----END SSH HOST KEY KEYS-----", re.S)
KEY_LINE = re.compile(r"^(?P<type>[a-z0-9@.-]+)\s+(?P<key>[A-Za-z0-9+/=]+)(?:\s|$)")


def parse_host_keys(console: str) -> dict[str, str]:
    """The host keys in a console output, by key type."""
    keys: dict[str, str] = {}
    for block in BLOCK.findall(console):
        for line in block.splitlines():
            match = KEY_LINE.match(line.strip())
            if match:
                keys[match["type"]] = match["key"]
    return keys


def console_output(client, instance_id):
    try:
        try:
            response = client.get_console_output(InstanceId=instance_id, Latest=True, aws_retry=True)
        except (ClientError, BotoCoreError) as e:
            if "Latest" not in str(e) and "UnsupportedOperation" not in str(e):
                raise
            # Older instance types only have the output captured at boot.
            response = client.get_console_output(InstanceId=instance_id, aws_retry=True)
    except (ClientError, BotoCoreError) as e:
        raise ModuleError(f"Unable to read the console output of {instance_id}", e) from e
    output = response.get("Output") or ""
    try:
        return base64.b64decode(output, validate=True).decode("utf-8", "replace")
    except ValueError:
        return output


def pin(module, path, host, lines):
    """Write lines into the known_hosts file at path in place of the host's earlier ones; whether it changed."""
    try:
        with open(path, encoding="utf-8") as handle:
            before = handle.read()
    except FileNotFoundError:
        before = ""
    kept = [
        line
        for line in before.splitlines()
        if line.startswith("#") or not line.split() or host not in line.split()[0].split(",")
    ]
    after = "\n".join(kept + lines) + "\n"
    changed = after != before
    if changed and not module.check_mode:
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, mode=0o700, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".known_hosts.")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(after)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    return changed, {"before": before, "after": after, "before_header": path, "after_header": path}


def pin_host_keys(module, client):
    """Waits for the instance's host keys on its console, pins them if asked; the module's result."""
    started = time.monotonic()
    keys: dict[str, str] = {}
    while True:
        keys = parse_host_keys(console_output(client, module.params["instance_id"]))
        if keys or time.monotonic() - started >= module.params["timeout"]:
            break
        time.sleep(2)
    host = module.params["host"]
    lines = [f"{host} {kind} {keys[kind]}" for kind in module.params["key_types"] if kind in keys]
    waited = round(time.monotonic() - started, 1)
    result = {"changed": False, "found": bool(lines), "known_hosts": lines, "waited": waited}
    if module.params["path"] and lines:
        try:
            result["changed"], diff = pin(module, module.params["path"], host, lines)
        except OSError as e:
            raise ModuleError(f"Unable to write the host keys to {module.params['path']}: {e}") from e
        result["path"] = module.params["path"]
        if module._diff:
            result["diff"] = diff
    return result


def main():
    argument_spec = {
        "instance_id": {"type": "str", "required": True},
        "host": {"type": "str", "required": True},
        "timeout": {"type": "int", "default": 120},
        "path": {"type": "path"},
        "key_types": {"type": "list", "elements": "str", "default": ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"]},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    try:
        result = pin_host_keys(module, client)
    except ModuleError as e:
        fail(module, e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
