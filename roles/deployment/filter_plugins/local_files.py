# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Files on the controller, read where the filter runs (the deployment role's tasks run on localhost).

- ``path | deployment_local_file``: {'exists': bool, 'mode': '0600' or '', 'directory': bool} of a
  file (``exists``: a regular file) or folder, the part of ``ansible.builtin.stat`` the key pair
  tasks need, without a module run.
"""

from __future__ import annotations

import os
import stat


def deployment_local_file(path: str) -> dict:
    """Whether `path` is a file (or a folder) on the controller, and its permission bits as stat
    gives them ('0600')."""
    try:
        found = os.stat(os.path.expanduser(str(path)))
    except OSError:
        return {"exists": False, "mode": "", "directory": False}
    mode = f"{stat.S_IMODE(found.st_mode):04o}"
    if stat.S_ISDIR(found.st_mode):
        return {"exists": False, "mode": mode, "directory": True}
    if not stat.S_ISREG(found.st_mode):
        return {"exists": False, "mode": "", "directory": False}
    return {"exists": True, "mode": mode, "directory": False}


class FilterModule:
    def filters(self):
        return {"deployment_local_file": deployment_local_file}
