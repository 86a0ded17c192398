# Copyright: Contributors to the Ansible project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# ruff: noqa: E402

DOCUMENTATION = r"""
name: deployment_guide
type: notification
short_description: After a deploy that stopped early, say what may exist in AWS and how to remove it
description:
  - Follows runs of C(playbooks/deploy.yml). When such a run fails, or is interrupted (Ctrl-C), after a task
    that creates AWS resources has started, it prints which resources may exist and the teardown command
    for the deployment. A failure or an interrupt before that says that nothing was created.
  - Writes a line to the log file (C(log_path)) when each run of any playbook starts and ends, so every
    run is easy to find in C(logs/ansible.log). The line names the playbook, the inventory, the tags and
    check mode, never the extra variables (they may hold credentials).
  - When a task of any playbook fails because AWS refused the credentials a permission (C(not authorized
    to perform) in the error), it names the permission at the end and points to the project's IAM policy.
  - When a task fails because the credentials expired (C(ExpiredToken) and its kin), it says so at the end,
    with how to renew them and that the same command then goes on from what exists.
  - When a host cannot be reached by SSH (after C(ansible.cfg)'s one retry), it names the host, the task that
    was connecting and what to check, in place of a bare UNREACHABLE.
  - Makes every Ctrl-C count. ansible-core loses one that lands while it starts a worker process (its
    KeyboardInterrupt is raised inside a fork handler, where Python ignores exceptions) and the run goes on,
    while a second Ctrl-C then kills it without a word. This plugin notes each Ctrl-C and, when the run is
    still going at the start of the next task, interrupts it there, with a line in place of Python's traceback.
  - Enabled in the project's C(ansible.cfg) (C(callbacks_enabled)).
requirements:
  - enable in configuration
"""

import atexit
import os
import re
import signal
import sys
import threading
from pathlib import Path

from ansible import constants as C  # noqa: N812 - Ansible's own convention
from ansible import context
from ansible.plugins.callback import CallbackBase

PLAYBOOKS = ("deploy.yml",)

# Modules that create or change AWS resources, and what they make, in the order a deploy makes them.
RESOURCES = {
    "ec2_key": "the key pair",
    "ec2_security_group": "the security group",
    "ec2_instance": "the EC2 instance",
    "s3_bucket": "the S3 bucket",
    "s3_image_upload": "the image in the bucket",
    "sns_topic": "the alarm topic",
    "cloudwatch_metric_alarm": "the CloudWatch alarms",
}


# How AWS (and the local cloud) names a refused permission: "... not authorized to perform: s3:PutObject ...".
REFUSED = re.compile(r"not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9*]+)")
POLICY = "policy/iam-policy.json"
# How AWS says temporary credentials (SSO, assumed roles, session tokens) ran out.
EXPIRED = re.compile(r"ExpiredToken|RequestExpired|security token included in the request is expired")


def _resource(action: str) -> str | None:
    return RESOURCES.get(action.rsplit(".", 1)[-1])


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "deployment_guide"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._active = False
        self._ended = False
        self._pid = os.getpid()
        self._playbook = ""
        self._name = ""
        self._region = ""
        self._task = ""
        self._failed_task = ""
        self._failing = False  # the last result was a failure (a rescue's explanation follows its cause)
        self._started: dict[str, str] = {}
        self._refused: list[str] = []
        self._expired = ""  # the task during which AWS said the credentials expired
        self._unreachable: dict[str, tuple[str, str]] = {}  # host: (task, what ssh said)
        self._interrupt_pending = False  # a Ctrl-C arrived; cleared when it is known to have stopped the run

    # Where the run is.

    def v2_playbook_on_start(self, playbook):
        self._playbook = Path(playbook._file_name).name
        self._active = self._playbook in PLAYBOOKS
        atexit.register(self._at_exit)
        self._watch_interrupts()
        options = context.CLIARGS
        tags = ",".join(options.get("tags") or ()) or "all"
        self._log(
            f"===== {self._playbook} started: inventory {', '.join(self._inventories()) or '(default)'}; "
            f"tags {tags}; check mode {'on' if options.get('check') else 'off'}; pid {self._pid} ====="
        )

    def v2_playbook_on_play_start(self, play):
        if not self._active or self._name:
            return
        extra = play.get_variable_manager().extra_vars
        self._name = str(extra.get("deployment_name", "") or "")
        self._region = str(extra.get("deployment_region", "") or "")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._honour_lost_interrupt()
        # A resource counts from the moment its task starts: an interrupt may land mid-call.
        self._task = task.get_name().strip()
        resource = _resource(task.action or "")
        if self._active and resource and not context.CLIARGS.get("check"):
            self._started.setdefault(resource, self._task)

    def v2_runner_on_skipped(self, result):
        resource = _resource(result._task.action or "")
        if resource and self._started.get(resource) == result._task.get_name().strip():
            del self._started[resource]

    def v2_runner_on_ok(self, result):
        self._failing = False
        # The deployment role records the deployment it works on with set_stats (names.yml):
        # the name an interactive run chose, or the role's default, which extra vars do not show.
        recorded = (result._result.get("ansible_stats") or {}).get("data") or {}
        if recorded.get("deployment_name"):
            self._name = str(recorded["deployment_name"])
        if recorded.get("deployment_region"):
            self._region = str(recorded["deployment_region"])

    def v2_runner_on_failed(self, result, ignore_errors=False):
        # The task that failed first: a rescue's explanation (another failure) does not replace it.
        if not ignore_errors and not self._failing:
            self._failed_task = result._task.get_name().strip()
        self._failing = not ignore_errors
        if not ignore_errors:
            for permission in REFUSED.findall(str(result._result.get("msg", ""))):
                if permission not in self._refused:
                    self._refused.append(permission)
            if not self._expired and EXPIRED.search(str(result._result.get("msg", ""))):
                self._expired = result._task.get_name().strip()

    def v2_runner_on_unreachable(self, result):
        if not self._failing:
            self._failed_task = result._task.get_name().strip()
        self._failing = True
        if getattr(result._task, "ignore_unreachable", False):
            return  # the role waits for SSH itself and says why when it gives up
        said = " ".join(str(result._result.get("msg", "")).split())
        self._unreachable.setdefault(result._host.get_name(), (result._task.get_name().strip(), said))

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    # Ctrl-C.

    def _watch_interrupts(self):
        """Wrap ansible-core's SIGINT handler (it tells the workers, then raises KeyboardInterrupt)."""
        handler = signal.getsignal(signal.SIGINT)
        if not callable(handler) or threading.current_thread() is not threading.main_thread():
            return

        def on_interrupt(signum, frame):
            self._interrupt_pending = True
            handler(signum, frame)

        signal.signal(signal.SIGINT, on_interrupt)
        previous_hook = sys.unraisablehook

        def on_unraisable(unraisable):
            # The lost interrupt: a line for the user instead of Python's traceback. Written to stderr
            # directly: this runs inside the worker start, which holds the display's lock.
            if isinstance(unraisable.exc_value, KeyboardInterrupt) and self._interrupt_pending:
                sys.stderr.write("Ctrl-C noted: the run stops when the next task starts.\n")
                return
            previous_hook(unraisable)

        sys.unraisablehook = on_unraisable

    def _honour_lost_interrupt(self):
        # Task starts are dispatched in the main thread, where a KeyboardInterrupt ends the run as
        # ansible-core's own does (its CLI reports it; the at-exit guide follows).
        if self._interrupt_pending and threading.current_thread() is threading.main_thread():
            self._interrupt_pending = False
            raise KeyboardInterrupt

    # How it ends.

    def v2_playbook_on_stats(self, stats):
        self._ended = True
        failed = any(stats.failures.get(h) or stats.dark.get(h) for h in stats.processed)
        if self._active and failed and self._started:
            task = self._failed_task or self._task
            self._guide(f'The run stopped after the task "{task}" failed (the message is above).')
        if failed and self._refused:
            self._display.display(
                f"\nAWS refused these credentials the permission {' and '.join(self._refused)}. {POLICY} is the "
                "IAM policy the project needs for deploy, monitor and teardown: attach it to the user or role "
                "(README, Deploying to AWS), or add the permission to the policy you use.",
                color=C.COLOR_WARN,
                stderr=True,
            )
        if failed and self._expired:
            self._display.display(
                f"\nAWS said the credentials expired during \"{self._expired}\". Renew them ('aws sso login' for an "
                "SSO profile, new temporary credentials from your identity provider or 'aws sts get-session-token', "
                "or 'aws configure' for access keys), then run the same command again: it goes on from what exists.",
                color=C.COLOR_WARN,
                stderr=True,
            )
        for host, (task, said) in self._unreachable.items() if failed else ():
            self._display.display(
                f'\n{host} could not be reached by SSH during "{task}", after one retry ({said[:300]}). '
                "Check that the instance still runs (playbooks/monitor.yml, or the EC2 console), that its security "
                "group lets this machine's address in on port 22 (deployment_ssh_cidr), and this machine's network; "
                "then run the same command again: it goes on from what exists.",
                color=C.COLOR_WARN,
                stderr=True,
            )
        self._log(f"===== {self._playbook} ended: {'failed' if failed else 'ok'} =====")

    def _at_exit(self):
        # Only in the process that ran the playbook (workers are forks of it), and only when the
        # run did not reach its end: Ctrl-C, or an error that stopped ansible-playbook itself.
        if os.getpid() != self._pid or self._ended:
            return
        if self._active and self._started:
            self._guide(f'The run was interrupted during "{self._task}".')
        elif self._active:
            self._display.display(
                "The run was interrupted before anything was created in AWS.", color=C.COLOR_WARN, stderr=True
            )
        self._log(f"===== {self._playbook} interrupted =====")

    def _guide(self, what: str):
        name = self._name or "<deployment name>"
        inventory = " ".join(f"-i {i}" for i in self._inventories()) or "-i <inventory>"
        region = f" -e deployment_region={self._region}" if self._region else ""
        made = ", ".join(self._started)
        self._display.display(
            "\n".join(
                [
                    "",
                    what,
                    f"These resources of deployment '{name}' may exist now (and cost money on AWS): {made}.",
                    "To finish the deployment, run the same command again: it reuses what exists.",
                    "To remove everything the deployment made:",
                    f"  ansible-playbook {inventory} playbooks/teardown.yml -e deployment_name={name}{region}",
                ]
            ),
            color=C.COLOR_WARN,
            stderr=True,
        )

    # Helpers.

    @staticmethod
    def _inventories() -> list[str]:
        found = []
        for inventory in context.CLIARGS.get("inventory") or ():
            path = Path(inventory)
            try:
                found.append(str(path.resolve().relative_to(Path.cwd())))
            except ValueError:
                found.append(str(path))
        return found

    def _log(self, message: str):
        self._display.display(message, log_only=True)
