# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The page-view high-water mark kept on the web server: read by access_log_info, written by
access_log_mark (aws_webserver.core's module_utils). Plain Python down to 3.9: it runs on the
web server (Amazon Linux 2023's Python is 3.9).

A mark is {inode, offset, path, timestamp, head_length, head_sha256}: the access log's inode, the
byte offset up to which its page views were published, and a checksum of its first bytes.
"""

from __future__ import annotations

import json
import os
import tempfile

KEYS = ("inode", "offset", "path", "timestamp", "head_length", "head_sha256")


def load_mark(state_file):
    """The mark in state_file: (mark or None, a note when the file exists but is not usable).
    Raises OSError when the file exists but cannot be read (counting again would count twice)."""
    try:
        with open(state_file) as handle:
            mark = json.load(handle)
    except FileNotFoundError:
        return None, None
    except ValueError:
        mark = None
    try:
        return {
            "inode": int(mark["inode"]),
            "offset": int(mark["offset"]),
            "path": mark.get("path"),
            "timestamp": mark.get("timestamp"),
            "head_length": int(mark["head_length"]) if mark.get("head_length") is not None else None,
            "head_sha256": mark.get("head_sha256"),
        }, None
    except (KeyError, TypeError, ValueError, AttributeError):
        return (
            None,
            f"The page-view mark in {state_file} is not readable JSON with inode and offset; counted as a first run.",
        )


def stored(mark):
    """The mark as it is written: its known keys that have a value."""
    return {key: mark[key] for key in KEYS if mark.get(key) is not None}


def write_mark(state_file, mark):
    """Writes the mark atomically (mode 0644), creating its folder; raises OSError."""
    folder = os.path.dirname(state_file) or "."
    os.makedirs(folder, mode=0o755, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".last-publish-", dir=folder)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(stored(mark), handle, sort_keys=True)
            handle.write("\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, state_file)
    except OSError:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
