"""Every module in library/ is documented for ansible-doc (a ': ' in a sentence is enough to
break a DOCUMENTATION block without anything else noticing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODULES = sorted(path.stem for path in (REPO / "library").glob("*.py"))


def test_ansible_doc_renders_every_module():
    ansible_doc = Path(sys.executable).parent / "ansible-doc"
    proc = subprocess.run(
        [str(ansible_doc), "-M", "library", "--json", *MODULES],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "PATH": f"{ansible_doc.parent}:{os.environ.get('PATH', '')}"},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr.upper(), proc.stderr
    docs = json.loads(proc.stdout)
    assert len(MODULES) >= 9
    for module in MODULES:
        doc = docs[module]["doc"]
        assert doc["module"] == module
        assert doc["short_description"] and doc["options"] is not None, module
        assert docs[module]["examples"] and docs[module]["return"], module
