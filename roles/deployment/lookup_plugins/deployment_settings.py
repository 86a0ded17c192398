# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# ruff: noqa: E402

DOCUMENTATION = r"""
name: deployment_settings
author: Contributors to the Ansible project
short_description: Read the variables that are set, each resolved on its own, and say which cannot be
description:
  - Returns one mapping with three keys. C(values) maps every named variable that is set to its
    resolved value. C(unreadable) maps every named variable whose value holds a template that cannot
    be resolved (an undefined name in C({{ ... }}), a syntax error) to the reason. C(problems) says
    the same in one sentence per variable, for a message.
  - A value given with C(-e) is a template to Ansible, so a brace pair in a tag value is evaluated.
    Reading each variable on its own lets the settings check name the variable at fault in one
    sentence instead of failing the whole task with a Jinja error.
  - Names that are not set are left out of every key.
options:
  _terms:
    description: The variable names to read.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Read the deployment's settings.
  ansible.builtin.set_fact:
    settings: "{{ lookup('deployment_settings', *query('ansible.builtin.varnames', '^deployment_')) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: C(values) (name to resolved value), C(unreadable) (name to reason) and C(problems) (sentences).
  type: list
  elements: dict
"""

import json

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase


def _plain(value):
    """A fully resolved copy of `value` made of plain Python types (lazy containers resolved now)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (str, bool, int, float)) or value is None:
        return json.loads(json.dumps(value))
    return str(value)


def _reason(error: Exception) -> str:
    """The innermost cause of a templating error, in one line."""
    while error.__cause__ is not None:
        error = error.__cause__
    message = getattr(error, "message", None) or str(error)
    return message.strip().splitlines()[0] if message.strip() else type(error).__name__


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        values, unreadable = {}, {}
        for name in terms:
            if name not in variables:
                continue
            try:
                values[name] = _plain(self._templar.template(variables[name]))
            except (AnsibleError, ValueError, TypeError) as error:
                unreadable[name] = _reason(error)
        problems = [f"{name} cannot be read: {reason.rstrip('.')}." for name, reason in unreadable.items()]
        return [{"values": values, "unreadable": unreadable, "problems": problems}]
