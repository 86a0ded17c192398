# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``name | aws_webserver.core.resource_names(key_name=..., security_group=..., bucket_name=...,
account_id=..., region=...)``: the names deploy gives a deployment's resources, for every role
(deploy, teardown, interactive mode and monitor). The rules: module_utils/deployment_rules.py."""

from __future__ import annotations

from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_rules import resource_names


class FilterModule:
    def filters(self):
        return {"resource_names": resource_names}
