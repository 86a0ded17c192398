"""Run the project's playbooks for real against a test local cloud, as a user would."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from conftest import ROOT, LocalCloud

RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
    re.M,
)


@dataclass
class Run:
    returncode: int
    output: str

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        return {
            m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")}
            for m in RECAP.finditer(self.output)
        }

    @property
    def changed(self) -> int:
        return sum(host["changed"] for host in self.recap.values())

    def task(self, title: str) -> str:
        """What the run printed for the first task whose name starts with `title` (role prefix
        included, "webserver : Wait for ..."), up to the next task; empty when it did not run."""
        _, found, rest = self.output.partition(f"TASK [{title}")
        return (found + rest.split("\nTASK [", 1)[0]) if found else ""


def playbook_command(
    cloud: LocalCloud, name: str, state: Path, *args: str, inventory: str = "local"
) -> tuple[list[str], dict[str, str]]:
    """ansible-playbook -i inventory/<inventory> playbooks/<name>.yml and its environment: the test
    cloud's endpoint, and `state` as the folder of the test's private keys, known_hosts and log."""
    state.mkdir(parents=True, exist_ok=True)
    env = {
        **cloud.env,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_LOG_PATH": str(state / "ansible.log"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
    }
    argv = [
        str(ROOT / ".venv/bin/ansible-playbook"),
        "-i", str(ROOT / "inventory" / inventory),
        str(ROOT / "playbooks" / f"{name}.yml"),
        "-e", f"deployment_key_dir={state}",
        *args,
    ]  # fmt: skip
    return argv, env


def playbook(
    cloud: LocalCloud,
    name: str,
    state: Path,
    *args: str,
    timeout: float = 600,
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
    inventory: str = "local",
) -> Run:
    """Run playbooks/<name>.yml to the end with no input, as CI does (see playbook_command);
    `env` adds to or changes its environment, `unset` removes variables from it."""
    command, run_env = playbook_command(cloud, name, state, *args, inventory=inventory)
    run_env.update(env or {})
    for variable in unset:
        run_env.pop(variable, None)
    result = subprocess.run(
        command,
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Run(result.returncode, result.stdout + result.stderr)


def ssh(deployment: dict, command: str) -> subprocess.CompletedProcess:
    """`command` run over SSH on a deployment's instance (its key and pinned host keys in its state folder)."""
    return subprocess.run(
        [
            "ssh", "-i", str(deployment["state"] / f"{deployment['name']}-key.pem"),
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
            "-o", f"UserKnownHostsFile={deployment['state'] / (deployment['name'] + '.known_hosts')}",
            f"admin@{deployment['ip']}", command,
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
