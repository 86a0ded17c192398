# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: UP017 - datetime.UTC is Python 3.11+; the web server may run 3.9
"""Time as the project's modules return it (aws_webserver.core's module_utils).

Plain Python only, down to 3.9 (no datetime.UTC): access_log_info imports it on the web server
(Amazon Linux 2023's Python is 3.9), where no AWS library is needed.
"""

from __future__ import annotations

import datetime


def iso(ts):
    """A datetime as ISO 8601 in UTC to the second ('2024-05-01T12:00:00Z'); a naive one counts as UTC.
    None stays None."""
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=datetime.timezone.utc)
    return ts.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
