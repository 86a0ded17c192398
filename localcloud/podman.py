"""A thin wrapper around the podman command, with the project's own containers.conf.

The containers.conf (runc as the runtime, no default ulimits) is written into the local
cloud's home folder and named by CONTAINERS_CONF, so nothing global on the machine changes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from .errors import LocalCloudError

CONTAINERS_CONF = """\
# Written by the local cloud. podman reads it through CONTAINERS_CONF.
[containers]
# Raising RLIMIT_NOFILE is not permitted on this kind of machine.
default_ulimits = []

[engine]
# crun fails on hybrid cgroups; runc works.
runtime = "runc"
"""


class Podman:
    def __init__(self, conf: Path):
        self.conf = conf

    @staticmethod
    def check_installed() -> None:
        missing = [tool for tool in ("podman", "runc", "ip") if shutil.which(tool) is None]
        if missing:
            raise LocalCloudError(
                f"{', '.join(missing)} not found on PATH. The local cloud runs its instances as podman "
                "containers: run 'make setup' (as root it installs podman, runc, iproute2 and debootstrap "
                "with apt-get), or install them yourself."
            )

    def write_conf(self) -> None:
        self.conf.parent.mkdir(parents=True, exist_ok=True)
        if not self.conf.exists() or self.conf.read_text() != CONTAINERS_CONF:
            self.conf.write_text(CONTAINERS_CONF)

    def env(self) -> dict[str, str]:
        self.write_conf()
        return {**os.environ, "CONTAINERS_CONF": str(self.conf)}

    def run(self, *args: str, check: bool = True, input_bytes: bytes | None = None, timeout: float = 120) -> str:
        try:
            result = subprocess.run(
                ["podman", *args],
                input=input_bytes,
                capture_output=True,
                env=self.env(),
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise LocalCloudError(f"'podman {args[0]}' did not finish within {timeout:.0f} s") from None
        if check and result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip().splitlines()
            raise LocalCloudError(f"'podman {' '.join(args[:2])}' failed: {message[-1] if message else 'no message'}")
        return result.stdout.decode(errors="replace")

    def image_exists(self, ref: str) -> bool:
        return (
            subprocess.run(
                ["podman", "image", "exists", ref], env=self.env(), capture_output=True, check=False
            ).returncode
            == 0
        )

    def containers(self, label: str, value: str) -> list[dict]:
        out = self.run("ps", "-a", "--filter", f"label={label}={value}", "--format", "json", check=False)
        try:
            return json.loads(out or "[]")
        except json.JSONDecodeError:
            return []

    def remove(self, name: str) -> None:
        self.run("rm", "--force", "--time", "0", "--ignore", name, check=False)
