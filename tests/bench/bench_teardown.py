"""Benchmark: teardown of one fresh deployment on a private local cloud (a figure, not pass/fail).

    teardown of a fresh deployment        goal <= 30 s
    teardown again (nothing left)         (for reference)

Runs alone (`.venv/bin/python tests/bench/bench_teardown.py`) or from tests/bench/run.py.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "tests" / "integration"))

from run import line, slowest_tasks  # noqa: E402

from conftest import LocalCloud, cloud_env, private_range  # noqa: E402
from playbooks import playbook  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-teardown-") as tmp:
        home = Path(tmp)
        cloud = LocalCloud(home=home / "cloud", env=cloud_env(home / "cloud", private_range()))
        cloud.cli("up", "--no-build")
        try:
            state = home / "state"
            deployed = playbook(cloud, "deploy", state, "-e", "deployment_name=benchtd")
            if deployed.returncode != 0:
                print(f"teardown benchmark: the deploy before it failed (rc {deployed.returncode})")
                print(deployed.output[-3000:])
                return 1
            args = ("-e", "deployment_name=benchtd", "-e", "confirm=true")
            started = time.monotonic()
            first = playbook(cloud, "teardown", state, *args)
            elapsed = time.monotonic() - started
            ok = "ok" if first.returncode == 0 else f"FAILED (rc {first.returncode})"
            line("teardown of a fresh deployment", elapsed, "<= 30 s", f"{ok}, changed={first.changed}")
            print(f"    slowest tasks: {slowest_tasks(first.output)}")
            started = time.monotonic()
            again = playbook(cloud, "teardown", state, *args)
            line("teardown again (nothing left)", time.monotonic() - started, "", f"changed={again.changed}")
        finally:
            cloud.cli("down", check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
