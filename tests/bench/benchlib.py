"""What the benchmark scripts share: a private local cloud for a script's life, and how figures print.

Imported first by each script (it puts tests/integration on the path for conftest, playbooks, groups).
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from conftest import LocalCloud, cloud_env, private_range  # noqa: E402


@contextlib.contextmanager
def private_cloud(prefix: str, settings: dict[str, str] | None = None) -> Iterator[tuple[LocalCloud, Path]]:
    """A local cloud of its own (LOCALCLOUD_* `settings`) in a temporary folder, up for the block, then down."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        home = Path(tmp)
        cloud = LocalCloud(home=home / "cloud", env=cloud_env(home / "cloud", private_range(), settings))
        cloud.cli("up", "--no-build")
        try:
            yield cloud, home
        finally:
            cloud.cli("down", check=False)


def spread(values: list[float]) -> str:
    """min / median / max, as every benchmark prints its figures."""
    return f"{min(values):5.1f} / {statistics.median(values):5.1f} / {max(values):5.1f}"
