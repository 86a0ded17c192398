#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The action plugin of the same name (the collection's plugins/action/controller_file.py) does the
# work; this file holds its documentation, as ansible.builtin.debug's does.
# ruff: noqa: UP009

DOCUMENTATION = r"""
---
module: controller_file
short_description: Write a file of the run's own output on the controller, without a module run
version_added: 1.2.0
description:
  - Writes O(content) to O(dest) on the controller, whole or not at all (a temporary file in the
    same folder, then a rename), with O(mode); changed only when the content or the mode differs.
  - For what a playbook writes for its operator (monitor.yml's reports). M(ansible.builtin.copy) on
    localhost runs two modules for it (C(stat), then C(copy)), about a second here; this action
    writes from the task's own worker process, as M(ansible.builtin.fetch) writes what it fetched.
  - It always writes on the controller, whatever host the task runs for.
  - Check mode writes nothing and reports whether it would change the file; with C(--diff) it shows
    the change.
author:
  - Project team
options:
  content:
    description: The text to write.
    type: str
    required: true
  dest:
    description:
      - The file to write on the controller. Its folder must exist.
    type: path
    required: true
  mode:
    description: The file's permissions, as an octal string (C("0644")) or a number.
    type: raw
    default: "0644"
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - An action plugin only - the file is written by the controller's Python, never on a managed host.
"""

EXAMPLES = r"""
- name: Write the report as JSON.
  aws_webserver.core.controller_file:
    content: "{{ report | to_nice_json(indent=2) }}\n"
    dest: reports/web-20261205T120000Z.json
    mode: "0644"
"""

RETURN = r"""
dest:
  description: The file written, as given.
  returned: always
  type: str
  sample: reports/web-20261205T120000Z.json
size:
  description: The number of bytes of O(content) (UTF-8).
  returned: always
  type: int
  sample: 2048
"""
