"""Run the webserver role's Molecule scenario on a private local cloud, then remove it.

`make molecule` calls this. The cloud gets its own home folder, free ports and address range,
so it never meets the cloud of `make demo`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from conftest import LocalCloud, cloud_env, private_range  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="molecule-cloud-") as home:
        cloud = LocalCloud(home=Path(home), env=cloud_env(Path(home), private_range()))
        cloud.cli("up", "--no-build")
        try:
            env = {**cloud.env, "PATH": f"{ROOT / '.venv/bin'}:{os.environ['PATH']}"}
            env.pop("ANSIBLE_CONFIG", None)
            return subprocess.run(
                [str(ROOT / ".venv/bin/molecule"), "test", *sys.argv[1:]],
                cwd=ROOT / "roles" / "webserver",
                env=env,
                check=False,
            ).returncode
        finally:
            cloud.cli("down", check=False)


if __name__ == "__main__":
    sys.exit(main())
