"""Hooks for the whole suite (tests/unit and tests/integration)."""

from __future__ import annotations

# The test files that take longest, longest first (alone, on 2 cores). pytest-xdist hands whole
# files to its workers in collection order (`--dist loadfile --no-loadscope-reorder` in the
# Makefile), so the long ones start at once and the short ones fill in around them: no worker is
# left running a 7-minute file at the end while the other has nothing to do. Files not named keep
# their order, after these.
LONGEST_FIRST = (
    "test_scaling.py",
    "test_iam_group.py",
    "test_iam.py",
    "test_alarms.py",
    "test_aws_rules.py",
    "test_deploy.py",
    "test_teardown.py",
    "test_monitor.py",
    "test_guided.py",
    "test_localcloud.py",
    "test_logs.py",
    "test_credits.py",
    "test_faults.py",
    "test_load_balancer.py",
    "test_clean_keys.py",
    "test_interactive.py",
    "test_bad_inputs.py",
)


def pytest_collection_modifyitems(items) -> None:
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
