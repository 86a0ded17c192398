"""ARNs the project writes take their partition from the caller's own ARN (discover.yml), never a
literal "arn:aws:", so no task or template quietly assumes the standard partition."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_task_or_template_writes_a_literal_partition():
    written = [
        path
        for folder in ("roles", "playbooks")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".yml", ".j2"} and "molecule" not in path.parts
    ]
    assert written
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in written
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "arn:aws:" in line and not line.lstrip().startswith("#")
    ]
    assert offenders == []
