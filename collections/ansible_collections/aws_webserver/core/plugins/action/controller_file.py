# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""aws_webserver.core.controller_file: write or remove a file of the run's own on the controller, from
the task's worker process (no module run). Documented in library/controller_file.py."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase

ARGUMENT_SPEC = {
    "content": {"type": "str"},
    "dest": {"type": "path", "required": True},
    "mode": {"type": "raw", "default": "0644"},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
}
REQUIRED_IF = [["state", "present", ["content"]]]


def file_mode(value) -> int:
    """Permissions given as "0644", "644" or 420 (YAML's 0644)."""
    try:
        mode = value if isinstance(value, int) else int(str(value), 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        raise AnsibleActionFail(f'mode={value!r} is not a file mode: give octal permissions such as "0644".')
    return mode


def read(path: str) -> tuple[bytes | None, int | None]:
    """(content, permission bits) of path; (None, None) when it does not exist."""
    try:
        with open(path, "rb") as existing:
            return existing.read(), stat.S_IMODE(os.fstat(existing.fileno()).st_mode)
    except FileNotFoundError:
        return None, None
    except OSError as e:
        raise AnsibleActionFail(f"Could not read {path}: {e.strerror}.") from e


def remove(path: str, check_mode: bool) -> bool:
    """Remove the file (or link) path; whether there was one. A folder is refused."""
    try:
        if stat.S_ISDIR(os.lstat(path).st_mode):
            raise AnsibleActionFail(f"{path} is a folder: controller_file removes files only.")
    except FileNotFoundError:
        return False
    except OSError as e:
        raise AnsibleActionFail(f"Could not read {path}: {e.strerror}.") from e
    if not check_mode:
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        except OSError as e:
            raise AnsibleActionFail(f"Could not remove {path}: {e.strerror}.") from e
    return True


def write(path: str, data: bytes, mode: int) -> None:
    """Write data to path whole or not at all: a temporary file in its folder, then a rename."""
    folder = os.path.dirname(path) or "."
    try:
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    except OSError as e:
        raise AnsibleActionFail(f"Could not write {path}: {e.strerror} ({folder}).") from e
    try:
        with os.fdopen(descriptor, "wb") as new:
            new.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise AnsibleActionFail(f"Could not write {path}: {e.strerror}.") from e


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF)
        dest = args["dest"]
        if args["state"] == "absent":
            # Never the content in the diff: the files removed this way include private keys.
            changed = remove(dest, self._task.check_mode)
            result.update(changed=changed, dest=dest, size=0)
            if changed and self._task.diff:
                result["diff"] = {"before": {"path": dest, "state": "file"}, "after": {"path": dest, "state": "absent"}}
            return result
        mode = file_mode(args["mode"])
        data = to_bytes(args["content"], errors="surrogate_or_strict")
        before, before_mode = read(dest)
        changed = before != data or before_mode != mode
        result.update(changed=changed, dest=dest, size=len(data))
        if changed and self._task.diff:
            result["diff"] = {
                "before_header": dest,
                "after_header": dest,
                "before": to_text(before or b"", errors="surrogate_or_replace"),
                "after": args["content"],
            }
        if changed and not self._task.check_mode:
            write(dest, data, mode)
        return result
