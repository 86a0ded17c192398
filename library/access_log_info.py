#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible module layout: the documentation strings come before the imports. This module runs on
# the web server, whose Python may be as old as 3.9 (Amazon Linux 2023): no datetime.UTC there.
# ruff: noqa: E402, UP009, UP017

DOCUMENTATION = r"""
---
module: access_log_info
short_description: Summarise a web server's access and error logs, and count page views since the last publish
version_added: 1.0.0
description:
  - Runs on the web server. Reads the Apache access log (C(combined), C(common) or C(vhost_combined)
    format) and returns, for the last O(window_minutes) minutes, the number of requests, the status-code
    breakdown, the most requested paths and the most active client addresses, and the last lines of
    the error log.
  - Counts the page views that were not yet published, using a high-water mark kept in O(state_file)
    (the inode of the access log and the byte offset up to which it was counted). A page view is a
    C(GET) of one of O(page_paths) (query string ignored) answered with a 2xx or 3xx status, from a
    client whose User-Agent contains none of O(ignore_user_agents).
  - It only reads; the mark never changes here. Once the count has been published, give the
    RV(page_views.mark) it returned to M(aws_webserver.core.access_log_mark), so a later run does not
    count the same requests twice.
  - When the log has been rotated since the mark (another inode), the rest of the rotated file is
    counted, then the new log from its start. The rotated file is the newest uncompressed one of
    C(<access_log>.1) (Debian's logrotate) and C(<access_log>-<date>) (Amazon Linux's, with C(dateext)). A log truncated
    in place (copytruncate) is counted from its start.
  - The mark also keeps a checksum of the first bytes of the log, so a new log that reuses the inode
    number of a deleted one is recognised as new.
  - Without a mark (the first run), every page view in the current access log counts.
  - Only complete lines are read; a line being written at the moment of the read is left for the next run.
  - Empty or missing logs are not errors; they give zero counts and a RV(notes) entry.
author:
  - Project team
options:
  access_log:
    description:
      - Path of the access log, for example C(/var/log/apache2/access.log) or C(/var/log/httpd/access_log).
    type: path
    required: true
  error_log:
    description:
      - Path of the error log. When not set, no error-log lines are returned.
    type: path
  window_minutes:
    description:
      - Length of the summary window in minutes, ending now.
    type: int
    default: 60
  top:
    description:
      - How many paths and client addresses to list, the most frequent first.
    type: int
    default: 10
  error_lines:
    description:
      - How many of the last error-log lines to return.
    type: int
    default: 20
  page_paths:
    description:
      - Paths that count as a page view (compared without the query string).
    type: list
    elements: str
    default: [/, /index.html]
  ignore_user_agents:
    description:
      - Requests whose User-Agent contains one of these strings (case-insensitive) are not page views,
        for example the deployment's own checks (C(ansible-httpget) is the User-Agent of
        M(ansible.builtin.uri)) and an Application Load Balancer's health checks (C(ELB-HealthChecker)).
        They still count as requests in the summary.
    type: list
    elements: str
    default: [ansible-httpget, ELB-HealthChecker]
  include_rotated:
    description:
      - Also read the rotated log (C(<access_log>.1) or C(<access_log>-<date>)) when the window starts
        before the first line of the current log, and when the mark points into it.
    type: bool
    default: true
  state_file:
    description:
      - File on the web server holding the page-view high-water mark (JSON).
    type: path
    default: /var/lib/webserver-monitor/last-publish
notes:
  - Needs read access to the logs and to O(state_file) (use C(become)).
  - The whole current access log is scanned, which takes about a second per 100 MB.
  - Runs the same in check mode; it never changes anything.
seealso:
  - module: aws_webserver.core.access_log_mark
"""

EXAMPLES = r"""
- name: Summarise the last hour of Apache's logs and count unpublished page views.
  access_log_info:
    access_log: /var/log/apache2/access.log
    error_log: /var/log/apache2/error.log
    window_minutes: 60
  become: true
  register: _logs

- name: Summarise the last day of an Apache on Red Hat, counting the blog's pages too.
  access_log_info:
    access_log: /var/log/httpd/access_log
    window_minutes: 1440
    top: 20
    page_paths: [/, /index.html, /blog/]
  become: true

# Once the page views are published: aws_webserver.core.access_log_mark with mark: "{{ _logs.page_views.mark }}".
"""

RETURN = r"""
window:
  description: The summary window.
  returned: always
  type: dict
  contains:
    start:
      description: Start of the window, ISO 8601 in UTC.
      returned: always
      type: str
      sample: "2024-05-01T12:00:00Z"
    end:
      description: End of the window (now on the web server), ISO 8601 in UTC.
      returned: always
      type: str
      sample: "2024-05-01T13:00:00Z"
    minutes:
      description: Length of the window in minutes.
      returned: always
      type: int
      sample: 60
requests:
  description: Requests logged in the window.
  returned: always
  type: int
  sample: 250
bytes_sent:
  description: Response bytes sent in the window (the C(%O) or C(%b) field).
  returned: always
  type: int
  sample: 731250
status_codes:
  description: Requests in the window per HTTP status code, the most frequent first.
  returned: always
  type: list
  elements: dict
  sample: [{"status": "200", "count": 240}, {"status": "404", "count": 10}]
status_classes:
  description: Requests in the window per status class (C(2xx) to C(5xx)); every class is present.
  returned: always
  type: dict
  sample: {"1xx": 0, "2xx": 240, "3xx": 0, "4xx": 10, "5xx": 0}
top_paths:
  description: The O(top) most requested paths in the window (without query string), with their counts.
  returned: always
  type: list
  elements: dict
  sample: [{"path": "/", "count": 240}, {"path": "/favicon.ico", "count": 10}]
top_clients:
  description: The O(top) client addresses with the most requests in the window.
  returned: always
  type: list
  elements: dict
  sample: [{"address": "203.0.113.7", "count": 250}]
first_request:
  description: Time of the first request in the window, ISO 8601 in UTC, or V(null).
  returned: always
  type: str
  sample: "2024-05-01T12:03:10Z"
last_request:
  description: Time of the last request in the window, ISO 8601 in UTC, or V(null).
  returned: always
  type: str
  sample: "2024-05-01T12:59:58Z"
unparsed_lines:
  description: Lines of the access log (in the files read) that are not in a known log format.
  returned: always
  type: int
  sample: 0
access_log:
  description: The access log read.
  returned: always
  type: dict
  contains:
    path:
      description: Path of the log.
      returned: always
      type: str
      sample: /var/log/apache2/access.log
    exists:
      description: Whether the log exists.
      returned: always
      type: bool
      sample: true
    size:
      description: Size in bytes when it was read.
      returned: always
      type: int
      sample: 123456
    inode:
      description: Inode of the log, or V(null).
      returned: always
      type: int
      sample: 1234567
    rotated_read:
      description: Whether C(<access_log>.1) was read too.
      returned: always
      type: bool
      sample: false
error_log:
  description: The last lines of the error log.
  returned: always
  type: dict
  contains:
    path:
      description: Path of the error log, or V(null).
      returned: always
      type: str
      sample: /var/log/apache2/error.log
    exists:
      description: Whether the error log exists.
      returned: always
      type: bool
      sample: true
    lines:
      description: Its last O(error_lines) lines, oldest first.
      returned: always
      type: list
      elements: str
      sample: ["[Wed May 01 12:00:00.000000 2024] [mpm_event:notice] [pid 98] AH00489: Apache configured"]
page_views:
  description: Page views not published yet.
  returned: always
  type: dict
  contains:
    count:
      description: Number of page views since the mark in O(state_file).
      returned: always
      type: int
      sample: 42
    since:
      description: The previous mark (inode, offset, timestamp), or V(null) on the first run.
      returned: always
      type: dict
      sample: {"inode": 1234567, "offset": 120000, "timestamp": "2024-05-01T12:00:00Z"}
    counted_from:
      description: How the count started, V(first_run), V(mark), V(rotated), V(truncated) or V(replaced).
      returned: always
      type: str
      sample: mark
    mark:
      description:
        - The new mark to pass to M(aws_webserver.core.access_log_mark) once the count has been published,
          or V(null) when the access log does not exist.
      returned: always
      type: dict
      sample:
        inode: 1234567
        offset: 123456
        path: /var/log/apache2/access.log
        timestamp: "2024-05-01T13:00:00Z"
        head_length: 256
        head_sha256: 0f343b0931126a20f133d67c2b018a3b5e7a0b9a8a2d1c4e5f60718293a4b5c6
notes:
  description: Remarks about the logs read (missing, empty, rotated, lines not understood).
  returned: always
  type: list
  elements: str
  sample: ["The access log is empty: no requests since Apache started or since the log was rotated."]
"""

import datetime
import glob
import hashlib
import os
import re
from collections import Counter

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.aws_webserver.core.plugins.module_utils.access_log_mark import load_mark
from ansible_collections.aws_webserver.core.plugins.module_utils.deployment_time import iso

UTC = datetime.timezone.utc

# %h %l %u %t "%r" %>s %O ["%{Referer}i" "%{User-Agent}i"], optionally after "%v:%p " (vhost_combined).
QUOTED = r'"((?:[^"\\]|\\.)*)"'
LINE_RE = re.compile(
    r"^(?:\S+:\d+ )?(\S+) \S+ \S+ \[([^\]]+)\] " + QUOTED + r" (\d{3}) (\d+|-)(?: " + QUOTED + r" " + QUOTED + r")?"
)
TIME_RE = re.compile(r"^(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$")
MONTHS = {
    m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)
}
FIRST_LINES_BYTES = 65536
# The mark's checksum covers at most this many bytes at the start of the log.
HEAD_BYTES = 256


def parse_time(text):
    """Apache's %t, e.g. 10/Oct/2000:13:55:36 -0700, whatever the locale."""
    m = TIME_RE.match(text)
    if not m or m.group(2) not in MONTHS:
        return None
    day, year, hour, minute, second = (int(m.group(i)) for i in (1, 3, 4, 5, 6))
    month = MONTHS[m.group(2)]
    offset = datetime.timedelta(hours=int(m.group(8)), minutes=int(m.group(9)))
    if m.group(7) == "-":
        offset = -offset
    try:
        return datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone(offset))
    except ValueError:
        return None


def parse_line(line):
    """A log line as a dict, or None when it is not in a known format."""
    m = LINE_RE.match(line)
    if not m:
        return None
    when = parse_time(m.group(2))
    if when is None:
        return None
    parts = m.group(3).split(" ")
    method = parts[0] if parts else ""
    target = parts[1] if len(parts) > 1 else ""
    return {
        "client": m.group(1),
        "time": when,
        "method": method,
        "path": target.split("?", 1)[0],
        "status": m.group(4),
        "bytes": 0 if m.group(5) == "-" else int(m.group(5)),
        "agent": m.group(7) or "",
    }


def read_lines(path, start, end):
    """Complete lines of path between byte offsets start and end, as (offset after the line, text).

    A last line without its newline (still being written) is left out.
    """
    with open(path, "rb") as handle:
        handle.seek(start)
        position = start
        while position < end:
            raw = handle.readline()
            if not raw.endswith(b"\n") or position + len(raw) > end:
                return
            position += len(raw)
            yield position, raw[:-1].decode("utf-8", errors="replace")


def tail_lines(path, count):
    """The last count lines of path, oldest first, reading backwards from the end."""
    if count <= 0:
        return []
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        position = handle.tell()
        data = b""
        while position > 0 and data.count(b"\n") <= count:
            step = min(65536, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    lines = data.decode("utf-8", errors="replace").splitlines()
    return [line for line in lines if line.strip()][-count:]


def stat_or_none(path):
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def head_sha256(path, length):
    with open(path, "rb") as handle:
        data = handle.read(length)
    return hashlib.sha256(data).hexdigest() if len(data) == length else None


def same_file(path, info, mark):
    """Whether the file at path (os.stat result info) is the log the mark was taken on."""
    if info is None or info.st_ino != mark["inode"]:
        return False
    if mark.get("head_sha256") and mark.get("head_length") is not None:
        return head_sha256(path, mark["head_length"]) == mark["head_sha256"]
    return True


# Compressed rotations cannot be read line by line (logrotate's compress, delaycompress leaves the newest).
COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".Z")


def rotated_log(access_log):
    """The newest uncompressed rotation of the log: <log>.1 (Debian) or <log>-<date> (logrotate's
    dateext, Amazon Linux), by modification time; <log>.1 when there is none."""
    candidates = [access_log + ".1", *sorted(glob.glob(glob.escape(access_log) + "-[0-9]*"))]
    found = [
        (os.stat(path).st_mtime, path) for path in candidates if not path.endswith(COMPRESSED) and os.path.isfile(path)
    ]
    return max(found)[1] if found else candidates[0]


def page_view_plan(access_log, current, rotated, mark, rotated_path=None):
    """Where counting starts: (how, offset in the rotated log or None, offset in the current log)."""
    if mark is None:
        return "first_run", None, 0
    if current.st_ino == mark["inode"] and current.st_size < mark["offset"]:
        return "truncated", None, 0
    if same_file(access_log, current, mark):
        return "mark", None, mark["offset"]
    if rotated is not None and same_file(rotated_path or access_log + ".1", rotated, mark):
        return "rotated", (mark["offset"] if rotated.st_size >= mark["offset"] else 0), 0
    return "replaced", None, 0


class Summary:
    def __init__(self, params, now):
        self.params = params
        self.window_start = now - datetime.timedelta(minutes=params["window_minutes"])
        self.pages = set(params["page_paths"])
        self.ignored = [agent.lower() for agent in params["ignore_user_agents"] if agent]
        self.requests = 0
        self.bytes_sent = 0
        self.statuses = Counter()
        self.paths = Counter()
        self.clients = Counter()
        self.first = None
        self.last = None
        self.unparsed = 0
        self.page_views = 0

    def is_page_view(self, entry):
        if entry["method"] != "GET" or entry["path"] not in self.pages:
            return False
        if not ("200" <= entry["status"] < "400"):
            return False
        agent = entry["agent"].lower()
        return not any(ignored in agent for ignored in self.ignored)

    def add_file(self, path, end, count_from):
        """Scans path up to end; page views from offset count_from (None: none). Returns the offset reached."""
        reached = 0
        for after, line in read_lines(path, 0, end):
            reached = after
            if not line.strip():
                continue
            entry = parse_line(line)
            if entry is None:
                self.unparsed += 1
                continue
            if count_from is not None and after > count_from and self.is_page_view(entry):
                self.page_views += 1
            if entry["time"] < self.window_start:
                continue
            self.requests += 1
            self.bytes_sent += entry["bytes"]
            self.statuses[entry["status"]] += 1
            self.paths[entry["path"]] += 1
            self.clients[entry["client"]] += 1
            self.first = entry["time"] if self.first is None else min(self.first, entry["time"])
            self.last = entry["time"] if self.last is None else max(self.last, entry["time"])
        return reached


def first_entry_time(path, size):
    for _after, line in read_lines(path, 0, min(size, FIRST_LINES_BYTES)):
        entry = parse_line(line)
        if entry is not None:
            return entry["time"]
    return None


def report(params, now):
    access_log = params["access_log"]
    rotated_path = rotated_log(access_log)
    notes = []
    summary = Summary(params, now)
    mark, problem = load_mark(params["state_file"])
    if problem:
        notes.append(problem)

    current = stat_or_none(access_log)
    rotated = stat_or_none(rotated_path) if params["include_rotated"] else None
    how, rotated_from, current_from = "first_run", None, 0
    new_mark = None
    rotated_read = False
    if current is None:
        notes.append(f"The access log {access_log} does not exist: is the web server installed and running?")
    else:
        how, rotated_from, current_from = page_view_plan(access_log, current, rotated, mark, rotated_path)
        first = first_entry_time(access_log, current.st_size) if current.st_size else None
        window_needs_rotated = first is None or first > summary.window_start
        if rotated is not None and (rotated_from is not None or window_needs_rotated):
            summary.add_file(rotated_path, rotated.st_size, rotated_from)
            rotated_read = True
        reached = summary.add_file(access_log, current.st_size, current_from)
        offset = max(reached, current_from if how == "mark" else 0)
        head_length = min(offset, HEAD_BYTES)
        new_mark = {
            "inode": current.st_ino,
            "offset": offset,
            "path": access_log,
            "timestamp": iso(now),
            "head_length": head_length,
            "head_sha256": head_sha256(access_log, head_length),
        }
        if current.st_size == 0:
            notes.append(
                f"The access log {access_log} is empty: no requests since the web server started"
                " or since the log was rotated."
            )
        if how == "rotated":
            notes.append(
                f"The access log was rotated since the last publish; the rest of {rotated_path} was counted too."
            )
        elif how == "truncated":
            notes.append(
                "The access log is shorter than at the last publish (truncated in place);"
                " it was counted from its start."
            )
        elif how == "replaced":
            notes.append(
                "The access log was replaced since the last publish and the old one is not readable as"
                f" {rotated_path}; page views in between are not counted."
            )
        elif how == "first_run":
            notes.append(
                f"No earlier publish recorded in {params['state_file']}:"
                " every page view in the current access log counts."
            )
    if summary.unparsed:
        notes.append(
            f"{summary.unparsed} access-log line(s) are not in the combined or common log format and were skipped."
        )

    error_log = params["error_log"]
    error = {"path": error_log, "exists": False, "lines": []}
    if error_log:
        error["exists"] = os.path.exists(error_log)
        if error["exists"]:
            error["lines"] = tail_lines(error_log, params["error_lines"])
        else:
            notes.append(f"The error log {error_log} does not exist.")

    top = params["top"]
    classes = {f"{digit}xx": 0 for digit in "12345"}
    for status, count in summary.statuses.items():
        key = f"{status[0]}xx"
        if key in classes:
            classes[key] += count
    return {
        "window": {"start": iso(summary.window_start), "end": iso(now), "minutes": params["window_minutes"]},
        "requests": summary.requests,
        "bytes_sent": summary.bytes_sent,
        "status_codes": [
            {"status": s, "count": c} for s, c in sorted(summary.statuses.items(), key=lambda i: (-i[1], i[0]))
        ],
        "status_classes": classes,
        "top_paths": [{"path": p, "count": c} for p, c in summary.paths.most_common(top)],
        "top_clients": [{"address": a, "count": c} for a, c in summary.clients.most_common(top)],
        "first_request": iso(summary.first),
        "last_request": iso(summary.last),
        "unparsed_lines": summary.unparsed,
        "access_log": {
            "path": access_log,
            "exists": current is not None,
            "size": current.st_size if current else 0,
            "inode": current.st_ino if current else None,
            "rotated_read": rotated_read,
        },
        "error_log": error,
        "page_views": {"count": summary.page_views, "since": mark, "counted_from": how, "mark": new_mark},
        "notes": notes,
    }


def main():
    module = AnsibleModule(
        argument_spec={
            "access_log": {"type": "path", "required": True},
            "error_log": {"type": "path"},
            "window_minutes": {"type": "int", "default": 60},
            "top": {"type": "int", "default": 10},
            "error_lines": {"type": "int", "default": 20},
            "page_paths": {"type": "list", "elements": "str", "default": ["/", "/index.html"]},
            "ignore_user_agents": {
                "type": "list",
                "elements": "str",
                "default": ["ansible-httpget", "ELB-HealthChecker"],
            },
            "include_rotated": {"type": "bool", "default": True},
            "state_file": {"type": "path", "default": "/var/lib/webserver-monitor/last-publish"},
        },
        supports_check_mode=True,
    )
    params = module.params
    for option in ("window_minutes", "top"):
        if params[option] < 1:
            module.fail_json(msg=f"{option} must be at least 1, got {params[option]}")
    if params["error_lines"] < 0:
        module.fail_json(msg=f"error_lines must be 0 or more, got {params['error_lines']}")

    try:
        result = report(params, datetime.datetime.now(UTC))
    except PermissionError as e:
        module.fail_json(msg=f"Unable to read {e.filename}: permission denied (run the task with become: true)")
    except OSError as e:
        module.fail_json(msg=f"Unable to read the logs: {e}")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
