#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible module layout: the documentation strings come before the imports.
# ruff: noqa: E402, UP009

DOCUMENTATION = r"""
---
module: access_log_mark
short_description: Move the web server's page-view high-water mark past the page views published
version_added: 1.0.0
description:
  - Runs on the web server. Writes the mark that M(aws_webserver.core.access_log_info) returned
    (RV(aws_webserver.core.access_log_info#module:page_views.mark)) to O(state_file), so the next count
    starts after the page views just published.
  - Do this only after the page views have been published, or they are never counted.
  - Changes nothing when O(state_file) already holds the same inode and offset.
  - The file is replaced atomically (a temporary file renamed over it), mode C(0644); its folder is created.
author:
  - Project team
options:
  mark:
    description: The high-water mark to write.
    type: dict
    required: true
    suboptions:
      inode:
        description: Inode of the access log.
        type: int
        required: true
      offset:
        description: Byte offset in the access log up to which page views were published (0 or more).
        type: int
        required: true
      path:
        description: Path of the access log, for the record.
        type: str
      timestamp:
        description: When the mark was taken, ISO 8601 in UTC, for the record.
        type: str
      head_length:
        description: Number of bytes at the start of the log covered by O(mark.head_sha256).
        type: int
      head_sha256:
        description:
          - SHA-256 of the first O(mark.head_length) bytes of the log. A later count compares it, so a new
            log that happens to get the old one's inode number is not taken for the old one.
        type: str
  state_file:
    description:
      - File on the web server holding the page-view high-water mark (JSON); the same as access_log_info's.
    type: path
    default: /var/lib/webserver-monitor/last-publish
notes:
  - Needs write access to O(state_file) (use C(become)).
  - Supports check mode (reports the change, writes nothing) and diff mode (the mark before and after).
seealso:
  - module: aws_webserver.core.access_log_info
"""

EXAMPLES = r"""
- name: Count the page views not published yet.
  access_log_info:
    access_log: /var/log/apache2/access.log
  become: true
  register: _logs

- name: Remember that the page views were published.
  access_log_mark:
    mark: "{{ _logs.page_views.mark }}"
  become: true
"""

RETURN = r"""
mark:
  description: The mark written (or that would be written in check mode).
  returned: success
  type: dict
  sample: {"inode": 1234567, "offset": 123456, "path": /var/log/apache2/access.log}
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.aws_webserver.core.plugins.module_utils.access_log_mark import load_mark, stored, write_mark


def _text(mark):
    return json.dumps(mark, indent=2, sort_keys=True) + "\n" if mark else ""


def main():
    module = AnsibleModule(
        argument_spec={
            "mark": {
                "type": "dict",
                "required": True,
                "options": {
                    "inode": {"type": "int", "required": True},
                    "offset": {"type": "int", "required": True},
                    "path": {"type": "str"},
                    "timestamp": {"type": "str"},
                    "head_length": {"type": "int"},
                    "head_sha256": {"type": "str"},
                },
            },
            "state_file": {"type": "path", "default": "/var/lib/webserver-monitor/last-publish"},
        },
        supports_check_mode=True,
    )
    state_file, wanted = module.params["state_file"], stored(module.params["mark"])
    if wanted["offset"] < 0:
        module.fail_json(msg=f"mark.offset must be 0 or more, got {wanted['offset']}")
    try:
        current, _problem = load_mark(state_file)
    except OSError as e:
        module.fail_json(msg=f"Unable to read the page-view mark in {state_file}: {e}")
    before = stored(current) if current else None
    changed = not (before and before["inode"] == wanted["inode"] and before["offset"] == wanted["offset"])
    if changed and not module.check_mode:
        try:
            write_mark(state_file, wanted)
        except OSError as e:
            module.fail_json(msg=f"Unable to write the page-view mark to {state_file}: {e}")
    diff = {"before": _text(before), "after": _text(wanted), "before_header": state_file, "after_header": state_file}
    module.exit_json(changed=changed, mark=wanted, diff=diff if changed else {})


if __name__ == "__main__":
    main()
