# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Plain HTTP for the modules and filters that reach URLs other than AWS's APIs, in one place.

- ``describe_url_error(error, timeout)``: a short reason for a failed request (refused, timed out,
  name not resolved...), as the modules' messages print it.
- ``fetch_problem(status, reason)``: why a URL did not answer a HEAD request ('' when it did), for
  the interactive mode's image URL question (the deployment_fetch_problem filter). Deploy fetches
  and checks the image itself (deployment_image.py).
"""

from __future__ import annotations

import re
import socket

# ansible.builtin.uri's User-Agent: the monitoring's page-view count leaves the deployment's own
# requests out by it (access_log_info's ignore_user_agents).
USER_AGENT = "ansible-httpget"
# 405 and 501: the server does not do HEAD. It answered, and a GET will work.
ANSWERED = (200, 405, 501)
URI_PREFIX = re.compile(r"^Status code was -?\d+ and not \[[^]]*\]: ")


def describe_url_error(error, timeout):
    """Turn a URLError, socket error or http.client error into a short reason."""
    reason = getattr(error, "reason", error)
    if isinstance(reason, TimeoutError):  # socket.timeout is TimeoutError
        return f"timed out after {timeout} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return f"name resolution failed ({reason.strerror or reason})"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def fetch_problem(status, reason=""):
    """Why a URL did not answer a HEAD request ('' when it did)."""
    if status in ANSWERED:
        return ""
    if status == -1:
        reason = URI_PREFIX.sub("", str(reason or "no answer"))
        return f"nothing answers there ({reason}); check the host name and port, and that this machine can reach it"
    return f"the server answered HTTP {status}; check the path, or open the URL in a browser"
