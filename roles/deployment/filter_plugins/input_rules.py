# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The settings check's rules, as filters (the rules themselves: module_utils/deployment_rules.py).

- ``values | deployment_settings_problems``: every rule the role's settings break, as sentences.
- ``value | deployment_problem('deployment_bucket_name')``: why a setting's value is not usable
  ('' when it is).
"""

from __future__ import annotations

from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_rules import (
    deployment_problem,
    deployment_settings_problems,
)


class FilterModule:
    def filters(self):
        return {
            "deployment_problem": deployment_problem,
            "deployment_settings_problems": deployment_settings_problems,
        }
