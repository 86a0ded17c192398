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
short_description: Write or remove a file of the run's own on the controller, without a module run
version_added: 1.2.0
description:
  - Writes O(content) to O(dest) on the controller, whole or not at all (a temporary file in the
    same folder, then a rename), with O(mode); changed only when the content or the mode differs.
  - With O(state=absent), removes the file O(dest) (or the link; never a folder); changed only when
    there was one.
  - For the files a playbook keeps for its operator (monitor.yml's reports, teardown's known_hosts
    and private key). M(ansible.builtin.copy) on localhost runs two modules to write one (C(stat),
    then C(copy)) and M(ansible.builtin.file) one to remove one, about half a second each here; this
    action works from the task's own worker process, as M(ansible.builtin.fetch) writes what it fetched.
  - It always writes on the controller, whatever host the task runs for.
  - Check mode writes and removes nothing and reports whether it would change the file; with
    C(--diff) it shows the change (for a removal, only that the file goes, never its content).
author:
  - Project team
options:
  content:
    description: The text to write; required with O(state=present).
    type: str
  dest:
    description:
      - The file to write on the controller. Its folder must exist.
    type: path
    required: true
  mode:
    description: The file's permissions, as an octal string (C("0644")) or a number.
    type: raw
    default: "0644"
  state:
    description: C(present) writes O(content) to O(dest); C(absent) removes O(dest).
    type: str
    choices: [present, absent]
    default: present
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

- name: Remove the deployment's known_hosts.
  aws_webserver.core.controller_file:
    dest: .ssh/web.known_hosts
    state: absent
"""

RETURN = r"""
dest:
  description: The file written, as given.
  returned: always
  type: str
  sample: reports/web-20261205T120000Z.json
size:
  description: The number of bytes of O(content) (UTF-8); 0 with O(state=absent).
  returned: always
  type: int
  sample: 2048
"""
